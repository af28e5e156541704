// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makeGatherKernel(_ a: Gather, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Gather is not implemented yet")
}
