import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// Every reduction, ArgMax and ArgMin at sizes the ONNX node tests do not reach (every kernel path: innermost rows,
/// strided columns, split long rows, multi-stage reductions), each against a naive double-precision reference written
/// here: integer and bool types, empty sets, NaN and huge values, ties, the attribute forms of older opsets, the
/// per-version types; plus malformed nodes and flags other than 0 or 1 that must be rejected instead of trapping.
final class ReduceTests: XCTestCase {
    // MARK: ReduceSum/Mean/Max

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

    // MARK: ReduceMin/Prod/L1/L2/LogSum/LogSumExp/SumSquare

    func testEveryKindEveryAxisSetAgainstNaive() throws {
        let shape = [3, 5, 1, 7, 33]
        let x = TestData.random(shape, seed: 1, scale: 1.5)
        let axisSets: [[Int]] = [[4], [3, 4], [0], [0, 1], [1], [0, 3], [1, 4], [0, 2, 4], [-1, -4], []]
        for kind in [Reduce.Kind.min, .prod, .l1, .l2, .logSum, .logSumExp, .sumSquare] {
            // LogSum of a sum that may be negative: take it over |x|.
            let input = kind == .logSum ? Tensor(x.array(Float.self).map { abs($0) }, shape: shape) : x
            for axes in axisSets {
                for keep in [true, false] {
                    let y = try OneNode.run(.reduce(Reduce(kind, keepDims: keep, noopWithEmptyAxes: false)), [input, TestData.int64(axes)], constant: [1])
                    let (want, wantShape) = naiveReduce(input.array(Float.self).map(Double.init), shape, axes: axes, kind: kind, keep: keep)
                    XCTAssertEqual(y.shape, wantShape, "\(kind) \(axes)")
                    assertClose(y, want, shape: wantShape, rtol: 1e-4, atol: 1e-5, "\(kind) \(axes) keep \(keep)")
                }
            }
        }
    }

    func testGlobalReductionsSplitAcrossThreads() throws {
        let x = TestData.random([200_003], seed: 2, scale: 1)
        for kind in [Reduce.Kind.min, .l1, .l2, .sumSquare, .logSumExp] {
            let y = try OneNode.run(.reduce(Reduce(kind, keepDims: false, noopWithEmptyAxes: false)), [x])
            let (want, wantShape) = naiveReduce(x.array(Float.self).map(Double.init), [200_003], axes: [], kind: kind, keep: false)
            assertClose(y, want, shape: wantShape, rtol: 1e-4, atol: 1e-5, "\(kind)")
        }
    }

    func testLogSumExpIsStableAndIdentitiesOfEmptySets() throws {
        let big = Tensor([1000, 999, -.infinity, 1000] as [Float], shape: [2, 2])
        let y = try OneNode.run(.reduce(Reduce(.logSumExp, keepDims: false, noopWithEmptyAxes: false)), [big, TestData.int64([1])], constant: [1])
        XCTAssertEqual(y.array(Float.self)[0], 1000 + Float(log(1 + exp(-1.0))), accuracy: 1e-3)
        XCTAssertEqual(y.array(Float.self)[1], 1000, accuracy: 1e-3)
        let allInf = Tensor([-.infinity, -.infinity, .infinity, 1] as [Float], shape: [2, 2])
        XCTAssertEqual(try OneNode.run(.reduce(Reduce(.logSumExp, keepDims: false, noopWithEmptyAxes: false)), [allInf, TestData.int64([1])],
                                       constant: [1]).array(Float.self),
                       [-.infinity, .infinity])

        let empty = try! Tensor(dtype: .float32, shape: [2, 0, 3])
        let identities: [(Reduce.Kind, Float)] = [(.min, .infinity), (.prod, 1), (.l1, 0), (.l2, 0), (.sumSquare, 0),
                                                  (.logSum, -.infinity), (.logSumExp, -.infinity)]
        for (kind, v) in identities {
            let y = try OneNode.run(.reduce(Reduce(kind, keepDims: true, noopWithEmptyAxes: false)), [empty, TestData.int64([1])], constant: [1])
            XCTAssertEqual(y.shape, [2, 1, 3])
            XCTAssertEqual(y.array(Float.self), [Float](repeating: v, count: 6), "\(kind)")
        }
        let emptyInts = try! Tensor(dtype: .int32, shape: [0, 2])
        XCTAssertEqual(try OneNode.run(.reduce(Reduce(.min, keepDims: false, noopWithEmptyAxes: false)), [emptyInts, TestData.int64([0])],
                                       constant: [1]).array(Int32.self),
                       [.max, .max])
        XCTAssertEqual(try OneNode.run(.reduce(Reduce(.prod, keepDims: false, noopWithEmptyAxes: false)), [emptyInts, TestData.int64([0])],
                                       constant: [1]).array(Int32.self),
                       [1, 1])
        // With noop_with_empty_axes, the input comes back untouched whatever the kind.
        let x = TestData.random([2, 3], seed: 3)
        XCTAssertEqual(try OneNode.run(.reduce(Reduce(.l2, keepDims: true, noopWithEmptyAxes: true)), [x, TestData.int64([])],
                                       constant: [1]).array(Float.self),
                       x.array(Float.self))
    }

