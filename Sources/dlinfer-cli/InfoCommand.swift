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
        abstract: "Show a model's inputs, outputs, op counts, and the backend each node is placed on.")

    @Argument(help: "The ONNX model file.")
    var model: String

    @OptionGroup var deviceOptions: DeviceOptions

    func run() throws {
        let m: Model
        do { m = try Model.load(path: model) } catch let e as DLInferError where e.kind == .unsupported {
            // Say what the model holds and everything it lacks, then fail as before.
            if let data = FileManager.default.contents(atPath: model), let s = try? ONNXImporter.summary(data: data),
               !s.unsupported.isEmpty {
                printSummary(s)
            }
            throw e
        }
        let session = try InferenceSession(model: m, options: deviceOptions.sessionOptions)
        print("model: \(model)")
        print("inputs:")
        for v in m.inputs { print("  \(v.name): \(describe(v.type))") }
        print("outputs:")
        for v in m.outputs { print("  \(v.name): \(describe(v.type))") }
        print("ops (\(m.graph.nodes.count) nodes after optimisation):")
        for (op, n) in m.opCounts { print("  \(op): \(n)") }
        print("device: \(session.deviceName)\(session.deviceNote.map { " (\($0))" } ?? "")")
        print("placement (\(session.cpuNodeCount) of \(m.graph.nodes.count) nodes on the CPU):")
        for (node, p) in zip(m.graph.nodes, session.placements) {
            print("  \(node.label(in: m.graph)) -> \(p.backend)\(p.reason.map { " (\($0))" } ?? "")")
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
