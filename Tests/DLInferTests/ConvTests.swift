import DLInferCore
import DLInferEngine
import XCTest

/// The spatial kernels' fast paths (depthwise, 1x1 direct GEMM, tiled im2col, grouped ConvTranspose, global pools,
/// 3-D max indices) against naive references written here, at sizes that cross tile boundaries; and malformed
/// models rejected with an error rather than a crash.
final class ConvTests: XCTestCase {
    // MARK: Conv

    func testDepthwiseStridedDilatedWithMultiplierAndFusedClip() throws {
        try checkConv(x: [2, 6, 13, 11], w: [12, 1, 3, 3], group: 6, strides: [2, 1], dilations: [1, 2],
                      pads: [1, 2, 0, 1], bias: true, activation: .clip(min: -0.5, max: 0.5))
        try checkConv(x: [1, 8, 9, 9], w: [8, 1, 5, 5], group: 8, strides: [2, 2], dilations: [1, 1],
                      pads: [2, 2, 2, 2], bias: false, activation: .relu)
        // Narrower than the dilated kernel: no column has every tap inside the input.
        try checkConv(x: [1, 2, 5, 2], w: [2, 1, 3, 3], group: 2, strides: [1, 1], dilations: [1, 2],
                      pads: [1, 2, 1, 2], bias: true, activation: nil)
        try checkConv(x: [1, 3, 7, 9], w: [3, 1, 3, 3], group: 3, strides: [2, 2], dilations: [1, 1],
                      pads: [0, 1, 1, 0], bias: true, activation: nil)
        // Wide enough for the vector loops of the stride-1 and stride-2 3x3 interiors.
        try checkConv(x: [1, 4, 9, 40], w: [4, 1, 3, 3], group: 4, strides: [2, 2], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: .relu)
        try checkConv(x: [1, 2, 6, 37], w: [2, 1, 3, 3], group: 2, strides: [1, 1], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: nil)
    }

    func testPointwiseDirectGemmAcrossTiles() throws {
        // 64 output channels x 97*89 pixels exceeds one tile of the column budget.
        try checkConv(x: [1, 3, 97, 89], w: [64, 3, 1, 1], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [0, 0, 0, 0], bias: true, activation: .leakyRelu(alpha: 0.1))
        try checkConv(x: [2, 8, 5, 7], w: [6, 4, 1, 1], group: 2, strides: [1, 1], dilations: [1, 1],
                      pads: [0, 0, 0, 0], bias: false, activation: nil)
    }

    func testIm2colAcrossTilesWithGroupsAndAsymmetricPads() throws {
        // K = 32*9 = 288 rows: 47*45 output pixels need two column tiles.
        try checkConv(x: [1, 32, 47, 45], w: [3, 32, 3, 3], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: .relu)
        try checkConv(x: [2, 6, 10, 9], w: [9, 2, 3, 2], group: 3, strides: [2, 3], dilations: [2, 1],
                      pads: [0, 3, 2, 1], bias: true, activation: .sigmoid)
        try checkConv(x: [1, 4, 8, 8], w: [4, 4, 1, 1], group: 1, strides: [2, 2], dilations: [1, 1],
                      pads: [0, 0, 1, 1], bias: false, activation: nil)
    }

    func testOneAndThreeSpatialAxes() throws {
        try checkConv(x: [2, 3, 50], w: [5, 3, 4], group: 1, strides: [3], dilations: [2], pads: [2, 1], bias: true,
                      activation: .tanh)
        try checkConv(x: [1, 4, 6, 7, 5], w: [6, 2, 3, 2, 3], group: 2, strides: [1, 2, 1], dilations: [1, 1, 2],
                      pads: [1, 0, 2, 1, 1, 0], bias: true, activation: nil)
        // Depthwise in 3-D takes the im2col path.
        try checkConv(x: [1, 3, 4, 5, 6], w: [3, 1, 2, 2, 2], group: 3, strides: [1, 1, 1], dilations: [1, 1, 1],
                      pads: [0, 0, 0, 0, 0, 0], bias: false, activation: nil)
    }

    // MARK: ConvTranspose

