/// Evaluates every node whose inputs are all constants (and Shape or Size of a statically shaped value) and replaces
/// its outputs by constants. A node whose outputs would be much larger than its inputs (ConstantOfShape, Expand, Tile
/// of a few bytes into gigabytes) is left to run time, where the session's memory limit applies, rather than stored
/// in the model.
public struct ConstantFolding: Pass {
    /// Outputs up to this size are always folded; larger ones only if no larger than twice the inputs.
    static let smallOutput = 16 << 20

    public init() {}
    public var name: String { "constant-folding" }
    public func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool {
        var kept = [Node]()
        var changed = false
        for n in graph.nodes {
            let allConst = !n.inputs.isEmpty && !n.op.attributes.drawsRandomValues && n.inputs.allSatisfy { $0 == nil || graph.constants[$0!] != nil }
            let outputsKnown = n.outputs.allSatisfy { $0 == nil || graph.values[$0!].type.fixedShape != nil }
            let feedsOutput = n.outputs.contains { $0 != nil && graph.isOutput($0!) }
            if !feedsOutput, let x = n.inputs.first ?? nil, let s = graph.values[x].type.fixedShape, let o = n.outputs.first ?? nil,
               let value = n.op.valueFromShape(s) {
                graph.constants[o] = value
                changed = true
                continue
            }
            let types = { (v: ValueID?) in v.map { graph.values[$0].type } }
            guard allConst, outputsKnown, !feedsOutput,
                  !ConstantFolding.amplifies(inputs: n.inputs.map(types), outputs: n.outputs.map(types)) else { kept.append(n); continue }
            let values = try ctx.evaluate(n, graph)
            for (k, o) in n.outputs.enumerated() { if let o, k < values.count, let t = values[k] { graph.constants[o] = t } }
            changed = true
        }
        graph.nodes = kept
        return changed
    }

    /// Whether evaluating a node ahead of time would turn its inputs into much larger outputs.
    public static func amplifies(inputs: [ValueType?], outputs: [ValueType?]) -> Bool {
        func bytes(_ t: ValueType?) -> Int {
            guard let t, let s = t.fixedShape else { return 0 }
            return (try? byteCount(t.dtype, s)) ?? Int.max
        }
        let out = outputs.reduce(0) { $0 &+ bytes($1) }, input = inputs.reduce(0) { $0 &+ bytes($1) }
        return out < 0 || out > Swift.max(smallOutput, input < 0 ? 0 : 2 * input)
    }
}
