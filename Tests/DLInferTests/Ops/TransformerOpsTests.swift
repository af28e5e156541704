import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// RotaryEmbedding, SwiGLU, TensorScatter, LinearAttention and CausalConvWithState against naive float64 references
/// written from the spec's formulas, plus nodes and inputs that must be rejected.
final class TransformerOpsTests: XCTestCase {

    /// One node over the given inputs (named for the reader; nil for an absent optional input); every output has the
    /// first input's type.
    private func run(_ op: String, opset: Int, _ inputs: [(String, Tensor?)], outputs: [String],
                     _ attrs: [Onnx_AttributeProto] = []) throws -> [Tensor] {
        let dtype = inputs.lazy.compactMap(\.1).first!.dtype
        return try OneNode.run(op, opset: opset, inputs.map(\.1), attrs: attrs, outputs: outputs.map { _ in dtype })
    }

    // MARK: RotaryEmbedding

    /// x's (b, h, s) row of `size` values starts at `rowStart(b, h, s)`; caches are read at `cacheRow(b, s)`.
    private func naiveRotary(_ x: [Double], batch: Int, heads: Int, seq: Int, size: Int, dim: Int, interleaved: Bool,
                             cos: [Double], sin: [Double], rowStart: (Int, Int, Int) -> Int, cacheRow: (Int, Int) -> Int) -> [Double] {
        var y = x
        let half = dim / 2
        for b in 0..<batch { for h in 0..<heads { for s in 0..<seq {
            let at = rowStart(b, h, s), c = cacheRow(b, s) * half
            for i in 0..<half {
                let (i1, i2) = interleaved ? (2 * i, 2 * i + 1) : (i, i + half)
                let x1 = x[at + i1], x2 = x[at + i2]
                y[at + i1] = cos[c + i] * x1 - sin[c + i] * x2
                y[at + i2] = sin[c + i] * x1 + cos[c + i] * x2
            }
        } } }
        return y
    }

    func testRotaryFourDimensionalWithBatchCaches() throws {
        // 300 positions of 64 wide heads also take the parallel path.
        for (shape, interleaved) in [([2, 3, 5, 8], false), ([2, 3, 5, 8], true), ([1, 8, 300, 64], false)] {
            let (b, h, s, d) = (shape[0], shape[1], shape[2], shape[3])
            let x = TestData.random(shape, seed: 1), cos = TestData.random([b, s, d / 2], seed: 2), sin = TestData.random([b, s, d / 2], seed: 3)
            let got = try run("RotaryEmbedding", opset: 23, [("X", x), ("cos", cos), ("sin", sin)], outputs: ["Y"],
                              [attr("interleaved", interleaved ? 1 : 0)])
            let want = naiveRotary(elementValues(x), batch: b, heads: h, seq: s, size: d, dim: d, interleaved: interleaved,
                                   cos: elementValues(cos), sin: elementValues(sin),
                                   rowStart: { ((($0 * h) + $1) * s + $2) * d }, cacheRow: { $0 * s + $1 })
            assertClose(got[0], want, shape: shape, rtol: 1e-5, atol: 1e-6, "4-D \(shape) interleaved \(interleaved)")
        }
    }

    func testRotaryPackedWithPositionIdsAndPartialDim() throws {
        let (b, h, s, d, dim, positions) = (2, 3, 5, 8, 4, 10)
        let x = TestData.random([b, s, h * d], seed: 4), cos = TestData.random([positions, dim / 2],
                                                                               seed: 5), sin = TestData.random([positions, dim / 2], seed: 6)
        let ids: [Int64] = [9, 0, 3, 3, 7, 1, 2, 5, 8, 4]
        for interleaved in [false, true] {
            let got = try run("RotaryEmbedding", opset: 23,
                              [("X", x), ("cos", cos), ("sin", sin), ("ids", Tensor(ids, shape: [b, s]))], outputs: ["Y"],
                              [attr("interleaved", interleaved ? 1 : 0), attr("rotary_embedding_dim", dim), attr("num_heads", h)])
            let want = naiveRotary(elementValues(x), batch: b, heads: h, seq: s, size: d, dim: dim, interleaved: interleaved,
                                   cos: elementValues(cos), sin: elementValues(sin),
                                   rowStart: { ($0 * s + $2) * h * d + $1 * d }, cacheRow: { Int(ids[$0 * s + $1]) })
            assertClose(got[0], want, shape: [b, s, h * d], rtol: 1e-5, atol: 1e-6, "3-D, position_ids, interleaved \(interleaved)")
        }
    }

