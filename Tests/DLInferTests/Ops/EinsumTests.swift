import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// Einsum on every kind of equation (matrix products in and out of place, transposes, traces, diagonals, ellipsis
/// broadcasting, implicit outputs, three operands, integer types) against a brute-force sum over every label
/// assignment; the matrix products lowered to MatMul; malformed equations and shapes that must be rejected.
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
                let xs = shapes.enumerated().map { k, s in TestData.smallValues(dtype, s, seed: k + 1) }
                let y = try OneNode.run(.einsum(try Einsum(equation: eq)), xs)
                let (want, wantShape) = try einsumReference(explicit ?? eq, xs)
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
            let xs = shapes.enumerated().map { k, s in TestData.smallValues(.float32, s, seed: k + 7) }
            let (m, _) = OneNode.model("Einsum", opset: 12, xs, attrs: [attr("equation", eq)])
            let ops = try m.load().graph.nodes.map(\.op.name)
            XCTAssertEqual(ops.contains("Einsum"), !lowered, "\(eq): \(ops)")
            let y = try m.run(xs)[0]
            let (want, wantShape) = try einsumReference(eq, xs)
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
        let x = TestData.smallValues(.float32, [2, 3], seed: 1)
        XCTAssertThrowsError(try OneNode.run(.einsum(try Einsum(equation: "ij,jk->ik")), [x]), "one operand for two")
        XCTAssertThrowsError(try OneNode.run(.einsum(try Einsum(equation: "ijk->i")), [x]), "rank 2 for three letters")
        XCTAssertThrowsError(try OneNode.run(.einsum(try Einsum(equation: "ij,ij->i")), [x, TestData.smallValues(.float32, [2, 4], seed: 2)]), "3 vs 4")
        XCTAssertThrowsError(try OneNode.run(.einsum(try Einsum(equation: "ii->i")), [x]), "diagonal of a non-square")
        XCTAssertThrowsError(try OneNode.run(.einsum(try Einsum(equation: "ij,ij->ij")), [x, TestData.smallValues(.float64, [2, 3], seed: 2)]), "mixed types")
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
}

