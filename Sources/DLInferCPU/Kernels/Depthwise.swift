import DLInferCore

/// Direct 2-D convolution where every group has one input channel (depthwise, any channel multiplier). Each output
/// row starts as the bias, then gets one multiply-add pass per kernel tap over the run of output pixels whose input
/// lies inside X (precomputed per tap column), so the inner loop is a plain vectorisable axpy.
func depthwiseConv2D(_ g: TapGrid, batch: Int, channels: Int, multiplier: Int, x: UnsafePointer<Float>,
                     w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, activation: Activation?,
                     y: UnsafeMutablePointer<Float>) {
    let (ih, iw) = (g.target[0], g.target[1]), (oh, ow) = (g.grid[0], g.grid[1])
    let (kh, kw) = (g.kernel[0], g.kernel[1]), (sh, sw) = (g.strides[0], g.strides[1])
    let (dh, dw) = (g.dilations[0], g.dilations[1]), (ph, pw) = (g.padBegin[0], g.padBegin[1])
    // Per tap column: output columns lo..<hi read input column ox*sw + off.
    var lo = [Int](), hi = [Int](), off = [Int]()
    for kx in 0..<kw {
        let o = kx * dw - pw
        var l = 0, h = ow
        if o < 0 { l = Swift.min(ow, (-o + sw - 1) / sw) }
        if (h - 1) * sw + o >= iw { h = iw - 1 - o >= 0 ? Swift.min(ow, (iw - 1 - o) / sw + 1) : 0 }
        lo.append(l); hi.append(Swift.max(h, l)); off.append(o)
    }
    let m = channels * multiplier
    lo.withUnsafeBufferPointer { lo in hi.withUnsafeBufferPointer { hi in off.withUnsafeBufferPointer { off in
        parallelFor(batch * m) { range in
            for plane in range {
                let n = plane / m, oc = plane % m
                let xp = x + (n * channels + oc / multiplier) * ih * iw
                let wp = w + oc * kh * kw
                let yp = y + plane * oh * ow
                let b = bias?[oc] ?? 0
                for oy in 0..<oh {
                    let row = yp + oy * ow
                    row.update(repeating: b, count: ow)
                    for ky in 0..<kh {
                        let iy = oy * sh - ph + ky * dh
                        if iy < 0 || iy >= ih { continue }
                        let xr = xp + iy * iw
                        for kx in 0..<kw {
                            let wv = wp[ky * kw + kx]
                            let o = off[kx]
                            if sw == 1 {
                                let src = xr + o
                                for ox in lo[kx]..<hi[kx] { row[ox] += wv * src[ox] }
                            } else {
                                for ox in lo[kx]..<hi[kx] { row[ox] += wv * xr[ox * sw + o] }
                            }
                        }
                    }
                    if activation != nil { applyEpilogue(row, count: ow, bias: 0, activation: activation) }
                }
            }
        }
    } } }
}
