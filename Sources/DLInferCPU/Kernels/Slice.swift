import DLInferCore

func makeSliceKernel(_ a: Slice, _ node: Node, _ graph: Graph) throws -> HostKernel {
    // Exporters write starts, ends, axes and steps as constants: read once, not per run.
    var constant: [[Int]?]? = []
    for k in 1...4 {
        guard k < node.inputs.count, let id = node.inputs[k] else { constant?.append(nil); continue }
        guard let t = graph.constants[id] else { constant = nil; break }
        constant?.append(t.intValues())
    }
    return SliceKernel(constant: constant)
}

/// A strided copy from the first selected element; with step 1 on the inner dims whole rows are copied at once.
final class SliceKernel: Kernel {
    /// Starts, ends, axes and steps (nil where absent) when the graph holds them as constants; nil when any is
    /// computed at run time.
    private let constant: [[Int]?]?
    init(constant: [[Int]?]?) { self.constant = constant }

    /// The copy for an input shape: the first element, the selected shape, the input steps per dim, and whether it
    /// selects the whole input in order (then the input is the output).
    private struct Copy {
        let offset: Int, shape: [Int], steps: [Int], whole: Bool
    }

    private func copy(_ x: [Int], _ p: [[Int]?]) throws -> Copy {
        let ranges = try Slice.ranges(rank: x.count, starts: p[0]!, ends: p[1]!, axes: p[2], steps: p[3])
        let strides = x.contiguousStrides
        var offset = 0, shape = x, steps = strides
        for (d, r) in ranges.enumerated() {
            guard let r else { continue }
            let (start, count) = Slice.resolve(r, dim: x[d])
            offset += start * strides[d]
            shape[d] = count
            steps[d] = r.step &* strides[d]  // a huge step selects one element; its stride is unused
        }
        return Copy(offset: offset, shape: shape, steps: steps,
                    whole: shape == x && ranges.allSatisfy { $0 == nil || $0!.step == 1 })
    }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        let c: Copy
        if let constant {
            c = try outputs.prepared { try copy(x.shape, constant) }
        } else {
            c = try copy(x.shape, (1...4).map { i in i < inputs.count ? inputs[i]?.intValues() : nil })
        }
        try expectShape(outputs.shape(0), c.shape)
        if c.whole { return [x] }
        let y = try outputs.make(0)
        stridedCopy(src: x.raw, offset: c.offset, strides: c.steps, shape: c.shape, dst: y.raw,
                    elementSize: x.dtype.byteSize)
        return [y]
    }
}

extension CPUKernelFactory {
    func visit(_ a: Slice, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeSliceKernel(a, node, graph)
    }
}
