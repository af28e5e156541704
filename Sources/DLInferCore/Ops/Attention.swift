/// Attention (opsets 23, 24, 25): scaled dot-product attention of query heads over key/value heads.
///
/// Inputs Q, K, V are all 4-D, `[batch, heads, sequence, head_size]`, or all 3-D, `[batch, sequence, heads * head_size]`
/// with `q_num_heads` / `kv_num_heads` giving the head counts (a 3-D tensor is read as its 4-D view, no copy). Q and K
/// share the head size; V's may differ. Query head h reads key/value head `h / (q_heads / kv_heads)` (grouped-query
/// attention; q_heads must be a multiple of kv_heads). past_key/past_value (4-D, `[batch, kv_heads, past, size]`,
/// given together) are prepended to K and V along the sequence; present_key/present_value return the concatenation
/// (K alone when there is no past). total = past + kv_sequence.
///
/// For each batch b, query head h and query row i, over key j in 0..<total:
/// - score = scale · q·k (`scale` defaults to 1/sqrt(head_size); any value, a negative one included, multiplies
///   Q·Kᵀ, which is what the spec's sqrt(scale)·Q · sqrt(scale)·K means for positive scales);
/// - with `softcap` > 0, score = softcap · tanh(score / softcap) (0 or less: no capping);
/// - bias = the mask value (bool: true 0, false -inf; float and integer masks are added as numbers; the mask broadcasts
///   numpy-style to `[batch, q_heads, q_sequence, total]` and a last dimension shorter than total counts as -inf past
///   its end), plus -inf for each structural rule that excludes j: `is_causal` (j > i + offset), the window
///   (opset 25: `left_window_size` l ≥ 0 excludes j < i + offset - l, `right_window_size` r ≥ 0 excludes
///   j > i + offset + r), and `nonpad_kv_seqlen` (opset 24+: j ≥ nonpad[b]). offset is past (with a past cache),
///   nonpad[b] - q_sequence (with nonpad_kv_seqlen), else 0. Adding -inf to a +inf or NaN mask value gives NaN, as in
///   the reference;
/// - the softmax over j of score + bias, stable (the row maximum is subtracted); a row whose maximum is -inf gives
///   zeros, a NaN anywhere makes the row NaN; a row whose bias is -inf everywhere (fully masked) gives zeros whatever
///   its scores;
/// - Y = probabilities · V (so a fully masked row gives a zero row of Y, NaN where V holds inf or NaN).
/// The optional 4th output (`[batch, q_heads, q_sequence, total]`) holds, by `qk_matmul_output_mode`: 0 the scaled
/// scores before softcap, 1 after softcap, 2 after adding the bias, 3 the probabilities. Y is 4-D
/// `[batch, q_heads, q_sequence, v_size]`, or 3-D `[batch, q_sequence, q_heads * v_size]` for 3-D inputs.
///
/// Everything computes in float32 (float16, bfloat16 and float64 go through the precision pass). For float16 and
/// bfloat16 models (`stepType`) every step rounds to that type where the reference's does, as if each step were its
/// own op (the precision pass rounds after every op): the scaled Q and K (by sqrt(scale) each), the scores, the
/// softcap's division, tanh and product, the scores plus bias, and inside the softmax the difference from the
/// maximum, each exponential, the sum (bfloat16: each partial sum, left to right) and each quotient.
/// `softmax_precision` sets the softmax's type: float32 (1) computes it unrounded, float64 (11) in float64, float16
/// (10) / bfloat16 (16) rounding as above; absent, the softmax has the scores' type. No keys (total 0) gives a zero Y.
public struct Attention: OpAttributes {
    /// What the optional 4th output holds.
    public enum QKOutput: Int, Sendable { case scores = 0, softcapped = 1, biased = 2, probabilities = 3 }

    public var isCausal: Bool
    /// For 3-D inputs (required there); for 4-D inputs, checked against the tensors' head dimension.
    public var qNumHeads: Int?
    public var kvNumHeads: Int?
    public var qkOutput: QKOutput
    public var scale: Float?
    public var softcap: Float
    /// softmax_precision: the type the softmax computes in (nil: the scores' type).
    public var softmaxType: DType?
    /// float16 or bfloat16: the type the steps round to (nil: float32 throughout).
    public var stepType: DType?
    /// -1: unbounded.
    public var leftWindow: Int
    public var rightWindow: Int

    public init(isCausal: Bool = false, qNumHeads: Int? = nil, kvNumHeads: Int? = nil, qkOutput: QKOutput = .scores,
                scale: Float? = nil, softcap: Float = 0, softmaxType: DType? = nil, stepType: DType? = nil,
                leftWindow: Int = -1, rightWindow: Int = -1) {
        self.isCausal = isCausal; self.qNumHeads = qNumHeads; self.kvNumHeads = kvNumHeads; self.qkOutput = qkOutput
        self.scale = scale; self.softcap = softcap; self.softmaxType = softmaxType; self.stepType = stepType
        self.leftWindow = leftWindow; self.rightWindow = rightWindow
    }

