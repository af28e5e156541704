/// LinearAttention (opset 27): the recurrent (linear) attention of Gated DeltaNet, RetNet, GLA and their kin, run
/// token by token. Query, key and value are 3-D, `[batch, T, heads * size]`: q with `q_num_heads` heads of d_k,
/// key with `kv_num_heads` heads of d_k, value with kv_num_heads heads of d_v; q heads are a multiple of kv heads and
/// query head h reads kv head `h / (q_heads / kv_heads)`. Each kv head carries a state S (d_k x d_v, past_state or
/// zeros; float32 inside). For each token t, in order, with k, v, q that token's vectors:
/// - gated rules: S = exp(g) · S, g = decay (log-space; per kv head `[batch, T, kv_heads]`, or per key dimension
///   `[batch, T, kv_heads * d_k]`, scaling S's rows);
/// - delta rules: v = β · (v - Sᵀk), β = beta (`[batch, T, kv_heads]` or `[batch, T, 1]`);
/// - S = S + k ⊗ v;
/// - output = scale · qᵀS for each query head of the group (scale 0 means 1/sqrt(d_k)).
/// `update_rule`: linear (neither), gated, delta, gated_delta (both; default); decay is given exactly when the rule
/// is gated, beta exactly when it is a delta rule. Output is `[batch, T, q_heads * d_v]`, present_state the final S,
/// `[batch, kv_heads, d_k, d_v]`, in past_state's type (query's when there is no past). `chunk_size` is a tuning hint
/// with no effect on the result.
public struct LinearAttention: OpAttributes {
    public enum Rule: String, Sendable, CaseIterable { case linear, gated, delta, gatedDelta = "gated_delta" }
    public var rule: Rule
    public var qNumHeads: Int
    public var kvNumHeads: Int
    /// 0: 1/sqrt(d_k).
    public var scale: Float
    public init(rule: Rule = .gatedDelta, qNumHeads: Int, kvNumHeads: Int, scale: Float = 0) {
        self.rule = rule; self.qNumHeads = qNumHeads; self.kvNumHeads = kvNumHeads; self.scale = scale
    }
    public var opName: String { "LinearAttention" }
    public var gated: Bool { rule == .gated || rule == .gatedDelta }
    public var delta: Bool { rule == .delta || rule == .gatedDelta }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let q = try inputs.required(0, "query"), k = try inputs.required(1, "key"), v = try inputs.required(2, "value")
        try requireDType(q.type.dtype, [.float32], "query")
        try requireSameDType(k.type.dtype, as: q.type.dtype, "key")
        try requireSameDType(v.type.dtype, as: q.type.dtype, "value")
        let past = inputs.optional(3), decay = inputs.optional(4), beta = inputs.optional(5)
        if let past { try requireDType(past.type.dtype, [.float32], "past_state") }
        for (x, role) in [(decay, "decay"), (beta, "beta")] { if let x { try requireSameDType(x.type.dtype, as: q.type.dtype, role) } }
        guard gated == (decay != nil) else {
            throw DLInferError.model("update_rule '\(rule.rawValue)' \(gated ? "needs" : "takes no") decay input")
        }
        guard delta == (beta != nil) else {
            throw DLInferError.model("update_rule '\(rule.rawValue)' \(delta ? "needs" : "takes no") beta input")
        }
        guard qNumHeads > 0, kvNumHeads > 0, qNumHeads % kvNumHeads == 0 else {
            throw DLInferError.model("q_num_heads (\(qNumHeads)) must be a positive multiple of kv_num_heads (\(kvNumHeads))")
        }
        let stateType = past?.type.dtype ?? q.type.dtype
        for (x, role) in [(q, "query"), (k, "key"), (v, "value"), (decay, "decay"), (beta, "beta")] {
            if let r = x?.type.rank, r != 3 { throw DLInferError.shape("\(role) must be 3-D, got rank \(r)") }
        }
        if let r = past?.type.rank, r != 4 { throw DLInferError.shape("past_state must be 4-D, got rank \(r)") }
        let shapes = [q, k, v, past, decay, beta].map { $0?.type.fixedShape }
        if let qs = shapes[0], let ks = shapes[1], let vs = shapes[2] {
            let g = try geometry(q: qs, k: ks, v: vs)
            if past != nil, let ps = shapes[3], ps != [g.batch, kvNumHeads, g.dk, g.dv] {
                throw DLInferError.shape("past_state \(ps) must be [\(g.batch), \(kvNumHeads), \(g.dk), \(g.dv)]")
            }
            if let ds = shapes[4] { _ = try g.decayPerKey(ds) }
            if let bs = shapes[5] { _ = try g.betaPerHead(bs) }
            return [ValueType(q.type.dtype, fixed: [g.batch, g.tokens, qNumHeads * g.dv]),
                    ValueType(stateType, fixed: [g.batch, kvNumHeads, g.dk, g.dv])]
        }
        guard let qs = q.type.shape, let vs = v.type.shape else { return [ValueType(q.type.dtype, nil), ValueType(stateType, nil)] }
        let dv = dimMap(vs[2]) { $0 / kvNumHeads }
        return [ValueType(q.type.dtype, [qs[0], qs[1], dimMap(dv) { $0 * qNumHeads }]),
                ValueType(stateType, [qs[0], .fixed(kvNumHeads), dimMap(qs[2]) { $0 / qNumHeads }, dv])]
    }

    public func geometry(q: [Int], k: [Int], v: [Int]) throws -> LinearAttentionGeometry {
        guard q.count == 3, k.count == 3, v.count == 3 else { throw DLInferError.shape("query, key and value must be 3-D") }
        guard q[2] % qNumHeads == 0, v[2] % kvNumHeads == 0 else {
            throw DLInferError.shape("query's last dim \(q[2]) and value's \(v[2]) must be multiples of q_num_heads \(qNumHeads) and kv_num_heads \(kvNumHeads)")
        }
        let dk = q[2] / qNumHeads
        guard k == [q[0], q[1], kvNumHeads * dk], v[0] == q[0], v[1] == q[1] else {
            throw DLInferError.shape("query \(q), key \(k) and value \(v) do not fit together")
        }
        return LinearAttentionGeometry(batch: q[0], tokens: q[1], qHeads: qNumHeads, kvHeads: kvNumHeads, dk: dk, dv: v[2] / kvNumHeads)
    }
}

