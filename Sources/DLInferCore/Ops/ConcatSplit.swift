// STUB: owned by the family's implementer; replace wholesale.

public struct Concat: OpAttributes {
    public init() {}
    public var opName: String { "Concat" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Concat is not implemented yet")
    }
}

public struct Split: OpAttributes {
    public init() {}
    public var opName: String { "Split" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Split is not implemented yet")
    }
}
