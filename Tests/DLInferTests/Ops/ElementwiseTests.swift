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

// The unary activations, Exp and Sqrt, the binary arithmetic, Sum/Max/Min, PRelu and Clip against references computed
// here in double precision and rounded to the result's type once, as numpy's float32 ufuncs round: exact for the
// correctly rounded operations (+ - * /, min, max, clip), within a few ulps for the transcendental ones.
extension ElementwiseTests {
    // MARK: Unary activations, Exp, Sqrt

    /// (ONNX op, attributes, reference, magnitude of the inputs, atol): the atol covers the float32 rounding of
    /// a·x + b (HardSigmoid) and of exp(x) - 1 near 0 (Elu), which a double reference does not share.
    private var unaryCases: [(String, [Onnx_AttributeProto], (Double) -> Double, Double, Double)] {
        let a = { (v: Float) in Double(v) }  // attributes are float32: the value the kernel sees
        return [
            ("Relu", [], { $0.isNaN ? .nan : ($0 < 0 ? 0 : $0) }, 10, 0),
            ("LeakyRelu", [], { $0 >= 0 ? $0 : a(0.01) * $0 }, 10, 0),
            ("LeakyRelu", [attr("alpha", Float(0.3))], { $0 >= 0 ? $0 : a(0.3) * $0 }, 10, 0),
            ("Sigmoid", [], { 1 / (1 + exp(-$0)) }, 100, 1e-37),
            ("Tanh", [], { tanh($0) }, 20, 1e-37),
            ("HardSigmoid", [], { $0.isNaN ? .nan : max(0, min(1, a(0.2) * $0 + a(0.5))) }, 5, 2e-7),
            ("HardSigmoid", [attr("alpha", Float(0.4)), attr("beta", Float(0.3))],
             { $0.isNaN ? .nan : max(0, min(1, a(0.4) * $0 + a(0.3))) }, 5, 2e-7),
            ("Elu", [], { $0 >= 0 ? $0 : exp($0) - 1 }, 10, 2e-7),
            ("Elu", [attr("alpha", Float(0.7))], { $0 >= 0 ? $0 : a(0.7) * (exp($0) - 1) }, 10, 2e-7),
            ("Exp", [], { exp($0) }, 100, 1e-37),
            ("Sqrt", [], { $0.squareRoot() }, 1000, 0),
        ]
    }

    /// Float32 over more elements than one parallel chunk, NaN, infinities, signed zeros, overflow and underflow.
    func testUnaryFloat32AgainstDoubleReferences() throws {
        let n = 40_003
        for (op, attrs, f, scale, atol) in unaryCases {
            let xs = TestData.doubles(n, scale: scale).map { Float($0) }
            let y = try elementwiseNode(op, opset: 13, [Tensor(xs, shape: [n])], attrs, out: .float32)
            let want = xs.map { Double(Float(f(Double($0)))) }
            assertClose(y, want, shape: [n], rtol: 2e-6, atol: atol, "\(op) \(attrs.map(\.name))")
        }
    }

    /// float64 and float16 are computed in float32 (the precision pass) and come back in their own type.
    func testUnaryOtherFloatTypesGoThroughFloat32() throws {
        let xs = TestData.doubles(1000, scale: 8, seed: 3)
        for (op, attrs, f, _, atol) in unaryCases {
            let y64 = try elementwiseNode(op, opset: 13, [Tensor(xs, shape: [10, 100])], attrs, out: .float64)
            assertClose(y64, xs.map { Double(Float(f(Double(Float($0))))) }, dtype: .float64, shape: [10, 100], rtol: 2e-6, atol: atol,
                        "\(op) float64")
            let halves = xs.map { Half(Float($0)) }
            let y16 = try elementwiseNode(op, opset: 13, [Tensor(halves, shape: [1000])], attrs, out: .float16)
            let want = halves.map { Double(Half(Float(f(Double($0.float)))).float) }
            assertClose(y16, want, dtype: .float16, shape: [1000], rtol: 1e-3, atol: max(atol, 1e-7), "\(op) float16")
        }
    }

