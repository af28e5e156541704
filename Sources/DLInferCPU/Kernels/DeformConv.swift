import DLInferCore

/// DeformConv as a deformable im2col + GEMM, per batch and per tile of output positions (a tile's column matrix
/// stays within a few MiB). Each (offset group, kernel position, output position) sample's neighbours and weights
/// are worked out once and reused by every channel of the offset group; the mask scales the column. Then one SGEMM
/// per group with the bias in its epilogue.
final class DeformConvKernel: Kernel {
    let attrs: DeformConv
    init(_ a: DeformConv) { attrs = a }

    /// Spatial axes at most (2^r neighbours per sample).
    static let maxSpatialAxes = 12
    /// Floats of one tile's column matrix, at most (more only when one column needs more).
    static let tileFloats = 1 << 20
    /// Column rows (channels x kernel taps) at most: a tile then needs at most 1 GiB.
    static let maxRows = 1 << 24

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        func input(_ i: Int) -> Tensor? { i < inputs.count ? inputs[i] : nil }
        let x = inputs[0]!, w = inputs[1]!, offset = inputs[2]!, bias = input(3), mask = input(4)
        let r = x.rank - 2
        guard r >= 1, w.rank == x.rank else { throw DLInferError.shape("X \(x.shape) and W \(w.shape) must be [N, C, D...] and [M, C/group, k...]") }
        guard r <= DeformConvKernel.maxSpatialAxes else {
            throw DLInferError.unsupported("DeformConv over \(r) spatial axes (at most \(DeformConvKernel.maxSpatialAxes))")
        }
        let kernel = Array(w.shape[2...]), dims = Array(x.shape[2...])
        let win = try attrs.window(weightSpatial: kernel)
        let (out, padBegin) = try win.resolve(dims)
        let (n, c, m, groups, og) = (x.shape[0], x.shape[1], w.shape[0], attrs.group, attrs.offsetGroup)
        guard c == w.shape[1] * groups, m % groups == 0, c % og == 0 else {
            throw DLInferError.shape("X \(x.shape), W \(w.shape), group \(groups) and offset_group \(og) do not fit together")
        }
        let taps = kernel.elementCount, points = out.elementCount
        guard offset.shape == [n, og * taps * r] + out else { throw DLInferError.shape("offset is \(offset.shape); \([n, og * taps * r] + out) expected") }
        if let mask, mask.shape != [n, og * taps] + out { throw DLInferError.shape("mask is \(mask.shape); \([n, og * taps] + out) expected") }
        if let bias, bias.shape != [m] { throw DLInferError.shape("B is \(bias.shape); [\(m)] expected") }
        let y = try outputs.make(0)
        try expectShape(y.shape, [n, m] + out)
        guard y.count > 0 else { return [y] }

        let rows = c * taps, cg = c / groups, mg = m / groups, perOG = c / og
        guard rows <= DeformConvKernel.maxRows else {
            throw DLInferError.unsupported("DeformConv with \(c) channels x \(taps) kernel taps (at most \(DeformConvKernel.maxRows) rows per column)")
        }
        let tile = Swift.min(points, Swift.max(16, DeformConvKernel.tileFloats / rows))
        let cols = try outputs.make(.float32, [rows, tile])
        let xp = UnsafePointer(x.pointer(Float.self)), wp = UnsafePointer(w.pointer(Float.self))
        let op = UnsafePointer(offset.pointer(Float.self)), mp = mask.map { UnsafePointer($0.pointer(Float.self)) }
        let bp = bias.map { UnsafePointer($0.pointer(Float.self)) }
        let cp = cols.pointer(Float.self), yp = y.pointer(Float.self)
        let plane = dims.elementCount, inStrides = dims.contiguousStrides, outStrides = out.contiguousStrides
        let kernelStrides = kernel.contiguousStrides
        let (strides, dilations) = (win.strides, win.dilations)
        for batch in 0..<n {
            for p0 in stride(from: 0, to: points, by: tile) {
                let width = Swift.min(tile, points - p0)
                parallelFor(og * taps * width, grain: Swift.max(1, 1024 / perOG)) { range in
                    var offs = [Int](repeating: 0, count: 1 << r), wts = [Float](repeating: 0, count: 1 << r)
                    var offs2 = offs, wts2 = wts
                    for item in range {
                        let q = item % width, k = (item / width) % taps, g = item / (width * taps), p = p0 + q
                        let site = (batch * og + g) * taps + k
                        // Neighbours and weights, one axis at a time: each combination so far times each tap inside X.
                        var count = 1
                        offs[0] = 0; wts[0] = 1
                        for a in 0..<r {
                            let base = (p / outStrides[a] % out[a]) * strides[a] - padBegin[a] + (k / kernelStrides[a] % kernel[a]) * dilations[a]
                            // The integer and fractional parts are split exactly (x - floor(x) is exact), so the weight
                            // keeps float32 precision at any distance from the origin.
                            let d = op[(site * r + a) * points + p], v = Double(base) + Double(d)
                            guard v > -1, v < Double(dims[a]) else { count = 0; break }
                            let f = d.rounded(.down), t = d - f, i = base + Int(f)
                            var next = 0
                            for side in 0..<2 {
                                let j = i + side, wt = side == 0 ? 1 - t : t
                                guard j >= 0 && j < dims[a] else { continue }
                                for e in 0..<count { offs2[next] = offs[e] + j * inStrides[a]; wts2[next] = wts[e] * wt; next += 1 }
                            }
                            swap(&offs, &offs2); swap(&wts, &wts2)
                            count = next
                        }
                        let scale = mp.map { $0[site * points + p] } ?? 1
                        for ch in (g * perOG)..<((g + 1) * perOG) {
                            let src = xp + (batch * c + ch) * plane
                            var v: Float = 0
                            for e in 0..<count { v += wts[e] * src[offs[e]] }
                            cp[(ch * taps + k) * width + q] = v * scale
                        }
                    }
                }
                for g in 0..<groups {
                    sgemm(m: mg, n: width, k: cg * taps,
                          a: .matrix(wp + g * mg * cg * taps, ld: cg * taps, transposed: false),
                          b: .matrix(cp + g * cg * taps * width, ld: width, transposed: false),
                          c: yp + (batch * m + g * mg) * points + p0, ldc: points,
                          bias: bp.map { .perRow($0 + g * mg) } ?? .none)
                }
            }
        }
        return [y]
    }
}

extension CPUKernelFactory {
    func visit(_ a: DeformConv, _ _: Node, _ _: Graph) -> HostKernel {
        DeformConvKernel(a)
    }
}
