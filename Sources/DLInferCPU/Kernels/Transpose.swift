// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makeTransposeKernel(_ a: Transpose, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Transpose is not implemented yet")
}
