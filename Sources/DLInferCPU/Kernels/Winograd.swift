import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// 3x3 stride-1 convolution by Winograd's minimal filtering F(4x4, 3x3) (Lavin & Gray): each 4x4 output tile of
/// each channel pair costs 36 multiplications instead of 144. Per image, in chunks of tiles:
///   V[ξ][c][t] = (Bᵀ d B)[ξ]   the 6x6 input patch d of tile t in channel c, transformed (zeros outside the input)
///   M[ξ]       = U[ξ] · V[ξ]   36 GEMMs, U[ξ] = (G g Gᵀ)[ξ] the weights transformed and packed once at load
///   y tile     = Aᵀ M A        4x4 outputs per tile and channel, then bias and activation
/// The transforms' coefficients (0, ±1, ±2, ±4, ±5, 1/4, 1/6, 1/12, 1/24) keep float32 rounding within a few ulps of
/// the sum's magnitude per channel.
struct WinogradWeights {
    /// U[ξ], M x C each, packed as the GEMM's left operand.
    let packed: [PackedMatrix]
    let m: Int, c: Int

    /// Transforms W [M, C, 3, 3]: U[ξ][m][c] = (G g Gᵀ)[ξ] with g = W[m, c].
    init(_ w: UnsafePointer<Float>, m: Int, c: Int) {
        self.m = m; self.c = c
        let g: [[Float]] = [[1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
                            [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1]]
        let u = allocateFloats(36 * m * c)
        defer { free(u) }
        for mc in 0..<(m * c) {
            let k = w + mc * 9
            // t = G g (6x3), then U = t Gᵀ (6x6), in double: the weights are transformed once.
            var t = [Double](repeating: 0, count: 18)
            for i in 0..<6 { for j in 0..<3 { t[i * 3 + j] = (0..<3).reduce(0.0) { $0 + Double(g[i][$1]) * Double(k[$1 * 3 + j]) } } }
            for i in 0..<6 { for j in 0..<6 {
                u[(i * 6 + j) * m * c + mc] = Float((0..<3).reduce(0.0) { $0 + t[i * 3 + $1] * Double(g[j][$1]) })
            } }
        }
        packed = (0..<36).map { PackedMatrix(.left, rows: m, cols: c, u + $0 * m * c, ld: c, transposed: false) }
    }
}

/// Whether Conv attributes and constant weights suit F(4x4, 3x3): a 3x3 kernel, stride and dilation 1, one group,
/// and at least 64 channels on both sides (fewer: the transforms cost more than the products save).
func winogradApplies(_ a: Conv, weights: [Int]) -> Bool {
    weights.count == 4 && weights[2] == 3 && weights[3] == 3 && a.group == 1 && weights[0] >= 64 && weights[1] >= 64
        && (a.strides ?? [1, 1]).allSatisfy { $0 == 1 } && (a.dilations ?? [1, 1]).allSatisfy { $0 == 1 }
}

/// Whether an output this large has the 16 tiles or more at which F(4x4, 3x3) beat im2col + GEMM on every
/// channel count from 64 to 512 (a 7x7 output, 4 tiles, runs twice as long as im2col; 14x14, 16 tiles, about half).
func winogradPays(outHeight: Int, outWidth: Int) -> Bool { ((outHeight + 3) / 4) * ((outWidth + 3) / 4) >= 16 }

/// Y = conv(X, W) + bias, activated, for NCHW X of one 3x3 stride-1 layer; `padTop`/`padLeft` from the resolved window.
func winogradConv(_ u: WinogradWeights, x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, padTop: Int,
                  padLeft: Int, outHeight: Int, outWidth: Int, bias: UnsafePointer<Float>?, activation: Activation?,
                  y: UnsafeMutablePointer<Float>) throws {
    let (c, m) = (u.c, u.m)
    let tilesH = (outHeight + 3) / 4, tilesW = (outWidth + 3) / 4, tiles = tilesH * tilesW
    // Tiles per chunk: the transformed input and the products of a chunk stay in L2 (128 Ki floats), with at least
    // 16 tiles so that the GEMMs keep some width.
    let chunk = Swift.max(1, Swift.min(tiles, Swift.max(64, (256 << 10) / (36 * (c + m)))))
    try Scratch.withFloats(36 * (c + m) * chunk) { scratch in
        for n in 0..<batch {
            let xn = x + n * c * height * width, yn = y + n * m * outHeight * outWidth
            for t0 in stride(from: 0, to: tiles, by: chunk) {
                let tc = Swift.min(chunk, tiles - t0)
                let v = scratch, prod = scratch + 36 * c * tc
                parallelFor(c, grain: Swift.max(1, 256 / Swift.max(1, tc))) { channels in
                    // Six transformed rows, with room for the left padding and for the last tiles' 32-float reads.
                    let rowLength = padLeft + width + 4 * tilesW + 40
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 6 * rowLength) { buffer in
                        let rows = buffer.baseAddress!
                        rows.initialize(repeating: 0, count: 6 * rowLength)
                        for ch in channels {
                            inputTransform(xn + ch * height * width, height: height, width: width, padTop: padTop,
                                           padLeft: padLeft, tilesW: tilesW, t0, tc, v + ch * tc, ld: c * tc, rows: rows,
                                           rowLength: rowLength)
                        }
                    }
                }
                parallelFor(36) { xis in
                    for xi in xis {
                        sgemm(m: m, n: tc, k: c, a: .packed(u.packed[xi]), b: .matrix(v + xi * c * tc, ld: tc, transposed: false),
                              c: prod + xi * m * tc, ldc: tc, maxThreads: 1)
                    }
                }
                parallelFor(m, grain: Swift.max(1, 256 / Swift.max(1, tc))) { channels in
                    withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 76) { tmp in
                        for o in channels {
                            outputTransform(prod + o * tc, ld: m * tc, tilesW: tilesW, t0, tc, yn + o * outHeight * outWidth,
                                            height: outHeight, width: outWidth, bias: bias?[o] ?? 0, activation: activation,
                                            tmp.baseAddress!)
                        }
                    }
                }
            }
        }
    }
}

