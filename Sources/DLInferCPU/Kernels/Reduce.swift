import DLInferCore

func makeReduceKernel(_ a: Reduce, _ node: Node, _ graph: Graph) throws -> Kernel { ReduceKernel(a) }

func makeArgMaxKernel(_ a: ArgMax, _ node: Node, _ graph: Graph) throws -> Kernel { ArgMaxKernel(a) }

/// ReduceSum/Mean/Max. The input's dimensions are collapsed into alternating runs of kept and reduced axes; each
/// reduced run is then one `(outer, n, inner)` stage, innermost first, so every stage reads contiguous memory:
/// a row reduction when `inner == 1` (e.g. mean over H, W of NCHW) and a vector accumulation of whole rows otherwise
/// (e.g. sum over N or C).
final class ReduceKernel: Kernel {
    let attrs: Reduce
    init(_ a: Reduce) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let x = inputs[0]!
        let given = inputs.count > 1 ? inputs[1]?.intValues() : nil
        guard let axes = try attrs.reducedAxes(rank: x.rank, axes: given) else { return [x] }
        switch x.dtype {
        case .float32: return [try reduce(x, axes, outputs, Float.self)]
        case .float64: return [try reduce(x, axes, outputs, Double.self)]
        case .int32: return [try reduce(x, axes, outputs, Int32.self)]
        case .int64: return [try reduce(x, axes, outputs, Int64.self)]
        case .bool where attrs.kind == .max: return [try reduce(x, axes, outputs, Bool.self)]
        default: throw DLInferError.unsupported("\(attrs.opName) on \(x.dtype)")
        }
    }

    private func reduce<T: ReduceElement>(_ x: Tensor, _ axes: [Int], _ outputs: OutputAllocator, _: T.Type) throws -> Tensor {
        let outShape = attrs.outputShape(x.shape, reducing: axes)
        let isMax = attrs.kind == .max
        let reducedCount = axes.reduce(1) { $0 * x.shape[$1] }
        if reducedCount == 1 { return x.reshaped(outShape) }
        let y = try outputs.make(0)
        if y.count == 0 { return y }
        let dst = y.pointer(T.self)
        if x.count == 0 {
            // Reducing an empty set.
            let v = isMax ? T.lowest : (attrs.kind == .mean ? T.mean(T.zero, 0) : T.zero)
            dst.update(repeating: v, count: y.count)
            return y
        }
        // Runs of kept/reduced dimensions, size-1 dimensions dropped.
        var runs = [(n: Int, reduced: Bool)]()
        for (i, d) in x.shape.enumerated() where d != 1 {
            let r = axes.contains(i)
            if let last = runs.last, last.reduced == r { runs[runs.count - 1].n *= d } else { runs.append((d, r)) }
        }
        var src = UnsafePointer(x.pointer(T.self))
        var scratch = [Tensor]()
        while let g = runs.lastIndex(where: \.reduced) {
            let outer = runs[..<g].reduce(1) { $0 * $1.n }, n = runs[g].n
            let inner = runs[(g + 1)...].reduce(1) { $0 * $1.n }
            let last = !runs[..<g].contains(where: \.reduced)
            let out: UnsafeMutablePointer<T>
            if last { out = dst } else {
                let t = try outputs.make(x.dtype, [outer * inner])
                out = t.pointer(T.self)
                scratch.append(t)
            }
            reduceStage(src, out, outer, n, inner, max: isMax)
            src = UnsafePointer(out)
            runs.remove(at: g)
            if g > 0, g < runs.count, !runs[g - 1].reduced, !runs[g].reduced {
                runs[g - 1].n *= runs[g].n
                runs.remove(at: g)
            }
        }
        withExtendedLifetime(scratch) {}
        if attrs.kind == .mean {
            parallelFor(y.count, grain: 16384) { r in for i in r { dst[i] = T.mean(dst[i], reducedCount) } }
        }
        return y
    }
}

