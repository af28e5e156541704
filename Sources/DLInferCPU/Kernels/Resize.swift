import DLInferCore

func makeResizeKernel(_ a: Resize, _ node: Node, _ graph: Graph) throws -> HostKernel { ResizeKernel(a) }

/// Resize/Upsample. Each call first turns the geometry into per-axis tables (input index and weight per output index,
/// from `Resize.sampling`), so no coordinate math happens per element. Nearest is then one gather over the output
/// (any element type; output rows that repeat the previous row's source are copied, and integer-factor upsampling of
/// the innermost axis is a plain repeat — the EAST/segmentation 2x case). Linear and cubic run one separable pass
/// per resized axis, shrinking axes first so later passes touch fewer elements.
final class ResizeKernel: Kernel {
    let attrs: Resize
    init(_ a: Resize) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        func input(_ i: Int) -> Tensor? { i < inputs.count ? inputs[i] : nil }
        let g = try attrs.geometry(inputShape: x.shape, roi: input(1), scales: input(2), sizes: input(3))
        let tables = x.shape.indices.map { attrs.sampling(axis: $0, inputLength: x.shape[$0], geometry: g) }
        if tables.allSatisfy(\.isIdentity) { return [x] }
        let y = try outputs.make(0)
        if y.count == 0 { return [y] }
        if attrs.mode == .nearest {
            switch x.dtype.byteSize {
            case 1: nearest(x, y, tables, UInt8.self)
            case 2: nearest(x, y, tables, UInt16.self)
            case 4: nearest(x, y, tables, UInt32.self)
            case 8: nearest(x, y, tables, UInt64.self)
            default: throw DLInferError.unsupported("Resize on \(x.dtype)")
            }
            return [y]
        }
        let order = x.shape.indices.filter { !tables[$0].isIdentity }
            .sorted { Double(g.outputShape[$0]) / Double(x.shape[$0]) < Double(g.outputShape[$1]) / Double(x.shape[$1]) }
        var cur = x
        for (k, a) in order.enumerated() {
            var shape = cur.shape
            shape[a] = g.outputShape[a]
            let out = k == order.count - 1 ? y : try outputs.make(.float32, shape)
            interpolate(cur, out, axis: a, tables[a])
            cur = out
        }
        return [y]
    }

    private func nearest<T>(_ x: Tensor, _ y: Tensor, _ tables: [Resize.AxisSampling], _: T.Type) {
        let rank = x.rank, inStrides = x.shape.contiguousStrides, outShape = y.shape
        // Per outer axis: output index -> element offset of its source, or -1 for the extrapolation value.
        let offsets: [[Int]] = (0..<(rank - 1)).map { a in
            tables[a].indices.enumerated().map { o, i in
                !tables[a].extrapolated.isEmpty && tables[a].extrapolated[o] ? -1 : i * inStrides[a]
            }
        }
        let lastTable = tables[rank - 1]
        let width = outShape[rank - 1], inWidth = x.shape[rank - 1], rows = y.count / width
        let idx = lastTable.indices
        let lastExtrapolated = lastTable.extrapolated
        let factor = width % inWidth == 0 ? width / inWidth : 0
        let repeats = factor > 0 && lastExtrapolated.isEmpty && (0..<width).allSatisfy { idx[$0] == $0 / factor }
        // tf_crop_and_resize is float32-only (the type rule checks), so the fill is only read when T holds a Float.
        let fill = withUnsafeBytes(of: UInt64(attrs.extrapolationValue.bitPattern)) { $0.load(as: T.self) }
        let src = UnsafePointer(x.raw.assumingMemoryBound(to: T.self)), dst = y.raw.assumingMemoryBound(to: T.self)
        parallelFor(rows, grain: Swift.max(1, 16384 / width)) { r in
            var previous = -2
            for row in r {
                let d = dst + row * width
                var rem = row, off = 0
                for a in stride(from: rank - 2, through: 0, by: -1) {
                    let o = offsets[a][rem % outShape[a]]
                    rem /= outShape[a]
                    if o < 0 { off = -1; break }
                    off += o
                }
                if off < 0 { d.update(repeating: fill, count: width); previous = -2; continue }
                if off == previous { d.update(from: d - width, count: width); continue }
                previous = off
                let s = src + off
                if repeats {
                    if factor == 2 {
                        for j in 0..<inWidth { let v = s[j]; d[2 * j] = v; d[2 * j + 1] = v }
                    } else {
                        for j in 0..<inWidth { (d + j * factor).update(repeating: s[j], count: factor) }
                    }
                } else if lastExtrapolated.isEmpty {
                    idx.withUnsafeBufferPointer { ip in for j in 0..<width { d[j] = s[ip[j]] } }
                } else {
                    for j in 0..<width { d[j] = lastExtrapolated[j] ? fill : s[idx[j]] }
                }
            }
        }
    }

    /// One separable pass: resamples axis `a` of `x` (float32) into `y`, which differs from `x` only along `a`.
    private func interpolate(_ x: Tensor, _ y: Tensor, axis a: Int, _ t: Resize.AxisSampling) {
        let n = x.shape[a], m = y.shape[a]
        let outer = x.shape[..<a].reduce(1, *), inner = x.shape[(a + 1)...].reduce(1, *)
        let src = UnsafePointer(x.pointer(Float.self)), dst = y.pointer(Float.self)
        let taps = t.taps, extrapolated = t.extrapolated, value = attrs.extrapolationValue
        t.indices.withUnsafeBufferPointer { ip in
            t.weights.withUnsafeBufferPointer { wp in
                if inner == 1 {
                    parallelFor(outer, grain: Swift.max(1, 8192 / (m * taps))) { r in
                        for o in r {
                            let s = src + o * n, d = dst + o * m
                            if taps == 2 {
                                for j in 0..<m { d[j] = wp[2 * j] * s[ip[2 * j]] + wp[2 * j + 1] * s[ip[2 * j + 1]] }
                            } else {
                                for j in 0..<m {
                                    var acc: Float = 0
                                    for k in 0..<taps { acc += wp[j * taps + k] * s[ip[j * taps + k]] }
                                    d[j] = acc
                                }
                            }
                            if !extrapolated.isEmpty { for j in 0..<m where extrapolated[j] { d[j] = value } }
                        }
                    }
                    return
                }
                // Whole rows of `inner` contiguous elements are blended, so the inner loops vectorise.
                parallelFor(outer * m, grain: Swift.max(1, 8192 / (inner * taps))) { r in
                    for row in r {
                        let o = row / m, j = row % m
                        let d = dst + row * inner, s = src + o * n * inner
                        if !extrapolated.isEmpty && extrapolated[j] { d.update(repeating: value, count: inner); continue }
                        let w0 = wp[j * taps], s0 = s + ip[j * taps] * inner
                        for e in 0..<inner { d[e] = w0 * s0[e] }
                        for k in 1..<taps {
                            let w = wp[j * taps + k]
                            if w == 0 { continue }
                            let sk = s + ip[j * taps + k] * inner
                            for e in 0..<inner { d[e] += w * sk[e] }
                        }
                    }
                }
            }
        }
    }
}

extension CPUKernelFactory {
    func visit(_ a: Resize, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeResizeKernel(a, node, graph)
    }
}
