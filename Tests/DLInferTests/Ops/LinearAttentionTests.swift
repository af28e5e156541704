import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// LinearAttention (every update rule) and CausalConvWithState against naive float64 references written from the
/// spec's formulas, plus nodes and inputs that must be rejected.
final class LinearAttentionTests: XCTestCase {
    // MARK: LinearAttention

    /// The spec's recurrence, token by token, on [B, T, H*D] tensors.
    private func naiveLinearAttention(rule: String, q: [Double], k: [Double], v: [Double], past: [Double]?, decay: [Double]?,
                                      decayPerKey: Bool, beta: [Double]?, betaPerHead: Bool, b B: Int, t T: Int,
                                      qh: Int, kvh: Int, dk: Int, dv: Int, scale: Double) -> (y: [Double], state: [Double]) {
        var S = past ?? [Double](repeating: 0, count: B * kvh * dk * dv)
        var y = [Double](repeating: 0, count: B * T * qh * dv)
        let group = qh / kvh
        for b in 0..<B { for h in 0..<kvh {
            let s0 = (b * kvh + h) * dk * dv
            for t in 0..<T {
                let row = b * T + t
                let kt = (0..<dk).map { k[row * kvh * dk + h * dk + $0] }, vt = (0..<dv).map { v[row * kvh * dv + h * dv + $0] }
                var prev = Array(S[s0..<(s0 + dk * dv)])
                if let decay {
                    for d in 0..<dk {
                        let g = decayPerKey ? decay[row * kvh * dk + h * dk + d] : decay[row * kvh + h]
                        for m in 0..<dv { prev[d * dv + m] *= exp(g) }
                    }
                }
                var written = vt
                if let beta {
                    let bt = betaPerHead ? beta[row * kvh + h] : beta[row]
                    for m in 0..<dv {
                        let retrieved = (0..<dk).reduce(0.0) { $0 + prev[$1 * dv + m] * kt[$1] }
                        written[m] = bt * (vt[m] - retrieved)
                    }
                }
                for d in 0..<dk { for m in 0..<dv { S[s0 + d * dv + m] = prev[d * dv + m] + kt[d] * written[m] } }
                for j in 0..<group {
                    let head = h * group + j
                    for m in 0..<dv {
                        y[row * qh * dv + head * dv + m] = scale * (0..<dk).reduce(0.0) { $0 + q[row * qh * dk + head * dk + $1] * S[s0 + $1 * dv + m] }
                    }
                }
            }
        } }
        return (y, S)
    }

    func testLinearAttentionEveryRule() throws {
        let (B, T, qh, kvh, dk, dv) = (2, 6, 4, 2, 3, 5)
        let q = TestData.random([B, T, qh * dk], seed: 24), k = TestData.random([B, T, kvh * dk], seed: 25, scale: 0.5)
        let v = TestData.random([B, T, kvh * dv], seed: 26), past = TestData.random([B, kvh, dk, dv], seed: 27)
        let cases: [(String, [Int]?, [Int]?, Bool, Float)] = [
            ("linear", nil, nil, true, 0), ("gated", [B, T, kvh], nil, false, 0.7), ("gated", [B, T, kvh * dk], nil, true, 0),
            ("delta", nil, [B, T, kvh], true, 0), ("delta", nil, [B, T, 1], false, 0),
            ("gated_delta", [B, T, kvh * dk], [B, T, kvh], true, 0.25), ("gated_delta", [B, T, kvh], [B, T, 1], true, 0),
        ]
        for (i, (rule, decayShape, betaShape, withPast, scale)) in cases.enumerated() {
            // Decay in log space (negative), beta in (0, 1).
            let decay = decayShape.map { Tensor(TestData.random($0, seed: 30 + i).array(Float.self).map { -abs($0) }, shape: $0) }
            let beta = betaShape.map { Tensor(TestData.random($0, seed: 40 + i).array(Float.self).map { 0.5 + $0 / 2 }, shape: $0) }
            let got = try OneNode.run("LinearAttention", opset: 27, [q, k, v, withPast ? past : nil, decay, beta],
                                      attrs: [attr("update_rule", rule), attr("q_num_heads", qh), attr("kv_num_heads", kvh),
                                              attr("scale", scale)], outputCount: 2)
            let want = naiveLinearAttention(
                rule: rule, q: elementValues(q), k: elementValues(k), v: elementValues(v), past: withPast ? elementValues(past) : nil,
                decay: decay.map(elementValues), decayPerKey: decayShape?.last == kvh * dk, beta: beta.map(elementValues),
                betaPerHead: betaShape?.last == kvh, b: B, t: T, qh: qh, kvh: kvh, dk: dk, dv: dv,
                scale: scale == 0 ? 1 / Double(dk).squareRoot() : Double(scale))
            XCTAssertEqual(got[0].shape, [B, T, qh * dv]); XCTAssertEqual(got[1].shape, [B, kvh, dk, dv])
            assertClose(got[0], want.y, shape: [B, T, qh * dv], rtol: 1e-4, atol: 1e-5, "\(rule) \(i): output")
            assertClose(got[1], want.state, shape: [B, kvh, dk, dv], rtol: 1e-4, atol: 1e-5, "\(rule) \(i): present_state")
        }
    }