typealias Lanes = SIMD8<Float>

/// Bᵀ applied to six vectors (rows of a patch, or its columns): the combination both input-transform passes share.
@inline(__always)
private func bt(_ r: UnsafePointer<Lanes>, _ step: Int, _ out: UnsafeMutablePointer<Lanes>, _ outStep: Int) {
    let r0 = r[0], r1 = r[step], r2 = r[2 * step], r3 = r[3 * step], r4 = r[4 * step], r5 = r[5 * step]
    out[0] = 4 * r0 - 5 * r2 + r4
    out[outStep] = r4 + r3 - 4 * (r1 + r2)
    out[2 * outStep] = r4 - r3 + 4 * (r1 - r2)
    out[3 * outStep] = r4 - r2 + 2 * (r3 - r1)
    out[4 * outStep] = r4 - r2 - 2 * (r3 - r1)
    out[5 * outStep] = 4 * r1 - 5 * r3 + r5
}

/// Aᵀ applied to six vectors: four.
@inline(__always)
private func at(_ s: UnsafePointer<Lanes>, _ step: Int, _ out: UnsafeMutablePointer<Lanes>, _ outStep: Int) {
    let s0 = s[0], s1 = s[step], s2 = s[2 * step], s3 = s[3 * step], s4 = s[4 * step], s5 = s[5 * step]
    out[0] = s0 + s1 + s2 + s3 + s4
    out[outStep] = s1 - s2 + 2 * (s3 - s4)
    out[2 * outStep] = s1 + s2 + 4 * (s3 + s4)
    out[3 * outStep] = s1 - s2 + 8 * (s3 - s4) + s5
}

/// Where the tiles of a group of eight (one per lane) start in a plane, and whether all of them lie whole inside it.
private struct TileGroup {
    var offset = SIMD8<Int32>(repeating: 0), top = SIMD8<Int32>(repeating: 0), left = SIMD8<Int32>(repeating: 0)
    var count = 0, inside = true

    /// Tiles `t..<min(t + 8, end)`; a tile's rows start at `tileRow * 4 - shiftY` (columns likewise).
    init(_ t: Int, _ end: Int, tilesW: Int, shiftY: Int, shiftX: Int, span: Int, height: Int, width: Int) {
        count = Swift.min(8, end - t)
        for k in 0..<count {
            let tile = t + k
            let y = tile / tilesW * 4 - shiftY, x = tile % tilesW * 4 - shiftX
            top[k] = Int32(y); left[k] = Int32(x); offset[k] = Int32(y * width + x)
            inside = inside && y >= 0 && x >= 0 && y + span <= height && x + span <= width
        }
    }
}