    func testReluOnEverySignedIntegerType() throws {
        func check<T: FixedWidthInteger & TensorElement>(_: T.Type) throws {
            var state: UInt64 = 7
            let v = (0..<40_003).map { _ -> T in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return T(truncatingIfNeeded: state >> 7)
            }
            let y = try elementwiseNode("Relu", opset: 14, [Tensor(v, shape: [v.count])], out: T.dtype)
            assertClose(y, Tensor(v.map { Swift.max(0, $0) }, shape: [v.count]), rtol: 0, atol: 0, "\(T.dtype)")
        }
        try check(Int8.self); try check(Int16.self); try check(Int32.self); try check(Int64.self)
    }

    // MARK: Binary arithmetic

    /// Add, Sub, Mul and Div in float32 and float64 over every broadcast pattern (same shape, scalars, a row, a column,
    /// both operands broadcast, ranks that differ, empty), with NaN, infinities, signed zeros and zero divisors among
    /// the operands: exact.
    func testBinaryFloatArithmeticOverEveryBroadcastPattern() throws {
        let ops: [(String, (Double, Double) -> Double)] = [("Add", { $0 + $1 }), ("Sub", { $0 - $1 }), ("Mul", { $0 * $1 }),
                                                           ("Div", { $0 / $1 })]
        for (k, (aShape, bShape)) in broadcastCases.enumerated() {
            let a = operand(aShape, seed: 2 * k), b = operand(bShape, seed: 2 * k + 1)
            for (op, f) in ops {
                let a32 = a.map { Float($0) }, b32 = b.map { Float($0) }
                let y32 = try elementwiseNode(op, opset: 14, [Tensor(a32, shape: aShape), Tensor(b32, shape: bShape)], out: .float32)
                let (want32, shape) = broadcastReference(a32, aShape, b32, bShape) { Double(Float(f(Double($0), Double($1)))) }
                assertClose(y32, want32, shape: shape, rtol: 0, atol: 0, "\(op) float32 \(aShape) \(bShape)")
                let y64 = try elementwiseNode(op, opset: 14, [Tensor(a, shape: aShape), Tensor(b, shape: bShape)], out: .float64)
                let (want64, _) = broadcastReference(a, aShape, b, bShape, f)
                assertClose(y64, want64, dtype: .float64, shape: shape, rtol: 0, atol: 0, "\(op) float64 \(aShape) \(bShape)")
            }
        }
    }

    /// The IEEE special cases one by one: inf - inf, 0 · inf, 0 / 0, x / ±0, NaN with anything.
    func testBinaryFloatSpecialValues() throws {
        let inf = Float.infinity
        let a: [Float] = [inf, 0, 0, 1, -1, .nan, 2, -0.0, inf, 5]
        let b: [Float] = [inf, inf, 0, 0, -0.0, 1, .nan, 0, -inf, -0.0]
        let want: [String: [Double]] = [
            "Add": [.infinity, .infinity, 0, 1, -1, .nan, .nan, 0, .nan, 5],
            "Sub": [.nan, -.infinity, 0, 1, -1, .nan, .nan, -0.0, .infinity, 5],
            "Mul": [.infinity, .nan, 0, 0, 0, .nan, .nan, -0.0, -.infinity, -0.0],
            "Div": [.nan, 0, .nan, .infinity, .infinity, .nan, .nan, .nan, .nan, -.infinity],
        ]
        for (op, w) in want {
            let y = try elementwiseNode(op, opset: 14, [Tensor(a, shape: [10]), Tensor(b, shape: [10])], out: .float32)
            assertClose(y, w, shape: [10], rtol: 0, atol: 0, op)
        }
    }

    /// float16 operands are added in float32 and rounded once to half.
    func testBinaryOnFloat16() throws {
        let a = TestData.doubles(120, scale: 300, seed: 5).map { Half(Float($0)) }
        let b = TestData.doubles(40, scale: 3, seed: 6).map { Half(Float($0)) }
        let ops: [(String, (Float, Float) -> Float)] = [("Add", { $0 + $1 }), ("Mul", { $0 * $1 }), ("Div", { $0 / $1 })]
        for (op, f) in ops {
            let y = try elementwiseNode(op, opset: 14, [Tensor(a, shape: [3, 40]), Tensor(b, shape: [40])], out: .float16)
            let (want, shape) = broadcastReference(a, [3, 40], b, [40]) { Double(Half(f($0.float, $1.float)).float) }
            assertClose(y, want, dtype: .float16, shape: shape, rtol: 0, atol: 0, op)
        }
    }

