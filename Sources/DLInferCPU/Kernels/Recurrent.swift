import DLInferCore
import Dispatch

/// LSTM, GRU and RNN. Per run: one sgemm projects every timestep of X through both directions' W at once; then each
/// direction walks its steps, each step being the recurrent product h·Rᵀ (a GEMV when batch is 1, else sgemm) and
/// one fused pass over the gates that writes the new state and Y. The two directions of a bidirectional layer, and
/// groups of batch entries, run concurrently. R is transposed and the biases combined once at load when constant.
func makeRecurrentKernel(_ a: Recurrent, _ node: Node, _ graph: Graph) throws -> Kernel {
    func constant(_ i: Int) -> Tensor? { i < node.inputs.count ? node.inputs[i].flatMap { graph.constants[$0] } : nil }
    // Packed only when the shapes are as type inference checks them (a graph built without inference gets its
    // shapes checked at run, before any packing).
    guard let r = constant(2), r.dtype == .float32, r.rank == 3, r.shape[0] == a.numDirections,
          r.shape[1] == a.gates * r.shape[2] else { return RecurrentKernel(a) }
    let biasGiven = node.inputs.count > 3 && node.inputs[3] != nil
    let b = biasGiven ? constant(3) : nil
    guard !biasGiven || (b != nil && b!.dtype == .float32 && b!.shape == [a.numDirections, 2 * r.shape[1]]) else {
        return RecurrentKernel(a, r: r)
    }
    return RecurrentKernel(a, r: r, bias: RecurrentBias(a, b, hidden: r.shape[2]))
}

private final class RecurrentKernel: Kernel {
    let attrs: Recurrent
    /// Rᵀ per direction, [dirs, hidden, gates·hidden], when R is a constant.
    private let packedR: Tensor?
    /// The combined biases when R and B are constants (or B is absent).
    private let packedBias: RecurrentBias?

    init(_ a: Recurrent, r: Tensor? = nil, bias: RecurrentBias? = nil) {
        attrs = a
        packedR = r.map(transposeRecurrentWeights)
        packedBias = bias
    }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
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
        let y: Tensor? = outputs.wanted(0) ? outputs.make(0) : nil
        // The running state lives in Y_h / Y_c themselves (scratch of the same layout when they are not wanted).
        let h = outputs.wanted(1) ? outputs.make(1) : outputs.make(.float32, stateShape)
        let c: Tensor? = a.kind != .lstm ? nil : outputs.wanted(2) ? outputs.make(2) : outputs.make(.float32, stateShape)
        for (state, initial) in [(h, input(5)), (c, input(6))] {
            guard let state else { continue }
            if let initial { state.raw.copyMemory(from: initial.raw, byteCount: state.byteCount) } else {
                state.floats.update(repeating: 0)
            }
        }