    func testConvTransposeGroupedStridedDilated() throws {
        try checkConvTranspose(x: [2, 4, 5, 4], w: [4, 3, 3, 2], group: 2, strides: [2, 3], dilations: [1, 2],
                               pads: [1, 0, 0, 2], outputPadding: [1, 0], bias: true)
        try checkConvTranspose(x: [1, 3, 7], w: [3, 2, 4], group: 1, strides: [2], dilations: [1], pads: [1, 1],
                               outputPadding: [1], bias: false)
        try checkConvTranspose(x: [1, 2, 3, 3, 2], w: [2, 2, 2, 2, 2], group: 1, strides: [2, 1, 2],
                               dilations: [1, 1, 1], pads: [0, 0, 1, 0, 1, 0], outputPadding: [0, 0, 0], bias: true)
    }

    // MARK: pools

    func testGlobalPoolsOverAnyRank() throws {
        for shape in [[2, 3, 7], [1, 4, 5, 6], [2, 2, 3, 4, 5], [1, 1, 1, 1]] {
            let x = random(shape.reduce(1, *), seed: shape.count)
            let planes = shape[0] * shape[1], size = x.count / planes
            for kind in [GlobalPool.Kind.average, .max] {
                let got = try OneNode.run(.globalPool(GlobalPool(kind)), [Tensor(x, shape: shape)])
                let wantShape = [shape[0], shape[1]] + Array(repeating: 1, count: shape.count - 2)
                XCTAssertEqual(got.shape, wantShape)
                let want = (0..<planes).map { p -> Float in
                    let s = x[(p * size)..<((p + 1) * size)]
                    return kind == .average ? s.reduce(0, +) / Float(size) : s.max()!
                }
                assertClose(got, want, shape: wantShape, rtol: 1e-4, atol: 1e-4)
            }
        }
    }

    func testMaxPool3DIndicesInBothStorageOrders() throws {
        let shape = [1, 2, 3, 4, 5]
        let x = random(shape.reduce(1, *), seed: 9)
        let win = try Window(kernel: [2, 2, 2], strides: [1, 2, 2], dilations: nil, pads: [0, 1, 1, 0, 1, 1], autoPad: .notSet)
        for columnMajor in [false, true] {
            let outs = try OneNode.run(.pool(Pool(.max(columnMajorIndices: columnMajor), window: win)), [Tensor(x, shape: shape)],
                                       outputs: 2)
            let (od, oh, ow) = (2, 3, 3)
            XCTAssertEqual(outs[0].shape, [1, 2, od, oh, ow])
            var values = [Float](), indices = [Int64]()
            for c in 0..<2 { for a in 0..<od { for b in 0..<oh { for e in 0..<ow {
                var best = -Float.infinity, at = (0, 0, 0)
                for i in 0..<2 { for j in 0..<2 { for k in 0..<2 {
                    let (d, h, w) = (a + i, b * 2 - 1 + j, e * 2 - 1 + k)
                    guard d < 3, h >= 0, h < 4, w >= 0, w < 5 else { continue }
                    let v = x[(((c * 3) + d) * 4 + h) * 5 + w]
                    if v > best { best = v; at = (d, h, w) }
                } } }
                values.append(best)
                let flat = columnMajor ? at.0 + at.1 * 3 + at.2 * 12 : (at.0 * 4 + at.1) * 5 + at.2
                indices.append(Int64(c * 60 + flat))
            } } } }
            XCTAssertEqual(outs[0].array(Float.self), values)
            XCTAssertEqual(outs[1].array(Int64.self), indices)
        }
    }

    // MARK: normalization

    func testBatchNormPerActivationAndLRNWithEvenSize() throws {
        // spatial = 0 (opsets 7-8): one set of statistics per element of C x H x W.
        let shape = [2, 3, 2, 2], per = 12
        let x = random(shape.reduce(1, *), seed: 11)
        let p = (0..<4).map { random(per, seed: 20 + $0) }
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
        let lx = random(15, seed: 30)
        let lrn = try OneNode.run(.lrn(LRN(size: 4, alpha: 0.5, beta: 0.75, bias: 2)), [Tensor(lx, shape: lrnShape)])
        let wantLRN = (0..<15).map { i -> Float in
            let c = i / 3, s = i % 3
            var sq: Float = 0
            for ch in max(0, c - 1)...min(4, c + 2) { sq += lx[ch * 3 + s] * lx[ch * 3 + s] }
            return lx[i] / powf(2 + 0.5 / 4 * sq, 0.75)
        }
        assertClose(lrn, wantLRN, shape: lrnShape, rtol: 1e-4, atol: 1e-4)
    }

    // MARK: rejection

