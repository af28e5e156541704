import DLInferCore
import DLInferEngine
import XCTest

/// Global pools over any rank, MaxPool's Indices output in both storage orders and on every element type, LpPool,
/// GlobalLpPool and MaxUnpool, against direct references (every output element computed on its own from the window
/// definition).
final class PoolTests: XCTestCase {
    func testGlobalPoolsOverAnyRank() throws {
        for shape in [[2, 3, 7], [1, 4, 5, 6], [2, 2, 3, 4, 5], [1, 1, 1, 1]] {
            let x = TestData.thousandths(shape.reduce(1, *), seed: shape.count)
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
        let x = TestData.thousandths(shape.reduce(1, *), seed: 9)
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

    func testLpPoolAgainstNaive() throws {
        let x = TestData.tensor([4, 16, 33, 35], seed: 31)
        for p in [1, 2, 3] {
            let attrs = [attr("kernel_shape", [3, 2]), attr("strides", [2, 3]), attr("dilations", [2, 1]),
                         attr("pads", [1, 0, 2, 1]), attr("ceil_mode", 1), attr("p", p)]
            let y = try OneNode.run("LpPool", opset: 18, [x], attrs: attrs)[0]
            let want = naivePool(x, kernel: [3, 2], strides: [2, 3], dilations: [2, 1], pads: [1, 0, 2, 1], ceil: true) { taps in
                Float(pow(taps.reduce(0.0) { $0 + pow(Double(abs($1)), Double(p)) }, 1 / Double(p)))
            }
            XCTAssertEqual(y.shape, want.shape)
            assertClose(y, want.values, shape: want.shape, rtol: 1e-5, atol: 1e-6, "p \(p)")
        }
        // Dilations and ceil_mode arrived at opset 18: earlier models cannot use them.
        XCTAssertThrowsError(try OneNode.run("LpPool", opset: 11, [x], attrs: [attr("kernel_shape", [2, 2]), attr("dilations", [2, 2])]))
        XCTAssertThrowsError(try OneNode.run("LpPool", opset: 18, [x], attrs: [attr("kernel_shape", [2, 2]), attr("p", 0)]))
    }

    /// One session, input shapes changing between runs: the kernel's geometry of the last shape must not serve another.
    func testMaxPoolGeometryFollowsTheInputShape() throws {
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.symbol("n"), .fixed(2), .symbol("h"), .symbol("w")])
        b.node("MaxPool", ["x"], ["y"], [attr("kernel_shape", [3, 2]), attr("strides", [2, 2]), attr("pads", [1, 0, 1, 1])])
        b.output("y", .float32)
        let session = try InferenceSession(model: b.load())
        for (k, shape) in [[1, 2, 9, 7], [2, 2, 4, 12], [1, 2, 9, 7], [1, 2, 1, 1]].enumerated() {
            let x = TestData.tensor(shape, seed: 40 + k)
            let y = try session.run([x])[0]
            let want = naivePool(x, kernel: [3, 2], strides: [2, 2], dilations: [1, 1], pads: [1, 0, 1, 1], ceil: false) { taps in
                taps.max()!
            }
            XCTAssertEqual(y.shape, want.shape, "\(shape)")
            assertClose(y, want.values, shape: want.shape, rtol: 1e-5, atol: 1e-6, "\(shape)")
        }
    }

    func testGlobalLpPoolAgainstNaive() throws {
        let x = TestData.tensor([3, 5, 4, 6, 2], seed: 32)
        for p in [1, 2, 3] {
            let y = try OneNode.run("GlobalLpPool", opset: 2, [x], attrs: [attr("p", p)])[0]
            XCTAssertEqual(y.shape, [3, 5, 1, 1, 1])
            let v = x.array(Float.self)
            let want = (0..<15).map { plane in
                Float(pow(v[(plane * 48)..<((plane + 1) * 48)].reduce(0.0) { $0 + pow(Double(abs($1)), Double(p)) }, 1 / Double(p)))
            }
            assertClose(y, want, shape: [3, 5, 1, 1, 1], rtol: 1e-5, atol: 1e-6, "p \(p)")
        }
    }

    func testMaxPoolIndicesOnEveryElementType() throws {
        // Values repeat (ties: the first in row-major window order wins) and differ below float32's precision.
        let shape = [2, 3, 7, 8]
        let base = TestData.integers(shape.elementCount, seed: 33, -20, 20)
        let doubles = base.enumerated().map { Double($0.element) + Double($0.offset % 3) * 1e-12 }
        let inputs: [(Tensor, String)] = [
            (Tensor(doubles, shape: shape), "float64"),
            (Tensor(base.map { Float($0) }, shape: shape), "float32"),
            (Tensor(base.map { Half(Float($0) / 4) }, shape: shape), "float16"),
            (Tensor(base.map { BFloat16(Float($0)) }, shape: shape), "bfloat16"),
            (Tensor(base.map { Int8($0) }, shape: shape), "int8"),
            (Tensor(base.map { UInt8($0 + 20) }, shape: shape), "uint8"),
        ]
        for (x, name) in inputs {
            for order in [0, 1] {
                let outs = try OneNode.run("MaxPool", opset: 22, [x], attrs: [attr("kernel_shape", [3, 2]), attr("strides", [2, 2]),
                                                                        attr("pads", [1, 1, 1, 0]), attr("storage_order", order)],
                                           outputs: [x.dtype, .int64])
                let values = key(x)
                let want = naivePool(Tensor(values, shape: shape), kernel: [3, 2], strides: [2, 2], dilations: [1, 1],
                                     pads: [1, 1, 1, 0], ceil: false, positions: true) { _ in 0 }
                XCTAssertEqual(outs[1].shape, want.shape, name)
                let got = outs[1].array(Int64.self)
                var indices = want.indices
                if order == 1 {
                    // Column-major over the spatial axes, after the plane's offset.
                    indices = indices.map { i in let plane = i / 56, s = i % 56; return plane * 56 + (s % 8) * 7 + s / 8 }
                }
                XCTAssertEqual(got, indices.map(Int64.init), "\(name) storage_order \(order)")
                let picked = key(outs[0])
                XCTAssertEqual(picked, want.indices.map { values[$0] }, "\(name) values")
            }
        }
    }

