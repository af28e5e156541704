import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads an ONNX ModelProto into a `Graph`: weights become constants, Constant nodes are folded in, every node is
/// turned into a typed `Op` (or the load fails naming the op, the node and the attribute), and types are inferred.
public enum ONNXImporter {
    public static let supportedOpsets = 7...onnxNewestOpset

    public static func load(path: String) throws -> Graph {
        var st = stat()
        guard stat(path, &st) == 0 else { throw DLInferError(.notFound, "model file '\(path)' does not exist") }
        // Reading a FIFO or a device would block or never end.
        guard st.st_mode & S_IFMT == S_IFREG else { throw DLInferError(.io, "model file '\(path)' is not a regular file") }
        guard let buffer = readFile(path) else { throw DLInferError(.io, "model file '\(path)' cannot be read") }
        return try load(buffer, external: ExternalDataRoot(modelPath: path))
    }

    /// `external`: where external data may be read from (nil: the model must hold all its data).
    public static func load(bytes: [UInt8], external: ExternalDataRoot?) throws -> Graph {
        try load(ProtoBuffer(copying: bytes), external: external)
    }

    /// The same from caller memory, copied once before parsing.
    public static func load(bytes: UnsafeRawBufferPointer, external: ExternalDataRoot?) throws -> Graph {
        try load(ProtoBuffer(copying: bytes), external: external)
    }

    /// Weights are copied into tensors and their bytes released from `buffer` as the main graph is built.
    static func load(_ buffer: ProtoBuffer, external: ExternalDataRoot?) throws -> Graph {
        let model = try decode(buffer)
        guard model.hasGraph, !model.graph.node.isEmpty || !model.graph.output.isEmpty else {
            throw DLInferError.model("not a valid ONNX model (no graph)")
        }
        var opset: Int? = nil
        for imp in model.opsetImport where isDefaultDomain(imp.domain) { opset = Int(imp.version) }
        guard let opset else { throw DLInferError.model("the model imports no version of the default ONNX operator set") }
        guard opset >= 1, opset <= supportedOpsets.upperBound else {
            throw DLInferError.unsupported("the model uses ONNX opset \(opset); dlinfer supports opsets \(supportedOpsets.lowerBound) to \(supportedOpsets.upperBound), and older models whose ops are unchanged since")
        }
        // Every unsupported op is named at once, not only the first one met.
        if let message = unsupportedMessage(summary(model).unsupported) { throw DLInferError.unsupported(message) }
        let source = TensorSource(external: external, budget: MemoryBudget(limit: MemoryBudget.defaultLimit))
        let graph = try GraphBuilder(opset: opset, source: source, functions: try localFunctions(model)).build(model.graph)
        graph.metadata = [
            ("producer_name", model.producerName), ("producer_version", model.producerVersion),
            ("graph_name", model.graph.name), ("domain", model.domain), ("description", model.docString),
            ("graph_description", model.graph.docString), ("version", model.hasModelVersion ? String(model.modelVersion) : ""), ("opset", String(opset)),
        ] + model.metadataProps.map { ("custom." + $0.key, $0.value) }
        return graph
    }

    static func decode(_ buffer: ProtoBuffer) throws -> Onnx_ModelProto {
        guard buffer.count > 0 else { throw DLInferError.model("the model is empty (0 bytes)") }
        do {
            return try Onnx_ModelProto(buffer: buffer, depthLimit: 64)
        } catch {
            throw DLInferError.model("not a valid ONNX model (protobuf decoding failed: \(error))")
        }
    }

    /// The model-local functions by (domain, name), each with the default-domain opset its body is written for.
    private static func localFunctions(_ model: Onnx_ModelProto) throws -> [FunctionKey: LocalFunction] {
        var out = [FunctionKey: LocalFunction]()
        for f in model.functions {
            let key = FunctionKey(f.domain, f.name)
            guard f.overload.isEmpty else { throw DLInferError.unsupported("function '\(f.name)' has overload '\(f.overload)'; function overloads are not supported") }
            guard out[key] == nil else { throw DLInferError.model("function '\(f.domain).\(f.name)' is defined twice") }
            var opset: Int? = nil
            for imp in f.opsetImport where isDefaultDomain(imp.domain) { opset = Int(imp.version) }
            out[key] = LocalFunction(proto: f, opset: opset)
        }
        return out
    }
}

