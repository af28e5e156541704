import DLInferCore

/// An operator a model uses that dlinfer cannot import: where it first appears and how often.
public struct UnsupportedOp: Sendable {
    /// The op type, prefixed with its domain when that is not the default one ("com.microsoft.FusedConv").
    public var op: String
    public var firstNode: String
    public var count: Int
}

/// What can be said of a model file without building it: enough for `dlinfer info` on a model that does not load.
public struct ONNXModelSummary: Sendable {
    /// The default domain's opset, if the model imports it.
    public var opset: Int?
    public var producer: String
    public var graphName: String
    /// Values in the main graph's initializers (the weights), and how many initializers hold them.
    public var parameters: Int
    public var parameterTensors: Int
    /// Nodes per op type, including those inside subgraphs and model-local functions.
    public var opCounts: [(op: String, count: Int)]
    public var unsupported: [UnsupportedOp]
}

/// Every op the importer accepts: the registry the conformance scope, `dlinfer ops` and the README list follow.
public enum ONNXOpRegistry {
    public struct Entry: Sendable {
        public var name: String
        /// The first opset at which the op exists.
        public var since: Int
    }

    /// Sorted by name; Constant is handled by the importer itself.
    public static let ops: [Entry] = (Array(ONNXOps.importers.keys) + ["Constant"]).sorted().map {
        Entry(name: $0, since: onnxOpVersions[$0]?.first ?? ONNXImporter.supportedOpsets.lowerBound)
    }

    public static func isSupported(_ op: String) -> Bool { op == "Constant" || ONNXOps.importers[op] != nil }

    /// Ops registered but unknown to the pinned onnx release (a typo in a registration); empty when all is well.
    public static var unknownToONNX: [String] { ops.map(\.name).filter { onnxOpVersions[$0] == nil } }
}

extension ONNXImporter {
    /// Reads a model's op inventory without building the graph.
    public static func summary(bytes: [UInt8]) throws -> ONNXModelSummary {
        summary(try decode(ProtoBuffer(copying: bytes)))
    }

    /// The same for the model file at `path`.
    public static func summary(path: String) throws -> ONNXModelSummary {
        guard let buffer = readFile(path) else { throw DLInferError(.io, "model file '\(path)' cannot be read") }
        return summary(try decode(buffer))
    }

    static func summary(_ model: Onnx_ModelProto) -> ONNXModelSummary {
        var counts = [String: Int]()
        var order = [String]()
        var firstNode = [String: String]()
        let functions = Set(model.functions.map { FunctionKey($0.domain, $0.name) })
        var unsupported = Set<String>()
        visitNodes(model) { node in
            let key = qualifiedName(node)
            if counts[key] == nil { order.append(key); firstNode[key] = node.name.isEmpty ? (node.output.first ?? "?") : node.name }
            counts[key, default: 0] += 1
            let local = functions.contains(FunctionKey(node.domain, node.opType))
            if !local && !(isDefaultDomain(node.domain) && ONNXOpRegistry.isSupported(node.opType)) { unsupported.insert(key) }
        }
        var opset: Int? = nil
        for imp in model.opsetImport where isDefaultDomain(imp.domain) { opset = Int(imp.version) }
        var parameters = 0
        for t in model.graph.initializer {
            // Saturating: the dims of a hostile file may overflow; the count is only shown.
            let n = t.dims.reduce(1) { acc, d in d < 0 ? acc : acc.multipliedReportingOverflow(by: Int(d)).overflow ? Int.max : acc * Int(d) }
            parameters = parameters.addingReportingOverflow(n).overflow ? Int.max : parameters + n
        }
        return ONNXModelSummary(
            opset: opset,
            producer: [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " "),
            graphName: model.graph.name,
            parameters: parameters, parameterTensors: model.graph.initializer.count,
            opCounts: counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            unsupported: order.filter(unsupported.contains).map { UnsupportedOp(op: $0, firstNode: firstNode[$0]!, count: counts[$0]!) })
    }

    /// One message naming every unsupported op, or nil when there is none.
    static func unsupportedMessage(_ ops: [UnsupportedOp]) -> String? {
        guard !ops.isEmpty else { return nil }
        let list = ops.map { "\($0.op) (node '\($0.firstNode)'\($0.count > 1 ? " and \($0.count - 1) more" : ""))" }
        let noun = ops.count == 1 ? "an operator" : "\(ops.count) operators"
        return "the model uses \(noun) dlinfer does not support: \(list.joined(separator: ", ")); `dlinfer ops` lists the supported ones"
    }

    /// Calls `body` on every node: the main graph's, their subgraphs' (If/Loop/Scan bodies) and the model-local
    /// functions', recursively.
    static func visitNodes(_ model: Onnx_ModelProto, _ body: (Onnx_NodeProto) -> Void) {
        func graph(_ g: Onnx_GraphProto) { for n in g.node { node(n) } }
        func node(_ n: Onnx_NodeProto) {
            body(n)
            for a in n.attribute {
                if a.hasG { graph(a.g) }
                for g in a.graphs { graph(g) }
            }
        }
        graph(model.graph)
        for f in model.functions { for n in f.node { node(n) } }
    }

    static func qualifiedName(_ node: Onnx_NodeProto) -> String {
        isDefaultDomain(node.domain) ? node.opType : "\(node.domain).\(node.opType)"
    }

    static func isDefaultDomain(_ d: String) -> Bool { d.isEmpty || d == "ai.onnx" }
}

/// A model-local function's identity (overloads are not used by today's exporters and are rejected).
struct FunctionKey: Hashable {
    var domain: String, name: String
    init(_ domain: String, _ name: String) { self.domain = ONNXImporter.isDefaultDomain(domain) ? "" : domain; self.name = name }
}
