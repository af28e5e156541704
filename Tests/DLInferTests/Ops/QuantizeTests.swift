import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, ConvInteger, QLinearConv, QLinearMatMul and the 8-bit
/// float casts against naive references written from the spec: tensors big enough for the parallel paths, ties,
/// NaN and infinities, per-axis and blocked scales, int16 and int32 values, symbolic and empty batches, and bad
/// parameters that must be rejected.
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
                XCTAssertEqual(integers(y), want, "\(y8) axis \(axis)")
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
        XCTAssertEqual(integers(y), want)
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
        XCTAssertEqual(integers(y), want)
    }

    func testDequantizeTableAndInt32ExactDifference() throws {
        // One byte per element with a single scale: the table path (more than 256 elements).
        let raw = TestData.integers(90_000, seed: 5, 0, 255)
        for (dtype, zero) in [(DType.uint8, 7), (.int8, -5)] {
            let x = dtype == .uint8 ? Tensor(raw.map { UInt8($0) }, shape: [300, 300])
                : Tensor(raw.map { Int8(truncatingIfNeeded: $0) }, shape: [300, 300])
            let z = dtype == .uint8 ? Tensor.scalar(UInt8(zero)) : Tensor.scalar(Int8(zero))
            let y = try OneNode.run("DequantizeLinear", opset: 13, [x, Tensor.scalar(Float(0.1)), z], constant: [1, 2])[0]
            let want = integers(x).map { Float($0 - zero) * 0.1 }
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
        let want = integers(x).enumerated().map { i, v in Float(v - [0, 1, -1, 127][i % 4]) * [1, 0.5, 0.25, 2][i % 4] }
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
            XCTAssertEqual(integers(outs[0]), want, what)
        }
    }

    func testConvIntegerAgainstNaive() throws {
        // Grouped, strided, dilated, asymmetric padding, per-channel weight zero points.
        let x = Tensor(TestData.integers(2 * 4 * 9 * 11, seed: 8, 0, 255).map { UInt8($0) }, shape: [2, 4, 9, 11])
        let w = Tensor(TestData.integers(6 * 2 * 3 * 3, seed: 9, -128, 127).map { Int8($0) }, shape: [6, 2, 3, 3])
        let wz: [Int8] = [0, -3, 5, 127, -128, 1]
        let geometry = Geometry(strides: [2, 1], dilations: [1, 2], pads: [1, 0, 2, 1], group: 2)
        let attrs = [attr("strides", geometry.strides), attr("dilations", geometry.dilations),
                     attr("pads", geometry.pads), attr("group", geometry.group)]
        let y = try OneNode.run("ConvInteger", opset: 10, [x, w, Tensor.scalar(UInt8(100)), Tensor(wz, shape: [6])],
                                constant: [1, 2, 3], attrs: attrs, outputs: [.int32])[0]
        let (want, shape) = geometry.naive(x, w, xZero: 100, wZero: wz.map(Int.init))
        XCTAssertEqual(y.shape, shape)
        XCTAssertEqual(y.array(Int32.self).map(Int.init), want)

        // 64 channels x 3 x 3 taps of extreme values: sums past 2^24, where a float32 accumulator would round.
        let bigX = Tensor([UInt8](repeating: 255, count: 64 * 36), shape: [1, 64, 6, 6])
        let bigW = Tensor((TestData.integers(2 * 576, seed: 10, -128, -120) + TestData.integers(2 * 576, seed: 18, 120, 127)).map { Int8($0) },
                          shape: [4, 64, 3, 3])
        let plain = Geometry(strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], group: 1)
        let big = try OneNode.run("ConvInteger", opset: 10, [bigX, bigW], constant: [1], attrs: [attr("pads", plain.pads)],
                                  outputs: [.int32])[0]
        let (bigWant, _) = plain.naive(bigX, bigW, xZero: 0, wZero: [0, 0, 0, 0])
        XCTAssertEqual(big.array(Int32.self).map(Int.init), bigWant)
        XCTAssertGreaterThan(bigWant.map(abs).max()!, 1 << 24)
    }

    func testQLinearConvAgainstNaive() throws {
        let x = Tensor(TestData.integers(2 * 3 * 7 * 8, seed: 11, -128, 127).map { Int8($0) }, shape: [2, 3, 7, 8])
        let w = Tensor(TestData.integers(5 * 3 * 3 * 3, seed: 12, 0, 255).map { UInt8($0) }, shape: [5, 3, 3, 3])
        let wScales: [Float] = [0.01, 0.02, 0.003, 0.05, 0.1], wz: [UInt8] = [128, 120, 0, 255, 130]
        let bias: [Int32] = [1000, -5000, 0, 123_456, -7]
        let (xs, ys, yz): (Float, Float, UInt8) = (0.05, 0.7, 10)
        let geometry = Geometry(strides: [1, 2], dilations: [1, 1], pads: [1, 1, 0, 1], group: 1)
        let inputs: [Tensor?] = [x, Tensor.scalar(xs), Tensor.scalar(Int8(-2)), w, Tensor(wScales, shape: [5]),
                                 Tensor(wz, shape: [5]), Tensor.scalar(ys), Tensor.scalar(yz), Tensor(bias, shape: [5])]
        let y = try OneNode.run("QLinearConv", opset: 10, inputs, constant: Set(1...8),
                                attrs: [attr("strides", geometry.strides), attr("pads", geometry.pads)], outputs: [.uint8])[0]
        let (acc, shape) = geometry.naive(x, w, xZero: -2, wZero: wz.map(Int.init))
        let per = shape[2] * shape[3]
        let want = acc.enumerated().map { i, a -> Int in
            let o = (i / per) % 5
            let multiplier = Double((xs * wScales[o]) / ys)
            return Int(min(max((Double(a + Int(bias[o])) * multiplier).rounded(.toNearestOrEven) + Double(yz), 0), 255))
        }
        XCTAssertEqual(y.shape, shape)
        XCTAssertEqual(integers(y), want)
        XCTAssertTrue(want.contains(0) && want.contains(255), "saturation is exercised")
    }

    func testQLinearMatMulBroadcastWithPerColumnParameters() throws {
        let a = Tensor(TestData.integers(2 * 3 * 5, seed: 13, 0, 255).map { UInt8($0) }, shape: [2, 3, 5])
        let b = Tensor(TestData.integers(5 * 4, seed: 14, -128, 127).map { Int8($0) }, shape: [5, 4])
        let bScales: [Float] = [0.02, 0.01, 0.05, 0.002], bz: [Int8] = [0, 3, -4, 127]
        let (aS, aZ, yS, yZ): (Float, UInt8, Float, Int8) = (0.03, 120, 0.2, -5)
        let inputs: [Tensor?] = [a, Tensor.scalar(aS), Tensor.scalar(aZ), b, Tensor(bScales, shape: [4]),
                                 Tensor(bz, shape: [4]), Tensor.scalar(yS), Tensor.scalar(yZ)]
        let y = try OneNode.run("QLinearMatMul", opset: 10, inputs, constant: Set(1...7), outputs: [.int8])[0]
        let av = integers(a), bv = integers(b)
        var want = [Int]()
        for batch in 0..<2 {
            for i in 0..<3 {
                for j in 0..<4 {
                    let acc = (0..<5).reduce(0) { s, k in s + (av[(batch * 3 + i) * 5 + k] - Int(aZ)) * (bv[k * 4 + j] - Int(bz[j])) }
                    let q = (Double(acc) * Double(aS * bScales[j] / yS)).rounded(.toNearestOrEven) + Double(yZ)
                    want.append(Int(min(max(q, -128), 127)))
                }
            }
        }
        XCTAssertEqual(y.shape, [2, 3, 4])
        XCTAssertEqual(integers(y), want)
    }

    func testFloat8CastAgainstNearestCode() throws {
        let formats: [(DType, Float8Format)] = [(.float8e4m3fn, .e4m3fn), (.float8e4m3fnuz, .e4m3fnuz),
                                                (.float8e5m2, .e5m2), (.float8e5m2fnuz, .e5m2fnuz)]
        for (dtype, format) in formats {
            let codes = (0..<256).map { naiveFloat8($0, dtype) }
            // Decoding: Cast of every code to float32.
            let bitsIn = try Tensor(dtype: dtype, shape: [256])
            for i in 0..<256 { bitsIn.raw.storeBytes(of: UInt8(i), toByteOffset: i, as: UInt8.self) }
            let back = try OneNode.run("Cast", opset: 19, [bitsIn], attrs: [attr("to", 1)])[0].array(Float.self)
            for i in 0..<256 where !(back[i] == codes[i] || back[i].isNaN && codes[i].isNaN) {
                XCTFail("\(dtype) code \(i) decodes to \(back[i]), expected \(codes[i])")
            }
            XCTAssertEqual((0..<256).map { format.decode(UInt8($0)) }.filter { !$0.isNaN }, codes.filter { !$0.isNaN }, "\(dtype) table")

            // Encoding with saturation: random values over the whole range, every midpoint between neighbouring
            // codes (the ties) and values just beside them.
            let finite = (0..<256).filter { codes[$0].isFinite }
            let positive = finite.map { codes[$0] }.filter { $0 >= 0 }.sorted()
            let maxValue = positive.last!
            var inputs = TestData.uniform(4000, seed: 15, -1.2 * maxValue, 1.2 * maxValue)
            inputs += TestData.uniform(2000, seed: 16, -4 * positive[1], 4 * positive[1])
            for (a, b) in zip(positive, positive.dropFirst()) {
                let mid = (a + b) / 2
                inputs += [mid, -mid, mid.nextUp, mid.nextDown, -mid.nextUp]
            }
            inputs += [.infinity, -.infinity, 0, -0.0, 1e30, -1e30]
            let x = Tensor(inputs, shape: [inputs.count])
            let y = try OneNode.run("Cast", opset: 19, [x], attrs: [attr("to", Int(dtype.rawValue)), attr("saturate", 1)],
                                    outputs: [dtype])[0]
            let got = bytes(y)
            for (i, v) in inputs.enumerated() {
                let want = nearestCode(v, codes, finite, dtype)
                if got[i] != want {
                    XCTFail("\(dtype): \(v) casts to code \(got[i]) (\(codes[Int(got[i])])), expected \(want) (\(codes[Int(want)]))")
                    break
                }
            }
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

    // MARK: - references

    /// Convolution geometry for the naive integer convolution.
    private struct Geometry {
        let strides: [Int], dilations: [Int], pads: [Int], group: Int

        /// The exact sums of (x - xZero)(w - wZero[o]) over each output's window (padding contributes nothing),
        /// and the output shape.
        func naive(_ x: Tensor, _ w: Tensor, xZero: Int, wZero: [Int]) -> ([Int], [Int]) {
            let xv = integers(x), wv = integers(w)
            let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
            let (m, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
            let oh = (h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) / strides[0] + 1
            let ow = (wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) / strides[1] + 1
            var out = [Int]()
            for b in 0..<n {
                for o in 0..<m {
                    let g = o / (m / group)
                    for i in 0..<oh {
                        for j in 0..<ow {
                            var s = 0
                            for ci in 0..<cg {
                                for p in 0..<kh {
                                    for q in 0..<kw {
                                        let yy = i * strides[0] - pads[0] + p * dilations[0]
                                        let xx = j * strides[1] - pads[1] + q * dilations[1]
                                        guard yy >= 0, yy < h, xx >= 0, xx < wd else { continue }
                                        let xi = xv[((b * c + g * cg + ci) * h + yy) * wd + xx] - xZero
                                        s += xi * (wv[((o * cg + ci) * kh + p) * kw + q] - wZero[o])
                                    }
                                }
                            }
                            out.append(s)
                        }
                    }
                }
            }
            return (out, [n, m, oh, ow])
        }
    }
}

/// The elements of an integer tensor as Ints.
private func integers(_ t: Tensor) -> [Int] {
    switch t.dtype {
    case .uint8: return t.array(UInt8.self).map(Int.init)
    case .int8: return t.array(Int8.self).map(Int.init)
    case .int16: return t.array(Int16.self).map(Int.init)
    case .int32: return t.array(Int32.self).map(Int.init)
    default: fatalError("integers(\(t.dtype))")
    }
}

/// The value of an 8-bit float code, from the format tables of the ONNX spec (docs/Float8.md).
private func naiveFloat8(_ code: Int, _ dtype: DType) -> Float {
    let (e, m, bias): (Int, Int, Int)
    switch dtype {
    case .float8e4m3fn: (e, m, bias) = (4, 3, 7)
    case .float8e4m3fnuz: (e, m, bias) = (4, 3, 8)
    case .float8e5m2: (e, m, bias) = (5, 2, 15)
    default: (e, m, bias) = (5, 2, 16)
    }
    let fnuz = dtype == .float8e4m3fnuz || dtype == .float8e5m2fnuz
    if fnuz && code == 0x80 { return .nan }
    let sign: Float = code & 0x80 != 0 ? -1 : 1
    let exponent = (code >> m) & ((1 << e) - 1), mantissa = code & ((1 << m) - 1)
    if dtype == .float8e4m3fn && code & 0x7F == 0x7F { return .nan }
    if dtype == .float8e5m2 && exponent == 31 { return mantissa == 0 ? sign * .infinity : .nan }
    let magnitude = exponent == 0
        ? Float(mantissa) / Float(1 << m) * Float(sign: .plus, exponent: 1 - bias, significand: 1)
        : (1 + Float(mantissa) / Float(1 << m)) * Float(sign: .plus, exponent: exponent - bias, significand: 1)
    return sign * magnitude
}

/// The code `v` casts to with saturation: the nearest finite code (ties to the even code), the largest finite
/// magnitude beyond the range, NaN's code for NaN; no -0 in the "fnuz" formats.
private func nearestCode(_ v: Float, _ codes: [Float], _ finite: [Int], _ dtype: DType) -> UInt8 {
    let fnuz = dtype == .float8e4m3fnuz || dtype == .float8e5m2fnuz
    // Beyond the range (where distances in Double would no longer tell the codes apart): the largest magnitude.
    if v.isInfinite || abs(v) >= finite.map({ abs(codes[$0]) }).max()! {
        return UInt8(finite.filter { (codes[$0] < 0) == (v < 0) }.max { abs(codes[$0]) < abs(codes[$1]) }!)
    }
    var best = -1
    for c in finite where (codes[c] == 0 ? (fnuz || (c & 0x80 != 0) == (v.sign == .minus)) : (codes[c] < 0) == (v < 0)) {
        if best < 0 { best = c; continue }
        let d = abs(Double(codes[c]) - Double(v)), bd = abs(Double(codes[best]) - Double(v))
        if d < bd || (d == bd && c & 1 == 0 && best & 1 == 1) { best = c }
    }
    return UInt8(best)
}
