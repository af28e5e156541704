// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

func makeConcatKernel(_ a: Concat, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Concat is not implemented yet")
}

func makeSplitKernel(_ a: Split, _ node: Node, _ graph: Graph) throws -> Kernel {
    throw DLInferError.unsupported("Split is not implemented yet")
}
