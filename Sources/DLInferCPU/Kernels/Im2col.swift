import DLInferCore

/// The tap geometry of a sliding window between two pixel grids: walking pixel `i` of `grid` with kernel tap `k`
/// lands on pixel `i*stride - padBegin + k*dilation` of `target` (per axis). Conv's im2col walks output pixels
/// landing on input pixels; ConvTranspose's col2im walks input pixels landing on output pixels.
///
/// A range of walked pixels is cut into segments along the innermost axis; per tap and segment, the valid range of
/// the innermost index is computed once, so the per-element loops carry no division and no bounds test.
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

    /// One run of walked pixels along the innermost axis.
    struct Segment {
        /// Column of the segment's first pixel within the tile.
        var column: Int
        /// Innermost index of the first pixel, and the run's length.
        var start: Int
        var count: Int
        /// Index into `Segments.bases` of this run's per-axis bases (i*stride - padBegin for the outer axes).
        var base: Int
    }

    struct Segments {
        var list: [Segment] = []
        var bases: [Int] = []
    }

    /// Segments covering walked pixels p0..<p1 (flat, row-major).
    func segments(_ p0: Int, _ p1: Int) -> Segments {
        var out = Segments()
        let inner = grid[rank - 1], outer = rank - 1
        var p = p0
        var q = p0 / inner, x = p0 % inner
        var idx = [Int](repeating: 0, count: outer)
        while p < p1 {
            let len = Swift.min(inner - x, p1 - p)
            var rest = q
            for j in stride(from: outer - 1, through: 0, by: -1) { idx[j] = rest % grid[j]; rest /= grid[j] }
            out.list.append(Segment(column: p - p0, start: x, count: len, base: out.bases.count))
            for j in 0..<outer { out.bases.append(idx[j] * strides[j] - padBegin[j]) }
            p += len; q += 1; x = 0
        }
        return out
    }

    /// Calls `body(column, start, count, lo, hi, row)` for every segment and kernel tap `tap` (flat over the kernel):
    /// walked innermost indices lo..<hi (within start..<start+count) land in `target` at `row + index*stride`;
    /// the others fall in the padding. lo == hi when the whole segment does.
    @inline(__always)
    func walk(tap: Int, _ segs: Segments, _ body: (_ column: Int, _ start: Int, _ count: Int, _ lo: Int, _ hi: Int, _ row: Int) -> Void) {
        let outer = rank - 1
        // The tap's offset along each axis.
        var rest = tap
        var offs = [Int](repeating: 0, count: rank)
        for j in stride(from: rank - 1, through: 0, by: -1) {
            offs[j] = (rest % kernel[j]) * dilations[j]
            rest /= kernel[j]
        }
        let s = strides[outer], width = target[outer]
        let off = offs[outer] - padBegin[outer]
        for seg in segs.list {
            var valid = true
            var row = 0
            for j in 0..<outer {
                let t = segs.bases[seg.base + j] + offs[j]
                if t < 0 || t >= target[j] { valid = false; break }
                row = row * target[j] + t
            }
            let end = seg.start + seg.count
            guard valid else { body(seg.column, seg.start, seg.count, seg.start, seg.start, 0); continue }
            // index*s + off must lie in 0..<width.
            var lo = seg.start, hi = end
            if lo * s + off < 0 { lo = Swift.min(end, (-off + s - 1) / s) }
            if (hi - 1) * s + off >= width { hi = width - 1 - off >= 0 ? Swift.min(end, (width - 1 - off) / s + 1) : seg.start }
            if hi < lo { hi = lo }
            body(seg.column, seg.start, seg.count, lo, hi, row * width + off)
        }
    }
}

/// Fills columns p0..<p1 of the im2col matrix of one group: row (c, tap) holds, for every output pixel, the input
/// value under that tap (0 in the padding). `x` points at the group's first input channel; rows are `ld` apart.
func im2col(_ g: TapGrid, channels: Int, x: UnsafePointer<Float>, _ p0: Int, _ p1: Int,
            col: UnsafeMutablePointer<Float>, ld: Int) {
    let segs = g.segments(p0, p1)
    let taps = g.kernelVolume, plane = g.targetVolume, s = g.strides[g.rank - 1]
    let rows = channels * taps
    parallelFor(rows, grain: Swift.max(1, 16384 / Swift.max(p1 - p0, 1))) { range in
        for r in range {
            let src = x + (r / taps) * plane
            let dst = col + r * ld
            g.walk(tap: r % taps, segs) { column, start, count, lo, hi, row in
                let d = dst + column - start
                for i in start..<lo { d[i] = 0 }
                if s == 1 {
                    let sp = src + row
                    for i in lo..<hi { d[i] = sp[i] }
                } else {
                    for i in lo..<hi { d[i] = src[row + i * s] }
                }
                for i in hi..<(start + count) { d[i] = 0 }
            }
        }
    }
}

/// The inverse scatter for ConvTranspose: adds column p (an input pixel) of row (m, tap) into output channel m at
/// the pixel that tap lands on. `y` points at the group's first output channel.
func col2imAdd(_ g: TapGrid, channels: Int, col: UnsafePointer<Float>, ld: Int, _ p0: Int, _ p1: Int,
               y: UnsafeMutablePointer<Float>) {
    let segs = g.segments(p0, p1)
    let taps = g.kernelVolume, plane = g.targetVolume, s = g.strides[g.rank - 1]
    // One task per output channel: its taps all write the same plane, so they stay on one thread.
    parallelFor(channels) { range in
        for m in range {
            let dst = y + m * plane
            for tap in 0..<taps {
                let src = col + (m * taps + tap) * ld
                g.walk(tap: tap, segs) { column, start, _, lo, hi, row in
                    let sp = src + column - start
                    for i in lo..<hi { dst[row + i * s] += sp[i] }
                }
            }
        }
    }
}
