import DLInferCore
import DLInferCPU
import DLInferOpenCL
import XCTest

/// LSTM, GRU and RNN on OpenCL against the CPU kernel: every kind × direction × layout × sequence_lens (mixed, with
/// empty sequences and steps no sequence reaches) × initial states at hidden sizes 1, 7, 33 (and two batch tiles at
/// 129), batch 1 and 3, 1 and 9 steps; every activation with its alpha/beta, clip, peepholes, input_forget, both
/// GRU reset modes, every combination of wanted outputs, weights as constants and as graph inputs, and lengths that
/// change between runs.
final class OpenCLRecurrentTests: OpenCLTestCase {
    struct Shape {
        var seq: Int, batch: Int, input: Int, hidden: Int
    }

    /// Operands X, W, R, B?, sequence_lens?, initial_h?, initial_c?, P? (the last two for LSTM only).
    func operands(_ a: Recurrent, _ s: Shape, bias: Bool = true, lens: [Int32]? = nil, initial: Bool = false,
                  peepholes: Bool = false, constantWeights: Bool = true, constantLens: Bool = true) -> [(Tensor, constant: Bool)?] {
        let dirs = a.numDirections, gh = a.gates * s.hidden
        let state = a.batchFirst ? [s.batch, dirs, s.hidden] : [dirs, s.batch, s.hidden]
        var ops: [(Tensor, constant: Bool)?] = [
            (random(a.batchFirst ? [s.batch, s.seq, s.input] : [s.seq, s.batch, s.input]), false),
            (random([dirs, gh, s.input], scale: 0.6), constantWeights),
            (random([dirs, gh, s.hidden], scale: 0.6), constantWeights),
            bias ? (random([dirs, 2 * gh], scale: 0.5), constantWeights) : nil,
            lens.map { (Tensor($0, shape: [s.batch]), constantLens) },
            initial ? (random(state), false) : nil,
        ]
        if a.kind == .lstm {
            ops.append(initial ? (random(state), false) : nil)
            ops.append(peepholes ? (random([dirs, 3 * s.hidden], scale: 0.5), constantWeights) : nil)
        }
        return ops
    }

