import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// Mod, PRelu, the bitwise ops and BitShift against naive references written here: signs, integer limits, shift
/// amounts out of range, broadcasting, float special values, and errors instead of traps.
final class ArithmeticTests: XCTestCase {
    // MARK: Mod

    func testIntegerModBothConventions() throws {
        let a: [Int32] = [7, -7, 7, -7, 0, .min, .min, 5, -5, .max]
        let b: [Int32] = [3, 3, -3, -3, 4, -1, 7, 5, 2, -2]
        let fmod0 = try elementwiseNode("Mod", opset: 13, [Tensor(a, shape: [10]), Tensor(b, shape: [10])], out: .int32)
        let fmod1 = try elementwiseNode("Mod", opset: 13, [Tensor(a, shape: [10]), Tensor(b, shape: [10])], [attr("fmod", 1)], out: .int32)
        // Python's % (floor) and C's % (truncation), worked out in Int64.
        let floor = zip(a, b).map { x, d -> Int32 in let r = Int64(x) % Int64(d); return Int32(r != 0 && (r < 0) != (d < 0) ? r + Int64(d) : r) }
        let trunc = zip(a, b).map { x, d in Int32(Int64(x) % Int64(d)) }
        XCTAssertEqual(fmod0.array(Int32.self), floor)
        XCTAssertEqual(fmod1.array(Int32.self), trunc)

        let u = try elementwiseNode("Mod", opset: 13, [Tensor([UInt8(250), 7, 0], shape: [3]), Tensor([UInt8(7)], shape: [1])], out: .uint8)
        XCTAssertEqual(u.array(UInt8.self), [5, 0, 0])

        // Broadcast over a large int64 tensor.
        let n = 40_000
        let big = Tensor((0..<n).map { Int64($0) - 20_000 }, shape: [n / 4, 4]), d = Tensor([Int64(3), -3, 7, -7], shape: [4])
        let y = try elementwiseNode("Mod", opset: 13, [big, d], out: .int64).array(Int64.self)
        let dv: [Int64] = [3, -3, 7, -7]
        XCTAssertEqual(y, (0..<n).map { i in
            let x = Int64(i) - 20_000, m = dv[i % 4], r = x % m
            return r != 0 && (r < 0) != (m < 0) ? r + m : r
        })
    }

    func testIntegerModByZeroIsAnError() {
        let a = Tensor([Int64(1), 2], shape: [2]), b = Tensor([Int64(1), 0], shape: [2])
        for fmod in [0, 1] {
            XCTAssertThrowsError(try elementwiseNode("Mod", opset: 13, [a, b], [attr("fmod", fmod)], out: .int64)) {
                XCTAssertTrue($0 is DLInferError, "\($0)")
            }
        }
        XCTAssertThrowsError(try elementwiseNode("Mod", opset: 13, [a, b], [attr("fmod", 2)], out: .int64))
    }

    func testFloatModSpecialValues() throws {
        let inf = Double.infinity
        // (a, b, fmod 0 (Mod-28), fmod 1 (C fmod))
        let cases: [(Double, Double, Double, Double)] = [
            (5.5, 2, 1.5, 1.5), (-5.5, 2, 0.5, -1.5), (5.5, -2, -0.5, 1.5), (-5.5, -2, -1.5, -1.5),
            (0, -3, -0.0, 0), (-0.0, 3, 0, -0.0), (6, 3, 0, 0), (-6, 3, 0, -0.0), (6, -3, -0.0, 0),
            (inf, 2, .nan, .nan), (2, 0, .nan, .nan), (3, inf, 3, 3), (-3, inf, inf, -3), (3, -inf, -inf, 3),
            (.nan, 2, .nan, .nan), (2, .nan, .nan, .nan),
        ]
        let a = cases.map(\.0), b = cases.map(\.1)
        for fmod in [0, 1] {
            let want = cases.map { fmod == 0 ? $0.2 : $0.3 }
            let y64 = try elementwiseNode("Mod", opset: 28, [Tensor(a, shape: [a.count]), Tensor(b, shape: [b.count])],
                                          [attr("fmod", fmod)], out: .float64).array(Double.self)
            let y32 = try elementwiseNode("Mod", opset: 28, [Tensor(a.map { Float($0) }, shape: [a.count]), Tensor(b.map { Float($0) }, shape: [b.count])],
                                          [attr("fmod", fmod)], out: .float32).array(Float.self)
            for i in cases.indices {
                for (got, what) in [(y64[i], "float64"), (Double(y32[i]), "float32")] {
                    let w = want[i]
                    let same = (got.isNaN && w.isNaN) || (got == w && got.sign == w.sign)
                    XCTAssertTrue(same, "Mod fmod=\(fmod) \(what) (\(a[i]), \(b[i])) = \(got), want \(w)")
                }
            }
        }
        // float64 values that float32 cannot hold stay exact.
        let y = try elementwiseNode("Mod", opset: 13, [Tensor([1e17 + 8], shape: [1]), Tensor([10.0], shape: [1])], [attr("fmod", 1)], out: .float64)
        XCTAssertEqual(y.array(Double.self), [fmod(1e17 + 8, 10)])
    }

    // MARK: PRelu

