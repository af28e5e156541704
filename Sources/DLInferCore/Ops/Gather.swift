// STUB: owned by the family's implementer; replace wholesale.

public struct Gather: OpAttributes {
    public init() {}
    public var opName: String { "Gather" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Gather is not implemented yet")
    }
}
