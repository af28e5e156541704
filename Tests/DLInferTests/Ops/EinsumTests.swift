import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// Einsum on every kind of equation (matrix products in and out of place, transposes, traces, diagonals, ellipsis
/// broadcasting, implicit outputs, three operands, integer types) against a brute-force sum over every label
/// assignment; MatMul on integer types and float64 with broadcast batches and vector operands; MatMulInteger with
/// per-row and per-column zero points; malformed equations and shapes that must be rejected.
final class EinsumTests: XCTestCase {
    func testEquationsAgainstBruteForce() throws {
        // (equation, shapes, the same equation with letters for the ellipsis dims, for the brute force)
        let cases: [(String, [[Int]], String?)] = [
            ("bhqd,bhkd->bhqk", [[2, 3, 5, 8], [2, 3, 7, 8]], nil),
            ("bij,bjk->bik", [[3, 4, 6], [3, 6, 5]], nil),
            ("bji,bjk->bik", [[3, 6, 4], [3, 6, 5]], nil),
            ("ij,kj->ik", [[40, 70], [33, 70]], nil),
            ("ij->ji", [[3, 5]], nil),
            ("i,i->", [[7], [7]], nil),
            ("ij,jk", [[3, 4], [4, 2]], nil),
            ("ba,ca", [[3, 4], [2, 4]], nil),
            ("bn,anm,bm->ba", [[2, 3], [4, 3, 5], [2, 5]], nil),
            ("ii->i", [[4, 4]], nil),
            ("ii", [[4, 4]], nil),
            ("iji->j", [[3, 2, 3]], nil),
            ("ij->", [[3, 4]], nil),
            ("ij->i", [[3, 4]], nil),
            ("i,j->ij", [[3], [4]], nil),
            ("abc,cd,de->abe", [[2, 3, 4], [4, 5], [5, 2]], nil),
            ("...ii->...i", [[2, 3, 3]], "aii->ai"),
            ("...ij,...jk->...ik", [[2, 1, 3, 4], [3, 4, 5]], "abij,bjk->abik"),
            ("...ij,jk", [[2, 3, 4], [4, 5]], "aij,jk->aik"),
            ("i...,i...->...", [[3, 2], [3, 1]], "ia,ia->a"),
            ("ab,ab->", [[0, 3], [0, 3]], nil),
            ("ij,jk->ik", [[2, 0], [0, 3]], nil),
            ("Ab,bA->A", [[3, 4], [4, 3]], nil),
        ]
        for (eq, shapes, explicit) in cases {
            for dtype in [DType.float32, .float64, .int32] {
                let xs = shapes.enumerated().map { k, s in values(dtype, s, seed: k + 1) }
                let y = try OneNode.run(.einsum(try Einsum(equation: eq)), xs)
                let (want, wantShape) = try bruteForce(explicit ?? eq, xs)
                XCTAssertEqual(y.shape, wantShape, "\(eq) \(dtype)")
                assertClose(y, want, dtype: dtype, shape: wantShape, rtol: 1e-4, atol: 1e-4, "\(eq) \(dtype)")
            }
        }
    }

    func testMatrixProductsLoweredToMatMul() throws {
        // Loaded from a model (so the load-time passes run) and run on the device DLINFER_DEVICE names: the batched
        // products become Transpose/MatMul nodes; the rest keep Einsum. Against the brute force either way.
        let cases: [(String, [[Int]], lowered: Bool)] = [
            ("bhqd,bhkd->bhqk", [[2, 3, 5, 8], [2, 3, 7, 8]], true),
            ("bhqk,bhkd->bhqd", [[2, 3, 5, 7], [2, 3, 7, 8]], true),
            ("bij,bjk->bik", [[3, 4, 6], [3, 6, 5]], true),
            ("bji,bjk->bki", [[3, 6, 4], [3, 6, 5]], true),
            ("ij,kj->ik", [[40, 70], [33, 70]], true),
            ("ij,jk", [[3, 4], [4, 2]], true),
            ("ibh,jbh->bij", [[5, 2, 3], [4, 2, 3]], true),
            ("i,i->", [[7], [7]], false),
            ("bij,bjk->bk", [[3, 4, 6], [3, 6, 5]], false),
            ("i,j->ij", [[3], [4]], false),
            ("bij,ajk->abik", [[3, 4, 6], [2, 6, 5]], false),
            ("bii,bij->bj", [[2, 3, 3], [2, 3, 4]], false),
        ]
        for (eq, shapes, lowered) in cases {
            let xs = shapes.enumerated().map { k, s in values(.float32, s, seed: k + 7) }
            let (m, _) = OneNode.model("Einsum", opset: 12, xs, attrs: [attr("equation", eq)])
            let ops = try m.load().graph.nodes.map(\.op.name)
            XCTAssertEqual(ops.contains("Einsum"), !lowered, "\(eq): \(ops)")
            let y = try m.run(xs)[0]
            let (want, wantShape) = try bruteForce(eq, xs)
            XCTAssertEqual(y.shape, wantShape, eq)
            assertClose(y, want, shape: wantShape, rtol: 1e-4, atol: 1e-4, eq)
        }
    }

