import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear against naive references written from the spec: tensors
/// big enough for the parallel paths, ties, NaN and infinities, per-axis and blocked scales, int16 and int32 values,
/// symbolic and empty batches; and bad parameters of the quantized ops (the QLinear ones included) that must be
/// rejected.
final class QuantizeTests: XCTestCase {
    func testQuantizePerAxisWithTiesNaNAndInfinities() throws {
        let shape = [2, 3, 100, 100], plane = 100 * 100
        var xs = TestData.uniform(shape.elementCount, seed: 1, -3, 3)
        // Exact ties (x / scale = k + 0.5 for scale 0.5), NaN, infinities and values far out of range.
        for (i, v) in [Float(1.25), 0.75, -0.25, -1.75, .nan, .infinity, -.infinity, 1e9, -1e9].enumerated() {
            xs[i] = v; xs[plane + i] = v; xs[2 * plane + i] = v
        }
        let x = Tensor(xs, shape: shape)
        let scales: [Float] = [0.5, 0.02, 0.25]
        for (zeros, y8) in [([0, 128, 255], DType.uint8), ([-128, 0, 127], .int8)] {
            let zero = y8 == .uint8 ? Tensor(zeros.map { UInt8($0) }, shape: [3]) : Tensor(zeros.map { Int8($0) }, shape: [3])
            for axis in [1, -3] {
                let y = try OneNode.run("QuantizeLinear", opset: 13, [x, Tensor(scales, shape: [3]), zero], constant: [1, 2],
                                        attrs: [attr("axis", axis)], outputs: [y8])[0]
                let (lo, hi): (Float, Float) = y8 == .uint8 ? (0, 255) : (-128, 127)
                let want = xs.indices.map { i -> Int in
                    let c = (i / plane) % 3, z = Float(zeros[c])
                    let q = xs[i] / scales[c]
                    return q.isNaN ? zeros[c] : Int(min(max(q.rounded(.toNearestOrEven) + z, lo), hi))
                }
                XCTAssertEqual(integerValues(y), want, "\(y8) axis \(axis)")
            }
        }
    }

    func testQuantizeBlockedInt16WithOutputDType() throws {
        // Axis 1 of length 10 in blocks of 4: 3 blocks, the last holding 2.
        let x = TestData.tensor([2, 10, 3], seed: 2, -1000, 1000)
        let scale = TestData.tensor([2, 3, 3], seed: 3, 0.01, 0.05)
        let zeros = TestData.integers(18, seed: 4, -300, 300)
        let zero = Tensor(zeros.map { Int16($0) }, shape: [2, 3, 3])
        let attrs = [attr("axis", 1), attr("block_size", 4), attr("output_dtype", Int(DType.int16.rawValue))]
        let y = try OneNode.run("QuantizeLinear", opset: 21, [x, scale, zero], constant: [1, 2], attrs: attrs, outputs: [.int16])[0]
        let xs = x.array(Float.self), ss = scale.array(Float.self)
        let want = xs.indices.map { i -> Int in
            let o = i / 30, d = (i / 3) % 10, j = i % 3, k = (o * 3 + d / 4) * 3 + j
            return Int(min(max((xs[i] / ss[k]).rounded(.toNearestOrEven) + Float(zeros[k]), -32768), 32767))
        }
        XCTAssertEqual(integerValues(y), want)
        XCTAssertTrue(want.contains(32767) && want.contains(-32768), "saturation is exercised")
    }

    func testQuantizeDividesInTheScalesHalfPrecision() throws {
        // float16 x and scale: x / scale is rounded to float16 before rounding to an integer (opset 19).
        let xs: [Float] = [1000.5, 3.0, -7.25, 65504, 0.1, -0.1, 250.25, 2.5]
        let s = Half(Float(0.3))
        let x = Tensor(xs.map { Half($0) }, shape: [xs.count])
        let y = try OneNode.run("QuantizeLinear", opset: 19, [x, Tensor.scalar(s), Tensor.scalar(Int8(3))], constant: [1, 2],
                                outputs: [.int8])[0]
        let want = xs.map { v -> Int in
            let q = Half(Half(v).float / s.float).float
            return Int(min(max(q.rounded(.toNearestOrEven) + 3, -128), 127))
        }
        XCTAssertEqual(integerValues(y), want)
    }

