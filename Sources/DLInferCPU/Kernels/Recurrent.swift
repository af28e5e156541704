import DLInferCore

/// LSTM, GRU and RNN. Per run: one sgemm projects every timestep of X through both directions' W at once; then each
/// direction walks its steps, each step being the recurrent product h·Rᵀ (a GEMV over R packed in panels when batch
/// is 1, else sgemm) and one fused pass over the gates that writes the new state and Y. The two directions of a
/// bidirectional layer, and groups of batch entries, run concurrently. R is packed and the biases combined once at
/// load when they are constants.
func makeRecurrentKernel(_ a: Recurrent, _ node: Node, _ graph: Graph) throws -> HostKernel {
    func constant(_ i: Int) -> Tensor? { i < node.inputs.count ? node.inputs[i].flatMap { graph.constants[$0] } : nil }
    // Packed only when the shapes are as type inference checks them (a graph built without inference gets its
    // shapes checked at run, before any packing).
    let w = constant(1).flatMap { w -> LazyPackedWeight? in
        guard w.dtype == .float32, w.rank == 3, w.shape[0] == a.numDirections, w.shape[1] % a.gates == 0 else { return nil }
        // Wᵀ as the projection's right operand [input, dirs·gates·hidden], packed for a single row too: the packed
        // matrix-vector kernel streams panels, where reading W as it is takes one dot product per row (horizontal
        // sums; char_rnn's 32-input first layer above all): a char-RNN step took 0.91 of its time.
        return LazyPackedWeight(w, .right, rows: w.shape[2], cols: w.shape[0] * w.shape[1], transposed: true,
                                packsForVectors: true)
    }
    guard let r = constant(2), r.dtype == .float32, r.rank == 3, r.shape[0] == a.numDirections,
          r.shape[1] == a.gates * r.shape[2] else { return try RecurrentKernel(a, w: w) }
    let biasGiven = node.inputs.count > 3 && node.inputs[3] != nil
    let b = biasGiven ? constant(3) : nil
    guard !biasGiven || (b != nil && b!.dtype == .float32 && b!.shape == [a.numDirections, 2 * r.shape[1]]) else {
        return try RecurrentKernel(a, w: w, r: r)
    }
    return try RecurrentKernel(a, w: w, r: r, bias: RecurrentBias(a, b, hidden: r.shape[2]))
}

/// The column ranges of h·Rᵀ computed in one product: all gates, except for GRU with linear_before_reset 0, whose
/// h gate needs r first and so is a second product over (r ⊙ h).
private func productColumns(_ a: Recurrent, hidden: Int) -> [Range<Int>] {
    a.kind == .gru && !a.linearBeforeReset ? [0..<2 * hidden, 2 * hidden..<3 * hidden] : [0..<a.gates * hidden]
}

/// Per direction, R's rows regrouped for the batch-1 product, one `RecurrentPanels` per product.
private func packPanels(_ a: Recurrent, _ r: Tensor) throws -> [[RecurrentPanels]] {
    let hidden = r.shape[2], gh = r.shape[1]
    return try (0..<r.shape[0]).map { d in
        try productColumns(a, hidden: hidden).map { try RecurrentPanels(r.pointer(Float.self) + d * gh * hidden, rows: $0, k: hidden) }
    }
}

private final class RecurrentKernel: Kernel {
    let attrs: Recurrent
    /// W, when a constant, packed once: repacking it on every run took 5 % of a CRNN's time.
    private let packedW: LazyPackedWeight?
    /// `packPanels` of R, when R is a constant.
    private let packedPanels: [[RecurrentPanels]]?
    /// The combined biases when R and B are constants (or B is absent).
    private let packedBias: RecurrentBias?

    init(_ a: Recurrent, w: LazyPackedWeight?, r: Tensor? = nil, bias: RecurrentBias? = nil) throws {
        attrs = a
        packedW = w
        packedPanels = try r.map { try packPanels(a, $0) }
        packedBias = bias
    }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        func input(_ i: Int) -> Tensor? { i < inputs.count ? inputs[i] : nil }
        let a = attrs, x = inputs[0]!, w = inputs[1]!, r = inputs[2]!
        let dirs = a.numDirections, hidden = r.shape[2], gh = a.gates * hidden
        let (seq, batch) = a.batchFirst ? (x.shape[1], x.shape[0]) : (x.shape[0], x.shape[1])
        let inputSize = x.shape[2]

