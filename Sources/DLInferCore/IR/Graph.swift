/// Index of a value (tensor edge) in `Graph.values`.
public typealias ValueID = Int

public struct ValueInfo: Sendable {
    public var name: String
    public var type: ValueType
    public init(name: String, type: ValueType) { self.name = name; self.type = type }
}

public struct Node: Sendable {
    public var name: String
    public var op: Op
    /// `nil` marks an omitted optional input (ONNX's empty name).
    public var inputs: [ValueID?]
    /// `nil` marks an output the model does not ask for.
    public var outputs: [ValueID?]
    public init(name: String, op: Op, inputs: [ValueID?], outputs: [ValueID?]) {
        self.name = name; self.op = op; self.inputs = inputs; self.outputs = outputs
    }
    /// Name used in messages: the node's own name, else its first output's.
    public func label(in g: Graph) -> String { "\(op.name) node '\(displayName(in: g))'" }
    /// The node's name, or for an unnamed node the name of its first output.
    public func displayName(in g: Graph) -> String {
        name.isEmpty ? (outputs.compactMap { $0 }.first.map { g.values[$0].name } ?? "?") : name
    }
}

/// The whole model in dlinfer's own terms: values, nodes in topological order, weights as constants.
public final class Graph: @unchecked Sendable {
    public var values: [ValueInfo] = []
    public var nodes: [Node] = []
    public var inputs: [ValueID] = []
    public var outputs: [ValueID] = []
    /// Weights and folded values; a constant is never also a graph input.
    public var constants: [ValueID: Tensor] = [:]
    /// What the model file says of itself, in order (producer, names, versions, the model's own key/value pairs):
    /// shown by `dlinfer info` and the C API's metadata queries, never read by the runtime.
    public var metadata: [(key: String, value: String)] = []

    public init() {}

    public func addValue(_ name: String, _ type: ValueType) -> ValueID {
        values.append(ValueInfo(name: name, type: type))
        return values.count - 1
    }

    public func addConstant(_ name: String, _ t: Tensor) -> ValueID {
        let id = addValue(name, t.type)
        constants[id] = t
        return id
    }

    /// For each value, the indices of the nodes that read it.
    public func consumers() -> [ValueID: [Int]] {
        var c = [ValueID: [Int]]()
        for (i, n) in nodes.enumerated() { for v in n.inputs { if let v { c[v, default: []].append(i) } } }
        return c
    }

    /// For each value, the index of the node that writes it.
    public func producers() -> [ValueID: Int] {
        var p = [ValueID: Int]()
        for (i, n) in nodes.enumerated() { for v in n.outputs { if let v { p[v] = i } } }
        return p
    }

    /// Re-runs type inference over every node, in order, storing the result in `values`. Throws on the first node
    /// whose inputs it cannot accept, naming it.
    public func inferTypes() throws {
        for n in nodes {
            let ins = n.inputs.map { id in id.map { TypedInput(type: values[$0].type, value: constants[$0]) } }
            let outs: [ValueType]
            do {
                try n.op.attributes.typeSubgraphs(ins)
                outs = try n.op.inferTypes(ins)
            } catch let e as DLInferError {
                throw DLInferError(e.kind, "\(n.label(in: self)): \(e.message)")
            }
            if let r = outs.compactMap(\.rank).max(), r > maxRank {
                throw DLInferError.shape("\(n.label(in: self)): an output of rank \(r) exceeds the maximum rank \(maxRank)")
            }
            if let extra = n.outputs.indices.last(where: { n.outputs[$0] != nil }), extra >= outs.count {
                throw DLInferError.model("\(n.label(in: self)): the op has \(outs.count) output\(outs.count == 1 ? "" : "s"), the node declares \(extra + 1)")
            }
            for (k, o) in n.outputs.enumerated() where o != nil {
                values[o!].type = Graph.merge(declared: values[o!].type, inferred: outs[k])
            }
        }
    }

    /// Keeps the model's own dim names where inference only knows "some symbol".
    static func merge(declared: ValueType, inferred: ValueType) -> ValueType {
        guard let ish = inferred.shape else { return ValueType(inferred.dtype, declared.shape) }
        guard let dsh = declared.shape, dsh.count == ish.count else { return inferred }
        return ValueType(inferred.dtype, zip(dsh, ish).map { d, i in
            if case .symbol = i, case .symbol = d { return d }
            return i
        })
    }
}

/// What type inference knows of one input: its type and, if it is a constant, its value.
public struct TypedInput {
    public var type: ValueType
    public var value: Tensor?
    public init(type: ValueType, value: Tensor?) { self.type = type; self.value = value }
    public init(_ t: Tensor) { self.type = t.type; self.value = t }
}