/// The whole file at `path`, or nil if it cannot be opened or read (read to its end, should it have grown since it
/// was measured).
func readFile(_ path: String) -> ProtoBuffer? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { return nil }
    var failed = false
    func readAll(into buf: UnsafeMutableRawBufferPointer) -> Int {
        var count = 0
        while count < buf.count {
            let n = read(fd, buf.baseAddress! + count, buf.count - count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { failed = true; break }
            if n == 0 { break }
            count += n
        }
        return count
    }
    // One byte more than the size, to see the end of the file without another read.
    let size = max(Int(st.st_size), 0) + 1
    guard let buffer = ProtoBuffer(count: size, fill: { let n = readAll(into: $0); return failed ? nil : n }) else { return nil }
    if buffer.count < size { return buffer }
    // The file grew since it was measured: read on to its end.
    var bytes = [UInt8](buffer.bytes)
    while !failed {
        let more = [UInt8](unsafeUninitializedCapacity: max(bytes.count, 1 << 16)) { $1 = readAll(into: UnsafeMutableRawBufferPointer($0)) }
        if more.isEmpty { break }
        bytes += more
    }
    return failed ? nil : ProtoBuffer(copying: bytes)
}

struct LocalFunction {
    let proto: Onnx_FunctionProto
    /// nil: the body uses the model's opset.
    let opset: Int?
}

/// Builds one graph: the model's, a control-flow body (whose names fall back on the enclosing builders, each outer
/// value read becoming an explicit input of the body and of the node that owns it), with model-local functions
/// inlined where they are called.
private final class GraphBuilder {
    let opset: Int
    let source: TensorSource
    let functions: [FunctionKey: LocalFunction]
    let parent: GraphBuilder?
    let graph = Graph()
    var byName: [String: ValueID] = [:]
    /// Outer values this body reads, in the order they became body inputs.
    private(set) var captured: [ValueID] = []
    private var declared: [String: ValueType] = [:]
    /// Depth of function calls being inlined (a function calling itself would otherwise never end).
    private var inlineDepth = 0
    private var inlineCount = 0

    init(opset: Int, source: TensorSource, functions: [FunctionKey: LocalFunction], parent: GraphBuilder? = nil) {
        self.opset = opset; self.source = source; self.functions = functions; self.parent = parent
    }

    func build(_ g: Onnx_GraphProto) throws -> Graph {
        guard g.sparseInitializer.isEmpty else { throw DLInferError.unsupported("sparse initializers are not supported") }
        for ini in g.initializer {
            guard !ini.name.isEmpty else { throw DLInferError.model("an initializer has no name") }
            guard byName[ini.name] == nil else { throw DLInferError.model("initializer '\(ini.name)' is given twice") }
            // The main graph is built once, so its weights' bytes are not read again (a body may be built per call
            // of the function holding it).
            byName[ini.name] = graph.addConstant(ini.name, try TensorDecoding.decode(ini, source, releasing: parent == nil))
        }
        guard Set(g.input.map(\.name)).count == g.input.count else {
            throw DLInferError.model("a graph input is listed twice: \(duplicates(g.input.map(\.name)))")
        }
        guard Set(g.output.map(\.name)).count == g.output.count else {
            throw DLInferError.model("a graph output is listed twice: \(duplicates(g.output.map(\.name)))")
        }
        // Graph inputs that are also initializers are weights, not inputs (in the main graph; a body's formal inputs
        // are always inputs).
        for inp in g.input where parent != nil || byName[inp.name] == nil {
            guard !inp.name.isEmpty else { throw DLInferError.model("a graph input has no name") }
            let id = graph.addValue(inp.name, try valueType(inp, role: "input", allowUntyped: parent != nil))
            byName[inp.name] = id
            graph.inputs.append(id)
        }
        for vi in g.valueInfo { if let t = try? valueType(vi, role: "value") { declared[vi.name] = t } }
        for o in g.output { declared[o.name] = try valueType(o, role: "output", allowUntyped: parent != nil) }

        for node in g.node { try add(node, opset: opset) }

        for o in g.output {
            guard let id = try resolve(o.name) else { throw DLInferError.model("graph output '\(o.name)' is not produced by any node") }
            graph.outputs.append(id)
        }
        // A body is typed by the op that owns it, once the outer input types are known.
        guard parent == nil else { return graph }
        try graph.inferTypes()
        for (o, id) in zip(g.output, graph.outputs) {
            if let d = declared[o.name], d.dtype != graph.values[id].type.dtype {
                throw DLInferError.model("graph output '\(o.name)' is declared \(d.dtype) but its producer computes \(graph.values[id].type.dtype)")
            }
        }
        return graph
    }

