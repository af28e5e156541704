import DLInferCore

// The normalizations that standardize rows: LayerNormalization, RMSNormalization, GroupNormalization,
// InstanceNormalization, MeanVarianceNormalization. Each row (a contiguous run of the input, or of a transposed copy)
// gets its mean and variance in two passes in the stash type, in parallel over rows.

/// The float types the normalizations read, write and accumulate in.
protocol NormFloat: BinaryFloatingPoint, TensorElement {}
extension Float: NormFloat {}
extension Double: NormFloat {}

/// Mean and mean squared deviation of a contiguous row, accumulated in `A`; with `centered` false, the mean is 0 and
/// the second value the mean square (RMSNormalization). n = 0 gives NaN.
@inline(__always)
func rowMoments<T: NormFloat, A: NormFloat>(_ p: UnsafePointer<T>, _ n: Int, _: A.Type, centered: Bool) -> (mean: A, variance: A) {
    if T.self == Float.self, A.self == Float.self {
        let m = floatMoments(UnsafeRawPointer(p).assumingMemoryBound(to: Float.self), n, centered: centered)
        return (A(m.mean), A(m.variance))
    }
    let count = A(n)
    var mean: A = 0
    if centered {
        var s: A = 0
        for i in 0..<n { s += A(p[i]) }
        mean = s / count
    }
    var q: A = 0
    for i in 0..<n { let d = A(p[i]) - mean; q += d * d }
    return (mean, q / count)
}

/// float32 rows, eight lanes at a time (float addition does not reassociate on its own).
private func floatMoments(_ p: UnsafePointer<Float>, _ n: Int, centered: Bool) -> (mean: Float, variance: Float) {
    let raw = UnsafeRawPointer(p)
    var mean: Float = 0
    if centered { mean = Float.rowSum(p, n) / Float(n) }
    var a0 = SIMD8<Float>(), a1 = a0
    let m = SIMD8<Float>(repeating: mean)
    var i = 0
    while i + 16 <= n {
        let d0 = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - m
        let d1 = raw.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self) - m
        a0 += d0 * d0; a1 += d1 * d1
        i += 16
    }
    var q = (a0 + a1).sum()
    while i < n { let d = p[i] - mean; q += d * d; i += 1 }
    return (mean, q / Float(n))
}

/// LayerNormalization and RMSNormalization.
final class LayerNormKernel: Kernel {
    let attrs: LayerNorm
    init(_ a: LayerNorm) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        let axis = try attrs.normalizedAxis(rank: x.rank)
        let n = x.shape[axis...].reduce(1, *), rows = x.shape[..<axis].reduce(1, *)
        let y = try outputs.make(0)
        let params = [inputs[1], attrs.rms || inputs.count < 3 ? nil : inputs[2]]
        // Parameters that only vary along the normalized axes repeat every row; others are expanded to X's shape.
        let (perRow, target, shapes) = try attrs.parameterLayout(x: x.shape, axis: axis, params: params.map { $0?.shape })
        let expanded = try zip(params, shapes).map { p, shape -> Tensor? in
            guard let p, let shape else { return nil }
            let trimmed = p.reshaped(shape)
            if shape == target { return trimmed }
            let t = try outputs.make(p.dtype, target)
            broadcastCopy(trimmed, to: t)
            return t
        }
        let stats = (outputs.wanted(1) ? try outputs.make(1) : nil, outputs.wanted(2) ? try outputs.make(2) : nil)
        if rows > 0 && n > 0 {
            let job = LayerNormJob(rows: rows, n: n, period: perRow ? 0 : n, epsilon: attrs.epsilon, rms: attrs.rms)
            func go<T: NormFloat, V: NormFloat, A: NormFloat>(_: T.Type, _: V.Type, _: A.Type) {
                job.run(x.pointer(T.self), y.pointer(V.self), expanded[0]!.pointer(V.self), expanded[1]?.pointer(V.self),
                        stats.0?.pointer(A.self), stats.1?.pointer(A.self))
            }
            switch (x.dtype, y.dtype, attrs.stash) {
            case (.float32, .float32, .float32): go(Float.self, Float.self, Float.self)
            case (.float32, .float32, .float64): go(Float.self, Float.self, Double.self)
            case (.float32, .float64, .float32): go(Float.self, Double.self, Float.self)
            case (.float32, .float64, .float64): go(Float.self, Double.self, Double.self)
            case (.float64, .float32, .float32): go(Double.self, Float.self, Float.self)
            case (.float64, .float32, .float64): go(Double.self, Float.self, Double.self)
            case (.float64, .float64, .float32): go(Double.self, Double.self, Float.self)
            case (.float64, .float64, .float64): go(Double.self, Double.self, Double.self)
            default: throw DLInferError.unsupported("\(attrs.opName) on \(x.dtype) -> \(y.dtype) computed in \(attrs.stash)")
            }
        }
        return [y, stats.0, stats.1]
    }
}

