// STUB: owned by the family's implementer; replace wholesale.

public struct Softmax: OpAttributes {
    public init() {}
    public var opName: String { "Softmax" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Softmax is not implemented yet")
    }
}
