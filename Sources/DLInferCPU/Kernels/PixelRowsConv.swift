import DLInferCore

/// Convolution with the output pixels as the GEMM's rows and the output channels as its columns:
/// Yᵀ [pixels x Cout] = im2col(X)ᵀ · Wᵀ, then transposed into Y. The micro-kernel's vectors run along the columns,
/// so on a small output plane (resnet's and mobilenet's 7x7 stages) they are filled by channels (a multiple of the
/// vector width) instead of by a row of pixels that ends part-way through a vector: 49 pixels are computed as 64
/// lanes the usual way, and the dropped columns of the direct path's padded rows add more.
func pixelRowsConv(_ g: TapGrid, _ wt: PackedMatrix, x: UnsafePointer<Float>, batch: Int, channels: Int,
                   outChannels m: Int, bias: UnsafePointer<Float>?, activation: Activation?,
                   y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?) throws {
    let k = wt.rows, plane = g.gridVolume, inPlane = g.targetVolume, taps = g.kernelVolume
    let inPlace = g.readsInPlace
    let columns = inPlace ? 0 : k * plane
    // Relu and Clip are applied as Yᵀ is transposed, unless a residual must be added before them.
    let clamp = residual == nil ? activation.flatMap(clampBounds) : nil
    let packedFloats = PackedMatrix.floats(.left, rows: plane, cols: k, kernel: wt.kernel)
    try Scratch.withFloats(columns + plane * m + packedFloats) { scratch in
        let col = scratch, yt = scratch + columns, packed = yt + plane * m
        for n in 0..<batch {
            let xn = x + n * channels * inPlane
            if !inPlace {
                parallelFor(channels, grain: Swift.max(1, 16384 / Swift.max(1, taps * plane))) { r in
                    im2col(g, channels: r.count, x: xn + r.lowerBound * inPlane, 0, plane,
                           col: col + r.lowerBound * taps * plane, ld: plane)
                }
            }
            // Xᵀ packed once, by all threads, rather than by each thread for its columns of Yᵀ (a thread of two
            // packed all of 960 -> 320 channels' Xᵀ at 7x7, about a third of its time).
            let xt = PackedMatrix(.left, rows: plane, cols: k, inPlace ? xn : UnsafePointer(col), ld: plane,
                                  transposed: true, kernel: wt.kernel, into: packed, grain: 8192)
            sgemm(m: plane, n: m, k: k, a: .packed(xt), b: .packed(wt), c: yt, ldc: m)
            let yn = y + n * m * plane
            parallelFor(m, grain: Swift.max(1, 16384 / Swift.max(1, plane))) { r in
                transposeOut(yt, ld: m, pixels: plane, channels: r, into: yn, bias: bias, clamp: clamp)
                guard clamp == nil, residual != nil || activation != nil else { return }
                // The residual (laid out as Y) and the activation on each plane just written, while it is in L1.
                for c in r {
                    let dst = yn + c * plane
                    applyEpilogue(dst, count: plane, bias: 0, activation: activation,
                                  residual: residual.map { $0 + (dst - y) })
                }
            }
        }
    }
}

/// Whether `pixelRowsConv` beats the other GEMM paths on a layer of this geometry: when those would compute at
/// least 20 % more vector lanes than there are outputs. They run the pixels of a row (the direct path: with its
/// padded row's extra columns) along panels of 32 columns, whose last one takes one vector of 16 when 16 or fewer
/// remain, else two. Layers that need im2col also need 128 output channels or more to pay for it: 128 -> 32
/// channels 3x3 at 7x7 took 0.100 ms this way, 2.4 times onnxruntime's time.
func pixelRowsPays(_ g: TapGrid, channelsPerGroup cg: Int, outChannels m: Int) -> Bool {
    guard g.rank == 2, g.readsInPlace || m >= 128 else { return false }
    let plane = g.gridVolume
    let flat = directConvGeometry(g, channelsPerGroup: cg, outChannelsPerGroup: m)?.flatOutputs ?? plane
    let rest = flat % 32, lanes = flat / 32 * 32 + (rest == 0 ? 0 : rest <= 16 ? 16 : 32)
    return plane > 0 && lanes * 5 >= plane * 6
}

/// Channels `channels` of Yᵀ (pixels x ld) into their planes of Y, plus bias and clamped to `clamp` (NaN stays NaN):
/// eight channels at a time, each pixel's eight values read as one vector (a row of Yᵀ) and stored to the eight planes.
private func transposeOut(_ yt: UnsafePointer<Float>, ld: Int, pixels: Int, channels: Range<Int>,
                          into y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?,
                          clamp: (lo: Float, hi: Float)?) {
    let lo = SIMD8<Float>(repeating: clamp?.lo ?? 0), hi = SIMD8<Float>(repeating: clamp?.hi ?? 0)
    var c = channels.lowerBound
    while c + 8 <= channels.upperBound {
        let dst = y + c * pixels
        let b = bias.map { UnsafeRawPointer($0 + c).loadUnaligned(as: SIMD8<Float>.self) } ?? .zero
        for p in 0..<pixels {
            var v = UnsafeRawPointer(yt + p * ld + c).loadUnaligned(as: SIMD8<Float>.self) + b
            if clamp != nil { v = v.replacing(with: lo, where: v .< lo).replacing(with: hi, where: v .> hi) }
            for l in 0..<8 { dst[l * pixels + p] = v[l] }
        }
        c += 8
    }
    for c in c..<channels.upperBound {
        let b = bias?[c] ?? 0
        for p in 0..<pixels {
            var v = yt[p * ld + c] + b
            if let clamp { v = v < clamp.lo ? clamp.lo : v > clamp.hi ? clamp.hi : v }
            y[c * pixels + p] = v
        }
    }
}
