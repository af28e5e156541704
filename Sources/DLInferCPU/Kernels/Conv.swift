import DLInferCore

/// Constant weights are packed once here for the GEMM (one left operand per group); depthwise convolutions read W
/// directly.
func makeConvKernel(_ a: Conv, _ node: Node, _ graph: Graph) throws -> Kernel {
    var packed: [PackedMatrix]? = nil
    if let wid = node.inputs[1], let w = graph.constants[wid], w.dtype == .float32, w.rank >= 3, a.group >= 1,
       w.shape[0] % a.group == 0, !(w.shape[1] == 1 && w.rank == 4) {
        let mg = w.shape[0] / a.group, k = w.shape[0] == 0 ? 0 : w.count / w.shape[0]
        let wp = w.pointer(Float.self)
        packed = (0..<a.group).map { g in PackedMatrix(.left, rows: mg, cols: k, wp + g * mg * k, ld: k, transposed: false) }
    }
    return ConvKernel(a, packedWeights: packed)
}

/// ConvTranspose's GEMM takes Wᵀ per group as its left operand; constant weights are packed once.
func makeConvTransposeKernel(_ a: ConvTranspose, _ node: Node, _ graph: Graph) throws -> Kernel {
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

/// Conv, chosen by shape: depthwise 2-D convolutions run a direct kernel; 1x1 stride-1 unpadded ones are one GEMM
/// per group reading X in place; everything else is im2col, in tiles of output pixels that stay in cache, + GEMM.
/// Bias and the fused activation are applied to each tile while it is in cache. With enough tiles, threads take
/// whole tiles (im2col, GEMM, epilogue); otherwise each tile's GEMM is split across threads.
final class ConvKernel: Kernel {
    let attrs: Conv
    let packedWeights: [PackedMatrix]?
    init(_ a: Conv, packedWeights: [PackedMatrix]?) { attrs = a; self.packedWeights = packedWeights }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let x = inputs[0]!, w = inputs[1]!
        let bias = inputs.count > 2 ? inputs[2] : nil
        let y = outputs.make(0)
        let win = try attrs.window(weightSpatial: Array(w.shape[2...]))
        let (outSize, padBegin) = try win.resolve(Array(x.shape[2...]))
        let grid = TapGrid(grid: outSize, target: Array(x.shape[2...]), kernel: win.kernel, strides: win.strides,
                           dilations: win.dilations, padBegin: padBegin)
        let batch = x.shape[0], channels = x.shape[1], m = w.shape[0], groups = attrs.group
        let cg = channels / groups, mg = m / groups
        guard y.count > 0 else { return [y] }
        let xp = x.pointer(Float.self), wp = w.pointer(Float.self), yp = y.pointer(Float.self)
        let bp = bias.map { UnsafePointer($0.pointer(Float.self)) }
        let act = attrs.activation

        if cg == 1, grid.rank == 2 {
            depthwiseConv2D(grid, batch: batch, channels: channels, multiplier: mg, x: xp, w: wp, bias: bp,
                            activation: act, y: yp)
            return [y]
        }
        let k = cg * grid.kernelVolume, inPlane = grid.targetVolume, outPlane = grid.gridVolume
        if k == 0 {
            // No input channels: the output is the bias alone.
            y.floats.update(repeating: 0)
            for n in 0..<batch {
                applyEpilogue(yp + n * m * outPlane, rows: m, count: outPlane, ld: outPlane, bias: bp, activation: act)
            }
            return [y]
        }
        let packed = packedWeights
        let pointwise = win.kernel.allSatisfy { $0 == 1 } && win.strides.allSatisfy { $0 == 1 }
            && padBegin.allSatisfy { $0 == 0 } && outSize == grid.target
        let tile = tileWidth(rows: pointwise ? Swift.max(k, mg) : k, columns: outPlane)
        let tiles = (outPlane + tile - 1) / tile, jobs = batch * groups * tiles
        // One job: a tile of output pixels of one image and group: im2col (unless pointwise, where X is the
        // column matrix), the GEMM straight into Y, then bias and activation while the tile is in cache.
        func job(_ j: Int, _ col: UnsafeMutablePointer<Float>?, gemmThreads: Int?) {
            let t = j % tiles, g = (j / tiles) % groups, n = j / (tiles * groups)
            let p0 = t * tile, p1 = Swift.min(outPlane, p0 + tile)
            let xg = xp + (n * channels + g * cg) * inPlane
            let b: SGEMMOperand
            if let col {
                im2col(grid, channels: cg, x: xg, p0, p1, col: col, ld: p1 - p0)
                b = .matrix(col, ld: p1 - p0, transposed: false)
            } else {
                b = .matrix(xg + p0, ld: inPlane, transposed: false)
            }
            let a: SGEMMOperand = packed.map { .packed($0[g]) } ?? .matrix(wp + g * mg * k, ld: k, transposed: false)
            let yt = yp + (n * m + g * mg) * outPlane + p0
            sgemm(m: mg, n: p1 - p0, k: k, a: a, b: b, c: yt, ldc: outPlane, maxThreads: gemmThreads)
            applyEpilogue(yt, rows: mg, count: p1 - p0, ld: outPlane, bias: bp.map { $0 + g * mg }, activation: act)
        }
        let columns = pointwise ? 0 : k * tile
        // Each parallel region is a barrier that waits for every worker to be scheduled, so a conv opens one: over
        // its jobs when there are enough to balance, else inside each GEMM (the cheap im2col and epilogue of a
        // small layer stay on the calling thread).
        if Threads.count > 1, jobs >= 4 * Threads.count {
            parallelFor(jobs) { range in
                Scratch.withFloats(columns) { col in for j in range { job(j, pointwise ? nil : col, gemmThreads: 1) } }
            }
        } else {
            Scratch.withFloats(columns) { col in for j in 0..<jobs { job(j, pointwise ? nil : col, gemmThreads: nil) } }
        }
        return [y]
    }
}

/// y = act(y + bias[row]) over `rows` runs of `count` floats, `ld` apart; nothing to do without bias or activation.
func applyEpilogue(_ y: UnsafeMutablePointer<Float>, rows: Int, count: Int, ld: Int, bias: UnsafePointer<Float>?,
                   activation: Activation?) {
    guard bias != nil || activation != nil else { return }
    for r in 0..<rows { applyEpilogue(y + r * ld, count: count, bias: bias?[r] ?? 0, activation: activation) }
}

/// y[i] = act(y[i] + bias) for one run; the activation is switched on once, outside the loop, so each loop vectorises.
@inline(__always)
func applyEpilogue(_ y: UnsafeMutablePointer<Float>, count: Int, bias: Float, activation: Activation?) {
    switch activation {
    case nil:
        for i in 0..<count { y[i] += bias }
    case .relu:
        for i in 0..<count { let v = y[i] + bias; y[i] = v > 0 ? v : 0 }
    case .clip(let lo, let hi):
        for i in 0..<count { y[i] = Swift.min(Swift.max(y[i] + bias, lo), hi) }
    case .leakyRelu(let a):
        for i in 0..<count { let v = y[i] + bias; y[i] = v >= 0 ? v : a * v }
    case .some(let act):
        for i in 0..<count { y[i] = act.apply(y[i] + bias) }
    }
}