    func testInt8AndUInt16Wrap() throws {
        let a = Tensor([Int8(100), 100, -100, 3], shape: [2, 2]), b = Tensor([Int8(2), 1, 1, 1], shape: [2, 2])
        let y = try OneNode.run(.einsum(try Einsum(equation: "ij,jk->ik")), [a, b])
        XCTAssertEqual(y.array(Int8.self), [300, 200, -197, -97].map { Int8(truncatingIfNeeded: $0) })
        let u = Tensor([UInt16(65535), 2], shape: [2])
        XCTAssertEqual(try OneNode.run(.einsum(try Einsum(equation: "i->")), [u]).array(UInt16.self), [1])
    }

    func testMalformedEquationsAndShapesAreRejected() {
        for eq in ["ij->ii", "i->j", "i.j->i", "....->", "i->i->i", "i1->i", "...i...->i"] {
            XCTAssertThrowsError(try Einsum(equation: eq), eq)
        }
        let x = values(.float32, [2, 3], seed: 1)
        XCTAssertThrowsError(try OneNode.run(.einsum(try Einsum(equation: "ij,jk->ik")), [x]), "one operand for two")
        XCTAssertThrowsError(try OneNode.run(.einsum(try Einsum(equation: "ijk->i")), [x]), "rank 2 for three letters")
        XCTAssertThrowsError(try OneNode.run(.einsum(try Einsum(equation: "ij,ij->i")), [x, values(.float32, [2, 4], seed: 2)]), "3 vs 4")
        XCTAssertThrowsError(try OneNode.run(.einsum(try Einsum(equation: "ii->i")), [x]), "diagonal of a non-square")
        XCTAssertThrowsError(try OneNode.run(.einsum(try Einsum(equation: "ij,ij->ij")), [x, values(.float64, [2, 3], seed: 2)]), "mixed types")
        var m = ModelBuilder(opset: 12)
        m.input("x", .float32, [.fixed(2), .fixed(3)])
        m.node("Einsum", ["x"], ["y"])
        m.output("y", .float32)
        XCTAssertThrowsError(try m.load(), "no equation")
    }

    func testSymbolicDims() throws {
        let batch = Dim.symbol("batch")
        let e = try Einsum(equation: "...ij,jk->...ik")
        let t = try e.inferTypes([TypedInput(type: ValueType(.float32, [batch, .fixed(3), .fixed(4)]), value: nil),
                                  TypedInput(type: ValueType(.float32, [.fixed(4), .fixed(5)]), value: nil)])
        XCTAssertEqual(t, [ValueType(.float32, [batch, .fixed(3), .fixed(5)])])
    }

    // MARK: MatMul, MatMulInteger

    func testIntegerAndFloat64MatMulWithBroadcastAndVectors() throws {
        let shapes: [([Int], [Int])] = [([2, 1, 3, 4], [5, 4, 6]), ([4], [4, 3]), ([3, 4], [4]), ([4], [4]), ([2, 3, 4], [2, 4, 5]), ([3, 0], [0, 2])]
        for dtype in [DType.int32, .int64, .uint32, .uint64, .float64] {
            for (sa, sb) in shapes {
                let a = values(dtype, sa, seed: 3), b = values(dtype, sb, seed: 4)
                let y = try OneNode.run("MatMul", opset: 13, [a, b], outputs: [dtype])[0]
                // numpy: vectors become [1, K] / [K, 1] and lose that dim.
                let l = sa.count == 1 ? "k" : String("zyx".suffix(sa.count - 2)) + "mk"
                let r = sb.count == 1 ? "k" : String("zyx".suffix(sb.count - 2)) + "kn"
                let batch = String("zyx".suffix(max(0, max(sa.count, sb.count) - 2)))
                let eq = "\(l),\(r)->\(batch)\(sa.count == 1 ? "" : "m")\(sb.count == 1 ? "" : "n")"
                let (want, wantShape) = try bruteForce(eq, [a, b])
                XCTAssertEqual(y.shape, wantShape, "\(dtype) \(sa) \(sb)")
                assertClose(y, want, dtype: dtype, shape: wantShape, rtol: 1e-4, atol: 1e-4, "\(dtype) \(sa) \(sb)")
            }
        }
        XCTAssertEqual(try OneNode.run(.matMul(MatMul()), [Tensor([UInt32.max, 2], shape: [1, 2]),
                                                           Tensor([UInt32(2), 1], shape: [2, 1])]).array(UInt32.self),
                       [UInt32.max &* 2 &+ 2], "wraps")
    }

