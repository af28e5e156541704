// STUB: owned by the family's implementer; replace wholesale.

public struct Recurrent: OpAttributes {
    public init() {}
    public var opName: String { "Recurrent" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Recurrent is not implemented yet")
    }
}
