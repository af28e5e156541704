import ArgumentParser
import DLInferCore
import DLInferEngine

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a model's inputs, outputs, op counts, and the backend each node is placed on.")

    @Argument(help: "The ONNX model file.")
    var model: String

    @OptionGroup var deviceOptions: DeviceOptions

    func run() throws {
        let m = try Model.load(path: model)
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
