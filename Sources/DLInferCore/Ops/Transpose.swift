// STUB: owned by the family's implementer; replace wholesale.

public struct Transpose: OpAttributes {
    public init() {}
    public var opName: String { "Transpose" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Transpose is not implemented yet")
    }
}
