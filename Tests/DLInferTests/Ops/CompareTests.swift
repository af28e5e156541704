import DLInferCore
import DLInferONNX
import Foundation
import XCTest

/// Comparisons, logic ops and Where against naive broadcasting references: every element type family, NaN and signed
/// zeros, shapes large enough for the parallel paths, and mismatched types that must be rejected.
final class CompareTests: XCTestCase {
    /// Naive numpy broadcasting: for each output index, the flat index into an input of shape `s`.
    static func broadcastIndex(_ out: [Int], _ s: [Int]) -> [Int] {
        let rank = out.count, padded = [Int](repeating: 1, count: rank - s.count) + s
        return (0..<out.reduce(1, *)).map { flat in
            var r = flat, idx = 0, step = 1
            for d in (0..<rank).reversed() {
                let i = r % out[d]
                r /= out[d]
                if padded[d] != 1 { idx += i * step }
                step *= padded[d]
            }
            return idx
        }
    }

    private let shapes: [([Int], [Int], [Int])] = [
        ([3, 4], [3, 4], [3, 4]), ([2, 3, 4], [4], [2, 3, 4]), ([5, 1, 3], [1, 4, 1], [5, 4, 3]), ([], [2, 2], [2, 2]),
        ([40, 1, 500], [40, 1], [40, 40, 500]), ([0, 3], [1, 3], [0, 3]),
    ]

    func testComparisonsAgainstNaive() throws {
        let ops: [(String, (Double, Double) -> Bool)] = [("Equal", { $0 == $1 }), ("Less", { $0 < $1 }), ("LessOrEqual", { $0 <= $1 }),
                                                          ("Greater", { $0 > $1 }), ("GreaterOrEqual", { $0 >= $1 })]
        for dtype in [DType.float32, .float64, .float16, .int8, .uint16, .int32, .int64, .uint64] {
            for (sa, sb, so) in shapes {
                let a = values(dtype, sa, seed: 1), b = values(dtype, sb, seed: 2)
                let ia = Self.broadcastIndex(so, sa), ib = Self.broadcastIndex(so, sb)
                let da = doubles(a), db = doubles(b)
                for (op, f) in ops {
                    let y = try elementwiseNode(op, opset: 16, [a, b], out: .bool)
                    XCTAssertEqual(y.shape, so, "\(op) \(dtype) \(sa) \(sb)")
                    let want = (0..<so.reduce(1, *)).map { f(da[ia[$0]], db[ib[$0]]) }
                    XCTAssertTrue(y.array(Bool.self) == want, "\(op) \(dtype) \(sa) \(sb)")
                }
            }
        }
    }

    func testFloatSpecialValues() throws {
        let a = Tensor([Float.nan, .nan, 0, -0.0, .infinity, -.infinity, 1], shape: [7])
        let b = Tensor([Float.nan, 1, -0.0, 0, .infinity, .infinity, .nan], shape: [7])
        XCTAssertEqual(try elementwiseNode("Equal", opset: 13, [a, b], out: .bool).array(Bool.self), [false, false, true, true, true, false, false])
        XCTAssertEqual(try elementwiseNode("LessOrEqual", opset: 16, [a, b], out: .bool).array(Bool.self), [false, false, true, true, true, true, false])
        XCTAssertEqual(try elementwiseNode("Greater", opset: 13, [a, b], out: .bool).array(Bool.self), [Bool](repeating: false, count: 7))
        // 1 + 2^-40 differs from 1 only in float64 (it must not be compared in float32).
        let c = Tensor([1.0, 1 + 0x1p-40], shape: [2]), d = Tensor([1 + 0x1p-40, 1.0], shape: [2])
        XCTAssertEqual(try elementwiseNode("Less", opset: 13, [c, d], out: .bool).array(Bool.self), [true, false])
        XCTAssertEqual(try elementwiseNode("Equal", opset: 13, [c, d], out: .bool).array(Bool.self), [false, false])
    }

    func testEqualOnBoolAndLogicOps() throws {
        let a = Tensor([true, false, true, false, true, true], shape: [2, 3]), b = Tensor([true, false, false], shape: [3])
        let ia = Self.broadcastIndex([2, 3], [2, 3]), ib = Self.broadcastIndex([2, 3], [3])
        let va = a.array(Bool.self), vb = b.array(Bool.self)
        let ops: [(String, Int, (Bool, Bool) -> Bool)] = [("Equal", 11, { $0 == $1 }), ("And", 7, { $0 && $1 }),
                                                          ("Or", 7, { $0 || $1 }), ("Xor", 7, { $0 != $1 })]
        for (op, opset, f) in ops {
            let y = try elementwiseNode(op, opset: opset, [a, b], out: .bool)
            XCTAssertEqual(y.array(Bool.self), (0..<6).map { f(va[ia[$0]], vb[ib[$0]]) }, op)
            // And large: two parallel chunks at least.
            let n = 70_000
            let x = Tensor((0..<n).map { $0 % 3 == 0 }, shape: [n, 1]), z = Tensor([false, true], shape: [1, 2])
            let big = try elementwiseNode(op, opset: opset, [x, z], out: .bool).array(Bool.self)
            XCTAssertTrue(big == (0..<2 * n).map { f($0 / 2 % 3 == 0, $0 % 2 == 1) }, op)
        }
    }

