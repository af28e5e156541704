import DLInferCore

/// The gate activations of `rnn_activate` in recurrent.cl (RA_*), read from a float table.
enum RecurrentActivationCode: Int32, KernelCode {
    static let prefix = "RA"
    case sigmoid, tanh, relu, softsign, softplus, leakyRelu, thresholdedRelu, hardSigmoid, scaledTanh, affine, elu
}

/// LSTM, GRU and RNN (kernels/recurrent.cl), computing what the CPU kernel computes. Per run: one GEMM projects every
/// timestep of X through every direction's W; then each step is one launch (two for GRU with linear_before_reset 0)
/// over all directions, batch entries and hidden units, fusing h·Rᵀ with the gate math and writing h_t straight into
/// Y. The steps queue back to back with no host synchronisation. W (transposed) and R (packed unit by unit) are
/// re-laid-out once when they are constants, on every run otherwise.
final class RecurrentCL: Kernel {
    /// Batch entries per work-item in the recurrent product (RNN_BT in recurrent.cl, defined from here).
    static let batchTile = 4

    private let a: Recurrent, q: CLQueue, gemm: CLGemm
    private let packKernel: CLKernel, initKernel: CLKernel, tailKernel: CLKernel
    private let products: [Product]
    /// (code, alpha, beta) of f, g, h per direction, as `act_fn` reads them.
    private let acts: DeviceTensor
    /// Wᵀ as [input, dirs·gates·hidden], when W is a constant.
    private let packedW: DeviceTensor?
    /// R packed per product, when R is a constant.
    private let packedR: [DeviceTensor]?
    /// The sequence lengths last uploaded, kept while they do not change: an upload waits for the queue to drain.
    private var lensCache: (values: [Int32], tensor: DeviceTensor)?
    /// W and R when packed here (constants): the session then never uploads the originals.
    let prepackedInputs: Set<Int>

    /// One recurrent product of a step: gate blocks first..<first+count of R, and the step kernel that consumes it.
    private struct Product {
        let first: Int, count: Int
        let kernel: CLKernel
    }

    init(_ a: Recurrent, _ node: Node, _ graph: Graph, _ q: CLQueue) throws {
        self.a = a
        self.q = q
        gemm = try CLGemm(q)
        let packKernel = try q.kernel("recurrent", "rnn_pack")
        self.packKernel = packKernel
        initKernel = try q.kernel("recurrent", "rnn_init_state")
        tailKernel = try q.kernel("recurrent", "rnn_zero_tail")
        // GRU with linear_before_reset 0 needs r ⊙ h of every unit before its h gate's product: two launches.
        let plan: [(Int, Int, String)]
        switch a.kind {
        case .lstm: plan = [(0, 4, "lstm_step")]
        case .rnn: plan = [(0, 1, "rnn_step")]
        case .gru: plan = a.linearBeforeReset ? [(0, 3, "gru_step")] : [(0, 2, "gru_reset_step"), (2, 1, "gru_hidden_step")]
        }
        let products = try plan.map { Product(first: $0.0, count: $0.1, kernel: try q.kernel("recurrent", $0.2)) }
        self.products = products
        // Three slots per direction whatever the kind uses.
        let codes = a.activations.flatMap { f in (0..<3).flatMap { $0 < f.count ? RecurrentCL.encode(f[$0]) : [0, 0, 0] } }
        acts = try q.uploadExact(Tensor(codes, shape: [codes.count]))

        func constant(_ i: Int) -> Tensor? { i < node.inputs.count ? node.inputs[i].flatMap { graph.constants[$0] } : nil }
        let dirs = a.numDirections, g = a.gates
        // Packed here only when shaped as type inference requires; otherwise at run time, after inference has checked.
        // The upload goes back to the pool once packed: the queue is in order, so whatever reuses it runs later.
        if let w = constant(1), w.dtype == .float32, w.rank == 3, w.shape[0] == dirs, w.shape[1] % g == 0 {
            let raw = try q.upload(w)
            packedW = try RecurrentCL.packW(q, packKernel, raw)
            q.recycle(raw.buffer)
        } else {
            packedW = nil
        }
        if let r = constant(2), r.dtype == .float32, r.rank == 3, r.shape[0] == dirs, r.shape[1] == g * r.shape[2] {
            let raw = try q.upload(r)
            packedR = try RecurrentCL.packR(q, packKernel, products, raw)
            q.recycle(raw.buffer)
        } else {
            packedR = nil
        }
        prepackedInputs = Set((packedW == nil ? [] : [1]) + (packedR == nil ? [] : [2]))
    }