    /// Add, Sub, Mul wrap and Div truncates toward zero (the ONNX reference's astype of the quotient) on every integer
    /// type, over the broadcast patterns; Int.min / -1 wraps instead of trapping.
    func testIntegerArithmeticWrapsAndTruncatesOnEveryType() throws {
        func check<T: FixedWidthInteger & TensorElement>(_: T.Type) throws {
            for (k, (aShape, bShape)) in broadcastCases.enumerated() {
                let a: [T] = integers(aShape.elementCount, seed: 3 * k), b0: [T] = integers(bShape.elementCount, seed: 3 * k + 1)
                let b = b0.map { $0 == 0 ? 1 : $0 }
                let ops: [(String, (T, T) -> T)] = [("Add", { $0 &+ $1 }), ("Sub", { $0 &- $1 }), ("Mul", { $0 &* $1 }),
                                                    ("Div", { x, d in T.isSigned && x == .min && d == -1 ? .min : x / d })]
                for (op, f) in ops {
                    let y = try elementwiseNode(op, opset: 14, [Tensor(a, shape: aShape), Tensor(b, shape: bShape)], out: T.dtype)
                    let (want, shape) = broadcastReference(a, aShape, b, bShape, f)
                    assertClose(y, Tensor(want, shape: shape), rtol: 0, atol: 0, "\(op) \(T.dtype) \(aShape) \(bShape)")
                }
            }
            if T.isSigned {
                let q = try elementwiseNode("Div", opset: 14, [Tensor([T.min, -7, 7, -7, 6], shape: [5]),
                                                               Tensor([-1, 2, -2, -2, 4] as [T], shape: [5])], out: T.dtype)
                assertClose(q, Tensor([T.min, -3, -3, 3, 1], shape: [5]), rtol: 0, atol: 0, "\(T.dtype) truncation")
            }
        }
        try check(Int8.self); try check(Int16.self); try check(Int32.self); try check(Int64.self)
        try check(UInt8.self); try check(UInt16.self); try check(UInt32.self); try check(UInt64.self)
    }

    /// A zero divisor anywhere in an integer Div fails the run (fed or constant), never traps.
    func testIntegerDivisionByZeroIsRejected() {
        let a = Tensor([Int32(5), 6, 7, 8], shape: [4])
        for constant in [false, true] {
            for zeroAt in [0, 3] {
                var d: [Int32] = [1, 2, 3, 4]
                d[zeroAt] = 0
                XCTAssertThrowsError(try OneNode.run("Div", opset: 14, [a, Tensor(d, shape: [4])], constant: constant ? [1] : [], outputs: [.int32]),
                                     "zero at \(zeroAt), constant \(constant)") { XCTAssertTrue($0 is DLInferError, "\($0)") }
            }
        }
        let broadcastZero = [Tensor([Int64(1), 2], shape: [2, 1]), Tensor([Int64(0)], shape: [1])]
        XCTAssertThrowsError(try elementwiseNode("Div", opset: 14, broadcastZero, out: .int64)) {
            XCTAssertTrue($0 is DLInferError, "\($0)")
        }
    }