    func testPReluBroadcastsSlopeOverX() throws {
        var xs = (0..<(2 * 3 * 50 * 70)).map { (i: Int) -> Float in Float(i % 17) - 8 }
        xs[5] = .nan
        let x = Tensor(xs, shape: [2, 3, 50, 70])
        for slopeShape in [[3, 1, 1], [1], [70], [3, 50, 70], [2, 3, 50, 70]] {
            let slope = Tensor((0..<slopeShape.reduce(1, *)).map { Float($0 % 5) * 0.25 - 0.5 }, shape: slopeShape)
            let y = try elementwiseNode("PRelu", opset: 16, [x, slope], out: .float32)
            XCTAssertEqual(y.shape, x.shape)
            let idx = CompareTests.broadcastIndex(x.shape, slopeShape)
            let xv = x.array(Float.self), sv = slope.array(Float.self), yv = y.array(Float.self)
            XCTAssertTrue(yv[5].isNaN, "\(slopeShape)")
            for i in xv.indices where i != 5 {
                let want = xv[i] < 0 ? sv[idx[i]] * xv[i] : xv[i]
                if yv[i] != want { XCTFail("\(slopeShape) element \(i): \(yv[i]) != \(want)"); break }
            }
        }
        let xi = Tensor([Int32(-4), 4, -2, 2], shape: [2, 2]), si = Tensor([Int32(3), -1], shape: [2])
        XCTAssertEqual(try elementwiseNode("PRelu", opset: 9, [xi, si], out: .int32).array(Int32.self), [-12, 4, -6, 2])
    }

    func testPReluRejectsSlopeThatDoesNotBroadcastToX() {
        let x = Tensor([Float](repeating: 1, count: 6), shape: [2, 3])
        for shape in [[2], [3, 3], [1, 2, 3], [2, 1, 1]] {
            let slope = Tensor([Float](repeating: 1, count: shape.reduce(1, *)), shape: shape)
            XCTAssertThrowsError(try elementwiseNode("PRelu", opset: 16, [x, slope], out: .float32), "\(shape)")
        }
        // With a symbolic X (its first dim) the check happens when the shapes are known, at run time.
        XCTAssertThrowsError(try elementwiseNode("PRelu", opset: 16, [x, Tensor([Float(1), 2, 3], shape: [3, 1])], out: .float32, symbolic: true))
    }

    // MARK: Bitwise

    func testBitShiftOutOfRangeAmountsAndSigns() throws {
        func check<T: FixedWidthInteger & TensorElement>(_: T.Type, _ dtype: DType) throws {
            let xs: [T] = [1, T.max, T.min, T(truncatingIfNeeded: -5), 0b1011]
            let amounts: [T] = [0, 1, T(T.bitWidth - 1), T(T.bitWidth), T(truncatingIfNeeded: 100), T(truncatingIfNeeded: -1)]
            let x = Tensor(xs, shape: [xs.count, 1]), s = Tensor(amounts, shape: [1, amounts.count])
            for left in [true, false] {
                let y = try elementwiseNode("BitShift", opset: 28, [x, s], [attr("direction", left ? "LEFT" : "RIGHT")], out: dtype)
                var want = [T]()
                for v in xs {
                    for a in amounts {
                        let k = Int(a)
                        if k < 0 || k >= T.bitWidth { want.append(!left && v < 0 ? ~0 : 0) } else { want.append(left ? v << k : v >> k) }
                    }
                }
                XCTAssertEqual(y.array(T.self), want, "\(dtype) \(left ? "LEFT" : "RIGHT")")
            }
        }
        try check(UInt8.self, .uint8)
        try check(Int8.self, .int8)
        try check(UInt32.self, .uint32)
        try check(Int64.self, .int64)
        XCTAssertThrowsError(try elementwiseNode("BitShift", opset: 11, [Tensor([UInt8(1)], shape: [1]), Tensor([UInt8(1)], shape: [1])],
                                                 [attr("direction", "left")], out: .uint8))
        XCTAssertThrowsError(try elementwiseNode("BitShift", opset: 11, [Tensor([UInt8(1)], shape: [1]), Tensor([UInt8(1)], shape: [1])], out: .uint8))
    }

    func testBitwiseAndOrXor() throws {
        let n = 40_000
        let a = Tensor((0..<n).map { Int16(truncatingIfNeeded: $0 &* 2_654_435_761) }, shape: [n / 8, 8])
        let b = Tensor((0..<8).map { Int16(truncatingIfNeeded: $0 * 9_973 - 30_000) }, shape: [8])
        let av = a.array(Int16.self), bv = b.array(Int16.self)
        let ops: [(String, (Int16, Int16) -> Int16)] = [("BitwiseAnd", { $0 & $1 }), ("BitwiseOr", { $0 | $1 }), ("BitwiseXor", { $0 ^ $1 })]
        for (op, f) in ops {
            let y = try elementwiseNode(op, opset: 18, [a, b], out: .int16)
            XCTAssertEqual(y.array(Int16.self), (0..<n).map { f(av[$0], bv[$0 % 8]) }, op)
        }
        XCTAssertThrowsError(try elementwiseNode("BitwiseAnd", opset: 18, [Tensor([Float(1)], shape: [1]), Tensor([Float(1)], shape: [1])], out: .float32))
    }
}
