import DLInferCore

func makeTransposeKernel(_ a: Transpose, _ node: Node, _ graph: Graph) throws -> HostKernel { TransposeKernel(a) }

/// A strided copy: `stridedCopy` merges the dims that stay adjacent and tiles the 2-D core ([.., M, N] -> [.., N, M],
/// NCHW <-> NHWC), or copies whole rows when the innermost dim does not move.
final class TransposeKernel: Kernel {
    let attrs: Transpose
    init(_ a: Transpose) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        let perm = try attrs.permutation(rank: x.rank)
        let shape = perm.map { x.shape[$0] }
        try expectShape(outputs.shape(0), shape)
        // A permutation that only moves size-1 dims is a view.
        if perm.filter({ x.shape[$0] != 1 }) == (0..<x.rank).filter({ x.shape[$0] != 1 }) { return [x.reshaped(shape)] }
        let y = try outputs.make(0), strides = x.shape.contiguousStrides
        stridedCopy(src: x.raw, offset: 0, strides: perm.map { strides[$0] }, shape: shape, dst: y.raw, elementSize: x.dtype.byteSize)
        return [y]
    }
}

extension CPUKernelFactory {
    func visit(_ a: Transpose, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeTransposeKernel(a, node, graph)
    }
}
