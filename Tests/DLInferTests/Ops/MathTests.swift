import DLInferCore
import DLInferONNX
import Foundation
import XCTest

/// Unary math against naive double-precision references (float32 and float64, sizes beyond one parallel chunk, NaN,
/// infinities, signed zeros), the integer and bool kernels, IsNaN/IsInf, and rejections.
final class MathTests: XCTestCase {
    private typealias F = (Double) -> Double

    private static let sqrt2 = 2.0.squareRoot()
    private static func softplus(_ x: Double) -> Double { x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)) }
    private static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    /// (ONNX op, attributes, reference, magnitude of the inputs)
    private let cases: [(String, [Onnx_AttributeProto], F, Double)] = [
        ("Abs", [], { abs($0) }, 10), ("Neg", [], { -$0 }, 10),
        ("Sign", [], { $0.isNaN ? .nan : ($0 > 0 ? 1 : ($0 < 0 ? -1 : 0)) }, 10),
        ("Log", [], { log($0) }, 10), ("Reciprocal", [], { 1 / $0 }, 10),
        ("Floor", [], { $0.rounded(.down) }, 10), ("Ceil", [], { $0.rounded(.up) }, 10),
        ("Round", [], { $0.rounded(.toNearestOrEven) }, 10), ("Erf", [], { erf($0) }, 3),
        ("Sin", [], { sin($0) }, 10), ("Cos", [], { cos($0) }, 10), ("Tan", [], { tan($0) }, 1.5),
        ("Asin", [], { asin($0) }, 1.2), ("Acos", [], { acos($0) }, 1.2), ("Atan", [], { atan($0) }, 10),
        ("Sinh", [], { sinh($0) }, 5), ("Cosh", [], { cosh($0) }, 5), ("Asinh", [], { asinh($0) }, 10),
        ("Acosh", [], { acosh($0) }, 10), ("Atanh", [], { atanh($0) }, 1.2),
        ("Softplus", [], { MathTests.softplus($0) }, 100), ("Softsign", [], { $0 / (1 + abs($0)) }, 10),
        ("Mish", [], { $0 * tanh(MathTests.softplus($0)) }, 30),
        ("HardSwish", [], { $0 * max(0, min(1, $0 / 6 + 0.5)) }, 5),
        ("Gelu", [], { 0.5 * $0 * (1 + erf($0 / MathTests.sqrt2)) }, 5),
        ("Gelu", [attr("approximate", "tanh")], { 0.5 * $0 * (1 + tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }, 5),
        ("Selu", [attr("alpha", Float(2)), attr("gamma", Float(3))], { $0 > 0 ? 3 * $0 : 3 * (2 * exp($0) - 2) }, 5),
        // The spec's max/min form, with NaN propagated as numpy's maximum/minimum do (Swift's max/min drop it).
        ("Celu", [attr("alpha", Float(0.5))], { $0.isNaN ? .nan : max(0, $0) + min(0, 0.5 * (exp($0 / 0.5) - 1)) }, 5),
        // Attributes are float32: 0.7 and 0.3 as the kernel sees them.
        ("Swish", [attr("alpha", Float(0.7))], { $0 * MathTests.sigmoid(Double(Float(0.7)) * $0) }, 30),
        ("ThresholdedRelu", [attr("alpha", Float(0.3))], { $0 > Double(Float(0.3)) ? $0 : 0 }, 2),
        ("Shrink", [attr("bias", Float(0.25)), attr("lambd", Float(0.75))], { $0 < -0.75 ? $0 + 0.25 : ($0 > 0.75 ? $0 - 0.25 : 0) }, 2),
    ]

    private func opset(_ op: String) -> Int { op == "Swish" ? 24 : 22 }

    func testFloatFunctionsAgainstNaiveReferences() throws {
        let n = 40_003
        for (op, attrs, f, scale) in cases {
            let xs = TestData.doubles(n, scale: scale)
            let y32 = try elementwiseNode(op, opset: opset(op), [Tensor(xs.map { Float($0) }, shape: [n])], attrs, out: .float32)
            let y64 = try elementwiseNode(op, opset: opset(op), [Tensor(xs, shape: [n])], attrs, out: .float64)
            for i in 0..<n {
                let x32 = Double(Float(xs[i]))
                assertClose(Double(y32.floats[i]), Double(Float(f(x32))), rtol: 2e-6, atol: 1e-6, "\(op) float32 at x = \(x32)")
                assertClose(y64.buffer(Double.self)[i], f(xs[i]), rtol: 1e-13, atol: 1e-14, "\(op) float64 at x = \(xs[i])")
            }
        }
    }

    func testHalfPrecisionGoesThroughFloat32() throws {
        let xs: [Float] = [-2.5, -0.5, 0.5, 1.5, 2.5, .nan]
        let y = try elementwiseNode("Round", opset: 22, [Tensor(xs.map { Half($0) }, shape: [6])], out: .float16)
        XCTAssertEqual(Array(y.buffer(Half.self).prefix(5)).map(\.float), [-2, -0, 0, 2, 2])
        XCTAssertTrue(y.buffer(Half.self)[5].float.isNaN)
    }

    func testEmptyAndSymbolicShapes() throws {
        let empty = try elementwiseNode("Sin", opset: 22, [Tensor(dtype: .float32, shape: [0, 3])], out: .float32)
        XCTAssertEqual(empty.shape, [0, 3])
        let x = Tensor((0..<12).map { Float($0) - 6 }, shape: [4, 3])
        let y = try elementwiseNode("Abs", opset: 13, [x], out: .float32, symbolic: true)
        XCTAssertEqual(y.array(Float.self), x.array(Float.self).map(abs))
    }

    func testIntegerAbsNegSignBitwiseNotShrink() throws {
        let i8: [Int8] = [.min, -100, -1, 0, 1, 77, .max]
        let x8 = Tensor(i8, shape: [7])
        XCTAssertEqual(try elementwiseNode("Abs", opset: 13, [x8], out: .int8).array(Int8.self), i8.map { $0 == .min ? .min : abs($0) })
        XCTAssertEqual(try elementwiseNode("Neg", opset: 13, [x8], out: .int8).array(Int8.self), i8.map { 0 &- $0 })
        XCTAssertEqual(try elementwiseNode("Sign", opset: 13, [x8], out: .int8).array(Int8.self), i8.map { $0.signum() })
        XCTAssertEqual(try elementwiseNode("BitwiseNot", opset: 18, [x8], out: .int8).array(Int8.self), i8.map { ~$0 })
        let shrunk = try elementwiseNode("Shrink", opset: 9, [x8], [attr("bias", Float(1.5)), attr("lambd", Float(1))], out: .int8)
        // -128 + 1.5 = -126.5 -> -126 (toward zero); 127 - 1.5 = 125.5 -> 125.
        XCTAssertEqual(shrunk.array(Int8.self), [-126, -98, 0, 0, 0, 75, 125])

        let u: [UInt64] = [0, 1, .max, 1 << 63]
        let xu = Tensor(u, shape: [2, 2])
        XCTAssertEqual(try elementwiseNode("Abs", opset: 13, [xu], out: .uint64).array(UInt64.self), u)
        XCTAssertEqual(try elementwiseNode("Sign", opset: 13, [xu], out: .uint64).array(UInt64.self), [0, 1, 1, 1])
        XCTAssertEqual(try elementwiseNode("BitwiseNot", opset: 18, [xu], out: .uint64).array(UInt64.self), u.map { ~$0 })

        // Large enough for several parallel chunks.
        let n = 50_001
        let big = Tensor((0..<n).map { Int64($0) * 7_919 - 200_000_000 }, shape: [n])
        let neg = try elementwiseNode("Neg", opset: 13, [big], out: .int64)
        XCTAssertEqual(neg.array(Int64.self), big.array(Int64.self).map { -$0 })
    }

    func testNot() throws {
        let x = Tensor([true, false, false, true, true], shape: [5])
        XCTAssertEqual(try elementwiseNode("Not", opset: 1, [x], out: .bool).array(Bool.self), [false, true, true, false, false])
    }

    func testIsNaNAndIsInf() throws {
        let xs: [Double] = [.nan, .infinity, -.infinity, 0, 1e300, -1e300, 3]
        for dtype in [DType.float32, .float64, .float16] {
            let x: Tensor
            switch dtype {
            case .float32: x = Tensor(xs.map { Float($0) }, shape: [7])
            case .float16: x = Tensor(xs.map { Half(Float($0)) }, shape: [7])
            default: x = Tensor(xs, shape: [7])
            }
            // 1e300 is finite as a double only.
            let huge = dtype == .float64 ? false : true
            XCTAssertEqual(try elementwiseNode("IsNaN", opset: 20, [x], out: .bool).array(Bool.self),
                           [true, false, false, false, false, false, false], "\(dtype)")
            XCTAssertEqual(try elementwiseNode("IsInf", opset: 20, [x], out: .bool).array(Bool.self),
                           [false, true, true, false, huge, huge, false], "\(dtype)")
            XCTAssertEqual(try elementwiseNode("IsInf", opset: 10, [x], [attr("detect_negative", 0)], out: .bool).array(Bool.self),
                           [false, true, false, false, huge, false, false], "\(dtype)")
            XCTAssertEqual(try elementwiseNode("IsInf", opset: 10, [x], [attr("detect_positive", 0)], out: .bool).array(Bool.self),
                           [false, false, true, false, false, huge, false], "\(dtype)")
            XCTAssertEqual(try elementwiseNode("IsInf", opset: 10, [x], [attr("detect_positive", 0), attr("detect_negative", 0)],
                                               out: .bool).array(Bool.self), [Bool](repeating: false, count: 7), "\(dtype)")
        }
    }

    func testRejections() {
        let f = Tensor([Float(1)], shape: [1]), i = Tensor([Int32(1)], shape: [1]), u = Tensor([UInt8(1)], shape: [1])
        let bad: [(String, Int, Tensor, [Onnx_AttributeProto], DType)] = [
            ("Erf", 9, i, [], .int32),                  // Erf-9's integer types: undefined, not implemented
            ("Neg", 13, u, [], .uint8),                 // Neg has no unsigned types
            ("Not", 1, f, [], .float32),
            ("BitwiseNot", 18, f, [], .float32),
            ("Sin", 22, i, [], .int32),
            ("Gelu", 20, f, [attr("approximate", "erf")], .float32),
            ("Selu", 22, f, [attr("beta", Float(1))], .float32),   // no such attribute
            ("IsNaN", 20, i, [], .bool),
            ("Relu", 14, u, [], .uint8),
        ]
        for (op, opset, x, attrs, out) in bad {
            XCTAssertThrowsError(try elementwiseNode(op, opset: opset, [x], attrs, out: out), "\(op) \(x.dtype)") { e in
                XCTAssertTrue(e is DLInferError, "\(op): \(e)")
            }
        }
    }
}