    func testDequantizeTableAndInt32ExactDifference() throws {
        // One byte per element with a single scale: the table path (more than 256 elements).
        let raw = TestData.integers(90_000, seed: 5, 0, 255)
        for (dtype, zero) in [(DType.uint8, 7), (.int8, -5)] {
            let x = dtype == .uint8 ? Tensor(raw.map { UInt8($0) }, shape: [300, 300])
                : Tensor(raw.map { Int8(truncatingIfNeeded: $0) }, shape: [300, 300])
            let z = dtype == .uint8 ? Tensor.scalar(UInt8(zero)) : Tensor.scalar(Int8(zero))
            let y = try OneNode.run("DequantizeLinear", opset: 13, [x, Tensor.scalar(Float(0.1)), z], constant: [1, 2])[0]
            let want = integerValues(x).map { Float($0 - zero) * 0.1 }
            XCTAssertEqual(y.array(Float.self), want, "\(dtype)")
        }
        // int32 values and zero points beyond float32's integers: the difference is taken exactly first.
        let big = Int32(1 << 30)
        let x = Tensor([big + 3, big - 1, Int32.max, Int32.min], shape: [2, 2])
        let zero = Tensor([big + 1, Int32.min], shape: [2])
        let y = try OneNode.run("DequantizeLinear", opset: 13, [x, Tensor([Float(0.5), 1], shape: [2]), zero], constant: [1, 2],
                                attrs: [attr("axis", 1)])[0]
        XCTAssertEqual(y.array(Float.self), [1, Float(Int(big) - 1 - Int(Int32.min)), Float(Int(Int32.max) - Int(big) - 1) * 0.5, 0])
    }

    func testDequantizePerAxisWithSymbolicAndEmptyBatch() throws {
        var m = ModelBuilder(opset: 13)
        m.input("x", .int8, [.symbol("N"), .fixed(4)])
        m.constant("s", Tensor([Float(1), 0.5, 0.25, 2], shape: [4]))
        m.constant("z", Tensor([Int8(0), 1, -1, 127], shape: [4]))
        m.node("DequantizeLinear", ["x", "s", "z"], ["y"], [attr("axis", -1)])
        m.output("y", .float32)
        let session = try InferenceSession(model: m.load())
        let x = Tensor([Int8(1), 2, 3, 4, -128, 127, -1, 0, 5, 5, 5, -128], shape: [3, 4])
        let want = integerValues(x).enumerated().map { i, v in Float(v - [0, 1, -1, 127][i % 4]) * [1, 0.5, 0.25, 2][i % 4] }
        XCTAssertEqual(try session.run([x])[0].array(Float.self), want)
        let empty = try session.run([Tensor([Int8](), shape: [0, 4])])[0]
        XCTAssertEqual(empty.shape, [0, 4])
    }

    func testDynamicQuantizeLinear() throws {
        var xs = TestData.uniform(100_000, seed: 6, -2, 5)
        xs[17] = .nan
        for (input, what) in [(xs, "mixed with NaN"), ([Float](repeating: 0, count: 5), "all zero"),
                              (TestData.uniform(40_000, seed: 7, 1, 3), "all positive"), ([Float](), "empty")] {
            let outs = try OneNode.run("DynamicQuantizeLinear", opset: 11, [Tensor(input, shape: [input.count])],
                                       outputs: [.uint8, .float32, .uint8])
            let finite = input.filter { !$0.isNaN }
            let lo = min(0, finite.min() ?? 0), hi = max(0, finite.max() ?? 0)
            let scale: Float = hi == lo ? 1 : (hi - lo) / 255
            let zero = min(max(0 - lo / scale, 0), 255).rounded(.toNearestOrEven)
            XCTAssertEqual(outs[1].array(Float.self), [scale], what)
            XCTAssertEqual(outs[2].array(UInt8.self), [UInt8(zero)], what)
            let want = input.map { v -> Int in
                let q = (v / scale).rounded(.toNearestOrEven) + zero
                return q.isNaN ? Int(zero) : Int(min(max(q, 0), 255))
            }
            XCTAssertEqual(integerValues(outs[0]), want, what)
        }
    }

