import DLInferCore
import DLInferEngine
import XCTest

/// Softmax, reductions, ArgMax and Pad at sizes the ONNX node tests do not reach (every kernel path: innermost
/// rows, strided columns, split long rows, multi-stage reductions, row tails that are not a multiple of the SIMD
/// width), each against a naive double-precision reference written here; plus malformed nodes that must be
/// rejected with an error instead of trapping.
final class ReduceTests: XCTestCase {

    // MARK: Softmax

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

    // MARK: Reductions

    func testReductionsEveryAxisSetAgainstNaive() throws {
        let shape = [3, 5, 1, 7, 33]
        let x = TestData.random(shape, seed: 4)
        let axisSets: [[Int]] = [[4], [3, 4], [0], [0, 1], [1], [0, 3], [1, 4], [0, 2, 4], [2], [-1, -4], []]
        for kind in [Reduce.Kind.sum, .mean, .max] {
            for axes in axisSets {
                for keep in [true, false] {
                    let op = Op.reduce(Reduce(kind, keepDims: keep, noopWithEmptyAxes: false))
                    let y = try OneNode.run(op, [x, axesTensor(axes)], constant: [1])
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
                let y = try OneNode.run(.reduce(Reduce(kind, keepDims: false, noopWithEmptyAxes: false)), [x, axesTensor(axes)], constant: [1])
                let (want, wantShape) = naiveReduce(x, axes: axes, kind: kind, keep: false)
                assertClose(y, want, shape: wantShape, rtol: 1e-4, atol: 1e-6, "\(kind) \(shape)")
            }
        }
    }

    func testReduceMaxPropagatesNaNAndHandlesInfinity() throws {
        var v = [Float](repeating: 1, count: 40)
        v[37] = .nan
        v[5] = .infinity
        let y = try OneNode.run(.reduce(Reduce(.max, keepDims: false, noopWithEmptyAxes: false)), [Tensor(v, shape: [2, 20]), axesTensor([1])],
                                constant: [1])
        XCTAssertEqual(y.floats[0], .infinity)
        XCTAssertTrue(y.floats[1].isNaN)
    }

    func testIntegerAndBoolReductions() throws {
        let ints: [Int64] = (0..<60).map { Int64(($0 * 37) % 23) - 11 }
        let x = Tensor(ints, shape: [3, 4, 5])
        let sum = try OneNode.run(.reduce(Reduce(.sum, keepDims: false, noopWithEmptyAxes: false)), [x, axesTensor([1])], constant: [1])
        let mean = try OneNode.run(.reduce(Reduce(.mean, keepDims: false, noopWithEmptyAxes: false)), [x, axesTensor([1])], constant: [1])
        for i in 0..<3 {
            for k in 0..<5 {
                let s = (0..<4).map { ints[i * 20 + $0 * 5 + k] }.reduce(0, +)
                XCTAssertEqual(sum.buffer(Int64.self)[i * 5 + k], s)
                XCTAssertEqual(mean.buffer(Int64.self)[i * 5 + k], s / 4, "integer mean truncates toward zero")
            }
        }
        let b = Tensor([false, false, true, false, false, false], shape: [2, 3])
        let any = try OneNode.run(.reduce(Reduce(.max, keepDims: true, noopWithEmptyAxes: false)), [b, axesTensor([1])], constant: [1])
        XCTAssertEqual(any.shape, [2, 1])
        XCTAssertEqual(any.array(Bool.self), [true, false])
    }

    func testEmptySetAndNoop() throws {
        let x = try! Tensor(dtype: .float32, shape: [2, 0, 3])
        let sum = try OneNode.run(.reduce(Reduce(.sum, keepDims: false, noopWithEmptyAxes: false)), [x, axesTensor([1])], constant: [1])
        XCTAssertEqual(sum.shape, [2, 3])
        XCTAssertEqual(sum.array(Float.self), [Float](repeating: 0, count: 6))
        let max = try OneNode.run(.reduce(Reduce(.max, keepDims: true, noopWithEmptyAxes: false)), [x, axesTensor([1])], constant: [1])
        XCTAssertEqual(max.array(Float.self), [Float](repeating: -.infinity, count: 6))
        let mean = try OneNode.run(.reduce(Reduce(.mean, keepDims: true, noopWithEmptyAxes: false)), [x, axesTensor([1])], constant: [1])
        XCTAssertTrue(mean.floats.allSatisfy(\.isNaN))
        let y = TestData.random([2, 3], seed: 9)
        let same = try OneNode.run(.reduce(Reduce(.sum, keepDims: false, noopWithEmptyAxes: true)), [y, axesTensor([])], constant: [1])
        XCTAssertEqual(same.shape, [2, 3])
        XCTAssertEqual(same.array(Float.self), y.array(Float.self))
    }

    func testSymbolicDimsSurviveTypeInference() throws {
        let batch = Dim.symbol("batch")
        let x = TypedInput(type: ValueType(.float32, [batch, .fixed(3), .fixed(8)]), value: nil)
        XCTAssertEqual(try Reduce(.mean, keepDims: true, noopWithEmptyAxes: false).inferTypes([x, TypedInput(axesTensor([-1]))]),
                       [ValueType(.float32, [batch, .fixed(3), .fixed(1)])])
        XCTAssertEqual(try ArgMax(axis: 1, keepDims: false, selectLastIndex: false).inferTypes([x]), [ValueType(.int64, [batch, .fixed(8)])])
        XCTAssertEqual(try Pad(mode: .reflect).inferTypes([x, TypedInput(padsTensor([0, 1, 2, 0, 1, 2]))]),
                       [ValueType(.float32, [batch, .fixed(5), .fixed(12)])])
        XCTAssertEqual(try Softmax(axis: -1, log: false, flattenTail: false).inferTypes([x]), [x.type])
    }

    func testReductionRejectsBadAxes() {
        let x = TestData.random([2, 3], seed: 5)
        let op = Op.reduce(Reduce(.sum, keepDims: true, noopWithEmptyAxes: false))
        XCTAssertThrowsError(try OneNode.run(op, [x, axesTensor([2])], constant: [1]))
        XCTAssertThrowsError(try OneNode.run(op, [x, axesTensor([1, -1])], constant: [1]))
        XCTAssertThrowsError(try OneNode.run(op, [x, axesTensor([5])]), "non-constant axes are checked at run time")
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

    // MARK: Pad

    func testPadEveryModeAgainstNaive() throws {
        let shape = [2, 3, 4, 5]
        let x = TestData.random(shape, seed: 6)
        let padSets: [[Int]] = [[0, 1, 2, 3, 1, 0, 4, 2], [0, 0, 9, 11, 0, 0, 7, 13], [1, -1, 2, -2, 0, 2, -1, 3], [0, 0, -4, 0, 0, 0, 4, -5]]
        for mode in [Pad.Mode.constant, .reflect, .edge, .wrap] {
            for pads in padSets {
                let cropsAll = zip(shape, (0..<4).map { (pads[$0], pads[4 + $0]) }).contains { n, p in n + min(p.0, 0) + min(p.1, 0) == 0 }
                let value = Tensor.scalar(Float(-2.5))
                if mode != .constant && cropsAll {
                    XCTAssertThrowsError(try OneNode.run(.pad(Pad(mode: mode)), [x, padsTensor(pads), value], constant: [1]), "\(mode) \(pads)")
                    continue
                }
                let y = try OneNode.run(.pad(Pad(mode: mode)), [x, padsTensor(pads), value], constant: [1])
                let (want, wantShape) = naivePad(x.array(Float.self), shape, pads, mode, fill: -2.5)
                XCTAssertEqual(y.shape, wantShape, "\(mode) \(pads)")
                XCTAssertEqual(y.array(Float.self), want, "\(mode) \(pads)")
            }
        }
    }

    func testPadAxesInputAndOtherElementTypes() throws {
        let ints = Tensor((0..<12).map { Int64($0) }, shape: [3, 4])
        // Opset 18 axes: only the last axis, padded (1, 2) and filled with 7.
        let y = try OneNode.run(.pad(Pad(mode: .constant)), [ints, padsTensor([1, 2]), Tensor.scalar(Int64(7)), axesTensor([-1])], constant: [1, 3])
        XCTAssertEqual(y.shape, [3, 7])
        XCTAssertEqual(y.array(Int64.self), [7, 0, 1, 2, 3, 7, 7, 7, 4, 5, 6, 7, 7, 7, 7, 8, 9, 10, 11, 7, 7])
        let bools = Tensor([true, false, false], shape: [3])
        XCTAssertEqual(try OneNode.run(.pad(Pad(mode: .edge)), [bools, padsTensor([2, 1])], constant: [1]).array(Bool.self),
                       [true, true, true, false, false, false])
        // The pre-opset-11 fill value travels in the attribute.
        let legacy = try OneNode.run(.pad(Pad(mode: .constant, value: 1.5)), [Tensor([Float(0)], shape: [1]), padsTensor([1, 1])], constant: [1])
        XCTAssertEqual(legacy.array(Float.self), [1.5, 0, 1.5])
    }

    func testPadRejectsMalformedPads() {
        let x = TestData.random([2, 3], seed: 7)
        let op = Op.pad(Pad(mode: .constant))
        XCTAssertThrowsError(try OneNode.run(op, [x, padsTensor([1, 1, 1])], constant: [1]), "wrong count")
        XCTAssertThrowsError(try OneNode.run(op, [x, padsTensor([0, -3, 0, -1])], constant: [1]), "crops more than the axis")
        XCTAssertThrowsError(try OneNode.run(op, [x, padsTensor([0, 1 << 50, 0, 0])], constant: [1]), "absurd pad")
        XCTAssertThrowsError(try OneNode.run(op, [x, padsTensor([0, 0, 0, 0]), Tensor.scalar(Int64(1))], constant: [1]), "fill of another type")
        XCTAssertThrowsError(try OneNode.run(op, [x, padsTensor([1, 0]), nil, axesTensor([2])], constant: [1, 3]), "axis out of range")
    }
}

// MARK: helpers

private func axesTensor(_ axes: [Int]) -> Tensor { Tensor(axes.map { Int64($0) }, shape: [axes.count]) }
private func padsTensor(_ pads: [Int]) -> Tensor { Tensor(pads.map { Int64($0) }, shape: [pads.count]) }

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

/// numpy's np.pad, after cropping negative pads; reflection bounces step by step (independent of the kernel's formula).
private func naivePad(_ v: [Float], _ shape: [Int], _ pads: [Int], _ mode: Pad.Mode, fill: Float) -> ([Float], [Int]) {
    let rank = shape.count
    let begins = (0..<rank).map { pads[$0] }, ends = (0..<rank).map { pads[rank + $0] }
    let outShape = (0..<rank).map { shape[$0] + begins[$0] + ends[$0] }
    let strides = shape.contiguousStrides
    var out = [Float]()
    for flat in 0..<outShape.elementCount {
        var rem = flat, src = 0, constant = false
        for a in stride(from: rank - 1, through: 0, by: -1) {
            let o = rem % outShape[a]
            rem /= outShape[a]
            let start = max(-begins[a], 0), kept = shape[a] + min(begins[a], 0) + min(ends[a], 0)
            var j = o - max(begins[a], 0)
            if j < 0 || j >= kept {
                switch mode {
                case .constant: constant = true
                case .edge: j = j < 0 ? 0 : kept - 1
                case .wrap: while j < 0 { j += kept }; while j >= kept { j -= kept }
                case .reflect:
                    while j < 0 || j >= kept {
                        if kept == 1 { j = 0 } else if j < 0 { j = -j } else { j = 2 * (kept - 1) - j }
                    }
                }
            }
            src += (start + j) * strides[a]
        }
        out.append(constant ? fill : v[src])
    }
    return (out, outShape)
}
