/// Runs ops on float types their kernels lack (float16 and bfloat16 everywhere, float64 where only float32 kernels
/// exist) in float32: each such input is cast to float32 and each such output computed in float32 and cast back.
/// A value made by one such op and read by another stays float32 between them (rounded to the model's type only where
/// it leaves the chain: a graph output, or an op that handles the narrow type itself), as onnxruntime drops the casts
/// between neighbouring float16 nodes it runs in float32; rounding after every op would drift a few ulps further from
/// the exact result. The casts of weights are folded once at load by constant folding. Must run before any pass that
/// evaluates nodes.
public struct ComputePrecision: Pass {
    public init() {}
    public var name: String { "compute-precision" }

    public func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool {
        var nodes = [Node]()
        nodes.reserveCapacity(graph.nodes.count)
        /// One float32 copy per value, shared by every node that needs it.
        var widened = [ValueID: ValueID]()
        var changed = false
        for var node in graph.nodes {
            let native = node.op.attributes.computeFloatTypes
            func foreign(_ v: ValueID?) -> Bool {
                guard let v else { return false }
                let t = graph.values[v].type.dtype
                return t.isFloatingPoint && !native.contains(t)
            }
            guard node.inputs.contains(where: foreign) || node.outputs.contains(where: foreign) else {
                nodes.append(node)
                continue
            }
            changed = true
            let label = node.name.isEmpty ? node.op.name : node.name
            for (k, v) in node.inputs.enumerated() where foreign(v) {
                let v = v!
                if let w = widened[v] { node.inputs[k] = w; continue }
                let w = graph.addValue(graph.values[v].name + "/float32", ValueType(.float32, graph.values[v].type.shape))
                nodes.append(Node(name: "\(label)/to_float32_\(k)", op: .cast(Cast(to: .float32)), inputs: [v], outputs: [w]))
                widened[v] = w
                node.inputs[k] = w
            }
            var narrowing = [Node]()
            for (k, o) in node.outputs.enumerated() where foreign(o) {
                let o = o!, t = graph.values[o].type
                let w = graph.addValue(graph.values[o].name + "/float32", ValueType(.float32, t.shape))
                narrowing.append(Node(name: "\(label)/to_\(t.dtype)_\(k)", op: .cast(Cast(to: t.dtype)), inputs: [w], outputs: [o]))
                node.outputs[k] = w
                widened[o] = w
            }
            nodes.append(node)
            nodes += narrowing
        }
        graph.nodes = nodes
        return changed
    }
}
