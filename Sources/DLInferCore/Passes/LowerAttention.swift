/// Turns an ONNX Attention node (opset 23+) into the FusedAttention node the exporters' op-by-op attention becomes,
/// where the two compute the same thing, so that every backend with a FusedAttention kernel (OpenCL) runs it:
/// 4-D Q, K and V with as many K/V heads as Q heads (or one, which broadcasts alike), no past state, no
/// nonpad_kv_seqlen, not causal, no softcap or sliding window, softmax and steps in float32, and only the Y output
/// read; no mask, or a constant float32 one whose last dimension is the key sequence and that leaves some key in every
/// row (Attention gives zeros for a fully masked row, where FusedAttention's softmax gives NaN). Y = softmax(scale·Q·Kᵀ + mask)·V
/// with scale defaulting to 1/√(head size); K is read transposed in place (keyPerm), never copied. Anything else
/// keeps the Attention kernel.
public struct LowerAttention: Pass {
    public init() {}
    public var name: String { "lower-attention" }

    public func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool {
        var changed = false
        for i in graph.nodes.indices {
            guard case .attention(let a) = graph.nodes[i].op, let fused = Self.fused(a, graph.nodes[i], graph) else { continue }
            graph.nodes[i].op = .fusedAttention(fused)
            graph.nodes[i].inputs = Array(graph.nodes[i].inputs.prefix(4))
            graph.nodes[i].outputs = [graph.nodes[i].outputs[0]]
            changed = true
        }
        return changed
    }

    static func fused(_ a: Attention, _ node: Node, _ graph: Graph) -> FusedAttention? {
        guard !a.isCausal, a.softcap == 0, a.leftWindow == -1, a.rightWindow == -1, a.stepType == nil,
              a.softmaxType == nil || a.softmaxType == .float32,
              node.inputs.count >= 3, node.inputs.dropFirst(4).allSatisfy({ $0 == nil }),
              node.outputs.first.flatMap({ $0 }) != nil, node.outputs.dropFirst().allSatisfy({ $0 == nil }) else { return nil }
        func dims(_ k: Int) -> [Dim]? {
            guard k < node.inputs.count, let v = node.inputs[k], graph.values[v].type.dtype == .float32 else { return nil }
            return graph.values[v].type.shape
        }
        // Heads must match (the same size or symbol), or K and V have one head that broadcasts.
        guard let q = dims(0), let k = dims(1), let v = dims(2), q.count == 4, k.count == 4, v.count == 4,
              k[1] == q[1] || (k[1] == .fixed(1) && v[1] == .fixed(1)), let headSize = q[3].value, headSize > 0 else { return nil }
        if node.inputs.count > 3, let mask = node.inputs[3] {
            guard let m = dims(3), let keys = m.last?.value, keys > 0, k[2] == .fixed(keys),
                  let values = graph.constants[mask]?.floats else { return nil }
            for row in stride(from: 0, to: values.count, by: keys) {
                if values[row..<(row + keys)].allSatisfy({ $0 == -.infinity }) { return nil }
            }
        }
        let scale = a.scale ?? Float(1 / Double(headSize).squareRoot())
        return FusedAttention(alpha: scale, zeroNaN: false, keyPerm: [0, 1, 3, 2])
    }
}
