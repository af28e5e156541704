// STUB: owned by the family's implementer; replace wholesale.

public struct Cast: OpAttributes {
    public init() {}
    public var opName: String { "Cast" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Cast is not implemented yet")
    }
}