    func testMaxUnpoolInvertsMaxPool() throws {
        let x = TestData.tensor([2, 3, 8, 10], seed: 34)
        let pooled = try OneNode.run("MaxPool", opset: 12, [x], attrs: [attr("kernel_shape", [2, 2]), attr("strides", [2, 2])],
                                     outputs: [.float32, .int64])
        let unpool = [attr("kernel_shape", [2, 2]), attr("strides", [2, 2])]
        let y = try OneNode.run("MaxUnpool", opset: 11, [pooled[0], pooled[1]], attrs: unpool)[0]
        XCTAssertEqual(y.shape, [2, 3, 8, 10])
        var want = [Float](repeating: 0, count: 2 * 3 * 8 * 10)
        for (v, i) in zip(pooled[0].array(Float.self), pooled[1].array(Int64.self)) {
            want[Int(i)] = v
        }
        assertClose(y, want, shape: [2, 3, 8, 10], rtol: 0, atol: 0, "unpooled")
        // output_shape: the unpooled tensor at the start of a larger one (float16 moved as it is).
        let halves = Tensor(pooled[0].array(Float.self).map { Half($0) }, shape: pooled[0].shape)
        let big = try OneNode.run("MaxUnpool", opset: 22, [halves, pooled[1], Tensor([Int64(2), 3, 9, 11], shape: [4])], attrs: unpool,
                                  outputs: [.float16])[0]
        XCTAssertEqual(big.shape, [2, 3, 9, 11])
        let bits = big.array(Half.self).map(\.float)
        for plane in 0..<6 {
            for row in 0..<9 {
                for col in 0..<11 {
                    let expected = row < 8 && col < 10 ? Half(want[(plane * 8 + row) * 10 + col]).float : 0
                    XCTAssertEqual(bits[(plane * 9 + row) * 11 + col], expected, "plane \(plane) (\(row), \(col))")
                }
            }
        }
        let bad = Tensor([Int64](repeating: 2 * 3 * 8 * 10, count: pooled[1].count), shape: pooled[1].shape)
        XCTAssertThrowsError(try OneNode.run("MaxUnpool", opset: 11, [pooled[0], bad], attrs: unpool), "index past the end")
        XCTAssertThrowsError(try OneNode.run("MaxUnpool", opset: 11, [pooled[0], pooled[1], Tensor([Int64(2), 3, 7, 10], shape: [4])],
                                             constant: [2], attrs: unpool), "output_shape smaller than the unpooled shape")
    }

    // MARK: helpers

    /// Elements as Double, for any element type.
    private func key(_ t: Tensor) -> [Double] {
        switch t.dtype {
        case .float64: return t.array(Double.self)
        case .float32: return t.array(Float.self).map(Double.init)
        case .float16: return t.array(Half.self).map { Double($0.float) }
        case .bfloat16: return t.array(BFloat16.self).map { Double($0.float) }
        case .int8: return t.array(Int8.self).map(Double.init)
        default: return t.array(UInt8.self).map(Double.init)
        }
    }

    /// A 2-D pool over N x C x H x W: `reduce` gets each window's taps inside the input; with `positions`, the flat
    /// input position of each window's first maximum instead.
    private func naivePool(_ x: Tensor, kernel: [Int], strides: [Int], dilations: [Int], pads: [Int], ceil: Bool,
                           positions: Bool = false, _ reduce: ([Float]) -> Float) -> (shape: [Int], values: [Float], indices: [Int]) {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let v = key(x)
        func size(_ len: Int, _ a: Int) -> Int {
            let span = len + pads[a] + pads[2 + a] - (kernel[a] - 1) * dilations[a] - 1
            var o = span / strides[a] + 1
            if ceil { o = (span + strides[a] - 1) / strides[a] + 1; if (o - 1) * strides[a] >= len + pads[a] { o -= 1 } }
            return o
        }
        let (oh, ow) = (size(h, 0), size(w, 1))
        var values = [Float](), indices = [Int]()
        for plane in 0..<(n * c) {
            for i in 0..<oh {
                for j in 0..<ow {
                    var taps = [Float](), best = -Double.infinity, at = -1
                    for ki in 0..<kernel[0] {
                        for kj in 0..<kernel[1] {
                            let row = i * strides[0] - pads[0] + ki * dilations[0], col = j * strides[1] - pads[1] + kj * dilations[1]
                            guard row >= 0, row < h, col >= 0, col < w else { continue }
                            let p = plane * h * w + row * w + col
                            taps.append(Float(v[p]))
                            if v[p] > best { best = v[p]; at = p }
                        }
                    }
                    values.append(reduce(taps))
                    indices.append(at)
                }
            }
        }
        return ([n, c, oh, ow], values, positions ? indices : [])
    }
}
