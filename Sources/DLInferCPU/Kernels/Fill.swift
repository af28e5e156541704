// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makeConstantOfShapeKernel(_ a: ConstantOfShape, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("ConstantOfShape is not implemented yet")
}

func makeExpandKernel(_ a: Expand, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Expand is not implemented yet")
}
