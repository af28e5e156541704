import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// LayerNormalization, RMSNormalization, GroupNormalization, InstanceNormalization, MeanVarianceNormalization,
/// LpNormalization, BatchNormalization (per-activation statistics, training mode) and LRN against naive float64
/// references: rows long enough for the vectorised and parallel paths, parameters that vary along leading axes,
/// float64 stash, the optional outputs, older opsets, and malformed nodes that must be rejected.
final class NormalizationTests: XCTestCase {
    // MARK: LayerNormalization / RMSNormalization

    func testLayerNormEveryAxisWithStatistics() throws {
        let shape = [3, 4, 37]
        let x = random(shape, seed: 1, scale: 4, offset: 3)
        for axis in [-1, 1, 0, -3] {
            let a = axis < 0 ? axis + 3 : axis
            let norm = Array(shape[a...])
            let w = random(norm, seed: 2), b = random(norm, seed: 3)
            var m = ModelBuilder(opset: 17)
            m.input("x", .float32, shape.map { .fixed($0) }); m.input("w", .float32, norm.map { .fixed($0) })
            m.input("b", .float32, norm.map { .fixed($0) })
            m.node("LayerNormalization", ["x", "w", "b"], ["y", "mean", "inv"], [attr("axis", axis), attr("epsilon", Float(0.01))])
            m.output("y", .float32); m.output("mean", .float32); m.output("inv", .float32)
            let out = try m.run([x, w, b])
            let want = naiveLayerNorm(x, w, b, axis: a, epsilon: 0.01, rms: false)
            assertClose(out[0], want.y, shape: shape, rtol: 1e-4, atol: 1e-5, "axis \(axis) Y")
            let statShape = shape.enumerated().map { $0.offset < a ? $0.element : 1 }
            XCTAssertEqual(out[1].shape, statShape)
            assertClose(out[1], want.mean, shape: statShape, rtol: 1e-4, atol: 1e-5, "axis \(axis) Mean")
            assertClose(out[2], want.inv, shape: statShape, rtol: 1e-4, atol: 1e-5, "axis \(axis) InvStdDev")
        }
    }

    func testLayerNormLongRowsAndParametersAlongLeadingAxes() throws {
        // 2051-element rows take the vectorised two-pass path; the scale varies along axis 0 (broadcast [3, 1, 2051]),
        // the bias is a scalar-like [1].
        let x = random([3, 5, 2051], seed: 4, scale: 100, offset: 1000)
        let w = random([3, 1, 2051], seed: 5), b = Tensor([Float(0.5)], shape: [1])
        let y = try OneNode.run(.layerNorm(LayerNorm(axis: -1)), [x, w, b])
        let wFull = Tensor(expand(w, to: [3, 5, 2051]), shape: [3, 5, 2051])
        let bFull = Tensor([Float](repeating: 0.5, count: 3 * 5 * 2051), shape: [3, 5, 2051])
        assertClose(y, naiveLayerNorm(x, wFull, bFull, axis: 2, epsilon: 1e-5, rms: false, fullParams: true).y, shape: [3, 5, 2051],
                    rtol: 1e-4, atol: 1e-4, "long rows")
    }

    func testRMSNormFloat64StashAndMixedTypes() throws {
        let x = random([4, 300], seed: 6, scale: 3)
        let w = random([300], seed: 7)
        for stash in [DType.float32, .float64] {
            let y = try OneNode.run(.layerNorm(LayerNorm(axis: 1, epsilon: 1e-3, stash: stash, rms: true)), [x, w])
            assertClose(y, naiveLayerNorm(x, w, nil, axis: 1, epsilon: 1e-3, rms: true).y, shape: [4, 300], rtol: 1e-4, atol: 1e-5,
                        "stash \(stash)")
        }
        // X float32, scale (and so Y) float64.
        let w64 = Tensor(w.array(Float.self).map(Double.init), shape: [300])
        let y = try OneNode.run(.layerNorm(LayerNorm(axis: 1, epsilon: 1e-3, stash: .float64, rms: true)), [x, w64])
        XCTAssertEqual(y.dtype, .float64)
        let want = naiveLayerNorm(x, w, nil, axis: 1, epsilon: 1e-3, rms: true).y
        for (g, e) in zip(y.array(Double.self), want) { XCTAssertEqual(g, e, accuracy: 1e-9 + 1e-6 * abs(e)) }
    }