    func testBadParametersAreRejected() throws {
        let x = TestData.tensor([2, 3, 4], seed: 17)
        // A per-axis scale of the wrong length: at load with fixed shapes, at run time with a symbolic axis.
        XCTAssertThrowsError(try OneNode.run("QuantizeLinear", opset: 13, [x, Tensor([Float(1), 2], shape: [2])], constant: [1],
                                             outputs: [.uint8]), "2 scales for 3 channels")
        var m = ModelBuilder(opset: 13)
        m.input("x", .float32, [.fixed(2), .symbol("C"), .fixed(4)])
        m.constant("s", Tensor([Float(1), 2], shape: [2]))
        m.node("QuantizeLinear", ["x", "s"], ["y"])
        m.output("y", .uint8)
        XCTAssertThrowsError(try InferenceSession(model: m.load()).run([x]), "2 scales for C = 3")
        XCTAssertThrowsError(try OneNode.run("QuantizeLinear", opset: 21, [x, TestData.tensor([2, 3, 1], seed: 1, 1, 2)], constant: [1],
                                             attrs: [attr("axis", 2), attr("block_size", 3)], outputs: [.uint8]),
                             "blocked scale with 1 block for 2")
        XCTAssertThrowsError(try OneNode.run("QuantizeLinear", opset: 21, [x, Tensor.scalar(Float(1))], constant: [1],
                                             attrs: [attr("block_size", -1)], outputs: [.uint8]), "negative block_size")
        XCTAssertThrowsError(try OneNode.run("QuantizeLinear", opset: 21, [x, Tensor.scalar(Float(1))], constant: [1],
                                             attrs: [attr("output_dtype", 22)], outputs: [.uint8]), "int4 output")
        XCTAssertThrowsError(try OneNode.run("QuantizeLinear", opset: 19, [x, Tensor.scalar(Float(1)), Tensor.scalar(Int16(0))],
                                             constant: [1, 2], outputs: [.int16]), "int16 before opset 21")
        XCTAssertThrowsError(try OneNode.run("QuantizeLinear", opset: 21, [x, Tensor.scalar(Float(1)), Tensor.scalar(Int8(0))],
                                             constant: [1, 2], attrs: [attr("output_dtype", 2)], outputs: [.uint8]),
                             "output_dtype uint8 against an int8 zero point")
        // An 8-bit float zero point must be 0 (checked at run time: it is fed).
        let f8 = try Tensor(dtype: .float8e4m3fn, shape: [3])
        for i in 0..<3 { f8.raw.storeBytes(of: UInt8(0x38), toByteOffset: i, as: UInt8.self) }
        let zero8 = try Tensor(dtype: .float8e4m3fn, shape: [])
        zero8.raw.storeBytes(of: UInt8(0x38), as: UInt8.self)
        XCTAssertThrowsError(try OneNode.run("DequantizeLinear", opset: 19, [f8, Tensor.scalar(Float(1)), zero8]), "zero point 1.0")
        XCTAssertThrowsError(try OneNode.run("DynamicQuantizeLinear", opset: 11, [Tensor([Half(1)], shape: [1])],
                                             outputs: [.uint8, .float32, .uint8]), "float16 x")

        let xi = Tensor([UInt8](repeating: 1, count: 16), shape: [1, 1, 4, 4]), w = Tensor([Int8](repeating: 1, count: 4), shape: [1, 1, 2, 2])
        XCTAssertThrowsError(try OneNode.run("ConvInteger", opset: 10, [xi, w, Tensor([UInt8(1), 2], shape: [2])],
                                             outputs: [.int32]), "two x zero points")
        XCTAssertThrowsError(try OneNode.run("ConvInteger", opset: 10, [xi, w, nil, Tensor([Int8(1), 2], shape: [2])],
                                             outputs: [.int32]), "two w zero points for one channel")
        XCTAssertThrowsError(try OneNode.run("ConvInteger", opset: 10, [xi, Tensor([Int8](repeating: 1, count: 4), shape: [1, 2, 1, 2])],
                                             outputs: [.int32]), "2 weight channels for 1")
        XCTAssertThrowsError(try OneNode.run("ConvInteger", opset: 10, [TestData.tensor([1, 1, 4, 4], seed: 1), w], outputs: [.int32]),
                             "float x")
        let a = Tensor([UInt8](repeating: 1, count: 6), shape: [2, 3]), b = Tensor([Int8](repeating: 1, count: 6), shape: [3, 2])
        let one = Tensor.scalar(Float(1))
        XCTAssertThrowsError(try OneNode.run("QLinearMatMul", opset: 10, [a, one, Tensor.scalar(UInt8(0)), b, one, Tensor.scalar(Int8(0)),
                                                                    Tensor([Float(1), 2], shape: [2]), Tensor.scalar(UInt8(0))],
                                             outputs: [.uint8]), "two y scales")
        XCTAssertThrowsError(try OneNode.run("QLinearMatMul", opset: 10, [a, one, Tensor.scalar(Int8(0)), b, one, Tensor.scalar(Int8(0)),
                                                                    one, Tensor.scalar(UInt8(0))],
                                             outputs: [.uint8]), "a's zero point of another type")
    }
}

