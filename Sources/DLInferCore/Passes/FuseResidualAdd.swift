/// Moves a skip connection's Add into the Conv that feeds it: Add(Conv(X, W, B), R) becomes Conv(X, W, B, residual: R),
/// whose kernels add R to each output tile while it is still in cache instead of a second pass over both maps (and
/// FuseActivations, which runs after, then takes the Relu that usually follows). Applies when the Conv has no
/// activation yet (Conv -> Relu -> Add must keep its order), its output is float32, read by that Add alone and not a
/// graph output, and R provably has the Conv output's shape: every dimension known and equal, or the same named
/// symbol (an Add that broadcasts is left alone). Of two Convs feeding one Add, the later one is fused, so the other's
/// output is ready; the fused node runs where the Conv ran when R is ready by then, else where the Add ran.
public struct FuseResidualAdd: Pass {
    public init() {}
    public var name: String { "fuse-residual-add" }

    public func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool {
        let consumers = graph.consumers(), producers = graph.producers()
        var removed = Set<Int>(), moved = [Int: Node]()
        for (i, node) in graph.nodes.enumerated() {
            guard case .binary(let b) = node.op, b.kind == .add, node.inputs.count == 2,
                  let a0 = node.inputs[0], let a1 = node.inputs[1], a0 != a1, let y = node.outputs.first ?? nil
            else { continue }
            // The later of the fusable Convs (a value with no producer is a graph input or a constant: ready first).
            let candidates = [(a0, a1), (a1, a0)].compactMap { (c, r) -> (conv: Int, residual: ValueID)? in
                guard let ci = producers[c], !removed.contains(ci), moved[ci] == nil,
                      fusable(graph.nodes[ci], output: c, residual: r, graph, consumers) else { return nil }
                return (ci, r)
            }
            guard let (ci, r) = candidates.max(by: { $0.conv < $1.conv }) else { continue }
            guard case .conv(var a) = graph.nodes[ci].op else { continue }
            a.residual = true
            var fused = graph.nodes[ci]
            fused.op = .conv(a)
            fused.inputs = Array(fused.inputs.prefix(3)) + Array(repeating: nil, count: 3 - min(3, fused.inputs.count)) + [r]
            fused.outputs = [y]
            let ready = producers[r].map { $0 < ci } ?? true
            moved[ready ? ci : i] = fused
            removed.insert(ready ? i : ci)
        }
        guard !moved.isEmpty else { return false }
        graph.nodes = graph.nodes.enumerated().compactMap { k, n in removed.contains(k) ? nil : moved[k] ?? n }
        return true
    }

    private func fusable(_ conv: Node, output c: ValueID, residual r: ValueID, _ graph: Graph,
                         _ consumers: [ValueID: [Int]]) -> Bool {
        guard case .conv(let a) = conv.op, a.activation == nil, !a.residual, conv.outputs.count == 1,
              conv.outputs[0] == c, consumers[c]?.count == 1, !graph.isOutput(c),
              graph.values[c].type.dtype == .float32, graph.values[r].type.dtype == .float32,
              let cs = graph.values[c].type.shape, let rs = graph.values[r].type.shape, cs == rs
        else { return false }
        return cs.allSatisfy { $0 != .unknown }
    }
}