    /// Pow: float32 (powf, within an ulp or two of the double result), float64, a float32 base with an integer
    /// exponent (opset 12+), and integer bases with the exact integer power.
    func testPowFloatIntegerAndMixedExponents() throws {
        let base = TestData.doubles(2000, scale: 4, specials: [.nan, .infinity, -.infinity, 0, -0.0, 1, -1], seed: 8)
        // Half the exponents integral, so negative bases give numbers rather than NaN.
        let exps = TestData.doubles(50, scale: 3, specials: [0, .nan, .infinity, -.infinity, -1, 0.5], seed: 9).enumerated()
            .map { $0.offset % 2 == 0 ? $0.element.rounded() : $0.element }
        let b32 = base.map { Float($0) }, e32 = exps.map { Float($0) }
        let y32 = try elementwiseNode("Pow", opset: 15, [Tensor(b32, shape: [40, 50]), Tensor(e32, shape: [50])], out: .float32)
        let (want32, shape) = broadcastReference(b32, [40, 50], e32, [50]) { Double(Float(pow(Double($0), Double($1)))) }
        assertClose(y32, want32, shape: shape, rtol: 3e-7, atol: 1e-37, "float32")
        let y64 = try elementwiseNode("Pow", opset: 15, [Tensor(base, shape: [40, 50]), Tensor(exps, shape: [50])], out: .float64)
        assertClose(y64, broadcastReference(base, [40, 50], exps, [50]) { pow($0, $1) }.0, dtype: .float64, shape: shape, rtol: 1e-15, atol: 0,
                    "float64")
        let ints: [Int64] = [0, 1, 2, 3, -1, -2, 5, 7]
        let mixed = try elementwiseNode("Pow", opset: 15, [Tensor(b32, shape: [250, 8]), Tensor(ints, shape: [8])], out: .float32)
        let (wantMixed, mixedShape) = broadcastReference(b32, [250, 8], ints, [8]) { Double(Float(pow(Double($0), Double($1)))) }
        assertClose(mixed, wantMixed, shape: mixedShape, rtol: 3e-7, atol: 0, "float32 by int64")

        func power<T: FixedWidthInteger>(_ x: T, _ e: T) -> T { (0..<Int(e)).reduce(T(1)) { r, _ in r &* x } }
        let b32i = (-9...9).map { Int32($0) }, e32i = (0...6).map { Int32($0) }
        let yi32 = try elementwiseNode("Pow", opset: 15, [Tensor(b32i, shape: [19, 1]), Tensor(e32i, shape: [7])], out: .int32)
        assertClose(yi32, Tensor(broadcastReference(b32i, [19, 1], e32i, [7], power).0, shape: [19, 7]), rtol: 0, atol: 0, "int32")
        let b64i = (-30...30).map { Int64($0) }, e64i = (0...9).map { Int64($0) }
        let yi64 = try elementwiseNode("Pow", opset: 15, [Tensor(b64i, shape: [61, 1]), Tensor(e64i, shape: [1, 10])], out: .int64)
        assertClose(yi64, Tensor(broadcastReference(b64i, [61, 1], e64i, [1, 10], power).0, shape: [61, 10]), rtol: 0, atol: 0, "int64")
    }

    // MARK: Sum, Max, Min, PRelu

    /// Sum, Max and Min of one to three broadcast inputs, NaN propagated by Max and Min as numpy's maximum/minimum do;
    /// the integer types exactly, uint64 beyond 2^63 included.
    func testSumMaxMinBroadcastAndPropagateNaN() throws {
        let shapes = [[300, 257], [257], [300, 1]]
        let xs = shapes.enumerated().map { k, s in operand(s, seed: 20 + k).map { Float($0) } }
        let maximum = { (a: Double, b: Double) -> Double in a.isNaN || b.isNaN ? .nan : Swift.max(a, b) }
        let minimum = { (a: Double, b: Double) -> Double in a.isNaN || b.isNaN ? .nan : Swift.min(a, b) }
        for (op, f) in [("Sum", { (a: Double, b: Double) in Double(Float(a + b)) }), ("Max", maximum), ("Min", minimum)] {
            for count in 1...3 {
                let ins = (0..<count).map { Tensor(xs[$0], shape: shapes[$0]) }
                let y = try elementwiseNode(op, opset: 13, ins, out: .float32)
                var (want, shape) = (xs[0].map(Double.init), shapes[0])
                for k in 1..<count {
                    (want, shape) = broadcastReference(want, shape, xs[k], shapes[k]) { f($0, Double($1)) }
                }
                assertClose(y, want, shape: shape, rtol: 0, atol: 0, "\(op) of \(count)")
            }
        }
        func check<T: FixedWidthInteger & TensorElement>(_: T.Type) throws {
            let a: [T] = integers(3 * 257, seed: 1) + [.max, .min], b: [T] = integers(773, seed: 2)
            for (op, f) in [("Max", { (x: T, y: T) in Swift.max(x, y) }), ("Min", { Swift.min($0, $1) }), ("Sum", { $0 &+ $1 })] {
                let y = try elementwiseNode(op, opset: 13, [Tensor(a, shape: [773, 1]), Tensor(b, shape: [1, 773])], out: T.dtype)
                assertClose(y, Tensor(broadcastReference(a, [773, 1], b, [1, 773], f).0, shape: [773, 773]), rtol: 0, atol: 0,
                            "\(op) \(T.dtype)")
            }
        }
        try check(Int8.self); try check(Int32.self); try check(Int64.self); try check(UInt16.self); try check(UInt64.self)
    }

