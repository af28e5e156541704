import DLInferCore

/// Constant weights are packed once here for the GEMM, per group and per chunk of output channels; depthwise
/// convolutions read W directly. Layers that Winograd's algorithm may serve keep their weights unpacked until the
/// first run shows which path the input's size takes.
func makeConvKernel(_ a: Conv, _ node: Node, _ graph: Graph) throws -> HostKernel {
    guard let wid = node.inputs[1], let w = graph.constants[wid], w.dtype == .float32 else {
        return ConvKernel(a, packedWeights: nil)
    }
    let input = node.inputs[0].flatMap { graph.values[$0].type.fixedShape }
    if winogradApplies(a, weights: w.shape) {
        // Winograd's path first where it pays for the fixed input, or may pay for an input the graph leaves open.
        guard let input else { return ConvKernel(a, packedWeights: nil, winogradCandidate: w) }
        if let grid = try? convGrid(a, input: input, weights: w.shape), winogradPays(grid, outChannels: w.shape[0]) {
            return ConvKernel(a, packedWeights: nil, winogradCandidate: w)
        }
    }
    if let wt = pixelRowsWeights(w, a, input: input) {
        return ConvKernel(a, packedWeights: nil, pixelRows: wt)
    }
    return ConvKernel(a, packedWeights: packConvWeights(w, a))
}

/// Wᵀ as the right operand of `pixelRowsConv`, for a 2-D layer of one group whose input shape is fixed and whose
/// output plane is small enough for that path to pay; else nil.
private func pixelRowsWeights(_ w: Tensor, _ a: Conv, input: [Int]?) -> PackedMatrix? {
    guard w.rank == 4, a.group == 1, let input, input.count == 4, input[1] == w.shape[1], w.shape[0] > 0,
          let grid = try? convGrid(a, input: input, weights: w.shape),
          !depthwiseServes(groups: 1, channelsPerGroup: w.shape[1], outChannels: w.shape[0]),
          pixelRowsPays(grid, channelsPerGroup: w.shape[1], outChannels: w.shape[0]) else { return nil }
    let k = w.count / w.shape[0]
    return PackedMatrix(.right, rows: k, cols: w.shape[0], w.pointer(Float.self), ld: k, transposed: true)
}

/// Where each output pixel's window lies in the input, for these input and weight shapes.
private func convGrid(_ a: Conv, input: [Int], weights: [Int]) throws -> TapGrid {
    let window = try a.window(weightSpatial: Array(weights[2...]))
    let (out, padBegin) = try window.resolve(Array(input[2...]))
    return TapGrid(grid: out, target: Array(input[2...]), kernel: window.kernel, strides: window.strides,
                   dilations: window.dilations, padBegin: padBegin)
}

/// W as the GEMM's left operand per group and channel chunk; nil for the weights the depthwise kernel reads directly.
private func packConvWeights(_ w: Tensor, _ a: Conv) -> [[PackedMatrix]]? {
    guard w.rank >= 3, a.group >= 1, w.shape[0] % a.group == 0,
          !(w.rank == 4 && depthwiseServes(groups: a.group, channelsPerGroup: w.shape[1], outChannels: w.shape[0]))
    else { return nil }
    let mg = w.shape[0] / a.group, k = w.shape[0] == 0 ? 0 : w.count / w.shape[0]
    let wp = w.pointer(Float.self)
    return (0..<a.group).map { g in
        channelChunks(mg).map { r in
            PackedMatrix(.left, rows: r.count, cols: k, wp + (g * mg + r.lowerBound) * k, ld: k, transposed: false)
        }
    }
}

/// A group's output channels cut into one chunk per thread (whole micro-kernel panels, at least two each), so that
/// threads can share a layer too small to split by pixels without repacking its weights.
func channelChunks(_ mg: Int) -> [Range<Int>] {
    let mr = SGEMMKernel.preferred.mr
    let panels = (mg + mr - 1) / mr
    let n = Swift.max(1, Swift.min(Threads.count, panels / 2))
    return (0..<n).map { c in Swift.min(mg, panels * c / n * mr)..<Swift.min(mg, panels * (c + 1) / n * mr) }
}

