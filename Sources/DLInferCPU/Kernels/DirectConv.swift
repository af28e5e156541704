import CDLInferKernels
import DLInferCore

/// Convolution without im2col for 2-D layers. The input is copied once into zero-padded phase planes: for strides
/// (sh, sw), plane (c, a, b) holds the padded input's pixels at rows sh * i + a and columns sw * j + b, i < hq and
/// j < wq (stride 1: one plane per channel, the input with its padding made explicit). Output pixel (oh, ow), at flat
/// index q = oh * wq + ow, then reads tap (c, kh, kw) at q plus a fixed offset: in plane (c, kh * dh % sh,
/// kw * dw % sw), row kh * dh / sh and column kw * dw / sw on. Consecutive outputs read consecutive inputs, so the
/// micro-kernel takes B straight from the planes through one offset per tap (prepared once per plan), against the
/// weights packed at load. im2col copied every input value once per tap and the GEMM packed that copy again: for
/// layers with few output channels those copies cost as much as the multiply-adds. The wq - outWidth columns past
/// each output row are computed and dropped when a tile is copied out (written row by row, they are skipped).
struct DirectConvGeometry {
    let height: Int, width: Int, padTop: Int, padLeft: Int, strideH: Int, strideW: Int
    /// One phase plane's rows and columns.
    let planeHeight: Int, planeWidth: Int
    let outHeight: Int, outWidth: Int
    /// Per input channel of a group and tap, in weight order (c, kh, kw): where that tap reads, from the output's
    /// flat index, in the phase planes.
    let offsets: [Int64]

    /// A pointwise layer of stride 1 without padding: X itself is the one plane per channel, and Y the output tile.
    let inPlace: Bool

    /// nil unless the layer is 2-D and its padding is not negative.
    init?(_ g: TapGrid, channelsPerGroup cg: Int) {
        guard g.rank == 2, g.padBegin.allSatisfy({ $0 >= 0 }) else { return nil }
        let (kh, kw) = (g.kernel[0], g.kernel[1]), (dh, dw) = (g.dilations[0], g.dilations[1])
        height = g.target[0]; width = g.target[1]; padTop = g.padBegin[0]; padLeft = g.padBegin[1]
        strideH = g.strides[0]; strideW = g.strides[1]
        outHeight = g.grid[0]; outWidth = g.grid[1]
        planeHeight = outHeight + (kh - 1) * dh / strideH; planeWidth = outWidth + (kw - 1) * dw / strideW
        let plane = planeHeight * planeWidth
        var offsets = [Int64]()
        offsets.reserveCapacity(cg * kh * kw)
        for c in 0..<cg {
            for i in 0..<kh {
                for j in 0..<kw {
                    let phase = (c * strideH + i * dh % strideH) * strideW + j * dw % strideW
                    offsets.append(Int64(phase * plane + i * dh / strideH * planeWidth + j * dw / strideW))
                }
            }
        }
        self.offsets = offsets
        inPlace = g.readsInPlace
    }

    var plane: Int { planeHeight * planeWidth }
    /// Floats of one image's phase planes.
    func planes(channels: Int) -> Int { channels * strideH * strideW * plane }
    /// Floats past the last plane that full-width reads of the last tiles may touch (kept zero).
    var slack: Int { SGEMMKernel.preferred.nr + planeWidth }
    /// Flat outputs per channel, the dropped columns included.
    var flatOutputs: Int { outHeight * planeWidth }

    /// Whether the micro-kernel writes Y row by row (`convRows`) rather than tiles of flat outputs that are then
    /// copied into Y. The copy costs each output about what a few of its taps do, so it matters on layers of few
    /// taps, the stems above all: squeezenet's 3 -> 64 stem took 0.85 ms in the model through the tile and 0.60
    /// written straight, mobilenet_v2's 3 -> 32 0.54 and 0.40 (resnet18's 7x7 stem, 147 taps: 5 % less). From about
    /// 288 taps on it no longer paid (a 32 -> 32 stride-2 layer at 56x56: 5 % slower), and with more taps than one
    /// depth block holds it lost: the second block reads the first's sums back from Y's channel planes, and a
    /// 64 -> 32 layer at 112x112 (576 taps) went 2.51 -> 2.98 ms. Rows must also fill at least 3/4 of their panels'
    /// lanes (the flat tiles waste only the few columns past each row).
    func writesRows(nr: Int, kc: Int) -> Bool {
        let panels = (outWidth + nr - 1) / nr
        return offsets.count <= Swift.min(160, kc) && outWidth * 4 >= panels * nr * 3
    }

