// STUB: owned by the family's implementer; replace wholesale.

public struct Slice: OpAttributes {
    public init() {}
    public var opName: String { "Slice" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Slice is not implemented yet")
    }
}