    func testRotaryRejects() {
        let x = TestData.random([1, 2, 3, 8], seed: 7), cos = TestData.random([4, 4], seed: 8), sin = TestData.random([4, 4], seed: 9)
        XCTAssertThrowsError(try run("RotaryEmbedding", opset: 23, [("X", x), ("cos", cos), ("sin", sin),
                                                                    ("ids", Tensor([Int64]([0, 1, 4]), shape: [1, 3]))], outputs: ["Y"]),
                             "position id past the cache")
        XCTAssertThrowsError(try run("RotaryEmbedding", opset: 23, [("X", x), ("cos", cos), ("sin", sin),
                                                                    ("ids", Tensor([Int64]([0, -1, 2]), shape: [1, 3]))], outputs: ["Y"]),
                             "negative position id")
        XCTAssertThrowsError(try run("RotaryEmbedding", opset: 23, [("X", x), ("cos", TestData.random([1, 3, 4], seed: 10)),
                                                                    ("sin", TestData.random([1, 3, 4], seed: 11))], outputs: ["Y"],
                                     [attr("rotary_embedding_dim", 5)]), "odd rotary dim")
        XCTAssertThrowsError(try run("RotaryEmbedding", opset: 23, [("X", TestData.random([1, 3, 10], seed: 12)),
                                                                    ("cos", TestData.random([1, 3, 1], seed: 13)),
                                                                    ("sin", TestData.random([1, 3, 1], seed: 14))], outputs: ["Y"]),
                             "3-D without num_heads")
    }

    // MARK: SwiGLU

    func testSwiGLUFloat32AndFloat64() throws {
        var av = TestData.random([300, 70], seed: 15, scale: 6).array(Float.self)
        av[0] = .nan; av[1] = .infinity; av[2] = -.infinity
        let a = Tensor(av, shape: [300, 70]), b = TestData.random([300, 70], seed: 16, scale: 2)
        for alpha: Float in [1, 1.702] {
            let got = try run("SwiGLU", opset: 28, [("A", a), ("B", b)], outputs: ["Y"], [attr("alpha", alpha)])
            let want = zip(elementValues(a), elementValues(b)).map { x, y in
                x * (1 / (1 + exp(-Double(alpha) * x))) * y
            }
            assertClose(got[0], want, shape: [300, 70], rtol: 1e-5, atol: 1e-6, "SwiGLU alpha \(alpha)")
        }
        let a64 = Tensor(elementValues(b), shape: [300, 70]), b64 = Tensor(elementValues(a).map { $0.isFinite ? $0 : 0 }, shape: [300, 70])
        let got = try run("SwiGLU", opset: 28, [("A", a64), ("B", b64)], outputs: ["Y"])
        XCTAssertEqual(got[0].dtype, .float64)
        assertClose(got[0], zip(elementValues(a64), elementValues(b64)).map { $0 / (1 + exp(-$0)) * $1 }, dtype: .float64, shape: [300, 70],
                    rtol: 1e-12, atol: 1e-14, "SwiGLU float64")
        XCTAssertThrowsError(try run("SwiGLU", opset: 28, [("A", TestData.random([2, 3], seed: 17)), ("B", TestData.random([3], seed: 18))],
                                     outputs: ["Y"]), "A and B of different shapes")
    }

    // MARK: TensorScatter

    /// The spec's pseudocode over flat arrays: cache [prefix..., capacity, inner], update [prefix..., length, inner].
    private func naiveScatter<T>(_ past: [T], _ update: [T], batch: Int, prefixes: Int, capacity: Int, length: Int,
                                 inner: Int, writes: [Int64]?, circular: Bool) -> [T] {
        var out = past
        for p in 0..<prefixes {
            let w = Int(writes?[p / (prefixes / batch)] ?? 0)
            for s in 0..<length {
                var slot = w + s
                if circular { slot = ((slot % capacity) + capacity) % capacity }
                for e in 0..<inner { out[(p * capacity + slot) * inner + e] = update[(p * length + s) * inner + e] }
            }
        }
        return out
    }

    func testTensorScatterLinearCircularAndAxes() throws {
        let past = Tensor((0..<(2 * 3 * 6 * 4)).map { Int64($0) }, shape: [2, 3, 6, 4])
        let update = Tensor((0..<(2 * 3 * 2 * 4)).map { -Int64($0) - 1 }, shape: [2, 3, 2, 4])
        for (writes, mode) in [([Int64(1), 4], "linear"), ([5, -1], "circular"), ([13, -7], "circular")] {
            let got = try run("TensorScatter", opset: 24,
                              [("past", past), ("update", update), ("w", Tensor(writes, shape: [2]))], outputs: ["present"],
                              [attr("mode", mode)])
            let want = naiveScatter(past.array(Int64.self), update.array(Int64.self), batch: 2, prefixes: 6, capacity: 6,
                                    length: 2, inner: 4, writes: writes, circular: mode == "circular")
            XCTAssertEqual(got[0].array(Int64.self), want, "\(mode) \(writes)")
        }
        // Axis 1 of a rank-3 float cache, no write indices (all zero).
        let fpast = TestData.random([3, 5, 7], seed: 19), fupdate = TestData.random([3, 2, 7], seed: 20)
        let got = try run("TensorScatter", opset: 24, [("past", fpast), ("update", fupdate)], outputs: ["present"], [attr("axis", 1)])
        let want = naiveScatter(fpast.array(Float.self), fupdate.array(Float.self), batch: 3, prefixes: 3, capacity: 5,
                                length: 2, inner: 7, writes: nil, circular: false)
        XCTAssertEqual(got[0].array(Float.self), want, "axis 1")
    }

