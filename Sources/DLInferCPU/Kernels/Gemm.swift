// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makeGemmKernel(_ a: Gemm, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Gemm is not implemented yet")
}

func makeMatMulKernel(_ a: MatMul, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("MatMul is not implemented yet")
}
