import DLInferCore

/// Output columns lo..<hi read input column `ox*stride + off` for one kernel tap column; plus the range [inner,
/// innerEnd) where every tap column is inside the input (the interior, where all taps run in one pass).
struct TapColumns {
    var lo: [Int] = [], hi: [Int] = [], off: [Int] = []
    var inner = 0, innerEnd = 0
    let output: Int

    init(input: Int, output: Int, kernel: Int, stride: Int, dilation: Int, padBegin: Int) {
        self.output = output
        for k in 0..<kernel {
            let o = k * dilation - padBegin
            var l = 0, h = output
            if o < 0 { l = Swift.min(output, (-o + stride - 1) / stride) }
            if (h - 1) * stride + o >= input { h = input - 1 - o >= 0 ? Swift.min(output, (input - 1 - o) / stride + 1) : 0 }
            lo.append(l); hi.append(Swift.max(h, l)); off.append(o)
        }
        inner = lo.max() ?? 0
        // An empty interior collapses to one point so that lo..<inner and innerEnd..<hi still cover each tap once.
        innerEnd = Swift.max(inner, hi.min() ?? 0)
    }

    /// The tap's columns outside the interior: lo..<min(hi, inner) and max(lo, innerEnd)..<hi.
    @inline(__always)
    func edges(_ k: Int) -> (Range<Int>, Range<Int>) {
        (lo[k]..<Swift.max(lo[k], Swift.min(hi[k], inner)), Swift.min(hi[k], Swift.max(lo[k], innerEnd))..<hi[k])
    }
}

/// Direct 2-D convolution where every group has one input channel (depthwise, any channel multiplier). Each output
/// row starts as the bias and gets one pass per kernel row: the interior columns add all kernel columns at once
/// (three taps per load/store of the output for the common 3-wide kernel), the few edge columns add the taps that
/// fall inside the input. No division or bounds test in the inner loops.
func depthwiseConv2D(_ g: TapGrid, batch: Int, channels: Int, multiplier: Int, x: UnsafePointer<Float>,
                     w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, activation: Activation?,
                     y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?) {
    let (ih, iw) = (g.target[0], g.target[1]), (oh, ow) = (g.grid[0], g.grid[1])
    let (kh, kw) = (g.kernel[0], g.kernel[1]), (sh, sw) = (g.strides[0], g.strides[1])
    let (dh, ph) = (g.dilations[0], g.padBegin[0])
    let cols = TapColumns(input: iw, output: ow, kernel: kw, stride: sw, dilation: g.dilations[1], padBegin: g.padBegin[1])
    let m = channels * multiplier
    // Small planes are grouped so that a tiny layer does not wake threads for a few microseconds of work.
    parallelFor(batch * m, grain: Swift.max(1, (1 << 18) / Swift.max(1, oh * ow * kh * kw))) { range in
        for plane in range {
            let n = plane / m, oc = plane % m
            let xp = x + (n * channels + oc / multiplier) * ih * iw
            let wp = w + oc * kh * kw
            let yp = y + plane * oh * ow
            let b = bias?[oc] ?? 0
            for oy in 0..<oh {
                let row = yp + oy * ow
                let top = oy * sh - ph
                if kh == 3, kw == 3, top >= 0, top + 2 * dh < ih {
                    depthwiseRow3x3(row, xp + top * iw, rowStride: dh * iw, wp, b, cols, stride: sw)
                } else {
                    row.update(repeating: b, count: ow)
                    for ky in 0..<kh {
                        let iy = oy * sh - ph + ky * dh
                        if iy < 0 || iy >= ih { continue }
                        depthwiseRow(row, xp + iy * iw, wp + ky * kw, cols, kw: kw, stride: sw)
                    }
                }
                if activation != nil || residual != nil {
                    applyEpilogue(row, count: ow, bias: 0, activation: activation,
                                  residual: residual.map { $0 + (row - y) })
                }
            }
        }
    }
}

