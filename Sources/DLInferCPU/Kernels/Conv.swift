import DLInferCore

func makeConvKernel(_ a: Conv, _ node: Node, _ graph: Graph) throws -> Kernel { ConvKernel(a) }

func makeConvTransposeKernel(_ a: ConvTranspose, _ node: Node, _ graph: Graph) throws -> Kernel { ConvTransposeKernel(a) }

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
/// Bias and the fused activation are applied to each tile while it is in cache.
final class ConvKernel: Kernel {
    let attrs: Conv
    init(_ a: Conv) { attrs = a }

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
        let pointwise = win.kernel.allSatisfy { $0 == 1 } && win.strides.allSatisfy { $0 == 1 }
            && padBegin.allSatisfy { $0 == 0 } && outSize == grid.target
        let tile = tileWidth(rows: pointwise ? Swift.max(k, mg) : k, columns: outPlane)
        // Per image, group and tile of output pixels: im2col (unless pointwise, where X is the column matrix), the
        // GEMM straight into Y, then bias and activation while the tile is in cache.
        Scratch.withFloats(pointwise ? 0 : k * tile) { col in
            for n in 0..<batch {
                for g in 0..<groups {
                    let xg = xp + (n * channels + g * cg) * inPlane
                    for p0 in stride(from: 0, to: outPlane, by: tile) {
                        let p1 = Swift.min(outPlane, p0 + tile)
                        let yt = yp + (n * m + g * mg) * outPlane + p0
                        if pointwise {
                            sgemm(transA: false, transB: false, m: mg, n: p1 - p0, k: k, alpha: 1, a: wp + g * mg * k,
                                  lda: k, b: xg + p0, ldb: inPlane, beta: 0, c: yt, ldc: outPlane)
                        } else {
                            im2col(grid, channels: cg, x: xg, p0, p1, col: col, ld: p1 - p0)
                            sgemm(transA: false, transB: false, m: mg, n: p1 - p0, k: k, alpha: 1, a: wp + g * mg * k,
                                  lda: k, b: col, ldb: p1 - p0, beta: 0, c: yt, ldc: outPlane)
                        }
                        applyEpilogue(yt, rows: mg, count: p1 - p0, ld: outPlane, bias: bp.map { $0 + g * mg },
                                      activation: act)
                    }
                }
            }
        }
        return [y]
    }
}

/// y = act(y + bias[row]) over `rows` runs of `count` floats, `ld` apart; nothing to do without bias or activation.
func applyEpilogue(_ y: UnsafeMutablePointer<Float>, rows: Int, count: Int, ld: Int, bias: UnsafePointer<Float>?,
                   activation: Activation?) {
    guard bias != nil || activation != nil else { return }
    parallelFor(rows, grain: Swift.max(1, 8192 / Swift.max(count, 1))) { range in
        for r in range { applyEpilogue(y + r * ld, count: count, bias: bias?[r] ?? 0, activation: activation) }
    }
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