    func testTensorScatterRejects() {
        let past = TestData.random([2, 6, 4], seed: 21), update = TestData.random([2, 2, 4], seed: 22)
        XCTAssertThrowsError(try run("TensorScatter", opset: 24, [("past", past), ("update", update),
                                                                  ("w", Tensor([Int64]([5, 0]), shape: [2]))], outputs: ["present"]),
                             "linear write past the end")
        XCTAssertThrowsError(try run("TensorScatter", opset: 24, [("past", past), ("update", update),
                                                                  ("w", Tensor([Int64]([-1, 0]), shape: [2]))], outputs: ["present"]),
                             "negative linear write")
        XCTAssertThrowsError(try run("TensorScatter", opset: 24, [("past", past), ("update", update)], outputs: ["present"],
                                     [attr("axis", 0)]), "batch axis")
        XCTAssertThrowsError(try run("TensorScatter", opset: 24, [("past", past), ("update", update)], outputs: ["present"],
                                     [attr("mode", "ring")]), "unknown mode")
        XCTAssertThrowsError(try run("TensorScatter", opset: 24, [("past", past), ("update", TestData.random([2, 7, 4], seed: 23))],
                                     outputs: ["present"]), "update longer than the cache")
    }

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
            let got = try run("LinearAttention", opset: 27,
                              [("q", q), ("k", k), ("v", v), ("past", withPast ? past : nil), ("decay", decay), ("beta", beta)],
                              outputs: ["Y", "present"],
                              [attr("update_rule", rule), attr("q_num_heads", qh), attr("kv_num_heads", kvh), attr("scale", scale)])
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
        XCTAssertThrowsError(try run("LinearAttention", opset: 27, [("q", q), ("k", k), ("v", v)], outputs: ["Y"],
                                     heads + [attr("update_rule", "gated")]), "gated without decay")
        XCTAssertThrowsError(try run("LinearAttention", opset: 27, [("q", q), ("k", k), ("v", v), ("past", nil), ("decay", nil),
                                                                    ("beta", TestData.random([1, 2, 2], seed: 53))], outputs: ["Y"],
                                     heads + [attr("update_rule", "linear")]), "linear with beta")
        XCTAssertThrowsError(try run("LinearAttention", opset: 27, [("q", q), ("k", k), ("v", v)], outputs: ["Y"],
                                     heads + [attr("update_rule", "mamba")]), "unknown rule")
        XCTAssertThrowsError(try run("LinearAttention", opset: 27, [("q", q), ("k", k), ("v", v)], outputs: ["Y"],
                                     [attr("q_num_heads", 2), attr("kv_num_heads", 3), attr("update_rule", "linear")]),
                             "q heads not a multiple of kv heads")
        XCTAssertThrowsError(try run("LinearAttention", opset: 27, [("q", q), ("k", k), ("v", v)], outputs: ["Y"],
                                     [attr("update_rule", "linear")]), "no head counts")
    }

    // MARK: CausalConvWithState

    func testCausalConvWithStateAndSiLU() throws {
        for (batch, channels, length, k, withBias, withPast, act) in [
            (2, 3, 7, 4, true, true, "silu"), (2, 3, 7, 4, false, false, "none"), (1, 5, 2, 4, true, true, "swish"),
            (3, 2, 5, 1, true, false, "none"), (4, 64, 200, 3, true, true, "silu"),
        ] {
            let x = TestData.random([batch, channels, length], seed: 60), w = TestData.random([channels, 1, k], seed: 61)
            let bias = TestData.random([channels], seed: 62), past = TestData.random([batch, channels, k - 1], seed: 63)
            let got = try run("CausalConvWithState", opset: 27,
                              [("x", x), ("w", w), ("bias", withBias ? bias : nil), ("past", withPast ? past : nil)],
                              outputs: ["Y", "present"], [attr("activation", act)])
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
        XCTAssertThrowsError(try run("CausalConvWithState", opset: 27, [("x", x), ("w", TestData.random([3, 2, 3], seed: 65))],
                                     outputs: ["Y", "present"]), "grouped weight")
        XCTAssertThrowsError(try run("CausalConvWithState", opset: 27, [("x", x), ("w", TestData.random([3, 1, 3], seed: 66)), ("b", nil),
                                                                        ("past", TestData.random([1, 3, 3], seed: 67))],
                                     outputs: ["Y", "present"]), "state of the wrong length")
        XCTAssertThrowsError(try run("CausalConvWithState", opset: 27, [("x", x), ("w", TestData.random([3, 1, 3], seed: 68))],
                                     outputs: ["Y", "present"], [attr("activation", "gelu")]), "unknown activation")
    }
}