    func testLinearAttentionRejects() {
        let q = TestData.random([1, 2, 4], seed: 50), k = TestData.random([1, 2, 4], seed: 51), v = TestData.random([1, 2, 4], seed: 52)
        let heads = [attr("q_num_heads", 2), attr("kv_num_heads", 2)]
        XCTAssertThrowsError(try OneNode.run("LinearAttention", opset: 27, [q, k, v], attrs: heads + [attr("update_rule", "gated")],
                                             outputCount: 1), "gated without decay")
        XCTAssertThrowsError(try OneNode.run("LinearAttention", opset: 27, [q, k, v, nil, nil, TestData.random([1, 2, 2], seed: 53)],
                                             attrs: heads + [attr("update_rule", "linear")], outputCount: 1), "linear with beta")
        XCTAssertThrowsError(try OneNode.run("LinearAttention", opset: 27, [q, k, v], attrs: heads + [attr("update_rule", "mamba")],
                                             outputCount: 1), "unknown rule")
        XCTAssertThrowsError(try OneNode.run("LinearAttention", opset: 27, [q, k, v],
                                             attrs: [attr("q_num_heads", 2), attr("kv_num_heads", 3), attr("update_rule", "linear")],
                                             outputCount: 1),
                             "q heads not a multiple of kv heads")
        XCTAssertThrowsError(try OneNode.run("LinearAttention", opset: 27, [q, k, v], attrs: [attr("update_rule", "linear")],
                                             outputCount: 1), "no head counts")
    }

    // MARK: CausalConvWithState

    func testCausalConvWithStateAndSiLU() throws {
        for (batch, channels, length, k, withBias, withPast, act) in [
            (2, 3, 7, 4, true, true, "silu"), (2, 3, 7, 4, false, false, "none"), (1, 5, 2, 4, true, true, "swish"),
            (3, 2, 5, 1, true, false, "none"), (4, 64, 200, 3, true, true, "silu"),
        ] {
            let x = TestData.random([batch, channels, length], seed: 60), w = TestData.random([channels, 1, k], seed: 61)
            let bias = TestData.random([channels], seed: 62), past = TestData.random([batch, channels, k - 1], seed: 63)
            let got = try OneNode.run("CausalConvWithState", opset: 27,
                                      [x, w, withBias ? bias : nil, withPast ? past : nil],
                                      attrs: [attr("activation", act)], outputCount: 2)
            let xv = elementValues(x), wv = elementValues(w), bv = elementValues(bias), pv = elementValues(past)
            var y = [Double](), state = [Double]()
            for b in 0..<batch { for c in 0..<channels {
                let row = b * channels + c
                let padded = (withPast ? Array(pv[(row * (k - 1))..<((row + 1) * (k - 1))]) : [Double](repeating: 0, count: k - 1))
                    + xv[(row * length)..<((row + 1) * length)]
                for t in 0..<length {
                    var acc = (0..<k).reduce(0.0) { $0 + wv[c * k + $1] * padded[t + $1] } + (withBias ? bv[c] : 0)
                    if act != "none" { acc = acc / (1 + exp(-acc)) }
                    y.append(acc)
                }
                state += padded[(padded.count - (k - 1))...]
            } }
            let what = "b \(batch) c \(channels) l \(length) k \(k) \(act)"
            XCTAssertEqual(got[1].shape, [batch, channels, k - 1], what)
            assertClose(got[0], y, shape: [batch, channels, length], rtol: 1e-5, atol: 1e-6, "\(what): output")
            assertClose(got[1], state, shape: [batch, channels, k - 1], rtol: 0, atol: 0, "\(what): present_state")
        }
    }

    func testCausalConvWithStateRejects() {
        let x = TestData.random([1, 3, 5], seed: 64)
        XCTAssertThrowsError(try OneNode.run("CausalConvWithState", opset: 27, [x, TestData.random([3, 2, 3], seed: 65)],
                                             outputCount: 2), "grouped weight")
        XCTAssertThrowsError(try OneNode.run("CausalConvWithState", opset: 27, [x, TestData.random([3, 1, 3], seed: 66), nil,
                                                                            TestData.random([1, 3, 3], seed: 67)],
                                             outputCount: 2), "state of the wrong length")
        XCTAssertThrowsError(try OneNode.run("CausalConvWithState", opset: 27, [x, TestData.random([3, 1, 3], seed: 68)],
                                             attrs: [attr("activation", "gelu")], outputCount: 2), "unknown activation")
    }
}
