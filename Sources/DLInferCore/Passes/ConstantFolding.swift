/// Evaluates every node whose inputs are all constants (and Shape or Size of a statically shaped value) and replaces its
/// outputs by constants.
public struct ConstantFolding: Pass {
    public init() {}
    public var name: String { "constant-folding" }
    public func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool {
        var kept = [Node]()
        var changed = false
        for n in graph.nodes {
            let allConst = !n.inputs.isEmpty && n.inputs.allSatisfy { $0 == nil || graph.constants[$0!] != nil }
            let outputsKnown = n.outputs.allSatisfy { $0 == nil || graph.values[$0!].type.fixedShape != nil }
            let feedsOutput = n.outputs.contains { $0 != nil && graph.isOutput($0!) }
            if !feedsOutput, let x = n.inputs.first ?? nil, let s = graph.values[x].type.fixedShape, let o = n.outputs.first ?? nil,
               let value = n.op.valueFromShape(s) {
                graph.constants[o] = value
                changed = true
                continue
            }
            guard allConst, outputsKnown, !feedsOutput else { kept.append(n); continue }
            let values = try ctx.evaluate(n, graph)
            for (k, o) in n.outputs.enumerated() { if let o, k < values.count, let t = values[k] { graph.constants[o] = t } }
            changed = true
        }
        graph.nodes = kept
        return changed
    }
}
