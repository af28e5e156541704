import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// Cast: float32 and float64 to float16 rounding to nearest even against every half, every float16 bit pattern
/// decoded, the integer and bool rules, and unsupported targets rejected.
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
        for (code, name) in [(8, "string"), (22, "int4"), (23, "float4e2m1")] {
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