    func testWhereBroadcastsEveryElementSize() throws {
        let shapes: [([Int], [Int], [Int])] = [([2, 3], [2, 3], [2, 3]), ([3, 1], [1, 4], [4]), ([1], [300, 200], [200]),
                                               ([5, 1, 1], [1, 6, 1], [1, 1, 7]), ([0, 2], [2], [1]), ([64, 1000], [64, 1000], [])]
        for dtype in [DType.bool, .uint8, .float16, .int16, .float32, .int32, .float64, .int64] {
            for (sc, sx, sy) in shapes {
                let so = try broadcastShapes([sc, sx, sy])
                let c = patterned(.bool, sc, seed: 3), x = patterned(dtype, sx, seed: 4), y = patterned(dtype, sy, seed: 5)
                let out = try elementwiseNode("Where", opset: 16, [c, x, y], out: dtype)
                XCTAssertEqual(out.shape, so)
                let ic = Self.broadcastIndex(so, sc), ix = Self.broadcastIndex(so, sx), iy = Self.broadcastIndex(so, sy)
                let size = dtype.byteSize, bc = bytes(c), bx = bytes(x), by = bytes(y)
                var want = [UInt8]()
                for i in 0..<so.reduce(1, *) {
                    let (src, k) = bc[ic[i]] != 0 ? (bx, ix[i]) : (by, iy[i])
                    want += src[(k * size)..<((k + 1) * size)]
                }
                XCTAssertTrue(bytes(out) == want, "Where \(dtype) \(sc) \(sx) \(sy)")
            }
        }
    }

    func testWhereKeepsNaNPayloadsAndNegativeZero() throws {
        let payload = Float(bitPattern: 0x7FC0_1234)
        let x = Tensor([payload, -0.0], shape: [2]), y = Tensor([Float(1), 2], shape: [2])
        let out = try elementwiseNode("Where", opset: 9, [Tensor([true, true], shape: [2]), x, y], out: .float32)
        XCTAssertEqual(out.array(Float.self).map(\.bitPattern), [0x7FC0_1234, Float(-0.0).bitPattern])
    }

    func testMismatchedTypesAreRejected() {
        let f = Tensor([Float(1)], shape: [1]), i = Tensor([Int32(1)], shape: [1]), b = Tensor([true], shape: [1])
        let bad: [(String, [Tensor], DType)] = [
            ("Equal", [f, i], .bool), ("Less", [b, b], .bool), ("And", [i, i], .bool), ("Or", [b, f], .bool),
            ("Where", [b, f, i], .float32), ("Where", [f, f, f], .float32),
        ]
        for (op, ins, out) in bad {
            XCTAssertThrowsError(try elementwiseNode(op, opset: 16, ins, out: out), op) { XCTAssertTrue($0 is DLInferError, "\(op): \($0)") }
        }
        // Strings (Equal-19) are not supported.
        var m = ModelBuilder(opset: 19)
        m.input("a", .string, [.fixed(1)])
        m.input("b", .string, [.fixed(1)])
        m.node("Equal", ["a", "b"], ["y"])
        m.output("y", .bool)
        XCTAssertThrowsError(try m.load()) { XCTAssertTrue($0 is DLInferError, "\($0)") }
    }

    /// Values of `dtype` with many ties between the two seeds (small range) and, for floats, NaN and -0.
    private func values(_ dtype: DType, _ shape: [Int], seed: Int) -> Tensor {
        let n = shape.reduce(1, *)
        let v = (0..<n).map { i -> Double in
            let k = (i * 7 + seed * 5 + i / 11) % 13
            if dtype.isFloatingPoint && k == 12 { return seed == 1 ? .nan : -0.0 }
            return Double(k) - (dtype.isFloatingPoint || [DType.int8, .int32, .int64].contains(dtype) ? 6 : 0)
        }
        switch dtype {
        case .float32: return Tensor(v.map { Float($0) }, shape: shape)
        case .float64: return Tensor(v, shape: shape)
        case .float16: return Tensor(v.map { Half(Float($0)) }, shape: shape)
        case .int8: return Tensor(v.map { Int8($0) }, shape: shape)
        case .uint16: return Tensor(v.map { UInt16($0) }, shape: shape)
        case .int32: return Tensor(v.map { Int32($0) }, shape: shape)
        case .int64: return Tensor(v.map { Int64($0) }, shape: shape)
        default: return Tensor(v.map { UInt64($0) + (1 << 60) }, shape: shape)
        }
    }

    private func doubles(_ t: Tensor) -> [Double] {
        switch t.dtype {
        case .float32: return t.array(Float.self).map { Double($0) }
        case .float64: return t.array(Double.self)
        case .float16: return t.array(Half.self).map { Double($0.float) }
        case .int8: return t.array(Int8.self).map { Double($0) }
        case .uint16: return t.array(UInt16.self).map { Double($0) }
        case .int32: return t.array(Int32.self).map { Double($0) }
        case .int64: return t.array(Int64.self).map { Double($0) }
        default: return t.array(UInt64.self).map { Double($0 - (1 << 60)) }
        }
    }
}
