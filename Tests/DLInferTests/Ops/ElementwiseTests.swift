import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// The elementwise family (Sources/DLInferCore/Ops/Elementwise.swift): the activations and Exp/Sqrt, Clip, the binary
/// arithmetic with broadcasting, Sum/Max/Min/Mean, Dropout; each against a reference computed here in double
/// precision the way numpy would.
final class ElementwiseTests: XCTestCase {
    /// NaN stays NaN through the activations (Relu used to map it to 0, HardSigmoid to 1), standalone and fused into
    /// a MatMul epilogue; Relu also takes signed integers (opset 14).
    func testActivationsKeepNaNAndIntegerRelu() throws {
        let xs: [Float] = [.nan, -2, -0.5, 0, 0.5, 3, -.infinity, .infinity]
        let x = Tensor(xs, shape: [8])
        let acts: [(String, [Onnx_AttributeProto], (Float) -> Float)] = [
            ("Relu", [], { max(0, $0) }), ("LeakyRelu", [attr("alpha", Float(0.1))], { $0 >= 0 ? $0 : 0.1 * $0 }),
            ("HardSigmoid", [], { max(0, min(1, 0.2 * $0 + 0.5)) }), ("Elu", [], { $0 >= 0 ? $0 : exp($0) - 1 }),
            ("Sigmoid", [], { 1 / (1 + exp(-$0)) }), ("Tanh", [], { tanh($0) }),
        ]
        for (op, attrs, f) in acts {
            let y = try elementwiseNode(op, opset: 14, [x], attrs, out: .float32)
            XCTAssertTrue(y.floats[0].isNaN, "\(op)(NaN) is \(y.floats[0])")
            for i in 1..<8 { assertClose(Double(y.floats[i]), Double(f(xs[i])), rtol: 1e-6, atol: 1e-7, "\(op)(\(xs[i]))") }

            // Fused: MatMul [2, 3] x [3, 2] with a NaN in row 0 of A, then the activation.
            var b = ModelBuilder(opset: 14)
            b.input("a", .float32, [.fixed(2), .fixed(3)])
            b.constant("w", Tensor([Float](repeating: 0.5, count: 6), shape: [3, 2]))
            b.node("MatMul", ["a", "w"], ["m"])
            b.node(op, ["m"], ["y"], attrs)
            b.output("y", .float32)
            let fused = try b.run([Tensor([Float.nan, 1, 2, 1, -2, -4], shape: [2, 3])])[0]
            XCTAssertTrue(fused.floats[0].isNaN && fused.floats[1].isNaN, "fused \(op): \(fused.array(Float.self))")
            assertClose(Double(fused.floats[2]), Double(f(-2.5)), rtol: 1e-6, atol: 1e-7, "fused \(op)")
        }
        let i8: [Int8] = [.min, -1, 0, 1, .max]
        XCTAssertEqual(try elementwiseNode("Relu", opset: 14, [Tensor(i8, shape: [5])], out: .int8).array(Int8.self), [0, 0, 0, 1, .max])
        let i64 = Tensor((0..<30_000).map { Int64($0) - 15_000 }, shape: [30_000])
        XCTAssertEqual(try elementwiseNode("Relu", opset: 14, [i64], out: .int64).array(Int64.self), i64.array(Int64.self).map { max(0, $0) })
    }

    func testMeanBroadcastsAndDivides() throws {
        let a = Tensor((0..<24).map { Double($0) }, shape: [2, 3, 4]), b = Tensor([1.0, 2, 3, 4], shape: [4]), c = Tensor([10.0, 20, 30], shape: [3, 1])
        let y = try elementwiseNode("Mean", opset: 13, [a, b, c], out: .float64)
        XCTAssertEqual(y.shape, [2, 3, 4])
        let want = (0..<24).map { (i: Int) -> Double in
            let sum = Double(i) + Double(i % 4 + 1)
            return (sum + Double((i / 4) % 3 + 1) * 10) / 3
        }
        XCTAssertEqual(y.array(Double.self), want)
        let one = try elementwiseNode("Mean", opset: 8, [Tensor([Float(1), .nan], shape: [2])], out: .float32).array(Float.self)
        XCTAssertEqual(one[0], 1)
        XCTAssertTrue(one[1].isNaN)
        XCTAssertThrowsError(try elementwiseNode("Mean", opset: 13, [Tensor([Int32(1)], shape: [1])], out: .int32))
    }

    func testDropoutWithRunTimeTrainingModeAndConstantZeroRatio() throws {
        for ratio in [Float(0), 0.5] {
            var m = ModelBuilder(opset: 13)
            m.input("x", .float32, [.fixed(2), .fixed(3)]); m.input("t", .bool, [])
            m.constant("r", Tensor.scalar(ratio))
            m.node("Dropout", ["x", "r", "t"], ["y", "mask"])
            m.output("y", .float32); m.output("mask", .bool)
            if ratio != 0 { XCTAssertThrowsError(try m.load(), "random dropout"); continue }
            let x = TestData.random([2, 3], seed: 24)
            for training in [true, false] {
                let out = try m.run([x, Tensor.scalar(training)])
                XCTAssertEqual(out[0].array(Float.self), x.array(Float.self))
                XCTAssertEqual(out[1].array(Bool.self), [Bool](repeating: true, count: 6))
            }
        }
    }
}
