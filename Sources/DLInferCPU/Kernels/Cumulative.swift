import DLInferCore

/// CumSum and CumProd along one axis, seen as `(outer, n, inner)`: each task scans a block of contiguous columns
/// row by row, so the running values stay in a small buffer and every row is read once.
final class CumulativeKernel: Kernel {
    let attrs: Cumulative
    init(_ a: Cumulative) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0)
        let a = try attrs.axis(inputs[1]!, rank: x.rank)
        guard x.count > 0 else { return [y] }
        let outer = x.shape[..<a].reduce(1, *), n = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *)
        switch x.dtype {
        case .float32: scan(x, y, outer, n, inner, Float.self)
        case .float64: scan(x, y, outer, n, inner, Double.self)
        case .int32: scan(x, y, outer, n, inner, Int32.self)
        case .int64: scan(x, y, outer, n, inner, Int64.self)
        case .uint32: scan(x, y, outer, n, inner, UInt32.self)
        case .uint64: scan(x, y, outer, n, inner, UInt64.self)
        default: throw DLInferError.unsupported("\(attrs.opName) on \(x.dtype)")
        }
        return [y]
    }

    private func scan<T: ReduceElement>(_ x: Tensor, _ y: Tensor, _ outer: Int, _ n: Int, _ inner: Int, _: T.Type) {
        let src = UnsafePointer(x.pointer(T.self)), dst = y.pointer(T.self)
        let prod = attrs.kind == .prod, exclusive = attrs.exclusive, reverse = attrs.reverse
        let block = columnBlock(inner: inner, outer: outer, limit: 1024)
        let blocks = (inner + block - 1) / block
        parallelFor(outer * blocks, grain: Swift.max(1, 8192 / (n * block))) { r in
            withUnsafeTemporaryAllocation(of: T.self, capacity: block) { acc in
                for t in r {
                    let o = t / blocks, j0 = (t % blocks) * block, w = Swift.min(inner, j0 + block) - j0
                    let s = src + o * n * inner + j0, d = dst + o * n * inner + j0
                    for j in 0..<w { acc[j] = prod ? T.one : T.zero }
                    for step in 0..<n {
                        let i = reverse ? n - 1 - step : step
                        let p = s + i * inner, q = d + i * inner
                        if exclusive { for j in 0..<w { q[j] = acc[j] } }
                        if prod { for j in 0..<w { acc[j] = T.product(acc[j], p[j]) } } else { for j in 0..<w { acc[j] = T.sum(acc[j], p[j]) } }
                        if !exclusive { for j in 0..<w { q[j] = acc[j] } }
                    }
                }
            }
        }
    }
}

extension CPUKernelFactory {
    func visit(_ a: Cumulative, _ _: Node, _ _: Graph) -> HostKernel {
        CumulativeKernel(a)
    }
}
