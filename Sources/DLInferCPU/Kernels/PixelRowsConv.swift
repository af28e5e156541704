import CDLInferKernels
import DLInferCore

/// Convolution with the output pixels as the GEMM's rows and the output channels as its columns:
/// Yᵀ [pixels x Cout] = im2col(X)ᵀ · Wᵀ, then transposed into Y. The micro-kernel's vectors run along the columns,
/// so on a small output plane (resnet's and mobilenet's 7x7 stages) they are filled by channels (a multiple of the
/// vector width) instead of by a row of pixels that ends part-way through a vector: 49 pixels are computed as 64
/// lanes the usual way, and the dropped columns of the direct path's padded rows add more.
func pixelRowsConv(_ g: TapGrid, _ wt: PackedMatrix, x: UnsafePointer<Float>, batch: Int, channels: Int,
                   outChannels m: Int, bias: UnsafePointer<Float>?, activation: Activation?,
                   y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?) throws {
    let k = wt.rows, plane = g.gridVolume, inPlace = g.readsInPlace
    // Relu and Clip are applied as Yᵀ is transposed, unless a residual must be added before them.
    let clamp = residual == nil ? activation.flatMap(clampBounds) : nil
    let packedFloats = PackedMatrix.floats(.left, rows: plane, cols: k, kernel: wt.kernel)
    try Scratch.withFloats(plane * m + packedFloats) { scratch in
        let yt = scratch, packed = yt + plane * m
        for n in 0..<batch {
            let xn = x + n * channels * g.targetVolume
            // Xᵀ packed once, by all threads, rather than by each thread for its columns of Yᵀ (a thread of two
            // packed all of 960 -> 320 channels' Xᵀ at 7x7, about a third of its time).
            let xt = inPlace
                ? PackedMatrix(.left, rows: plane, cols: k, xn, ld: plane, transposed: true, kernel: wt.kernel,
                               into: packed, grain: 8192)
                : packTapColumns(g, channels: channels, x: xn, into: packed, kernel: wt.kernel)
            sgemm(m: plane, n: m, k: k, a: .packed(xt), b: .packed(wt), c: yt, ldc: m)
            let yn = y + n * m * plane
            let out = dl_transpose_out_args(yt: yt, y: yn, bias: bias, ld: Int64(m), pixels: Int64(plane),
                                            clamp: clamp == nil ? 0 : 1, lo: clamp?.lo ?? 0, hi: clamp?.hi ?? 0)
            parallelFor(m, grain: Swift.max(1, 16384 / Swift.max(1, plane))) { r in
                var args = out
                wt.kernel.transposeOut(&args, Int64(r.lowerBound), Int64(r.upperBound))
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

/// im2col(X)ᵀ (pixels x channels·taps) gathered straight into packed left panels for `sgemm`, instead of writing
/// the column matrix and packing it again. Each channel's plane is first copied into a plane with the padding around
/// it, so that a tap's pixels are whole rows of it, copied eight at a time with no bounds test, then a panel's
/// pixels at a time. Ten 256-channel 3x3 layers at 7x7 (AVX-512, one thread) spent a quarter of their time in the
/// two copies (`perf`: im2col's short runs 12.9 %, packing 8.3 %, zeroing 3.9 %), 15.9 % in this one.
private func packTapColumns(_ g: TapGrid, channels: Int, x: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>,
                            kernel: SGEMMKernel) -> PackedMatrix {
    let (ih, iw) = (g.target[0], g.target[1]), (oh, ow) = (g.grid[0], g.grid[1])
    let (kh, kw) = (g.kernel[0], g.kernel[1]), (sh, sw) = (g.strides[0], g.strides[1])
    let (dh, dw) = (g.dilations[0], g.dilations[1]), (ph, pw) = (g.padBegin[0], g.padBegin[1])
    // The padded plane: the rows and columns the taps reach, input pixel (iy, ix) at (iy + ph, ix + pw).
    let rows = (oh - 1) * sh + (kh - 1) * dh + 1, cols = (ow - 1) * sw + (kw - 1) * dw + 1
    let plane = oh * ow, taps = kh * kw, depth = channels * taps
    let w = kernel.mr, kc = kernel.kc, padded = (plane + w - 1) / w * w
    // A tap's pixels in order, `padded` of them (zeros past the plane) and room for a row's last 8-float store.
    let line = padded + 8
    parallelFor(channels, grain: Swift.max(1, 16384 / Swift.max(1, taps * plane))) { range in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * cols + line) { buffer in
            let pp = buffer.baseAddress!, pixels = pp + rows * cols
            // Rows outside the input stay zero, and so do the pixels past the plane; the rest is rewritten.
            pp.initialize(repeating: 0, count: rows * cols + line)
            for c in range {
                let src = x + c * ih * iw
                for r in stride(from: Swift.max(0, ph), to: Swift.min(rows, ih + ph), by: 1) {
                    let from = src + (r - ph) * iw, to = pp + r * cols
                    for j in 0..<cols {
                        let ix = j - pw
                        to[j] = ix >= 0 && ix < iw ? from[ix] : 0
                    }
                }
                for t in 0..<taps {
                    let tap = pp + (t / kw) * dh * cols + (t % kw) * dw
                    for oy in 0..<oh {
                        let row = tap + oy * sh * cols, out = pixels + oy * ow
                        if sw == 1 {
                            // Eight at a time; a row's last store runs into the next row's first pixels, which
                            // that row then writes, or past the plane, which is zeroed again below.
                            var ox = 0
                            repeat {
                                copy8(row + ox, out + ox)
                                ox += 8
                            } while ox < ow
                        } else {
                            for ox in 0..<ow { out[ox] = row[ox * sw] }
                        }
                    }
                    for p in plane..<padded { pixels[p] = 0 }
                    // Row c·taps + t of the packed operand: its k block's panels, `w` pixels each.
                    let kr = c * taps + t, k0 = kr / kc * kc, kcur = Swift.min(kc, depth - k0)
                    let d = dst + k0 * padded + (kr - k0) * w
                    for panel in 0..<padded / w {
                        let to = d + panel * w * kcur, from = pixels + panel * w
                        var i = 0
                        while i + 4 <= w {
                            let v = UnsafeRawPointer(from + i).loadUnaligned(as: SIMD4<Float>.self)
                            UnsafeMutableRawPointer(to + i).storeBytes(of: v, as: SIMD4<Float>.self)
                            i += 4
                        }
                        while i < w { to[i] = from[i]; i += 1 }
                    }
                }
            }
        }
    }
    return PackedMatrix(.left, rows: plane, cols: depth, kernel: kernel, packedAt: dst)
}

@inline(__always)
private func copy8(_ from: UnsafePointer<Float>, _ to: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(to).storeBytes(of: UnsafeRawPointer(from).loadUnaligned(as: SIMD8<Float>.self),
                                           as: SIMD8<Float>.self)
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
