import DLInferCore

/// What an op importer sees of one ONNX node: typed attribute reads (each read marks the attribute as understood),
/// its inputs (with constant values where known) and the model's opset. Any attribute left unread after the importer
/// returns makes the load fail, so an attribute we do not implement can never be silently ignored.
public final class NodeContext {
    public let opType: String
    public let nodeName: String
    /// The version of the default ONNX domain the model imports.
    public let opset: Int
    let graph: Graph
    /// Inputs as wired into the graph; importers may append constants (e.g. older opsets' attributes that later became inputs).
    public var inputs: [ValueID?]
    public let outputCount: Int
    private let attributes: [String: Onnx_AttributeProto]
    private var used = Set<String>()
    private let buildBody: (Onnx_GraphProto, Int) throws -> (Graph, [ValueID])

    init(node: Onnx_NodeProto, opset: Int, graph: Graph, inputs: [ValueID?],
         buildBody: @escaping (Onnx_GraphProto, Int) throws -> (Graph, [ValueID])) {
        self.buildBody = buildBody
        opType = node.opType
        nodeName = node.name
        self.opset = opset
        self.graph = graph
        self.inputs = inputs
        outputCount = node.output.count
        var a = [String: Onnx_AttributeProto]()
        for attr in node.attribute { a[attr.name] = attr }
        attributes = a
    }

    public func has(_ name: String) -> Bool { attributes[name] != nil }

    private func attr(_ name: String, _ type: Onnx_AttributeProto.AttributeType) throws -> Onnx_AttributeProto? {
        guard let a = attributes[name] else { return nil }
        used.insert(name)
        if a.hasRefAttrName { throw DLInferError.unsupported("attribute '\(name)' refers to a function attribute") }
        guard a.type == type || (a.type == .undefined) else {
            throw DLInferError.model("attribute '\(name)' should be \(type) but is \(a.type)")
        }
        return a
    }

    public func int(_ name: String) throws -> Int? { try attr(name, .int).map { Int($0.i) } }
    public func int(_ name: String, default d: Int) throws -> Int { try int(name) ?? d }
    public func float(_ name: String) throws -> Float? { try attr(name, .float).map { $0.f } }
    public func float(_ name: String, default d: Float) throws -> Float { try float(name) ?? d }
    public func ints(_ name: String) throws -> [Int]? { try attr(name, .ints).map { $0.ints.map { Int($0) } } }
    public func floats(_ name: String) throws -> [Float]? { try attr(name, .floats).map { $0.floats } }
    public func string(_ name: String) throws -> String? {
        try attr(name, .string).map { String(decoding: $0.s, as: UTF8.self) }
    }
    public func string(_ name: String, default d: String) throws -> String { try string(name) ?? d }
    public func strings(_ name: String) throws -> [String]? {
        try attr(name, .strings).map { $0.strings.map { String(decoding: $0, as: UTF8.self) } }
    }
    public func tensor(_ name: String) throws -> Tensor? {
        try attr(name, .tensor).map { try TensorDecoding.decode($0.t, .inline) }
    }

    /// The graph attribute `name` built as a control-flow body: the outer values it reads are appended to this
    /// node's inputs, and the body records which ones feed its captured inputs.
    public func body(_ name: String) throws -> Body? {
        guard let a = try attr(name, .graph) else { return nil }
        let (g, captured) = try buildBody(a.g, opset)
        var captures = [Int]()
        for v in captured {
            if let k = inputs.firstIndex(where: { $0 == v }) { captures.append(k) } else { inputs.append(v); captures.append(inputs.count - 1) }
        }
        return Body(graph: g, captures: captures)
    }

    /// The constant value of input `i`, if it is a constant.
    public func constant(_ i: Int) -> Tensor? {
        guard i < inputs.count, let id = inputs[i] else { return nil }
        return graph.constants[id]
    }
    /// Static type of input `i`, if given.
    public func inputType(_ i: Int) -> ValueType? {
        guard i < inputs.count, let id = inputs[i] else { return nil }
        return graph.values[id].type
    }
    public var inputCount: Int { inputs.count }

    /// Sets input `i` to a new constant (used to turn legacy attributes into the inputs later opsets take).
    public func setConstantInput(_ i: Int, _ t: Tensor, role: String) {
        let id = graph.addConstant("\(nodeName.isEmpty ? opType : nodeName)/\(role)", t)
        while inputs.count <= i { inputs.append(nil) }
        inputs[i] = id
    }

    /// Throws if any attribute was not read by the importer.
    func checkAllUsed() throws {
        let unused = attributes.keys.filter { !used.contains($0) }.sorted()
        if let first = unused.first {
            throw DLInferError.unsupported("attribute '\(first)' is not supported" + (unused.count > 1 ? " (nor \(unused.dropFirst().joined(separator: ", ")))" : ""))
        }
    }

    /// An error for a value dlinfer does not implement, naming the attribute.
    public func unsupported(_ attribute: String, _ detail: String) -> DLInferError {
        DLInferError.unsupported("attribute '\(attribute)': \(detail)")
    }
}

/// Turns one ONNX node into an `Op`. Reads every attribute it supports and throws for values it does not.
public typealias OpImporter = (NodeContext) throws -> Op
