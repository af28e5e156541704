import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// ONNX Attention: present_key/present_value are written first (the past cache, then the new keys), then every
/// (batch, query head) pair runs through `runAttention`, reading Q, K, V, Y in place whether 3-D or 4-D. Without
/// present outputs the past cache and the new keys are two runs of the same product, so nothing is concatenated.
final class AttentionKernel: Kernel {
    let attrs: Attention
    init(_ a: Attention) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let q = inputs[0]!, k = inputs[1]!, v = inputs[2]!
        let input = { (i: Int) in i < inputs.count ? inputs[i] : nil }
        let mask = input(3), pastK = input(4), pastV = input(5), nonpad = input(6)
        let g = try attrs.geometry(q: q.shape, k: k.shape, v: v.shape, pastKey: pastK?.shape, pastValue: pastV?.shape)
        let y = try outputs.make(0)
        let presentK = outputs.wanted(1) ? try outputs.make(1) : nil
        let presentV = outputs.wanted(2) ? try outputs.make(2) : nil
        let qk = outputs.wanted(3) ? try outputs.make(3) : nil
        if let presentK { concatenate(pastK, k, into: presentK, g, size: g.headSize) }
        if let presentV { concatenate(pastV, v, into: presentV, g, size: g.vHeadSize) }

        var lengths: [Int]? = nil
        if let nonpad {
            guard nonpad.shape == [g.batch] else {
                throw DLInferError.shape("nonpad_kv_seqlen has shape \(nonpad.shape); it must be [\(g.batch)]")
            }
            // Clamped: only the comparison with positions in 0..<total matters, and offsets must not overflow.
            let bound = Int64(g.total) + Int64(g.qSequence) + 1
            lengths = nonpad.array(Int64.self).map { Int(Swift.min(Swift.max($0, -bound), bound)) }
        }
        var bias: MaskRows? = nil
        if let mask { bias = try MaskRows(mask, g, outputs) }
        // 16-bit models: Q and K scaled by sqrt(scale) each and rounded, as the reference's first step.
        let steps = StepRounding(attrs.stepType)
        let scale = attrs.scale.map(Double.init) ?? 1 / Double(g.headSize).squareRoot()
        var alpha = Float(scale)
        var scaled: (q: Tensor, k: Tensor, past: Tensor?)? = nil
        if let r = steps {
            let root = r(Float(scale.squareRoot()))
            func scaledCopy(_ t: Tensor) throws -> Tensor {
                let c = try outputs.make(.float32, t.shape), src = t.pointer(Float.self), dst = c.pointer(Float.self)
                parallelFor(t.count, grain: 16384) { range in for i in range { dst[i] = r(src[i] * root) } }
                return c
            }
            scaled = (try scaledCopy(q), try scaledCopy(k), try pastK.map(scaledCopy))
            alpha = 1
        }
        let keys = scaled?.k ?? presentK ?? k
        let problem = ONNXAttention(
            attrs: attrs, g: g, alpha: alpha, steps: steps, q: UnsafePointer((scaled?.q ?? q).pointer(Float.self)),
            k: UnsafePointer(keys.pointer(Float.self)), keysPresent: scaled == nil && presentK != nil,
            v: UnsafePointer(presentV?.pointer(Float.self) ?? v.pointer(Float.self)), valuesPresent: presentV != nil,
            pastK: (scaled?.past ?? pastK).map { UnsafePointer($0.pointer(Float.self)) },
            pastV: pastV.map { UnsafePointer($0.pointer(Float.self)) },
            y: y.pointer(Float.self), qk: qk?.pointer(Float.self), mask: bias, lengths: lengths)
        try runAttention(problem)
        return [y, presentK, presentV, qk]
    }

    /// present = past ++ new along the sequence, per (batch, kv head); 3-D new keys are read as their 4-D view.
    private func concatenate(_ past: Tensor?, _ new: Tensor, into out: Tensor, _ g: AttentionGeometry, size: Int) {
        let o = out.pointer(Float.self), n = UnsafePointer(new.pointer(Float.self))
        let p = past.map { UnsafePointer($0.pointer(Float.self)) }
        let kvh = g.kvHeads, s = g.kvSequence, total = g.total, past = g.past, packed = g.packed
        parallelFor(g.batch * kvh, grain: Swift.max(1, 16384 / Swift.max(1, total * size))) { r in
            for bh in r {
                let dst = o + bh * total * size
                if let p { dst.update(from: p + bh * past * size, count: past * size) }
                if packed {
                    let b = bh / kvh, h = bh % kvh
                    for i in 0..<s { (dst + (past + i) * size).update(from: n + (b * s + i) * kvh * size + h * size, count: size) }
                } else {
                    (dst + past * size).update(from: n + bh * s * size, count: s * size)
                }
            }
        }
    }
}