/// out[o, j] = reduce over i of src[o, i, j], for o < outer, i < n (n >= 1), j < inner.
func reduceStage<T: ReduceElement>(_ src: UnsafePointer<T>, _ dst: UnsafeMutablePointer<T>,
                                   _ outer: Int, _ n: Int, _ inner: Int, max: Bool) {
    @inline(__always) func combine(_ a: T, _ b: T) -> T { max ? T.maximum(a, b) : T.sum(a, b) }
    @inline(__always) func row(_ p: UnsafePointer<T>, _ k: Int) -> T { max ? T.rowMax(p, k) : T.rowSum(p, k) }
    if inner == 1 {
        let chunks = outer >= Threads.count ? 1 : Swift.max(1, Swift.min(4 * Threads.count / outer, n / 16384))
        if chunks == 1 {
            parallelFor(outer, grain: Swift.max(1, 16384 / n)) { r in for o in r { dst[o] = row(src + o * n, n) } }
            return
        }
        // Few long rows (a global reduction): split each row, then combine the partial results.
        let partial = UnsafeMutablePointer<T>.allocate(capacity: outer * chunks)
        defer { partial.deallocate() }
        parallelFor(outer * chunks) { r in
            for t in r {
                let o = t / chunks, c = t % chunks
                let lo = n * c / chunks, hi = n * (c + 1) / chunks
                partial[t] = row(src + o * n + lo, hi - lo)
            }
        }
        for o in 0..<outer {
            var acc = partial[o * chunks]
            for c in 1..<chunks { acc = combine(acc, partial[o * chunks + c]) }
            dst[o] = acc
        }
        return
    }
    let block = columnBlock(inner: inner, outer: outer)
    let blocks = (inner + block - 1) / block
    parallelFor(outer * blocks, grain: Swift.max(1, 16384 / (n * block))) { r in
        for t in r {
            let o = t / blocks, j0 = (t % blocks) * block, j1 = Swift.min(inner, j0 + block)
            let s = src + o * n * inner + j0, d = dst + o * inner + j0
            d.update(from: s, count: j1 - j0)
            for i in 1..<n { T.accumulate(d, s + i * inner, j1 - j0, max: max) }
        }
    }
}

/// Columns per task for kernels that combine `n` rows of `inner` contiguous elements: long runs, so each row
/// segment streams from memory, but split enough to give every thread work.
func columnBlock(inner: Int, outer: Int, limit: Int = 4096) -> Int {
    let splits = Swift.max(1, (Threads.count + outer - 1) / outer)
    let b = (inner + splits - 1) / splits
    return Swift.min(limit, Swift.max(64, (b + 15) / 16 * 16), inner)
}

/// Element types the reductions run on.
protocol ReduceElement: TensorElement {
    static var zero: Self { get }
    /// Identity of max: -inf for floats, the minimum for integers, false for bool.
    static var lowest: Self { get }
    static func sum(_ a: Self, _ b: Self) -> Self
    /// NaN wins, as in numpy.
    static func maximum(_ a: Self, _ b: Self) -> Self
    static func mean(_ sum: Self, _ count: Int) -> Self
    static func rowSum(_ p: UnsafePointer<Self>, _ n: Int) -> Self
    static func rowMax(_ p: UnsafePointer<Self>, _ n: Int) -> Self
    /// d[j] = sum or maximum of d[j] and p[j], for j < w.
    static func accumulate(_ d: UnsafeMutablePointer<Self>, _ p: UnsafePointer<Self>, _ w: Int, max: Bool)
}

extension ReduceElement {
    static func rowSum(_ p: UnsafePointer<Self>, _ n: Int) -> Self {
        var acc = zero
        for i in 0..<n { acc = sum(acc, p[i]) }
        return acc
    }
    static func rowMax(_ p: UnsafePointer<Self>, _ n: Int) -> Self {
        var acc = lowest
        for i in 0..<n { acc = maximum(acc, p[i]) }
        return acc
    }
    static func accumulate(_ d: UnsafeMutablePointer<Self>, _ p: UnsafePointer<Self>, _ w: Int, max: Bool) {
        if max { for j in 0..<w { d[j] = maximum(d[j], p[j]) } } else { for j in 0..<w { d[j] = sum(d[j], p[j]) } }
    }
}

extension Float: ReduceElement {
    static var lowest: Float { -.infinity }
    @inline(__always) static func sum(_ a: Float, _ b: Float) -> Float { a + b }
    @inline(__always) static func maximum(_ a: Float, _ b: Float) -> Float { b > a || b != b ? b : a }
    static func mean(_ sum: Float, _ count: Int) -> Float { sum / Float(count) }