    /// PRelu with the slope broadcast to X from a row, a column, a single element and a scalar; NaN stays NaN.
    func testPReluOverBroadcastSlopes() throws {
        let x = operand([300, 257], seed: 30).map { Float($0) }
        for slopeShape in [[257], [300, 1], [1], [], [300, 257]] {
            let s = operand(slopeShape, seed: 31).map { Float($0 == 0 ? 0.25 : $0) }
            let y = try elementwiseNode("PRelu", opset: 16, [Tensor(x, shape: [300, 257]), Tensor(s, shape: slopeShape)], out: .float32)
            let (want, shape) = broadcastReference(x, [300, 257], s, slopeShape) { v, k in
                Double(v >= 0 || v.isNaN ? v : Float(Double(k) * Double(v)))
            }
            assertClose(y, want, shape: shape, rtol: 0, atol: 0, "slope \(slopeShape)")
        }
        let x64 = operand([30, 7], seed: 32), s64 = operand([7], seed: 33)
        let y64 = try elementwiseNode("PRelu", opset: 16, [Tensor(x64, shape: [30, 7]), Tensor(s64, shape: [7])], out: .float64)
        assertClose(y64, broadcastReference(x64, [30, 7], s64, [7]) { v, k in v >= 0 || v.isNaN ? v : k * v }.0, dtype: .float64, shape: [30, 7],
                    rtol: 0, atol: 0, "float64")
        let xi: [Int64] = integers(210, seed: 34), si: [Int64] = integers(7, seed: 35)
        let yi = try elementwiseNode("PRelu", opset: 16, [Tensor(xi, shape: [30, 7]), Tensor(si, shape: [7])], out: .int64)
        assertClose(yi, Tensor(broadcastReference(xi, [30, 7], si, [7]) { v, k in v >= 0 ? v : k &* v }.0, shape: [30, 7]), rtol: 0, atol: 0, "int64")
    }

    func testMismatchedOperandsAreRejected() {
        let f32 = Tensor([Float(1), 2, 3], shape: [3]), f64 = Tensor([1.0, 2, 3], shape: [3]), i32 = Tensor([Int32(1), 2, 3], shape: [3])
        let bad: [(String, [Tensor], DType)] = [
            ("Add", [f32, f64], .float32), ("Mul", [i32, f32], .int32), ("Max", [f32, i32], .float32), ("Sum", [f32, f64], .float32),
            ("Sub", [Tensor([Float](repeating: 1, count: 6), shape: [2, 3]), Tensor([Float](repeating: 1, count: 4), shape: [4])], .float32),
            ("Pow", [Tensor([UInt8(2)], shape: [1]), Tensor([UInt8(2)], shape: [1])], .uint8),
            ("PRelu", [f32, Tensor([Float](repeating: 1, count: 6), shape: [2, 3])], .float32),
        ]
        for (op, ins, out) in bad {
            XCTAssertThrowsError(try elementwiseNode(op, opset: 16, ins, out: out), "\(op) \(ins.map(\.dtype)) \(ins.map(\.shape))") {
                XCTAssertTrue($0 is DLInferError, "\(op): \($0)")
            }
        }
    }

    func testEmptyTensorsGiveEmptyResults() throws {
        let e = try Tensor(dtype: .float32, shape: [0, 5])
        XCTAssertEqual(try elementwiseNode("Relu", opset: 14, [e], out: .float32).shape, [0, 5])
        XCTAssertEqual(try elementwiseNode("Add", opset: 14, [e, Tensor([Float](repeating: 1, count: 5), shape: [5])], out: .float32).shape, [0, 5])
        XCTAssertEqual(try elementwiseNode("Max", opset: 13, [e, Tensor([Float(1)], shape: [1, 1])], out: .float32).shape, [0, 5])
        XCTAssertEqual(try OneNode.run("Clip", opset: 13, [e, Tensor.scalar(Float(0)), Tensor.scalar(Float(1))], constant: [1, 2])[0].shape, [0, 5])
    }

    // MARK: Clip

