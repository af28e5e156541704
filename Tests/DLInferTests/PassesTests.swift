import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// FoldBatchNormIntoConv, FuseResidualAdd and FuseActivations on the fixtures written by tools/make_pass_fixtures.py
/// and tools/make_residual_fixtures.py (with onnxruntime's output), plus the cases where they must not fire.
final class PassesTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/passes")

    func testFixtureFoldsAndFusesAndMatchesOnnxRuntime() throws {
        let model = try Model.load(path: Self.fixtures.appendingPathComponent("model.onnx").path)
        let counts = Dictionary(uniqueKeysWithValues: model.opCounts)
        XCTAssertEqual(counts["Conv"], 4)
        XCTAssertNil(counts["BatchNormalization"], "every BN should be folded")
        XCTAssertNil(counts["Relu"], "every Relu should be fused")
        XCTAssertNil(counts["Clip"], "Clip with constant bounds should be fused")
        XCTAssertNil(counts["Sigmoid"], "Sigmoid after MatMul should be fused")
        XCTAssertEqual(counts["LeakyRelu"], 1, "a LeakyRelu whose input has two readers must stay")
        let acts = model.graph.nodes.compactMap { n -> Activation?? in
            switch n.op {
            case .conv(let c): return .some(c.activation)
            case .gemm(let g): return .some(g.activation)
            case .matMul(let m): return .some(m.activation)
            default: return nil
            }
        }
        XCTAssertEqual(acts, [.relu, .clip(min: 0, max: 6), nil, .relu, .relu, nil, .sigmoid])
        XCTAssertEqual(model.graph.nodes.count, 12)

        func tensor(_ file: String) throws -> Tensor {
            try ONNXTensorFile.read([UInt8](Data(contentsOf: Self.fixtures.appendingPathComponent(file)))).tensor
        }
        let got = try InferenceSession(model: model).run([try tensor("input_0.pb")])
        XCTAssertEqual(got.count, 2)
        for (k, out) in got.enumerated() {
            XCTAssertNil(compare(out, try tensor("output_\(k).pb"), rtol: 1e-4, atol: 1e-5), "output \(k)")
        }
    }

    /// FuseResidualAdd on the fixture written by tools/make_residual_fixtures.py: the skip connections' Adds (and
    /// the Relus after them) go into the Convs that may take them, the others stay, and the output matches
    /// onnxruntime's on the unfused graph.
    func testResidualAddsFuseWhereTheyMayAndMatchOnnxRuntime() throws {
        let dir = Self.fixtures.deletingLastPathComponent().appendingPathComponent("residual")
        let model = try Model.load(path: dir.appendingPathComponent("model.onnx").path)
        let counts = Dictionary(uniqueKeysWithValues: model.opCounts)
        XCTAssertEqual(counts["Conv"], 13)
        XCTAssertEqual(counts["Add"], 3, "the Adds after a Relu, that broadcast, or whose Conv output has two readers stay")
        XCTAssertNil(counts["Relu"])
        XCTAssertNil(counts["BatchNormalization"])
        let fused = model.graph.nodes.compactMap { n -> String? in
            guard case .conv(let a) = n.op, a.residual else { return nil }
            return "\(n.name) \(a.activation.map { "\($0)" } ?? "-")"
        }
        XCTAssertEqual(fused, ["conv2 relu", "conv5 relu", "project -", "conv9 -"])
        func tensor(_ file: String) throws -> Tensor {
            try ONNXTensorFile.read([UInt8](Data(contentsOf: dir.appendingPathComponent(file)))).tensor
        }
        let got = try InferenceSession(model: model).run([try tensor("input_0.pb")])
        XCTAssertNil(compare(got[0], try tensor("output_0.pb"), rtol: 1e-4, atol: 1e-3))
    }

    func testNoFusionIntoAGraphOutput() throws {
        // Conv -> Relu where the Conv's output is itself a graph output: both values must stay observable.
        let g = Graph()
        let x = g.addValue("x", ValueType(.float32, fixed: [1, 2, 4, 4]))
        g.inputs = [x]
        let w = g.addConstant("w", Tensor([Float](repeating: 0.5, count: 8), shape: [4, 2, 1, 1]))
        let c = g.addValue("c", ValueType(.float32, nil)), r = g.addValue("r", ValueType(.float32, nil))
        g.nodes = [Node(name: "conv", op: .conv(Conv()), inputs: [x, w], outputs: [c]),
                   Node(name: "relu", op: .unary(Unary(.activation(.relu))), inputs: [c], outputs: [r])]
        g.outputs = [c, r]
        try g.inferTypes()
        let model = try Model(graph: g)
        XCTAssertEqual(model.graph.nodes.count, 2)
        if case .conv(let a) = model.graph.nodes[0].op { XCTAssertNil(a.activation) } else { XCTFail("conv moved") }
    }

    func testChainedIdentitiesAreAllRemoved() throws {
        // x -> Identity -> Identity -> Relu: the second Identity's input is rewired when the first goes, and its
        // reader must then get x, not the removed first output (which nothing computes any more).
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.fixed(3)])
        b.node("Identity", ["x"], ["a"])
        b.node("Identity", ["a"], ["b"])
        b.node("Relu", ["b"], ["y"])
        b.output("y", .float32)
        let model = try b.load()
        XCTAssertEqual(model.graph.nodes.map(\.op.name), ["Relu"])
        XCTAssertEqual(try InferenceSession(model: model).run([Tensor([Float(-1), 0, 2], shape: [3])])[0].array(Float.self), [0, 0, 2])
    }

    func testNoFoldWhenWeightsAreNotConstant() throws {
        let g = Graph()
        let x = g.addValue("x", ValueType(.float32, fixed: [1, 2, 3, 3]))
        let w = g.addValue("w", ValueType(.float32, fixed: [2, 2, 1, 1]))
        g.inputs = [x, w]
        let p = (0..<4).map { g.addConstant("p\($0)", Tensor([Float(1), 2], shape: [2])) }
        let c = g.addValue("c", ValueType(.float32, nil)), y = g.addValue("y", ValueType(.float32, nil))
        g.nodes = [Node(name: "conv", op: .conv(Conv()), inputs: [x, w], outputs: [c]),
                   Node(name: "bn", op: .batchNorm(BatchNorm()), inputs: [c] + p, outputs: [y])]
        g.outputs = [y]
        try g.inferTypes()
        let model = try Model(graph: g)
        XCTAssertEqual(model.graph.nodes.count, 2)
    }

    /// DenseNet's pre-activation pairs: a BatchNormalization no Conv feeds takes the Relu (or the constant Clip)
    /// after it, on a plane wide enough for the vector loops, with NaN kept; a BN whose output has another reader
    /// keeps its activation node.
    func testBatchNormTakesTheActivationAfterIt() throws {
        let shape = [2, 3, 5, 37], channels = 3
        var b = ModelBuilder(opset: 15)
        b.input("x", .float32, shape.map { .fixed($0) })
        let params: [[Float]] = [[0.5, -1.5, 2], [0.1, -0.2, 0.3], [0.4, 0, -1], [0.25, 2, 0.5]]
        for (k, name) in ["s", "b", "m", "v"].enumerated() { b.constant(name, Tensor(params[k], shape: [channels])) }
        b.node("BatchNormalization", ["x", "s", "b", "m", "v"], ["n1"], [attr("epsilon", Float(1e-3))])
        b.node("Relu", ["n1"], ["y"])
        b.node("BatchNormalization", ["x", "s", "b", "m", "v"], ["n2"], [attr("epsilon", Float(1e-3))])
        b.node("Clip", ["n2", "lo", "hi"], ["z"])
        b.constant("lo", Tensor([Float(-0.5)], shape: []))
        b.constant("hi", Tensor([Float(1)], shape: []))
        b.node("BatchNormalization", ["x", "s", "b", "m", "v"], ["n3"], [attr("epsilon", Float(1e-3))])
        b.node("Sigmoid", ["n3"], ["u"])
        b.node("Add", ["u", "n3"], ["w"])
        for name in ["y", "z", "w"] { b.output(name, .float32) }
        let model = try b.load()
        let acts = model.graph.nodes.compactMap { n -> Activation?? in
            if case .batchNorm(let a) = n.op { return .some(a.activation) }
            return nil
        }
        XCTAssertEqual(acts, [.relu, .clip(min: -0.5, max: 1), nil])
        XCTAssertEqual(model.graph.nodes.map(\.op.name), ["BatchNormalization", "BatchNormalization", "BatchNormalization", "Sigmoid", "Add"])

        var x = TestData.tensor(shape, seed: 31).array(Float.self).map { $0 * 3 }
        x[7] = .nan
        let got = try InferenceSession(model: model).run([Tensor(x, shape: shape)])
        let plane = shape[2] * shape[3]
        let n = x.indices.map { i -> Double in
            let c = (i / plane) % channels
            let a = Double(params[0][c]) / (Double(params[3][c]) + 1e-3).squareRoot()
            return (Double(x[i]) - Double(params[2][c])) * a + Double(params[1][c])
        }
        let relu = n.map { $0.isNaN ? $0 : Swift.max($0, 0) }
        let clip = n.map { $0.isNaN ? $0 : Swift.min(Swift.max($0, -0.5), 1) }
        let added = n.map { 1 / (1 + Foundation.exp(-$0)) + $0 }
        for (k, want) in [relu, clip, added].enumerated() {
            assertClose(got[k], want, shape: shape, rtol: 1e-5, atol: 1e-5, "output \(k)")
        }
    }
}
