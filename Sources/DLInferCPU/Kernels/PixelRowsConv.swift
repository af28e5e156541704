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
    try Scratch.withFloats(columns + plane * m) { scratch in
        let col = scratch, yt = scratch + columns
        for n in 0..<batch {
            let xn = x + n * channels * inPlane
            if !inPlace {
                parallelFor(channels, grain: Swift.max(1, 16384 / Swift.max(1, taps * plane))) { r in
                    im2col(g, channels: r.count, x: xn + r.lowerBound * inPlane, 0, plane,
                           col: col + r.lowerBound * taps * plane, ld: plane)
                }
            }
            sgemm(m: plane, n: m, k: k, a: .matrix(inPlace ? xn : UnsafePointer(col), ld: plane, transposed: true),
                  b: .packed(wt), c: yt, ldc: m, bias: bias.map { .perColumn($0) } ?? .none,
                  activation: residual == nil ? activation : nil)
            let yn = y + n * m * plane
            parallelFor(m, grain: Swift.max(1, 16384 / Swift.max(1, plane))) { r in
                for c in r {
                    let dst = yn + c * plane
                    for p in 0..<plane { dst[p] = yt[p * m + c] }
                    // The residual is laid out as Y, so it is added (then the activation) as each plane is written.
                    if let residual {
                        applyEpilogue(dst, count: plane, bias: 0, activation: activation, residual: residual + (dst - y))
                    }
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
