import DLInferCore
import DLInferEngine
import XCTest

/// CumSum and CumProd on every axis, exclusive and reverse, against a naive running sum or product; integer overflow
/// wrapping, and bad axes rejected at run time.
final class CumulativeTests: XCTestCase {
    func testCumulativeEveryAxisAndMode() throws {
        let shape = [3, 4, 50]
        let x = TestData.random(shape, seed: 6, scale: 1.2)
        let v = x.array(Float.self).map(Double.init)
        for kind in [Cumulative.Kind.sum, .prod] {
            for axis in [0, 1, 2, -1] {
                for (exclusive, reverse) in [(false, false), (true, false), (false, true), (true, true)] {
                    let y = try OneNode.run(.cumulative(Cumulative(kind, exclusive: exclusive, reverse: reverse)), [x, Tensor.scalar(Int32(axis))])
                    let a = axis < 0 ? axis + 3 : axis
                    let outer = shape[..<a].reduce(1, *), n = shape[a], inner = shape[(a + 1)...].reduce(1, *)
                    var want = [Double](repeating: 0, count: v.count)
                    for o in 0..<outer {
                        for j in 0..<inner {
                            var acc: Double = kind == .prod ? 1 : 0
                            for step in 0..<n {
                                let i = (o * n + (reverse ? n - 1 - step : step)) * inner + j
                                if exclusive { want[i] = acc }
                                acc = kind == .prod ? acc * v[i] : acc + v[i]
                                if !exclusive { want[i] = acc }
                            }
                        }
                    }
                    assertClose(y, want, shape: shape, rtol: 1e-4, atol: 1e-5, "\(kind) axis \(axis) exclusive \(exclusive) reverse \(reverse)")
                }
            }
        }
        let ints = Tensor([Int64.max, 1, 2, 3], shape: [4])
        XCTAssertEqual(try OneNode.run(.cumulative(Cumulative(.sum)), [ints, Tensor([Int64(0)], shape: [1])]).array(Int64.self),
                       [.max, .min, .min + 2, .min + 5], "wraps; a one-element axis tensor is accepted")
        XCTAssertThrowsError(try OneNode.run(.cumulative(Cumulative(.sum)), [ints, Tensor.scalar(Int64(1))]), "axis out of range at run time")
        XCTAssertThrowsError(try OneNode.run(.cumulative(Cumulative(.sum)), [ints, Tensor([Int64(0), 0], shape: [2])]), "two axes")
        XCTAssertThrowsError(try OneNode.run(.cumulative(Cumulative(.sum)), [Tensor([Int8(1)], shape: [1]), Tensor.scalar(Int64(0))]), "int8")
    }
}
