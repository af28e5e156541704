import DLInferCore
import DLInferEngine
import XCTest

/// Softmax and LogSoftmax on every layout (innermost rows, strided columns, the pre-13 flattened tail, wide rows with
/// large values) against a naive double-precision reference written here, bad axes rejected; Hardmax in both
/// groupings with NaN.
final class SoftmaxTests: XCTestCase {
    func testSoftmaxEveryLayoutAgainstNaive() throws {
        let shape = [3, 37, 19]
        let x = TestData.random(shape, seed: 1, scale: 8)
        for log in [false, true] {
            for axis in [0, 1, 2, -1] {
                let y = try OneNode.run(.softmax(Softmax(axis: axis, log: log, flattenTail: false)), [x])
                let a = axis < 0 ? axis + 3 : axis
                assertClose(y, naiveSoftmax(x, outer: shape[..<a].reduce(1, *), n: shape[a], inner: shape[(a + 1)...].reduce(1, *), log: log),
                            shape: shape, rtol: 1e-5, atol: 1e-6, "axis \(axis) log \(log)")
            }
            // Opset < 13: the tail from `axis` on is one row.
            let y = try OneNode.run(.softmax(Softmax(axis: 1, log: log, flattenTail: true)), [x])
            assertClose(y, naiveSoftmax(x, outer: 3, n: 37 * 19, inner: 1, log: log), shape: shape, rtol: 1e-5, atol: 1e-6,
                        "flattened, log \(log)")
        }
    }

    func testSoftmaxWideRowsAndLargeValues() throws {
        let x = TestData.random([5, 1003], seed: 2, scale: 300)
        for log in [false, true] {
            let y = try OneNode.run(.softmax(Softmax(axis: -1, log: log, flattenTail: false)), [x])
            assertClose(y, naiveSoftmax(x, outer: 5, n: 1003, inner: 1, log: log), shape: [5, 1003], rtol: 1e-5, atol: 1e-6, "log \(log)")
        }
    }

    func testSoftmaxRejectsBadAxis() {
        let x = TestData.random([2, 3], seed: 3)
        XCTAssertThrowsError(try OneNode.run(.softmax(Softmax(axis: 2, log: false, flattenTail: false)), [x]))
        XCTAssertThrowsError(try OneNode.run(.softmax(Softmax(axis: -3, log: false, flattenTail: true)), [x]))
    }

    // MARK: Hardmax

    func testHardmaxBothGroupingsAndNaN() throws {
        let shape = [2, 3, 4]
        let x = TestData.random(shape, seed: 5)
        for (axis, flatten) in [(1, true), (0, true), (2, true), (1, false), (-1, false), (0, false)] {
            let y = try OneNode.run(.hardmax(Hardmax(axis: axis, flattenTail: flatten)), [x])
            let a = axis < 0 ? axis + 3 : axis
            let outer = shape[..<a].reduce(1, *), n = flatten ? shape[a...].reduce(1, *) : shape[a]
            let inner = flatten ? 1 : shape[(a + 1)...].reduce(1, *)
            var want = [Float](repeating: 0, count: x.count)
            let v = x.array(Float.self)
            for o in 0..<outer {
                for j in 0..<inner {
                    let idx = (0..<n).map { (o * n + $0) * inner + j }
                    want[idx.max { v[$0] < v[$1] }!] = 1
                }
            }
            XCTAssertEqual(y.array(Float.self), want, "axis \(axis) flatten \(flatten)")
        }
        let ties = Tensor([1, 5, 5, .nan, 2, .nan] as [Float], shape: [2, 3])
        XCTAssertEqual(try OneNode.run(.hardmax(Hardmax(axis: 1, flattenTail: false)), [ties]).array(Float.self), [0, 1, 0, 1, 0, 0])
    }
}

private func naiveSoftmax(_ x: Tensor, outer: Int, n: Int, inner: Int, log logMode: Bool) -> [Double] {
    let v = x.array(Float.self).map(Double.init)
    var out = [Double](repeating: 0, count: v.count)
    for o in 0..<outer {
        for j in 0..<inner {
            let idx = (0..<n).map { (o * n + $0) * inner + j }
            let m = idx.map { v[$0] }.max()!
            let s = idx.map { exp(v[$0] - m) }.reduce(0, +)
            for i in idx { out[i] = logMode ? v[i] - m - log(s) : exp(v[i] - m) / s }
        }
    }
    return out
}