    /// Four 8-wide accumulators: float addition does not reassociate on its own, so the vectorising is explicit.
    static func rowSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 32 <= n {
            a0 += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            a1 += raw.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
            a2 += raw.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD8<Float>.self)
            a3 += raw.loadUnaligned(fromByteOffset: (i + 24) * 4, as: SIMD8<Float>.self)
            i += 32
        }
        while i + 8 <= n { a0 += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self); i += 8 }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while i < n { s += p[i]; i += 1 }
        return s
    }

    static func accumulate(_ d: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ w: Int, max: Bool) {
        if max { maxRows(d, p, w); return }
        let dr = UnsafeMutableRawPointer(d), pr = UnsafeRawPointer(p)
        var j = 0
        while j + 8 <= w {
            let v = dr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) + pr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            dr.storeBytes(of: v, toByteOffset: j * 4, as: SIMD8<Float>.self)
            j += 8
        }
        while j < w { d[j] += p[j]; j += 1 }
    }

    static func rowMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        guard n >= 16 else {
            var m = -Float.infinity
            for i in 0..<n { m = maximum(m, p[i]) }
            return m
        }
        @inline(__always) func vmax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
            a.replacing(with: b, where: (b .> a) .| (b .!= b))
        }
        let raw = UnsafeRawPointer(p)
        var a0 = SIMD8<Float>(repeating: -.infinity), a1 = a0
        var i = 0
        while i + 16 <= n {
            a0 = vmax(a0, raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
            a1 = vmax(a1, raw.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self))
            i += 16
        }
        let v = vmax(a0, a1)
        var m = -Float.infinity
        for k in 0..<8 { m = maximum(m, v[k]) }
        while i < n { m = maximum(m, p[i]); i += 1 }
        return m
    }
}

extension Double: ReduceElement {
    static var lowest: Double { -.infinity }
    @inline(__always) static func sum(_ a: Double, _ b: Double) -> Double { a + b }
    @inline(__always) static func maximum(_ a: Double, _ b: Double) -> Double { b > a || b != b ? b : a }
    static func mean(_ sum: Double, _ count: Int) -> Double { sum / Double(count) }
}

extension Int32: ReduceElement {
    static var lowest: Int32 { .min }
    @inline(__always) static func sum(_ a: Int32, _ b: Int32) -> Int32 { a &+ b }
    @inline(__always) static func maximum(_ a: Int32, _ b: Int32) -> Int32 { Swift.max(a, b) }
    /// Truncates toward zero, as numpy's integer mean cast back; an empty set gives 0.
    static func mean(_ sum: Int32, _ count: Int) -> Int32 { count == 0 ? 0 : Int32(truncatingIfNeeded: Int(sum) / count) }
}

extension Int64: ReduceElement {
    static var lowest: Int64 { .min }
    @inline(__always) static func sum(_ a: Int64, _ b: Int64) -> Int64 { a &+ b }
    @inline(__always) static func maximum(_ a: Int64, _ b: Int64) -> Int64 { Swift.max(a, b) }
    static func mean(_ sum: Int64, _ count: Int) -> Int64 { count == 0 ? 0 : sum / Int64(count) }
}

extension Bool: ReduceElement {
    static var zero: Bool { false }
    static var lowest: Bool { false }
    @inline(__always) static func sum(_ a: Bool, _ b: Bool) -> Bool { a || b }
    @inline(__always) static func maximum(_ a: Bool, _ b: Bool) -> Bool { a || b }
    static func mean(_ sum: Bool, _ count: Int) -> Bool { sum }
}

/// ArgMax along one axis, seen as `(outer, n, inner)`: a scan per row when the axis is innermost, else running
/// maxima over whole rows of `inner` columns.
final class ArgMaxKernel: Kernel {
    let attrs: ArgMax
    init(_ a: ArgMax) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let x = inputs[0]!
        let a = try attrs.normalizedAxis(rank: x.rank)
        let outer = x.shape[..<a].reduce(1, *), n = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *)
        let y = try outputs.make(0)
        if y.count == 0 { return [y] }
        guard n > 0 else { throw DLInferError.shape("ArgMax along an empty axis has no answer") }
        switch x.dtype {
        case .float32 where n <= Int(Int32.max): argMaxFloat(x.pointer(Float.self), y.pointer(Int64.self), outer, n, inner)
        case .float32: argMax(x.pointer(Float.self), y.pointer(Int64.self), outer, n, inner)
        case .float64: argMax(x.pointer(Double.self), y.pointer(Int64.self), outer, n, inner)
        case .int32: argMax(x.pointer(Int32.self), y.pointer(Int64.self), outer, n, inner)
        case .int64: argMax(x.pointer(Int64.self), y.pointer(Int64.self), outer, n, inner)
        default: throw DLInferError.unsupported("ArgMax on \(x.dtype)")
        }
        return [y]
    }

    private func argMax<T: ArgMaxElement>(_ src: UnsafeMutablePointer<T>, _ dst: UnsafeMutablePointer<Int64>,
                                          _ outer: Int, _ n: Int, _ inner: Int) {
        let last = attrs.selectLastIndex
        @inline(__always) func better(_ v: T, _ best: T) -> Bool {
            last ? v.isNaNValue || (!best.isNaNValue && v >= best) : !best.isNaNValue && (v > best || v.isNaNValue)
        }
        if inner == 1 {
            parallelFor(outer, grain: Swift.max(1, 16384 / n)) { r in
                for o in r {
                    let p = src + o * n
                    var best = p[0], at = 0
                    for i in 1..<n where better(p[i], best) { best = p[i]; at = i }
                    dst[o] = Int64(at)
                }
            }
            return
        }
        let block = columnBlock(inner: inner, outer: outer, limit: 2048)
        let blocks = (inner + block - 1) / block
        parallelFor(outer * blocks, grain: Swift.max(1, 16384 / (n * block))) { r in
            withUnsafeTemporaryAllocation(of: T.self, capacity: block) { best in
                for t in r {
                    let o = t / blocks, j0 = (t % blocks) * block, w = Swift.min(inner, j0 + block) - j0
                    let s = src + o * n * inner + j0, d = dst + o * inner + j0
                    for j in 0..<w { best[j] = s[j]; d[j] = 0 }
                    for i in 1..<n {
                        let p = s + i * inner
                        for j in 0..<w where better(p[j], best[j]) { best[j] = p[j]; d[j] = Int64(i) }
                    }
                }
            }
        }
    }
}

