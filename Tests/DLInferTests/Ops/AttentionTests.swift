import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// Attention (opsets 23-25) against a naive float64 reference that follows the spec step by step: 3-D and 4-D
/// inputs, grouped-query heads, different V head sizes, past/present caches, every mask kind (bool, float, integer,
/// broadcast, shorter than the keys), causal and window rules, nonpad_kv_seqlen, softcap, the four 4th-output modes,
/// fully-masked rows, float64 softmax, float16 inputs, sizes that take the parallel and the threaded-product paths,
/// and nodes that must be rejected.
final class AttentionTests: XCTestCase {

    func testFourDimensionalGQAWithPastMaskAndEveryQKMode() throws {
        // 37 query rows against 13 + 50 keys, 4 query heads over 2 kv heads, V heads wider than Q's.
        let q = TestData.random([2, 4, 37, 16], seed: 1), k = TestData.random([2, 2, 50, 16], seed: 2), v = TestData.random([2, 2, 50, 24], seed: 3)
        let pk = TestData.random([2, 2, 13, 16], seed: 4), pv = TestData.random([2, 2, 13, 24], seed: 5)
        let mask = TestData.random([2, 1, 37, 63], seed: 6, scale: 2)
        for mode in 0...3 {
            var c = Case(q: q, k: k, v: v)
            c.mask = mask; c.pastK = pk; c.pastV = pv; c.mode = mode; c.causal = mode % 2 == 1; c.softcap = mode == 1 ? 1.5 : 0
            try check(c, opset: 23, "mode \(mode)")
        }
    }

    func testPackedThreeDimensionalWithPresentAndScale() throws {
        var c = Case(q: TestData.random([3, 5, 6 * 8], seed: 7), k: TestData.random([3, 9, 2 * 8], seed: 8),
                     v: TestData.random([3, 9, 2 * 5], seed: 9))
        c.qHeads = 6; c.kvHeads = 2; c.scale = 0.3
        c.pastK = TestData.random([3, 2, 4, 8], seed: 10); c.pastV = TestData.random([3, 2, 4, 5], seed: 11)
        c.mask = TestData.random([13], seed: 12)
        c.mode = 2
        try check(c, opset: 24, "3-D with past")
        c.pastK = nil; c.pastV = nil; c.mask = Tensor([Int32](repeating: -3, count: 5 * 7), shape: [5, 7])
        try check(c, opset: 23, "3-D, integer mask shorter than the keys")
    }

    func testBoolMasksFullyMaskedRowsAndSoftcap() throws {
        // Row 1 of the mask allows nothing: zeros in Y and in the probabilities, whatever the softcap.
        var allowed = [Bool](repeating: true, count: 3 * 6)
        for j in 0..<6 { allowed[6 + j] = false }
        allowed[2 * 6 + 4] = false
        var c = Case(q: TestData.random([1, 2, 3, 8], seed: 13, scale: 3), k: TestData.random([1, 2, 6, 8], seed: 14, scale: 3),
                     v: TestData.random([1, 2, 6, 8], seed: 15))
        c.mask = Tensor(allowed, shape: [3, 6]); c.softcap = 0.5; c.mode = 3
        let out = try check(c, opset: 23, "bool mask")
        let y = out[0].array(Float.self)
        XCTAssertEqual(Array(y[8..<16]), [Float](repeating: 0, count: 8), "fully masked row of Y")
        c.causal = true; c.mask = Tensor([Bool](repeating: true, count: 2), shape: [2])
        try check(c, opset: 23, "causal with a bool mask shorter than the keys")
    }

