import CDLInferKernels
import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

func makePoolKernel(_ a: Pool, _ node: Node, _ graph: Graph) throws -> HostKernel { PoolKernel(a) }

func makeGlobalPoolKernel(_ a: GlobalPool, _ node: Node, _ graph: Graph) throws -> HostKernel { GlobalPoolKernel(a) }

/// Element types MaxPool runs on, with the value every window starts from.
protocol MaxPoolElement: TensorElement, Comparable { static var poolStart: Self { get } }
extension Float: MaxPoolElement { static var poolStart: Float { -.infinity } }
extension Double: MaxPoolElement { static var poolStart: Double { -.infinity } }
extension Int8: MaxPoolElement { static var poolStart: Int8 { .min } }
extension UInt8: MaxPoolElement { static var poolStart: UInt8 { .min } }

/// Per output coordinate along one axis: where its window starts in the input and which taps fall inside it.
struct PoolAxis {
    var start: [Int] = [], lo: [Int] = [], hi: [Int] = []
    /// Taps inside the padded input (AveragePool's divisor with count_include_pad).
    var padded: [Int] = []
    let dilation: Int

    init(input: Int, output: Int, kernel: Int, stride: Int, dilation: Int, padBegin: Int, padEnd: Int) {
        self.dilation = dilation
        for o in 0..<output {
            let s = o * stride - padBegin
            var l = 0, h = kernel
            if s < 0 { l = Swift.min(kernel, (-s + dilation - 1) / dilation) }
            if s + (h - 1) * dilation >= input { h = input - 1 - s >= 0 ? Swift.min(kernel, (input - 1 - s) / dilation + 1) : 0 }
            start.append(s); lo.append(l); hi.append(Swift.max(l, h))
            padded.append((0..<kernel).filter { s + $0 * dilation < input + padEnd }.count)
        }
    }

    /// The single position of an axis the pool does not have (1-D and 2-D pools run as 3-D).
    static let unit = PoolAxis(input: 1, output: 1, kernel: 1, stride: 1, dilation: 1, padBegin: 0, padEnd: 0)
}

