import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

func makeReduceKernel(_ a: Reduce, _ node: Node, _ graph: Graph) throws -> HostKernel { ReduceKernel(a) }

func makeArgMaxKernel(_ a: ArgMax, _ node: Node, _ graph: Graph) throws -> HostKernel { ArgMaxKernel(a) }

/// How a reduction stage combines elements.
enum ReduceCombine { case sum, max, min, prod }

/// The reductions. The input's dimensions are collapsed into alternating runs of kept and reduced axes; each
/// reduced run is then one `(outer, n, inner)` stage, innermost first, so every stage reads contiguous memory:
/// a row reduction when `inner == 1` (e.g. mean over H, W of NCHW) and a vector accumulation of whole rows otherwise
/// (e.g. sum over N or C). L1 and the sums of squares map the input (|x|, x²) before the first stage; L2, LogSum and
/// LogSumExp finish in floating point (integers go through float64); LogSumExp first takes the maximum, to
/// exponentiate x - max.
final class ReduceKernel: Kernel {
    let attrs: Reduce
    init(_ a: Reduce) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        let given = inputs.count > 1 ? inputs[1]?.intValues() : nil
        guard let axes = try attrs.reducedAxes(rank: x.rank, axes: given) else { return [x] }
        let r = Reduction(kind: attrs.kind, axes: axes, outShape: attrs.outputShape(x.shape, reducing: axes), outputs: outputs)
        switch x.dtype {
        case .float32: return [try r.floating(x, Float.self)]
        case .float64: return [try r.floating(x, Double.self)]
        case .int32: return [try r.integer(x, Int32.self)]
        case .int64: return [try r.integer(x, Int64.self)]
        case .uint32: return [try r.integer(x, UInt32.self)]
        case .uint64: return [try r.integer(x, UInt64.self)]
        case .int8 where [.max, .min].contains(attrs.kind): return [try r.exact(x, Int8.self)]
        case .uint8 where [.max, .min].contains(attrs.kind): return [try r.exact(x, UInt8.self)]
        case .bool where [.max, .min].contains(attrs.kind): return [try r.exact(x, Bool.self)]
        default: throw DLInferError.unsupported("\(attrs.opName) on \(x.dtype)")
        }
    }
}

/// One reduction of a tensor over concrete axes.
private struct Reduction {
    let kind: Reduce.Kind
    let axes: [Int]
    let outShape: [Int]
    let outputs: KernelOutputs

    /// Float types: the float-only reductions finish here, the others are exact.
    func floating<T: ReduceFloat>(_ x: Tensor, _: T.Type) throws -> Tensor {
        switch kind {
        case .l2: return try finish(try exact(x, T.self, as: .sumSquare)) { (s: T, _: Int) in s.squareRoot() }
        case .logSum: return try finish(try exact(x, T.self, as: .sum)) { (s: T, _: Int) in T.log(s) }
        case .logSumExp: return try logSumExp(x, T.self)
        default: return try exact(x, T.self)
        }
    }

    /// Integer types: L2, LogSum and LogSumExp in float64, truncated back.
    func integer<T: ReduceElement & FixedWidthInteger>(_ x: Tensor, _: T.Type) throws -> Tensor {
        guard [.l2, .logSum, .logSumExp].contains(kind) else { return try exact(x, T.self) }
        let wide = try outputs.make(.float64, x.shape)
        let src = x.pointer(T.self), w = wide.pointer(Double.self)
        parallelFor(x.count, grain: 16384) { r in for i in r { w[i] = Double(src[i]) } }
        let d = try floating(wide, Double.self)
        let y = try outputs.make(T.dtype, outShape)
        let dp = d.pointer(Double.self), yp = y.pointer(T.self)
        for i in 0..<y.count { yp[i] = saturating(dp[i]) }
        return y
    }

