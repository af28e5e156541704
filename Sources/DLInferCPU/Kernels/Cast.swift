// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makeCastKernel(_ a: Cast, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Cast is not implemented yet")
}