    func testNonpadLengthsWindowsAndNegativeOffsets() throws {
        let q = TestData.random([3, 2, 4, 8], seed: 16), k = TestData.random([3, 2, 7, 8], seed: 17), v = TestData.random([3, 2, 7, 8], seed: 18)
        for (left, right, causal) in [(2, -1, true), (1, 2, false), (-1, 0, false), (0, 0, true)] {
            var c = Case(q: q, k: k, v: v)
            c.nonpad = [7, 2, 5]; c.left = left; c.right = right; c.causal = causal
            c.mask = TestData.random([2, 4, 7], seed: 19)
            try check(c, opset: 25, "window \(left) \(right) causal \(causal)")
        }
        var c = Case(q: q, k: k, v: v)
        c.nonpad = [0, 1, 9]; c.causal = true
        try check(c, opset: 24, "lengths 0, shorter than the queries, longer than the keys")
    }

    func testFloat64SoftmaxAndFloat16Inputs() throws {
        var c = Case(q: TestData.random([1, 2, 5, 4], seed: 20, scale: 4), k: TestData.random([1, 2, 5, 4], seed: 21, scale: 4),
                     v: TestData.random([1, 2, 5, 4], seed: 22))
        c.softmaxPrecision = 11; c.mode = 3; c.causal = true
        try check(c, opset: 23, "float64 softmax")
        // float16 goes through float32; the reference sees the float16-rounded inputs.
        let half = { (t: Tensor) in try! OneNode.run("Cast", opset: 21, [t], attrs: [attr("to", Int(DType.float16.rawValue))],
                                                     outputs: [.float16])[0] }
        var h = Case(q: half(c.q), k: half(c.k), v: half(c.v))
        h.mask = half(TestData.random([5, 5], seed: 23))
        try check(h, opset: 23, "float16", rtol: 2e-3, atol: 2e-3)
    }

    func testLongRowsAndManyHeadsTakeBothParallelPaths() throws {
        // One decode row against 3000 keys (threaded products), then 64 heads of 70 rows (parallel blocks).
        var c = Case(q: TestData.random([1, 1, 1, 32], seed: 24), k: TestData.random([1, 1, 3000, 32], seed: 25),
                     v: TestData.random([1, 1, 3000, 16], seed: 26))
        c.causal = true
        try check(c, opset: 23, "decode row")
        c = Case(q: TestData.random([2, 32, 70, 8], seed: 27), k: TestData.random([2, 8, 70, 8], seed: 28),
                 v: TestData.random([2, 8, 70, 8], seed: 29))
        c.causal = true
        try check(c, opset: 23, "many heads")
    }

    func testNaNAndInfinity() throws {
        var qv = TestData.random([1, 1, 3, 4], seed: 30).array(Float.self)
        qv[0] = .nan
        var kv = TestData.random([1, 1, 4, 4], seed: 31).array(Float.self)
        kv[4] = .infinity
        var c = Case(q: Tensor(qv, shape: [1, 1, 3, 4]), k: Tensor(kv, shape: [1, 1, 4, 4]), v: TestData.random([1, 1, 4, 4], seed: 32))
        c.mask = Tensor([0, 0, 0, Float.infinity, 0, 0, 0, 0, 0, -Float.infinity, 0, 0], shape: [3, 4]); c.causal = true
        try check(c, opset: 23, "NaN and inf")
    }

