// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makeConvKernel(_ a: Conv, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Conv is not implemented yet")
}

func makeConvTransposeKernel(_ a: ConvTranspose, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("ConvTranspose is not implemented yet")
}
