/// Replaces the attention that exporters write out op by op with one `FusedAttention` node:
///
///     [Transpose] [Mul c]   Q ─┐
///     [Transpose] [Mul c]   K ─┴ MatMul ─ [Mul c | Div c] ─ [Add mask] ─ Softmax(last axis)
///         ─ [Where(IsNaN(P), 0, P)] ─ MatMul(·, [Transpose] V) ─ [Transpose]
///
/// (TorchScript and dynamo exports of BERT, GPT-2, ViT, Swin and `nn.TransformerEncoder` all take this form). Scalar
/// constant scales fold into one alpha; Transposes fold into the fused node's strided reads when they keep the
/// head-size axis contiguous. Applies only when every value inside the chain is float32 and read by the chain alone
/// (not a graph output), so nothing else sees the values that stop existing.
public struct FuseAttention: Pass {
    public init() {}
    public var name: String { "fuse-attention" }

    public func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool {
        let m = Matcher(graph)
        var fused = [Int: Node](), absorbed = Set<Int>()
        for i in graph.nodes.indices {
            guard let f = m.match(softmax: i), absorbed.isDisjoint(with: f.absorbed), fused[f.at] == nil else { continue }
            fused[f.at] = f.node
            absorbed.formUnion(f.absorbed)
        }
        guard !fused.isEmpty else { return false }
        graph.nodes = graph.nodes.indices.compactMap { i in fused[i] ?? (absorbed.contains(i) ? nil : graph.nodes[i]) }
        return true
    }
}

private struct Match {
    var node: Node
    /// The index of the chain's last node, where the fused node goes (every input of the chain is ready there).
    var at: Int
    /// The other nodes of the chain, which go.
    var absorbed: Set<Int>
}

private struct Matcher {
    let graph: Graph
    let consumers: [ValueID: [Int]]
    let producers: [ValueID: Int]

    init(_ g: Graph) { graph = g; consumers = g.consumers(); producers = g.producers() }

    func match(softmax si: Int) -> Match? {
        let node = graph.nodes[si]
        guard case .softmax(let sm) = node.op, !sm.log, let x = node.inputs.first ?? nil, let p = node.outputs.first ?? nil,
              isFloat32(x), let r = rank(x), r >= 2, (sm.axis < 0 ? sm.axis + r : sm.axis) == r - 1
        else { return nil }
        var nodes: Set<Int> = [si]
        // Scores: [Add(·, mask)] over [scale] over MatMul.
        var mask: ValueID? = nil
        var scores = self.scores(x, readBy: si)
        if scores == nil, let ai = onlyProducer(x, readBy: si), case .binary(let b) = graph.nodes[ai].op, b.kind == .add,
           graph.nodes[ai].inputs.count == 2 {
            let ins = graph.nodes[ai].inputs
            for (s, mk) in [(0, 1), (1, 0)] {
                guard let sv = ins[s], let mv = ins[mk], sv != mv, isFloat32(mv), rank(mv) != nil,
                      let found = self.scores(sv, readBy: ai) else { continue }
                scores = found; mask = mv; nodes.insert(ai)
                break
            }
        }
        guard let (mm, scale, scaleNodes) = scores else { return nil }
        nodes.formUnion(scaleNodes)
        nodes.insert(mm)
        let mmNode = graph.nodes[mm]
        guard mmNode.inputs.count == 2, let q0 = mmNode.inputs[0], let k0 = mmNode.inputs[1],
              let q = peel(q0, readBy: mm, keys: false), let k = peel(k0, readBy: mm, keys: true)
        else { return nil }
        nodes.formUnion(q.nodes); nodes.formUnion(k.nodes)

        // Probabilities: read by the second MatMul, directly or through the NaN guard.
        guard !graph.isOutput(p), let readers = consumers[p] else { return nil }
        var probs = p, zeroNaN = false
        if readers.count == 2 {
            guard let (guarded, guardNodes) = nanGuard(p, readers) else { return nil }
            probs = guarded; zeroNaN = true; nodes.formUnion(guardNodes)
        }
        guard let mv = onlyReader(probs), case .matMul(let a) = graph.nodes[mv].op, a.activation == nil,
              graph.nodes[mv].inputs.count == 2, graph.nodes[mv].inputs[0] == probs, let v0 = graph.nodes[mv].inputs[1],
              v0 != probs, let v = peelTranspose(v0, readBy: mv, keys: false), let y = graph.nodes[mv].outputs.first ?? nil,
              isFloat32(y), let yRank = rank(y)
        else { return nil }
        nodes.formUnion(v.nodes)
        var at = mv, output = y, outputPerm: [Int]? = nil
        if let ti = onlyReader(y), case .transpose(let t) = graph.nodes[ti].op, let perm = try? t.permutation(rank: yRank),
           perm.last == yRank - 1, let out = graph.nodes[ti].outputs.first ?? nil {
            nodes.insert(mv); at = ti; output = out; outputPerm = perm
        }
        let attrs = FusedAttention(alpha: scale * q.scale * k.scale, zeroNaN: zeroNaN, queryPerm: q.perm, keyPerm: k.perm,
                                   valuePerm: v.perm, outputPerm: outputPerm)
        let inputs: [ValueID?] = [q.value, k.value, v.value] + (mask.map { [$0] } ?? [])
        // The fused node must type as the chain did (a rank or broadcast the kernel would reject stays unfused).
        let typed = inputs.map { $0.map { TypedInput(type: graph.values[$0].type, value: graph.constants[$0]) } }
        guard let types = try? attrs.inferTypes(typed), types[0].rank == rank(output) else { return nil }
        nodes.remove(at)
        return Match(node: Node(name: node.name, op: .fusedAttention(attrs), inputs: inputs, outputs: [output]),
                     at: at, absorbed: nodes)
    }