/// MaxPool / AveragePool / LpPool over 1 to 3 spatial axes (fewer axes are leading axes of size 1), parallel over (n, c)
/// planes. Each output row is built by one pass per window row of the input: the interior columns take all kernel
/// columns at once, the edge columns only those inside the input, so the inner loops only compare or add. MaxPool
/// with the Indices output tracks positions in a separate, scalar loop.
final class PoolKernel: Kernel {
    let attrs: Pool
    init(_ a: Pool) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        let y = try outputs.make(0)
        // Prepared once per plan: small pools would otherwise spend more time on it than on the pooling.
        let geo = try outputs.prepared { try makeGeometry(x.shape) }
        guard y.count > 0 else { return outputs.wanted(1) ? [y, try outputs.make(1)] : [y] }
        switch attrs.kind {
        case .average(let includePad):
            average(x.pointer(Float.self), y.pointer(Float.self), geo, countPadding: includePad)
            return [y]
        case .lp(let p):
            lpNorm(x.pointer(Float.self), y.pointer(Float.self), geo, p: p)
            return [y]
        case .max(let columnMajor):
            if outputs.wanted(1) {
                let indices = try outputs.make(1)
                let ip = indices.pointer(Int64.self)
                switch x.dtype {
                case .float32: maxWithIndices(x.pointer(Float.self), y.pointer(Float.self), ip, geo, columnMajor)
                case .float64: maxWithIndices(x.pointer(Double.self), y.pointer(Double.self), ip, geo, columnMajor)
                case .int8: maxWithIndices(x.pointer(Int8.self), y.pointer(Int8.self), ip, geo, columnMajor)
                case .uint8: maxWithIndices(x.pointer(UInt8.self), y.pointer(UInt8.self), ip, geo, columnMajor)
                default: throw DLInferError.unsupported("MaxPool on \(x.dtype)")
                }
                return [y, indices]
            }
            switch x.dtype {
            case .float32: maximum(x.pointer(Float.self), y.pointer(Float.self), geo)
            case .float64: maximum(x.pointer(Double.self), y.pointer(Double.self), geo)
            case .int8: maximum(x.pointer(Int8.self), y.pointer(Int8.self), geo)
            case .uint8: maximum(x.pointer(UInt8.self), y.pointer(UInt8.self), geo)
            default: throw DLInferError.unsupported("MaxPool on \(x.dtype)")
            }
            return [y]
        }
    }

    private func makeGeometry(_ shape: [Int]) throws -> PoolGeometry {
        let win = attrs.window
        let inSize = Array(shape[2...])
        let (outSize, padBegin) = try win.resolve(inSize)
        let lead = 3 - win.rank
        var axes = [PoolAxis](repeating: .unit, count: lead)
        for i in 0..<win.rank {
            axes.append(PoolAxis(input: inSize[i], output: outSize[i], kernel: win.kernel[i], stride: win.strides[i],
                                 dilation: win.dilations[i], padBegin: padBegin[i], padEnd: try win.padEnd(i, input: inSize[i])))
        }
        let last = win.rank - 1
        let cols = TapColumns(input: inSize[last], output: outSize[last], kernel: win.kernel[last],
                              stride: win.strides[last], dilation: win.dilations[last], padBegin: padBegin[last])
        // Every window whole inside the input, taps adjacent, at most two spatial axes: read windows directly.
        var dense: PoolGeometry.Dense? = nil
        if win.rank <= 2, win.dilations.allSatisfy({ $0 == 1 }),
           axes[1...].indices.allSatisfy({ i in axes[i].lo.allSatisfy { $0 == 0 } && axes[i].hi.allSatisfy { $0 == (i < lead ? 1 : win.kernel[i - lead]) } }) {
            let k = [Int](repeating: 1, count: lead - 1) + win.kernel, st = [Int](repeating: 1, count: lead - 1) + win.strides
            dense = .init(kh: k[0], kw: k[1], sh: st[0], sw: st[1], oh: axes[1].start.count, ow: axes[2].start.count)
        }
        // One or two axes, taps adjacent, stride 1 or 2 across: MaxPool and AveragePool on floats run in the C
        // kernel, AveragePool with each output's divisor from the plan.
        var planar: dl_pool2d_args? = nil, divisor: [Float]? = nil
        if win.rank <= 2, win.dilations.allSatisfy({ $0 == 1 }), win.strides[last] <= 2 {
            let two = win.rank == 2
            planar = dl_pool2d_args(x: nil, y: nil, divisor: nil, ih: Int64(two ? inSize[0] : 1), iw: Int64(inSize[last]),
                                    ph: Int64(two ? padBegin[0] : 0), pw: Int64(padBegin[last]),
                                    kh: Int64(two ? win.kernel[0] : 1), kw: Int64(win.kernel[last]),
                                    sh: Int64(two ? win.strides[0] : 1), sw: Int64(win.strides[last]),
                                    oh: Int64(two ? outSize[0] : 1), ow: Int64(outSize[last]))
            switch attrs.kind {
            case .max: break
            case .average(let includePad):
                let (rows, cols) = (axes[1], axes[2])
                divisor = rows.start.indices.flatMap { i in
                    cols.start.indices.map { j in
                        Float(includePad ? rows.padded[i] * cols.padded[j] : (rows.hi[i] - rows.lo[i]) * (cols.hi[j] - cols.lo[j]))
                    }
                } + [Float](repeating: 1, count: 16)
            case .lp: planar = nil
            }
        }
        return PoolGeometry(axes: axes, dims: [Int](repeating: 1, count: lead) + inSize, cols: cols,
                            stride: win.strides[last], planes: shape[0] * shape[1], dense: dense, planar: planar,
                            divisor: divisor)
    }

    /// Divides by the taps inside the input, or with `countPadding` inside the padded input.
    private func average(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ g: PoolGeometry, countPadding: Bool) {
        if let planar = g.planar, let divisor = g.divisor {
            divisor.withUnsafeBufferPointer { pool2D(planar, divisor: $0.baseAddress, x: x, y: y, planes: g.planes) }
            return
        }
        if let d = g.dense {
            // The taps in the order the row passes add them, so both paths give the same sums.
            let n = Float(d.kh * d.kw)
            g.forEachWindow(x, y, d) { w, stride in
                var sum: Float = 0
                for i in 0..<d.kh { for j in 0..<d.kw { sum += w[i * stride + j] } }
                return sum / n
            }
            return
        }
        let a2 = g.axes[2]
        g.forEachRow(x, y) { row, count, rows, rowTaps, rowPadded in
            row.update(repeating: 0, count: count)
            for src in rows { poolRow(row, src, g.cols, stride: g.stride) { $0 + $1 } }
            if countPadding {
                for o in 0..<count { row[o] /= Float(rowPadded * a2.padded[o]) }
            } else {
                for o in 0..<count { row[o] /= Float(rowTaps * (a2.hi[o] - a2.lo[o])) }
            }
        }
    }

    /// (sum of |x|^p over the taps inside the input)^(1/p); p 1 and 2 without pow.
    private func lpNorm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ g: PoolGeometry, p: Int) {
        let pf = Float(p)
        g.forEachRow(x, y) { row, count, rows, _, _ in
            row.update(repeating: 0, count: count)
            switch p {
            case 1:
                for src in rows { poolRow(row, src, g.cols, stride: g.stride) { v, r in r + abs(v) } }
            case 2:
                for src in rows { poolRow(row, src, g.cols, stride: g.stride) { v, r in r + v * v } }
                for o in 0..<count { row[o] = row[o].squareRoot() }
            default:
                for src in rows { poolRow(row, src, g.cols, stride: g.stride) { v, r in r + powf(abs(v), pf) } }
                for o in 0..<count { row[o] = powf(row[o], 1 / pf) }
            }
        }
    }

    private func maximum<T: MaxPoolElement>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ g: PoolGeometry) {
        if T.self == Float.self, let planar = g.planar {
            pool2D(planar, divisor: nil, x: UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                   y: UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self), planes: g.planes)
            return
        }
        if let d = g.dense {
            g.forEachWindow(x, y, d) { w, stride in
                var best = T.poolStart
                for i in 0..<d.kh { for j in 0..<d.kw { let v = w[i * stride + j]; best = v > best ? v : best } }
                return best
            }
            return
        }
        g.forEachRow(x, y) { row, count, rows, _, _ in
            row.update(repeating: T.poolStart, count: count)
            // NaN never wins (as in onnxruntime): a comparison with NaN is false.
            for src in rows { poolRow(row, src, g.cols, stride: g.stride) { v, r in v > r ? v : r } }
        }
    }

    /// Indices are flat over the whole input: the plane's offset plus the spatial position, row-major or (storage
    /// order 1) column-major over the spatial axes.
    private func maxWithIndices<T: MaxPoolElement>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>,
                                                   _ indices: UnsafeMutablePointer<Int64>, _ g: PoolGeometry,
                                                   _ columnMajor: Bool) {
        let (a0, a1, a2) = (g.axes[0], g.axes[1], g.axes[2])
        let (d, h, w) = (g.dims[0], g.dims[1], g.dims[2]), inPlane = g.dims.elementCount
        let (o0, o1, o2) = (a0.start.count, a1.start.count, a2.start.count), outPlane = o0 * o1 * o2
        parallelFor(g.planes, grain: Swift.max(1, 4096 / outPlane)) { range in
            for p in range {
                let xp = x + p * inPlane
                var k = p * outPlane
                for i0 in 0..<o0 { for i1 in 0..<o1 { for i2 in 0..<o2 {
                    var best = T.poolStart
                    var at = -1
                    for j0 in a0.lo[i0]..<a0.hi[i0] {
                        let r0 = (a0.start[i0] + j0 * a0.dilation) * h
                        for j1 in a1.lo[i1]..<a1.hi[i1] {
                            let row = (r0 + a1.start[i1] + j1 * a1.dilation) * w + a2.start[i2]
                            for j2 in a2.lo[i2]..<a2.hi[i2] {
                                let v = xp[row + j2 * a2.dilation]
                                // NaN never wins; the first tap is the fallback position.
                                if v > best { best = v; at = row + j2 * a2.dilation } else if at < 0 { at = row + j2 * a2.dilation }
                            }
                        }
                    }
                    y[k] = best
                    var pos = Swift.max(at, 0)
                    if columnMajor {
                        let c2 = pos % w, c1 = (pos / w) % h, c0 = pos / (w * h)
                        pos = c0 + c1 * d + c2 * d * h
                    }
                    indices[k] = Int64(p * inPlane + pos)
                    k += 1
                } } }
            }
        }
    }
}

