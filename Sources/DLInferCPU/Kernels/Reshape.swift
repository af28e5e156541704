// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makeReshapeKernel(_ a: Reshape, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Reshape is not implemented yet")
}

func makeFlattenKernel(_ a: Flatten, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Flatten is not implemented yet")
}

func makeSqueezeKernel(_ a: Squeeze, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Squeeze is not implemented yet")
}

func makeUnsqueezeKernel(_ a: Unsqueeze, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Unsqueeze is not implemented yet")
}