        var lens = [Int](repeating: seq, count: batch)
        if let l = input(4) {
            for (b, v) in l.buffer(Int32.self).enumerated() {
                guard v >= 0, Int(v) <= seq else {
                    throw DLInferError.invalid("sequence_lens[\(b)] is \(v); each length must be in 0...\(seq) (the sequence length)")
                }
                lens[b] = Int(v)
            }
        }

        let stateShape = a.batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden]
        let y: Tensor? = outputs.wanted(0) ? try outputs.make(0) : nil
        // The running state lives in Y_h / Y_c themselves (scratch of the same layout when they are not wanted).
        let h = outputs.wanted(1) ? try outputs.make(1) : try outputs.make(.float32, stateShape)
        let c: Tensor? = a.kind != .lstm ? nil : outputs.wanted(2) ? try outputs.make(2) : try outputs.make(.float32, stateShape)
        for (state, initial) in [(h, input(5)), (c, input(6))] {
            guard let state else { continue }
            if let initial { state.raw.copyMemory(from: initial.raw, byteCount: state.byteCount) } else {
                state.floats.update(repeating: 0)
            }
        }

        if seq > 0 && batch > 0 {
            // Only batch-1 groups use the panels; larger ones multiply by R through sgemm.
            let groups = batchGroups(batch: batch, dirs: dirs, rBytes: gh * hidden * 4)
            let panels = try groups.contains { $0.count == 1 } ? packedPanels ?? packPanels(a, r) : nil
            let bias = try packedBias ?? RecurrentBias(a, input(3), hidden: hidden)
            // X·Wᵀ for every timestep and both directions: [rows, dirs·gates·hidden], rows in X's own order.
            let ldxw = dirs * gh, rows = seq * batch
            let xw = try outputs.make(.float32, [rows, ldxw])
            if inputSize == 0 {
                xw.floats.update(repeating: 0)
            } else if inputSize == w.shape[2], ldxw == w.shape[0] * w.shape[1], let pw = packedW?.packed(forExtent: rows) {
                sgemm(m: rows, n: ldxw, k: inputSize, a: .matrix(x.pointer(Float.self), ld: inputSize, transposed: false),
                      b: .packed(pw), c: xw.pointer(Float.self), ldc: ldxw)
            } else {
                sgemm(transA: false, transB: true, m: rows, n: ldxw, k: inputSize, alpha: 1,
                      a: x.pointer(Float.self), lda: inputSize, b: w.pointer(Float.self), ldb: inputSize,
                      beta: 0, c: xw.pointer(Float.self), ldc: ldxw)
            }
            let rec = try outputs.make(.float32, [dirs, batch, gh])
            let resetH: Tensor? = a.kind == .gru && !a.linearBeforeReset ? try outputs.make(.float32, [dirs, batch, hidden], zeroed: true) : nil
            let peep = a.kind == .lstm ? input(7) : nil

            // Element strides of (time, batch entry) in X's rows, Y and the states.
            let xwT = a.batchFirst ? ldxw : batch * ldxw, xwB = a.batchFirst ? seq * ldxw : ldxw
            let yT = a.batchFirst ? dirs * hidden : dirs * batch * hidden, yB = a.batchFirst ? seq * dirs * hidden : hidden
            let stateB = a.batchFirst ? dirs * hidden : hidden
            // Directions and batch groups run side by side when each has enough recurrent work to pay for the
            // region: a 12-step BiLSTM of 24 units (27K multiply-adds a direction) took 26 µs either way while
            // the cores answered each other in 0.1 µs, and 38 µs on 2 threads against 26 on 1 while they took
            // 0.4 µs (this VM has such periods); crnn_ctc's 32-step BiLSTMs of 64 units (520K) gain from it.
            let largestGroup = groups.map(\.count).max() ?? 0
            let concurrent = dirs * groups.count > 1 && Threads.count > 1 && seq * largestGroup * gh * hidden >= 1 << 17
            // Steppers side by side would write neighbouring floats of Y, the states and the products on every
            // step; where those share a cache line (a hidden size not a multiple of 16), the line moved between the
            // cores each step (the BiLSTM above: 22 µs on 2 threads against 12 µs on 1). Each then gets its own
            // state, output and product buffers, copied to Y, Y_h and Y_c after the region. Run one after the
            // other, they share nothing.
            var tasks = [RecurrentStepper](), privates = [RecurrentPrivate]()
            for d in 0..<dirs {
                // Y and the states put the direction in the same place relative to the batch.
                let dirOff = a.batchFirst ? d * hidden : d * batch * hidden
                for group in groups {
                    let b0 = group.lowerBound
                    let shared = RecurrentPrivate.Place(
                        h: h.pointer(Float.self) + dirOff + b0 * stateB, c: c.map { $0.pointer(Float.self) + dirOff + b0 * stateB },
                        stateB: stateB, y: y.map { $0.pointer(Float.self) + dirOff + b0 * yB }, yT: yT, yB: yB,
                        rec: rec.pointer(Float.self) + (d * batch + b0) * gh,
                        resetH: resetH.map { $0.pointer(Float.self) + (d * batch + b0) * hidden })
                    let own = concurrent ? try RecurrentPrivate(shared, outputs, batch: group.count, seq: seq, hidden: hidden, gh: gh) : nil
                    if let own { privates.append(own) }
                    let place = own?.place ?? shared
                    tasks.append(RecurrentStepper(
                        kind: a.kind, acts: a.activations[d], clip: a.clip, inputForget: a.inputForget,
                        linearBeforeReset: a.linearBeforeReset, reverse: a.direction == .reverse || d == 1,
                        hidden: hidden, gates: a.gates, batch: group.count, seq: seq, lens: Array(lens[group]),
                        xw: xw.pointer(Float.self) + d * gh + b0 * xwB, xwT: xwT, xwB: xwB,
                        r: r.pointer(Float.self) + d * gh * hidden, panels: panels?[d] ?? [],
                        columns: productColumns(a, hidden: hidden),
                        bias: bias.gates.pointer(Float.self) + d * gh,
                        rbh: bias.recurrentH.map { $0.pointer(Float.self) + d * hidden },
                        peep: peep.map { $0.pointer(Float.self) + d * 3 * hidden },
                        h: place.h, c: place.c, stateB: place.stateB, y: place.y, yT: place.yT, yB: place.yB,
                        rec: place.rec, resetH: place.resetH))
                }
            }
            // Directions and batch groups are independent for the whole sequence: one parallel region per run, no
            // synchronisation between steps. On the worker pool, whose threads are awake between a model's
            // regions: libdispatch woke its threads with a system call per run, which cost a 12-step BiLSTM
            // sentiment model more than running its directions one after the other.
            let steppers = tasks
            parallelFor(steppers.count, grain: concurrent ? 1 : steppers.count) { range in
                for i in range { steppers[i].run() }
            }
            for own in privates { own.copyBack(seq: seq, hidden: hidden) }
            withExtendedLifetime((xw, rec, resetH, panels, bias, privates)) {}
        } else if let y {
            y.floats.update(repeating: 0)
        }

        // An empty sequence leaves zeros in Y_h and Y_c, as onnxruntime does.
        for (b, l) in lens.enumerated() where l == 0 {
            for state in [h, c].compactMap({ $0 }) {
                let p = state.pointer(Float.self)
                for d in 0..<dirs {
                    (p + (a.batchFirst ? (b * dirs + d) * hidden : (d * batch + b) * hidden)).update(repeating: 0, count: hidden)
                }
            }
        }
        let outs: [Tensor?] = [y, outputs.wanted(1) ? h : nil, outputs.wanted(2) ? c : nil]
        return Array(outs.prefix(a.maxOutputs))
    }
}