/// ConvTranspose's GEMM takes Wᵀ per group as its left operand; constant weights are packed once.
func makeConvTransposeKernel(_ a: ConvTranspose, _ node: Node, _ graph: Graph) throws -> HostKernel {
    var packed: [PackedMatrix]? = nil
    if let wid = node.inputs[1], let w = graph.constants[wid], w.dtype == .float32, w.rank >= 3, a.group >= 1,
       w.shape[0] % a.group == 0 {
        let cg = w.shape[0] / a.group, rows = w.shape[0] == 0 ? 0 : w.count / w.shape[0]
        let wp = w.pointer(Float.self)
        packed = (0..<a.group).map { g in
            PackedMatrix(.left, rows: rows, cols: cg, wp + g * cg * rows, ld: rows, transposed: true)
        }
    }
    return ConvTransposeKernel(a, packedWeights: packed)
}

/// Floats a column tile may hold (256 KiB): the im2col tile is written and then read by the GEMM while it is still
/// in L2, instead of streaming a whole column matrix through main memory.
let columnBudget = 1 << 16

/// Columns per tile for a GEMM whose B operand has `rows` rows: the whole width when it fits the budget, else a
/// multiple of 16 (at least 64) so the GEMM still gets full panels.
func tileWidth(rows: Int, columns: Int) -> Int {
    let fit = columnBudget / Swift.max(rows, 1)
    if fit >= columns { return Swift.max(columns, 1) }
    return Swift.max(64, fit & ~15)
}

/// Conv, chosen by shape: layers on small output planes fixed by the graph with the pixels as the GEMM's rows
/// (`pixelRowsConv`); 3x3 stride-1 layers of 64+ channels with enough output through Winograd's F(4x4, 3x3);
/// depthwise 2-D convolutions through their own kernel; other 2-D layers with constant weights through
/// `directConv` (the micro-kernel reading the input in place, no im2col); the rest (1-D, 3-D, weights computed at
/// run time, pointwise layers of 128+ input channels and larger weights with AVX2) as a GEMM per group, on X itself
/// when pointwise, else on im2col tiles of output pixels that stay in cache. Bias, the fused residual (a skip
/// connection's Add) and the fused activation are applied to each tile while it is in cache.
///
/// Each conv opens one parallel region (each is a barrier that waits for every worker to be scheduled): threads
/// take whole tiles one at a time when there are enough to balance, else (tile, chunk of output channels) pairs,
/// each redoing the small layer's cheap im2col. A conv too small to pay for waking threads runs inline.
final class ConvKernel: Kernel {
    let attrs: Conv
    /// Per group, per chunk of `channelChunks` (computed for the same thread count).
    private var packedWeights: [[PackedMatrix]]?
    /// The constant weights of a layer Winograd's F(4x4, 3x3) may serve, and their transform once a run used it.
    private let winogradCandidate: Tensor?
    private var winograd: WinogradWeights?
    /// Wᵀ for `pixelRowsConv`, set instead of the others when the graph fixes a small output plane.
    private let pixelRows: PackedMatrix?
    init(_ a: Conv, packedWeights: [[PackedMatrix]]?, winogradCandidate: Tensor? = nil, pixelRows: PackedMatrix? = nil) {
        attrs = a; self.packedWeights = packedWeights; self.winogradCandidate = winogradCandidate
        self.pixelRows = pixelRows
    }

    /// The tap grid for the input and weight shapes, prepared once per plan: small convolutions would otherwise spend
    /// a good part of their time on it.
    private struct Geometry {
        let grid: TapGrid
        /// Set for the layers with packed weights that the direct path serves (`directConvGeometry`).
        let direct: DirectConvGeometry?
        init(_ attrs: Conv, input: [Int], weights: [Int], packed: Bool) throws {
            grid = try convGrid(attrs, input: input, weights: weights)
            let cg = input[1] / Swift.max(attrs.group, 1)
            let mg = weights[0] / Swift.max(attrs.group, 1)
            direct = packed ? directConvGeometry(grid, channelsPerGroup: cg, outChannelsPerGroup: mg) : nil
        }
    }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, w = inputs[1]!
        let bias = inputs.count > 2 ? inputs[2] : nil
        let y = try outputs.make(0)
        // Winograd's candidates are packed on the first run that does not take Winograd's path.
        let geo = try outputs.prepared {
            try Geometry(attrs, input: x.shape, weights: w.shape, packed: packedWeights != nil || winogradCandidate != nil)
        }
        let grid = geo.grid, outSize = grid.grid, padBegin = grid.padBegin
        let batch = x.shape[0], channels = x.shape[1], m = w.shape[0], groups = attrs.group
        let cg = channels / groups, mg = m / groups
        guard y.count > 0 else { return [y] }
        let xp = x.pointer(Float.self), wp = w.pointer(Float.self), yp = y.pointer(Float.self)
        let bp = bias.map { UnsafePointer($0.pointer(Float.self)) }
        let act = attrs.activation
        var rp: UnsafePointer<Float>? = nil
        if attrs.residual {
            // The fusing pass proved the shapes equal; a model whose named dimensions disagree at run time is told so.
            guard let r = inputs[3], r.shape == y.shape else {
                throw DLInferError.shape("the residual \(inputs[3]?.shape ?? []) added to Conv's output does not match Y \(y.shape)")
            }
            rp = UnsafePointer(r.pointer(Float.self))
        }

