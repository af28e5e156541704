// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makeSoftmaxKernel(_ a: Softmax, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Softmax is not implemented yet")
}
