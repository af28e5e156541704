import DLInferCore
import DLInferEngine
import XCTest

/// Reductions and ArgMax at sizes the ONNX node tests do not reach (every kernel path: innermost rows, strided
/// columns, split long rows, multi-stage reductions), each against a naive double-precision reference written here;
/// plus malformed nodes that must be rejected with an error instead of trapping.
final class ReduceTests: XCTestCase {
    // MARK: Reductions

    func testReductionsEveryAxisSetAgainstNaive() throws {
        let shape = [3, 5, 1, 7, 33]
        let x = TestData.random(shape, seed: 4)
        let axisSets: [[Int]] = [[4], [3, 4], [0], [0, 1], [1], [0, 3], [1, 4], [0, 2, 4], [2], [-1, -4], []]
        for kind in [Reduce.Kind.sum, .mean, .max] {
            for axes in axisSets {
                for keep in [true, false] {
                    let op = Op.reduce(Reduce(kind, keepDims: keep, noopWithEmptyAxes: false))
                    let y = try OneNode.run(op, [x, TestData.int64(axes)], constant: [1])
                    let (want, wantShape) = naiveReduce(x, axes: axes, kind: kind, keep: keep)
                    XCTAssertEqual(y.shape, wantShape, "\(kind) \(axes) keep \(keep)")
                    assertClose(y, want, shape: wantShape, rtol: 1e-5, atol: 1e-6, "\(kind) \(axes) keep \(keep)")
                }
            }
        }
    }

    func testGlobalAndWideReductions() throws {
        // One long row (split across threads), a few long rows, and wide inner columns.
        for shape in [[100_003], [3, 70_001], [4, 9, 2_500]] {
            let x = TestData.random(shape, seed: shape.count)
            for kind in [Reduce.Kind.sum, .mean, .max] {
                let axes = shape.count == 3 ? [1] : [shape.count - 1]
                let y = try OneNode.run(.reduce(Reduce(kind, keepDims: false, noopWithEmptyAxes: false)), [x, TestData.int64(axes)], constant: [1])
                let (want, wantShape) = naiveReduce(x, axes: axes, kind: kind, keep: false)
                assertClose(y, want, shape: wantShape, rtol: 1e-4, atol: 1e-6, "\(kind) \(shape)")
            }
        }
    }

    func testReduceMaxPropagatesNaNAndHandlesInfinity() throws {
        var v = [Float](repeating: 1, count: 40)
        v[37] = .nan
        v[5] = .infinity
        let y = try OneNode.run(.reduce(Reduce(.max, keepDims: false, noopWithEmptyAxes: false)), [Tensor(v, shape: [2, 20]), TestData.int64([1])],
                                constant: [1])
        XCTAssertEqual(y.floats[0], .infinity)
        XCTAssertTrue(y.floats[1].isNaN)
    }

    func testIntegerAndBoolReductions() throws {
        let ints: [Int64] = (0..<60).map { Int64(($0 * 37) % 23) - 11 }
        let x = Tensor(ints, shape: [3, 4, 5])
        let sum = try OneNode.run(.reduce(Reduce(.sum, keepDims: false, noopWithEmptyAxes: false)), [x, TestData.int64([1])], constant: [1])
        let mean = try OneNode.run(.reduce(Reduce(.mean, keepDims: false, noopWithEmptyAxes: false)), [x, TestData.int64([1])], constant: [1])
        for i in 0..<3 {
            for k in 0..<5 {
                let s = (0..<4).map { ints[i * 20 + $0 * 5 + k] }.reduce(0, +)
                XCTAssertEqual(sum.buffer(Int64.self)[i * 5 + k], s)
                XCTAssertEqual(mean.buffer(Int64.self)[i * 5 + k], s / 4, "integer mean truncates toward zero")
            }
        }
        let b = Tensor([false, false, true, false, false, false], shape: [2, 3])
        let any = try OneNode.run(.reduce(Reduce(.max, keepDims: true, noopWithEmptyAxes: false)), [b, TestData.int64([1])], constant: [1])
        XCTAssertEqual(any.shape, [2, 1])
        XCTAssertEqual(any.array(Bool.self), [true, false])
    }

    func testEmptySetAndNoop() throws {
        let x = try! Tensor(dtype: .float32, shape: [2, 0, 3])
        let sum = try OneNode.run(.reduce(Reduce(.sum, keepDims: false, noopWithEmptyAxes: false)), [x, TestData.int64([1])], constant: [1])
        XCTAssertEqual(sum.shape, [2, 3])
        XCTAssertEqual(sum.array(Float.self), [Float](repeating: 0, count: 6))
        let max = try OneNode.run(.reduce(Reduce(.max, keepDims: true, noopWithEmptyAxes: false)), [x, TestData.int64([1])], constant: [1])
        XCTAssertEqual(max.array(Float.self), [Float](repeating: -.infinity, count: 6))
        let mean = try OneNode.run(.reduce(Reduce(.mean, keepDims: true, noopWithEmptyAxes: false)), [x, TestData.int64([1])], constant: [1])
        XCTAssertTrue(mean.floats.allSatisfy(\.isNaN))
        let y = TestData.random([2, 3], seed: 9)
        let same = try OneNode.run(.reduce(Reduce(.sum, keepDims: false, noopWithEmptyAxes: true)), [y, TestData.int64([])], constant: [1])
        XCTAssertEqual(same.shape, [2, 3])
        XCTAssertEqual(same.array(Float.self), y.array(Float.self))
    }

