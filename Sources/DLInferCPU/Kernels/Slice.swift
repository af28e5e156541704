// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makeSliceKernel(_ a: Slice, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Slice is not implemented yet")
}
