import DLInferCore

func makePadKernel(_ a: Pad, _ node: Node, _ graph: Graph) throws -> HostKernel { PadKernel(a) }

/// Pad of any element type, moved as raw 1/2/4/8-byte words. Every output axis maps independently to an input index
/// (or to the constant), so the kernel builds one index table per axis and then writes output rows in parallel: the
/// middle of a row is one copy, only its padded ends go through the table.
final class PadKernel: Kernel {
    let attrs: Pad
    init(_ a: Pad) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        guard let pads = inputs[1]!.intValues() else { throw DLInferError.model("pads must be int64") }
        let axes = inputs.count > 3 ? inputs[3]?.intValues() : nil
        let widths = try attrs.perAxis(rank: x.rank, pads: pads, axes: axes)
        if x.rank == 0 || widths.allSatisfy({ $0 == (0, 0) }) { return [x] }
        let y = try outputs.make(0)
        if y.count == 0 { return [y] }
        // Per axis: output index -> input index, -1 for the constant.
        var tables = [[Int]]()
        var spans = [(lead: Int, start: Int, kept: Int)]()
        for (a, n) in x.shape.enumerated() {
            let w = widths[a]
            let out = try attrs.outputLength(n, w, axis: a)
            let span = (lead: Swift.max(w.begin, 0), start: Swift.max(-w.begin, 0), kept: n + Swift.min(w.begin, 0) + Swift.min(w.end, 0))
            spans.append(span)
            tables.append((0..<out).map { attrs.sourceIndex($0, lead: span.lead, start: span.start, kept: span.kept) ?? -1 })
        }
        let fill = try fillBytes(x.dtype, inputs.count > 2 ? inputs[2] : nil)
        switch x.dtype.byteSize {
        case 1: pad(x, y, tables, spans.last!, fill, UInt8.self)
        case 2: pad(x, y, tables, spans.last!, fill, UInt16.self)
        case 4: pad(x, y, tables, spans.last!, fill, UInt32.self)
        case 8: pad(x, y, tables, spans.last!, fill, UInt64.self)
        default: throw DLInferError.unsupported("Pad on \(x.dtype)")
        }
        return [y]
    }

    /// The fill value's bytes: constant_value if given, else the attribute value (0 from opset 11 on).
    private func fillBytes(_ dtype: DType, _ given: Tensor?) throws -> UInt64 {
        var bits: UInt64 = 0
        if let given, given.count > 0 {
            withUnsafeMutableBytes(of: &bits) { $0.baseAddress!.copyMemory(from: given.raw, byteCount: dtype.byteSize) }
            return bits
        }
        let v = attrs.value
        switch dtype {
        case .float32: bits = UInt64(Float(v).bitPattern)
        case .float64: bits = v.bitPattern
        case .float16: bits = UInt64(Half(Float(v)).bits)
        case .bfloat16: bits = UInt64(BFloat16(Float(v)).bits)
        case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0:
            bits = UInt64(dtype.float8Format!.encode(Float(v), saturate: true))
        case .float4e2m1: bits = UInt64(SubByte.float4(Float(v)))
        default:
            guard v == 0 else { throw DLInferError.unsupported("Pad value \(v) for \(dtype) data") }
        }
        return bits
    }

    private func pad<T>(_ x: Tensor, _ y: Tensor, _ tables: [[Int]], _ lastSpan: (lead: Int, start: Int, kept: Int),
                        _ bits: UInt64, _: T.Type) {
        let fill = withUnsafeBytes(of: bits) { $0.load(as: T.self) }
        let src = UnsafePointer(x.raw.assumingMemoryBound(to: T.self)), dst = y.raw.assumingMemoryBound(to: T.self)
        let rank = x.rank, outShape = y.shape, inStrides = x.shape.contiguousStrides
        let width = outShape[rank - 1], rows = y.count / width
        let last = tables[rank - 1], (lead, start, kept) = lastSpan
        parallelFor(rows, grain: Swift.max(1, 16384 / width)) { r in
            for row in r {
                let d = dst + row * width
                var rem = row, off = 0, constant = false
                for a in stride(from: rank - 2, through: 0, by: -1) {
                    let i = tables[a][rem % outShape[a]]
                    rem /= outShape[a]
                    if i < 0 { constant = true; break }
                    off += i * inStrides[a]
                }
                if constant { d.update(repeating: fill, count: width); continue }
                let s = src + off
                for j in 0..<lead { let i = last[j]; d[j] = i < 0 ? fill : s[i] }
                if kept > 0 { (d + lead).update(from: s + start, count: kept) }
                for j in (lead + kept)..<width { let i = last[j]; d[j] = i < 0 ? fill : s[i] }
            }
        }
    }
}

extension CPUKernelFactory {
    func visit(_ a: Pad, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makePadKernel(a, node, graph)
    }
}
