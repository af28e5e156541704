import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// Cast and CastLike: float32 and float64 to float16 rounding to nearest even against every half, every float16 bit
/// pattern decoded, the 8-bit floats against the nearest code of the spec's tables, the integer and bool rules, and
/// unsupported targets rejected.
final class CastTests: XCTestCase {
    func testCastFloat16RoundsToNearestEven() throws {
        // Every finite half, ascending, as the reference's candidates.
        let halves = (0..<0x7C00).map { halfValue(UInt16($0)) }
        var values: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, 1e6, -1e6, .infinity, -.infinity, 5.9604645e-8,
                               2.9802322e-8, 2.9802326e-8, 1e-10, 6.1035156e-5, 6.1e-5, .leastNormalMagnitude]
        for i in stride(from: 0, to: halves.count - 1, by: 37) {
            values.append(Float((halves[i] + halves[i + 1]) / 2))  // exact ties
            values.append(Float(halves[i]).nextUp)
            values.append(-Float(halves[i + 1]).nextDown)
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5000 { values.append(Float(bitPattern: UInt32.random(in: 0..<0x7F80_0000, using: &rng)) * (Bool.random() ? 1 : -1)) }
        var b = ModelBuilder(opset: 21)
        b.input("x", .float32, [.symbol("n")])
        b.node("Cast", ["x"], ["y"], [attr("to", Int(DType.float16.rawValue))])
        b.output("y", .float16)
        let got = halfBits(try b.run([Tensor(values, shape: [values.count])])[0])
        for (k, v) in values.enumerated() {
            XCTAssertEqual(got[k], referenceHalf(Double(v), halves), "float \(v)")
        }
        // NaN stays NaN.
        let n = halfBits(try b.run([Tensor([Float.nan], shape: [1])])[0])[0]
        XCTAssertTrue(n & 0x7C00 == 0x7C00 && n & 0x03FF != 0, String(n, radix: 16))

        // From double, just off the ties: rounding to float first would land on the tie and round the wrong way.
        var doubles: [Double] = [65519.999999, 65520, 1e300, -1e-300, 2.9802322387695312e-8 * (1 + 1e-12)]
        for i in stride(from: 0, to: halves.count - 1, by: 53) {
            let tie = (halves[i] + halves[i + 1]) / 2
            doubles += [tie, tie * (1 + 1e-12), tie * (1 - 1e-12), -tie * (1 + 1e-13)]
        }
        b = ModelBuilder(opset: 21)
        b.input("x", .float64, [.symbol("n")])
        b.node("Cast", ["x"], ["y"], [attr("to", Int(DType.float16.rawValue))])
        b.output("y", .float16)
        let fromDouble = halfBits(try b.run([Tensor(doubles, shape: [doubles.count])])[0])
        for (k, v) in doubles.enumerated() {
            XCTAssertEqual(fromDouble[k], referenceHalf(v, halves), "double \(v)")
        }
    }

    func testCastFromFloat16DecodesEveryBitPattern() throws {
        let x = try! Tensor(dtype: .float16, shape: [65536])
        for i in 0..<65536 { x.raw.storeBytes(of: UInt16(i), toByteOffset: 2 * i, as: UInt16.self) }
        var b = ModelBuilder(opset: 13)
        b.input("x", .float16, [.fixed(65536)])
        b.node("Cast", ["x"], ["y"], [attr("to", Int(DType.float64.rawValue))])
        b.node("Cast", ["x"], ["f"], [attr("to", Int(DType.float32.rawValue))])
        b.output("y", .float64)
        b.output("f", .float32)
        let outs = try b.run([x])
        let y = outs[0].array(Double.self), f = outs[1].array(Float.self)
        for i in 0..<65536 {
            let want = halfValue(UInt16(i))
            if want.isNaN {
                XCTAssertTrue(y[i].isNaN && f[i].isNaN)
            } else {
                XCTAssertEqual(y[i], want, "half 0x\(String(i, radix: 16))")
                XCTAssertEqual(Double(f[i]), want, "half 0x\(String(i, radix: 16))")
                XCTAssertEqual(f[i].sign, want.sign)
            }
        }
    }