    func testMinPropagatesNaN() throws {
        var v = [Float](repeating: 1, count: 40)
        v[3] = .nan; v[25] = -.infinity
        let y = try OneNode.run(.reduce(Reduce(.min, keepDims: false, noopWithEmptyAxes: false)), [Tensor(v, shape: [2, 20]), TestData.int64([1])],
                                constant: [1])
        XCTAssertTrue(y.array(Float.self)[0].isNaN)
        XCTAssertEqual(y.array(Float.self)[1], -.infinity)
    }

    func testIntegerAndBoolReductionsOfTheOtherKinds() throws {
        let ints: [Int32] = (0..<60).map { Int32(($0 * 37) % 23) - 11 }
        let x = Tensor(ints, shape: [3, 4, 5])
        func run(_ kind: Reduce.Kind, _ t: Tensor) throws -> Tensor {
            // LogSum took integers until opset 28.
            let dtypes = kind == .logSum ? [.int32] : Reduce.dtypes(kind)
            return try OneNode.run(.reduce(Reduce(kind, keepDims: false, noopWithEmptyAxes: false, dtypes: dtypes)), [t, TestData.int64([1])], constant: [1])
        }
        func column(_ i: Int, _ k: Int) -> [Int32] { (0..<4).map { ints[i * 20 + $0 * 5 + k] } }
        let (mn, pr, l1, l2, sq, ls) = (try run(.min, x), try run(.prod, x), try run(.l1, x), try run(.l2, x), try run(.sumSquare, x), try run(.logSum, x))
        for i in 0..<3 {
            for k in 0..<5 {
                let c = column(i, k), o = i * 5 + k
                XCTAssertEqual(mn.array(Int32.self)[o], c.min()!)
                XCTAssertEqual(pr.array(Int32.self)[o], c.reduce(1, &*))
                XCTAssertEqual(l1.array(Int32.self)[o], c.map { abs($0) }.reduce(0, +))
                XCTAssertEqual(sq.array(Int32.self)[o], c.map { $0 * $0 }.reduce(0, +))
                XCTAssertEqual(l2.array(Int32.self)[o], Int32(Double(c.map { $0 * $0 }.reduce(0, +)).squareRoot()), "truncated")
                let s = Double(c.reduce(0, +))
                let want: Int32 = s > 0 ? Int32(log(s)) : s == 0 ? .min : 0  // log 0 saturates, NaN gives 0
                XCTAssertEqual(ls.array(Int32.self)[o], want)
            }
        }
        let u = Tensor([UInt64.max, 2, 3, 4], shape: [2, 2])
        XCTAssertEqual(try run(.prod, u).array(UInt64.self), [UInt64.max &* 2, 12], "wraps")
        let i8 = Tensor([Int8(-128), 5, 127, -3], shape: [2, 2])
        XCTAssertEqual(try OneNode.run(.reduce(Reduce(.min, keepDims: false, noopWithEmptyAxes: false)), [i8, TestData.int64([0])],
                                       constant: [1]).array(Int8.self), [-128, -3])
        let b = Tensor([true, true, false, true, true, true], shape: [2, 3])
        XCTAssertEqual(try run(.min, b).array(Bool.self), [false, true], "min of bools is all()")
        XCTAssertThrowsError(try run(.prod, i8), "int8 only for max/min")
    }

