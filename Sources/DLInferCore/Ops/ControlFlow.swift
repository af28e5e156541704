/// A control-flow op's body: a graph whose inputs are the op's formal body inputs followed by the outer-scope values
/// it reads ("captures"). The importer appends those outer values to the node's inputs, so that liveness, placement
/// and every pass see them as ordinary inputs; `captures[i]` is the node input feeding the body's i-th captured input.
public struct Body: @unchecked Sendable {
    public let graph: Graph
    public let captures: [Int]
    public init(graph: Graph, captures: [Int]) { self.graph = graph; self.captures = captures }
    public var formalInputCount: Int { graph.inputs.count - captures.count }

    /// Gives the body's inputs these types (formal ones first) and infers the rest of the body from them. Called
    /// at load only: the body's types are then fixed, and plans never retype it.
    public func type(formal: [ValueType], node inputs: [TypedInput?]) throws {
        let ins = graph.inputs
        guard formal.count == formalInputCount else {
            throw DLInferError.model("the body takes \(formalInputCount) inputs, the op gives it \(formal.count)")
        }
        for (k, t) in formal.enumerated() { graph.values[ins[k]].type = Graph.merge(declared: graph.values[ins[k]].type, inferred: t) }
        for (i, k) in captures.enumerated() {
            guard k < inputs.count, let t = inputs[k] else { throw DLInferError.model("captured value \(i) is missing") }
            graph.values[ins[formalInputCount + i]].type = t.type
        }
        try graph.inferTypes()
    }

    public var outputTypes: [ValueType] { graph.outputs.map { graph.values[$0].type } }
}
