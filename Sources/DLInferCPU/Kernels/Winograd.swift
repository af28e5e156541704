import CDLInferKernels
import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// 3x3 stride-1 convolution by Winograd's minimal filtering F(4x4, 3x3) (Lavin & Gray): each 4x4 output tile of
/// each channel pair costs 36 multiplications instead of 144. Per image, in chunks of tiles:
///   V[ξ][c][t] = (Bᵀ d B)[ξ]   the 6x6 input patch d of tile t in channel c, transformed (zeros outside the input)
///   M[ξ]       = U[ξ] · V[ξ]   36 GEMMs, U[ξ] = (G g Gᵀ)[ξ] the weights transformed and packed once at load
///                              (for few tiles M[ξ]ᵀ = V[ξ]ᵀ · U[ξ]ᵀ: `winogradTransposes`)
///   y tile     = Aᵀ M A        4x4 outputs per tile and channel, then bias and activation
/// The transforms' coefficients (0, ±1, ±2, ±4, ±5, 1/4, 1/6, 1/12, 1/24) keep float32 rounding within a few ulps of
/// the sum's magnitude per channel.
struct WinogradWeights {
    /// U[ξ], M x C each, packed as the GEMM's left operand; or, when `transposed`, U[ξ]ᵀ packed as its right operand.
    let packed: [PackedMatrix]
    let m: Int, c: Int
    /// Whether the products are V[ξ]ᵀ U[ξ]ᵀ (the tiles as rows, `winogradTransposes`) rather than U[ξ] V[ξ].
    let transposed: Bool

