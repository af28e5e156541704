// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makeRecurrentKernel(_ a: Recurrent, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Recurrent is not implemented yet")
}
