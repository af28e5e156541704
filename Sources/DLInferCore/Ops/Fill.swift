// STUB: owned by the family's implementer; replace wholesale.

public struct ConstantOfShape: OpAttributes {
    public init() {}
    public var opName: String { "ConstantOfShape" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("ConstantOfShape is not implemented yet")
    }
}

public struct Expand: OpAttributes {
    public init() {}
    public var opName: String { "Expand" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Expand is not implemented yet")
    }
}