    /// Bounds as inputs (opset 11+): both, either or neither given, as constants or fed at run time, over more elements
    /// than one parallel chunk with NaN (kept) and infinities; float32, float64 and the integer types.
    func testClipBoundsAsInputs() throws {
        let xs = TestData.doubles(40_003, scale: 10, seed: 40)
        let bounds: [(Double?, Double?)] = [(-2, 3.5), (-2, nil), (nil, 3.5), (nil, nil), (0, 0)]
        for (lo, hi) in bounds {
            for constant in [true, false] {
                let x32 = Tensor(xs.map { Float($0) }, shape: [xs.count])
                let y = try OneNode.run("Clip", opset: 13, [x32, lo.map { Tensor.scalar(Float($0)) }, hi.map { Tensor.scalar(Float($0)) }],
                                        constant: constant ? [1, 2] : [])[0]
                assertClose(y, xs.map { clip(Double(Float($0)), lo, hi) }, shape: [xs.count], rtol: 0, atol: 0,
                            "float32 \(String(describing: lo)) \(String(describing: hi)) constant \(constant)")
                let y64 = try OneNode.run("Clip", opset: 13, [Tensor(xs, shape: [xs.count]), lo.map { Tensor.scalar($0) },
                                                              hi.map { Tensor.scalar($0) }],
                                          constant: constant ? [1, 2] : [], outputs: [.float64])[0]
                assertClose(y64, xs.map { clip($0, lo, hi) }, dtype: .float64, shape: [xs.count], rtol: 0, atol: 0, "float64")
            }
        }
        func check<T: FixedWidthInteger & TensorElement>(_: T.Type) throws {
            let v: [T] = integers(50_000, seed: 41) + [.min, .max]
            let lo = T.isSigned ? T(truncatingIfNeeded: -100) : 10, hi = T(100)
            for (l, h) in [(lo, hi), (nil, hi), (lo, nil)] as [(T?, T?)] {
                let y = try OneNode.run("Clip", opset: 13, [Tensor(v, shape: [v.count]), l.map { Tensor.scalar($0) }, h.map { Tensor.scalar($0) }],
                                        constant: [1, 2], outputs: [T.dtype])[0]
                let want = v.map { e -> T in Swift.min(Swift.max(e, l ?? .min), h ?? .max) }
                assertClose(y, Tensor(want, shape: [v.count]), rtol: 0, atol: 0, "\(T.dtype) \(String(describing: l)) \(String(describing: h))")
            }
        }
        try check(Int8.self); try check(Int32.self); try check(Int64.self); try check(UInt8.self); try check(UInt64.self)
    }

    /// min > max: every value becomes max (Clip-13's rule, numpy's clip); NaN stays NaN.
    func testClipMinAboveMaxGivesMax() throws {
        let xs: [Float] = [-10, 1, 3, 4.5, 7, .infinity, -.infinity, .nan]
        let y = try OneNode.run("Clip", opset: 13, [Tensor(xs, shape: [8]), Tensor.scalar(Float(5)), Tensor.scalar(Float(2))], constant: [1, 2])[0]
        assertClose(y, [2, 2, 2, 2, 2, 2, 2, .nan] as [Double], shape: [8], rtol: 0, atol: 0)
        let yi = try OneNode.run("Clip", opset: 13, [Tensor([Int32(-4), 3, 9], shape: [3]), Tensor.scalar(Int32(5)), Tensor.scalar(Int32(2))],
                                 outputs: [.int32])[0]
        assertClose(yi, Tensor([Int32(2), 2, 2], shape: [3]), rtol: 0, atol: 0, "int32")
    }

    /// Opsets 6-10 give the bounds as attributes; an absent one is the float's lowest or largest finite value, so an
    /// infinity is clipped to it.
    func testClipLegacyAttributeBounds() throws {
        let xs = TestData.doubles(1000, scale: 10, seed: 42).map { Float($0) }
        let big = Double(Float.greatestFiniteMagnitude)
        let cases: [([Onnx_AttributeProto], Double, Double)] = [
            ([attr("min", Float(-1.5)), attr("max", Float(2))], -1.5, 2), ([attr("min", Float(-1.5))], -1.5, big),
            ([attr("max", Float(2))], -big, 2), ([], -big, big),
        ]
        for (attrs, lo, hi) in cases {
            let y = try elementwiseNode("Clip", opset: 6, [Tensor(xs, shape: [1000])], attrs, out: .float32)
            assertClose(y, xs.map { clip(Double($0), lo, hi) }, shape: [1000], rtol: 0, atol: 0, "\(attrs.map(\.name))")
        }
    }