/// The shared geometry of one LayerNormalization/RMSNormalization run.
private struct LayerNormJob {
    let rows: Int, n: Int
    /// Parameter elements between rows: 0 when every row uses the same n.
    let period: Int
    let epsilon: Float
    let rms: Bool

    func run<T: NormFloat, V: NormFloat, A: NormFloat>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<V>,
                                                      _ scale: UnsafePointer<V>, _ bias: UnsafePointer<V>?,
                                                      _ mean: UnsafeMutablePointer<A>?, _ invStd: UnsafeMutablePointer<A>?) {
        let eps = A(epsilon)
        parallelFor(rows, grain: Swift.max(1, 8192 / n)) { r in
            for row in r {
                let src = x + row * n, dst = y + row * n
                let (m, v) = rowMoments(src, n, A.self, centered: !rms)
                let inv = 1 / (v + eps).squareRoot()
                mean?[row] = m
                invStd?[row] = inv
                let s = scale + row * period, b = bias.map { $0 + row * period }
                if let b {
                    for i in 0..<n { dst[i] = V((A(src[i]) - m) * inv) * s[i] + b[i] }
                } else {
                    for i in 0..<n { dst[i] = V((A(src[i]) - m) * inv) * s[i] }
                }
            }
        }
    }
}
/// GroupNormalization and InstanceNormalization: rows of (C / groups) channels x spatial elements.
final class GroupNormKernel: Kernel {
    let attrs: GroupNorm
    init(_ a: GroupNorm) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, scale = inputs[1]!, bias = inputs[2]!
        let y = try outputs.make(0)
        let (batch, groups, per, spatial) = try attrs.rows(x.shape, scale: scale.count, bias: bias.count)
        let job = GroupNormJob(rows: batch * groups, groups: groups, channels: per, spatial: spatial,
                               epsilon: attrs.epsilon, perGroup: attrs.paramsPerGroup)
        guard y.count > 0 else { return [y] }
        switch (x.dtype, attrs.stash) {
        case (.float32, .float32): job.run(x, y, scale, bias, Float.self, Float.self)
        case (.float32, .float64): job.run(x, y, scale, bias, Float.self, Double.self)
        case (.float64, .float32): job.run(x, y, scale, bias, Double.self, Float.self)
        case (.float64, .float64): job.run(x, y, scale, bias, Double.self, Double.self)
        default: throw DLInferError.unsupported("\(attrs.opName) on \(x.dtype) computed in \(attrs.stash)")
        }
        return [y]
    }
}

private struct GroupNormJob {
    let rows: Int, groups: Int, channels: Int, spatial: Int
    let epsilon: Float
    let perGroup: Bool

    func run<T: NormFloat, A: NormFloat>(_ x: Tensor, _ y: Tensor, _ scale: Tensor, _ bias: Tensor, _: T.Type, _: A.Type) {
        let xp = UnsafePointer(x.pointer(T.self)), yp = y.pointer(T.self)
        let sp = UnsafePointer(scale.pointer(T.self)), bp = UnsafePointer(bias.pointer(T.self))
        let n = channels * spatial, eps = A(epsilon)
        parallelFor(rows, grain: Swift.max(1, 8192 / n)) { r in
            for row in r {
                let g = row % groups, src = xp + row * n, dst = yp + row * n
                let (m, v) = rowMoments(src, n, A.self, centered: true)
                let inv = 1 / (v + eps).squareRoot()
                for c in 0..<channels {
                    let p = perGroup ? g : g * channels + c
                    let s = sp[p], b = bp[p], base = c * spatial
                    for i in base..<(base + spatial) { dst[i] = T((A(src[i]) - m) * inv) * s + b }
                }
            }
        }
    }
}

