import DLInferCore

func makeSliceKernel(_ a: Slice, _ node: Node, _ graph: Graph) throws -> HostKernel { SliceKernel() }

/// A strided copy from the first selected element; with step 1 on the inner dims whole rows are copied at once.
final class SliceKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        func ints(_ i: Int) -> [Int]? { i < inputs.count ? inputs[i]?.intValues() : nil }
        let ranges = try Slice.ranges(rank: x.rank, starts: ints(1)!, ends: ints(2)!, axes: ints(3), steps: ints(4))
        let strides = x.shape.contiguousStrides
        var offset = 0, shape = x.shape, steps = strides
        for (d, r) in ranges.enumerated() {
            guard let r else { continue }
            let (start, count) = Slice.resolve(r, dim: x.shape[d])
            offset += start * strides[d]
            shape[d] = count
            steps[d] = r.step &* strides[d]  // a huge step selects one element; its stride is unused
        }
        try expectShape(outputs.shape(0), shape)
        if shape == x.shape, ranges.allSatisfy({ $0 == nil || $0!.step == 1 }) { return [x] }
        let y = try outputs.make(0)
        stridedCopy(src: x.raw, offset: offset, strides: steps, shape: shape, dst: y.raw, elementSize: x.dtype.byteSize)
        return [y]
    }
}

extension CPUKernelFactory {
    func visit(_ a: Slice, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeSliceKernel(a, node, graph)
    }
}