        if let w = winogradCandidate, winogradPays(grid, outChannels: m) {
            if winograd == nil {
                // Oriented for the first run's output size.
                let tiles = ((outSize[0] + 3) / 4) * ((outSize[1] + 3) / 4)
                winograd = WinogradWeights(w.pointer(Float.self), m: m, c: w.shape[1],
                                           transposed: winogradTransposes(tiles: tiles, outChannels: m))
            }
            try winogradConv(winograd!, x: xp, batch: batch, height: grid.target[0], width: grid.target[1],
                             padTop: padBegin[0], padLeft: padBegin[1], outHeight: outSize[0], outWidth: outSize[1],
                             bias: bp, activation: act, y: yp, residual: rp)
            return [y]
        }
        let depthwise = grid.rank == 2 && depthwiseServes(groups: groups, channelsPerGroup: cg, outChannels: m)
        if depthwise, grid.kernel == [3, 3], grid.dilations == [1, 1], grid.strides[1] <= 2,
           grid.padBegin.allSatisfy({ $0 >= 0 }) {
            depthwise3x3Padded(grid, batch: batch, channels: channels, multiplier: mg, x: xp, w: wp, bias: bp,
                               activation: act, y: yp, residual: rp)
            return [y]
        }
        if depthwise {
            depthwiseConv2D(grid, batch: batch, channels: channels, multiplier: mg, x: xp, w: wp, bias: bp,
                            activation: act, y: yp, residual: rp)
            return [y]
        }
        let k = cg * grid.kernelVolume, inPlane = grid.targetVolume, outPlane = grid.gridVolume
        if k == 0 {
            // No input channels: the output is the bias alone.
            y.floats.update(repeating: 0)
            for n in 0..<batch {
                applyEpilogue(yp + n * m * outPlane, rows: m, count: outPlane, ld: outPlane, bias: bp, activation: act,
                              residual: rp.map { $0 + n * m * outPlane })
            }
            return [y]
        }
        if let wt = pixelRows {
            try pixelRowsConv(grid, wt, x: xp, batch: batch, channels: channels, outChannels: m, bias: bp,
                              activation: act, y: yp, residual: rp)
            return [y]
        }
        if packedWeights == nil, let w = winogradCandidate { packedWeights = packConvWeights(w, attrs) }
        let packed = packedWeights, chunks = channelChunks(mg)
        if let d = geo.direct, let packed {
            try directConv(d, packed: packed, chunks: chunks, x: xp, batch: batch, channels: channels, groups: groups,
                           outChannels: m, bias: bp, activation: act, y: yp, residual: rp)
            return [y]
        }
        let pointwise = grid.readsInPlace, threads = Threads.count
        var tile = tileWidth(rows: pointwise ? Swift.max(k, mg) : k, columns: outPlane)
        // A layer worth sharing is cut into at least four tiles per thread, down to 64 columns (four panels), and
        // the tiles are handed out one at a time: one contiguous range per thread left 256 -> 32 channels at 27x27
        // (three tiles of 256 columns) on one thread.
        let shared = threads > 1 && batch * m * outPlane * k >= 1 << 18
        if shared {
            let wanted = (4 * threads + batch * groups - 1) / (batch * groups)
            tile = Swift.min(tile, Swift.max(64, ((outPlane + wanted - 1) / wanted + 15) & ~15))
        }
        let tiles = (outPlane + tile - 1) / tile, units = batch * groups * tiles
        // The micro-kernel's panels are dealt out evenly (widths differ by one panel at most): tiles of the width
        // above left a sliver last, and 14x14 pixels in tiles of 64, 64, 64 and 4 put 128 columns on one thread
        // of two and 68 on the other.
        let nr = SGEMMKernel.preferred.nr, panels = (outPlane + nr - 1) / nr
        func tileStart(_ t: Int) -> Int { Swift.min(outPlane, panels * t / tiles * nr) }
        tile = (panels + tiles - 1) / tiles * nr
        let split = shared && units < 2 * threads && chunks.count > 1
        let jobs = split ? units * chunks.count : units
        // One job: a tile of output pixels of one image and group (and, when split, one chunk of its channels):
        // im2col (unless pointwise, where X is the column matrix), the GEMM straight into Y, then bias and activation
        // while the tile is in cache.
        func job(_ j: Int, _ col: UnsafeMutablePointer<Float>?) {
            let u = j % units, t = u % tiles, g = (u / tiles) % groups, n = u / (tiles * groups)
            let p0 = tileStart(t), p1 = tileStart(t + 1)
            let xg = xp + (n * channels + g * cg) * inPlane
            let b: SGEMMOperand
            if let col {
                im2col(grid, channels: cg, x: xg, p0, p1, col: col, ld: p1 - p0)
                b = .matrix(col, ld: p1 - p0, transposed: false)
            } else {
                b = .matrix(xg + p0, ld: inPlane, transposed: false)
            }
            for c in split ? (j / units)..<(j / units + 1) : 0..<chunks.count {
                let r = chunks[c], m0 = g * mg + r.lowerBound
                let a: SGEMMOperand = packed.map { .packed($0[g][c]) } ?? .matrix(wp + m0 * k, ld: k, transposed: false)
                let yt = yp + (n * m + m0) * outPlane + p0
                sgemm(m: r.count, n: p1 - p0, k: k, a: a, b: b, c: yt, ldc: outPlane, maxThreads: 1)
                applyEpilogue(yt, rows: r.count, count: p1 - p0, ld: outPlane, bias: bp.map { $0 + m0 }, activation: act,
                              residual: rp.map { $0 + (yt - yp) })
            }
        }
        let columns = pointwise ? 0 : k * tile
        if shared {
            try parallelJobs(jobs) { j in try Scratch.withFloats(columns) { col in job(j, pointwise ? nil : col) } }
        } else {
            try Scratch.withFloats(columns) { col in for j in 0..<jobs { job(j, pointwise ? nil : col) } }
        }
        return [y]
    }
}