    /// A decoder's cache step with symbolic batch and sequences: one session, re-planned for a prefill over an empty
    /// past, then decode steps, each against the reference.
    func testSymbolicDimsAcrossPrefillAndDecode() throws {
        var m = ModelBuilder(opset: 23)
        m.input("Q", .float32, [.symbol("b"), .fixed(4), .symbol("s"), .fixed(8)])
        m.input("K", .float32, [.symbol("b"), .fixed(2), .symbol("s"), .fixed(8)])
        m.input("V", .float32, [.symbol("b"), .fixed(2), .symbol("s"), .fixed(6)])
        m.input("past_key", .float32, [.symbol("b"), .fixed(2), .symbol("p"), .fixed(8)])
        m.input("past_value", .float32, [.symbol("b"), .fixed(2), .symbol("p"), .fixed(6)])
        m.node("Attention", ["Q", "K", "V", "", "past_key", "past_value"], ["Y", "present_key", "present_value"],
               [attr("is_causal", 1)])
        for o in ["Y", "present_key", "present_value"] { m.output(o, .float32) }
        let session = try InferenceSession(model: m.load())
        var pastK = Tensor([Float](), shape: [2, 2, 0, 8]), pastV = Tensor([Float](), shape: [2, 2, 0, 6])
        for (step, s) in [5, 1, 1, 3].enumerated() {
            var c = Case(q: TestData.random([2, 4, s, 8], seed: 60 + step), k: TestData.random([2, 2, s, 8], seed: 70 + step),
                         v: TestData.random([2, 2, s, 6], seed: 80 + step))
            c.pastK = pastK; c.pastV = pastV; c.causal = true
            let got = try session.run([c.q, c.k, c.v, pastK, pastV]), want = naive(c)
            assertClose(got[0], want.y, shape: want.yShape, rtol: 1e-4, atol: 1e-5, "step \(step): Y")
            assertClose(got[1], want.presentK, shape: want.kShape, rtol: 0, atol: 0, "step \(step): present_key")
            assertClose(got[2], want.presentV, shape: want.vShape, rtol: 0, atol: 0, "step \(step): present_value")
            pastK = got[1]; pastV = got[2]
        }
        XCTAssertEqual(pastK.shape, [2, 2, 10, 8])
    }

    func testRejectedNodes() {
        let q = TestData.random([1, 4, 3, 8], seed: 33), k = TestData.random([1, 3, 3, 8], seed: 34), v = TestData.random([1, 3, 3, 8], seed: 35)
        XCTAssertThrowsError(try run(Case(q: q, k: k, v: v), opset: 23), "4 q heads over 3 kv heads")
        XCTAssertThrowsError(try run(Case(q: q, k: TestData.random([1, 4, 3, 6], seed: 36), v: TestData.random([1, 4, 3, 8], seed: 37)),
                                     opset: 23), "head sizes")
        var c = Case(q: q, k: TestData.random([1, 4, 3, 8], seed: 38), v: TestData.random([1, 4, 3, 8], seed: 39))
        c.mask = TestData.random([3, 4], seed: 40)
        XCTAssertThrowsError(try run(c, opset: 23), "mask longer than the keys")
        c.mask = TestData.random([2, 3, 3], seed: 40)
        XCTAssertThrowsError(try run(c, opset: 23), "mask that does not broadcast")
        c.mask = nil; c.qHeads = 4; c.kvHeads = 4
        XCTAssertThrowsError(try run(c, opset: 25), "head attributes on 4-D inputs at opset 25")
        XCTAssertNoThrow(try run(c, opset: 23), "matching head attributes on 4-D inputs at opset 23")
        c.qHeads = nil; c.kvHeads = nil; c.nonpad = [3]
        XCTAssertThrowsError(try run(c, opset: 23), "nonpad_kv_seqlen at opset 23")
        c.pastK = TestData.random([1, 4, 2, 8], seed: 41); c.pastV = TestData.random([1, 4, 2, 8], seed: 42)
        XCTAssertThrowsError(try run(c, opset: 24), "nonpad_kv_seqlen with a past cache")
        c.nonpad = nil; c.pastV = nil
        XCTAssertThrowsError(try run(c, opset: 24), "past_key without past_value")
        c.pastK = nil; c.mode = 4
        XCTAssertThrowsError(try run(c, opset: 24), "qk_matmul_output_mode 4")
        c.mode = 0; c.softmaxPrecision = 6
        XCTAssertThrowsError(try run(c, opset: 24), "softmax_precision int32")
        c.softmaxPrecision = nil
        XCTAssertThrowsError(try run(Case(q: TestData.random([1, 3, 10], seed: 43), k: TestData.random([1, 3, 10], seed: 44),
                                          v: TestData.random([1, 3, 10], seed: 45)), opset: 23), "3-D without head counts")
        var p = Case(q: TestData.random([1, 3, 10], seed: 43), k: TestData.random([1, 3, 10], seed: 44), v: TestData.random([1, 3, 10], seed: 45))
        p.qHeads = 3; p.kvHeads = 1
        XCTAssertThrowsError(try run(p, opset: 23), "hidden size not a multiple of the heads")
        c.left = -2
        XCTAssertThrowsError(try run(c, opset: 25), "left_window_size -2")
    }

