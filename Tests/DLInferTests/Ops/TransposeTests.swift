import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// Transpose's fast paths (tiles, row copies, views) at awkward sizes and on every element size, against a naive
/// reference; and malformed permutations rejected.
final class TransposeTests: XCTestCase {
    func testTransposeMatchesNaiveForEveryElementSize() throws {
        let cases: [([Int], [Int]?)] = [
            ([3, 67, 131], [0, 2, 1]),          // batched 2-D transpose: tiles
            ([2, 19, 33, 17], [0, 2, 3, 1]),    // NCHW -> NHWC
            ([2, 33, 17, 19], [0, 3, 1, 2]),    // NHWC -> NCHW
            ([4, 1, 5, 1, 3], [4, 2, 0, 3, 1]), // size-1 dims
            ([5, 6, 7, 8], [1, 0, 2, 3]),       // innermost dim stays: row copies
            ([7, 300, 2], [2, 1, 0]),
            ([129, 257], [1, 0]),
            ([2, 3, 4], nil),                   // default: reversed
            ([3, 1, 4], [1, 0, 2]),             // moves only a size-1 dim: a view
        ]
        for dtype in [DType.int8, .int16, .float32, .int64] {
            for (shape, perm) in cases {
                var b = ModelBuilder(opset: 21)
                b.input("x", dtype, shape.map { .fixed($0) })
                b.node("Transpose", ["x"], ["y"], perm.map { [attr("perm", $0)] } ?? [])
                b.output("y", dtype)
                let x = patterned(dtype, shape)
                let y = try b.run([x])[0]
                let p = perm ?? Array((0..<shape.count).reversed())
                let want = movedElements(x, outShape: p.map { shape[$0] }) { o in
                    var i = [Int](repeating: 0, count: shape.count)
                    for (k, d) in p.enumerated() { i[d] = o[k] }
                    return i
                }
                XCTAssertEqual(y.shape, want.shape, "\(dtype) \(shape) \(String(describing: perm))")
                XCTAssertEqual(bytes(y), bytes(want), "\(dtype) \(shape) \(String(describing: perm))")
            }
        }
    }

    func testMalformedTransposeIsRejected() {
        assertRefusedAtLoad([
            ("Transpose perm", OneNode.loadError("Transpose", opset: 13, [patterned(.float32, [2, 3])], attrs: [attr("perm", [0, 0])])),
            ("Transpose rank", OneNode.loadError("Transpose", opset: 13, [patterned(.float32, [2, 3])], attrs: [attr("perm", [1, 0, 2])])),
        ])
    }
}