    /// `rnn_pack` of src ([dirs, rows, k]): per direction, `count` gate blocks of n rows from block `first`, as
    /// [dirs, k, n, count].
    private static func pack(_ q: CLQueue, _ kernel: CLKernel, _ src: DeviceTensor, dirs: Int, rows: Int, k: Int,
                             first: Int, count: Int, n: Int) throws -> DeviceTensor {
        let dst = try q.allocate(.float32, [dirs, k, n, count])
        try q.launch1D(kernel, dst.count, [.buffer(src), .buffer(dst), .int(dst.count), .int(rows), .int(k),
                                           .int(first * n), .int(count), .int(n)])
        return dst
    }

    /// W [dirs, gates·hidden, input] as Wᵀ [input, dirs·gates·hidden], the GEMM's non-transposed right operand.
    private static func packW(_ q: CLQueue, _ kernel: CLKernel, _ w: DeviceTensor) throws -> DeviceTensor {
        let rows = w.shape[0] * w.shape[1]
        return try pack(q, kernel, w, dirs: 1, rows: rows, k: w.shape[2], first: 0, count: 1, n: rows)
    }

    /// R [dirs, gates·hidden, hidden] as one [dirs, hidden (k), hidden (unit), count] block per product.
    private static func packR(_ q: CLQueue, _ kernel: CLKernel, _ products: [Product], _ r: DeviceTensor) throws -> [DeviceTensor] {
        try products.map {
            try pack(q, kernel, r, dirs: r.shape[0], rows: r.shape[1], k: r.shape[2], first: $0.first, count: $0.count, n: r.shape[2])
        }
    }

    /// An activation as `act_fn` reads it from the table: its code (as a float), alpha and beta.
    private static func encode(_ f: Recurrent.Activation) -> [Float] {
        let (code, alpha, beta): (RecurrentActivationCode, Float, Float)
        switch f {
        case .sigmoid: (code, alpha, beta) = (.sigmoid, 0, 0)
        case .tanh: (code, alpha, beta) = (.tanh, 0, 0)
        case .relu: (code, alpha, beta) = (.relu, 0, 0)
        case .softsign: (code, alpha, beta) = (.softsign, 0, 0)
        case .softplus: (code, alpha, beta) = (.softplus, 0, 0)
        case .leakyRelu(let a): (code, alpha, beta) = (.leakyRelu, a, 0)
        case .thresholdedRelu(let a): (code, alpha, beta) = (.thresholdedRelu, a, 0)
        case .hardSigmoid(let a, let b): (code, alpha, beta) = (.hardSigmoid, a, b)
        case .scaledTanh(let a, let b): (code, alpha, beta) = (.scaledTanh, a, b)
        case .affine(let a, let b): (code, alpha, beta) = (.affine, a, b)
        case .elu(let a): (code, alpha, beta) = (.elu, a, 0)
        }
        return [Float(code.rawValue), alpha, beta]
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        // W and R themselves are absent when they were prepacked.
        let x = inputs[0], w = inputs.device[1], r = inputs.device[2], wShape = inputs.shape(1), rShape = inputs.shape(2)
        let dirs = a.numDirections, hidden = rShape[2], gh = a.gates * hidden
        let (seq, batch) = a.batchFirst ? (x.shape[1], x.shape[0]) : (x.shape[0], x.shape[1])
        let inputSize = x.shape[2]
        for (what, n) in [("X·Wᵀ", seq * batch * dirs * gh), ("W", wShape.elementCount), ("R", rShape.elementCount), ("Y", seq * batch * dirs * hidden)]
        where n > Int(Int32.max) {
            throw DLInferError(.unsupported, "\(a.opName): \(what) has \(n) elements, beyond the 32-bit indexing of the OpenCL kernels")
        }
        let (lens, maxLen) = try sequenceLengths(inputs.host.count > 4 ? inputs.host[4] : nil, seq: seq, batch: batch)

        var scratch = [DeviceTensor]()
        defer { for t in scratch { q.recycle(t.buffer) } }
        func temporary(_ shape: [Int]) throws -> DeviceTensor {
            let t = try q.allocate(.float32, shape)
            scratch.append(t)
            return t
        }
        let stateShape = a.batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden]
        let y = outputs.wanted(0) ? try q.allocate(.float32, outputs.shape(0)) : nil
        let yh = outputs.wanted(1) ? try q.allocate(.float32, outputs.shape(1)) : try temporary(stateShape)
        let yc: DeviceTensor? = a.kind != .lstm ? nil : outputs.wanted(2) ? try q.allocate(.float32, outputs.shape(2)) : try temporary(stateShape)
        // Step s reads h[s % 2] and writes the other buffer, so that the last step writes Y_h.
        let hOther = maxLen > 0 ? try temporary(stateShape) : yh
        let h = maxLen % 2 == 0 ? [yh, hOther] : [hOther, yh]