    func testMalformedModelsAreRejected() throws {
        let x = ValueType(.float32, fixed: [1, 4, 8, 8])
        func load(_ op: Op, _ types: [ValueType]) -> DLInferError? {
            do { _ = try OneNode.graph(op, types.map { .input($0) }); return nil } catch let e as DLInferError { return e } catch { return nil }
        }
        let w = { (s: [Int]) in ValueType(.float32, fixed: s) }
        XCTAssertNotNil(load(.conv(Conv()), [x, w([2, 3, 3, 3])]), "channel mismatch")
        XCTAssertNotNil(load(.conv(Conv(group: 3)), [x, w([6, 2, 3, 3])]), "group does not divide")
        XCTAssertNotNil(load(.conv(Conv(strides: [1])), [x, w([2, 4, 3, 3])]), "strides of the wrong length")
        XCTAssertNotNil(load(.conv(Conv(kernelShape: [5, 5])), [x, w([2, 4, 3, 3])]), "kernel_shape disagrees with W")
        XCTAssertNotNil(load(.conv(Conv()), [x, w([2, 4, 9, 9])]), "kernel larger than the input")
        XCTAssertNotNil(load(.conv(Conv()), [x, w([2, 4, 3])]), "rank mismatch")
        XCTAssertNotNil(load(.conv(Conv()), [x, w([2, 4, 3, 3]), w([3])]), "bias length")
        XCTAssertNotNil(load(.conv(Conv(autoPad: .sameUpper)), [ValueType(.int64, fixed: [1, 4, 8, 8]), w([2, 4, 3, 3])]), "dtype")
        XCTAssertNotNil(load(.convTranspose(ConvTranspose(outputPadding: [2, 2])), [x, w([4, 2, 3, 3])]), "output_padding >= stride")
        XCTAssertNotNil(load(.batchNorm(BatchNorm()), [x, w([3]), w([4]), w([4]), w([4])]), "BN scale length")
        XCTAssertNotNil(load(.lrn(LRN(size: 0)), [x]), "LRN size")
        XCTAssertNotNil(load(.globalPool(GlobalPool(.max)), [ValueType(.float32, fixed: [2, 3])]), "global pool rank")
        XCTAssertNotNil(load(.conv(Conv(strides: [1, 1 << 40])), [x, w([2, 4, 3, 3])]), "absurd stride")
        XCTAssertNotNil(load(.convTranspose(ConvTranspose(strides: [Window.limit, 1])), [ValueType(.float32, fixed: [1, 4, 1 << 45, 8]), w([4, 2, 3, 3])]),
                        "overflowing output size")
        XCTAssertNil(load(.conv(Conv()), [x, w([2, 4, 3, 3])]))
    }

    func testWrongChannelCountAtRunTimeIsAnError() throws {
        // Channels symbolic at load: the mismatch only shows when the input arrives.
        let g = try OneNode.graph(.conv(Conv(group: 1)), [.input(ValueType(.float32, [.fixed(1), .symbol("C"), .fixed(5), .fixed(5)])),
                                                          .constant(Tensor([Float](repeating: 1, count: 18), shape: [2, 1, 3, 3]))])
        let session = try InferenceSession(model: Model(graph: g))
        XCTAssertThrowsError(try session.run([Tensor([Float](repeating: 1, count: 75), shape: [1, 3, 5, 5])]))
        XCTAssertEqual(try session.run([Tensor([Float](repeating: 1, count: 25), shape: [1, 1, 5, 5])])[0].shape, [1, 2, 3, 3])
    }

    // MARK: references

