// STUB: owned by the family's implementer; replace wholesale.

public struct BatchNorm: OpAttributes {
    public init() {}
    public var opName: String { "BatchNorm" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("BatchNorm is not implemented yet")
    }
}

public struct LRN: OpAttributes {
    public init() {}
    public var opName: String { "LRN" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("LRN is not implemented yet")
    }
}
