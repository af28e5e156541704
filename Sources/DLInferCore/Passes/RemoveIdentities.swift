/// Drops Identity and inference-mode Dropout nodes by wiring their readers to their input. A node whose output is a
/// graph output stays (the output keeps its declared name), as does a Dropout whose mask is read.
public struct RemoveIdentities: Pass {
    public init() {}
    public var name: String { "remove-identities" }
    public func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool {
        var removed = Set<Int>()
        for i in graph.nodes.indices {
            // Read afresh: removing an earlier Identity of a chain rewired this node's input.
            let n = graph.nodes[i]
            let passThrough: Bool
            switch n.op {
            case .identity: passThrough = true
            case .dropout: passThrough = n.outputs.count < 2 || n.outputs[1] == nil
            default: passThrough = false
            }
            guard passThrough, let x = n.inputs.first ?? nil, let y = n.outputs.first ?? nil, !graph.isOutput(y) else { continue }
            graph.replaceUses(of: y, with: x)
            removed.insert(i)
        }
        graph.nodes = graph.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        return !removed.isEmpty
    }
}
