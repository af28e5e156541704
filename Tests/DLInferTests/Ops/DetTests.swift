import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// Det against the Leibniz formula: batches, every size up to 6, singular and empty matrices, NaN, float64, both
/// opsets.
final class DetTests: XCTestCase {
    func testDeterminantsAgainstLeibniz() throws {
        for m in 1...6 {
            let x = values([3, 2, m, m], seed: m)
            let y = try det(x, opset: m % 2 == 0 ? 22 : 11)
            XCTAssertEqual(y.shape, [3, 2])
            let v = x.array(Float.self).map(Double.init)
            for b in 0..<6 {
                let want = leibniz(Array(v[(b * m * m)..<((b + 1) * m * m)]), m)
                XCTAssertEqual(Double(y.array(Float.self)[b]), want, accuracy: 1e-4 * Swift.max(1, abs(want)), "m \(m) matrix \(b)")
            }
        }
    }

    func testManyMatricesFloat64AndCornerCases() throws {
        let x = values([500, 4, 4], seed: 9)
        let d = Tensor(x.array(Float.self).map(Double.init), shape: [500, 4, 4])
        let y = try det(d, opset: 22)
        XCTAssertEqual(y.dtype, .float64)
        for b in stride(from: 0, to: 500, by: 37) {
            XCTAssertEqual(y.array(Double.self)[b], leibniz(Array(d.array(Double.self)[(b * 16)..<((b + 1) * 16)]), 4), accuracy: 1e-10)
        }
        // A 2-D input gives a scalar; a singular matrix 0; a row swap flips the sign.
        XCTAssertEqual(try det(Tensor([Float(1), 2, 2, 4], shape: [2, 2]), opset: 11).shape, [])
        XCTAssertEqual(try det(Tensor([Float(1), 2, 2, 4], shape: [2, 2]), opset: 11).array(Float.self), [0])
        XCTAssertEqual(try det(Tensor([Float(0), 1, 1, 0], shape: [2, 2]), opset: 11).array(Float.self), [-1])
        // numpy's rules for NaN: a singular matrix is 0 whatever it holds, a NaN pivot makes NaN.
        XCTAssertEqual(try det(Tensor([Float(0), 0, 0, 0, 0, .nan, 0, 0, 1], shape: [3, 3]), opset: 11).array(Float.self), [0])
        XCTAssertEqual(try det(Tensor([Float(1), 0, .nan, 1], shape: [2, 2]), opset: 11).array(Float.self)[0].isNaN, true)
        XCTAssertEqual(try det(Tensor([Float.nan, 0, 0, 0], shape: [2, 2]), opset: 11).array(Float.self), [0])
        // 0 x 0 matrices have determinant 1.
        XCTAssertEqual(try det(try! Tensor(dtype: .float32, shape: [3, 0, 0]), opset: 22).array(Float.self), [1, 1, 1])
        XCTAssertThrowsError(try det(values([2, 3], seed: 0), opset: 22))
        XCTAssertThrowsError(try det(values([3], seed: 0), opset: 22))
    }

    private func det(_ x: Tensor, opset: Int) throws -> Tensor {
        try OneNode.run("Det", opset: opset, [x], outputs: [x.dtype])[0]
    }
}

private func values(_ shape: [Int], seed: Int) -> Tensor {
    var state = UInt64(seed) &* 6364136223846793005 &+ 1442695040888963407
    return Tensor((0..<shape.elementCount).map { _ -> Float in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 23) - 1
    }, shape: shape)
}

/// Σ over permutations of sign(σ) Π a[i, σ(i)].
private func leibniz(_ a: [Double], _ m: Int) -> Double {
    var total = 0.0
    func permute(_ prefix: [Int], _ rest: [Int]) {
        guard !rest.isEmpty else {
            var inversions = 0
            for i in 0..<m { for j in (i + 1)..<m where prefix[i] > prefix[j] { inversions += 1 } }
            total += (inversions % 2 == 0 ? 1 : -1) * (0..<m).map { a[$0 * m + prefix[$0]] }.reduce(1, *)
            return
        }
        for (k, v) in rest.enumerated() { var r = rest; r.remove(at: k); permute(prefix + [v], r) }
    }
    permute([], Array(0..<m))
    return total
}