    /// The reductions that stay in the element type: sum, mean, max, min, prod, L1, sum of squares.
    func exact<T: ReduceElement>(_ x: Tensor, _: T.Type, as k: Reduce.Kind? = nil) throws -> Tensor {
        let kind = k ?? self.kind
        let combine: ReduceCombine = kind == .max ? .max : kind == .min ? .min : kind == .prod ? .prod : .sum
        let reducedCount = axes.reduce(1) { $0 * x.shape[$1] }
        var src = x
        if kind == .l1 || kind == .sumSquare {
            src = try outputs.make(x.dtype, x.shape)
            let a = UnsafePointer(x.pointer(T.self)), b = src.pointer(T.self)
            if kind == .l1 {
                parallelFor(x.count, grain: 16384) { r in for i in r { b[i] = T.magnitude(a[i]) } }
            } else {
                parallelFor(x.count, grain: 16384) { r in for i in r { b[i] = T.product(a[i], a[i]) } }
            }
        }
        if reducedCount == 1 { return src.reshaped(outShape) }
        let y = try outputs.make(x.dtype, outShape)
        if y.count == 0 { return y }
        let dst = y.pointer(T.self)
        if x.count == 0 {
            // Reducing an empty set gives the identity.
            let v: T
            switch kind {
            case .max: v = T.lowest
            case .min: v = T.highest
            case .prod: v = T.one
            case .mean: v = T.mean(T.zero, 0)
            default: v = T.zero
            }
            dst.update(repeating: v, count: y.count)
            return y
        }
        // Runs of kept/reduced dimensions, size-1 dimensions dropped.
        var runs = [(n: Int, reduced: Bool)]()
        for (i, d) in x.shape.enumerated() where d != 1 {
            let r = axes.contains(i)
            if let last = runs.last, last.reduced == r { runs[runs.count - 1].n *= d } else { runs.append((d, r)) }
        }
        var from = UnsafePointer(src.pointer(T.self))
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
            reduceStage(from, out, outer, n, inner, combine)
            from = UnsafePointer(out)
            runs.remove(at: g)
            if g > 0, g < runs.count, !runs[g - 1].reduced, !runs[g].reduced {
                runs[g - 1].n *= runs[g].n
                runs.remove(at: g)
            }
        }
        withExtendedLifetime((scratch, src)) {}
        if kind == .mean {
            parallelFor(y.count, grain: 16384) { r in for i in r { dst[i] = T.mean(dst[i], reducedCount) } }
        }
        return y
    }

    /// log Σ exp(x - m) + m with m the maximum over the reduced axes (0 where that is infinite: an all -inf or
    /// empty set gives log 0 = -inf, a +inf gives +inf, and neither makes inf - inf).
    private func logSumExp<T: ReduceFloat>(_ x: Tensor, _: T.Type) throws -> Tensor {
        var keptShape = x.shape
        for a in axes { keptShape[a] = 1 }
        let m = try Reduction(kind: .max, axes: axes, outShape: keptShape, outputs: outputs).exact(x, T.self)
        let shift = try outputs.make(x.dtype, keptShape)
        let mp = m.pointer(T.self), sp = shift.pointer(T.self)
        for i in 0..<shift.count { sp[i] = mp[i].isFinite ? mp[i] : 0 }
        let e = try outputs.make(x.dtype, x.shape)
        if x.count > 0 {
            broadcastBinary(x.pointer(T.self), x.shape, sp, keptShape, e.pointer(T.self), x.shape) { T.exp($0 - $1) }
        }
        let s = try Reduction(kind: .sum, axes: axes, outShape: outShape, outputs: outputs).exact(e, T.self)
        return try finish(s) { (v: T, i: Int) in T.log(v) + sp[i] }
    }

    /// y[i] = f(s[i], i), in a new tensor (s may be a view of the input).
    private func finish<T: ReduceElement>(_ s: Tensor, _ f: (T, Int) -> T) throws -> Tensor {
        let y = try outputs.make(s.dtype, outShape)
        let a = s.pointer(T.self), b = y.pointer(T.self)
        parallelFor(y.count, grain: 4096) { r in for i in r { b[i] = f(a[i], i) } }
        return y
    }
}

/// A float64 result as an integer: truncated toward zero, saturated at the type's bounds, NaN as 0.
private func saturating<T: FixedWidthInteger>(_ d: Double) -> T {
    if d.isNaN { return 0 }
    if d >= Double(T.max) { return T.max }
    if d <= Double(T.min) { return T.min }
    return T(d)
}