public struct LinearAttentionGeometry: Sendable {
    public var batch, tokens, qHeads, kvHeads, dk, dv: Int

    /// Whether decay of this shape is per key dimension (else per kv head).
    public func decayPerKey(_ s: [Int]) throws -> Bool {
        guard s.count == 3, s[0] == batch, s[1] == tokens, s[2] == kvHeads || s[2] == kvHeads * dk else {
            throw DLInferError.shape("decay \(s) must be [\(batch), \(tokens), \(kvHeads)] or [\(batch), \(tokens), \(kvHeads * dk)]")
        }
        return s[2] != kvHeads
    }

    /// Whether beta of this shape has one value per kv head (else one for all).
    public func betaPerHead(_ s: [Int]) throws -> Bool {
        guard s.count == 3, s[0] == batch, s[1] == tokens, s[2] == kvHeads || s[2] == 1 else {
            throw DLInferError.shape("beta \(s) must be [\(batch), \(tokens), \(kvHeads)] or [\(batch), \(tokens), 1]")
        }
        return s[2] == kvHeads && kvHeads != 1
    }
}

/// CausalConvWithState (opset 27): a causal depthwise 1-D convolution carrying its left context between calls.
/// input `[batch, channels, length]`, weight `[channels, 1, k]`, bias `[channels]` (optional), past_state
/// `[batch, channels, k - 1]` (optional; zeros when absent). With P = past ++ input along the length,
/// output[b, c, t] = bias[c] + Σ_i weight[c, 0, i] · P[b, c, t + i], then with `activation` silu (or its alias
/// swish) output · sigmoid(output); present_state = the last k - 1 positions of P. k must be at least 1.
public struct CausalConvWithState: OpAttributes {
    public var silu: Bool
    public init(silu: Bool = false) { self.silu = silu }
    public var opName: String { "CausalConvWithState" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input"), w = try inputs.required(1, "weight")
        try requireDType(x.type.dtype, [.float32], "input")
        for (i, role) in [(1, "weight"), (2, "bias"), (3, "past_state")] {
            if let t = inputs.optional(i) { try requireSameDType(t.type.dtype, as: x.type.dtype, role) }
        }
        let bias = inputs.optional(2), past = inputs.optional(3)
        for (t, role, rank) in [(x, "input", 3), (w, "weight", 3), (bias, "bias", 1), (past, "past_state", 3)] {
            if let r = t?.type.rank, r != rank { throw DLInferError.shape("\(role) must be \(rank)-D, got rank \(r)") }
        }
        if let xs = x.type.fixedShape, let ws = w.type.fixedShape {
            let k = try kernelSize(input: xs, weight: ws, bias: bias?.type.fixedShape, past: past?.type.fixedShape)
            return [x.type, ValueType(x.type.dtype, fixed: [xs[0], xs[1], k - 1])]
        }
        guard let xs = x.type.shape else { return [x.type, ValueType(x.type.dtype, nil)] }
        let k1 = w.type.shape.map { dimMap($0[2]) { $0 - 1 } } ?? .unknown
        return [x.type, ValueType(x.type.dtype, [xs[0], xs[1], k1])]
    }

    /// The kernel size, after checking the shapes fit.
    public func kernelSize(input x: [Int], weight w: [Int], bias: [Int]?, past: [Int]?) throws -> Int {
        guard x.count == 3, w.count == 3, w[0] == x[1], w[1] == 1, w[2] >= 1 else {
            throw DLInferError.shape("weight \(w) must be [\(x.count == 3 ? x[1] : 0), 1, k] with k >= 1 for input \(x)")
        }
        if let bias, bias != [x[1]] { throw DLInferError.shape("bias \(bias) must be [\(x[1])]") }
        if let past, past != [x[0], x[1], w[2] - 1] { throw DLInferError.shape("past_state \(past) must be [\(x[0]), \(x[1]), \(w[2] - 1)]") }
        return w[2]
    }
}
