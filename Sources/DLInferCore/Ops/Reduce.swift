// STUB: owned by the family's implementer; replace wholesale.

public struct Reduce: OpAttributes {
    public init() {}
    public var opName: String { "Reduce" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Reduce is not implemented yet")
    }
}

public struct ArgMax: OpAttributes {
    public init() {}
    public var opName: String { "ArgMax" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("ArgMax is not implemented yet")
    }
}