/// V[ξ][t] = (Bᵀ d B)[ξ] for tiles t0..<t0+tc of one channel; ξ-planes are `ld` apart. Tile row by tile row: Bᵀ
/// down the six input rows at once over the whole width (contiguous, so it vectorises), then along each row for
/// eight tiles at a time (a lane each, their every fourth element).
private func inputTransform(_ x: UnsafePointer<Float>, height: Int, width: Int, padTop: Int, padLeft: Int, tilesW: Int,
                            _ t0: Int, _ tc: Int, _ v: UnsafeMutablePointer<Float>, ld: Int, rows: UnsafeMutablePointer<Float>,
                            rowLength: Int) {
    var t = t0
    while t < t0 + tc {
        let th = t / tilesW, tw0 = t % tilesW, tw1 = Swift.min(tilesW, tw0 + (t0 + tc - t))
        // q_k = Σ_i Bᵀ[k][i] x[top + i], written at offset padLeft of row k (zeros around it).
        let top = th * 4 - padTop
        @inline(__always) func input(_ i: Int) -> UnsafePointer<Float>? {
            top + i >= 0 && top + i < height ? x + (top + i) * width : nil
        }
        let r = (0..<6).map { input($0) }
        for k in 0..<6 {
            let q = rows + k * rowLength + padLeft
            q.update(repeating: 0, count: width)
            @inline(__always) func add(_ i: Int, _ f: Float) {
                guard let src = r[i] else { return }
                for xx in 0..<width { q[xx] += f * src[xx] }
            }
            switch k {
            case 0: add(0, 4); add(2, -5); add(4, 1)
            case 1: add(1, -4); add(2, -4); add(3, 1); add(4, 1)
            case 2: add(1, 4); add(2, -4); add(3, -1); add(4, 1)
            case 3: add(1, -2); add(2, -1); add(3, 2); add(4, 1)
            case 4: add(1, 2); add(2, -1); add(3, -2); add(4, 1)
            default: add(1, 4); add(3, -5); add(5, 1)
            }
        }
        // Along each row: tile tw reads q_k[4 tw + j], j < 6 (offset padLeft already applied).
        var tw = tw0
        while tw < tw1 {
            let n = Swift.min(8, tw1 - tw)
            let o = v + (t - t0 + tw - tw0)
            for k in 0..<6 {
                let q = UnsafeRawPointer(rows + k * rowLength + 4 * tw)
                @inline(__always) func every4th(_ j: Int) -> Lanes {
                    q.loadUnaligned(fromByteOffset: 4 * j, as: SIMD32<Float>.self).evenHalf.evenHalf
                }
                let s0 = every4th(0), s1 = every4th(1), s2 = every4th(2), s3 = every4th(3), s4 = every4th(4), s5 = every4th(5)
                let out = (4 * s0 - 5 * s2 + s4, s4 + s3 - 4 * (s1 + s2), s4 - s3 + 4 * (s1 - s2), s4 - s2 + 2 * (s3 - s1),
                           s4 - s2 - 2 * (s3 - s1), 4 * s1 - 5 * s3 + s5)
                @inline(__always) func store(_ l: Int, _ value: Lanes) {
                    let dst = o + (k * 6 + l) * ld
                    if n == 8 { UnsafeMutableRawPointer(dst).storeBytes(of: value, as: Lanes.self) } else {
                        for e in 0..<n { dst[e] = value[e] }
                    }
                }
                store(0, out.0); store(1, out.1); store(2, out.2); store(3, out.3); store(4, out.4); store(5, out.5)
            }
            tw += 8
        }
        t += tw1 - tw0
    }
}

/// y tile = Aᵀ M A for tiles t0..<t0+tc of one output channel (ξ-planes of M `ld` apart), eight tiles at a time,
/// plus bias, activated, clipped at the output's edges.
private func outputTransform(_ prod: UnsafePointer<Float>, ld: Int, tilesW: Int, _ t0: Int, _ tc: Int,
                             _ y: UnsafeMutablePointer<Float>, height: Int, width: Int, bias: Float, activation: Activation?,
                             _ tmp: UnsafeMutablePointer<Lanes>) {
    let s = tmp, a = tmp + 36, r = tmp + 60
    var t = 0
    while t < tc {
        let g = TileGroup(t0 + t, t0 + tc, tilesW: tilesW, shiftY: 0, shiftX: 0, span: 4, height: height, width: width)
        for xi in 0..<36 {
            let p = prod + xi * ld + t
            if g.count == 8 { s[xi] = UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) } else {
                var lanes = Lanes.zero
                for k in 0..<g.count { lanes[k] = p[k] }
                s[xi] = lanes
            }
        }
        // Aᵀ M (down each column: 4 rows of 6), then (Aᵀ M) A (along each row: 4 x 4).
        for j in 0..<6 { at(s + j, 6, a + j, 6) }
        for i in 0..<4 { at(a + i * 6, 1, r + i * 4, 1) }
        let b = Lanes(repeating: bias)
        for e in 0..<16 { r[e] += b }
        for k in 0..<g.count {
            let top = Int(g.top[k]), left = Int(g.left[k])
            let n = Swift.min(4, width - left)
            for i in 0..<4 where top + i < height {
                let p = y + (top + i) * width + left
                for j in 0..<n { p[j] = r[i * 4 + j][k] }
                if activation != nil { applyEpilogue(p, count: n, bias: 0, activation: activation) }
            }
        }
        t += 8
    }
}
