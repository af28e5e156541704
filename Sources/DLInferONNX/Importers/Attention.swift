import DLInferCore

let attentionImporters: [String: OpImporter] = [
    "Attention": { c in
        // nonpad_kv_seqlen (input 6) came with opset 24, the window attributes with 25.
        let maxInputs = c.opset >= 24 ? 7 : 6
        guard c.inputCount <= maxInputs else {
            throw DLInferError.model("Attention takes at most \(maxInputs) inputs at opset \(c.opset), got \(c.inputCount)")
        }
        guard c.outputCount <= 4 else { throw DLInferError.model("Attention has at most 4 outputs, got \(c.outputCount)") }
        let mode = try c.int("qk_matmul_output_mode", default: 0)
        guard let qkOutput = Attention.QKOutput(rawValue: mode) else {
            throw c.unsupported("qk_matmul_output_mode", "\(mode) (0 to 3 are defined)")
        }
        var softmaxType: DType? = nil
        if let p = try c.int("softmax_precision") {
            let types: [Int: DType] = [1: .float32, 10: .float16, 11: .float64, 16: .bfloat16]
            guard let t = types[p] else {
                throw c.unsupported("softmax_precision", "\(p) (FLOAT 1, FLOAT16 10, DOUBLE 11 and BFLOAT16 16 are defined)")
            }
            softmaxType = t
        }
        // 16-bit models round every step to their type, as the spec's steps do.
        let stepType = c.inputType(0).map(\.dtype).flatMap { [.float16, .bfloat16].contains($0) ? $0 : nil }
        var a = Attention(isCausal: try c.zeroOrOne("is_causal", default: 0), qNumHeads: try c.int("q_num_heads"),
                          kvNumHeads: try c.int("kv_num_heads"), qkOutput: qkOutput, scale: try c.float("scale"),
                          softcap: try c.float("softcap", default: 0), softmaxType: softmaxType, stepType: stepType)
        if c.opset >= 25 {
            a.leftWindow = try c.int("left_window_size", default: -1)
            a.rightWindow = try c.int("right_window_size", default: -1)
            if let r = c.inputType(0)?.rank, r == 4, a.qNumHeads != nil || a.kvNumHeads != nil {
                throw DLInferError.model("q_num_heads and kv_num_heads must not be given for 4-D inputs (opset 25)")
            }
        }
        return .attention(a)
    },
    "RotaryEmbedding": { c in
        .rotaryEmbedding(RotaryEmbedding(interleaved: try c.zeroOrOne("interleaved", default: 0),
                                         rotaryDim: try c.int("rotary_embedding_dim", default: 0), numHeads: try c.int("num_heads")))
    },
    "SwiGLU": { c in .swiGLU(SwiGLU(alpha: try c.float("alpha", default: 1))) },
    "TensorScatter": { c in
        let mode = try c.string("mode", default: "linear")
        guard mode == "linear" || mode == "circular" else { throw c.unsupported("mode", "'\(mode)' (linear and circular are defined)") }
        return .tensorScatter(TensorScatter(axis: try c.int("axis", default: -2), circular: mode == "circular"))
    },
    "LinearAttention": { c in
        let name = try c.string("update_rule", default: "gated_delta")
        guard let rule = LinearAttention.Rule(rawValue: name) else {
            throw c.unsupported("update_rule", "'\(name)' (linear, gated, delta and gated_delta are defined)")
        }
        guard let qh = try c.int("q_num_heads"), let kvh = try c.int("kv_num_heads") else {
            throw DLInferError.model("LinearAttention needs the q_num_heads and kv_num_heads attributes")
        }
        // A tuning hint for chunked implementations; the token-by-token recurrence gives the same result.
        _ = try c.int("chunk_size", default: 64)
        return .linearAttention(LinearAttention(rule: rule, qNumHeads: qh, kvNumHeads: kvh, scale: try c.float("scale", default: 0)))
    },
    "CausalConvWithState": { c in
        let act = try c.string("activation", default: "none")
        guard ["none", "silu", "swish"].contains(act) else {
            throw c.unsupported("activation", "'\(act)' (none, silu and swish are defined)")
        }
        return .causalConvWithState(CausalConvWithState(silu: act != "none"))
    },
]