    /// The value a name refers to here; in a body, an outer value becomes a body input (an outer constant is copied).
    func resolve(_ name: String) throws -> ValueID? {
        if let id = byName[name] { return id }
        guard let parent, let outer = try parent.resolve(name) else { return nil }
        let id: ValueID
        if let c = parent.graph.constants[outer] {
            id = graph.addConstant(name, c)
        } else {
            id = graph.addValue(name, parent.graph.values[outer].type)
            graph.inputs.append(id)
            captured.append(outer)
        }
        byName[name] = id
        return id
    }

    /// Builds a graph attribute of a node being imported here as a body (see `Body`).
    func body(_ g: Onnx_GraphProto, opset: Int) throws -> (Graph, [ValueID]) {
        let b = GraphBuilder(opset: opset, source: source, functions: functions, parent: self)
        let graph = try b.build(g)
        return (graph, b.captured)
    }

    private func add(_ node: Onnx_NodeProto, opset: Int) throws {
        let label = "\(node.opType) node '\(node.name.isEmpty ? (node.output.first ?? "?") : node.name)'"
        do {
            if let f = functions[FunctionKey(node.domain, node.opType)] { try inline(node, f, opset: opset); return }
            guard ONNXImporter.isDefaultDomain(node.domain) else {
                throw DLInferError.unsupported("operator domain '\(node.domain)' is not supported")
            }
            if node.opType == "Constant" { try addConstantNode(node); return }
            guard let importer = ONNXOps.importers[node.opType] else {
                throw DLInferError.unsupported("operator '\(node.opType)' is not supported")
            }
            let inputs: [ValueID?] = try node.input.map { name in
                if name.isEmpty { return nil }
                guard let id = try resolve(name) else { throw DLInferError.model("input '\(name)' is used before it is defined") }
                return id
            }
            let ctx = NodeContext(node: node, opset: try effectiveOpset(node.opType, opset), graph: graph, inputs: inputs,
                                  buildBody: { [unowned self] g, o in try self.body(g, opset: o) })
            let op = try importer(ctx)
            try ctx.checkAllUsed()
            let outputs: [ValueID?] = try node.output.map { name in
                if name.isEmpty { return nil }
                // Values are assigned once (SSA): a second definition would silently rewire the first one's readers.
                guard byName[name] == nil else { throw DLInferError.model("output '\(name)' is already defined") }
                let id = graph.addValue(name, declared[name] ?? ValueType(.float32, nil))
                byName[name] = id
                return id
            }
            // A node that names no output computes nothing anyone can read; kept, its kernel would have nowhere to
            // write (found by the fuzzer: a Concat of constants with no output, folded at load).
            if outputs.allSatisfy({ $0 == nil }) { return }
            graph.nodes.append(Node(name: node.name, op: op, inputs: ctx.inputs, outputs: outputs))
        } catch let e as DLInferError {
            throw DLInferError(e.kind, "\(label): \(e.message)")
        }
    }

    /// Expands a call of a model-local function into its nodes: formal inputs and outputs renamed to the call's,
    /// every other name made unique, attributes that refer to the function's parameters (`ref_attr_name`) given the
    /// call's values or the function's defaults.
    private func inline(_ call: Onnx_NodeProto, _ f: LocalFunction, opset: Int) throws {
        guard inlineDepth < 32 else { throw DLInferError.model("functions call each other more than 32 deep") }
        inlineDepth += 1; inlineCount += 1
        defer { inlineDepth -= 1 }
        let fn = f.proto
        guard call.input.count <= fn.input.count, call.output.count <= fn.output.count else {
            throw DLInferError.model("calls function '\(fn.name)' with \(call.input.count) inputs and \(call.output.count) outputs; it has \(fn.input.count) and \(fn.output.count)")
        }
        let prefix = "\(call.name.isEmpty ? fn.name : call.name)#\(inlineCount)/"
        var rename = [String: String]()
        for (k, name) in fn.input.enumerated() { rename[name] = k < call.input.count ? call.input[k] : "" }
        for (k, name) in fn.output.enumerated() { rename[name] = k < call.output.count ? call.output[k] : prefix + name }
        func renamed(_ n: String) -> String { n.isEmpty ? "" : rename[n] ?? prefix + n }
        var given = [String: Onnx_AttributeProto]()
        for a in fn.attributeProto { given[a.name] = a }
        for a in call.attribute {
            guard fn.attribute.contains(a.name) || given[a.name] != nil else {
                throw DLInferError.model("function '\(fn.name)' has no attribute '\(a.name)'")
            }
            given[a.name] = a
        }
        for var n in fn.node {
            n.input = n.input.map(renamed)
            n.output = n.output.map(renamed)
            var attrs = [Onnx_AttributeProto]()
            for a in n.attribute {
                if a.hasG || !a.graphs.isEmpty {
                    throw DLInferError.unsupported("function '\(fn.name)' holds a subgraph (node '\(n.name)'), which dlinfer does not inline")
                }
                guard !a.refAttrName.isEmpty else { attrs.append(a); continue }
                guard var v = given[a.refAttrName] else { continue }
                v.name = a.name
                attrs.append(v)
            }
            n.attribute = attrs
            if !n.name.isEmpty { n.name = prefix + n.name }
            try add(n, opset: f.opset ?? opset)
        }
    }