    func testCastIntegerAndBoolRules() throws {
        func cast(_ x: Tensor, _ to: DType) throws -> Tensor {
            var b = ModelBuilder(opset: 13)
            b.input("x", x.dtype, x.shape.map { .fixed($0) })
            b.node("Cast", ["x"], ["y"], [attr("to", Int(to.rawValue))])
            b.output("y", to)
            return try b.run([x])[0]
        }
        let f = Tensor([Float(2.9), -2.9, .nan, 1e10, -1e10, 0.5, -0.0, .infinity], shape: [8])
        XCTAssertEqual(try cast(f, .int32).array(Int32.self), [2, -2, 0, .max, .min, 0, 0, .max])
        XCTAssertEqual(try cast(f, .uint8).array(UInt8.self), [2, 0, 0, 255, 0, 0, 0, 255])
        XCTAssertEqual(try cast(f, .int64).array(Int64.self), [2, -2, 0, 10_000_000_000, -10_000_000_000, 0, 0, .max])
        XCTAssertEqual(try cast(f, .bool).array(Bool.self), [true, true, true, true, true, true, false, true])
        let i = Tensor([Int64(300), -1, 16_777_217, Int64.max], shape: [4])
        XCTAssertEqual(try cast(i, .int8).array(Int8.self), [44, -1, 1, -1])
        XCTAssertEqual(try cast(i, .uint16).array(UInt16.self), [300, 65535, 1, 65535])
        XCTAssertEqual(try cast(i, .float32).array(Float.self), [300, -1, 16_777_216, 9.223372e18])
        XCTAssertEqual(try cast(i, .float64).array(Double.self), [300, -1, 16_777_217, 9.223372036854775807e18])
        let t = Tensor([true, false], shape: [2])
        XCTAssertEqual(try cast(t, .float32).array(Float.self), [1, 0])
        XCTAssertEqual(try cast(t, .int64).array(Int64.self), [1, 0])
        XCTAssertEqual(try cast(Tensor([Double(1) + 1e-12], shape: [1]), .float32).array(Float.self), [1])
    }

    func testCastRejectsUnsupportedTargets() throws {
        for (code, name) in [(8, "string"), (27, "float6e2m3"), (28, "float6e3m2")] {
            var b = ModelBuilder(opset: 21)
            b.input("x", .float32, [.fixed(2)])
            b.node("Cast", ["x"], ["y"], [attr("to", code)])
            b.output("y", .float32)
            XCTAssertThrowsError(try b.load()) { XCTAssertTrue("\($0)".contains("casting to \(name)"), "\($0)") }
        }
        // saturate exists from opset 19 only.
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.fixed(2)])
        b.node("Cast", ["x"], ["y"], [attr("to", 1), attr("saturate", 0)])
        b.output("y", .float32)
        XCTAssertThrowsError(try b.load()) { XCTAssertTrue("\($0)".contains("saturate"), "\($0)") }
    }

    func testCastLikeTakesTheSecondInputsType() throws {
        let x = Tensor([Float(1.7), -2.5, 300, .nan], shape: [4])
        XCTAssertEqual(try elementwiseNode("CastLike", opset: 15, [x, Tensor([Int32(0)], shape: [1])], out: .int32).array(Int32.self), [1, -2, 300, 0])
        XCTAssertEqual(try elementwiseNode("CastLike", opset: 19, [x, Tensor([UInt8(0)], shape: [1])], [attr("saturate", 1)], out: .uint8).array(UInt8.self),
                       [1, 0, 255, 0])
        let h = try elementwiseNode("CastLike", opset: 24, [x, Tensor([Half(Float(0))], shape: [1])], [attr("round_mode", "up")], out: .float16)
        XCTAssertEqual(Array(h.buffer(Half.self).prefix(3)).map(\.float), [Float(Half(Float(1.7)).float), -2.5, 300])

        // A constant first input, the type from a computed value: lowered to Cast and folded.
        var b = ModelBuilder(opset: 21)
        b.input("t", .float64, [.symbol("n")])
        b.constant("c", Tensor([Float(0.5), 2], shape: [2]))
        b.node("CastLike", ["c", "t"], ["c64"])
        b.node("Mul", ["c64", "t"], ["y"])
        b.output("y", .float64)
        let model = try b.load()
        XCTAssertFalse(model.graph.nodes.contains { $0.op.name == "CastLike" || $0.op.name == "Cast" }, "\(model.graph.nodes.map(\.op.name))")
        XCTAssertEqual(try InferenceSession(model: model).run([Tensor([4.0, 8], shape: [2])])[0].array(Double.self), [2, 16])
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
}

/// Value of a half-precision bit pattern, decoded from the IEEE 754 definition.
private func halfValue(_ h: UInt16) -> Double {
    let sign: Double = h & 0x8000 != 0 ? -1 : 1, e = Int(h >> 10 & 0x1F), m = Double(h & 0x3FF)
    if e == 0x1F { return m == 0 ? sign * .infinity : .nan }
    if e == 0 { return sign * m * 0x1p-24 }
    return sign * (1 + m / 1024) * Double(sign: .plus, exponent: e - 15, significand: 1)
}

/// The half nearest to `v` (ties to the even pattern), found among every finite half; beyond the largest half by more
/// than half an ulp (2^4 past 65504), infinity.
private func referenceHalf(_ v: Double, _ halves: [Double]) -> UInt16 {
    let sign: UInt16 = v.sign == .minus ? 0x8000 : 0, a = abs(v)
    if a >= 65520 { return sign | 0x7C00 }
    var lo = 0, hi = halves.count - 1
    while hi - lo > 1 { let mid = (lo + hi) / 2; if halves[mid] <= a { lo = mid } else { hi = mid } }
    let dl = a - halves[lo], dh = halves[hi] - a
    let pick = dl < dh ? lo : dh < dl ? hi : (lo % 2 == 0 ? lo : hi)
    return sign | UInt16(pick)
}

private func halfBits(_ t: Tensor) -> [UInt16] { Array(UnsafeBufferPointer(start: t.raw.assumingMemoryBound(to: UInt16.self), count: t.count)) }

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
