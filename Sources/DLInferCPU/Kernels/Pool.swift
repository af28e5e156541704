// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makePoolKernel(_ a: Pool, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Pool is not implemented yet")
}

func makeGlobalPoolKernel(_ a: GlobalPool, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("GlobalPool is not implemented yet")
}
