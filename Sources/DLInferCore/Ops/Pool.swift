// STUB: owned by the family's implementer; replace wholesale.

public struct Pool: OpAttributes {
    public init() {}
    public var opName: String { "Pool" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Pool is not implemented yet")
    }
}

public struct GlobalPool: OpAttributes {
    public init() {}
    public var opName: String { "GlobalPool" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("GlobalPool is not implemented yet")
    }
}