/// out[o, j] = reduce over i of src[o, i, j], for o < outer, i < n (n >= 1), j < inner.
func reduceStage<T: ReduceElement>(_ src: UnsafePointer<T>, _ dst: UnsafeMutablePointer<T>,
                                   _ outer: Int, _ n: Int, _ inner: Int, _ op: ReduceCombine) {
    if inner == 1 {
        let chunks = outer >= Threads.count ? 1 : Swift.max(1, Swift.min(4 * Threads.count / outer, n / 16384))
        if chunks == 1 {
            parallelFor(outer, grain: Swift.max(1, 16384 / n)) { r in for o in r { dst[o] = T.row(src + o * n, n, op) } }
            return
        }
        // Few long rows (a global reduction): split each row, then combine the partial results.
        let partial = UnsafeMutablePointer<T>.allocate(capacity: outer * chunks)
        defer { partial.deallocate() }
        parallelFor(outer * chunks) { r in
            for t in r {
                let o = t / chunks, c = t % chunks
                let lo = n * c / chunks, hi = n * (c + 1) / chunks
                partial[t] = T.row(src + o * n + lo, hi - lo, op)
            }
        }
        for o in 0..<outer { dst[o] = T.row(partial + o * chunks, chunks, op) }
        return
    }
    let block = columnBlock(inner: inner, outer: outer)
    let blocks = (inner + block - 1) / block
    parallelFor(outer * blocks, grain: Swift.max(1, 16384 / (n * block))) { r in
        for t in r {
            let o = t / blocks, j0 = (t % blocks) * block, j1 = Swift.min(inner, j0 + block)
            let s = src + o * n * inner + j0, d = dst + o * inner + j0
            d.update(from: s, count: j1 - j0)
            for i in 1..<n { T.accumulate(d, s + i * inner, j1 - j0, op) }
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
    static var one: Self { get }
    /// Identity of max: -inf for floats, the minimum for integers, false for bool.
    static var lowest: Self { get }
    /// Identity of min: +inf, the maximum, true.
    static var highest: Self { get }
    static func sum(_ a: Self, _ b: Self) -> Self
    static func product(_ a: Self, _ b: Self) -> Self
    /// NaN wins, as in numpy.
    static func maximum(_ a: Self, _ b: Self) -> Self
    static func minimum(_ a: Self, _ b: Self) -> Self
    static func magnitude(_ a: Self) -> Self
    static func mean(_ sum: Self, _ count: Int) -> Self
    /// p[0] combined with p[1], ..., p[n-1] (n >= 1).
    static func row(_ p: UnsafePointer<Self>, _ n: Int, _ op: ReduceCombine) -> Self
    /// d[j] = d[j] combined with p[j], for j < w.
    static func accumulate(_ d: UnsafeMutablePointer<Self>, _ p: UnsafePointer<Self>, _ w: Int, _ op: ReduceCombine)
}

extension ReduceElement {
    static func row(_ p: UnsafePointer<Self>, _ n: Int, _ op: ReduceCombine) -> Self { plainRow(p, n, op) }
    static func accumulate(_ d: UnsafeMutablePointer<Self>, _ p: UnsafePointer<Self>, _ w: Int, _ op: ReduceCombine) {
        plainAccumulate(d, p, w, op)
    }

    static func plainRow(_ p: UnsafePointer<Self>, _ n: Int, _ op: ReduceCombine) -> Self {
        var acc = p[0]
        switch op {
        case .sum: for i in 1..<n { acc = sum(acc, p[i]) }
        case .max: for i in 1..<n { acc = maximum(acc, p[i]) }
        case .min: for i in 1..<n { acc = minimum(acc, p[i]) }
        case .prod: for i in 1..<n { acc = product(acc, p[i]) }
        }
        return acc
    }

    static func plainAccumulate(_ d: UnsafeMutablePointer<Self>, _ p: UnsafePointer<Self>, _ w: Int, _ op: ReduceCombine) {
        switch op {
        case .sum: for j in 0..<w { d[j] = sum(d[j], p[j]) }
        case .max: for j in 0..<w { d[j] = maximum(d[j], p[j]) }
        case .min: for j in 0..<w { d[j] = minimum(d[j], p[j]) }
        case .prod: for j in 0..<w { d[j] = product(d[j], p[j]) }
        }
    }
}

/// The float types, for the reductions that finish with a logarithm or a square root.
protocol ReduceFloat: ReduceElement, MathFloat {}

extension Float: ReduceFloat {
    static var lowest: Float { -.infinity }
    static var highest: Float { .infinity }
    static var one: Float { 1 }
    @inline(__always) static func sum(_ a: Float, _ b: Float) -> Float { a + b }
    @inline(__always) static func product(_ a: Float, _ b: Float) -> Float { a * b }
    @inline(__always) static func maximum(_ a: Float, _ b: Float) -> Float { b > a || b != b ? b : a }
    @inline(__always) static func minimum(_ a: Float, _ b: Float) -> Float { b < a || b != b ? b : a }
    @inline(__always) static func magnitude(_ a: Float) -> Float { Swift.abs(a) }
    static func mean(_ sum: Float, _ count: Int) -> Float { sum / Float(count) }

    static func row(_ p: UnsafePointer<Float>, _ n: Int, _ op: ReduceCombine) -> Float {
        switch op {
        case .sum: return rowSum(p, n)
        case .max: return rowMax(p, n)
        case .min, .prod: return plainRow(p, n, op)
        }
    }

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

    static func accumulate(_ d: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ w: Int, _ op: ReduceCombine) {
        switch op {
        case .max: maxRows(d, p, w)
        case .min, .prod: plainAccumulate(d, p, w, op)
        case .sum:
            let dr = UnsafeMutableRawPointer(d), pr = UnsafeRawPointer(p)
            var j = 0
            while j + 8 <= w {
                let v = dr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) + pr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                dr.storeBytes(of: v, toByteOffset: j * 4, as: SIMD8<Float>.self)
                j += 8
            }
            while j < w { d[j] += p[j]; j += 1 }
        }
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

extension Double: ReduceFloat {
    static var lowest: Double { -.infinity }
    static var highest: Double { .infinity }
    static var one: Double { 1 }
    @inline(__always) static func sum(_ a: Double, _ b: Double) -> Double { a + b }
    @inline(__always) static func product(_ a: Double, _ b: Double) -> Double { a * b }
    @inline(__always) static func maximum(_ a: Double, _ b: Double) -> Double { b > a || b != b ? b : a }
    @inline(__always) static func minimum(_ a: Double, _ b: Double) -> Double { b < a || b != b ? b : a }
    @inline(__always) static func magnitude(_ a: Double) -> Double { Swift.abs(a) }
    static func mean(_ sum: Double, _ count: Int) -> Double { sum / Double(count) }
}

/// Integers wrap on overflow; |Int.min| is Int.min, as in numpy.
extension ReduceElement where Self: FixedWidthInteger {
    static var one: Self { 1 }
    static var lowest: Self { .min }
    static var highest: Self { .max }
    @inline(__always) static func sum(_ a: Self, _ b: Self) -> Self { a &+ b }
    @inline(__always) static func product(_ a: Self, _ b: Self) -> Self { a &* b }
    @inline(__always) static func maximum(_ a: Self, _ b: Self) -> Self { Swift.max(a, b) }
    @inline(__always) static func minimum(_ a: Self, _ b: Self) -> Self { Swift.min(a, b) }
    @inline(__always) static func magnitude(_ a: Self) -> Self { a < 0 ? 0 &- a : a }
    /// Truncates toward zero, as numpy's integer mean cast back; an empty set gives 0.
    static func mean(_ sum: Self, _ count: Int) -> Self {
        guard count > 0, let c = Self(exactly: count) else { return 0 }
        return sum / c
    }
}

extension Int32: ReduceElement {}
extension Int64: ReduceElement {}
extension UInt32: ReduceElement {}
extension UInt64: ReduceElement {}
extension Int8: ReduceElement {}
extension UInt8: ReduceElement {}
extension Int16: ReduceElement {}
extension UInt16: ReduceElement {}

extension Bool: ReduceElement {
    static var zero: Bool { false }
    static var one: Bool { true }
    static var lowest: Bool { false }
    static var highest: Bool { true }
    @inline(__always) static func sum(_ a: Bool, _ b: Bool) -> Bool { a || b }
    @inline(__always) static func product(_ a: Bool, _ b: Bool) -> Bool { a && b }
    @inline(__always) static func maximum(_ a: Bool, _ b: Bool) -> Bool { a || b }
    @inline(__always) static func minimum(_ a: Bool, _ b: Bool) -> Bool { a && b }
    static func magnitude(_ a: Bool) -> Bool { a }
    static func mean(_ sum: Bool, _ count: Int) -> Bool { sum }
}

/// ArgMax and ArgMin along one axis, seen as `(outer, n, inner)`: a scan per row when the axis is innermost, else
/// running extremes over whole rows of `inner` columns.
final class ArgMaxKernel: Kernel {
    let attrs: ArgMax
    init(_ a: ArgMax) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        let a = try attrs.normalizedAxis(rank: x.rank)
        let outer = x.shape[..<a].reduce(1, *), n = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *)
        let y = try outputs.make(0)
        if y.count == 0 { return [y] }
        guard n > 0 else { throw DLInferError.shape("\(attrs.opName) along an empty axis has no answer") }
        let d = y.pointer(Int64.self)
        switch x.dtype {
        case .float32 where n <= Int(Int32.max) && !attrs.min: argMaxFloat(x.pointer(Float.self), d, outer, n, inner)
        case .float32: argMax(x.pointer(Float.self), d, outer, n, inner)
        case .float64: argMax(x.pointer(Double.self), d, outer, n, inner)
        case .int8: argMax(x.pointer(Int8.self), d, outer, n, inner)
        case .int16: argMax(x.pointer(Int16.self), d, outer, n, inner)
        case .int32: argMax(x.pointer(Int32.self), d, outer, n, inner)
        case .int64: argMax(x.pointer(Int64.self), d, outer, n, inner)
        case .uint8: argMax(x.pointer(UInt8.self), d, outer, n, inner)
        case .uint16: argMax(x.pointer(UInt16.self), d, outer, n, inner)
        case .uint32: argMax(x.pointer(UInt32.self), d, outer, n, inner)
        case .uint64: argMax(x.pointer(UInt64.self), d, outer, n, inner)
        default: throw DLInferError.unsupported("\(attrs.opName) on \(x.dtype)")
        }
        return [y]
    }

    private func argMax<T: ArgMaxElement>(_ src: UnsafeMutablePointer<T>, _ dst: UnsafeMutablePointer<Int64>,
                                          _ outer: Int, _ n: Int, _ inner: Int) {
        let last = attrs.selectLastIndex, min = attrs.min
        // NaN beats any number, whichever extreme is sought.
        @inline(__always) func better(_ v: T, _ best: T) -> Bool {
            if min {
                return last ? v.isNaNValue || (!best.isNaNValue && v <= best) : !best.isNaNValue && (v < best || v.isNaNValue)
            }
            return last ? v.isNaNValue || (!best.isNaNValue && v >= best) : !best.isNaNValue && (v > best || v.isNaNValue)
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
extension ArgMaxElement where Self: FixedWidthInteger { var isNaNValue: Bool { false } }
extension Int8: ArgMaxElement {}
extension Int16: ArgMaxElement {}
extension Int32: ArgMaxElement {}
extension Int64: ArgMaxElement {}
extension UInt8: ArgMaxElement {}
extension UInt16: ArgMaxElement {}
extension UInt32: ArgMaxElement {}
extension UInt64: ArgMaxElement {}

extension CPUKernelFactory {
    func visit(_ a: Reduce, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeReduceKernel(a, node, graph)
    }

    func visit(_ a: ArgMax, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeArgMaxKernel(a, node, graph)
    }
}