/// A stepper's own state, output and product buffers, each a tensor of its own (so on cache lines of its own), and
/// the places in the shared tensors they come from and go back to.
private struct RecurrentPrivate {
    /// Where a stepper reads and writes: entry b's state at h + b·stateB (c likewise), its output at step t at
    /// y + t·yT + b·yB, its products at rec + b·gates·hidden, GRU's r ⊙ h at resetH + b·hidden.
    struct Place {
        let h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?, stateB: Int
        let y: UnsafeMutablePointer<Float>?, yT: Int, yB: Int
        let rec: UnsafeMutablePointer<Float>
        let resetH: UnsafeMutablePointer<Float>?
    }
    let shared: Place, place: Place
    let batch: Int
    let tensors: [Tensor]

    /// Buffers for `batch` entries, the states copied in from `shared`.
    init(_ shared: Place, _ outputs: KernelOutputs, batch: Int, seq: Int, hidden: Int, gh: Int) throws {
        self.shared = shared
        self.batch = batch
        let h = try outputs.make(.float32, [batch, hidden]), rec = try outputs.make(.float32, [batch, gh])
        let c = try shared.c.map { _ in try outputs.make(.float32, [batch, hidden]) }
        let y = try shared.y.map { _ in try outputs.make(.float32, [seq, batch, hidden]) }
        let resetH = try shared.resetH.map { _ in try outputs.make(.float32, [batch, hidden], zeroed: true) }
        tensors = [h, rec] + [c, y, resetH].compactMap { $0 }
        place = Place(h: h.pointer(Float.self), c: c.map { $0.pointer(Float.self) }, stateB: hidden,
                      y: y.map { $0.pointer(Float.self) }, yT: batch * hidden, yB: hidden, rec: rec.pointer(Float.self),
                      resetH: resetH.map { $0.pointer(Float.self) })
        for b in 0..<batch {
            (place.h + b * hidden).update(from: shared.h + b * shared.stateB, count: hidden)
            if let pc = place.c, let sc = shared.c { (pc + b * hidden).update(from: sc + b * shared.stateB, count: hidden) }
        }
    }

