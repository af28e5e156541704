// STUB: owned by the family's implementer; replace wholesale.

public struct Conv: OpAttributes {
    /// Set by the FuseActivations pass: applied to every output element in the kernel's epilogue.
    public var activation: Activation? = nil
    public init() {}
    public var opName: String { "Conv" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Conv is not implemented yet")
    }
}

public struct ConvTranspose: OpAttributes {
    public init() {}
    public var opName: String { "ConvTranspose" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("ConvTranspose is not implemented yet")
    }
}