    func testLoweredToFusedAttentionOnlyWhereItComputesTheSame() throws {
        // 4-D, heads alike, a constant float mask: lowered; the same with a fully masked row: kept (zeros there, where
        // FusedAttention's softmax would give NaN); causal, or a mask given at run time: kept. Every one against the
        // reference, and the node the session runs is checked.
        let q = TestData.random([2, 3, 5, 8], seed: 50), k = TestData.random([2, 3, 7, 8], seed: 51), v = TestData.random([2, 3, 7, 4], seed: 52)
        var mask = TestData.random([5, 7], seed: 53, scale: 2).array(Float.self)
        var c = Case(q: q, k: k, v: v)
        c.mask = Tensor(mask, shape: [5, 7]); c.constantMask = true
        XCTAssertEqual(try loweredOps(c), ["FusedAttention"])
        try check(c, opset: 23, "constant mask, lowered")
        for j in 0..<7 { mask[14 + j] = -.infinity }
        c.mask = Tensor(mask, shape: [5, 7])
        XCTAssertEqual(try loweredOps(c), ["Attention"])
        let y = try check(c, opset: 23, "constant mask with a fully masked row")[0].array(Float.self)
        XCTAssertEqual(Array(y[8..<12]), [Float](repeating: 0, count: 4), "fully masked row of Y")
        c.constantMask = false
        XCTAssertEqual(try loweredOps(c), ["Attention"])
        var plain = Case(q: q, k: k, v: v)
        XCTAssertEqual(try loweredOps(plain), ["FusedAttention"])
        try check(plain, opset: 23, "no mask, lowered")
        plain.scale = 0.7
        try check(plain, opset: 23, "explicit scale, lowered")
        plain.causal = true
        XCTAssertEqual(try loweredOps(plain), ["Attention"])
    }

    /// The op types of the case's model after the load-time passes.
    private func loweredOps(_ c: Case) throws -> [String] {
        var m = ModelBuilder(opset: 23)
        for (name, t) in [("Q", c.q), ("K", c.k), ("V", c.v)] { m.input(name, t.dtype, t.shape.map { .fixed($0) }) }
        var names = ["Q", "K", "V"]
        if let mask = c.mask {
            if c.constantMask { m.constant("mask", mask) } else { m.input("mask", mask.dtype, mask.shape.map { .fixed($0) }) }
            names.append("mask")
        }
        m.node("Attention", names, ["Y"], c.causal ? [attr("is_causal", 1)] : [])
        m.output("Y", .float32)
        return try m.load().graph.nodes.map(\.op.name)
    }

    // MARK: harness

    struct Case {
        var q, k, v: Tensor
        var mask: Tensor? = nil
        var pastK: Tensor? = nil, pastV: Tensor? = nil
        var nonpad: [Int]? = nil
        var qHeads: Int? = nil, kvHeads: Int? = nil
        var causal = false
        var scale: Double? = nil
        var softcap = 0.0
        var mode: Int? = nil
        var left = -1, right = -1
        var softmaxPrecision: Int? = nil
        /// The mask as an initializer (where the lower-attention pass may turn the node into FusedAttention).
        var constantMask = false
        init(q: Tensor, k: Tensor, v: Tensor) { self.q = q; self.k = k; self.v = v }
    }