/// A pool's resolved geometry, padded to three spatial axes.
struct PoolGeometry {
    let axes: [PoolAxis]
    let dims: [Int]
    /// Tap columns of the innermost axis, and its stride.
    let cols: TapColumns
    let stride: Int
    let planes: Int
    /// Set when every window lies whole inside the input with adjacent taps, over at most two spatial axes.
    let dense: Dense?
    struct Dense { let kh, kw, sh, sw, oh, ow: Int }
    /// Set for the C kernel's MaxPool and AveragePool (its pointers left nil): at most two spatial axes, taps
    /// adjacent, stride 1 or 2 across.
    let planar: dl_pool2d_args?
    /// AveragePool's divisor per output of a plane, and 16 more floats the C kernel may read.
    let divisor: [Float]?

    /// y = body(window's first element, input row length) for every output element of a dense geometry, in parallel
    /// over planes. Small planes (deep layers, small images) would otherwise spend their time building rows.
    @inline(__always)
    func forEachWindow<T>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ d: Dense,
                          _ body: (UnsafePointer<T>, Int) -> T) {
        let w = dims[2], inPlane = dims[1] * w, outPlane = d.oh * d.ow
        parallelFor(planes, grain: Swift.max(1, 4096 / Swift.max(outPlane, 1))) { range in
            for p in range {
                var out = y + p * outPlane
                for oh in 0..<d.oh {
                    let row = x + p * inPlane + oh * d.sh * w
                    for ow in 0..<d.ow { out[ow] = body(row + ow * d.sw, w) }
                    out += d.ow
                }
            }
        }
    }

    /// Calls `body(row, count, inputRows, rowTaps, rowPadded)` for every output row (all axes but the innermost), in
    /// parallel over planes: `inputRows` are the input rows its window covers (already offset to the row start),
    /// `rowTaps` their number, `rowPadded` the window rows inside the padded input.
    @inline(__always)
    func forEachRow<T>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>,
                       _ body: (UnsafeMutablePointer<T>, Int, [UnsafePointer<T>], Int, Int) -> Void) {
        let (a0, a1) = (axes[0], axes[1])
        let (h, w) = (dims[1], dims[2]), inPlane = dims.elementCount
        let (o0, o1, o2) = (a0.start.count, a1.start.count, axes[2].start.count), outPlane = o0 * o1 * o2
        parallelFor(planes, grain: Swift.max(1, 4096 / outPlane)) { range in
            var rows = [UnsafePointer<T>]()
            for p in range {
                let xp = x + p * inPlane
                for i0 in 0..<o0 { for i1 in 0..<o1 {
                    rows.removeAll(keepingCapacity: true)
                    for j0 in a0.lo[i0]..<a0.hi[i0] {
                        let r0 = (a0.start[i0] + j0 * a0.dilation) * h
                        for j1 in a1.lo[i1]..<a1.hi[i1] { rows.append(xp + (r0 + a1.start[i1] + j1 * a1.dilation) * w) }
                    }
                    body(y + p * outPlane + (i0 * o1 + i1) * o2, o2, rows, rows.count, a0.padded[i0] * a1.padded[i1])
                } }
            }
        }
    }

}