    /// The final states and every step's outputs, back into the shared tensors.
    func copyBack(seq: Int, hidden: Int) {
        for b in 0..<batch {
            (shared.h + b * shared.stateB).update(from: place.h + b * hidden, count: hidden)
            if let pc = place.c, let sc = shared.c { (sc + b * shared.stateB).update(from: pc + b * hidden, count: hidden) }
            if let py = place.y, let sy = shared.y {
                for t in 0..<seq { (sy + t * shared.yT + b * shared.yB).update(from: py + t * place.yT + b * hidden, count: hidden) }
            }
        }
    }
}

/// How the batch is split into groups that each run the whole sequence on their own thread. Splitting pays while one
/// direction's R (`rBytes`) fits a core's cache, as every group reads all of it each step; a larger R is better
/// shared, with the per-step product itself parallel over R's columns.
private func batchGroups(batch: Int, dirs: Int, rBytes: Int) -> [Range<Int>] {
    let groups = rBytes <= 1 << 20 ? min(batch, max(1, Threads.count / dirs)) : 1
    return (0..<groups).map { batch * $0 / groups..<batch * ($0 + 1) / groups }
}

/// The biases as the gate pass adds them: Wb + Rb per gate and direction ([dirs, gates·hidden]), except GRU's h gate,
/// which gets Wb alone there while its Rb is kept in `recurrentH` ([dirs, hidden]), because with linear_before_reset
/// the reset gate scales it.
private struct RecurrentBias {
    let gates: Tensor
    let recurrentH: Tensor?

    init(_ a: Recurrent, _ b: Tensor?, hidden: Int) throws {
        let dirs = a.numDirections, gh = a.gates * hidden
        gates = try Tensor(dtype: .float32, shape: [dirs, gh])
        recurrentH = a.kind == .gru ? try Tensor(dtype: .float32, shape: [dirs, hidden]) : nil
        guard let b else { return }  // new tensors are zero-filled
        let src = b.pointer(Float.self), dst = gates.pointer(Float.self)
        for d in 0..<dirs {
            let wb = src + d * 2 * gh, rb = wb + gh, o = dst + d * gh
            for i in 0..<gh { o[i] = wb[i] + rb[i] }
            if let rh = recurrentH?.pointer(Float.self) {
                for j in 0..<hidden {
                    o[2 * hidden + j] = wb[2 * hidden + j]
                    rh[d * hidden + j] = rb[2 * hidden + j]
                }
            }
        }
    }
}