    func testLayerNormRejectsBadNodes() {
        let x = random([2, 3], seed: 8)
        XCTAssertThrowsError(try OneNode.run(.layerNorm(LayerNorm(axis: 2)), [x, random([3], seed: 9)]), "axis out of range")
        XCTAssertThrowsError(try OneNode.run(.layerNorm(LayerNorm(axis: -1)), [x, random([4], seed: 9)]), "scale does not broadcast")
        XCTAssertThrowsError(try OneNode.run(.layerNorm(LayerNorm(axis: -1)), [Tensor.scalar(Float(1)), Tensor.scalar(Float(1))]), "scalar X")
        var m = ModelBuilder(opset: 17)
        m.input("x", .float32, [.fixed(2), .fixed(3)]); m.input("w", .float32, [.fixed(3)])
        m.node("LayerNormalization", ["x", "w"], ["y"], [attr("stash_type", 16)])
        m.output("y", .float32)
        XCTAssertThrowsError(try m.load(), "stash_type bfloat16")
    }

    // MARK: GroupNormalization / InstanceNormalization

    func testGroupNormOpset18And21AndInstanceNorm() throws {
        let shape = [2, 6, 5, 7]
        let x = random(shape, seed: 10, scale: 2, offset: 1)
        let perChannel = random([6], seed: 11), biasC = random([6], seed: 12)
        let perGroup = random([3], seed: 13), biasG = random([3], seed: 14)
        func run(_ op: String, opset: Int, _ s: Tensor, _ b: Tensor, _ extra: [Onnx_AttributeProto]) throws -> Tensor {
            try OneNode.run(op, opset: opset, [x, s, b], constant: [1, 2], attrs: [attr("epsilon", Float(0.02))] + extra)[0]
        }
        let g21 = try run("GroupNormalization", opset: 21, perChannel, biasC, [attr("num_groups", 3)])
        assertClose(g21, naiveGroupNorm(x, groups: 3, perChannel.array(Float.self), biasC.array(Float.self), epsilon: 0.02), shape: shape,
                    rtol: 1e-4, atol: 1e-5, "opset 21")
        let g18 = try run("GroupNormalization", opset: 18, perGroup, biasG, [attr("num_groups", 3)])
        let sExp = perGroup.array(Float.self).flatMap { [$0, $0] }, bExp = biasG.array(Float.self).flatMap { [$0, $0] }
        assertClose(g18, naiveGroupNorm(x, groups: 3, sExp, bExp, epsilon: 0.02), shape: shape, rtol: 1e-4, atol: 1e-5,
                    "opset 18: one scale per group")
        let inst = try run("InstanceNormalization", opset: 13, perChannel, biasC, [])
        assertClose(inst, naiveGroupNorm(x, groups: 6, perChannel.array(Float.self), biasC.array(Float.self), epsilon: 0.02), shape: shape,
                    rtol: 1e-4, atol: 1e-5, "instance")
        XCTAssertThrowsError(try run("GroupNormalization", opset: 21, perChannel, biasC, [attr("num_groups", 4)]), "4 groups of 6 channels")
        XCTAssertThrowsError(try run("GroupNormalization", opset: 21, perGroup, biasG, [attr("num_groups", 3)]), "per-group params at 21")
        XCTAssertThrowsError(try run("GroupNormalization", opset: 21, perChannel, biasC, [attr("num_groups", 3), attr("stash_type", 10)]))
    }

    func testInstanceNormWideSpatialInParallel() throws {
        let x = random([3, 4, 9000], seed: 15, scale: 50, offset: 200)
        let s = random([4], seed: 16), b = random([4], seed: 17)
        let y = try OneNode.run(.groupNorm(GroupNorm(groups: nil)), [x, s, b])
        assertClose(y, naiveGroupNorm(x, groups: 4, s.array(Float.self), b.array(Float.self), epsilon: 1e-5), shape: [3, 4, 9000],
                    rtol: 1e-3, atol: 1e-3, "wide")
    }

    // MARK: MeanVarianceNormalization / LpNormalization