/// row[o] = f(input under each tap column, row[o]) for every kernel column inside the input.
@inline(__always)
func poolRow<T>(_ row: UnsafeMutablePointer<T>, _ x: UnsafePointer<T>, _ c: TapColumns, stride: Int, _ f: (T, T) -> T) {
    for k in 0..<c.off.count {
        let src = x + c.off[k]
        let (a, b) = c.edges(k)
        for o in a { row[o] = f(src[o * stride], row[o]) }
        for o in b { row[o] = f(src[o * stride], row[o]) }
    }
    let lo = c.inner, hi = c.innerEnd
    if c.off.count == 3 {
        let s0 = x + c.off[0], s1 = x + c.off[1], s2 = x + c.off[2]
        if stride == 1 {
            for o in lo..<hi { row[o] = f(s2[o], f(s1[o], f(s0[o], row[o]))) }
        } else {
            for o in lo..<hi { let i = o * stride; row[o] = f(s2[i], f(s1[i], f(s0[i], row[o]))) }
        }
    } else {
        for k in 0..<c.off.count {
            let src = x + c.off[k]
            if stride == 1 {
                for o in lo..<hi { row[o] = f(src[o], row[o]) }
            } else {
                for o in lo..<hi { row[o] = f(src[o * stride], row[o]) }
            }
        }
    }
}

