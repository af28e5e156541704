/// Turns each CastLike into a Cast to its second input's type, which is known once types are inferred. The node then
/// no longer reads that input (only its type mattered): a constant first input folds, and nothing waits for, or
/// transfers, the second input's value.
public struct LowerCastLike: Pass {
    public init() {}
    public var name: String { "lower-castlike" }

    public func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool {
        var changed = false
        for i in graph.nodes.indices {
            guard case .castLike = graph.nodes[i].op, graph.nodes[i].inputs.count == 2, let like = graph.nodes[i].inputs[1] else { continue }
            graph.nodes[i].op = .cast(Cast(to: graph.values[like].type.dtype))
            graph.nodes[i].inputs.removeLast()
            changed = true
        }
        return changed
    }
}
