import ArgumentParser
import DLInferCore
import DLInferEngine
import DLInferONNX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a model's inputs, outputs, opset, producer, parameters, op counts, and where each node runs.",
        discussion: "With --summary, the placement is given per backend and reason instead of per node. On an OpenCL device, one run on zero-filled inputs (unknown dims taken as 1) counts the tensors moved between host and device per run, lists each, and counts the size reads of data-dependent outputs (NonZero, NonMaxSuppression).")

    @Argument(help: "The ONNX model file.")
    var model: String

    @Flag(help: "Group the placement by backend and reason instead of listing every node.")
    var summary = false

    @OptionGroup var deviceOptions: DeviceOptions

    func run() throws {
        let m: Model
        let file = try? ONNXImporter.summary(path: model)
        do { m = try Model.load(path: model) } catch let e as DLInferError where e.kind == .unsupported {
            // Say what the model holds and everything it lacks, then fail as before.
            if let file, !file.unsupported.isEmpty { printSummary(file) }
            throw e
        }
        let session = try InferenceSession(model: m, options: deviceOptions.sessionOptions)
        print("model: \(model)")
        if let file {
            print("opset: \(file.opset.map(String.init) ?? "none")\(file.producer.isEmpty ? "" : ", producer: \(file.producer)")"
                  + "\(file.graphName.isEmpty ? "" : ", graph: \(file.graphName)")")
            print("parameters: \(file.parameters) in \(file.parameterTensors) initializers")
        }
        print("inputs:")
        for v in m.inputs { print("  \(v.name): \(describe(v.type))") }
        print("outputs:")
        for v in m.outputs { print("  \(v.name): \(describe(v.type))") }
        print("ops (\(m.graph.nodes.count) nodes after optimisation):")
        for (op, n) in m.opCounts { print("  \(op): \(n)") }
        print("device: \(session.deviceName)\(session.deviceNote.map { " (\($0))" } ?? "")")
        print("placement (\(session.cpuNodeCount) of \(m.graph.nodes.count) nodes on the CPU):")
        if summary {
            // Per backend and reason, in order of first appearance, with the op types involved.
            var groups = [(key: String, ops: [String], count: Int)]()
            for (node, p) in zip(m.graph.nodes, session.placements) {
                let key = "\(p.backend)\(p.reason.map { " (\($0))" } ?? "")"
                if let i = groups.firstIndex(where: { $0.key == key }) {
                    groups[i].count += 1
                    if !groups[i].ops.contains(node.op.name) { groups[i].ops.append(node.op.name) }
                } else {
                    groups.append((key, [node.op.name], 1))
                }
            }
            for g in groups { print("  \(g.count) x \(g.key): \(g.ops.joined(separator: ", "))") }
        } else {
            for (node, p) in zip(m.graph.nodes, session.placements) {
                print("  \(node.label(in: m.graph)) -> \(p.backend)\(p.reason.map { " (\($0))" } ?? "")")
            }
        }
        if session.deviceInfo.kind != .cpu { printTransfers(session, m) }
    }

    /// Transfers depend on the run (data-dependent shapes, which nodes a plan folds), so they are counted on one.
    private func printTransfers(_ session: InferenceSession, _ m: Model) {
        do {
            let inputs = try m.inputs.map { v in
                try Tensor(dtype: v.type.dtype, shape: (v.type.shape ?? []).map { $0.value ?? 1 })
            }
            _ = try session.run(inputs)
            let t = session.lastRunTransfers
            print("transfer steps per run (zero-filled inputs): \(t.uploads) uploads (\(t.uploadBytes) bytes), \(t.downloads) downloads (\(t.downloadBytes) bytes)\(t.sizeReads > 0 ? ", \(t.sizeReads) size reads (data-dependent output sizes)" : ""); the model has \(m.inputs.count) inputs, \(m.outputs.count) outputs")
            for move in t.moves {
                print("  \(move.toDevice ? "upload" : "download") '\(move.value)' \(move.shape): \(move.bytes) bytes, \(move.reader.map { "for \($0)" } ?? "an output")")
            }
        } catch {
            print("transfers per run: not counted, a run on zero-filled inputs failed: \(error)")
        }
    }
}

/// The op inventory of a model that does not load: every op type with its count, unsupported ones marked.
private func printSummary(_ s: ONNXModelSummary) {
    print("opset: \(s.opset.map(String.init) ?? "none")\(s.producer.isEmpty ? "" : ", producer: \(s.producer)")")
    let missing = Set(s.unsupported.map(\.op))
    print("ops (\(s.opCounts.reduce(0) { $0 + $1.count }) nodes, \(missing.count) op types not supported):")
    for (op, n) in s.opCounts { print("  \(op): \(n)\(missing.contains(op) ? "  <- not supported" : "")") }
}