    /// Runs the node on the CPU and on OpenCL with the outputs in `wanted` (all by default) and compares them; then
    /// again with each of `relens` as sequence_lens (a graph input then).
    func compare(_ a: Recurrent, _ ops: [(Tensor, constant: Bool)?], wanted: [Bool]? = nil, relens: [[Int32]] = [],
                 _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let device = try openCLDevice()
        let g = Graph()
        var ids = [ValueID?](), feeds = [Tensor](), lensFeed: Int? = nil
        for (i, o) in ops.enumerated() {
            guard let (t, constant) = o else { ids.append(nil); continue }
            if constant {
                ids.append(g.addConstant("c\(i)", t))
            } else {
                let id = g.addValue("x\(i)", t.type)
                if i == 4 { lensFeed = feeds.count }
                g.inputs.append(id); ids.append(id); feeds.append(t)
            }
        }
        let outs = (wanted ?? Array(repeating: true, count: a.maxOutputs)).enumerated().map { k, w in
            w ? g.addValue("y\(k)", ValueType(.float32, nil)) : nil
        }
        g.nodes.append(Node(name: "n", op: .recurrent(a), inputs: ids, outputs: outs))
        g.outputs = outs.compactMap { $0 }
        try g.inferTypes()
        let cpu = try Session(graph: g, host: CPUBackend())
        let cl = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: device))
        let label = "\(a.opName) \(a.direction) \(what)"
        XCTAssertEqual(cl.placements[0].backend, "opencl", "\(label) was not placed on OpenCL: \(cl.placements[0].reason ?? "")", file: file, line: line)
        var runs = [feeds, feeds]  // the second run reuses pooled buffers and packed weights
        for l in relens {
            var f = feeds
            f[lensFeed!] = Tensor(l, shape: [l.count])
            runs.append(f)
        }
        for (run, f) in runs.enumerated() {
            let want = try cpu.run(f), got = try cl.run(f)
            for (k, (gt, wt)) in zip(got, want).enumerated() {
                assertClose(gt, wt, rtol: 1e-3, atol: 1e-4, "\(label) output \(k) run \(run)", file: file, line: line)
            }
        }
    }

    /// The kinds, GRU in both reset modes.
    static let kinds: [(Recurrent.Kind, linearBeforeReset: Bool)] = [(.lstm, false), (.gru, false), (.gru, true), (.rnn, false)]

    func testEveryKindDirectionLayoutLengthsAndInitialState() throws {
        var n = 0
        for (kind, lbr) in Self.kinds {
            for direction in Recurrent.Direction.allCases {
                for batchFirst in [false, true] {
                    for withLens in [false, true] {
                        for initial in [false, true] {
                            // Cycle the awkward sizes through the combinations.
                            let hidden = [1, 7, 33][n % 3], batch = [1, 3][(n / 3) % 2], seq = [9, 1][(n / 6) % 2]
                            n += 1
                            // Mixed lengths with an empty one; with batch 1, a length short of the sequence.
                            let lens: [Int32]? = !withLens ? nil
                                : batch == 1 ? [Int32(max(seq - 3, 0))] : [Int32(seq), 0, Int32((seq + 1) / 2)]
                            let a = Recurrent(kind: kind, direction: direction, linearBeforeReset: lbr, batchFirst: batchFirst)
                            let s = Shape(seq: seq, batch: batch, input: 5, hidden: hidden)
                            try compare(a, operands(a, s, lens: lens, initial: initial),
                                        "layout \(batchFirst ? 1 : 0) lbr \(lbr) lens \(lens ?? []) initial \(initial) H \(hidden) B \(batch) T \(seq)")
                        }
                    }
                }
            }
        }
    }

    func testEveryActivationWithClip() throws {
        let all: [Recurrent.Activation] = [.sigmoid, .tanh, .relu, .softsign, .softplus, .leakyRelu(alpha: 0.2),
                                           .thresholdedRelu(alpha: 0.3), .hardSigmoid(alpha: 0.3, beta: 0.4),
                                           .scaledTanh(alpha: 0.8, beta: 1.3), .affine(alpha: 0.7, beta: -0.1), .elu(alpha: 0.9)]
        // Few steps: unbounded gate functions (relu as GRU's z) make the state grow without limit.
        let s = Shape(seq: 4, batch: 3, input: 4, hidden: 7)
        for (kind, lbr) in Self.kinds {
            let per = Recurrent.defaultActivations(kind).count
            for (i, clip) in [nil, 0.7 as Float?].enumerated() {
                for start in stride(from: 0, to: all.count, by: per) {
                    // The two directions get different functions, so each direction's own are applied.
                    let fwd = (0..<per).map { all[(start + $0) % all.count] }
                    let bwd = (0..<per).map { all[(start + per + $0 + i) % all.count] }
                    let a = Recurrent(kind: kind, direction: .bidirectional, activations: [fwd, bwd], clip: clip,
                                      linearBeforeReset: lbr, batchFirst: i == 1)
                    try compare(a, operands(a, s, lens: [4, 2, 0], initial: true), "lbr \(lbr) clip \(clip ?? 0) \(fwd) \(bwd)")
                }
            }
        }
    }

    func testLSTMPeepholesInputForgetAndNoBias() throws {
        for (i, (peep, forget, bias)) in [(true, false, true), (false, true, true), (true, true, false), (true, false, false)].enumerated() {
            let a = Recurrent(kind: .lstm, direction: [.forward, .reverse, .bidirectional][i % 3], clip: i == 2 ? 0.5 : nil,
                              inputForget: forget, batchFirst: i == 1)
            let s = Shape(seq: 9, batch: 3, input: 6, hidden: 33)
            try compare(a, operands(a, s, bias: bias, lens: i == 3 ? [3, 9, 0] : nil, initial: i != 1, peepholes: peep),
                        "peepholes \(peep) input_forget \(forget) bias \(bias)")
        }
        for kind in [Recurrent.Kind.gru, .rnn] {
            let a = Recurrent(kind: kind, direction: .bidirectional)
            try compare(a, operands(a, Shape(seq: 4, batch: 3, input: 2, hidden: 7), bias: false, initial: true), "no bias")
        }
    }

    func testEveryOutputCombination() throws {
        for (kind, lbr) in Self.kinds {
            let a = Recurrent(kind: kind, direction: .bidirectional, linearBeforeReset: lbr)
            let outputs = a.maxOutputs
            for mask in 1..<(1 << outputs) {
                let wanted = (0..<outputs).map { mask & (1 << $0) != 0 }
                // Even and odd step counts: the last step writes Y_h's buffer either way.
                let s = Shape(seq: 4 + mask % 2, batch: 3, input: 3, hidden: 7)
                try compare(a, operands(a, s, lens: [2, Int32(s.seq), 0], initial: true, peepholes: true),
                            wanted: wanted, "lbr \(lbr) outputs \(wanted)")
            }
        }
    }

    func testWeightsAsGraphInputs() throws {
        for (kind, lbr) in Self.kinds {
            for batchFirst in [false, true] {
                let a = Recurrent(kind: kind, direction: .bidirectional, linearBeforeReset: lbr, batchFirst: batchFirst)
                try compare(a, operands(a, Shape(seq: 5, batch: 3, input: 7, hidden: 33), lens: [5, 1, 3], initial: true,
                                        peepholes: true, constantWeights: false),
                            "lbr \(lbr) layout \(batchFirst ? 1 : 0) non-constant weights")
            }
        }
    }

    func testLengthsChangingBetweenRuns() throws {
        for (kind, lbr) in Self.kinds {
            let a = Recurrent(kind: kind, direction: .bidirectional, linearBeforeReset: lbr)
            try compare(a, operands(a, Shape(seq: 6, batch: 3, input: 4, hidden: 7), lens: [6, 2, 0], initial: true,
                                    constantLens: false),
                        relens: [[1, 6, 3], [0, 0, 0], [6, 6, 6], [1, 6, 3]], "lbr \(lbr) changing lengths")
        }
    }

    func testLargerHiddenAndBatchTiles() throws {
        // Batch 5: a full tile of 4 entries and a partial one; hidden 129 and 300: several work-groups and slices.
        for (kind, lbr) in Self.kinds {
            for (hidden, batch, seq) in [(129, 5, 3), (300, 1, 2)] {
                let a = Recurrent(kind: kind, direction: .bidirectional, linearBeforeReset: lbr, batchFirst: batch == 5)
                try compare(a, operands(a, Shape(seq: seq, batch: batch, input: 17, hidden: hidden),
                                        lens: batch == 5 ? [3, 1, 0, 2, 3] : nil, initial: true, peepholes: true),
                            "lbr \(lbr) H \(hidden) B \(batch)")
            }
        }
    }

    func testEmptySequenceAndEmptyInput() throws {
        for (kind, lbr) in Self.kinds {
            let a = Recurrent(kind: kind, direction: .bidirectional, linearBeforeReset: lbr)
            try compare(a, operands(a, Shape(seq: 0, batch: 2, input: 3, hidden: 7), initial: true), "no timesteps")
            try compare(a, operands(a, Shape(seq: 3, batch: 2, input: 0, hidden: 7), initial: true), "input size 0")
        }
    }
}
