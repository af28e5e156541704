import DLInferCore

/// Depthwise 3x3 convolution (dilation 1, stride 1 or 2 across, any stride down and padding) through a zero-padded
/// copy of each input plane: with the padding in memory every output is interior, so each output row is whole
/// vectors of 8 (the last one overlapping the one before: each output is written, not accumulated) with no edge
/// cases. Narrow planes (the 14x14 and 7x7 layers of mobile networks) would otherwise spend most of their time on
/// the edges; for wide ones the copy costs more than it saves (Conv picks by the output width).
func depthwise3x3Padded(_ g: TapGrid, batch: Int, channels: Int, multiplier: Int, x: UnsafePointer<Float>,
                        w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, activation: Activation?,
                        y: UnsafeMutablePointer<Float>) {
    let (ih, iw) = (g.target[0], g.target[1]), (oh, ow) = (g.grid[0], g.grid[1])
    let (sh, sw) = (g.strides[0], g.strides[1]), (ph, pw) = (g.padBegin[0], g.padBegin[1])
    // Padded rows the windows cover, and a row length that also holds the widest vector read past the last output.
    let rows = (oh - 1) * sh + 3, width = Swift.max((ow - 1) * sw + 3, sw * ow + 2) + 16
    let m = channels * multiplier
    parallelFor(batch * m, grain: Swift.max(1, (1 << 18) / Swift.max(1, oh * ow * 9))) { range in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * width) { scratch in
            let pad = scratch.baseAddress!
            pad.initialize(repeating: 0, count: rows * width)
            var filled = -1
            for plane in range {
                let n = plane / m, oc = plane % m, ic = n * channels + oc / multiplier
                if ic != filled {
                    // Input rows and columns inside the windows go to their padded places; the rest stays zero.
                    for r in 0..<rows {
                        let iy = r - ph
                        guard iy >= 0, iy < ih else { continue }
                        let src = x + ic * ih * iw + iy * iw, dst = pad + r * width
                        (dst + pw).update(from: src, count: Swift.min(iw, width - pw))
                    }
                    filled = ic
                }
                let k = w + oc * 9, b = bias?[oc] ?? 0
                let yp = y + plane * oh * ow
                for oy in 0..<oh {
                    let top = UnsafePointer(pad + oy * sh * width)
                    depthwise3x3PaddedRow(yp + oy * ow, ow, top, width, k, b, stride: sw)
                }
                if activation != nil { applyEpilogue(yp, count: oh * ow, bias: 0, activation: activation) }
            }
        }
    }
}

/// One output row from three padded input rows starting at `top`: outputs 8 at a time, or 4 at a time in rows of
/// 4 to 7, else one at a time.
@inline(__always)
private func depthwise3x3PaddedRow(_ out: UnsafeMutablePointer<Float>, _ count: Int, _ top: UnsafePointer<Float>,
                                   _ width: Int, _ w: UnsafePointer<Float>, _ bias: Float, stride: Int) {
    if count >= 8 { return paddedVectors(SIMD8<Float>.self, out, count, top, width, w, bias, stride: stride) }
    if count >= 4 { return paddedVectors(SIMD4<Float>.self, out, count, top, width, w, bias, stride: stride) }
    for o in 0..<count {
        var acc = bias
        for a in 0..<3 { for b in 0..<3 { acc += w[a * 3 + b] * top[a * width + o * stride + b] } }
        out[o] = acc
    }
}

/// A vector of outputs, and how a double-width load splits into its even and odd lanes.
private protocol PaddedVector: SIMD where Scalar == Float {
    associatedtype Wide: SIMD where Wide.Scalar == Float
    static func evens(_ v: Wide) -> Self
    static func odds(_ v: Wide) -> Self
}

extension SIMD8: PaddedVector where Scalar == Float {
    static func evens(_ v: SIMD16<Float>) -> Self { v.evenHalf }
    static func odds(_ v: SIMD16<Float>) -> Self { v.oddHalf }
}

extension SIMD4: PaddedVector where Scalar == Float {
    static func evens(_ v: SIMD8<Float>) -> Self { v.evenHalf }
    static func odds(_ v: SIMD8<Float>) -> Self { v.oddHalf }
}

/// The row in vectors of V (count >= V's lanes). At stride 2 the inputs of a vector of outputs are loaded as twice as
/// many contiguous values: their even lanes are the left taps and odd lanes the middle ones, and the even lanes of
/// the load two further on are the right ones.
@inline(__always)
private func paddedVectors<V: PaddedVector>(_: V.Type, _ out: UnsafeMutablePointer<Float>, _ count: Int,
                                            _ top: UnsafePointer<Float>, _ width: Int, _ w: UnsafePointer<Float>,
                                            _ bias: Float, stride: Int) {
    let lanes = V.scalarCount
    var o = 0
    while true {
        var acc = V(repeating: bias)
        for a in 0..<3 {
            let p = UnsafeRawPointer(top + a * width + o * stride)
            if stride == 1 {
                acc += w[a * 3] * p.loadUnaligned(as: V.self)
                acc += w[a * 3 + 1] * p.loadUnaligned(fromByteOffset: 4, as: V.self)
                acc += w[a * 3 + 2] * p.loadUnaligned(fromByteOffset: 8, as: V.self)
            } else {
                let near = p.loadUnaligned(as: V.Wide.self), far = p.loadUnaligned(fromByteOffset: 8, as: V.Wide.self)
                acc += w[a * 3] * V.evens(near)
                acc += w[a * 3 + 1] * V.odds(near)
                acc += w[a * 3 + 2] * V.evens(far)
            }
        }
        UnsafeMutableRawPointer(out + o).storeBytes(of: acc, as: V.self)
        if o + lanes == count { return }
        o = Swift.min(o + lanes, count - lanes)
    }
}