    /// Writes one image's `channels` phase planes into `dst` and zeroes the slack after them.
    func split(_ x: UnsafePointer<Float>, channels: Int, into dst: UnsafeMutablePointer<Float>) {
        let plane = self.plane, inPlane = height * width, (sh, sw) = (strideH, strideW)
        parallelFor(channels * sh * sw, grain: Swift.max(1, 16384 / Swift.max(plane, 1))) { range in
            for p in range {
                let c = p / (sh * sw), a = p / sw % sh, b = p % sw
                let s = x + c * inPlane, d = dst + p * plane
                // Plane column j reads input column sw * j + b - padLeft: those in 0..<width are j in lo..<hi.
                let lo = Swift.min(planeWidth, (Swift.max(0, padLeft - b) + sw - 1) / sw)
                let hi = Swift.max(lo, Swift.min(planeWidth, (width + padLeft - b + sw - 1) / sw))
                for i in 0..<planeHeight {
                    let row = d + i * planeWidth, r = sh * i + a - padTop
                    guard r >= 0, r < height, hi > lo else { row.update(repeating: 0, count: planeWidth); continue }
                    row.update(repeating: 0, count: lo)
                    let src = s + r * width + b - padLeft
                    if sw == 1 {
                        (row + lo).update(from: src + lo, count: hi - lo)
                    } else {
                        for j in lo..<hi { row[j] = src[j * sw] }
                    }
                    (row + hi).update(repeating: 0, count: planeWidth - hi)
                }
            }
        }
        (dst + planes(channels: channels)).update(repeating: 0, count: slack)
    }
}

/// Whether the depthwise kernel serves a layer of one input channel per group: depthwise layers, and a
/// single-channel image feeding fewer than 16 output channels (with more, the GEMM's tiles pay).
func depthwiseServes(groups: Int, channelsPerGroup cg: Int, outChannels m: Int) -> Bool {
    cg == 1 && (groups > 1 || m < 16)
}

/// The geometry of a layer that runs through `directConv` rather than im2col + GEMM or the depthwise kernel, else
/// nil: 2-D, and not a strided pointwise layer (its phase planes would copy the whole input to read a quarter of it).
/// A single input channel per group only where Y is written row by row (`writesRows`): through the tile and its copy
/// out, a single-channel image into 64 channels at 32x128 took 0.149 ms against im2col's 0.127, and row by row 0.069
/// against 0.099 (crnn's 1 -> 16 stem 0.017 against 0.032).
///
/// With micro-kernel rows of one cache line or less (AVX2's 16 floats, the generic kernel's), a pointwise layer of
/// 128 or more input channels and a group's weights of 8192 floats or more goes to the GEMM, which packs X: read in
/// place, each step of a depth block reads one line from another channel plane, as many streams as the block is
/// deep, and every panel of output channels streams X again. On Zen 3 (AVX2), 1 thread, against onnxruntime: 256 ->
/// 64 channels at 56x56 1.43 -> 1.06 times its time, 1024 -> 256 at 14x14 1.35 -> 1.13, 384 -> 96 at 14x14 1.42 ->
/// 1.07; with 96 input channels packing lost (1.14 -> 1.36). Minimum ms in place against packed, same machine: 128 ->
/// 16 at 55x55 0.192 / 0.232, 144 -> 24 at 56x56 0.287 / 0.316, 192 -> 32 at 28x28 0.131 / 0.143 (fewer weights:
/// packing X costs more than its few panels save), 256 -> 32 at 27x27 0.216 / 0.178, 384 -> 48 at 13x13 0.089 /
/// 0.082. AVX-512's rows are two lines, and on Zen 4 the in-place path was the faster one at 256 -> 128 channels,
/// 28x28 (0.494 against 0.513 ms).
func directConvGeometry(_ g: TapGrid, channelsPerGroup cg: Int, outChannelsPerGroup mg: Int) -> DirectConvGeometry? {
    let kernel = SGEMMKernel.preferred
    guard g.rank == 2, cg >= 1, g.kernelVolume > 1 || g.strides == [1, 1],
          let d = DirectConvGeometry(g, channelsPerGroup: cg),
          !(d.inPlace && cg >= 128 && cg * mg >= 8192 && kernel.nr <= 16)
    else { return nil }
    if cg > 1 { return d }
    return g.kernelVolume > 1 && d.writesRows(nr: kernel.nr, kc: kernel.kc) ? d : nil
}

