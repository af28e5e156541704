import DLInferCore

func makeGatherKernel(_ a: Gather, _ node: Node, _ graph: Graph) throws -> HostKernel { GatherKernel(a) }

/// Views data as [outer, n, inner]: each (outer, index) pair copies one run of `inner` elements (a whole row for
/// axis 0, the Embedding case). Indices are checked before anything is read.
final class GatherKernel: Kernel {
    let attrs: Gather
    init(_ a: Gather) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let data = inputs[0]!, indices = inputs[1]!
        guard data.rank >= 1 else { throw DLInferError.shape("data must have rank 1 or more") }
        let a = try normalizeAxis(attrs.axis, rank: data.rank)
        let n = data.shape[a]
        try expectShape(outputs.shape(0), Array(data.shape[..<a]) + indices.shape + Array(data.shape[(a + 1)...]))
        let index = try Gather.normalizedIndices(indices, axisSize: n)
        let y = try outputs.make(0)
        let outer = data.shape[..<a].reduce(1, *), m = index.count
        let bytes = data.shape[(a + 1)...].reduce(1, *) * data.dtype.byteSize
        guard outer * m * bytes > 0 else { return [y] }
        switch bytes {
        // Single elements (a gather along the last axis, or from a shape vector): typed moves, not memcpy calls.
        case 1: gatherElements(UInt8.self, data.raw, y.raw, outer, n, index)
        case 2: gatherElements(UInt16.self, data.raw, y.raw, outer, n, index)
        case 4: gatherElements(UInt32.self, data.raw, y.raw, outer, n, index)
        case 8: gatherElements(UInt64.self, data.raw, y.raw, outer, n, index)
        default:
            let src = data.raw, dst = y.raw
            parallelFor(outer * m, grain: Swift.max(1, (1 << 15) / bytes)) { r in
                for k in r {
                    let o = k / m, i = k % m
                    (dst + k * bytes).copyMemory(from: src + (o * n + index[i]) * bytes, byteCount: bytes)
                }
            }
        }
        return [y]
    }
}

private func gatherElements<T>(_: T.Type, _ src: UnsafeMutableRawPointer, _ dst: UnsafeMutableRawPointer, _ outer: Int,
                               _ n: Int, _ index: [Int]) {
    let s = src.assumingMemoryBound(to: T.self), d = dst.assumingMemoryBound(to: T.self), m = index.count
    parallelFor(outer, grain: Swift.max(1, (1 << 15) / (m * MemoryLayout<T>.size))) { r in
        index.withUnsafeBufferPointer { idx in
            for o in r {
                let from = s + o * n, to = d + o * m
                for i in 0..<m { to[i] = from[idx[i]] }
            }
        }
    }
}

extension CPUKernelFactory {
    func visit(_ a: Gather, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeGatherKernel(a, node, graph)
    }
}
