import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// ReduceMin/Prod/L1/L2/LogSum/LogSumExp/SumSquare, ArgMin, Hardmax, CumSum and CumProd against naive references:
/// every axis set on shapes that reach the multi-stage and parallel paths, integer and bool types, empty sets,
/// NaN and huge values, the attribute forms of older opsets, the per-version types, and flags other than 0 or 1.
final class ReductionKindsTests: XCTestCase {
    // MARK: Reductions

    func testEveryKindEveryAxisSetAgainstNaive() throws {
        let shape = [3, 5, 1, 7, 33]
        let x = TestData.random(shape, seed: 1, scale: 1.5)
        let axisSets: [[Int]] = [[4], [3, 4], [0], [0, 1], [1], [0, 3], [1, 4], [0, 2, 4], [-1, -4], []]
        for kind in [Reduce.Kind.min, .prod, .l1, .l2, .logSum, .logSumExp, .sumSquare] {
            // LogSum of a sum that may be negative: take it over |x|.
            let input = kind == .logSum ? Tensor(x.array(Float.self).map { abs($0) }, shape: shape) : x
            for axes in axisSets {
                for keep in [true, false] {
                    let y = try OneNode.run(.reduce(Reduce(kind, keepDims: keep, noopWithEmptyAxes: false)), [input, int64(axes)], constant: [1])
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
        let y = try OneNode.run(.reduce(Reduce(.logSumExp, keepDims: false, noopWithEmptyAxes: false)), [big, int64([1])], constant: [1])
        XCTAssertEqual(y.array(Float.self)[0], 1000 + Float(log(1 + exp(-1.0))), accuracy: 1e-3)
        XCTAssertEqual(y.array(Float.self)[1], 1000, accuracy: 1e-3)
        let allInf = Tensor([-.infinity, -.infinity, .infinity, 1] as [Float], shape: [2, 2])
        XCTAssertEqual(try OneNode.run(.reduce(Reduce(.logSumExp, keepDims: false, noopWithEmptyAxes: false)), [allInf, int64([1])],
                                       constant: [1]).array(Float.self),
                       [-.infinity, .infinity])

        let empty = try! Tensor(dtype: .float32, shape: [2, 0, 3])
        let identities: [(Reduce.Kind, Float)] = [(.min, .infinity), (.prod, 1), (.l1, 0), (.l2, 0), (.sumSquare, 0),
                                                  (.logSum, -.infinity), (.logSumExp, -.infinity)]
        for (kind, v) in identities {
            let y = try OneNode.run(.reduce(Reduce(kind, keepDims: true, noopWithEmptyAxes: false)), [empty, int64([1])], constant: [1])
            XCTAssertEqual(y.shape, [2, 1, 3])
            XCTAssertEqual(y.array(Float.self), [Float](repeating: v, count: 6), "\(kind)")
        }
        let emptyInts = try! Tensor(dtype: .int32, shape: [0, 2])
        XCTAssertEqual(try OneNode.run(.reduce(Reduce(.min, keepDims: false, noopWithEmptyAxes: false)), [emptyInts, int64([0])],
                                       constant: [1]).array(Int32.self),
                       [.max, .max])
        XCTAssertEqual(try OneNode.run(.reduce(Reduce(.prod, keepDims: false, noopWithEmptyAxes: false)), [emptyInts, int64([0])],
                                       constant: [1]).array(Int32.self),
                       [1, 1])
        // With noop_with_empty_axes, the input comes back untouched whatever the kind.
        let x = TestData.random([2, 3], seed: 3)
        XCTAssertEqual(try OneNode.run(.reduce(Reduce(.l2, keepDims: true, noopWithEmptyAxes: true)), [x, int64([])],
                                       constant: [1]).array(Float.self),
                       x.array(Float.self))
    }

    func testMinPropagatesNaN() throws {
        var v = [Float](repeating: 1, count: 40)
        v[3] = .nan; v[25] = -.infinity
        let y = try OneNode.run(.reduce(Reduce(.min, keepDims: false, noopWithEmptyAxes: false)), [Tensor(v, shape: [2, 20]), int64([1])],
                                constant: [1])
        XCTAssertTrue(y.array(Float.self)[0].isNaN)
        XCTAssertEqual(y.array(Float.self)[1], -.infinity)
    }

    func testIntegerAndBoolReductions() throws {
        let ints: [Int32] = (0..<60).map { Int32(($0 * 37) % 23) - 11 }
        let x = Tensor(ints, shape: [3, 4, 5])
        func run(_ kind: Reduce.Kind, _ t: Tensor) throws -> Tensor {
            // LogSum took integers until opset 28.
            let dtypes = kind == .logSum ? [.int32] : Reduce.dtypes(kind)
            return try OneNode.run(.reduce(Reduce(kind, keepDims: false, noopWithEmptyAxes: false, dtypes: dtypes)), [t, int64([1])], constant: [1])
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
        XCTAssertEqual(try OneNode.run(.reduce(Reduce(.min, keepDims: false, noopWithEmptyAxes: false)), [i8, int64([0])],
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

    // MARK: ArgMin, Hardmax

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

    // MARK: CumSum, CumProd

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

private func int64(_ v: [Int]) -> Tensor { Tensor(v.map { Int64($0) }, shape: [v.count]) }

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
