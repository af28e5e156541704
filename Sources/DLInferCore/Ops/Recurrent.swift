#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One recurrent layer: ONNX LSTM, GRU or RNN (opsets 7-21), one or two directions over a whole sequence.
///
/// Inputs: X, W, R, B?, sequence_lens?, initial_h?, and for LSTM initial_c?, P?. Outputs: Y?, Y_h?, and for LSTM Y_c?.
/// With layout 0, X is [seq, batch, input], Y [seq, dirs, batch, hidden], initial_h/Y_h/initial_c/Y_c
/// [dirs, batch, hidden]; with layout 1 (batch first), X is [batch, seq, input], Y [batch, seq, dirs, hidden] and the
/// states [batch, dirs, hidden]. W is [dirs, gates·hidden, input], R [dirs, gates·hidden, hidden], B [dirs, 2·gates·hidden]
/// (Wb then Rb), P [dirs, 3·hidden]. Gate order: LSTM i,o,f,c (P: i,o,f); GRU z,r,h; RNN i.
///
/// Where the spec leaves room, dlinfer does what onnxruntime does, so results match it:
/// - a batch entry's steps at or past its `sequence_lens` give zeros in Y and leave its state unchanged, so Y_h/Y_c hold
///   its last valid state; the reverse direction starts at the entry's own last valid step. An entry of length 0
///   gives zeros in Y_h and Y_c (not its initial state).
/// - `clip` bounds every gate's pre-activation to [-clip, clip]; the cell state given to LSTM's `h` is not clipped.
/// - activation names are matched without regard to case; activation_alpha/beta values are consumed, in order, only
///   by the activations that take them, and the rest use the spec's defaults.
public struct Recurrent: OpAttributes {
    public enum Kind: String, Sendable { case lstm = "LSTM", gru = "GRU", rnn = "RNN" }
    public enum Direction: String, Sendable, CaseIterable { case forward, reverse, bidirectional }

    /// The activation functions the recurrent ops accept (f, g, h in the spec's equations).
    public enum Activation: Sendable, Equatable {
        case sigmoid, tanh, relu, softsign, softplus
        case leakyRelu(alpha: Float)
        case thresholdedRelu(alpha: Float)
        case hardSigmoid(alpha: Float, beta: Float)
        case scaledTanh(alpha: Float, beta: Float)
        case affine(alpha: Float, beta: Float)
        case elu(alpha: Float)

        @inline(__always)
        public func apply(_ x: Float) -> Float {
            switch self {
            case .sigmoid: return sigmoidf(x)
            case .tanh: return tanhf(x)
            case .relu: return x < 0 ? 0 : x  // NaN stays NaN, as for the standalone activations
            case .softsign: return x / (1 + Swift.abs(x))
            // log1p(e^x) overflows to inf for large x, where the result is x itself.
            case .softplus: return x > 20 ? x : log1pf(expf(x))
            case .leakyRelu(let a): return x >= 0 ? x : a * x
            case .thresholdedRelu(let a): return x > a ? x : 0
            case .hardSigmoid(let a, let b):
                let v = a * x + b
                return v < 0 ? 0 : (v > 1 ? 1 : v)  // NaN stays NaN
            case .scaledTanh(let a, let b): return a * tanhf(b * x)
            case .affine(let a, let b): return a * x + b
            case .elu(let a): return x >= 0 ? x : a * (expf(x) - 1)
            }
        }
    }

    public var kind: Kind
    public var direction: Direction
    /// The `hidden_size` attribute; when absent the hidden size is read from R's shape.
    public var hiddenSize: Int?
    /// Per direction (forward first), the kind's activations in the spec's order: LSTM f,g,h; GRU f,g; RNN f.
    public var activations: [[Activation]]
    /// Bound on every gate pre-activation, if set.
    public var clip: Float?
    /// LSTM only: couple the input and forget gates (f = 1 - i).
    public var inputForget: Bool
    /// GRU only: apply the reset gate after the recurrent product (h = g(x·Whᵀ + r ⊙ (h·Rhᵀ + Rbh) + Wbh)).
    public var linearBeforeReset: Bool
    /// Layout 1: batch is the first dimension of X, Y and the states.
    public var batchFirst: Bool

    public init(kind: Kind, direction: Direction = .forward, hiddenSize: Int? = nil, activations: [[Activation]]? = nil,
                clip: Float? = nil, inputForget: Bool = false, linearBeforeReset: Bool = false, batchFirst: Bool = false) {
        self.kind = kind
        self.direction = direction
        self.hiddenSize = hiddenSize
        let dirs = direction == .bidirectional ? 2 : 1
        self.activations = activations ?? Array(repeating: Recurrent.defaultActivations(kind), count: dirs)
        self.clip = clip
        self.inputForget = inputForget
        self.linearBeforeReset = linearBeforeReset
        self.batchFirst = batchFirst
    }

    public static func defaultActivations(_ kind: Kind) -> [Activation] {
        switch kind {
        case .lstm: return [.sigmoid, .tanh, .tanh]
        case .gru: return [.sigmoid, .tanh]
        case .rnn: return [.tanh]
        }
    }

    public var opName: String { kind.rawValue }
    public var numDirections: Int { direction == .bidirectional ? 2 : 1 }
    /// Gates stacked in W, R and each half of B.
    public var gates: Int {
        switch kind {
        case .lstm: return 4
        case .gru: return 3
        case .rnn: return 1
        }
    }
    public var activationsPerDirection: Int {
        switch kind {
        case .lstm: return 3
        case .gru: return 2
        case .rnn: return 1
        }
    }
    public var maxInputs: Int { kind == .lstm ? 8 : 6 }
    public var maxOutputs: Int { kind == .lstm ? 3 : 2 }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        try checkAttributes()
        guard inputs.count <= maxInputs else { throw DLInferError.model("\(opName) takes at most \(maxInputs) inputs, got \(inputs.count)") }
        let dirs = Dim.fixed(numDirections), g = gates