/// attn_mask as rows of the bias: its shape aligned right against [batch, q_heads, q_sequence, total], a stride of
/// 0 on broadcast dims, the last dim (which may be shorter than total) read as is. Integer masks are converted to
/// float32 once.
struct MaskRows {
    let bools: UnsafePointer<Bool>?
    let floats: UnsafePointer<Float>?
    let strides: (Int, Int, Int)
    let length: Int
    /// Keeps a converted mask alive.
    let storage: Tensor

    init(_ mask: Tensor, _ g: AttentionGeometry, _ outputs: KernelOutputs) throws {
        guard (1...4).contains(mask.rank) else { throw DLInferError.shape("attn_mask must have rank 1 to 4, got \(mask.shape)") }
        let dims = [Int](repeating: 1, count: 4 - mask.rank) + mask.shape
        let target = [g.batch, g.qHeads, g.qSequence]
        for a in 0..<3 where dims[a] != 1 && dims[a] != target[a] {
            throw DLInferError.shape("attn_mask \(mask.shape) does not broadcast to [\(g.batch), \(g.qHeads), \(g.qSequence), \(g.total)]")
        }
        guard dims[3] <= g.total else {
            throw DLInferError.shape("attn_mask's last dimension \(dims[3]) exceeds the total sequence \(g.total)")
        }
        let c = dims.contiguousStrides
        strides = (dims[0] == 1 ? 0 : c[0], dims[1] == 1 ? 0 : c[1], dims[2] == 1 ? 0 : c[2])
        length = dims[3]
        switch mask.dtype {
        case .bool:
            storage = mask; bools = UnsafePointer(mask.pointer(Bool.self)); floats = nil
        case .float32:
            storage = mask; bools = nil; floats = UnsafePointer(mask.pointer(Float.self))
        default:
            let f = try outputs.make(.float32, mask.shape)
            try convertToFloat(mask, f)
            storage = f; bools = nil; floats = UnsafePointer(f.pointer(Float.self))
        }
    }
}

/// Integer mask values as float32 (they are added to the scores as numbers).
private func convertToFloat(_ x: Tensor, _ y: Tensor) throws {
    let d = y.pointer(Float.self), n = x.count
    func each<T: BinaryInteger & TensorElement>(_: T.Type) { let s = x.pointer(T.self); for i in 0..<n { d[i] = Float(s[i]) } }
    switch x.dtype {
    case .int8: each(Int8.self)
    case .int16: each(Int16.self)
    case .int32: each(Int32.self)
    case .int64: each(Int64.self)
    case .uint8: each(UInt8.self)
    case .uint16: each(UInt16.self)
    case .uint32: each(UInt32.self)
    case .uint64: each(UInt64.self)
    default: throw DLInferError.unsupported("attn_mask of type \(x.dtype)")
    }
}

/// The ONNX op's view of its tensors and its per-row rules (softcap, mask, causal, window, padding, the fully-masked
/// guard, the 4th output).
private struct ONNXAttention: AttentionProblem {
    let attrs: Attention
    let g: AttentionGeometry
    let alpha: Float
    let steps: StepRounding?
    let q: UnsafePointer<Float>
    let k: UnsafePointer<Float>
    /// `k` is present_key ([batch, kv_heads, total, size], past included).
    let keysPresent: Bool
    let v: UnsafePointer<Float>
    let valuesPresent: Bool
    let pastK: UnsafePointer<Float>?
    let pastV: UnsafePointer<Float>?
    let y: UnsafeMutablePointer<Float>
    let qk: UnsafeMutablePointer<Float>?
    let mask: MaskRows?
    let lengths: [Int]?

    var heads: Int { g.batch * g.qHeads }
    var rows: Int { g.qSequence }
    var total: Int { g.total }
    var headSize: Int { g.headSize }
    var vHeadSize: Int { g.vHeadSize }
    var rowScratch: Int { attrs.softmaxType == .float64 ? 2 * g.total : 0 }