    func testClipOnFloat16() throws {
        let xs = TestData.doubles(500, scale: 10, seed: 43).map { Half(Float($0)) }
        let y = try OneNode.run("Clip", opset: 13, [Tensor(xs, shape: [500]), Tensor.scalar(Half(Float(-1.5))), Tensor.scalar(Half(Float(2.25)))],
                                constant: [1, 2], outputs: [.float16])[0]
        assertClose(y, xs.map { clip(Double($0.float), -1.5, 2.25) }, dtype: .float16, shape: [500], rtol: 0, atol: 0)
    }

    func testClipRejectsMistypedOrNonScalarBounds() {
        let x = Tensor([Float(1), 2, 3], shape: [3])
        let bad: [(String, [Tensor?])] = [
            ("int32 max", [x, nil, Tensor.scalar(Int32(1))]),
            ("min of shape [2]", [x, Tensor([Float(0), 1], shape: [2])]), ("max of shape [1, 1]", [x, nil, Tensor([Float(2)], shape: [1, 1])]),
        ]
        for (what, ins) in bad {
            for constant in [Set([1, 2]), []] {
                XCTAssertThrowsError(try OneNode.run("Clip", opset: 13, ins, constant: constant), "\(what) constant \(!constant.isEmpty)") {
                    XCTAssertTrue($0 is DLInferError, "\(what): \($0)")
                }
            }
        }
    }
}

// MARK: references

/// The broadcast patterns of the binary tests: sizes past one parallel chunk, every step pattern of the kernels' rows.
private let broadcastCases: [([Int], [Int])] = [
    ([300, 257], [300, 257]), ([300, 257], []), ([], [300, 257]), ([300, 257], [257]), ([300, 1], [300, 257]),
    ([300, 257], [300, 1]), ([40, 1, 130], [1, 50, 1]), ([2, 1, 3, 1], [5, 1, 7]), ([0, 5], [5]),
]

/// Values for an operand of `shape`: the special values first (NaN, ±inf, ±0), then uniform in [-100, 100); a scalar
/// is an ordinary number.
private func operand(_ shape: [Int], seed: Int) -> [Double] {
    let n = shape.elementCount
    if shape.isEmpty { return [-1.25 - Double(seed % 3)] }
    // Two orders of the specials, so that the binary tests pair them differently (inf - inf, 0 · inf, 0 / 0, ...).
    let specials: [Double] = seed % 2 == 0 ? [.nan, .infinity, -.infinity, 0, -0.0] : [0, -0.0, .infinity, .nan, -.infinity, 0]
    return TestData.doubles(n, scale: 100, specials: specials, seed: UInt64(seed + 1))
}

/// Integers over the whole range of `T`.
private func integers<T: FixedWidthInteger>(_ n: Int, seed: Int) -> [T] {
    var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<n).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return T(truncatingIfNeeded: state >> 11)
    }
}

/// numpy's clip: NaN stays NaN; an absent bound leaves that side open.
private func clip(_ x: Double, _ lo: Double?, _ hi: Double?) -> Double {
    if x.isNaN { return x }
    var r = x
    if let lo { r = Swift.max(r, lo) }
    if let hi { r = Swift.min(r, hi) }
    return r
}

/// `f` of the numpy broadcast of two operands, element by element, and the broadcast shape.
private func broadcastReference<A, B, R>(_ a: [A], _ aShape: [Int], _ b: [B], _ bShape: [Int], _ f: (A, B) -> R) -> ([R], [Int]) {
    let rank = max(aShape.count, bShape.count)
    let pa = [Int](repeating: 1, count: rank - aShape.count) + aShape, pb = [Int](repeating: 1, count: rank - bShape.count) + bShape
    let out = zip(pa, pb).map { $0 == 1 ? $1 : $0 }
    func source(_ padded: [Int]) -> [Int] {
        let strides = padded.contiguousStrides
        return (0..<out.elementCount).map { flat in
            var rem = flat, at = 0
            for d in stride(from: rank - 1, through: 0, by: -1) {
                if padded[d] != 1 { at += (rem % out[d]) * strides[d] }
                rem /= out[d]
            }
            return at
        }
    }
    return (zip(source(pa), source(pb)).map { f(a[$0], b[$1]) }, out)
}