    func testOlderOpsetsAndPerVersionTypes() throws {
        let x = TestData.random([3, 4], seed: 4)
        // Before 18 the axes are an attribute.
        var m = ModelBuilder(opset: 13)
        m.input("x", .float32, [.fixed(3), .fixed(4)])
        m.node("ReduceL1", ["x"], ["y"], [attr("axes", [1]), attr("keepdims", 0)])
        m.output("y", .float32)
        let y = try m.run([x])[0]
        XCTAssertEqual(y.shape, [3])
        assertClose(y, naiveReduce(x.array(Float.self).map(Double.init), [3, 4], axes: [1], kind: .l1, keep: false).0, shape: [3],
                    rtol: 1e-5, atol: 1e-5, "ReduceL1-13")
        func loads(_ op: String, _ opset: Int, _ dtype: DType) -> Bool {
            (try? OneNode.model(op, opset: opset, [patterned(dtype, [2])], outputs: [dtype]).model.load()) != nil
        }
        XCTAssertTrue(loads("ReduceMax", 20, .bool))
        XCTAssertFalse(loads("ReduceMax", 18, .bool), "bool from opset 20")
        XCTAssertTrue(loads("ReduceMin", 13, .uint8))
        XCTAssertFalse(loads("ReduceMin", 11, .uint8), "uint8 from opset 12")
        XCTAssertTrue(loads("ReduceLogSumExp", 18, .int64))
        XCTAssertFalse(loads("ReduceLogSumExp", 28, .int64), "integers dropped at 28")
        XCTAssertFalse(loads("ReduceProd", 18, .bool))
    }

    func testFlagsMustBeZeroOrOne() {
        let cases: [(String, Int, [Onnx_AttributeProto])] = [
            ("ReduceSum", 13, [attr("keepdims", 2)]), ("ReduceMin", 18, [attr("noop_with_empty_axes", -1)]),
            ("ReduceMean", 11, [attr("keepdims", 7)]), ("ArgMax", 13, [attr("keepdims", 2)]),
            ("ArgMin", 13, [attr("select_last_index", 3)]), ("CumSum", 14, [attr("exclusive", 2)]),
            ("CumProd", 26, [attr("reverse", -1)]),
        ]
        for (op, opset, attrs) in cases {
            var m = ModelBuilder(opset: opset)
            m.input("x", .float32, [.fixed(2), .fixed(3)])
            m.constant("a", Tensor.scalar(Int64(1)))
            m.node(op, op.hasPrefix("Cum") ? ["x", "a"] : ["x"], ["y"], attrs)
            m.output("y", op.hasPrefix("Arg") ? .int64 : .float32)
            XCTAssertThrowsError(try m.load(), "\(op) \(attrs.map(\.name))") { e in
                XCTAssertTrue("\(e)".contains("must be 0 or 1"), "\(e)")
            }
        }
    }

    // MARK: ArgMax, ArgMin

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