    func testMeanVarianceNormAnyAxes() throws {
        let shape = [3, 4, 5, 6]
        let x = random(shape, seed: 18, scale: 3, offset: 2)
        for axes in [[0, 2, 3], [1], [3], [2, 3], [0, 1, 2, 3], [-1, 0]] {
            let y = try OneNode.run(.meanVarianceNorm(MeanVarianceNorm(axes: axes)), [x])
            assertClose(y, naiveMVN(x, axes: axes.map { $0 < 0 ? $0 + 4 : $0 }), shape: shape, rtol: 1e-4, atol: 1e-5, "axes \(axes)")
        }
        XCTAssertThrowsError(try OneNode.run(.meanVarianceNorm(MeanVarianceNorm()), [random([2, 3], seed: 1)]), "default axes need rank 4")
    }

    func testLpNormBothOrdersZeroNormAndNegatives() throws {
        var v = random([4, 6, 5], seed: 19, scale: 2).array(Float.self)
        for i in 0..<6 { v[(1 * 6 + i) * 5 + 2] = 0 }  // a zero column along axis 1
        let x = Tensor(v, shape: [4, 6, 5])
        for p in [1, 2] {
            for axis in [0, 1, -1] {
                let y = try OneNode.run(.lpNorm(LpNorm(axis: axis, p: p)), [x])
                assertClose(y, naiveLp(x, axis: axis < 0 ? axis + 3 : axis, p: p), shape: [4, 6, 5], rtol: 1e-4, atol: 1e-5, "p \(p) axis \(axis)")
            }
        }
        var m = ModelBuilder(opset: 22)
        m.input("x", .float32, [.fixed(2)])
        m.node("LpNormalization", ["x"], ["y"], [attr("p", 3)])
        m.output("y", .float32)
        XCTAssertThrowsError(try m.load(), "p = 3")
    }

    // MARK: BatchNormalization, LRN

    func testBatchNormPerActivationAndLRNWithEvenSize() throws {
        // spatial = 0 (opsets 7-8): one set of statistics per element of C x H x W.
        let shape = [2, 3, 2, 2], per = 12
        let x = TestData.thousandths(shape.reduce(1, *), seed: 11)
        let p = (0..<4).map { TestData.thousandths(per, seed: 20 + $0) }
        let variance = p[3].map { abs($0) + 0.1 }
        let bn = try OneNode.run(.batchNorm(BatchNorm(epsilon: 1e-3, spatial: false)), [Tensor(x, shape: shape)]
                                 + [p[0], p[1], p[2], variance].map { Tensor($0, shape: [3, 2, 2]) }, constant: [1, 2, 3, 4])
        let wantBN = x.indices.map { i -> Float in
            let j = i % per
            return (x[i] - p[2][j]) / (variance[j] + 1e-3).squareRoot() * p[0][j] + p[1][j]
        }
        assertClose(bn, wantBN, shape: shape, rtol: 1e-4, atol: 1e-4)

        // An even size takes one channel more after than before: c-1 ... c+2 for size 4.
        let lrnShape = [1, 5, 3]
        let lx = TestData.thousandths(15, seed: 30)
        let lrn = try OneNode.run(.lrn(LRN(size: 4, alpha: 0.5, beta: 0.75, bias: 2)), [Tensor(lx, shape: lrnShape)])
        let wantLRN = (0..<15).map { i -> Float in
            let c = i / 3, s = i % 3
            var sq: Float = 0
            for ch in max(0, c - 1)...min(4, c + 2) { sq += lx[ch * 3 + s] * lx[ch * 3 + s] }
            return lx[i] / powf(2 + 0.5 / 4 * sq, 0.75)
        }
        assertClose(lrn, wantLRN, shape: lrnShape, rtol: 1e-4, atol: 1e-4)
    }

    // MARK: BatchNormalization training mode

