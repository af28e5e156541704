import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// LSTM/GRU/RNN beyond the official node tests: onnxruntime fixtures (tools/make_recurrent_fixtures.py), the kernel's
/// fast paths (GEMV at batch 1, sgemm otherwise, several unit chunks and GEMV blocks, concurrent directions) against
/// a naive float64 reference at awkward sizes, and refusal of bad nodes and inputs with a message.
final class RecurrentTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/recurrent").path

    func testOnnxruntimeFixtures() throws {
        let fm = FileManager.default
        let cases = try fm.contentsOfDirectory(atPath: Self.fixtures).filter { $0 != "rejected" }.sorted()
        XCTAssertGreaterThanOrEqual(cases.count, 16)
        for name in cases {
            let dir = Self.fixtures + "/" + name
            let session = try InferenceSession(model: Model.load(path: dir + "/model.onnx"))
            let inputs = try readTensors(dir + "/test_data_set_0", "input")
            let expected = try readTensors(dir + "/test_data_set_0", "output")
            XCTAssertEqual(inputs.count, session.model.inputs.count, name)
            // Twice: the second run reuses pooled buffers and must not see the first run's state.
            for _ in 0..<2 {
                let outs = try session.run(inputs)
                XCTAssertEqual(outs.count, expected.count, name)
                for (k, (got, want)) in zip(outs, expected).enumerated() {
                    assertClose(got, want, rtol: 1e-3, atol: 1e-5, "\(name) output \(k)")
                }
            }
        }
    }

    func testRejectedFixtures() throws {
        let root = Self.fixtures + "/rejected"
        let cases = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        XCTAssertGreaterThanOrEqual(cases.count, 16)
        for name in cases {
            let want = try String(contentsOfFile: root + "/" + name + "/error.txt", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            do {
                _ = try Model.load(path: root + "/" + name + "/model.onnx")
                XCTFail("\(name): loaded, expected an error containing \"\(want)\"")
            } catch let e as DLInferError {
                XCTAssertTrue(e.message.contains(want), "\(name): \"\(e.message)\" lacks \"\(want)\"")
            }
        }
    }

    // MARK: fast paths against the naive reference

    func testLSTMPeepholesBidirectionalBatch1() throws {
        // 4·131 gate columns: three GEMV blocks, three unit chunks per step.
        try check(Recurrent(kind: .lstm, direction: .bidirectional), seq: 3, batch: 1, input: 9, hidden: 131,
                  initial: true, peepholes: true)
    }

    func testLSTMRaggedBatch5Layout1() throws {
        try check(Recurrent(kind: .lstm, direction: .bidirectional, batchFirst: true), seq: 4, batch: 5, input: 6,
                  hidden: 67, lens: [4, 1, 0, 3, 2], initial: true, peepholes: true)
    }

    func testGRUBothResetModes() throws {
        for lbr in [false, true] {
            try check(Recurrent(kind: .gru, direction: .bidirectional, linearBeforeReset: lbr), seq: 3, batch: 1, input: 5,
                      hidden: 129, initial: true)
            try check(Recurrent(kind: .gru, direction: .reverse, linearBeforeReset: lbr), seq: 4, batch: 4, input: 3,
                      hidden: 65, lens: [2, 4, 0, 3], initial: true)
        }
    }

    func testRNNLongSequence() throws {
        try check(Recurrent(kind: .rnn, direction: .bidirectional), seq: 40, batch: 2, input: 3, hidden: 33,
                  lens: [40, 17], initial: true)
    }

    // MARK: bad input at run time

    func testSequenceLengthOutOfRangeIsAnError() throws {
        let (model, _) = try makeModel(Recurrent(kind: .rnn), seq: 3, batch: 2, input: 2, hidden: 3, lensInput: true)
        let session = try InferenceSession(model: model)
        let x = Tensor([Float](repeating: 0.5, count: 12), shape: [3, 2, 2])
        for bad: [Int32] in [[1, 4], [-1, 2]] {
            XCTAssertThrowsError(try session.run([x, Tensor(bad, shape: [2])])) { e in
                XCTAssertTrue((e as? DLInferError)?.message.contains("sequence_lens") ?? false, "\(e)")
            }
        }
        XCTAssertNoThrow(try session.run([x, Tensor([Int32(3), 0], shape: [2])]))
    }

    func testReusedBuffersAreFullyOverwritten() throws {
        // Y feeds an Add, so it goes back to the pool after each run and the next run's Y gets that buffer, still
        // holding the previous values; a shorter second run must clear its steps past the lengths.
        let a = Recurrent(kind: .gru, direction: .bidirectional)
        let (model, wts) = try makeModel(a, seq: 4, batch: 2, input: 3, hidden: 6, lensInput: true, twiceY: true)
        let session = try InferenceSession(model: model)
        var rng = Random(state: 5)
        let x = rng.tensor([4, 2, 3], 1)
        for lens in [[4, 4], [1, 3], [0, 2]] {
            let outs = try session.run([x, Tensor(lens.map { Int32($0) }, shape: [2])])
            let want = reference(a, x: x, wts, lens: lens, h0: nil, c0: nil, hidden: 6)
            let twice = Tensor(want[0].array(Float.self).map { $0 * 2 }, shape: want[0].shape)
            for (k, (got, w)) in zip(outs, [twice, want[1]]).enumerated() {
                assertClose(got, w, rtol: 1e-4, atol: 1e-5, "lens \(lens) output \(k)")
            }
        }
    }

    func testShapeRules() throws {
        let n = Dim.symbol("N"), T = Dim.symbol("T")
        func t(_ s: [Dim], _ d: DType = .float32) -> TypedInput? { TypedInput(type: ValueType(d, s), value: nil) }
        func t(_ s: [Int]) -> TypedInput? { t(s.map(Dim.fixed)) }
        let lstm = Recurrent(kind: .lstm, direction: .bidirectional, batchFirst: true)
        let out = try lstm.inferTypes([t([n, T, .fixed(4)]), t([2, 20, 4]), t([2, 20, 5])])
        XCTAssertEqual(out, [ValueType(.float32, [n, T, .fixed(2), .fixed(5)]),
                             ValueType(.float32, [n, .fixed(2), .fixed(5)]), ValueType(.float32, [n, .fixed(2), .fixed(5)])])
        // A fixed batch in initial_h resolves a symbolic one in X.
        let rnn = Recurrent(kind: .rnn)
        let o2 = try rnn.inferTypes([t([.fixed(7), n, .fixed(4)]), t([1, 5, 4]), t([1, 5, 5]), nil, nil, t([1, 3, 5])])
        XCTAssertEqual(o2[1], ValueType(.float32, fixed: [1, 3, 5]))
        XCTAssertThrowsError(try rnn.inferTypes([t([7, 3, 4]), t([1, 5, 4]), t([1, 5, 5]), t([1, 9])]))  // B
        XCTAssertThrowsError(try rnn.inferTypes([t([7, 3]), t([1, 5, 4]), t([1, 5, 5])]))  // X rank
        XCTAssertThrowsError(try rnn.inferTypes([t([7, 3, 4]), t([1, 5, 4]), t([1, 5, 5]), nil, nil, nil, nil]))  // 7 inputs
        XCTAssertThrowsError(try lstm.inferTypes([t([3, 7, 4]), t([2, 20, 4]), t([2, 20, 5]), nil, nil, nil, nil, t([2, 14])]))  // P
        XCTAssertThrowsError(try Recurrent(kind: .gru).inferTypes([t([7, 3, 4]), t([1, 14, 4]), t([1, 14, 5])]))  // 14 ≠ 3·5
        XCTAssertThrowsError(try rnn.inferTypes([t([7, 3, 4].map(Dim.fixed), .float16), t([1, 5, 4]), t([1, 5, 5])]))
        let lens = Tensor([Int32(8)], shape: [1])
        XCTAssertThrowsError(try rnn.inferTypes([t([7, 1, 4]), t([1, 5, 4]), t([1, 5, 5]), nil, TypedInput(lens)]))
    }

    // MARK: helpers

    private func readTensors(_ dir: String, _ kind: String) throws -> [Tensor] {
        var out = [Tensor]()
        while let data = FileManager.default.contents(atPath: "\(dir)/\(kind)_\(out.count).pb") {
            out.append(try ONNXTensorFile.read([UInt8](data)).tensor)
        }
        return out
    }

    /// Deterministic values in [-scale, scale).
    private struct Random {
        var state: UInt64
        mutating func next(_ scale: Float) -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
        mutating func tensor(_ shape: [Int], _ scale: Float) -> Tensor {
            Tensor((0..<shape.elementCount).map { _ in next(scale) }, shape: shape)
        }
    }

    private struct Weights { var w, r, b: Tensor; var p: Tensor? }

    /// A one-node model: X (and sequence_lens, initial states when asked) are graph inputs, the rest constants.
    private func makeModel(_ a: Recurrent, seq: Int, batch: Int, input: Int, hidden: Int, lensInput: Bool = false,
                           initial: Bool = false, peepholes: Bool = false, twiceY: Bool = false) throws -> (Model, Weights) {
        var rng = Random(state: UInt64(seq * 1000 + batch * 100 + hidden))
        let dirs = a.numDirections, g = a.gates
        let wts = Weights(w: rng.tensor([dirs, g * hidden, input], 0.5), r: rng.tensor([dirs, g * hidden, hidden], 0.3),
                          b: rng.tensor([dirs, 2 * g * hidden], 0.3), p: peepholes ? rng.tensor([dirs, 3 * hidden], 0.5) : nil)
        let state = a.batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden]
        var operands: [OneNode.Operand] = [.input(ValueType(.float32, fixed: a.batchFirst ? [batch, seq, input] : [seq, batch, input])),
                                           .constant(wts.w), .constant(wts.r), .constant(wts.b),
                                           lensInput ? .input(ValueType(.int32, fixed: [batch])) : .absent]
        if initial { operands += Array(repeating: .input(ValueType(.float32, fixed: state)), count: a.kind == .lstm ? 2 : 1) }
        if let p = wts.p {
            while operands.count < 7 { operands.append(.absent) }
            operands.append(.constant(p))
        }
        let graph = try OneNode.graph(.recurrent(a), operands, outputs: a.maxOutputs)
        if twiceY {
            let sum = graph.addValue("twiceY", ValueType(.float32, nil))
            graph.nodes.append(Node(name: "add", op: .binary(Binary(.add)), inputs: [graph.outputs[0], graph.outputs[0]], outputs: [sum]))
            graph.outputs[0] = sum
            try graph.inferTypes()
        }
        return (try Model(graph: graph), wts)
    }

    private func check(_ a: Recurrent, seq: Int, batch: Int, input: Int, hidden: Int, lens: [Int]? = nil,
                       initial: Bool = false, peepholes: Bool = false) throws {
        let (model, wts) = try makeModel(a, seq: seq, batch: batch, input: input, hidden: hidden, lensInput: lens != nil,
                                         initial: initial, peepholes: peepholes)
        var rng = Random(state: 99)
        let dirs = a.numDirections
        let x = rng.tensor(a.batchFirst ? [batch, seq, input] : [seq, batch, input], 1)
        var inputs = [x]
        if let lens { inputs.append(Tensor(lens.map { Int32($0) }, shape: [batch])) }
        let state = a.batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden]
        if initial { for _ in 0..<(a.kind == .lstm ? 2 : 1) { inputs.append(rng.tensor(state, 0.8)) } }
        let outs = try InferenceSession(model: model).run(inputs)
        let want = reference(a, x: x, wts, lens: lens, h0: initial ? inputs[inputs.count - (a.kind == .lstm ? 2 : 1)] : nil,
                             c0: initial && a.kind == .lstm ? inputs.last : nil, hidden: hidden)
        let label = "\(a.kind) \(a.direction) lbr=\(a.linearBeforeReset) batch=\(batch) hidden=\(hidden)"
        for (k, (got, w)) in zip(outs, want).enumerated() {
            assertClose(got, w, rtol: 1e-4, atol: 1e-5, "\(label) output \(k)")
        }
    }

    /// The spec's equations in float64, default activations, layout handled by index arithmetic.
    private func reference(_ a: Recurrent, x: Tensor, _ wts: Weights, lens: [Int]?, h0: Tensor?, c0: Tensor?,
                           hidden H: Int) -> [Tensor] {
        let bf = a.batchFirst, dirs = a.numDirections, g = a.gates
        let (seq, batch, input) = bf ? (x.shape[1], x.shape[0], x.shape[2]) : (x.shape[0], x.shape[1], x.shape[2])
        let X = x.array(Float.self).map(Double.init), W = wts.w.array(Float.self).map(Double.init)
        let R = wts.r.array(Float.self).map(Double.init), B = wts.b.array(Float.self).map(Double.init)
        let P = wts.p?.array(Float.self).map(Double.init)
        var Y = [Float](repeating: 0, count: seq * dirs * batch * H)
        var Yh = [Float](repeating: 0, count: dirs * batch * H), Yc = Yh
        func sig(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        func yIndex(_ t: Int, _ d: Int, _ n: Int) -> Int { bf ? ((n * seq + t) * dirs + d) * H : ((t * dirs + d) * batch + n) * H }
        func sIndex(_ d: Int, _ n: Int) -> Int { bf ? (n * dirs + d) * H : (d * batch + n) * H }
        for d in 0..<dirs {
            let reverse = d == 1 || a.direction == .reverse
            for n in 0..<batch {
                let len = lens?[n] ?? seq
                var h = (0..<H).map { j in h0.map { Double($0.floats[sIndex(d, n) + j]) } ?? 0 }
                var c = (0..<H).map { j in c0.map { Double($0.floats[sIndex(d, n) + j]) } ?? 0 }
                for step in 0..<len {
                    let t = reverse ? len - 1 - step : step
                    let xo = bf ? (n * seq + t) * input : (t * batch + n) * input
                    // Row q of W·x + Wb and of R·v + Rb for this direction.
                    func wx(_ q: Int) -> Double {
                        (0..<input).reduce(B[d * 2 * g * H + q]) { $0 + W[(d * g * H + q) * input + $1] * X[xo + $1] }
                    }
                    func rv(_ q: Int, _ v: [Double]) -> Double {
                        (0..<H).reduce(B[d * 2 * g * H + g * H + q]) { $0 + R[(d * g * H + q) * H + $1] * v[$1] }
                    }
                    switch a.kind {
                    case .lstm:
                        let p = (0..<3 * H).map { P?[d * 3 * H + $0] ?? 0 }
                        let i = (0..<H).map { sig(wx($0) + rv($0, h) + p[$0] * c[$0]) }
                        let f = (0..<H).map { sig(wx(2 * H + $0) + rv(2 * H + $0, h) + p[2 * H + $0] * c[$0]) }
                        let cc = (0..<H).map { tanh(wx(3 * H + $0) + rv(3 * H + $0, h)) }
                        c = (0..<H).map { f[$0] * c[$0] + i[$0] * cc[$0] }
                        let o = (0..<H).map { sig(wx(H + $0) + rv(H + $0, h) + p[H + $0] * c[$0]) }
                        h = (0..<H).map { o[$0] * tanh(c[$0]) }
                    case .gru:
                        let z = (0..<H).map { sig(wx($0) + rv($0, h)) }
                        let r = (0..<H).map { sig(wx(H + $0) + rv(H + $0, h)) }
                        let hh: [Double]
                        if a.linearBeforeReset {
                            hh = (0..<H).map { tanh(wx(2 * H + $0) + r[$0] * rv(2 * H + $0, h)) }
                        } else {
                            let rh = (0..<H).map { r[$0] * h[$0] }
                            hh = (0..<H).map { tanh(wx(2 * H + $0) + rv(2 * H + $0, rh)) }
                        }
                        h = (0..<H).map { (1 - z[$0]) * hh[$0] + z[$0] * h[$0] }
                    case .rnn:
                        h = (0..<H).map { tanh(wx($0) + rv($0, h)) }
                    }
                    for j in 0..<H { Y[yIndex(t, d, n) + j] = Float(h[j]) }
                }
                if len > 0 {
                    for j in 0..<H { Yh[sIndex(d, n) + j] = Float(h[j]); Yc[sIndex(d, n) + j] = Float(c[j]) }
                }
            }
        }
        let state = bf ? [batch, dirs, H] : [dirs, batch, H]
        let out = [Tensor(Y, shape: bf ? [batch, seq, dirs, H] : [seq, dirs, batch, H]), Tensor(Yh, shape: state),
                   Tensor(Yc, shape: state)]
        return Array(out.prefix(a.maxOutputs))
    }
}
