import CDLInferKernels
import DLInferCore

/// Depthwise 3x3 convolution (dilation 1, stride 1 or 2 across, any stride down and padding) in the C kernel: planes
/// are copied with their zero padding into scratch, so every output is interior and whole rows are computed in
/// vectors with no edge cases, bias and a clamping activation (Relu, Clip) included.
func depthwise3x3Padded(_ g: TapGrid, batch: Int, channels: Int, multiplier: Int, x: UnsafePointer<Float>,
                        w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, activation: Activation?,
                        y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?) {
    let (ih, iw) = (g.target[0], g.target[1]), (oh, ow) = (g.grid[0], g.grid[1])
    // A residual is added after the kernel, while the planes are in cache, and the activation after it.
    let clamp = residual == nil ? activation.flatMap(clampBounds) : nil, rest = clamp == nil ? activation : nil
    let kernel = SGEMMKernel.preferred, m = channels * multiplier
    var args = dl_dwconv3x3_args(x: x, w: w, bias: bias, y: y, multiplier: Int64(multiplier), ih: Int64(ih),
                                 iw: Int64(iw), ph: Int64(g.padBegin[0]), pw: Int64(g.padBegin[1]),
                                 sh: Int64(g.strides[0]), sw: Int64(g.strides[1]), oh: Int64(oh), ow: Int64(ow),
                                 clamp: clamp == nil ? 0 : 1, lo: clamp?.lo ?? 0, hi: clamp?.hi ?? 0)
    let scratch = Int(dl_dwconv3x3_scratch(&args))
    // Ranges of at least 2^15 multiply-adds (a few microseconds): 960 channels at 7x7 are 4.2e5 in all.
    parallelFor(batch * m, grain: Swift.max(1, (1 << 15) / Swift.max(1, oh * ow * 9))) { range in
        withUnsafeTemporaryAllocation(byteCount: scratch * 4, alignment: 64) { raw in
            let buffer = raw.bindMemory(to: Float.self)
            var image = args
            var plane = range.lowerBound
            while plane < range.upperBound {
                // The range may span images: one call per image's part of it.
                let n = plane / m, end = Swift.min(range.upperBound, (n + 1) * m)
                image.x = x + n * channels * ih * iw
                image.y = y + n * m * oh * ow
                kernel.depthwise3x3(&image, planes: (plane - n * m)..<(end - n * m), scratch: buffer.baseAddress!)
                if rest != nil || residual != nil {
                    applyEpilogue(y + plane * oh * ow, count: (end - plane) * oh * ow, bias: 0, activation: rest,
                                  residual: residual.map { $0 + plane * oh * ow })
                }
                plane = end
            }
        }
    }
}