    func testMatMulIntegerZeroPoints() throws {
        let a = Tensor((0..<12).map { UInt8($0 * 21) }, shape: [3, 4])
        let b = Tensor((0..<8).map { Int8($0 * 30 - 100) }, shape: [4, 2])
        for (za, zb) in [(nil, nil), (Tensor.scalar(UInt8(7)), nil), (Tensor([UInt8(1), 2, 3], shape: [3]), Tensor([Int8(-4), 5], shape: [2])),
                         (Tensor([UInt8(9), 8, 7], shape: [3, 1]), Tensor([Int8(3)], shape: [1]))] as [(Tensor?, Tensor?)] {
            let y = try OneNode.run("MatMulInteger", opset: 10, [a, b, za, zb], constant: [2, 3], outputs: [.int32])[0]
            var want = [Int32]()
            for i in 0..<3 {
                for j in 0..<2 {
                    let zai = za.map { Int32($0.count == 1 ? $0.array(UInt8.self)[0] : $0.array(UInt8.self)[i]) } ?? 0
                    let zbj = zb.map { Int32($0.count == 1 ? $0.array(Int8.self)[0] : $0.array(Int8.self)[j]) } ?? 0
                    want.append((0..<4).map { p in (Int32(a.array(UInt8.self)[i * 4 + p]) - zai) * (Int32(b.array(Int8.self)[p * 2 + j]) - zbj) }.reduce(0, +))
                }
            }
            XCTAssertEqual(y.array(Int32.self), want, "\(String(describing: za?.shape)) \(String(describing: zb?.shape))")
        }
        XCTAssertThrowsError(try OneNode.run(.matMulInteger(MatMulInteger()), [a, b, Tensor([UInt8(1), 2], shape: [2])]), "2 zero points for 3 rows")
    }
}


/// Small distinct values of any type (signed types get negatives too).
private func values(_ dtype: DType, _ shape: [Int], seed: Int) -> Tensor {
    let n = shape.elementCount
    let unsigned: Set<DType> = [.uint8, .uint16, .uint32, .uint64]
    let v = (0..<n).map { ($0 * 7 + seed * 13) % 11 - (unsigned.contains(dtype) ? 0 : 5) }
    switch dtype {
    case .float32: return Tensor(v.map { Float($0) / 3 }, shape: shape)
    case .float64: return Tensor(v.map { Double($0) / 3 }, shape: shape)
    case .int32: return Tensor(v.map { Int32($0) }, shape: shape)
    case .int64: return Tensor(v.map { Int64($0) }, shape: shape)
    case .uint32: return Tensor(v.map { UInt32($0) }, shape: shape)
    case .uint64: return Tensor(v.map { UInt64($0) }, shape: shape)
    default: fatalError("test values for \(dtype)")
    }
}

/// Σ over every assignment of the letters of an explicit equation (letters only); a dim of 1 against a larger one
/// broadcasts.
private func bruteForce(_ equation: String, _ xs: [Tensor]) throws -> ([Double], [Int]) {
    let parts = equation.split(separator: "-", omittingEmptySubsequences: false)
    let terms = parts[0].split(separator: ",", omittingEmptySubsequences: false).map { Array($0) }
    let output: [Character]
    if parts.count > 1 { output = Array(parts[1].dropFirst()) } else {
        let all = terms.joined()
        output = Set(all).filter { c in all.filter { $0 == c }.count == 1 }.sorted()
    }
    var size = [Character: Int]()
    for (t, x) in zip(terms, xs) { for (c, d) in zip(t, x.shape) where size[c] == nil || size[c] == 1 { size[c] = d } }
    let letters = Array(size.keys).sorted()
    let vals = xs.map(elementValues)
    let outShape = output.map { size[$0]! }
    var out = [Double](repeating: 0, count: outShape.elementCount)
    let total = letters.map { size[$0]! }.elementCount
    for flat in 0..<total {
        var at = [Character: Int](), rem = flat
        for c in letters.reversed() { at[c] = rem % size[c]!; rem /= size[c]! }
        var p = 1.0
        for (k, t) in terms.enumerated() {
            var off = 0
            for (c, d) in zip(t, xs[k].shape) { off = off * d + (d == 1 ? 0 : at[c]!) }
            p *= vals[k][off]
        }
        var o = 0
        for c in output { o = o * size[c]! + at[c]! }
        out[o] += p
    }
    return (out, outShape)
}
