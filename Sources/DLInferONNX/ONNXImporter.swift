import DLInferCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SwiftProtobuf

/// Reads an ONNX ModelProto into a `Graph`: weights become constants, Constant nodes are folded in, every node is
/// turned into a typed `Op` (or the load fails naming the op, the node and the attribute), and types are inferred.
public enum ONNXImporter {
    public static let supportedOpsets = 7...21

    public static func load(path: String) throws -> Graph {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DLInferError(.notFound, "model file '\(path)' does not exist")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DLInferError(.io, "model file '\(path)' cannot be read")
        }
        let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return try load(data: data, baseDirectory: dir.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : dir)
    }

    public static func load(data: Data, baseDirectory: String?) throws -> Graph {
        guard !data.isEmpty else { throw DLInferError.model("the model is empty (0 bytes)") }
        let model: Onnx_ModelProto
        do {
            var opts = BinaryDecodingOptions()
            opts.messageDepthLimit = 64
            model = try Onnx_ModelProto(serializedBytes: data, options: opts)
        } catch {
            throw DLInferError.model("not a valid ONNX model (protobuf decoding failed: \(error))")
        }
        guard model.hasGraph, !model.graph.node.isEmpty || !model.graph.output.isEmpty else {
            throw DLInferError.model("not a valid ONNX model (no graph)")
        }
        var opset: Int? = nil
        for imp in model.opsetImport where imp.domain == "" || imp.domain == "ai.onnx" { opset = Int(imp.version) }
        guard let opset else { throw DLInferError.model("the model imports no version of the default ONNX operator set") }
        guard opset >= 1, opset <= supportedOpsets.upperBound else {
            throw DLInferError.unsupported("the model uses ONNX opset \(opset); dlinfer supports opsets \(supportedOpsets.lowerBound) to \(supportedOpsets.upperBound), and older models whose ops are unchanged since")
        }
        var builder = GraphBuilder(opset: opset, baseDirectory: baseDirectory)
        return try builder.build(model.graph)
    }
}

private struct GraphBuilder {
    let opset: Int
    let baseDirectory: String?
    let graph = Graph()
    var byName: [String: ValueID] = [:]

    init(opset: Int, baseDirectory: String?) { self.opset = opset; self.baseDirectory = baseDirectory }

    mutating func build(_ g: Onnx_GraphProto) throws -> Graph {
        guard g.sparseInitializer.isEmpty else { throw DLInferError.unsupported("sparse initializers are not supported") }
        for ini in g.initializer {
            guard !ini.name.isEmpty else { throw DLInferError.model("an initializer has no name") }
            guard byName[ini.name] == nil else { throw DLInferError.model("initializer '\(ini.name)' is given twice") }
            byName[ini.name] = graph.addConstant(ini.name, try TensorDecoding.decode(ini, baseDirectory: baseDirectory))
        }
        guard Set(g.input.map(\.name)).count == g.input.count else {
            throw DLInferError.model("a graph input is listed twice: \(duplicates(g.input.map(\.name)))")
        }
        guard Set(g.output.map(\.name)).count == g.output.count else {
            throw DLInferError.model("a graph output is listed twice: \(duplicates(g.output.map(\.name)))")
        }
        // Graph inputs that are also initializers are weights, not inputs.
        for inp in g.input where byName[inp.name] == nil {
            guard !inp.name.isEmpty else { throw DLInferError.model("a graph input has no name") }
            let id = graph.addValue(inp.name, try valueType(inp, role: "input"))
            byName[inp.name] = id
            graph.inputs.append(id)
        }
        var declared = [String: ValueType]()
        for vi in g.valueInfo { if let t = try? valueType(vi, role: "value") { declared[vi.name] = t } }
        for o in g.output { declared[o.name] = try valueType(o, role: "output") }

        for node in g.node { try add(node, declared) }

        for o in g.output {
            guard let id = byName[o.name] else { throw DLInferError.model("graph output '\(o.name)' is not produced by any node") }
            graph.outputs.append(id)
        }
        try graph.inferTypes()
        for (o, id) in zip(g.output, graph.outputs) {
            if let d = declared[o.name], d.dtype != graph.values[id].type.dtype {
                throw DLInferError.model("graph output '\(o.name)' is declared \(d.dtype) but its producer computes \(graph.values[id].type.dtype)")
            }
        }
        return graph
    }

    private mutating func add(_ node: Onnx_NodeProto, _ declared: [String: ValueType]) throws {
        let label = "\(node.opType) node '\(node.name.isEmpty ? (node.output.first ?? "?") : node.name)'"
        guard node.domain.isEmpty || node.domain == "ai.onnx" else {
            throw DLInferError.unsupported("\(label): operator domain '\(node.domain)' is not supported")
        }
        do {
            if node.opType == "Constant" { try addConstantNode(node); return }
            guard let importer = ONNXOps.importers[node.opType] else {
                throw DLInferError.unsupported("operator '\(node.opType)' is not supported")
            }
            let inputs: [ValueID?] = try node.input.map { name in
                if name.isEmpty { return nil }
                guard let id = byName[name] else { throw DLInferError.model("input '\(name)' is used before it is defined") }
                return id
            }
            let ctx = NodeContext(node: node, opset: try effectiveOpset(node.opType), graph: graph, inputs: inputs)
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
            graph.nodes.append(Node(name: node.name, op: op, inputs: ctx.inputs, outputs: outputs))
        } catch let e as DLInferError {
            throw DLInferError(e.kind, "\(label): \(e.message)")
        }
    }

    /// Models older than opset 7 are accepted op by op: an op whose definition at the model's opset is the one it has
    /// at opset 7 is imported as at opset 7; any other is rejected, naming the version.
    private func effectiveOpset(_ op: String) throws -> Int {
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

    private mutating func addConstantNode(_ node: Onnx_NodeProto) throws {
        guard node.output.count == 1, node.attribute.count == 1 else {
            throw DLInferError.model("Constant needs exactly one output and one value attribute")
        }
        let a = node.attribute[0]
        let t: Tensor
        switch a.name {
        case "value": t = try TensorDecoding.decode(a.t, baseDirectory: baseDirectory)
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

    private func valueType(_ vi: Onnx_ValueInfoProto, role: String) throws -> ValueType {
        guard vi.hasType, case .tensorType(let tt)? = vi.type.value else {
            throw DLInferError.unsupported("\(role) '\(vi.name)' is not a tensor (sequences, maps and optionals are not supported)")
        }
        guard let dtype = DType(rawValue: tt.elemType), dtype != .string else {
            throw DLInferError.unsupported("\(role) '\(vi.name)' has element type \(onnxTypeName(Int(tt.elemType))), which dlinfer does not support")
        }
        guard tt.hasShape else { return ValueType(dtype, nil) }
        return ValueType(dtype, tt.shape.dim.map { d in
            switch d.value {
            case .dimValue(let v)?: return v >= 0 ? .fixed(Int(v)) : .unknown
            case .dimParam(let s)?: return .symbol(s)
            case nil: return .unknown
            }
        })
    }
}
