import DLInferCore
import DLInferCPU
import DLInferONNX

/// A loaded, optimized model: immutable once built, shareable by any number of sessions and threads.
public final class Model: @unchecked Sendable {
    public let graph: Graph

    public init(graph: Graph) throws {
        let cpu = CPUBackend()
        try PassManager.optimize(graph, PassContext(evaluate: { node, g in try cpu.evaluate(node, in: g) }))
        self.graph = graph
        inputs = graph.inputs.map { graph.values[$0] }
        outputs = graph.outputs.map { graph.values[$0] }
    }

    /// Loads an ONNX file; external weight files are read relative to its folder.
    public static func load(path: String) throws -> Model { try Model(graph: ONNXImporter.load(path: path)) }

    /// Loads an ONNX model from memory (external data is not allowed).
    public static func load(bytes: [UInt8]) throws -> Model { try Model(graph: ONNXImporter.load(bytes: bytes, external: nil)) }

    /// Loads an ONNX model from caller memory (copied before parsing).
    public static func load(bytes: UnsafeRawBufferPointer) throws -> Model {
        try Model(graph: ONNXImporter.load(bytes: bytes, external: nil))
    }

    /// The graph's inputs and outputs, in order (kept: every input given to a session is checked against them).
    public let inputs: [ValueInfo]
    public let outputs: [ValueInfo]

    public func inputIndex(_ name: String) -> Int? { inputs.firstIndex { $0.name == name } }
    public func outputIndex(_ name: String) -> Int? { outputs.firstIndex { $0.name == name } }

    /// Checks a tensor meant for input `index` against the declared type, so a wrong dtype, rank or fixed dimension
    /// is reported when the input is given rather than mid-run.
    public func checkInput(_ index: Int, dtype: DType, shape: [Int]) throws {
        guard inputs.indices.contains(index) else {
            throw DLInferError.invalid("input index \(index) is out of range: the model has \(inputs.count) inputs")
        }
        let v = inputs[index]
        guard dtype == v.type.dtype else {
            throw DLInferError.invalid("input '\(v.name)' expects \(v.type.dtype), got \(dtype)")
        }
        guard let declared = v.type.shape else { return }
        guard declared.count == shape.count else {
            throw DLInferError.shape("input '\(v.name)' expects rank \(declared.count) \(v.type), got shape \(shape)")
        }
        for (d, n) in zip(declared, shape) where d.value != nil && d.value != n {
            throw DLInferError.shape("input '\(v.name)' expects \(v.type), got shape \(shape)")
        }
    }

    /// Node count per op name, for `dlinfer info`.
    public var opCounts: [(String, Int)] {
        var c = [String: Int]()
        for n in graph.nodes { c[n.op.name, default: 0] += 1 }
        return c.sorted { $0.key < $1.key }
    }
}
