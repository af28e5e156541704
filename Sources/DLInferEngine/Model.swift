import DLInferCore
import DLInferCPU
import DLInferONNX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A loaded, optimized model: immutable once built, shareable by any number of sessions and threads.
public final class Model: @unchecked Sendable {
    public let graph: Graph

    public init(graph: Graph) throws {
        let cpu = CPUBackend()
        try PassManager.optimize(graph, PassContext(evaluate: { node, g in try cpu.evaluate(node, in: g) }))
        self.graph = graph
    }

    /// Loads an ONNX file; external weight files are read relative to its folder.
    public static func load(path: String) throws -> Model { try Model(graph: ONNXImporter.load(path: path)) }

    /// Loads an ONNX model from memory (the bytes are copied; external data is not allowed).
    public static func load(data: Data) throws -> Model { try Model(graph: ONNXImporter.load(data: data, baseDirectory: nil)) }

    public var inputs: [ValueInfo] { graph.inputs.map { graph.values[$0] } }
    public var outputs: [ValueInfo] { graph.outputs.map { graph.values[$0] } }

    public func inputIndex(_ name: String) -> Int? { inputs.firstIndex { $0.name == name } }
    public func outputIndex(_ name: String) -> Int? { outputs.firstIndex { $0.name == name } }

    /// Node count per op name, for `dlinfer info`.
    public var opCounts: [(String, Int)] {
        var c = [String: Int]()
        for n in graph.nodes { c[n.op.name, default: 0] += 1 }
        return c.sorted { $0.key < $1.key }
    }
}
