// STUB: owned by the family's implementer; replace wholesale.

public struct Resize: OpAttributes {
    public init() {}
    public var opName: String { "Resize" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Resize is not implemented yet")
    }
}
