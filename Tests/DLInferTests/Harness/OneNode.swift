import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// One-node graphs, the op tests' shared harness: an ONNX node loaded through the importer (as users' files are), or
/// an IR node put straight into a `Graph`. Inputs are x0, x1, ...: nil leaves an optional input out, the indices in
/// `constant` become initializers (constants) and the others graph inputs fed at run time, in order.
enum OneNode {
    // MARK: ONNX nodes, through the importer

    /// The model of one `op` node at `opset` with outputs y0, y1, ... of the types in `outputs`, and the tensors to
    /// feed it. `symbolic` declares each fed input's first dim as a symbol (n0, n1, ...).
    static func model(_ op: String, opset: Int, _ inputs: [Tensor?], constant: Set<Int> = [],
                      attrs: [Onnx_AttributeProto] = [], outputs: [DType] = [.float32], symbolic: Bool = false,
                      domain: String = "") -> (model: ModelBuilder, feeds: [Tensor]) {
        var m = ModelBuilder(opset: opset)
        var names = [String](), feeds = [Tensor]()
        for (i, t) in inputs.enumerated() {
            guard let t else { names.append(""); continue }
            names.append("x\(i)")
            if constant.contains(i) { m.constant("x\(i)", t); continue }
            m.input("x\(i)", t.dtype, t.shape.enumerated().map { k, d in symbolic && k == 0 ? .symbol("n\(i)") : .fixed(d) })
            feeds.append(t)
        }
        while names.last == "" { names.removeLast() }
        let outs = outputs.indices.map { "y\($0)" }
        m.node(op, names, outs, attrs, domain: domain)
        for (name, dtype) in zip(outs, outputs) { m.output(name, dtype) }
        return (m, feeds)
    }

    /// Every output of one `op` node (see `model`), run in a session.
    static func run(_ op: String, opset: Int, _ inputs: [Tensor?], constant: Set<Int> = [],
                    attrs: [Onnx_AttributeProto] = [], outputs: [DType] = [.float32], symbolic: Bool = false,
                    domain: String = "") throws -> [Tensor] {
        let (m, feeds) = model(op, opset: opset, inputs, constant: constant, attrs: attrs, outputs: outputs,
                               symbolic: symbolic, domain: domain)
        return try m.run(feeds)
    }

    /// Every output of one `op` node whose `outputCount` outputs all have the first given input's type.
    static func run(_ op: String, opset: Int, _ inputs: [Tensor?], constant: Set<Int> = [],
                    attrs: [Onnx_AttributeProto] = [], outputCount: Int) throws -> [Tensor] {
        let dtype = inputs.lazy.compactMap { $0 }.first?.dtype ?? .float32
        return try run(op, opset: opset, inputs, constant: constant, attrs: attrs, outputs: Array(repeating: dtype, count: outputCount))
    }

    /// Why the model of one `op` node does not load, or nil when it does.
    static func loadError(_ op: String, opset: Int, _ inputs: [Tensor?], constant: Set<Int> = [],
                          attrs: [Onnx_AttributeProto] = []) -> String? {
        do { _ = try model(op, opset: opset, inputs, constant: constant, attrs: attrs).model.load(); return nil } catch { return "\(error)" }
    }

    // MARK: IR nodes

    /// An input of an IR node: a graph input of a type, a constant, or absent.
    enum Operand {
        case input(ValueType)
        case constant(Tensor)
        case absent
    }

    /// A one-node graph over `operands` with `outputs` outputs, its types inferred (which throws for a node the type
    /// rule refuses).
    static func graph(_ op: Op, _ operands: [Operand], outputs: Int = 1) throws -> Graph {
        let g = Graph()
        var ids = [ValueID?]()
        for (i, o) in operands.enumerated() {
            switch o {
            case .input(let type):
                let id = g.addValue("x\(i)", type)
                g.inputs.append(id)
                ids.append(id)
            case .constant(let t): ids.append(g.addConstant("c\(i)", t))
            case .absent: ids.append(nil)
            }
        }
        let outs = (0..<outputs).map { g.addValue("y\($0)", ValueType(.float32, nil)) }
        g.nodes.append(Node(name: "n", op: op, inputs: ids, outputs: outs))
        g.outputs = outs
        try g.inferTypes()
        return g
    }

    /// A one-node graph over tensors (inputs of their own type unless `declared` gives another, e.g. with symbolic
    /// dims), and the tensors to feed it.
    static func graph(_ op: Op, _ inputs: [Tensor?], constant: Set<Int> = [], declared: [Int: ValueType] = [:],
                      outputs: Int = 1) throws -> (graph: Graph, feeds: [Tensor]) {
        var operands = [Operand](), feeds = [Tensor]()
        for (i, t) in inputs.enumerated() {
            guard let t else { operands.append(.absent); continue }
            if constant.contains(i) { operands.append(.constant(t)); continue }
            operands.append(.input(declared[i] ?? t.type))
            feeds.append(t)
        }
        return (try graph(op, operands, outputs: outputs), feeds)
    }

    /// The same, for operands written as (tensor, is it a constant) pairs.
    static func graph(_ op: Op, _ operands: [(Tensor, constant: Bool)?], declared: [Int: ValueType] = [:],
                      outputs: Int = 1) throws -> (graph: Graph, feeds: [Tensor]) {
        let constant = Set(operands.indices.filter { operands[$0]?.constant == true })
        return try graph(op, operands.map { $0?.0 }, constant: constant, declared: declared, outputs: outputs)
    }

    /// Every output of one IR node, run through the engine (passes, planning, the session's device).
    static func run(_ op: Op, _ inputs: [Tensor?], constant: Set<Int> = [], outputs: Int) throws -> [Tensor] {
        let (g, feeds) = try graph(op, inputs, constant: constant, outputs: outputs)
        return try InferenceSession(model: Model(graph: g)).run(feeds)
    }

    /// The only output of one IR node, run through the engine.
    static func run(_ op: Op, _ inputs: [Tensor?], constant: Set<Int> = []) throws -> Tensor {
        try run(op, inputs, constant: constant, outputs: 1)[0]
    }
}

/// The only output of one ONNX node whose inputs are all fed at run time (the shorthand of the elementwise tests).
func elementwiseNode(_ op: String, opset: Int, _ inputs: [Tensor], _ attrs: [Onnx_AttributeProto] = [], out: DType,
                     symbolic: Bool = false) throws -> Tensor {
    try OneNode.run(op, opset: opset, inputs, attrs: attrs, outputs: [out], symbolic: symbolic)[0]
}

/// Fails for each (what, `OneNode.loadError`) whose model loaded, or was refused without a message.
func assertRefusedAtLoad(_ cases: [(String, String?)], file: StaticString = #filePath, line: UInt = #line) {
    for (what, message) in cases {
        XCTAssertNotNil(message, "\(what) was accepted", file: file, line: line)
        XCTAssertFalse(message?.isEmpty ?? false, what, file: file, line: line)
    }
}