/// Y = act(conv(X, W) + bias + residual) through `DirectConvGeometry`, with W packed per group and channel chunk (`chunks`).
/// Work is cut like im2col's: tiles of flat outputs, or each tile's channel chunks when tiles are too few. A
/// pointwise layer (`inPlace`) reads X and writes Y where they are; other layers read the phase planes and write
/// either straight into Y, row by row (`writesRows`), or a tile that `copyOut` moves into Y.
func directConv(_ d: DirectConvGeometry, packed: [[PackedMatrix]], chunks: [Range<Int>], x: UnsafePointer<Float>,
                batch: Int, channels: Int, groups: Int, outChannels m: Int, bias: UnsafePointer<Float>?,
                activation: Activation?, y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?) throws {
    let cg = channels / groups, mg = m / groups, k = d.offsets.count
    let kern = packed[0][0].kernel, nr = kern.nr, mr = kern.mr, kc = kern.kc
    let flat = d.flatOutputs, outPlane = d.outHeight * d.outWidth, inPlane = d.height * d.width
    // A tile of mg x tile outputs (about 128 KiB) stays in L2 between the micro-kernel and the copy out, and so do
    // the cg x tile inputs it reads (about 256 KiB) while each panel of output channels sweeps them: with 144 -> 24
    // channels at 56x56, tiles of 85 panels streamed X from L3 once per panel. Smaller when that leaves fewer than
    // four tiles per thread, down to two panels: 28x28 pixels are 25 panels, which tiles of 5 cut into 5 jobs, 3 of
    // them on one thread of two (a 144 -> 32 channel pointwise layer ran no faster on 2 threads than on 1, where
    // tiles of 32 left one job).
    let panels = (flat + nr - 1) / nr, threads = Threads.count
    var perTile = Swift.min(panels, Swift.max(2, Swift.min((1 << 15) / Swift.max(mg, 1), (1 << 16) / cg) / nr))
    if threads > 1 { perTile = Swift.min(perTile, Swift.max(2, panels * groups / (4 * threads))) }
    let tile = perTile * nr
    // Straight into Y: tiles of whole output rows, each row cut into panels that end at the row's end.
    let rowsDirect = !d.inPlace && d.writesRows(nr: nr, kc: kc)
    let tileRows = Swift.max(1, tile / d.planeWidth)
    let tiles = rowsDirect ? (d.outHeight + tileRows - 1) / tileRows : (flat + tile - 1) / tile, units = groups * tiles
    let split = units < 4 * threads && chunks.count > 1
    let jobs = split ? units * chunks.count : units
    let epilogue = Epilogue(bias: bias.map { .perRow($0) } ?? .none, activation: activation,
                            residual: residual.map { Residual(values: $0, origin: y) })
    // The residual is found from where a value is stored: in the kernel only when it stores into Y itself.
    let fused = epilogue.inKernel(row: 0) != nil && (residual == nil || d.inPlace)
    try Scratch.withFloats(d.inPlace ? 0 : d.planes(channels: channels) + d.slack) { xpad in
        try d.offsets.withUnsafeBufferPointer { offsets in
            for n in 0..<batch {
                let xn = x + n * channels * inPlane, yn = y + n * m * outPlane
                if !d.inPlace { d.split(xn, channels: channels, into: xpad) }
                try parallelJobs(jobs) { j in
                    let u = j % units, t = u % tiles, g = u / tiles
                    let jobChunks = split ? (j / units)..<(j / units + 1) : 0..<chunks.count
                    if rowsDirect {
                        let outRows = t * tileRows..<Swift.min(d.outHeight, (t + 1) * tileRows)
                        for c in jobChunks {
                            convRows(d, outRows, packed[g][c], channels: g * mg + chunks[c].lowerBound,
                                     count: chunks[c].count, offsets: offsets.baseAddress!,
                                     x: xpad + d.planes(channels: g * cg), epilogue: epilogue, y: yn)
                        }
                        return
                    }
                    // The tile, and (in place) a packed copy of the plane's last, partial panel: reading it in place
                    // would run past the last channel's end.
                    try Scratch.withFloats(d.inPlace ? kc * nr : mg * tile) { scratch in
                        let q0 = t * tile, cols = Swift.min(flat, q0 + tile) - q0
                        let xb = d.inPlace ? xn + g * cg * inPlane + q0 : UnsafePointer(xpad + d.planes(channels: g * cg) + q0)
                        for c in jobChunks {
                            let rows = chunks[c], pa = packed[g][c]
                            // Where row r of this chunk and tile column q - q0 go.
                            let (out, ld) = d.inPlace ? (yn + (g * mg + rows.lowerBound) * outPlane + q0, outPlane)
                                                      : (scratch + rows.lowerBound * tile, tile)
                            var pc = 0
                            while pc < k {
                                let kcur = Swift.min(kc, k - pc), a = pa.block(k: pc, depth: kcur, from: 0)
                                let tail = d.inPlace ? cols / nr * nr : cols
                                if tail < cols {
                                    packPanels(scratch, xb + tail + pc * inPlane, rowStride: 1, kStride: inPlane,
                                               rows: cols - tail, kc: kcur, width: nr)
                                }
                                // Bias and activation go with the last depth block's stores when they can.
                                let last = fused && pc + kcur == k
                                let panelsA = (rows.count + mr - 1) / mr
                                withUnsafeTemporaryAllocation(of: dl_epilogue.self, capacity: panelsA) { eps in
                                    for p in 0..<panelsA {
                                        eps[p] = epilogue.inKernel(row: g * mg + rows.lowerBound + p * mr) ?? dl_epilogue()
                                    }
                                    func panel(_ ir: Int, _ jr: Int) {
                                        kern.indirect(kcur, a + ir * kcur, xb + jr, offsets.baseAddress! + pc,
                                                      out + ir * ld + jr, ld, Swift.min(mr, rows.count - ir),
                                                      Swift.min(nr, cols - jr), beta: pc == 0 ? 0 : 1,
                                                      epilogue: last ? UnsafePointer(eps.baseAddress! + ir / mr) : nil)
                                    }
                                    // Where this chunk's weights are small (128 KiB with one input panel, as in
                                    // sgemm's loop nest), each input panel stays in L1 while every weight panel
                                    // passes it, instead of each weight panel sweeping the tile's inputs from L2:
                                    // minimum ms, 1 thread, 96 -> 24 channels at 56x56 0.19-0.20 -> 0.174, 192 -> 32
                                    // at 28x28 0.122 -> 0.114. Not where the whole tile's inputs fit L1 (few input
                                    // channels): there that order only costs, writing a step of nr columns into each
                                    // of the chunk's output planes in turn, more streams than the prefetchers follow
                                    // when Y is not in cache. Weight panels outside write each plane `cols` columns
                                    // at a time: mobilenet_v2's 16 -> 96 at 112x112 in the model (Zen 4, 1 thread)
                                    // 0.56-0.71 -> 0.46-0.48 ms, its 24 -> 144 at 56x56 0.24-0.28 -> 0.23-0.24.
                                    let tileInL1 = kcur * cols * 4 <= (SGEMMKernel.l1Bytes ?? 32768)
                                    if (rows.count + nr) * kcur <= 1 << 15 && !tileInL1 {
                                        for jr in stride(from: 0, to: tail, by: nr) {
                                            for ir in stride(from: 0, to: rows.count, by: mr) { panel(ir, jr) }
                                        }
                                    } else {
                                        for ir in stride(from: 0, to: rows.count, by: mr) {
                                            for jr in stride(from: 0, to: tail, by: nr) { panel(ir, jr) }
                                        }
                                    }
                                    guard tail < cols else { return }
                                    for ir in stride(from: 0, to: rows.count, by: mr) {
                                        kern(kcur, a + ir * kcur, scratch, out + ir * ld + tail, ld,
                                             Swift.min(mr, rows.count - ir), cols - tail, 1, pc == 0 ? 0 : 1,
                                             epilogue: last ? UnsafePointer(eps.baseAddress! + ir / mr) : nil)
                                    }
                                }
                                pc += kcur
                            }
                            if d.inPlace {
                                if !fused {
                                    epilogue.apply(out, ld, row: g * mg + rows.lowerBound, col: 0, rows: rows.count,
                                                   cols: cols)
                                }
                            } else {
                                copyOut(d, scratch, ld: tile, q0: q0, cols: cols, rows: rows, channelBase: g * mg,
                                        bias: fused ? nil : bias, activation: fused ? nil : activation, y: yn,
                                        residual: residual.map { $0 + (yn - y) })
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Output channels `channels..<channels+count` of output rows `outRows`, written into Y by the micro-kernel in one
/// depth block (`writesRows`), with the bias and activation in its stores or applied to the rows afterwards.
private func convRows(_ d: DirectConvGeometry, _ outRows: Range<Int>, _ pa: PackedMatrix, channels: Int, count: Int,
                      offsets: UnsafePointer<Int64>, x: UnsafePointer<Float>, epilogue: Epilogue,
                      y: UnsafeMutablePointer<Float>) {
    let kern = pa.kernel, nr = kern.nr, mr = kern.mr, k = d.offsets.count
    let outPlane = d.outHeight * d.outWidth, wp = d.planeWidth, ow = d.outWidth
    let a = pa.block(k: 0, depth: k, from: 0), fused = epilogue.inKernel(row: 0) != nil
    for ir in stride(from: 0, to: count, by: mr) {
        let ch = channels + ir
        var ep = epilogue.inKernel(row: ch) ?? dl_epilogue()
        withUnsafePointer(to: &ep) { epp in
            for oh in outRows {
                for j in stride(from: 0, to: ow, by: nr) {
                    kern.indirect(k, a + ir * k, x + oh * wp + j, offsets, y + ch * outPlane + oh * ow + j, outPlane,
                                  Swift.min(mr, count - ir), Swift.min(nr, ow - j), beta: 0, epilogue: fused ? epp : nil)
                }
            }
        }
    }
    if !fused, !epilogue.isEmpty {
        for r in channels..<channels + count {
            epilogue.apply(y + r * outPlane + outRows.lowerBound * ow, 1, row: r, col: 0, rows: 1,
                           cols: outRows.count * ow)
        }
    }
}

/// Moves rows `rows` of a tile (flat outputs q0..<q0+cols) into Y, dropping the padded columns, with bias, residual
/// (laid out as Y) and activation applied while the values are in cache.
private func copyOut(_ d: DirectConvGeometry, _ ct: UnsafeMutablePointer<Float>, ld: Int, q0: Int, cols: Int,
                     rows: Range<Int>, channelBase: Int, bias: UnsafePointer<Float>?, activation: Activation?,
                     y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?) {
    let wp = d.planeWidth, outPlane = d.outHeight * d.outWidth
    var q = q0
    while q < q0 + cols {
        let oh = q / wp, ow = q % wp, end = Swift.min(q0 + cols, (oh + 1) * wp)
        let count = Swift.min(d.outWidth, ow + end - q) - ow
        if count > 0 {
            for r in rows {
                let ch = channelBase + r, dst = y + ch * outPlane + oh * d.outWidth + ow
                dst.update(from: ct + r * ld + (q - q0), count: count)
                if bias != nil || activation != nil || residual != nil {
                    applyEpilogue(dst, count: count, bias: bias?[ch] ?? 0, activation: activation,
                                  residual: residual.map { $0 + (dst - y) })
                }
            }
        }
        q = end
    }
}