    func testBatchNormTrainingModeStatisticsAndRunningOutputs() throws {
        let shape = [4, 3, 6, 7]
        let x = random(shape, seed: 20, scale: 3, offset: 5)
        let s = random([3], seed: 21), b = random([3], seed: 22), mean = random([3], seed: 23), variance = Tensor([Float](repeating: 2, count: 3), shape: [3])
        var m = ModelBuilder(opset: 15)
        m.input("x", .float32, shape.map { .fixed($0) })
        for (n, t) in [("s", s), ("b", b), ("m", mean), ("v", variance)] { m.constant(n, t) }
        m.node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y", "rm", "rv"],
               [attr("training_mode", 1), attr("momentum", Float(0.8)), attr("epsilon", Float(0.01))])
        m.output("y", .float32); m.output("rm", .float32); m.output("rv", .float32)
        let out = try m.run([x])
        let xv = x.array(Float.self).map(Double.init), inner = 42
        var y = [Double](repeating: 0, count: xv.count), rm = [Double](), rv = [Double]()
        for c in 0..<3 {
            let idx = (0..<4).flatMap { n in (0..<inner).map { (n * 3 + c) * inner + $0 } }
            let mu = idx.map { xv[$0] }.reduce(0, +) / Double(idx.count)
            let va = idx.map { (xv[$0] - mu) * (xv[$0] - mu) }.reduce(0, +) / Double(idx.count)
            for i in idx { y[i] = (xv[i] - mu) / (va + 0.01).squareRoot() * Double(s.floats[c]) + Double(b.floats[c]) }
            rm.append(Double(mean.floats[c]) * 0.8 + mu * 0.2)
            rv.append(2 * 0.8 + va * 0.2)
        }
        assertClose(out[0], y, shape: shape, rtol: 1e-4, atol: 1e-5, "Y")
        assertClose(out[1], rm, shape: [3], rtol: 1e-4, atol: 1e-5, "running_mean")
        assertClose(out[2], rv, shape: [3], rtol: 1e-4, atol: 1e-5, "running_var")
    }

    func testTrainingBatchNormIsNotFoldedIntoConv() throws {
        // Its statistics come from the Conv's output, so folding would freeze the wrong ones.
        let x = random([2, 3, 4, 4], seed: 25)
        let w = random([3, 3, 1, 1], seed: 26)
        let ones = Tensor([Float](repeating: 1, count: 3), shape: [3]), zeros = Tensor([Float](repeating: 0, count: 3), shape: [3])
        var outs = [Tensor]()
        for training in [1, 0] {
            var m = ModelBuilder(opset: 15)
            m.input("x", .float32, [2, 3, 4, 4].map { .fixed($0) })
            m.constant("w", w)
            for (n, t) in [("s", ones), ("b", zeros), ("m", zeros), ("v", ones)] { m.constant(n, t) }
            m.node("Conv", ["x", "w"], ["c"])
            m.node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"], [attr("training_mode", training)])
            m.output("y", .float32)
            let model = try m.load()
            XCTAssertEqual(model.opCounts.first { $0.0 == "BatchNormalization" }?.1, training == 1 ? 1 : nil)
            outs.append(try InferenceSession(model: model).run([x])[0])
        }
        // Batch statistics normalize each channel to mean 0; the stored ones (0 and 1) leave the Conv's output as is.
        let y = outs[0].array(Float.self)
        for c in 0..<3 {
            let idx = (0..<2).flatMap { n in (0..<16).map { (n * 3 + c) * 16 + $0 } }
            XCTAssertEqual(Double(idx.map { y[$0] }.reduce(0, +)) / 32, 0, accuracy: 1e-5)
        }
        XCTAssertNotEqual(outs[0].array(Float.self), outs[1].array(Float.self))
    }

    func testBatchNormTrainingOutputsRejectedWhereNotDefined() {
        for (opset, attrs) in [(15, [Onnx_AttributeProto]()), (12, [])] {
            var m = ModelBuilder(opset: opset)
            m.input("x", .float32, [.fixed(2), .fixed(3)])
            for n in ["s", "b", "m", "v"] { m.constant(n, Tensor([Float](repeating: 1, count: 3), shape: [3])) }
            m.node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y", "rm", "rv"], attrs)
            m.output("y", .float32)
            XCTAssertThrowsError(try m.load(), "opset \(opset): running outputs without training mode")
        }
        var m = ModelBuilder(opset: 15)
        m.input("x", .float32, [.fixed(2), .fixed(3)])
        for n in ["s", "b", "m", "v"] { m.constant(n, Tensor([Float](repeating: 1, count: 3), shape: [3])) }
        m.node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], [attr("training_mode", 2)])
        m.output("y", .float32)
        XCTAssertThrowsError(try m.load(), "training_mode 2")
    }
}

/// Deterministic values in [offset - scale, offset + scale).
private func random(_ shape: [Int], seed: Int, scale: Float = 1, offset: Float = 0) -> Tensor {
    let t = TestData.random(shape, seed: seed, scale: scale)
    return Tensor(t.array(Float.self).map { $0 + offset }, shape: shape)
}