/// A whole output row of a 3x3 kernel whose three input rows all exist: nine taps per output in one pass. (Dilation
/// 1 at strides 1 and 2 across runs in the C kernel, `depthwise3x3Padded`; this serves the dilated and wider-strided
/// layers.)
@inline(__always)
private func depthwiseRow3x3(_ row: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rowStride: Int,
                             _ w: UnsafePointer<Float>, _ bias: Float, _ c: TapColumns, stride: Int) {
    let r0 = x, r1 = x + rowStride, r2 = x + 2 * rowStride
    // Edge columns: only the taps inside the input.
    var ox = 0
    while ox < c.output {
        if ox == c.inner, c.innerEnd > c.inner { ox = c.innerEnd; continue }
        var acc = bias
        for k in 0..<3 where c.lo[k] <= ox && ox < c.hi[k] {
            let i = ox * stride + c.off[k]
            acc += w[k] * r0[i] + w[3 + k] * r1[i] + w[6 + k] * r2[i]
        }
        row[ox] = acc
        ox += 1
    }
    let (w00, w01, w02, w10, w11, w12, w20, w21, w22) = (w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8])
    let a0 = r0 + c.off[0], a1 = r0 + c.off[1], a2 = r0 + c.off[2]
    let b0 = r1 + c.off[0], b1 = r1 + c.off[1], b2 = r1 + c.off[2]
    let d0 = r2 + c.off[0], d1 = r2 + c.off[1], d2 = r2 + c.off[2]
    if stride == 1 {
        // Four outputs per step; a ragged end recomputes the last four (each output is written, not accumulated).
        @inline(__always) func four(_ ox: Int) {
            @inline(__always) func v(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
                UnsafeRawPointer(p + ox).loadUnaligned(as: SIMD4<Float>.self)
            }
            var acc = SIMD4<Float>(repeating: bias)
            acc += w00 * v(a0) + w01 * v(a1) + w02 * v(a2)
            acc += w10 * v(b0) + w11 * v(b1) + w12 * v(b2)
            acc += w20 * v(d0) + w21 * v(d1) + w22 * v(d2)
            UnsafeMutableRawPointer(row + ox).storeBytes(of: acc, as: SIMD4<Float>.self)
        }
        let lo = c.inner, hi = c.innerEnd
        if hi - lo >= 4 {
            var ox = lo
            while ox + 4 <= hi { four(ox); ox += 4 }
            if ox < hi { four(hi - 4) }
        } else {
            for ox in lo..<hi {
                row[ox] = bias + w00 * a0[ox] + w01 * a1[ox] + w02 * a2[ox] + w10 * b0[ox] + w11 * b1[ox] + w12 * b2[ox]
                    + w20 * d0[ox] + w21 * d1[ox] + w22 * d2[ox]
            }
        }
    } else {
        for ox in c.inner..<c.innerEnd {
            let i = ox * stride
            row[ox] = bias + w00 * a0[i] + w01 * a1[i] + w02 * a2[i] + w10 * b0[i] + w11 * b1[i] + w12 * b2[i]
                + w20 * d0[i] + w21 * d1[i] + w22 * d2[i]
        }
    }
}

/// row[ox] += sum over kernel columns k of w[k] * x[ox*stride + off[k]], for the columns where that input exists.
@inline(__always)
private func depthwiseRow(_ row: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                          _ c: TapColumns, kw: Int, stride: Int) {
    for k in 0..<kw {
        let wv = w[k], src = x + c.off[k]
        let (a, b) = c.edges(k)
        for ox in a { row[ox] += wv * src[ox * stride] }
        for ox in b { row[ox] += wv * src[ox * stride] }
    }
    let lo = c.inner, hi = c.innerEnd
    if kw == 3 {
        let (w0, w1, w2) = (w[0], w[1], w[2])
        let s0 = x + c.off[0], s1 = x + c.off[1], s2 = x + c.off[2]
        if stride == 1 {
            for ox in lo..<hi { row[ox] += w0 * s0[ox] + w1 * s1[ox] + w2 * s2[ox] }
        } else {
            for ox in lo..<hi { let i = ox * stride; row[ox] += w0 * s0[i] + w1 * s1[i] + w2 * s2[i] }
        }
    } else {
        for k in 0..<kw {
            let wv = w[k], src = x + c.off[k]
            if stride == 1 {
                for ox in lo..<hi { row[ox] += wv * src[ox] }
            } else {
                for ox in lo..<hi { row[ox] += wv * src[ox * stride] }
            }
        }
    }
}
