// STUB: owned by the family's implementer; replace wholesale.

public struct Pad: OpAttributes {
    public init() {}
    public var opName: String { "Pad" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Pad is not implemented yet")
    }
}
