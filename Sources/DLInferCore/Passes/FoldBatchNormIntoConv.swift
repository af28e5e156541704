/// Folds an inference BatchNormalization into the Conv feeding it: with a = scale / sqrt(var + eps),
/// BN(Conv(X, W, B)) = Conv(X, W * a, (B - mean) * a + B_bn) per output channel. Applies when W (and B, if given)
/// and the four BN parameters are constants, the BN is not in training mode (its statistics come from the batch),
/// the Conv output is read by that BN alone and is not a graph output, and no activation is fused into either yet.
/// The Conv then writes the BN's output value and the BN node goes.
public struct FoldBatchNormIntoConv: Pass {
    public init() {}
    public var name: String { "fold-batchnorm" }

    public func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool {
        let consumers = graph.consumers(), producers = graph.producers()
        var removed = Set<Int>()
        for (i, node) in graph.nodes.enumerated() {
            guard case .batchNorm(let bn) = node.op, bn.spatial, !bn.training, bn.activation == nil, node.inputs.count == 5,
                  let x = node.inputs[0], let y = node.outputs.first ?? nil,
                  let ci = producers[x], case .conv(let conv) = graph.nodes[ci].op, conv.activation == nil,
                  graph.nodes[ci].outputs.first == x, consumers[x]?.count == 1, !graph.isOutput(x)
            else { continue }
            let convNode = graph.nodes[ci]
            guard let wid = convNode.inputs[1], let w = graph.constants[wid], w.dtype == .float32, w.rank >= 1 else { continue }
            let m = w.shape[0]
            let oldBias: Tensor?
            if convNode.inputs.count > 2, let bid = convNode.inputs[2] {
                guard let b = graph.constants[bid], b.dtype == .float32, b.count == m else { continue }
                oldBias = b
            } else {
                oldBias = nil
            }
            let params = node.inputs[1...].map { $0.flatMap { graph.constants[$0] } }
            guard params.allSatisfy({ $0 != nil && $0!.dtype == .float32 && $0!.count == m }) else { continue }
            let p = params.map { UnsafeBufferPointer($0!.floats) }
            let (a, shift) = bn.affine(scale: p[0], bias: p[1], mean: p[2], variance: p[3])

            let perChannel = m == 0 ? 0 : w.count / m
            var newW = w.array(Float.self)
            for c in 0..<m { for k in 0..<perChannel { newW[c * perChannel + k] *= a[c] } }
            var newB = shift
            if let oldBias { for c in 0..<m { newB[c] += oldBias.floats[c] * a[c] } }

            let label = convNode.name.isEmpty ? graph.values[y].name : convNode.name
            let wNew = graph.addConstant("\(label)/W_bn_folded", Tensor(newW, shape: w.shape))
            let bNew = graph.addConstant("\(label)/B_bn_folded", Tensor(newB, shape: [m]))
            graph.nodes[ci].inputs = [convNode.inputs[0], wNew, bNew]
            graph.nodes[ci].outputs[0] = y
            removed.insert(i)
        }
        graph.nodes = graph.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        return !removed.isEmpty
    }
}
