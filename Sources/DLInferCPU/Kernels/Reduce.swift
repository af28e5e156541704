// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makeReduceKernel(_ a: Reduce, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Reduce is not implemented yet")
}

func makeArgMaxKernel(_ a: ArgMax, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("ArgMax is not implemented yet")
}
