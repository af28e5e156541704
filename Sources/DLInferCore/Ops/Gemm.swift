// STUB: owned by the family's implementer; replace wholesale.

public struct Gemm: OpAttributes {
    /// Set by the FuseActivations pass: applied to every output element in the kernel's epilogue.
    public var activation: Activation? = nil
    public init() {}
    public var opName: String { "Gemm" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("Gemm is not implemented yet")
    }
}

public struct MatMul: OpAttributes {
    /// Set by the FuseActivations pass: applied to every output element in the kernel's epilogue.
    public var activation: Activation? = nil
    public init() {}
    public var opName: String { "MatMul" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        throw DLInferError.unsupported("MatMul is not implemented yet")
    }
}