    /// Transforms W [M, C, 3, 3]: U[ξ][m][c] = (G g Gᵀ)[ξ] with g = W[m, c]. One row of ξ (six matrices) at a time
    /// is transformed and packed, so that the unpacked transform never holds more than 6 M C floats: all 36 at once
    /// raised googlenet's peak memory above onnxruntime's.
    init(_ w: UnsafePointer<Float>, m: Int, c: Int, transposed: Bool) {
        self.m = m; self.c = c; self.transposed = transposed
        let g: [[Double]] = [[1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
                             [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1]]
        let u = allocateFloats(6 * m * c)
        defer { free(u) }
        var packed: [PackedMatrix] = []
        for i in 0..<6 {
            for mc in 0..<(m * c) {
                let k = w + mc * 9
                // Row i of t = G g (6x3), then row i of U = t Gᵀ (6x6), in double: the weights are transformed once.
                func tap(_ j: Int) -> Double {
                    g[i][0] * Double(k[j]) + g[i][1] * Double(k[3 + j]) + g[i][2] * Double(k[6 + j])
                }
                let t0 = tap(0), t1 = tap(1), t2 = tap(2)
                for j in 0..<6 { u[j * m * c + mc] = Float(t0 * g[j][0] + t1 * g[j][1] + t2 * g[j][2]) }
            }
            packed += (0..<6).map {
                transposed ? PackedMatrix(.right, rows: c, cols: m, u + $0 * m * c, ld: c, transposed: true)
                    : PackedMatrix(.left, rows: m, cols: c, u + $0 * m * c, ld: c, transposed: false)
            }
        }
        self.packed = packed
    }
}

/// Whether Conv attributes and constant weights suit F(4x4, 3x3): a 3x3 kernel, stride and dilation 1, one group,
/// at least 32 input and 16 output channels. Measured per layer against im2col/direct convolution and the pixel-rows
/// path at 1 thread (`benchmarks/conv_layers.py`). On Zen 4, F(4x4, 3x3) was faster wherever its tiles paid (below)
/// from 8 -> 32 channels at 64x64 (0.227 -> 0.205 ms) up. On a Sapphire Rapids VM its transforms cost more than the
/// products they save below 32 input channels: 8 -> 32 at 64x64 took 0.25-0.47 ms against 0.16, 16 -> 32 at 16x64
/// (CRNN) 0.092 against 0.077, 16 -> 16 at 56x56 0.17-0.22 against 0.14-0.24; from 32 channels it won (32 -> 32 at
/// 16x64: 0.132 against 0.151; 32 -> 64 at 8x32: 0.066 against 0.085).
func winogradApplies(_ a: Conv, weights: [Int]) -> Bool {
    weights.count == 4 && weights[2] == 3 && weights[3] == 3 && a.group == 1 && weights[0] >= 16 && weights[1] >= 32
        && (a.strides ?? [1, 1]).allSatisfy { $0 == 1 } && (a.dilations ?? [1, 1]).allSatisfy { $0 == 1 }
}

/// Whether an output this large has the tiles at which F(4x4, 3x3) beat the other paths for this many output
/// channels: 8 from 64 channels (at 14x14, 32 -> 128 channels: 0.168 -> 0.117 ms; 64 -> 256 at 13x13: 0.584 ->
/// 0.317; 8 tiles, CRNN's 64 -> 64 at 4x32: 0.109 -> 0.082; 256 -> 256 at 8x16: 1.538 -> 0.888), 25 below
/// (128 -> 32 at 14x14, 16 tiles: 0.172 -> 0.193 ms; 256 -> 32 at 20x20, 25 tiles: 0.635 -> 0.383). A 7x7 output, 4
/// tiles, runs 1.3 to 1.8 times as long as the other paths.
func winogradPays(_ g: TapGrid, outChannels: Int) -> Bool {
    ((g.grid[0] + 3) / 4) * ((g.grid[1] + 3) / 4) >= (outChannels >= 64 ? 8 : 25)
}

/// Whether a layer's products take its tiles as rows (Vᵀ Uᵀ, tiles x channels) rather than as columns (U V, channels
/// x tiles): the micro-kernel's vectors run along the columns, half a panel wide (16 lanes with AVX-512, 8 with
/// AVX2), so a few tiles as columns leave lanes empty where the output channels would fill them. Measured on
/// crnn_ctc's 64 -> 64 channels at 4x32 (8 tiles): the micro-kernel's multiply-adds halve. Only for a layer whose
/// tiles form one chunk (fewer than 64); with more, both orientations fill their lanes alike.
func winogradTransposes(tiles: Int, outChannels m: Int, kernel: SGEMMKernel = .preferred) -> Bool {
    let lanes = kernel.nr / 2
    func vectors(_ n: Int) -> Int { (n + lanes - 1) / lanes }
    return tiles < 64 && tiles * vectors(m) < m * vectors(tiles)
}

/// Y = act(conv(X, W) + bias + residual), for NCHW X of one 3x3 stride-1 layer (the residual laid out as Y, or nil);
/// `padTop`/`padLeft` from the resolved window.
func winogradConv(_ u: WinogradWeights, x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, padTop: Int,
                  padLeft: Int, outHeight: Int, outWidth: Int, bias: UnsafePointer<Float>?, activation: Activation?,
                  y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?) throws {
    let (c, m) = (u.c, u.m)
    let tilesH = (outHeight + 3) / 4, tilesW = (outWidth + 3) / 4, tiles = tilesH * tilesW
    // Tiles per chunk: the transformed input and the products of a chunk stay in L2 (128 Ki floats), with at least
    // 64 tiles so that the GEMMs keep some width.
    let chunk = Swift.max(1, Swift.min(tiles, Swift.max(64, (256 << 10) / (36 * (c + m)))))
    // Threads take whole chunks (transforms and products) where there are at least two per thread of 32 tiles or
    // more: one region per layer instead of three barriers per chunk. Such chunks are cut at the micro-kernel's
    // panels, the same number of panels each (give or take one), so that none is left with a sliver of a panel.
    // Else every stage of a chunk is shared.
    let kernel = SGEMMKernel.preferred, threads = Threads.count, nr = kernel.nr, panels = (tiles + nr - 1) / nr
    let perThread = threads > 1 && tiles >= 64 * threads
    let chunks = perThread ? Swift.max(2 * threads, (tiles + chunk - 1) / chunk) : (tiles + chunk - 1) / chunk
    func start(_ i: Int) -> Int { perThread ? Swift.min(tiles, panels * i / chunks * nr) : Swift.min(tiles, i * chunk) }
    let widest = perThread ? (panels + chunks - 1) / chunks * nr : chunk
    let clamp = activation.flatMap(clampBounds), rest = clamp == nil ? activation : nil
    // Chunk i of image n, with its stages shared by the threads or not.
    func run(_ n: Int, _ i: Int, _ scratch: UnsafeMutablePointer<Float>, shared: Bool) {
        let t0 = start(i), tc = start(i + 1) - t0
        let xn = x + n * c * height * width, yn = y + n * m * outHeight * outWidth
        let vs = planeStride(c, tc), ps = planeStride(m, tc), v = scratch, prod = scratch + 36 * vs
        var input = dl_winograd_input_args(x: xn, v: v, height: Int64(height), width: Int64(width),
                                           pad_top: Int64(padTop), pad_left: Int64(padLeft),
                                           tiles_w: Int64(tilesW), t0: Int64(t0), tc: Int64(tc), ld: Int64(vs))
        let rowScratch = Int(dl_winograd_input_scratch(&input))
        stage(c, grain: Swift.max(1, 256 / Swift.max(1, tc)), shared: shared) { channels in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rowScratch) { rows in
                var g = input
                kernel.winogradInput(&g, Int64(channels.lowerBound), Int64(channels.upperBound), rows.baseAddress!)
            }
        }
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: u.transposed ? 0 : c) { rows in
            // Where each of V[ξ]'s rows starts, for the micro-kernel reading it in place.
            for p in rows.indices { rows[p] = Int64(p * tc) }
            stage(36, grain: 1, shared: shared) { xis in
                for xi in xis {
                    let vxi = v + xi * vs, out = prod + xi * ps
                    if u.transposed {
                        sgemm(m: tc, n: m, k: c, a: .matrix(vxi, ld: tc, transposed: true), b: .packed(u.packed[xi]),
                              c: out, ldc: m, maxThreads: 1)
                    } else {
                        winogradProduct(u.packed[xi], vxi, rows: rows.baseAddress!, c: c, m: m, tc: tc, into: out)
                    }
                }
            }
        }
        let output = dl_winograd_output_args(m: prod, y: yn, bias: bias, residual: residual.map { $0 + (yn - y) },
                                             height: Int64(outHeight), width: Int64(outWidth),
                                             tiles_w: Int64(tilesW), t0: Int64(t0), tc: Int64(tc), ld: Int64(ps),
                                             ldt: u.transposed ? Int64(m) : 0,
                                             clamp: clamp == nil ? 0 : 1, lo: clamp?.lo ?? 0, hi: clamp?.hi ?? 0)
        stage(m, grain: Swift.max(1, 256 / Swift.max(1, tc)), shared: shared) { channels in
            var g = output
            kernel.winogradOutput(&g, Int64(channels.lowerBound), Int64(channels.upperBound))
        }
    }
    let scratchFloats = 36 * (planeStride(c, widest) + planeStride(m, widest))
    if perThread {
        try parallelJobs(batch * chunks) { j in
            try Scratch.withFloats(scratchFloats) { run(j / chunks, j % chunks, $0, shared: false) }
        }
    } else {
        try Scratch.withFloats(scratchFloats) { scratch in
            for n in 0..<batch {
                for i in 0..<chunks { run(n, i, scratch, shared: true) }
            }
        }
    }
    if let rest {
        let plane = outHeight * outWidth
        parallelFor(batch * m, grain: Swift.max(1, 4096 / Swift.max(1, plane))) { planes in
            applyEpilogue(y + planes.lowerBound * plane, count: planes.count * plane, bias: 0, activation: rest)
        }
    }
}