/// One direction of one layer, as raw pointers into the run's tensors (which outlive it).
/// A class, not a struct: its per-step closures capture it by reference, where they copied a struct (its arrays'
/// references counted, atomically) on every step.
private final class RecurrentStepper {
    let kind: Recurrent.Kind
    let acts: [Recurrent.Activation]
    let clip: Float?
    let inputForget: Bool
    let linearBeforeReset: Bool
    let reverse: Bool
    let hidden: Int, gates: Int, batch: Int, seq: Int
    let lens: [Int]
    /// X·Wᵀ for this direction: entry (t, b) starts at xw + t·xwT + b·xwB.
    let xw: UnsafePointer<Float>, xwT: Int, xwB: Int
    /// This direction's R [gates·hidden, hidden] for sgemm, and for batch 1 its panels, one per product.
    let r: UnsafePointer<Float>
    let panels: [RecurrentPanels]
    let columns: [Range<Int>]
    let bias: UnsafePointer<Float>
    let rbh: UnsafePointer<Float>?
    let peep: UnsafePointer<Float>?
    /// States: batch entry b at h + b·stateB (c likewise); updated in place.
    let h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?, stateB: Int
    let y: UnsafeMutablePointer<Float>?, yT: Int, yB: Int
    /// Recurrent products [batch, gates·hidden]; GRU (linear_before_reset 0) also r ⊙ h [batch, hidden].
    let rec: UnsafeMutablePointer<Float>
    let resetH: UnsafeMutablePointer<Float>?

    init(kind: Recurrent.Kind, acts: [Recurrent.Activation], clip: Float?, inputForget: Bool,
         linearBeforeReset: Bool, reverse: Bool, hidden: Int, gates: Int, batch: Int, seq: Int, lens: [Int],
         xw: UnsafePointer<Float>, xwT: Int, xwB: Int, r: UnsafePointer<Float>, panels: [RecurrentPanels],
         columns: [Range<Int>], bias: UnsafePointer<Float>, rbh: UnsafePointer<Float>?, peep: UnsafePointer<Float>?,
         h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?, stateB: Int,
         y: UnsafeMutablePointer<Float>?, yT: Int, yB: Int, rec: UnsafeMutablePointer<Float>,
         resetH: UnsafeMutablePointer<Float>?) {
        self.kind = kind; self.acts = acts; self.clip = clip; self.inputForget = inputForget
        self.linearBeforeReset = linearBeforeReset; self.reverse = reverse; self.hidden = hidden; self.gates = gates
        self.batch = batch; self.seq = seq; self.lens = lens; self.xw = xw; self.xwT = xwT; self.xwB = xwB
        self.r = r; self.panels = panels; self.columns = columns; self.bias = bias; self.rbh = rbh; self.peep = peep
        self.h = h; self.c = c; self.stateB = stateB; self.y = y; self.yT = yT; self.yB = yB; self.rec = rec
        self.resetH = resetH
    }

    var gh: Int { gates * hidden }
    /// Units per task of the gate pass: small enough for stack scratch, large enough to amortise the dispatch.
    static let unitChunk = 64

    func run() {
        let maxLen = lens.max() ?? 0
        for step in 0..<seq {
            let t = reverse ? seq - 1 - step : step
            if t >= maxLen {
                if let y { for b in 0..<batch { (y + t * yT + b * yB).update(repeating: 0, count: hidden) } }
                continue
            }
            product(0, h, lda: stateB)
            switch kind {
            case .lstm: gatePass(t) { b, j0, n, tmp in lstmUnits(t, b, j0, n, tmp) }
            case .rnn: gatePass(t) { b, j0, n, tmp in rnnUnits(t, b, j0, n, tmp) }
            case .gru where linearBeforeReset: gatePass(t) { b, j0, n, tmp in gruUnits(t, b, j0, n, tmp) }
            case .gru:
                gatePass(t, writesY: false) { b, j0, n, tmp in gruResetUnits(t, b, j0, n, tmp) }
                product(1, resetH!, lda: hidden)
                gatePass(t) { b, j0, n, tmp in gruUnits(t, b, j0, n, tmp) }
            }
        }
    }

    /// rec[:, cols] = a[batch × hidden] · R[cols, :]ᵀ for the k-th of `columns`.
    private func product(_ k: Int, _ a: UnsafePointer<Float>, lda: Int) {
        let cols = columns[k]
        if batch == 1 {
            panels[k].multiply(a, rec + cols.lowerBound)
        } else {
            sgemm(transA: false, transB: true, m: batch, n: cols.count, k: hidden, alpha: 1, a: a, lda: lda,
                  b: r + cols.lowerBound * hidden, ldb: hidden, beta: 0, c: rec + cols.lowerBound, ldc: gh)
        }
    }