extension ArgMaxKernel {
    /// float32: rows find their maximum with the vectorised `rowMax` and then its first (or last) position;
    /// strided columns (class scores of a segmentation map) sweep the rows sixteen columns at a time.
    private func argMaxFloat(_ src: UnsafeMutablePointer<Float>, _ dst: UnsafeMutablePointer<Int64>,
                             _ outer: Int, _ n: Int, _ inner: Int) {
        let last = attrs.selectLastIndex
        if inner == 1 {
            parallelFor(outer, grain: Swift.max(1, 16384 / n)) { r in
                for o in r {
                    let p = src + o * n
                    let m = Float.rowMax(p, n)
                    let hit: (Float) -> Bool = m.isNaN ? { $0.isNaN } : { $0 == m }
                    var at = 0
                    if last { at = n - 1; while !hit(p[at]) { at -= 1 } } else { while !hit(p[at]) { at += 1 } }
                    dst[o] = Int64(at)
                }
            }
            return
        }
        let block = columnBlock(inner: inner, outer: outer, limit: 2048)
        let blocks = (inner + block - 1) / block
        parallelFor(outer * blocks, grain: Swift.max(1, 16384 / (n * block))) { r in
            for t in r {
                let o = t / blocks, j0 = (t % blocks) * block, w = Swift.min(inner, j0 + block) - j0
                let s = src + o * n * inner + j0, d = dst + o * inner + j0
                var j = 0
                // Sixteen columns at a time: running maxima and their row indices stay in registers.
                while j + 16 <= w {
                    let base = UnsafeRawPointer(s + j)
                    var b0 = base.loadUnaligned(as: SIMD8<Float>.self), b1 = base.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                    var a0 = SIMD8<Int32>(), a1 = a0
                    for i in 1..<n {
                        let row = base + i * inner * 4, index = SIMD8<Int32>(repeating: Int32(i))
                        let v0 = row.loadUnaligned(as: SIMD8<Float>.self), v1 = row.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                        let t0 = last ? (v0 .>= b0) .| (v0 .!= v0) : (b0 .== b0) .& ((v0 .> b0) .| (v0 .!= v0))
                        let t1 = last ? (v1 .>= b1) .| (v1 .!= v1) : (b1 .== b1) .& ((v1 .> b1) .| (v1 .!= v1))
                        b0.replace(with: v0, where: t0); a0.replace(with: index, where: t0)
                        b1.replace(with: v1, where: t1); a1.replace(with: index, where: t1)
                    }
                    for k in 0..<8 { d[j + k] = Int64(a0[k]); d[j + 8 + k] = Int64(a1[k]) }
                    j += 16
                }
                while j < w {
                    var best = s[j], at = 0
                    for i in 1..<n {
                        let v = s[i * inner + j]
                        if last ? v.isNaN || (!best.isNaN && v >= best) : !best.isNaN && (v > best || v.isNaN) { best = v; at = i }
                    }
                    d[j] = Int64(at)
                    j += 1
                }
            }
        }
    }
}

protocol ArgMaxElement: TensorElement, Comparable {
    var isNaNValue: Bool { get }
}
extension Float: ArgMaxElement { var isNaNValue: Bool { isNaN } }
extension Double: ArgMaxElement { var isNaNValue: Bool { isNaN } }
extension Int32: ArgMaxElement { var isNaNValue: Bool { false } }
extension Int64: ArgMaxElement { var isNaNValue: Bool { false } }
