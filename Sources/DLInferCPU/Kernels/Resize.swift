// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makeResizeKernel(_ a: Resize, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Resize is not implemented yet")
}