        // When no entry takes a step (all lengths 0, or no timesteps at all) the states end as zeros.
        for (state, k) in [(h[0], 5), (yc, 6)] as [(DeviceTensor?, Int)] {
            guard let state else { continue }
            let src: DeviceTensor? = inputs.has(k) && maxLen > 0 ? inputs[k] : nil
            try q.launch1D(initKernel, state.count, [.buffer(state), .buffer(src ?? state), .flag(src != nil),
                                                     .buffer(lens ?? state), .flag(lens != nil), .int(state.count),
                                                     .int(hidden), .int(batch), .int(dirs), .flag(a.batchFirst)])
        }

        if maxLen > 0 {
            // X·Wᵀ for every timestep and direction: [seq·batch, dirs·gates·hidden], rows in X's order; the steps
            // add the biases.
            let ldxw = dirs * gh
            let xw = try temporary([seq * batch, ldxw])
            let wOperand = packedW.map { GemmOperand(tensor: $0, ld: ldxw) }
                ?? GemmOperand(tensor: w!, ld: inputSize, transposed: true)
            try gemm.enqueue(m: seq * batch, n: ldxw, k: inputSize, a: GemmOperand(tensor: x, ld: inputSize), b: wOperand,
                             c: GemmOperand(tensor: xw, ld: ldxw))
            let rp = try packedR ?? RecurrentCL.packR(q, packKernel, products, r!)
            if packedR == nil { scratch += rp }

            // Element strides of (timestep, batch entry, direction) in xw, Y and the states.
            let (yT, yB, yD) = a.batchFirst ? (dirs * hidden, seq * dirs * hidden, hidden) : (dirs * batch * hidden, hidden, batch * hidden)
            let steps = StepArgs(xw: xw, xwStrides: a.batchFirst ? (ldxw, seq * ldxw) : (batch * ldxw, ldxw),
                                 bias: inputs.has(3) ? inputs[3] : nil,
                                 stateStrides: a.batchFirst ? (dirs * hidden, hidden) : (hidden, batch * hidden),
                                 lens: lens, acts: acts, clip: a.clip, hidden: hidden, batch: batch, dirs: dirs,
                                 reversed: a.direction == .reverse ? 1 : a.direction == .bidirectional ? 2 : 0, steps: maxLen)
            let outputArgs = { (hNext: DeviceTensor) -> [CLArg] in
                [.buffer(hNext), .buffer(y ?? xw), .flag(y != nil), .int(yT), .int(yB), .int(yD)]
            }
            let chunks = (batch + RecurrentCL.batchTile - 1) / RecurrentCL.batchTile
            let shapes = try products.map { try groupShape($0, hidden: hidden, groupsPerUnitBlock: dirs * chunks) }
            func launch(_ p: Int, _ step: Int, _ specific: [CLArg]) throws {
                let (units, split) = shapes[p]
                let red = (split + 1) * products[p].count * RecurrentCL.batchTile * units * MemoryLayout<Float>.size
                try q.launch(products[p].kernel, global: [hidden, split, dirs * chunks], local: [units, split, 1],
                             [.buffer(rp[p])] + specific + steps.args(step: step, hPrev: h[step % 2], localBytes: red))
            }

            switch a.kind {
            case .lstm:
                let peep = inputs.has(7) ? inputs[7] : xw
                for step in 0..<maxLen {
                    try launch(0, step, [.buffer(yc!), .buffer(peep), .flag(inputs.has(7)), .flag(a.inputForget)]
                               + outputArgs(h[(step + 1) % 2]))
                }
            case .gru where !a.linearBeforeReset:
                let z = try temporary([dirs, batch, hidden]), rh = try temporary([dirs, batch, hidden])
                for step in 0..<maxLen {
                    try launch(0, step, [.buffer(z), .buffer(rh)])
                    try launch(1, step, [.buffer(z), .buffer(rh)] + outputArgs(h[(step + 1) % 2]))
                }
            case .rnn, .gru:
                for step in 0..<maxLen { try launch(0, step, outputArgs(h[(step + 1) % 2])) }
            }
        }