    private func checkConv(x xs: [Int], w ws: [Int], group: Int, strides: [Int], dilations: [Int], pads: [Int],
                           bias: Bool, activation: Activation?, file: StaticString = #filePath, line: UInt = #line) throws {
        let x = random(xs.reduce(1, *), seed: 1), w = random(ws.reduce(1, *), seed: 2), b = random(ws[0], seed: 3)
        var op = Conv(strides: strides, dilations: dilations, pads: pads, group: group)
        op.activation = activation
        var inputs = [Tensor(x, shape: xs), Tensor(w, shape: ws)]
        if bias { inputs.append(Tensor(b, shape: [ws[0]])) }
        let got = try OneNode.run(.conv(op), inputs, constant: [1, 2])

        let n = xs.count - 2, m = ws[0], cg = ws[1], mg = m / group
        let inSp = Array(xs[2...]), k = Array(ws[2...])
        let outSp = (0..<n).map { (i: Int) -> Int in
            let span: Int = inSp[i] + pads[i] + pads[n + i] - (k[i] - 1) * dilations[i] - 1
            return span / strides[i] + 1
        }
        XCTAssertEqual(got.shape, [xs[0], m] + outSp, file: file, line: line)
        var want = [Float]()
        let inPlane = inSp.reduce(1, *), kVol = k.reduce(1, *)
        let outIdx = multiIndices(outSp), taps = multiIndices(k)
        for bn in 0..<xs[0] { for oc in 0..<m { for o in outIdx {
            var s: Double = bias ? Double(b[oc]) : 0
            let g = oc / mg
            for c in 0..<cg { for (kf, t) in taps.enumerated() {
                var flat = 0, inside = true
                for i in 0..<n {
                    let p = o[i] * strides[i] - pads[i] + t[i] * dilations[i]
                    if p < 0 || p >= inSp[i] { inside = false; break }
                    flat = flat * inSp[i] + p
                }
                guard inside else { continue }
                s += Double(x[(bn * xs[1] + g * cg + c) * inPlane + flat]) * Double(w[(oc * cg + c) * kVol + kf])
            } }
            want.append(activation.map { $0.apply(Float(s)) } ?? Float(s))
        } } }
        assertClose(got, want, shape: [xs[0], m] + outSp, rtol: 1e-4, atol: 1e-4, file: file, line: line)
    }

    private func checkConvTranspose(x xs: [Int], w ws: [Int], group: Int, strides: [Int], dilations: [Int], pads: [Int],
                                    outputPadding: [Int], bias: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let x = random(xs.reduce(1, *), seed: 4), w = random(ws.reduce(1, *), seed: 5)
        let m = ws[1] * group, b = random(m, seed: 6)
        let op = ConvTranspose(strides: strides, dilations: dilations, pads: pads, group: group, outputPadding: outputPadding)
        var inputs = [Tensor(x, shape: xs), Tensor(w, shape: ws)]
        if bias { inputs.append(Tensor(b, shape: [m])) }
        let got = try OneNode.run(.convTranspose(op), inputs, constant: [1, 2])

        let n = xs.count - 2, c = xs[1], cg = c / group, mg = ws[1]
        let inSp = Array(xs[2...]), k = Array(ws[2...])
        let outSp = (0..<n).map { (i: Int) -> Int in
            let natural: Int = strides[i] * (inSp[i] - 1) + outputPadding[i] + (k[i] - 1) * dilations[i] + 1
            return natural - pads[i] - pads[n + i]
        }
        XCTAssertEqual(got.shape, [xs[0], m] + outSp, file: file, line: line)
        let outPlane = outSp.reduce(1, *), inPlane = inSp.reduce(1, *), kVol = k.reduce(1, *)
        var want = [Double](repeating: 0, count: xs[0] * m * outPlane)
        for bn in 0..<xs[0] { for oc in 0..<m { for p in 0..<outPlane { want[(bn * m + oc) * outPlane + p] = bias ? Double(b[oc]) : 0 } } }
        let inIdx = multiIndices(inSp), taps = multiIndices(k)
        for bn in 0..<xs[0] { for ic in 0..<c { for (fi, i) in inIdx.enumerated() {
            let g = ic / cg
            for mo in 0..<mg { for (kf, t) in taps.enumerated() {
                var flat = 0, inside = true
                for a in 0..<n {
                    let o = i[a] * strides[a] - pads[a] + t[a] * dilations[a]
                    if o < 0 || o >= outSp[a] { inside = false; break }
                    flat = flat * outSp[a] + o
                }
                guard inside else { continue }
                let at: Int = (bn * m + g * mg + mo) * outPlane + flat
                let xv = Double(x[(bn * c + ic) * inPlane + fi]), wv = Double(w[(ic * mg + mo) * kVol + kf])
                want[at] += xv * wv
            } }
        } } }
        assertClose(got, want.map { Float($0) }, shape: [xs[0], m] + outSp, rtol: 1e-4, atol: 1e-4, file: file, line: line)
    }

    private func multiIndices(_ dims: [Int]) -> [[Int]] {
        var out: [[Int]] = [[]]
        for d in dims { out = out.flatMap { p in (0..<d).map { p + [$0] } } }
        return out
    }

    private func random(_ n: Int, seed: Int) -> [Float] {
        var s = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        return (0..<n).map { _ in
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int((s >> 33) % 2001) - 1000) / 1000
        }
    }
}