/// MaxPool (no divisor) or AveragePool on float planes in the C kernel: each plane is copied into scratch with -inf
/// or 0 around it (which never wins or adds nothing), so every output is interior and whole rows are computed in
/// vectors, taps in the scalar loops' order; where no window reaches past the input, and for MaxPool three across at
/// stride 2 (maxima across, then down), the input is read in place.
private func pool2D(_ template: dl_pool2d_args, divisor: UnsafePointer<Float>?, x: UnsafePointer<Float>,
                    y: UnsafeMutablePointer<Float>, planes: Int) {
    var args = template
    (args.x, args.y, args.divisor) = (x, y, divisor)
    let scratch = Int(dl_pool2d_scratch(&args)), outPlane = Int(args.oh * args.ow)
    let taps = Int(args.kh * args.kw)
    // Ranges of at least 2^15 taps (a few microseconds).
    parallelFor(planes, grain: Swift.max(1, (1 << 15) / Swift.max(1, outPlane * taps))) { range in
        withUnsafeTemporaryAllocation(byteCount: scratch * 4, alignment: 64) { raw in
            var g = args
            SGEMMKernel.preferred.pool2D(&g, Int64(range.lowerBound), Int64(range.upperBound),
                                        raw.bindMemory(to: Float.self).baseAddress!)
        }
    }
}

/// GlobalAveragePool / GlobalMaxPool / GlobalLpPool: one reduction per (n, c) plane.
final class GlobalPoolKernel: Kernel {
    let attrs: GlobalPool
    init(_ a: GlobalPool) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0)
        let planes = x.shape[0] * x.shape[1], size = x.shape[2...].reduce(1, *)
        let xp = x.pointer(Float.self), yp = y.pointer(Float.self)
        let kind = attrs.kind
        parallelFor(planes, grain: Swift.max(1, 16384 / Swift.max(size, 1))) { range in
            for p in range {
                let src = xp + p * size
                switch kind {
                case .average: yp[p] = sumFloats(src, size) / Float(size)
                case .max: yp[p] = maxFloats(src, size)
                case .lp(let n): yp[p] = lpNormFloats(src, size, p: n)
                }
            }
        }
        return [y]
    }
}

/// Sum with eight independent lanes, so the loop vectorises despite floating-point ordering.
@inline(__always)
func sumFloats(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= n { acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self); i += 8 }
    var s = acc.sum()
    while i < n { s += p[i]; i += 1 }
    return s
}

/// Maximum (NaN propagates); -inf for an empty plane.
@inline(__always)
func maxFloats(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var m = -Float.infinity
    var nan = false
    for i in 0..<n { let v = p[i]; m = v > m ? v : m; nan = nan || v.isNaN }
    return nan ? .nan : m
}

/// (sum of |x|^p)^(1/p); 0 for an empty plane.
@inline(__always)
func lpNormFloats(_ x: UnsafePointer<Float>, _ n: Int, p: Int) -> Float {
    var s: Float = 0
    switch p {
    case 1: for i in 0..<n { s += abs(x[i]) }
    case 2: for i in 0..<n { s += x[i] * x[i] }; return s.squareRoot()
    default:
        let pf = Float(p)
        for i in 0..<n { s += powf(abs(x[i]), pf) }
        return powf(s, 1 / pf)
    }
    return s
}

extension CPUKernelFactory {
    func visit(_ a: Pool, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makePoolKernel(a, node, graph)
    }

    func visit(_ a: GlobalPool, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeGlobalPoolKernel(a, node, graph)
    }
}
