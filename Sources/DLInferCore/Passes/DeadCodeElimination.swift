/// Removes nodes none of whose outputs reach a graph output, and constants nothing reads.
public struct DeadCodeElimination: Pass {
    public init() {}
    public var name: String { "dead-code" }
    public func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool {
        var live = Set(graph.outputs)
        var keep = [Bool](repeating: false, count: graph.nodes.count)
        for i in graph.nodes.indices.reversed() {
            let n = graph.nodes[i]
            if n.outputs.contains(where: { $0 != nil && live.contains($0!) }) {
                keep[i] = true
                for v in n.inputs { if let v { live.insert(v) } }
            }
        }
        let before = graph.nodes.count, constsBefore = graph.constants.count
        graph.nodes = graph.nodes.enumerated().filter { keep[$0.offset] }.map(\.element)
        graph.constants = graph.constants.filter { live.contains($0.key) }
        return graph.nodes.count != before || graph.constants.count != constsBefore
    }
}
