// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makePadKernel(_ a: Pad, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Pad is not implemented yet")
}
