import DLInferCore

/// The tap geometry of a sliding window between two pixel grids: walking pixel `i` of `grid` with kernel tap `k`
/// lands on pixel `i*stride - padBegin + k*dilation` of `target` (per axis). Conv's im2col walks output pixels
/// landing on input pixels; ConvTranspose's col2im walks input pixels landing on output pixels.
struct TapGrid {
    let grid: [Int]
    let target: [Int]
    let kernel: [Int]
    let strides: [Int]
    let dilations: [Int]
    let padBegin: [Int]

    var rank: Int { grid.count }
    var kernelVolume: Int { kernel.elementCount }
    var gridVolume: Int { grid.elementCount }
    var targetVolume: Int { target.elementCount }
    /// A pointwise grid of stride 1 without padding: X itself is the column matrix, and the output has X's shape.
    var readsInPlace: Bool {
        kernel.allSatisfy { $0 == 1 } && strides.allSatisfy { $0 == 1 } && padBegin.allSatisfy { $0 == 0 } && grid == target
    }

    /// One run of walked pixels along the innermost axis, for one tap: innermost indices start..<start+count sit at
    /// `column`... of the tile; those in lo..<hi land in `target` at `offset + index*stride`, the others in padding.
    struct Run {
        var column: Int
        var start: Int
        var count: Int
        var lo: Int
        var hi: Int
        var offset: Int
    }

    /// The runs covering walked pixels p0..<p1 (flat, row-major), for every tap: runs for tap t are
    /// `result[t * perTap ..< (t + 1) * perTap]`. Computed once per tile, so the per-channel copy loops carry no
    /// division and no bounds test.
    func runs(_ p0: Int, _ p1: Int) -> (runs: [Run], perTap: Int) {
        let outer = rank - 1, inner = grid[outer]
        // Segments along the innermost axis, with each one's per-axis base (index*stride - padBegin) on outer axes.
        var segments = [(column: Int, start: Int, count: Int)](), bases = [Int]()
        var p = p0, q = p0 / inner, x = p0 % inner
        var idx = [Int](repeating: 0, count: outer)
        while p < p1 {
            let len = Swift.min(inner - x, p1 - p)
            var rest = q
            for j in stride(from: outer - 1, through: 0, by: -1) { idx[j] = rest % grid[j]; rest /= grid[j] }
            segments.append((p - p0, x, len))
            for j in 0..<outer { bases.append(idx[j] * strides[j] - padBegin[j]) }
            p += len; q += 1; x = 0
        }
        var out = [Run]()
        out.reserveCapacity(kernelVolume * segments.count)
        let s = strides[outer], width = target[outer]
        var offs = [Int](repeating: 0, count: rank)
        for tap in 0..<kernelVolume {
            var rest = tap
            for j in stride(from: rank - 1, through: 0, by: -1) {
                offs[j] = (rest % kernel[j]) * dilations[j]
                rest /= kernel[j]
            }
            let off = offs[outer] - padBegin[outer]
            for (n, seg) in segments.enumerated() {
                var valid = true
                var row = 0
                for j in 0..<outer {
                    let t = bases[n * outer + j] + offs[j]
                    if t < 0 || t >= target[j] { valid = false; break }
                    row = row * target[j] + t
                }
                let end = seg.start + seg.count
                var lo = seg.start, hi = end
                if !valid {
                    hi = lo
                } else {
                    // index*s + off must lie in 0..<width.
                    if lo * s + off < 0 { lo = Swift.min(end, (-off + s - 1) / s) }
                    if (hi - 1) * s + off >= width { hi = width - 1 - off >= 0 ? Swift.min(end, (width - 1 - off) / s + 1) : seg.start }
                    if hi < lo { hi = lo }
                }
                out.append(Run(column: seg.column, start: seg.start, count: seg.count, lo: lo, hi: hi,
                               offset: valid ? row * width + off : 0))
            }
        }
        return (out, segments.count)
    }
}

/// Fills columns p0..<p1 of the im2col matrix of one group: row (c, tap) holds, for every output pixel, the input
/// value under that tap (0 in the padding). `x` points at the group's first input channel; rows are `ld` apart.
/// Runs on the calling thread: conv parallelises over tiles or inside the GEMM.
func im2col(_ g: TapGrid, channels: Int, x: UnsafePointer<Float>, _ p0: Int, _ p1: Int,
            col: UnsafeMutablePointer<Float>, ld: Int) {
    let (runs, perTap) = g.runs(p0, p1)
    let taps = g.kernelVolume, plane = g.targetVolume, s = g.strides[g.rank - 1]
    runs.withUnsafeBufferPointer { runs in
        for c in 0..<channels {
            let src = x + c * plane
            for tap in 0..<taps {
                let dst = col + (c * taps + tap) * ld
                for run in runs[(tap * perTap)..<((tap + 1) * perTap)] {
                    let d = dst + run.column - run.start
                    for i in run.start..<run.lo { d[i] = 0 }
                    if s == 1 {
                        let sp = src + run.offset
                        for i in run.lo..<run.hi { d[i] = sp[i] }
                    } else if s == 2 {
                        copyEven(d, src + run.offset, run.lo, run.hi, readable: plane - run.offset)
                    } else {
                        let sp = src + run.offset
                        for i in run.lo..<run.hi { d[i] = sp[i * s] }
                    }
                    for i in run.hi..<(run.start + run.count) { d[i] = 0 }
                }
            }
        }
    }
}

/// d[i] = src[2i] for i in lo..<hi, four at a time from eight-wide loads (SSE has no strided load). `readable`
/// bounds the indices of src that may be touched, so the wide loads never run past the input.
@inline(__always)
private func copyEven(_ d: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ lo: Int, _ hi: Int, readable: Int) {
    var i = lo
    while i + 4 <= hi && 2 * i + 8 <= readable {
        let v = UnsafeRawPointer(src + 2 * i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(d + i).storeBytes(of: v.evenHalf, as: SIMD4<Float>.self)
        i += 4
    }
    while i < hi { d[i] = src[2 * i]; i += 1 }
}

/// The inverse scatter for ConvTranspose: adds column p (an input pixel) of row (m, tap) into output channel m at
/// the pixel that tap lands on. `y` points at the group's first output channel.
func col2imAdd(_ g: TapGrid, channels: Int, col: UnsafePointer<Float>, ld: Int, _ p0: Int, _ p1: Int,
               y: UnsafeMutablePointer<Float>) {
    let (runs, perTap) = g.runs(p0, p1)
    let taps = g.kernelVolume, plane = g.targetVolume, s = g.strides[g.rank - 1]
    runs.withUnsafeBufferPointer { runs in
        // One task per output channel: its taps all write the same plane, so they stay on one thread.
        parallelFor(channels) { range in
            for m in range {
                let dst = y + m * plane
                for tap in 0..<taps {
                    let src = col + (m * taps + tap) * ld
                    for run in runs[(tap * perTap)..<((tap + 1) * perTap)] {
                        let sp = src + run.column - run.start, dp = dst + run.offset
                        for i in run.lo..<run.hi { dp[i * s] += sp[i] }
                    }
                }
            }
        }
    }
}
