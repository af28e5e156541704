// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makeBatchNormKernel(_ a: BatchNorm, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("BatchNorm is not implemented yet")
}

func makeLRNKernel(_ a: LRN, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("LRN is not implemented yet")
}
