import ArgumentParser
import DLInferEngine
import DLInferONNX

struct OpsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "List the ONNX operators dlinfer runs, the opsets it accepts them at, and which have OpenCL kernels.",
        discussion: """
            Every operator runs on the CPU; on an OpenCL device, nodes of operators without an OpenCL kernel (and \
            nodes a kernel cannot take, as `dlinfer info --device D` explains) run on the CPU. Models older than \
            opset \(ONNXImporter.supportedOpsets.lowerBound) load where each op's definition is unchanged since.
            """)

    func run() throws {
        let ops = SupportedOps.list
        print(pad("operator", 28) + "opsets   opencl")
        for e in ops {
            print(pad(e.name, 28) + pad("\(e.opsets.lowerBound)-\(e.opsets.upperBound)", 9) + (e.openCL ? "kernel" : "cpu"))
        }
        print("\(ops.count) operators, \(ops.filter(\.openCL).count) with OpenCL kernels")
    }
}

private func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
