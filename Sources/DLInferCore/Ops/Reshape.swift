// STUB: owned by the family's implementer; replace wholesale.

public struct Reshape: OpAttributes {
    public init() {}
    public var opName: String { "Reshape" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Reshape is not implemented yet")
    }
}

public struct Flatten: OpAttributes {
    public init() {}
    public var opName: String { "Flatten" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Flatten is not implemented yet")
    }
}

public struct Squeeze: OpAttributes {
    public init() {}
    public var opName: String { "Squeeze" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Squeeze is not implemented yet")
    }
}

public struct Unsqueeze: OpAttributes {
    public init() {}
    public var opName: String { "Unsqueeze" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Unsqueeze is not implemented yet")
    }
}