    /// Models older than opset 7 are accepted op by op: an op whose definition at the model's opset is the one it has
    /// at opset 7 is imported as at opset 7; any other is rejected, naming the version.
    private func effectiveOpset(_ op: String, _ opset: Int) throws -> Int {
        if let since = onnxOpVersions[op]?.first, since > opset {
            throw DLInferError.model("operator '\(op)' does not exist at opset \(opset) (it was added at opset \(since))")
        }
        let first = ONNXImporter.supportedOpsets.lowerBound
        guard opset < first, let versions = onnxOpVersions[op] else { return opset }
        guard let used = versions.last(where: { $0 <= opset }) else {
            throw DLInferError.model("operator '\(op)' does not exist at opset \(opset)")
        }
        guard used == versions.last(where: { $0 <= first }) else {
            throw DLInferError.unsupported("the model's opset \(opset) selects \(op) version \(used), which dlinfer does not implement (supported: the definitions of opsets \(first) to \(ONNXImporter.supportedOpsets.upperBound))")
        }
        return first
    }

    private func addConstantNode(_ node: Onnx_NodeProto) throws {
        guard node.output.count == 1, node.attribute.count == 1 else {
            throw DLInferError.model("Constant needs exactly one output and one value attribute")
        }
        let a = node.attribute[0]
        let t: Tensor
        switch a.name {
        case "value": t = try TensorDecoding.decode(a.t, source)
        case "value_float": t = .scalar(a.f)
        case "value_floats": t = Tensor(a.floats, shape: [a.floats.count])
        case "value_int": t = .scalar(a.i)
        case "value_ints": t = Tensor(a.ints, shape: [a.ints.count])
        default: throw DLInferError.unsupported("Constant attribute '\(a.name)' is not supported")
        }
        guard !node.output[0].isEmpty, byName[node.output[0]] == nil else {
            throw DLInferError.model("Constant output '\(node.output[0])' is empty or already defined")
        }
        byName[node.output[0]] = graph.addConstant(node.output[0], t)
    }

    private func duplicates(_ names: [String]) -> String {
        var seen = Set<String>()
        return names.filter { !seen.insert($0).inserted }.map { "'\($0)'" }.joined(separator: ", ")
    }

    /// A declared type; a body's formal inputs and outputs may leave it out (then the op that owns the body types it).
    private func valueType(_ vi: Onnx_ValueInfoProto, role: String, allowUntyped: Bool = false) throws -> ValueType {
        if allowUntyped, !vi.hasType || vi.type.value == nil { return ValueType(.float32, nil) }
        guard vi.hasType, case .tensorType(let tt)? = vi.type.value else {
            throw DLInferError.unsupported("\(role) '\(vi.name)' is not a tensor (sequences, maps and optionals are not supported)")
        }
        guard let dtype = DType(rawValue: tt.elemType), dtype != .string else {
            throw DLInferError.unsupported("\(role) '\(vi.name)' has element type \(onnxTypeName(Int(tt.elemType))), which dlinfer does not support")
        }
        guard tt.hasShape else { return ValueType(dtype, nil) }
        guard tt.shape.dim.count <= maxRank else {
            throw DLInferError.shape("\(role) '\(vi.name)' has rank \(tt.shape.dim.count), more than the maximum rank \(maxRank)")
        }
        return ValueType(dtype, tt.shape.dim.map { d in
            switch d.value {
            case .dimValue(let v)?: return v >= 0 ? .fixed(Int(v)) : .unknown
            case .dimParam(let s)?: return .symbol(s)
            case nil: return .unknown
            }
        })
    }
}