    /// Runs the case as a one-node ONNX model, asking for present_* when there is a past and for the 4th output
    /// when a mode is set.
    func run(_ c: Case, opset: Int) throws -> [Tensor] {
        var m = ModelBuilder(opset: opset)
        var names = [String](), feeds = [Tensor]()
        for (name, t) in [("Q", c.q), ("K", c.k), ("V", c.v), ("mask", c.mask), ("past_key", c.pastK), ("past_value", c.pastV),
                          ("nonpad", c.nonpad.map { Tensor($0.map(Int64.init), shape: [$0.count]) })] {
            guard let t else { names.append(""); continue }
            names.append(name)
            if name == "mask" && c.constantMask { m.constant(name, t); continue }
            m.input(name, t.dtype, t.shape.map { .fixed($0) })
            feeds.append(t)
        }
        while names.last == "" { names.removeLast() }
        var attrs = [Onnx_AttributeProto]()
        if c.causal { attrs.append(attr("is_causal", 1)) }
        if let h = c.qHeads { attrs.append(attr("q_num_heads", h)) }
        if let h = c.kvHeads { attrs.append(attr("kv_num_heads", h)) }
        if let s = c.scale { attrs.append(attr("scale", Float(s))) }
        if c.softcap != 0 { attrs.append(attr("softcap", Float(c.softcap))) }
        if let mode = c.mode { attrs.append(attr("qk_matmul_output_mode", mode)) }
        if let p = c.softmaxPrecision { attrs.append(attr("softmax_precision", p)) }
        if c.left != -1 { attrs.append(attr("left_window_size", c.left)) }
        if c.right != -1 { attrs.append(attr("right_window_size", c.right)) }
        let cache = c.pastK != nil
        let outs = ["Y", cache ? "present_key" : "", cache ? "present_value" : "", c.mode != nil ? "qk" : ""]
        m.node("Attention", names, Array(outs.prefix(c.mode != nil ? 4 : cache ? 3 : 1)), attrs)
        for o in outs where !o.isEmpty { m.output(o, c.q.dtype) }
        return try m.run(feeds)
    }

    @discardableResult
    func check(_ c: Case, opset: Int, _ what: String, rtol: Double = 1e-4, atol: Double = 1e-5,
               file: StaticString = #filePath, line: UInt = #line) throws -> [Tensor] {
        let got = try run(c, opset: opset)
        let want = naive(c)
        let dtype = c.q.dtype
        XCTAssertEqual(got[0].shape, want.yShape, what, file: file, line: line)
        assertClose(got[0], want.y, dtype: dtype, shape: want.yShape, rtol: rtol, atol: atol, "\(what): Y", file: file, line: line)
        var k = 1
        if c.pastK != nil {
            assertClose(got[1], want.presentK, dtype: dtype, shape: want.kShape, rtol: 0, atol: 0, "\(what): present_key",
                        file: file, line: line)
            assertClose(got[2], want.presentV, dtype: dtype, shape: want.vShape, rtol: 0, atol: 0, "\(what): present_value",
                        file: file, line: line)
            k = 3
        }
        if c.mode != nil {
            assertClose(got[k], want.qk, dtype: dtype, shape: want.qkShape, rtol: rtol, atol: atol, "\(what): qk_matmul_output",
                        file: file, line: line)
        }
        return got
    }