    func operands(_ head: Int) -> HeadOperands {
        let b = head / g.qHeads, h = head % g.qHeads, kvh = h / (g.qHeads / g.kvHeads)
        let bk = b * g.kvHeads + kvh
        let hs = g.headSize, vs = g.vHeadSize, s = g.kvSequence
        let qBase: UnsafePointer<Float>, ldq: Int, yBase: UnsafeMutablePointer<Float>, ldy: Int
        let newK: SequenceRun, newV: SequenceRun
        if g.packed {
            qBase = q + b * g.qSequence * g.qHeads * hs + h * hs; ldq = g.qHeads * hs
            yBase = y + b * g.qSequence * g.qHeads * vs + h * vs; ldy = g.qHeads * vs
            newK = SequenceRun(base: k + b * s * g.kvHeads * hs + kvh * hs, ld: g.kvHeads * hs, count: s)
            newV = SequenceRun(base: v + b * s * g.kvHeads * vs + kvh * vs, ld: g.kvHeads * vs, count: s)
        } else {
            qBase = q + head * g.qSequence * hs; ldq = hs
            yBase = y + head * g.qSequence * vs; ldy = vs
            newK = SequenceRun(base: k + bk * s * hs, ld: hs, count: s)
            newV = SequenceRun(base: v + bk * s * vs, ld: vs, count: s)
        }
        let keys: (SequenceRun, SequenceRun?) = keysPresent
            ? (SequenceRun(base: k + bk * g.total * hs, ld: hs, count: g.total), nil)
            : pastK.map { (SequenceRun(base: $0 + bk * g.past * hs, ld: hs, count: g.past), newK) } ?? (newK, nil)
        let values: (SequenceRun, SequenceRun?) = valuesPresent
            ? (SequenceRun(base: v + bk * g.total * vs, ld: vs, count: g.total), nil)
            : pastV.map { (SequenceRun(base: $0 + bk * g.past * vs, ld: vs, count: g.past), newV) } ?? (newV, nil)
        return HeadOperands(q: qBase, ldq: ldq, keys: keys, values: values, y: yBase, ldy: ldy)
    }

    func finishRow(head: Int, row i: Int, _ s: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) throws {
        let n = g.total, b = head / g.qHeads, h = head % g.qHeads
        let out = qk.map { $0 + (head * g.qSequence + i) * n }
        if let r = steps { for j in 0..<n { s[j] = r(s[j]) } }
        if attrs.qkOutput == .scores, let out { out.update(from: s, count: n) }
        if attrs.softcap > 0 {
            if let r = steps {
                let cap = r(attrs.softcap)
                for j in 0..<n { s[j] = r(r(tanhf(r(s[j] / cap))) * cap) }
            } else {
                let cap = attrs.softcap
                for j in 0..<n { s[j] = cap * tanhf(s[j] / cap) }
            }
        }
        if attrs.qkOutput == .softcapped, let out { out.update(from: s, count: n) }
        let fullyMasked = addBias(s, batch: b, head: h, row: i)
        if let r = steps { for j in 0..<n { s[j] = r(s[j]) } }
        if attrs.qkOutput == .biased, let out { out.update(from: s, count: n) }
        if fullyMasked { s.update(repeating: 0, count: n) } else {
            let t = attrs.softmaxType
            attentionSoftmax(s, n, double: t == .float64, rounding: t == nil ? steps : StepRounding(t), scratch: scratch)
            if let r = steps, t != nil { for j in 0..<n { s[j] = r(s[j]) } }
        }
        if attrs.qkOutput == .probabilities, let out { out.update(from: s, count: n) }
    }

    /// Adds the row's bias (mask, then -inf where a structural rule excludes a key) to the scores; returns whether
    /// every key's bias is -inf.
    private func addBias(_ s: UnsafeMutablePointer<Float>, batch b: Int, head h: Int, row i: Int) -> Bool {
        let n = g.total
        // The keys the structural rules allow: lo...hi.
        var lo = 0, hi = n - 1, structural = false
        let offset = lengths.map { $0[b] - g.qSequence } ?? g.past
        if attrs.isCausal { hi = Swift.min(hi, i + offset); structural = true }
        if attrs.leftWindow >= 0 { lo = Swift.max(lo, i + offset - attrs.leftWindow); structural = true }
        if attrs.rightWindow >= 0 { hi = Swift.min(hi, i + offset + attrs.rightWindow); structural = true }
        if let lengths { hi = Swift.min(hi, lengths[b] - 1); structural = true }
        guard let mask else {
            guard structural else { return false }
            for j in 0..<n where j < lo || j > hi { s[j] += -.infinity }
            return n > 0 && lo > hi
        }
        let at = b * mask.strides.0 + h * mask.strides.1 + i * mask.strides.2, len = mask.length
        var allMasked = n > 0
        for j in 0..<n {
            var bias: Float
            if j >= len { bias = -.infinity } else if let m = mask.bools { bias = m[at + j] ? 0 : -.infinity } else {
                bias = mask.floats![at + j]
            }
            if structural && (j < lo || j > hi) { bias += -.infinity }
            if bias != -.infinity { allMasked = false }
            s[j] += bias
        }
        return allMasked
    }
}

extension CPUKernelFactory {
    func visit(_ a: Attention, _ _: Node, _ _: Graph) -> HostKernel {
        AttentionKernel(a)
    }
}