        if seq > 0 && batch > 0 {
            let rT = packedR ?? transposeRecurrentWeights(r)
            let bias = packedBias ?? RecurrentBias(a, input(3), hidden: hidden)
            // X·Wᵀ for every timestep and both directions: [rows, dirs·gates·hidden], rows in X's own order.
            let ldxw = dirs * gh, rows = seq * batch
            let xw = outputs.make(.float32, [rows, ldxw])
            if inputSize == 0 {
                xw.floats.update(repeating: 0)
            } else {
                sgemm(transA: false, transB: true, m: rows, n: ldxw, k: inputSize, alpha: 1,
                      a: x.pointer(Float.self), lda: inputSize, b: w.pointer(Float.self), ldb: inputSize,
                      beta: 0, c: xw.pointer(Float.self), ldc: ldxw)
            }
            let rec = outputs.make(.float32, [dirs, batch, gh])
            let resetH: Tensor? = a.kind == .gru && !a.linearBeforeReset ? outputs.make(.float32, [dirs, batch, hidden], zeroed: true) : nil
            let peep = a.kind == .lstm ? input(7) : nil

            // Element strides of (time, batch entry) in X's rows, Y and the states.
            let xwT = a.batchFirst ? ldxw : batch * ldxw, xwB = a.batchFirst ? seq * ldxw : ldxw
            let yT = a.batchFirst ? dirs * hidden : dirs * batch * hidden, yB = a.batchFirst ? seq * dirs * hidden : hidden
            let stateB = a.batchFirst ? dirs * hidden : hidden
            var tasks = [RecurrentStepper]()
            for d in 0..<dirs {
                // Y and the states put the direction in the same place relative to the batch.
                let dirOff = a.batchFirst ? d * hidden : d * batch * hidden
                for group in batchGroups(batch: batch, dirs: dirs, rBytes: gh * hidden * 4) {
                    let b0 = group.lowerBound
                    tasks.append(RecurrentStepper(
                        kind: a.kind, acts: a.activations[d], clip: a.clip, inputForget: a.inputForget,
                        linearBeforeReset: a.linearBeforeReset, reverse: a.direction == .reverse || d == 1,
                        hidden: hidden, gates: a.gates, batch: group.count, seq: seq, lens: Array(lens[group]),
                        xw: xw.pointer(Float.self) + d * gh + b0 * xwB, xwT: xwT, xwB: xwB,
                        rT: rT.pointer(Float.self) + d * hidden * gh,
                        bias: bias.gates.pointer(Float.self) + d * gh,
                        rbh: bias.recurrentH.map { $0.pointer(Float.self) + d * hidden },
                        peep: peep.map { $0.pointer(Float.self) + d * 3 * hidden },
                        h: h.pointer(Float.self) + dirOff + b0 * stateB,
                        c: c.map { $0.pointer(Float.self) + dirOff + b0 * stateB }, stateB: stateB,
                        y: y.map { $0.pointer(Float.self) + dirOff + b0 * yB }, yT: yT, yB: yB,
                        rec: rec.pointer(Float.self) + (d * batch + b0) * gh,
                        resetH: resetH.map { $0.pointer(Float.self) + (d * batch + b0) * hidden }))
                }
            }
            // Directions and batch groups are independent for the whole sequence: one dispatch per run, no
            // synchronisation between steps.
            if tasks.count > 1 && Threads.count > 1 {
                let box = UncheckedBox(tasks)
                DispatchQueue.concurrentPerform(iterations: tasks.count) { box.value[$0].run() }
            } else {
                for task in tasks { task.run() }
            }
            withExtendedLifetime((xw, rec, resetH, rT, bias)) {}
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

/// How the batch is split into groups that each run the whole sequence on their own thread. Splitting pays while one
/// direction's R (`rBytes`) fits a core's cache, as every group reads all of it each step; a larger R is better
/// shared, with the per-step product itself parallel over R's columns.
private func batchGroups(batch: Int, dirs: Int, rBytes: Int) -> [Range<Int>] {
    let groups = rBytes <= 1 << 20 ? min(batch, max(1, Threads.count / dirs)) : 1
    return (0..<groups).map { batch * $0 / groups..<batch * ($0 + 1) / groups }
}

/// R [dirs, gates·hidden, hidden] → Rᵀ [dirs, hidden, gates·hidden], so that h·Rᵀ reads R's rows contiguously.
private func transposeRecurrentWeights(_ r: Tensor) -> Tensor {
    let dirs = r.shape[0], n = r.shape[1], k = r.shape[2]
    let t = Tensor(dtype: .float32, shape: [dirs, k, n])
    let src = r.pointer(Float.self), dst = t.pointer(Float.self)
    for d in 0..<dirs {
        let s = src + d * n * k, o = dst + d * n * k
        for i in 0..<n { for j in 0..<k { o[j * n + i] = s[i * k + j] } }
    }
    return t
}

/// The biases as the gate pass adds them: Wb + Rb per gate and direction ([dirs, gates·hidden]), except GRU's h gate,
/// which gets Wb alone there while its Rb is kept in `recurrentH` ([dirs, hidden]), because with linear_before_reset
/// the reset gate scales it.
private struct RecurrentBias {
    let gates: Tensor
    let recurrentH: Tensor?

    init(_ a: Recurrent, _ b: Tensor?, hidden: Int) {
        let dirs = a.numDirections, gh = a.gates * hidden
        gates = Tensor(dtype: .float32, shape: [dirs, gh])
        recurrentH = a.kind == .gru ? Tensor(dtype: .float32, shape: [dirs, hidden]) : nil
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
private struct RecurrentStepper {
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
    let rT: UnsafePointer<Float>
    let bias: UnsafePointer<Float>
    let rbh: UnsafePointer<Float>?
    let peep: UnsafePointer<Float>?
    /// States: batch entry b at h + b·stateB (c likewise); updated in place.
    let h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?, stateB: Int
    let y: UnsafeMutablePointer<Float>?, yT: Int, yB: Int
    /// Recurrent products [batch, gates·hidden]; GRU (linear_before_reset 0) also r ⊙ h [batch, hidden].
    let rec: UnsafeMutablePointer<Float>
    let resetH: UnsafeMutablePointer<Float>?

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
            switch kind {
            case .lstm:
                product(h, lda: stateB, column: 0, count: gh)
                gatePass(t) { b, j0, n, tmp in lstmUnits(t, b, j0, n, tmp) }
            case .rnn:
                product(h, lda: stateB, column: 0, count: gh)
                gatePass(t) { b, j0, n, tmp in rnnUnits(t, b, j0, n, tmp) }
            case .gru where linearBeforeReset:
                product(h, lda: stateB, column: 0, count: gh)
                gatePass(t) { b, j0, n, tmp in gruUnits(t, b, j0, n, tmp) }
            case .gru:
                // The h gate's product needs r first: (r ⊙ h)·Rhᵀ.
                product(h, lda: stateB, column: 0, count: 2 * hidden)
                gatePass(t, writesY: false) { b, j0, n, tmp in gruResetUnits(t, b, j0, n, tmp) }
                product(resetH!, lda: hidden, column: 2 * hidden, count: hidden)
                gatePass(t) { b, j0, n, tmp in gruUnits(t, b, j0, n, tmp) }
            }
        }
    }

    /// rec[:, column..<column+count] = a[batch × hidden] · Rᵀ[:, column..<column+count].
    private func product(_ a: UnsafePointer<Float>, lda: Int, column: Int, count: Int) {
        if batch == 1 {
            gemv(a, rT + column, ldb: gh, k: hidden, n: count, rec + column)
        } else {
            sgemm(transA: false, transB: false, m: batch, n: count, k: hidden, alpha: 1, a: a, lda: lda,
                  b: rT + column, ldb: gh, beta: 0, c: rec + column, ldc: gh)
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

/// y[0..<n] = x[0..<k] · B, B being k rows of stride ldb. Walks B row by row (contiguous, vectorisable), in parallel
/// over column blocks when the matrix is large enough to pay for it.
private func gemv(_ x: UnsafePointer<Float>, _ b: UnsafePointer<Float>, ldb: Int, k: Int, n: Int,
                  _ y: UnsafeMutablePointer<Float>) {
    let block = 256, blocks = (n + block - 1) / block
    parallelFor(blocks, grain: max(1, 65536 / (block * k))) { range in
        for blk in range {
            let j0 = blk * block, cnt = min(block, n - j0), out = y + j0
            out.update(repeating: 0, count: cnt)
            var p = 0
            while p + 4 <= k {
                let x0 = x[p], x1 = x[p + 1], x2 = x[p + 2], x3 = x[p + 3]
                let r0 = b + p * ldb + j0, r1 = r0 + ldb, r2 = r1 + ldb, r3 = r2 + ldb
                for j in 0..<cnt { out[j] += x0 * r0[j] + x1 * r1[j] + x2 * r2[j] + x3 * r3[j] }
                p += 4
            }
            while p < k {
                let xp = x[p], r0 = b + p * ldb + j0
                for j in 0..<cnt { out[j] += xp * r0[j] }
                p += 1
            }
        }
    }
}
