import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// LinearAttention: each (batch, kv head) state lives in present_state and is stepped through the tokens in order;
/// the pairs run in parallel.
final class LinearAttentionKernel: Kernel {
    let attrs: LinearAttention
    init(_ a: LinearAttention) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let q = inputs[0]!, k = inputs[1]!, v = inputs[2]!
        let input = { (i: Int) in i < inputs.count ? inputs[i] : nil }
        let past = input(3), decay = input(4), beta = input(5)
        let g = try attrs.geometry(q: q.shape, k: k.shape, v: v.shape)
        guard attrs.gated == (decay != nil), attrs.delta == (beta != nil) else {
            throw DLInferError.model("update_rule '\(attrs.rule.rawValue)' does not match the decay and beta inputs given")
        }
        let decayPerKey = try decay.map { try g.decayPerKey($0.shape) } ?? false
        let betaPerHead = try beta.map { try g.betaPerHead($0.shape) } ?? false
        if let past, past.shape != [g.batch, g.kvHeads, g.dk, g.dv] {
            throw DLInferError.shape("past_state \(past.shape) must be [\(g.batch), \(g.kvHeads), \(g.dk), \(g.dv)]")
        }
        let y = try outputs.make(0), state = try outputs.make(1)
        let dk = g.dk, dv = g.dv, kvh = g.kvHeads, qh = g.qHeads, tokens = g.tokens, group = qh / kvh
        let sp = state.pointer(Float.self)
        if let past { sp.update(from: past.pointer(Float.self), count: state.count) } else { sp.update(repeating: 0, count: state.count) }
        let qp = UnsafePointer(q.pointer(Float.self)), kp = UnsafePointer(k.pointer(Float.self))
        let vp = UnsafePointer(v.pointer(Float.self)), yp = y.pointer(Float.self)
        let dp = decay.map { UnsafePointer($0.pointer(Float.self)) }, bp = beta.map { UnsafePointer($0.pointer(Float.self)) }
        let scale = attrs.scale == 0 ? 1 / Float(dk).squareRoot() : attrs.scale
        try parallelForThrowing(g.batch * kvh) { r in
            try Scratch.withFloats(2 * dv) { scratch in
                let retrieved = scratch, update = scratch + dv
                for bh in r {
                    let b = bh / kvh, h = bh % kvh, s = sp + bh * dk * dv
                    for t in 0..<tokens {
                        let row = b * tokens + t
                        let kt = kp + row * kvh * dk + h * dk, vt = vp + row * kvh * dv + h * dv
                        if let dp {
                            // S = exp(g) · S: one factor per key dimension (row of S) or per head.
                            let gt = decayPerKey ? dp + row * kvh * dk + h * dk : dp + row * kvh + h
                            for d in 0..<dk {
                                let f = expf(decayPerKey ? gt[d] : gt[0])
                                let sr = s + d * dv
                                for m in 0..<dv { sr[m] *= f }
                            }
                        }
                        var written = UnsafePointer(vt)
                        if let bp {
                            // v = β · (v - Sᵀk)
                            let bt = bp[betaPerHead ? row * kvh + h : row]
                            retrieved.update(repeating: 0, count: dv)
                            for d in 0..<dk {
                                let kd = kt[d], sr = s + d * dv
                                for m in 0..<dv { retrieved[m] += sr[m] * kd }
                            }
                            for m in 0..<dv { update[m] = bt * (vt[m] - retrieved[m]) }
                            written = UnsafePointer(update)
                        }
                        // S += k ⊗ v
                        for d in 0..<dk {
                            let kd = kt[d], sr = s + d * dv
                            for m in 0..<dv { sr[m] += kd * written[m] }
                        }
                        // Each query head of the group reads the state: out = scale · qᵀS.
                        for j in 0..<group {
                            let head = h * group + j
                            let qt = qp + row * qh * dk + head * dk, out = yp + row * qh * dv + head * dv
                            out.update(repeating: 0, count: dv)
                            for d in 0..<dk {
                                let qd = qt[d], sr = s + d * dv
                                for m in 0..<dv { out[m] += qd * sr[m] }
                            }
                            for m in 0..<dv { out[m] *= scale }
                        }
                    }
                }
            }
        }
        return [y, state]
    }
}

/// CausalConvWithState: per (batch, channel) row, a k-tap dot product over the concatenation of the state and the
/// input (read from the two without building it), then the optional SiLU; present_state is the concatenation's tail.
final class CausalConvWithStateKernel: Kernel {
    let attrs: CausalConvWithState
    init(_ a: CausalConvWithState) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, w = inputs[1]!
        let bias = inputs.count > 2 ? inputs[2] : nil, past = inputs.count > 3 ? inputs[3] : nil
        let k = try attrs.kernelSize(input: x.shape, weight: w.shape, bias: bias?.shape, past: past?.shape)
        let y = try outputs.make(0), state = try outputs.make(1)
        let channels = x.shape[1], length = x.shape[2], carry = k - 1
        let xp = UnsafePointer(x.pointer(Float.self)), wp = UnsafePointer(w.pointer(Float.self))
        let bp = bias.map { UnsafePointer($0.pointer(Float.self)) }, pp = past.map { UnsafePointer($0.pointer(Float.self)) }
        let yp = y.pointer(Float.self), sp = state.pointer(Float.self), silu = attrs.silu
        parallelFor(x.shape[0] * channels, grain: Swift.max(1, 8192 / Swift.max(1, length * k))) { r in
            for row in r {
                let c = row % channels, taps = wp + c * k
                let xr = xp + row * length, pr = pp.map { $0 + row * carry }
                // Position p of past ++ input.
                @inline(__always) func at(_ p: Int) -> Float { p < carry ? (pr?[p] ?? 0) : xr[p - carry] }
                let out = yp + row * length
                for t in 0..<length {
                    var acc: Float = 0
                    for i in 0..<k { acc += taps[i] * at(t + i) }
                    if let bp { acc += bp[c] }
                    out[t] = silu ? acc * (1 / (1 + expf(-acc))) : acc
                }
                let st = sp + row * carry
                for i in 0..<carry { st[i] = at(length + i) }
            }
        }
        return [y, state]
    }
}

extension CPUKernelFactory {
    func visit(_ a: CausalConvWithState, _ _: Node, _ _: Graph) -> HostKernel {
        CausalConvWithStateKernel(a)
    }

    func visit(_ a: LinearAttention, _ _: Node, _ _: Graph) -> HostKernel {
        LinearAttentionKernel(a)
    }
}
