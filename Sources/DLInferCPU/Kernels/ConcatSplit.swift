import DLInferCore

func makeConcatKernel(_ a: Concat, _ node: Node, _ graph: Graph) throws -> HostKernel { ConcatKernel(a) }
func makeSplitKernel(_ a: Split, _ node: Node, _ graph: Graph) throws -> HostKernel { SplitKernel(a) }

// Both view a tensor as [outer, axis, inner]: each input (part) is then `outer` contiguous blocks of axis * inner
// elements, interleaved in the output (input) with a stride of the whole axis.

final class ConcatKernel: Kernel {
    let attrs: Concat
    init(_ a: Concat) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let xs = inputs.map { $0! }
        guard xs[0].rank >= 1 else { throw DLInferError.shape("cannot concatenate scalars") }
        let a = try normalizeAxis(attrs.axis, rank: xs[0].rank)
        var shape = xs[0].shape
        shape[a] = xs.map { $0.shape[a] }.reduce(0, +)
        for x in xs {
            guard x.rank == shape.count, (0..<x.rank).allSatisfy({ $0 == a || x.shape[$0] == shape[$0] }) else {
                throw DLInferError.shape("cannot concatenate \(xs.map(\.shape)) along axis \(a)")
            }
        }
        try expectShape(outputs.shape(0), shape)
        let y = try outputs.make(0)
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *) * y.dtype.byteSize
        var at = 0
        for x in xs {
            let bytes = x.shape[a] * inner
            // An input its producer wrote in place (`ConcatPlacement`) is already there.
            if !(outer == 1 && x.raw == y.raw + at) {
                copyBlocks(count: outer, bytes: bytes, src: x.raw, srcStride: bytes, dst: y.raw + at,
                           dstStride: shape[a] * inner)
            }
            at += bytes
        }
        return [y]
    }
}

final class SplitKernel: Kernel {
    let attrs: Split
    init(_ a: Split) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        guard x.rank >= 1 else { throw DLInferError.shape("cannot split a scalar") }
        let a = try normalizeAxis(attrs.axis, rank: x.rank)
        let split = inputs.count > 1 ? inputs[1]?.intValues() : nil
        let sizes = try attrs.sizes(dim: x.shape[a], split: split)
        let outer = x.shape[..<a].reduce(1, *), inner = x.shape[(a + 1)...].reduce(1, *) * x.dtype.byteSize
        var at = 0
        return try sizes.enumerated().map { k, n in
            defer { at += n * inner }
            guard outputs.wanted(k) else { return nil }
            var shape = x.shape
            shape[a] = n
            try expectShape(outputs.shape(k), shape)
            let y = try outputs.make(k)
            copyBlocks(count: outer, bytes: n * inner, src: x.raw + at, srcStride: x.shape[a] * inner, dst: y.raw, dstStride: n * inner)
            return y
        }
    }
}

extension CPUKernelFactory {
    func visit(_ a: Concat, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeConcatKernel(a, node, graph)
    }

    func visit(_ a: Split, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeSplitKernel(a, node, graph)
    }
}