        let x = try input(inputs, 0, "X", rank: 3, required: true)!
        let (seq, batch) = batchFirst ? (x[1], x[0]) : (x[0], x[1])
        let inputSize = x[2]
        let w = try input(inputs, 1, "W", rank: 3, required: true)!
        let r = try input(inputs, 2, "R", rank: 3, required: true)!

        // The hidden size: the attribute, else R's last dimension, else what W's and R's gate dimension imply.
        var hidden = hiddenSize.map(Dim.fixed) ?? r[2]
        if hidden.value == nil, let n = w[1].value ?? r[1].value {
            guard n % g == 0 else { throw DLInferError.shape("W/R dimension 1 is \(n), not a multiple of \(g) gates") }
            hidden = .fixed(n / g)
        }
        if let h = hidden.value, h <= 0 { throw DLInferError.shape("the hidden size is \(h); it must be positive") }
        let gh = dimMap(hidden) { $0 * g }

        try expect(w, [dirs, gh, inputSize], "W", "[num_directions, \(g)·hidden_size, input_size]")
        try expect(r, [dirs, gh, hidden], "R", "[num_directions, \(g)·hidden_size, hidden_size]")
        if let b = try input(inputs, 3, "B", rank: 2, required: false) {
            try expect(b, [dirs, dimMap(hidden) { $0 * 2 * g }], "B", "[num_directions, \(2 * g)·hidden_size]")
        }
        var batchDim = batch
        if let lens = inputs.optional(4) {
            try requireDType(lens.type.dtype, [.int32], "sequence_lens")
            let s = try lens.type.requireRank("sequence_lens")
            guard s.count == 1 else { throw DLInferError.shape("sequence_lens must have rank 1 [batch_size], got \(lens.type)") }
            batchDim = try unify(batchDim, s[0], "sequence_lens dimension 0 (batch_size)")
            if let v = lens.value, let n = seq.value {
                for l in v.buffer(Int32.self) where l < 0 || Int(l) > n {
                    throw DLInferError.invalid("sequence_lens has \(l); each length must be in 0...\(n) (the sequence length)")
                }
            }
        }
        let stateRole = batchFirst ? "[batch_size, num_directions, hidden_size]" : "[num_directions, batch_size, hidden_size]"
        for (i, role) in [(5, "initial_h"), (6, "initial_c")] where i < maxInputs {
            guard let s = try input(inputs, i, role, rank: 3, required: false) else { continue }
            let (sd, sb) = batchFirst ? (s[1], s[0]) : (s[0], s[1])
            try expect([sd, s[2]], [dirs, hidden], role, stateRole)
            batchDim = try unify(batchDim, sb, "\(role)'s batch dimension")
        }
        if kind == .lstm, let p = try input(inputs, 7, "P", rank: 2, required: false) {
            try expect(p, [dirs, dimMap(hidden) { $0 * 3 }], "P", "[num_directions, 3·hidden_size]")
        }

        let y: [Dim] = batchFirst ? [batchDim, seq, dirs, hidden] : [seq, dirs, batchDim, hidden]
        let state: [Dim] = batchFirst ? [batchDim, dirs, hidden] : [dirs, batchDim, hidden]
        let t = inputs[0]!.type.dtype
        return [ValueType(t, y)] + Array(repeating: ValueType(t, state), count: maxOutputs - 1)
    }

    private func checkAttributes() throws {
        if let h = hiddenSize, h <= 0 { throw DLInferError.model("hidden_size is \(h); it must be positive") }
        if let c = clip, !(c > 0) { throw DLInferError.model("clip is \(c); it must be positive") }
        if inputForget && kind != .lstm { throw DLInferError.model("input_forget applies only to LSTM") }
        if linearBeforeReset && kind != .gru { throw DLInferError.model("linear_before_reset applies only to GRU") }
        guard activations.count == numDirections, activations.allSatisfy({ $0.count == activationsPerDirection }) else {
            throw DLInferError.model("\(opName) \(direction.rawValue) needs \(activationsPerDirection * numDirections) activations, got \(activations.map(\.count).reduce(0, +))")
        }
    }

    /// Input `i`'s dims after checking its dtype (a float type, X's for the others) and rank; nil if the optional
    /// input is omitted.
    private func input(_ inputs: [TypedInput?], _ i: Int, _ role: String, rank: Int, required: Bool) throws -> [Dim]? {
        guard let v = required ? try inputs.required(i, role) : inputs.optional(i) else { return nil }
        try requireDType(v.type.dtype, i == 0 ? [.float32] : [inputs[0]?.type.dtype ?? .float32], role)
        let s = try v.type.requireRank(role)
        guard s.count == rank else { throw DLInferError.shape("\(role) must have rank \(rank), got \(v.type)") }
        return s
    }

    /// Checks the dims known on both sides.
    private func expect(_ got: [Dim], _ want: [Dim], _ role: String, _ layout: String) throws {
        for (a, b) in zip(got, want) {
            if let x = a.value, let y = b.value, x != y {
                throw DLInferError.shape("\(role) has shape [\(got.map(\.description).joined(separator: ","))], expected \(layout) = [\(want.map(\.description).joined(separator: ","))]")
            }
        }
    }

    private func unify(_ a: Dim, _ b: Dim, _ what: String) throws -> Dim {
        switch (a.value, b.value) {
        case let (x?, y?) where x != y: throw DLInferError.shape("\(what) is \(y), but X's batch size is \(x)")
        case (nil, .some): return b
        default: return a
        }
    }
}