/// `t` broadcast to `shape` (numpy rules).
private func expand(_ t: Tensor, to shape: [Int]) -> [Float] {
    let v = t.array(Float.self), padded = [Int](repeating: 1, count: shape.count - t.rank) + t.shape
    let strides = padded.contiguousStrides
    return (0..<shape.elementCount).map { flat in
        var rem = flat, off = 0
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            let i = rem % shape[d]; rem /= shape[d]
            if padded[d] != 1 { off += i * strides[d] }
        }
        return v[off]
    }
}

private func naiveLayerNorm(_ x: Tensor, _ w: Tensor, _ b: Tensor?, axis: Int, epsilon: Double, rms: Bool,
                            fullParams: Bool = false) -> (y: [Double], mean: [Double], inv: [Double]) {
    let v = x.array(Float.self).map(Double.init)
    let n = x.shape[axis...].reduce(1, *), rows = v.count / n
    let wv = w.array(Float.self).map(Double.init), bv = b?.array(Float.self).map(Double.init)
    var y = [Double](repeating: 0, count: v.count), means = [Double](), invs = [Double]()
    for r in 0..<rows {
        let row = v[(r * n)..<((r + 1) * n)]
        let mean = rms ? 0 : row.reduce(0, +) / Double(n)
        let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        let inv = 1 / (variance + epsilon).squareRoot()
        means.append(mean); invs.append(inv)
        for i in 0..<n {
            let p = fullParams ? r * n + i : i
            y[r * n + i] = (v[r * n + i] - mean) * inv * wv[p] + (bv?[p] ?? 0)
        }
    }
    return (y, means, invs)
}

private func naiveGroupNorm(_ x: Tensor, groups: Int, _ s: [Float], _ b: [Float], epsilon: Double) -> [Double] {
    let v = x.array(Float.self).map(Double.init)
    let batch = x.shape[0], channels = x.shape[1], spatial = x.shape[2...].reduce(1, *), per = channels / groups
    var y = [Double](repeating: 0, count: v.count)
    for n in 0..<batch {
        for g in 0..<groups {
            let idx = (0..<(per * spatial)).map { (n * channels + g * per) * spatial + $0 }
            let mean = idx.map { v[$0] }.reduce(0, +) / Double(idx.count)
            let variance = idx.map { (v[$0] - mean) * (v[$0] - mean) }.reduce(0, +) / Double(idx.count)
            for i in idx {
                let c = (i / spatial) % channels
                y[i] = (v[i] - mean) / (variance + epsilon).squareRoot() * Double(s[c]) + Double(b[c])
            }
        }
    }
    return y
}

private func naiveMVN(_ x: Tensor, axes: [Int]) -> [Double] {
    let v = x.array(Float.self).map(Double.init), shape = x.shape, strides = shape.contiguousStrides
    // Group every element by its kept coordinates.
    var groups = [[Int]: [Int]]()
    for flat in 0..<v.count {
        let key = (0..<shape.count).filter { !axes.contains($0) }.map { (flat / strides[$0]) % shape[$0] }
        groups[key, default: []].append(flat)
    }
    var y = [Double](repeating: 0, count: v.count)
    for idx in groups.values {
        let mean = idx.map { v[$0] }.reduce(0, +) / Double(idx.count)
        let variance = idx.map { (v[$0] - mean) * (v[$0] - mean) }.reduce(0, +) / Double(idx.count)
        for i in idx { y[i] = (v[i] - mean) / (variance.squareRoot() + 1e-9) }
    }
    return y
}

private func naiveLp(_ x: Tensor, axis: Int, p: Int) -> [Double] {
    let v = x.array(Float.self).map(Double.init)
    let outer = x.shape[..<axis].reduce(1, *), n = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
    var y = [Double](repeating: 0, count: v.count)
    for o in 0..<outer {
        for j in 0..<inner {
            let idx = (0..<n).map { (o * n + $0) * inner + j }
            let norm = p == 1 ? idx.map { abs(v[$0]) }.reduce(0, +) : idx.map { v[$0] * v[$0] }.reduce(0, +).squareRoot()
            for i in idx { y[i] = norm == 0 ? 0 : v[i] / norm }
        }
    }
    return y
}
