import DLInferCore

/// ConvTranspose as GEMM + col2im: per image, group and tile of input pixels, columns = Wᵀ·X (one row per output
/// channel and kernel tap), then each column is added into the output pixels its taps land on. The output starts
/// as the bias (or zero), which also covers pixels no tap reaches.
final class ConvTransposeKernel: Kernel {
    let attrs: ConvTranspose
    let packedWeights: [PackedMatrix]?
    init(_ a: ConvTranspose, packedWeights: [PackedMatrix]?) { attrs = a; self.packedWeights = packedWeights }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, w = inputs[1]!
        let bias = inputs.count > 2 ? inputs[2] : nil
        let y = try outputs.make(0)
        let inSize = Array(x.shape[2...]), kernel = Array(w.shape[2...])
        let (outSize, padBegin) = try attrs.resolve(input: inSize, weightSpatial: kernel)
        let (win, _) = try attrs.validated(weightSpatial: kernel)
        let grid = TapGrid(grid: inSize, target: outSize, kernel: kernel, strides: win.strides,
                           dilations: win.dilations, padBegin: padBegin)
        let batch = x.shape[0], channels = x.shape[1], groups = attrs.group
        let cg = channels / groups, mg = w.shape[1], m = mg * groups
        let inPlane = grid.gridVolume, outPlane = grid.targetVolume, rows = mg * grid.kernelVolume
        guard y.count > 0 else { return [y] }
        let xp = x.pointer(Float.self), wp = w.pointer(Float.self), yp = y.pointer(Float.self)
        let bp = bias?.pointer(Float.self)
        parallelFor(batch * m, grain: Swift.max(1, 16384 / outPlane)) { range in
            for plane in range { (yp + plane * outPlane).update(repeating: bp?[plane % m] ?? 0, count: outPlane) }
        }
        guard cg > 0, inPlane > 0, rows > 0 else { return [y] }
        let tile = tileWidth(rows: rows, columns: inPlane)
        try Scratch.withFloats(rows * tile) { col in
            for n in 0..<batch {
                for g in 0..<groups {
                    let xg = xp + (n * channels + g * cg) * inPlane
                    let yg = yp + (n * m + g * mg) * outPlane
                    let wg = wp + g * cg * rows
                    for p0 in stride(from: 0, to: inPlane, by: tile) {
                        let p1 = Swift.min(inPlane, p0 + tile)
                        let a: SGEMMOperand = packedWeights.map { .packed($0[g]) } ?? .matrix(wg, ld: rows, transposed: true)
                        sgemm(m: rows, n: p1 - p0, k: cg, a: a, b: .matrix(xg + p0, ld: inPlane, transposed: false),
                              c: col, ldc: p1 - p0)
                        col2imAdd(grid, channels: mg, col: col, ld: p1 - p0, p0, p1, y: yg)
                    }
                }
            }
        }
        return [y]
    }
}