    /// Runs `units` over (batch entry, chunk of hidden units) tasks in parallel, with stack scratch for gates·chunk
    /// values. Entries whose sequence has ended get zeros in Y and keep their state.
    private func gatePass(_ t: Int, writesY: Bool = true,
                          _ units: (Int, Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        let chunk = Self.unitChunk, chunks = (hidden + chunk - 1) / chunk
        let grain = max(1, 8192 / (chunk * gates))
        parallelFor(batch * chunks, grain: grain) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * chunk) { tmp in
                for item in range {
                    let b = item / chunks, j0 = (item % chunks) * chunk, n = min(chunk, hidden - j0)
                    if t < lens[b] {
                        units(b, j0, n, tmp.baseAddress!)
                    } else if writesY, let y {
                        (y + t * yT + b * yB + j0).update(repeating: 0, count: n)
                    }
                }
            }
        }
    }

    @inline(__always)
    private func clamp(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        guard let clip else { return }
        for j in 0..<n { p[j] = min(max(p[j], -clip), clip) }
    }

    @inline(__always)
    private func store(_ t: Int, _ b: Int, _ j0: Int, _ j: Int, _ v: Float) {
        h[b * stateB + j0 + j] = v
        if let y { y[t * yT + b * yB + j0 + j] = v }
    }

    /// LSTM, gates i,o,f,c: C = f ⊙ C + i ⊙ g(c); H = o ⊙ h(C), with peepholes on C (C_t for o).
    private func lstmUnits(_ t: Int, _ b: Int, _ j0: Int, _ n: Int, _ tmp: UnsafeMutablePointer<Float>) {
        let H = hidden, chunk = Self.unitChunk
        let x = xw + t * xwT + b * xwB + j0, hr = rec + b * gh + j0, bs = bias + j0
        let cs = c! + b * stateB + j0
        let gi = tmp, go = tmp + chunk, gf = tmp + 2 * chunk, gc = tmp + 3 * chunk
        for j in 0..<n {
            gi[j] = x[j] + hr[j] + bs[j]
            gf[j] = x[2 * H + j] + hr[2 * H + j] + bs[2 * H + j]
            gc[j] = x[3 * H + j] + hr[3 * H + j] + bs[3 * H + j]
        }
        if let p = peep.map({ $0 + j0 }) {
            for j in 0..<n { gi[j] += p[j] * cs[j]; gf[j] += p[2 * H + j] * cs[j] }
        }
        clamp(gi, n); acts[0].apply(gi, n)
        if inputForget {
            for j in 0..<n { gf[j] = 1 - gi[j] }
        } else {
            clamp(gf, n); acts[0].apply(gf, n)
        }
        clamp(gc, n); acts[1].apply(gc, n)
        for j in 0..<n {
            let cNew = gf[j] * cs[j] + gi[j] * gc[j]
            cs[j] = cNew
            go[j] = x[H + j] + hr[H + j] + bs[H + j]
            gc[j] = cNew
        }
        if let p = peep.map({ $0 + j0 }) { for j in 0..<n { go[j] += p[H + j] * cs[j] } }
        clamp(go, n); acts[0].apply(go, n)
        acts[2].apply(gc, n)
        for j in 0..<n { store(t, b, j0, j, go[j] * gc[j]) }
    }

    /// RNN: H = f(x·Wᵀ + h·Rᵀ + Wb + Rb).
    private func rnnUnits(_ t: Int, _ b: Int, _ j0: Int, _ n: Int, _ tmp: UnsafeMutablePointer<Float>) {
        let x = xw + t * xwT + b * xwB + j0, hr = rec + b * gh + j0, bs = bias + j0
        for j in 0..<n { tmp[j] = x[j] + hr[j] + bs[j] }
        clamp(tmp, n); acts[0].apply(tmp, n)
        for j in 0..<n { store(t, b, j0, j, tmp[j]) }
    }

    /// GRU (linear_before_reset 0), first half: z and r from h·Rzrᵀ; z is kept (activated) in rec's z columns and
    /// r ⊙ h in `resetH` for the h gate's product.
    private func gruResetUnits(_ t: Int, _ b: Int, _ j0: Int, _ n: Int, _ tmp: UnsafeMutablePointer<Float>) {
        let H = hidden
        let x = xw + t * xwT + b * xwB + j0, hr = rec + b * gh + j0, bs = bias + j0
        let hs = h + b * stateB + j0, rh = resetH! + b * hidden + j0
        for j in 0..<n { hr[j] = x[j] + hr[j] + bs[j]; tmp[j] = x[H + j] + hr[H + j] + bs[H + j] }
        clamp(hr, n); acts[0].apply(hr, n)
        clamp(tmp, n); acts[0].apply(tmp, n)
        for j in 0..<n { rh[j] = tmp[j] * hs[j] }
    }

    /// GRU: H = (1 - z) ⊙ g(x·Whᵀ + Wbh + [r ⊙ (h·Rhᵀ + Rbh) | (r ⊙ h)·Rhᵀ + Rbh]) + z ⊙ H.
    private func gruUnits(_ t: Int, _ b: Int, _ j0: Int, _ n: Int, _ tmp: UnsafeMutablePointer<Float>) {
        let H = hidden, chunk = Self.unitChunk
        let x = xw + t * xwT + b * xwB + j0, hr = rec + b * gh + j0, bs = bias + j0, rb = rbh! + j0
        let hs = h + b * stateB + j0
        let z = tmp, cand = tmp + chunk
        if linearBeforeReset {
            let rg = tmp + 2 * chunk
            for j in 0..<n { z[j] = x[j] + hr[j] + bs[j]; rg[j] = x[H + j] + hr[H + j] + bs[H + j] }
            clamp(z, n); acts[0].apply(z, n)
            clamp(rg, n); acts[0].apply(rg, n)
            for j in 0..<n { cand[j] = x[2 * H + j] + bs[2 * H + j] + rg[j] * (hr[2 * H + j] + rb[j]) }
        } else {
            // z was activated by gruResetUnits.
            for j in 0..<n { z[j] = hr[j]; cand[j] = x[2 * H + j] + bs[2 * H + j] + hr[2 * H + j] + rb[j] }
        }
        clamp(cand, n); acts[1].apply(cand, n)
        for j in 0..<n { store(t, b, j0, j, (1 - z[j]) * cand[j] + z[j] * hs[j]) }
    }
}