    /// The QKᵀ MatMul under optional scalar Mul/Div scales: its index, the scale, the scale nodes.
    private func scores(_ v: ValueID, readBy reader: Int) -> (Int, Float, [Int])? {
        guard isFloat32(v), let pi = onlyProducer(v, readBy: reader) else { return nil }
        let n = graph.nodes[pi]
        switch n.op {
        case .matMul(let a) where a.activation == nil:
            return (pi, 1, [])
        case .binary(let b) where (b.kind == .mul || b.kind == .div) && n.inputs.count == 2:
            for (x, c) in b.kind == .div ? [(0, 1)] : [(0, 1), (1, 0)] {
                guard let xv = n.inputs[x], let cv = n.inputs[c], let s = scalar(cv, within: xv),
                      b.kind == .mul || s != 0, let (mm, inner, nodes) = scores(xv, readBy: pi) else { continue }
                return (mm, inner * (b.kind == .mul ? s : 1 / s), nodes + [pi])
            }
            return nil
        default:
            return nil
        }
    }

    /// A MatMul operand traced back through scalar Muls and one Transpose the fused node can read through.
    private func peel(_ v: ValueID, readBy reader: Int, keys: Bool) -> Operand? {
        var cur = v, by = reader, scale: Float = 1, perm: [Int]? = nil, nodes = [Int]()
        while let pi = onlyProducer(cur, readBy: by), isFloat32(cur) {
            let n = graph.nodes[pi]
            if case .binary(let b) = n.op, b.kind == .mul, n.inputs.count == 2,
               let (x, s) = [(0, 1), (1, 0)].lazy.compactMap({ (x, c) -> (ValueID, Float)? in
                   guard let xv = n.inputs[x], let cv = n.inputs[c], let s = self.scalar(cv, within: xv) else { return nil }
                   return (xv, s)
               }).first {
                scale *= s
                cur = x
            } else if perm == nil, let t = peelTranspose(cur, readBy: by, keys: keys), let p = t.perm {
                perm = p
                cur = t.value
            } else {
                break
            }
            nodes.append(pi); by = pi
        }
        guard isFloat32(cur), let r = rank(cur), r >= 2 else { return nil }
        return Operand(value: cur, scale: scale, perm: perm, nodes: nodes)
    }

    /// `v` itself, or the input of the Transpose that makes it when that Transpose keeps the axis the products read
    /// contiguously (the last axis; for keys, Kᵀ's row or column axis).
    private func peelTranspose(_ v: ValueID, readBy reader: Int, keys: Bool) -> Operand? {
        guard isFloat32(v), let r = rank(v), r >= 2 else { return nil }
        let same = Operand(value: v, scale: 1, perm: nil, nodes: [])
        guard let pi = onlyProducer(v, readBy: reader), case .transpose(let t) = graph.nodes[pi].op,
              let x = graph.nodes[pi].inputs.first ?? nil, isFloat32(x), let perm = try? t.permutation(rank: r),
              FusedAttention.contiguous(perm, axis: r - 1, rank: r) || (keys && FusedAttention.contiguous(perm, axis: r - 2, rank: r))
        else { return same }
        return Operand(value: x, scale: 1, perm: perm, nodes: [pi])
    }

    /// Where(IsNaN(p), 0, p) over the softmax output `p` read by exactly those two nodes: the Where's output and
    /// both nodes.
    private func nanGuard(_ p: ValueID, _ readers: [Int]) -> (ValueID, [Int])? {
        guard let ni = readers.first(where: { if case .floatClass(let f) = graph.nodes[$0].op { return f.kind == .nan }; return false }),
              let wi = readers.first(where: { $0 != ni }), let nanMask = graph.nodes[ni].outputs.first ?? nil,
              onlyReader(nanMask) == wi, case .select = graph.nodes[wi].op, graph.nodes[wi].inputs.count == 3,
              graph.nodes[wi].inputs[0] == nanMask, graph.nodes[wi].inputs[2] == p, let zero = graph.nodes[wi].inputs[1],
              let z = scalar(zero, within: p), z == 0, let out = graph.nodes[wi].outputs.first ?? nil, isFloat32(out)
        else { return nil }
        return (out, [ni, wi])
    }

    /// The node making `v` when `v` is read by `reader` alone and is no graph output.
    private func onlyProducer(_ v: ValueID, readBy reader: Int) -> Int? {
        guard onlyReader(v) == reader else { return nil }
        return producers[v]
    }

    private func onlyReader(_ v: ValueID) -> Int? {
        guard !graph.isOutput(v), let r = consumers[v], r.count == 1 else { return nil }
        return r[0]
    }

    /// The value of a one-element float32 constant whose rank does not exceed `x`'s (so multiplying keeps x's shape).
    private func scalar(_ c: ValueID, within x: ValueID) -> Float? {
        guard let t = graph.constants[c], t.dtype == .float32, t.count == 1, let r = rank(x), t.rank <= r else { return nil }
        return t.pointer(Float.self)[0]
    }

    private func isFloat32(_ v: ValueID) -> Bool { graph.values[v].type.dtype == .float32 }
    private func rank(_ v: ValueID) -> Int? { graph.values[v].type.rank }
}

private struct Operand {
    var value: ValueID
    var scale: Float
    var perm: [Int]?
    var nodes: [Int]
}