/// MeanVarianceNormalization: the reduced axes are moved last (a transposed copy, unless they already are), each row
/// normalized, and the result moved back.
final class MeanVarianceNormKernel: Kernel {
    let attrs: MeanVarianceNorm
    init(_ a: MeanVarianceNorm) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        let y = try outputs.make(0)
        let axes = try uniqueAxes(attrs.axes, rank: x.rank).sorted()
        guard x.count > 0 else { return [y] }
        let kept = (0..<x.rank).filter { !axes.contains($0) }, order = kept + axes
        let n = axes.reduce(1) { $0 * x.shape[$1] }, rows = x.count / n
        let trailing = order == Array(0..<x.rank)
        let strides = x.shape.contiguousStrides, esz = x.dtype.byteSize
        let permuted = order.map { x.shape[$0] }
        var src = x, dst = y
        if !trailing {
            src = try outputs.make(x.dtype, permuted)
            stridedCopy(src: x.raw, offset: 0, strides: order.map { strides[$0] }, shape: permuted, dst: src.raw, elementSize: esz)
            dst = try outputs.make(x.dtype, permuted)
        }
        switch x.dtype {
        case .float32: normalize(src.pointer(Float.self), dst.pointer(Float.self), rows, n)
        case .float64: normalize(src.pointer(Double.self), dst.pointer(Double.self), rows, n)
        default: throw DLInferError.unsupported("MeanVarianceNormalization on \(x.dtype)")
        }
        if !trailing {
            // Back: output dim d is permuted dim order⁻¹(d).
            let pStrides = permuted.contiguousStrides
            var back = [Int](repeating: 0, count: x.rank)
            for (k, d) in order.enumerated() { back[d] = pStrides[k] }
            stridedCopy(src: dst.raw, offset: 0, strides: back, shape: x.shape, dst: y.raw, elementSize: esz)
        }
        return [y]
    }

    private func normalize<T: NormFloat>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ rows: Int, _ n: Int) {
        parallelFor(rows, grain: Swift.max(1, 8192 / n)) { r in
            for row in r {
                let src = x + row * n, dst = y + row * n
                let (m, v) = rowMoments(src, n, Double.self, centered: true)
                let d = v.squareRoot() + 1e-9
                for i in 0..<n { dst[i] = T((Double(src[i]) - m) / d) }
            }
        }
    }
}

/// LpNormalization along one axis, seen as `(outer, n, inner)`; norms accumulate in float64.
final class LpNormKernel: Kernel {
    let attrs: LpNorm
    init(_ a: LpNorm) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0)
        let a = try attrs.normalizedAxis(rank: x.rank)
        let outer = x.shape[..<a].reduce(1, *), n = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *)
        guard x.count > 0 else { return [y] }
        switch x.dtype {
        case .float32: normalize(x.pointer(Float.self), y.pointer(Float.self), outer, n, inner)
        case .float64: normalize(x.pointer(Double.self), y.pointer(Double.self), outer, n, inner)
        default: throw DLInferError.unsupported("LpNormalization on \(x.dtype)")
        }
        return [y]
    }

    private func normalize<T: NormFloat>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ outer: Int, _ n: Int, _ inner: Int) {
        let l1 = attrs.p == 1
        let block = columnBlock(inner: inner, outer: outer, limit: 1024)
        let blocks = (inner + block - 1) / block
        parallelFor(outer * blocks, grain: Swift.max(1, 8192 / (n * block))) { r in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: block) { norms in
                for t in r {
                    let o = t / blocks, j0 = (t % blocks) * block, w = Swift.min(inner, j0 + block) - j0
                    let s = x + o * n * inner + j0, d = y + o * n * inner + j0
                    for j in 0..<w { norms[j] = 0 }
                    for i in 0..<n {
                        let p = s + i * inner
                        if l1 { for j in 0..<w { norms[j] += Swift.abs(Double(p[j])) } } else {
                            for j in 0..<w { let v = Double(p[j]); norms[j] += v * v }
                        }
                    }
                    if !l1 { for j in 0..<w { norms[j] = norms[j].squareRoot() } }
                    for i in 0..<n {
                        let p = s + i * inner, q = d + i * inner
                        for j in 0..<w { q[j] = norms[j] == 0 ? 0 : T(Double(p[j]) / norms[j]) }
                    }
                }
            }
        }
    }
}

extension CPUKernelFactory {
    func visit(_ a: LayerNorm, _ _: Node, _ _: Graph) -> HostKernel {
        LayerNormKernel(a)
    }

    func visit(_ a: GroupNorm, _ _: Node, _ _: Graph) -> HostKernel {
        GroupNormKernel(a)
    }

    func visit(_ a: MeanVarianceNorm, _ _: Node, _ _: Graph) -> HostKernel {
        MeanVarianceNormKernel(a)
    }

    func visit(_ a: LpNorm, _ _: Node, _ _: Graph) -> HostKernel {
        LpNormKernel(a)
    }
}