/// Rows of R (columns of Rᵀ) regrouped by the kernel's panel width nr: panel p holds, for each of the k inputs, the
/// weights of rows nr·p..<nr·p+nr, contiguously (the last panel zero-padded). The batch-1 product then streams each
/// panel once through the C matrix-vector kernel with its sums held in registers, instead of re-reading and
/// re-writing the output for every input. A class, so that a step's product uses the panels in place (a struct was
/// copied out of the array, its references counted, on every step).
private final class RecurrentPanels {
    let kernel = SGEMMKernel.preferred
    let data: Tensor
    let n: Int, k: Int

    init(_ r: UnsafePointer<Float>, rows: Range<Int>, k: Int) throws {
        let w = kernel.nr
        n = rows.count
        self.k = k
        let panels = (n + w - 1) / w
        data = try Tensor(dtype: .float32, shape: [panels, k, w])  // zero-filled, so the padding adds nothing
        let dst = data.pointer(Float.self)
        for i in 0..<n {
            let src = r + (rows.lowerBound + i) * k, o = dst + (i / w) * k * w + i % w
            for j in 0..<k { o[j * w] = src[j] }
        }
    }

    /// y[0..<n] = R[rows, :] · x, in parallel over panels when there is enough work to share: from 32K
    /// multiply-adds a thread, as `gemv` splits the input projection (with 128K, a char-RNN step's 640 x 160 R ran on
    /// one thread: 0.043 ms a step on 2 threads, 0.038 split).
    func multiply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let w = kernel.nr, k = k, n = n, b = data.pointer(Float.self), panels = (n + w - 1) / w
        parallelFor(panels, grain: max(1, 32_768 / (w * k))) { range in
            // The kernel adds to whole panels: a partial last one goes through a scratch panel.
            let whole = range.upperBound * w <= n ? range : range.lowerBound..<(range.upperBound - 1)
            let out = y + range.lowerBound * w
            if !whole.isEmpty {
                out.update(repeating: 0, count: whole.count * w)
                kernel.packedRow(Int64(k), x, b + whole.lowerBound * k * w, Int64(whole.count), out)
            }
            if whole.upperBound < range.upperBound {
                withUnsafeTemporaryAllocation(of: Float.self, capacity: w) { last in
                    let tail = last.baseAddress!
                    tail.update(repeating: 0, count: w)
                    kernel.packedRow(Int64(k), x, b + whole.upperBound * k * w, 1, tail)
                    (y + whole.upperBound * w).update(from: tail, count: n - whole.upperBound * w)
                }
            }
        }
    }
}

extension CPUKernelFactory {
    func visit(_ a: Recurrent, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeRecurrentKernel(a, node, graph)
    }
}