    public var opName: String { "Attention" }

    public static let maskTypes: [DType] = [.bool, .float32, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64]

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let q = try inputs.required(0, "Q"), k = try inputs.required(1, "K"), v = try inputs.required(2, "V")
        try requireDType(q.type.dtype, [.float32], "Q")
        try requireSameDType(k.type.dtype, as: q.type.dtype, "K")
        try requireDType(v.type.dtype, [.float32], "V")
        if let m = inputs.optional(3) { try requireDType(m.type.dtype, Attention.maskTypes, "attn_mask") }
        let pastK = inputs.optional(4), pastV = inputs.optional(5), nonpad = inputs.optional(6)
        guard (pastK == nil) == (pastV == nil) else { throw DLInferError.model("past_key and past_value must be given together") }
        if let pastK { try requireSameDType(pastK.type.dtype, as: q.type.dtype, "past_key") }
        if let pastV { try requireSameDType(pastV.type.dtype, as: v.type.dtype, "past_value") }
        if let nonpad {
            try requireDType(nonpad.type.dtype, [.int64], "nonpad_kv_seqlen")
            guard pastK == nil else { throw DLInferError.model("nonpad_kv_seqlen cannot be combined with past_key and past_value") }
            if let r = nonpad.type.rank, r != 1 { throw DLInferError.shape("nonpad_kv_seqlen must be 1-D, got rank \(r)") }
        }
        for (n, h) in [("q_num_heads", qNumHeads), ("kv_num_heads", kvNumHeads)] {
            if let h, h <= 0 { throw DLInferError.model("\(n) must be positive, got \(h)") }
        }
        for t in [softmaxType, stepType].compactMap({ $0 }) where ![.float16, .bfloat16, .float32, .float64].contains(t) {
            throw DLInferError.model("\(t) is not a float type for Attention's steps")
        }
        if let t = stepType, t != .float16 && t != .bfloat16 { throw DLInferError.model("step type \(t) is not a 16-bit float") }
        guard leftWindow >= -1, rightWindow >= -1 else {
            throw DLInferError.model("window sizes must be -1 or non-negative, got left \(leftWindow), right \(rightWindow)")
        }
        let types = [q.type.dtype, q.type.dtype, v.type.dtype, q.type.dtype]
        guard let qs = q.type.shape, let ks = k.type.shape, let vs = v.type.shape else {
            return types.map { ValueType($0, nil) }
        }
        guard [3, 4].contains(qs.count), ks.count == qs.count, vs.count == qs.count else {
            throw DLInferError.shape("Q, K and V must all be 3-D or all 4-D, got \(q.type), \(k.type), \(v.type)")
        }
        // The 4-D views.
        let q4: [Dim], k4: [Dim], v4: [Dim]
        if qs.count == 3 {
            guard let qh = qNumHeads, let kvh = kvNumHeads else {
                throw DLInferError.model("3-D Q, K and V need the q_num_heads and kv_num_heads attributes")
            }
            q4 = try split3D(qs, heads: qh, "Q"); k4 = try split3D(ks, heads: kvh, "K"); v4 = try split3D(vs, heads: kvh, "V")
        } else {
            q4 = qs; k4 = ks; v4 = vs
            for (d, h, n) in [(qs[1], qNumHeads, "q_num_heads"), (ks[1], kvNumHeads, "kv_num_heads")] {
                if let h, let dv = d.value, dv != h { throw DLInferError.shape("\(n) \(h) differs from the 4-D inputs' \(dv) heads") }
            }
        }
        try sameDim(q4[0], k4[0], "batch of Q and K"); try sameDim(q4[0], v4[0], "batch of Q and V")
        try sameDim(k4[1], v4[1], "heads of K and V"); try sameDim(k4[2], v4[2], "sequence of K and V")
        try sameDim(q4[3], k4[3], "head size of Q and K")
        if let qh = q4[1].value, let kvh = k4[1].value, kvh == 0 || qh % kvh != 0 {
            throw DLInferError.shape("q heads (\(qh)) must be a multiple of kv heads (\(kvh))")
        }
        var past: Dim = .fixed(0)
        if let pk = pastK?.type.shape, let pv = pastV?.type.shape {
            guard pk.count == 4, pv.count == 4 else { throw DLInferError.shape("past_key and past_value must be 4-D") }
            for (p, x, n) in [(pk, k4, "past_key"), (pv, v4, "past_value")] {
                try sameDim(p[0], x[0], "batch of \(n)"); try sameDim(p[1], x[1], "heads of \(n)"); try sameDim(p[3], x[3], "head size of \(n)")
            }
            try sameDim(pk[2], pv[2], "sequence of past_key and past_value")
            past = pk[2]
        } else if pastK != nil {
            past = .unknown
        }
        let total = dimSum(past, k4[2])
        if let ns = nonpad?.type.shape { try sameDim(ns[0], q4[0], "nonpad_kv_seqlen's length and the batch") }
        if let ms = inputs.optional(3)?.type.shape {
            guard (1...4).contains(ms.count) else { throw DLInferError.shape("attn_mask must have rank 1 to 4, got \(ms.count)") }
            let target = [q4[0], q4[1], q4[2]]
            for (d, t) in zip(ms.dropLast().reversed(), target.reversed()) {
                if let dv = d.value, dv != 1, let tv = t.value, dv != tv {
                    throw DLInferError.shape("attn_mask \(ms) does not broadcast to [batch, q_heads, q_sequence, total] \(q4[0]), \(q4[1]), \(q4[2]), \(total)")
                }
            }
            if let last = ms.last?.value, let t = total.value, last > t {
                throw DLInferError.shape("attn_mask's last dimension \(last) exceeds the total sequence \(t)")
            }
        }
        let y: [Dim] = qs.count == 4 ? [q4[0], q4[1], q4[2], v4[3]]
            : [q4[0], q4[2], q4[1].value.flatMap { h in v4[3].value.map { .fixed(h * $0) } } ?? .unknown]
        return [ValueType(types[0], y), ValueType(types[1], [k4[0], k4[1], total, k4[3]]),
                ValueType(types[2], [v4[0], v4[1], total, v4[3]]), ValueType(types[3], [q4[0], q4[1], q4[2], total])]
    }

    /// `[batch, sequence, heads * size]` as `[batch, heads, sequence, size]`.
    private func split3D(_ s: [Dim], heads: Int, _ role: String) throws -> [Dim] {
        if let h = s[2].value, h % heads != 0 {
            throw DLInferError.shape("\(role)'s hidden size \(h) is not a multiple of its \(heads) heads")
        }
        return [s[0], .fixed(heads), s[1], dimMap(s[2]) { $0 / heads }]
    }

    /// The concrete problem for these input shapes, validated.
    public func geometry(q: [Int], k: [Int], v: [Int], pastKey: [Int]?, pastValue: [Int]?) throws -> AttentionGeometry {
        guard [3, 4].contains(q.count), k.count == q.count, v.count == q.count else {
            throw DLInferError.shape("Q, K and V must all be 3-D or all 4-D, got \(q), \(k), \(v)")
        }
        func view(_ s: [Int], _ heads: Int?, _ role: String) throws -> [Int] {
            if s.count == 4 {
                if let heads, heads != s[1] { throw DLInferError.shape("\(role) has \(s[1]) heads, the attribute says \(heads)") }
                return s
            }
            guard let h = heads, h > 0, s[2] % h == 0 else {
                throw DLInferError.shape("\(role)'s hidden size \(s[2]) is not a multiple of its \(heads ?? 0) heads")
            }
            return [s[0], h, s[1], s[2] / h]
        }
        let q4 = try view(q, qNumHeads, "Q"), k4 = try view(k, kvNumHeads, "K"), v4 = try view(v, kvNumHeads, "V")
        let past = pastKey?[2] ?? 0
        guard past >= 0, q4[1] > 0, k4[1] > 0, q4[1] % k4[1] == 0,
              q4[0] == k4[0], q4[0] == v4[0], k4[1] == v4[1], k4[2] == v4[2], q4[3] == k4[3] else {
            throw DLInferError.shape("Attention inputs Q \(q), K \(k), V \(v) do not fit together")
        }
        if let pk = pastKey, let pv = pastValue {
            guard pk == [k4[0], k4[1], past, k4[3]], pv == [v4[0], v4[1], past, v4[3]] else {
                throw DLInferError.shape("past_key \(pk) and past_value \(pv) do not fit K \(k) and V \(v)")
            }
        }
        let (total, overflow) = past.addingReportingOverflow(k4[2])
        guard !overflow else { throw DLInferError.shape("past plus kv sequence overflows") }
        return AttentionGeometry(batch: q4[0], qHeads: q4[1], kvHeads: k4[1], qSequence: q4[2], kvSequence: k4[2],
                                 past: past, total: total, headSize: q4[3], vHeadSize: v4[3], packed: q.count == 3)
    }
}

/// One Attention problem's sizes; `packed`: Q, K, V and Y are 3-D (`[batch, sequence, heads * size]`).
public struct AttentionGeometry: Sendable, Equatable {
    public var batch, qHeads, kvHeads, qSequence, kvSequence, past, total, headSize, vHeadSize: Int
    public var packed: Bool
}

/// Throws unless two dims can be the same (equal when both are known).
func sameDim(_ a: Dim, _ b: Dim, _ what: String) throws {
    if let x = a.value, let y = b.value, x != y { throw DLInferError.shape("\(what) differ: \(x) and \(y)") }
}

/// a + b, symbolic unless both are known (or one is a known 0).
func dimSum(_ a: Dim, _ b: Dim) -> Dim {
    if let x = a.value, let y = b.value { return .fixed(x + y) }
    if a == .fixed(0) { return b }
    if b == .fixed(0) { return a }
    return .unknown
}