    /// The spec's computation in float64 on the 4-D views.
    func naive(_ c: Case) -> (y: [Double], yShape: [Int], presentK: [Double], presentV: [Double], qk: [Double],
                              kShape: [Int], vShape: [Int], qkShape: [Int]) {
        func view(_ t: Tensor, _ heads: Int?) -> (v: [Double], s: [Int]) {
            let v = elementValues(t)
            guard t.rank == 3, let h = heads else { return (v, t.shape) }
            let (b, s, d) = (t.shape[0], t.shape[1], t.shape[2] / h)
            var out = [Double](repeating: 0, count: v.count)
            for bi in 0..<b { for si in 0..<s { for hi in 0..<h { for di in 0..<d {
                out[((bi * h + hi) * s + si) * d + di] = v[(bi * s + si) * h * d + hi * d + di]
            } } } }
            return (out, [b, h, s, d])
        }
        let (q, qs) = view(c.q, c.qHeads), (k0, ks) = view(c.k, c.kvHeads), (v0, vs) = view(c.v, c.kvHeads)
        let (b, qh, sq, hs) = (qs[0], qs[1], qs[2], qs[3]), kvh = ks[1], vhs = vs[3]
        let past = c.pastK?.shape[2] ?? 0, total = past + ks[2]
        func concat(_ p: Tensor?, _ x: [Double], _ d: Int) -> [Double] {
            let pv = p.map(elementValues) ?? []
            var out = [Double]()
            for bh in 0..<(b * kvh) {
                out += pv[(bh * past * d)..<((bh + 1) * past * d)]
                out += x[(bh * ks[2] * d)..<((bh + 1) * ks[2] * d)]
            }
            return out
        }
        let k = concat(c.pastK, k0, hs), v = concat(c.pastV, v0, vhs)
        let scale = c.scale ?? 1 / Double(hs).squareRoot()
        var y = [Double](repeating: 0, count: b * qh * sq * vhs), qk = [Double](repeating: 0, count: b * qh * sq * total)
        let maskDims = c.mask.map { [Int](repeating: 1, count: 4 - $0.rank) + $0.shape }
        let maskValues: [Double]? = c.mask.map { m in m.dtype == .bool ? m.array(Bool.self).map { $0 ? 0 : -.infinity } : elementValues(m) }
        for bi in 0..<b {
            for h in 0..<qh {
                let g = h / (qh / kvh)
                for i in 0..<sq {
                    var s = (0..<total).map { j in
                        scale * (0..<hs).reduce(0.0) { $0 + q[((bi * qh + h) * sq + i) * hs + $1] * k[((bi * kvh + g) * total + j) * hs + $1] }
                    }
                    let raw = s
                    if c.softcap > 0 { s = s.map { c.softcap * tanh($0 / c.softcap) } }
                    let capped = s
                    let offset = c.nonpad.map { $0[bi] - sq } ?? past
                    var bias = [Double](repeating: 0, count: total)
                    for j in 0..<total {
                        if let d = maskDims, let mv = maskValues {
                            if j >= d[3] { bias[j] = -.infinity } else {
                                let idx = [d[0] == 1 ? 0 : bi, d[1] == 1 ? 0 : h, d[2] == 1 ? 0 : i]
                                bias[j] = mv[((idx[0] * d[1] + idx[1]) * d[2] + idx[2]) * d[3] + j]
                            }
                        }
                        let p = i + offset
                        if c.causal && j > p { bias[j] += -.infinity }
                        if c.left >= 0 && p - j > c.left { bias[j] += -.infinity }
                        if c.right >= 0 && j - p > c.right { bias[j] += -.infinity }
                        if let n = c.nonpad, j >= n[bi] { bias[j] += -.infinity }
                    }
                    s = zip(s, bias).map { $0 + $1 }
                    let biased = s
                    var probs = [Double](repeating: 0, count: total)
                    let m = s.reduce(-Double.infinity) { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
                    if !bias.allSatisfy({ $0 == -.infinity }) && m != -.infinity {
                        let e = s.map { exp($0 - m) }, sum = e.reduce(0, +)
                        probs = e.map { $0 / sum }
                    }
                    let row = ((bi * qh + h) * sq + i)
                    let out = [raw, capped, biased, probs][c.mode ?? 0]
                    for j in 0..<total { qk[row * total + j] = out[j] }
                    for e in 0..<vhs {
                        y[row * vhs + e] = (0..<total).reduce(0.0) { $0 + probs[$1] * v[((bi * kvh + g) * total + $1) * vhs + e] }
                    }
                }
            }
        }
        if c.q.rank == 3 {
            var packed = y
            for bi in 0..<b { for h in 0..<qh { for i in 0..<sq { for e in 0..<vhs {
                packed[(bi * sq + i) * qh * vhs + h * vhs + e] = y[((bi * qh + h) * sq + i) * vhs + e]
            } } } }
            return (packed, [b, sq, qh * vhs], k, v, qk, [b, kvh, total, hs], [b, kvh, total, vhs], [b, qh, sq, total])
        }
        return (y, [b, qh, sq, vhs], k, v, qk, [b, kvh, total, hs], [b, kvh, total, vhs], [b, qh, sq, total])
    }
}