        if let y, maxLen < seq {
            // The steps no sequence reaches are zeros in Y.
            let (outer, row) = a.batchFirst ? (batch, dirs * hidden) : (1, dirs * batch * hidden)
            let n = outer * (seq - maxLen) * row
            try q.launch1D(tailKernel, n, [.buffer(y), .int(n), .int(maxLen), .int(seq), .int(row)])
        }
        let outs: [DeviceTensor?] = [y, outputs.wanted(1) ? yh : nil, outputs.wanted(2) ? yc : nil]
        return Array(outs.prefix(a.maxOutputs))
    }

    /// What every step kernel takes after its own arguments (STEP_ARGS in recurrent.cl), in its groups: X·Wᵀ with
    /// the strides of (timestep, batch entry), the bias, the previous state with the strides of (batch entry,
    /// direction), the sequence lengths, the activations and the clip, the sizes, the directions that run backwards
    /// (bit d for direction d), the step and the number of steps, and the local memory of the product.
    private struct StepArgs {
        let xw: DeviceTensor, xwStrides: (Int, Int)
        let bias: DeviceTensor?
        let stateStrides: (Int, Int)
        let lens: DeviceTensor?, acts: DeviceTensor, clip: Float?
        let hidden: Int, batch: Int, dirs: Int, reversed: Int, steps: Int

        func args(step: Int, hPrev: DeviceTensor, localBytes: Int) -> [CLArg] {
            // xw stands in for the buffers that are absent.
            [.buffer(xw), .int(xwStrides.0), .int(xwStrides.1), .buffer(bias ?? xw), .flag(bias != nil),
             .buffer(hPrev), .int(stateStrides.0), .int(stateStrides.1),
             .buffer(lens ?? xw), .flag(lens != nil), .buffer(acts), .float(clip ?? 0), .flag(clip != nil),
             .int(hidden), .int(batch), .int(dirs), .int(reversed), .int(step), .int(steps), .local(localBytes)]
        }
    }

    /// The lengths on the device (nil without sequence_lens) and the longest; checked as the CPU kernel checks them.
    private func sequenceLengths(_ t: Tensor?, seq: Int, batch: Int) throws -> (DeviceTensor?, Int) {
        guard let t else { return (nil, batch == 0 ? 0 : seq) }
        let values = Array(t.buffer(Int32.self))
        for (b, v) in values.enumerated() where v < 0 || Int(v) > seq {
            throw DLInferError.invalid("sequence_lens[\(b)] is \(v); each length must be in 0...\(seq) (the sequence length)")
        }
        let longest = Int(values.max() ?? 0)
        if let cached = lensCache, cached.values == values { return (cached.tensor, longest) }
        if let old = lensCache { q.recycle(old.tensor.buffer) }
        let d = try q.upload(t)
        lensCache = (values, d)
        return (d, longest)
    }

    /// Work-group shape of a step kernel. Units across: up to 32, fewer while that leaves fewer than two
    /// work-groups per compute unit, but never below 128-byte weight rows (units·gates·4 bytes), so reads stay
    /// coalesced. Reduction slices down: as many as give each slice about 16 terms, within 256 work-items and local
    /// memory, and at least `batchTile` so that every batch entry of the tile has a work-item for its gate math.
    private func groupShape(_ p: Product, hidden: Int, groupsPerUnitBlock: Int) throws -> (units: Int, split: Int) {
        let tile = RecurrentCL.batchTile
        let threads = min(256, p.kernel.maxWorkGroupSize)
        // `recurrent_product`'s local memory is (split + 1)·gates·tile·units floats.
        let floats = Int(q.ctx.device.localMemory) / MemoryLayout<Float>.size / (p.count * tile)
        var units = 1
        while units < min(32, hidden) { units *= 2 }
        let minUnits = max(1, 32 / p.count), wantGroups = 2 * q.ctx.device.computeUnits
        while units / 2 >= minUnits && (hidden + units - 1) / units * groupsPerUnitBlock < wantGroups { units /= 2 }
        func maxSplit(_ units: Int) -> Int { min(threads / units, floats / units - 1) }
        while units > 1 && maxSplit(units) < tile { units /= 2 }
        guard maxSplit(units) >= tile else {
            throw DLInferError(.unsupported, "\(a.opName): \(p.kernel.name) needs work-groups of \(tile) work-items and \((tile + 1) * p.count * tile * 4) bytes of local memory; \(q.ctx.device.name) allows \(threads) and \(q.ctx.device.localMemory)")
        }
        var split = tile
        while split * 2 <= maxSplit(units) && split * 16 < hidden { split *= 2 }
        return (units, split)
    }
}