    func testArgMinWithTiesNaNAndIntegerTypes() throws {
        let shape = [4, 6, 130]
        let v = (0..<shape.elementCount).map { Float(($0 * 7919) % 5) }
        let x = Tensor(v, shape: shape)
        for axis in 0..<3 {
            for last in [false, true] {
                let y = try OneNode.run(.argMax(ArgMax(axis: axis, keepDims: false, selectLastIndex: last, min: true)), [x])
                let outer = shape[..<axis].reduce(1, *), n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
                var want = [Int64]()
                for o in 0..<outer {
                    for j in 0..<inner {
                        var best = Float.infinity, at = 0
                        for i in 0..<n {
                            let e = v[(o * n + i) * inner + j]
                            if e < best || (last && e == best) { best = e; at = i }
                        }
                        want.append(Int64(at))
                    }
                }
                XCTAssertEqual(y.array(Int64.self), want, "axis \(axis) last \(last)")
            }
        }
        let nan = Tensor([3, .nan, -1, .nan] as [Float], shape: [4])
        XCTAssertEqual(try OneNode.run(.argMax(ArgMax(axis: 0, keepDims: false, selectLastIndex: false, min: true)), [nan]).array(Int64.self), [1])
        XCTAssertEqual(try OneNode.run(.argMax(ArgMax(axis: 0, keepDims: false, selectLastIndex: true, min: true)), [nan]).array(Int64.self), [3])
        let u16 = Tensor([UInt16(9), 2, 65535, 2], shape: [4])
        XCTAssertEqual(try OneNode.run(.argMax(ArgMax(axis: 0, keepDims: true, selectLastIndex: true, min: true)), [u16]).array(Int64.self), [3])
        XCTAssertEqual(try OneNode.run(.argMax(ArgMax(axis: 0, keepDims: true, selectLastIndex: false)), [u16]).array(Int64.self), [2])
        let i8 = Tensor([Int8(-5), 7, -128, 7], shape: [2, 2])
        XCTAssertEqual(try OneNode.run(.argMax(ArgMax(axis: 1, keepDims: false, selectLastIndex: false, min: true)), [i8]).array(Int64.self), [0, 0])
    }
}

// MARK: helpers

private func naiveReduce(_ x: Tensor, axes: [Int], kind: Reduce.Kind, keep: Bool) -> ([Double], [Int]) {
    naiveReduce(x.array(Float.self).map(Double.init), x.shape, axes: axes, kind: kind, keep: keep)
}

private func naiveReduce(_ v: [Double], _ shape: [Int], axes: [Int], kind: Reduce.Kind, keep: Bool) -> ([Double], [Int]) {
    let rank = shape.count
    let reduced = Set(axes.isEmpty ? Array(0..<rank) : axes.map { $0 < 0 ? $0 + rank : $0 })
    var outShape = [Int]()
    for (i, d) in shape.enumerated() { if !reduced.contains(i) { outShape.append(d) } else if keep { outShape.append(1) } }
    let kept = (0..<rank).filter { !reduced.contains($0) }
    let keptShape = kept.map { shape[$0] }
    var groups = [[Double]](repeating: [], count: keptShape.elementCount)
    let strides = shape.contiguousStrides, outStrides = keptShape.contiguousStrides
    for flat in 0..<v.count {
        var o = 0
        for (k, d) in kept.enumerated() { o += ((flat / strides[d]) % shape[d]) * outStrides[k] }
        groups[o].append(v[flat])
    }
    let out = groups.map { g -> Double in
        switch kind {
        case .min: return g.min() ?? .infinity
        case .prod: return g.reduce(1, *)
        case .l1: return g.map { abs($0) }.reduce(0, +)
        case .l2: return g.map { $0 * $0 }.reduce(0, +).squareRoot()
        case .sumSquare: return g.map { $0 * $0 }.reduce(0, +)
        case .logSum: return log(g.reduce(0, +))
        case .logSumExp: return log(g.map { exp($0) }.reduce(0, +))
        case .sum: return g.reduce(0, +)
        case .mean: return g.reduce(0, +) / Double(g.count)
        case .max: return g.max() ?? -.infinity
        }
    }
    return (out, outShape)
}