/// out[m x tc] = U[ξ] · V[ξ], with V[ξ] (c x tc) read in place by the micro-kernel, row p at v + rows[p]: packed
/// for `sgemm` first, V took a tenth of densenet121's 128 -> 32 layers at 56x56 to copy. The micro-kernel reads up to
/// a panel's width past the last row, which lands in the next matrix (or, for the last, in the products after it).
private func winogradProduct(_ u: PackedMatrix, _ v: UnsafePointer<Float>, rows: UnsafePointer<Int64>, c: Int, m: Int,
                             tc: Int, into out: UnsafeMutablePointer<Float>) {
    let kern = u.kernel, mr = kern.mr, nr = kern.nr
    var pc = 0
    while pc < c {
        let kcur = Swift.min(kern.kc, c - pc), a = u.block(k: pc, depth: kcur, from: 0)
        // Each panel of tiles stays in L1 while the weights' panels pass it.
        for jr in stride(from: 0, to: tc, by: nr) {
            for ir in stride(from: 0, to: m, by: mr) {
                kern.indirect(kcur, a + ir * kcur, v + jr, rows + pc, out + ir * tc + jr, tc, Swift.min(mr, m - ir),
                              Swift.min(nr, tc - jr), beta: pc == 0 ? 0 : 1, epilogue: nil)
            }
        }
        pc += kcur
    }
}

/// Floats from one ξ's matrix of `rows` x `tiles` (V[ξ] or M[ξ]) to the next: one cache line more than the matrix, so
/// that the 36 matrices do not start at multiples of 4 KiB. At 128 channels and 64 tiles V[ξ] is 32 KiB, and every
/// store of a tile's 36 transformed values fell in one L1 set: densenet121's 128 -> 32 layers at 56x56 spent half
/// their time in the input transform.
private func planeStride(_ rows: Int, _ tiles: Int) -> Int { rows * tiles + 16 }

/// A stage of `winogradConv` over 0 ..< n: shared by the threads, or run here when the caller's thread owns the chunk.
private func stage(_ n: Int, grain: Int, shared: Bool, _ body: (Range<Int>) -> Void) {
    if shared { parallelFor(n, grain: grain, body) } else { body(0..<n) }
}