/// y = act(y + bias[row] + residual) over `rows` runs of `count` floats, `ld` apart (the residual laid out as y);
/// nothing to do without bias, residual or activation.
func applyEpilogue(_ y: UnsafeMutablePointer<Float>, rows: Int, count: Int, ld: Int, bias: UnsafePointer<Float>?,
                   activation: Activation?, residual: UnsafePointer<Float>? = nil) {
    guard bias != nil || activation != nil || residual != nil else { return }
    for r in 0..<rows {
        applyEpilogue(y + r * ld, count: count, bias: bias?[r] ?? 0, activation: activation,
                      residual: residual.map { $0 + r * ld })
    }
}

/// y[i] = act(y[i] + bias + residual[i]) for one run (rounded as Conv then Add: the bias is added first).
@inline(__always)
func applyEpilogue(_ y: UnsafeMutablePointer<Float>, count: Int, bias: Float, activation: Activation?,
                   residual: UnsafePointer<Float>? = nil) {
    guard let residual else {
        affineActivate(y, y, count: count, scale: 1, shift: bias, activation: activation)
        return
    }
    for i in 0..<count { y[i] = (y[i] + bias) + residual[i] }
    if activation != nil { affineActivate(y, y, count: count, scale: 1, shift: 0, activation: activation) }
}

/// y[i] = act(x[i] * scale + shift) for one run (x may be y); the activation is switched on once, outside the loop,
/// so each loop vectorises. A scale of 1 folds away where it is a literal.
@inline(__always)
func affineActivate(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, scale: Float, shift: Float,
                    activation: Activation?) {
    switch activation {
    case nil:
        for i in 0..<count { y[i] = x[i] * scale + shift }
    case .relu:
        for i in 0..<count { let v = x[i] * scale + shift; y[i] = v < 0 ? 0 : v }  // NaN stays NaN, as in the C epilogues
    case .clip(let lo, let hi):
        for i in 0..<count { y[i] = Swift.min(Swift.max(x[i] * scale + shift, lo), hi) }
    case .leakyRelu(let a):
        for i in 0..<count { let v = x[i] * scale + shift; y[i] = v >= 0 ? v : a * v }
    case .some(let act):
        for i in 0..<count { y[i] = act.apply(x[i] * scale + shift) }
    }
}

extension CPUKernelFactory {
    func visit(_ a: Conv, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeConvKernel(a, node, graph)
    }

    func visit(_ a: ConvTranspose, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeConvTransposeKernel(a, node, graph)
    }
}