    func testSymbolicDimsSurviveTypeInference() throws {
        let batch = Dim.symbol("batch")
        let x = TypedInput(type: ValueType(.float32, [batch, .fixed(3), .fixed(8)]), value: nil)
        XCTAssertEqual(try Reduce(.mean, keepDims: true, noopWithEmptyAxes: false).inferTypes([x, TypedInput(TestData.int64([-1]))]),
                       [ValueType(.float32, [batch, .fixed(3), .fixed(1)])])
        XCTAssertEqual(try ArgMax(axis: 1, keepDims: false, selectLastIndex: false).inferTypes([x]), [ValueType(.int64, [batch, .fixed(8)])])
        XCTAssertEqual(try Pad(mode: .reflect).inferTypes([x, TypedInput(TestData.int64([0, 1, 2, 0, 1, 2]))]),
                       [ValueType(.float32, [batch, .fixed(5), .fixed(12)])])
        XCTAssertEqual(try Softmax(axis: -1, log: false, flattenTail: false).inferTypes([x]), [x.type])
    }

    func testReductionRejectsBadAxes() {
        let x = TestData.random([2, 3], seed: 5)
        let op = Op.reduce(Reduce(.sum, keepDims: true, noopWithEmptyAxes: false))
        XCTAssertThrowsError(try OneNode.run(op, [x, TestData.int64([2])], constant: [1]))
        XCTAssertThrowsError(try OneNode.run(op, [x, TestData.int64([1, -1])], constant: [1]))
        XCTAssertThrowsError(try OneNode.run(op, [x, TestData.int64([5])]), "non-constant axes are checked at run time")
        XCTAssertThrowsError(try OneNode.run(op, [Tensor([Int8(1)], shape: [1])]))
    }

    // MARK: ArgMax

    func testArgMaxAgainstNaiveWithTies() throws {
        let shape = [4, 6, 530]
        // Few distinct values, so ties are everywhere.
        let v = (0..<shape.elementCount).map { Float(($0 * 7919) % 5) }
        let x = Tensor(v, shape: shape)
        for axis in 0..<3 {
            for last in [false, true] {
                for keep in [false, true] {
                    let y = try OneNode.run(.argMax(ArgMax(axis: axis, keepDims: keep, selectLastIndex: last)), [x])
                    let outer = shape[..<axis].reduce(1, *), n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
                    var want = [Int64]()
                    for o in 0..<outer {
                        for j in 0..<inner {
                            var best = -Float.infinity, at = 0
                            for i in 0..<n {
                                let e = v[(o * n + i) * inner + j]
                                if e > best || (last && e == best) { best = e; at = i }
                            }
                            want.append(Int64(at))
                        }
                    }
                    var wantShape = shape
                    if keep { wantShape[axis] = 1 } else { wantShape.remove(at: axis) }
                    XCTAssertEqual(y.shape, wantShape)
                    XCTAssertEqual(y.array(Int64.self), want, "axis \(axis) last \(last)")
                }
            }
        }
    }

    func testArgMaxNaNWinsAndEmptyAxisIsRejected() throws {
        let x = Tensor([1, .nan, 3, .nan, 0] as [Float], shape: [5])
        XCTAssertEqual(try OneNode.run(.argMax(ArgMax(axis: 0, keepDims: false, selectLastIndex: false)), [x]).array(Int64.self), [1])
        XCTAssertEqual(try OneNode.run(.argMax(ArgMax(axis: 0, keepDims: false, selectLastIndex: true)), [x]).array(Int64.self), [3])
        XCTAssertThrowsError(try OneNode.run(.argMax(ArgMax(axis: 1, keepDims: true, selectLastIndex: false)), 
                                             [try! Tensor(dtype: .float32, shape: [2, 0])]))
        XCTAssertThrowsError(try OneNode.run(.argMax(ArgMax(axis: 0, keepDims: true, selectLastIndex: false)), [Tensor.scalar(Float(1))]))
    }
}

// MARK: helpers

private func naiveReduce(_ x: Tensor, axes: [Int], kind: Reduce.Kind, keep: Bool) -> ([Double], [Int]) {
    let shape = x.shape, rank = shape.count
    let reduced = Set(axes.isEmpty ? Array(0..<rank) : axes.map { $0 < 0 ? $0 + rank : $0 })
    var outShape = [Int]()
    for (i, d) in shape.enumerated() { if !reduced.contains(i) { outShape.append(d) } else if keep { outShape.append(1) } }
    let kept = (0..<rank).filter { !reduced.contains($0) }
    let keptShape = kept.map { shape[$0] }
    var acc = [Double](repeating: kind == .max ? -.infinity : 0, count: keptShape.elementCount)
    let v = x.array(Float.self)
    let strides = shape.contiguousStrides, outStrides = keptShape.contiguousStrides
    for flat in 0..<v.count {
        var o = 0
        for (k, a) in kept.enumerated() { o += (flat / strides[a] % shape[a]) * outStrides[k] }
        acc[o] = kind == .max ? max(acc[o], Double(v[flat])) : acc[o] + Double(v[flat])
    }
    if kind == .mean { let c = Double(reduced.map { shape[$0] }.reduce(1, *)); acc = acc.map { $0 / c } }
    return (acc, outShape)
}

