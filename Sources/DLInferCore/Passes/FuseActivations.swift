/// Moves an activation into the epilogue of the Conv, Gemm, MatMul or inference BatchNormalization that feeds it
/// (DenseNet's BatchNormalization -> Relu pairs then cost one pass over the feature map, not two): Relu, LeakyRelu, Sigmoid, Tanh,
/// HardSigmoid, Elu, and Clip whose bounds are constants or absent. Applies when the producer has no activation
/// yet, its output is float32, read by the activation alone and not a graph output; the producer then writes the
/// activation's output value and the activation node goes.
public struct FuseActivations: Pass {
    public init() {}
    public var name: String { "fuse-activations" }

    public func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool {
        let consumers = graph.consumers(), producers = graph.producers()
        var removed = Set<Int>()
        for (i, node) in graph.nodes.enumerated() {
            guard let act = activation(of: node, graph), let x = node.inputs.first ?? nil, let y = node.outputs.first ?? nil,
                  let pi = producers[x], graph.nodes[pi].outputs.first == x, consumers[x]?.count == 1, !graph.isOutput(x),
                  // Epilogues compute in float32 (Clip also takes integers, MatMul may produce them).
                  graph.values[x].type.dtype == .float32
            else { continue }
            switch graph.nodes[pi].op {
            case .conv(var a) where a.activation == nil: a.activation = act; graph.nodes[pi].op = .conv(a)
            case .gemm(var a) where a.activation == nil: a.activation = act; graph.nodes[pi].op = .gemm(a)
            case .matMul(var a) where a.activation == nil: a.activation = act; graph.nodes[pi].op = .matMul(a)
            case .batchNorm(var a) where a.activation == nil && !a.training: a.activation = act; graph.nodes[pi].op = .batchNorm(a)
            default: continue
            }
            graph.nodes[pi].outputs[0] = y
            removed.insert(i)
        }
        graph.nodes = graph.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        return !removed.isEmpty
    }

    /// The node as a fusable activation, or nil (a Clip bound computed at run time cannot be fused).
    private func activation(of node: Node, _ graph: Graph) -> Activation? {
        switch node.op {
        case .unary(let u):
            if case .activation(let a) = u.kind { return a }
            return nil
        case .clip:
            var bounds: [Float] = [-.infinity, .infinity]
            for k in 0..<2 where k + 1 < node.inputs.count {
                guard let id = node.inputs[k + 1] else { continue }
                guard let v = graph.constants[id]?.doubleValues(), v.count == 1 else { return nil }
                bounds[k] = Float(v[0])
            }
            return .clip(min: bounds[0], max: bounds[1])
        default:
            return nil
        }
    }
}
