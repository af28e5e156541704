import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// RotaryEmbedding, SwiGLU and TensorScatter against naive float64 references written from the spec's formulas, plus
/// nodes and inputs that must be rejected.
final class TransformerTests: XCTestCase {
    // MARK: RotaryEmbedding

    /// x's (b, h, s) row of `size` values starts at `rowStart(b, h, s)`; caches are read at `cacheRow(b, s)`.
    private func naiveRotary(_ x: [Double], batch: Int, heads: Int, seq: Int, size: Int, dim: Int, interleaved: Bool,
                             cos: [Double], sin: [Double], rowStart: (Int, Int, Int) -> Int, cacheRow: (Int, Int) -> Int) -> [Double] {
        var y = x
        let half = dim / 2
        for b in 0..<batch { for h in 0..<heads { for s in 0..<seq {
            let at = rowStart(b, h, s), c = cacheRow(b, s) * half
            for i in 0..<half {
                let (i1, i2) = interleaved ? (2 * i, 2 * i + 1) : (i, i + half)
                let x1 = x[at + i1], x2 = x[at + i2]
                y[at + i1] = cos[c + i] * x1 - sin[c + i] * x2
                y[at + i2] = sin[c + i] * x1 + cos[c + i] * x2
            }
        } } }
        return y
    }

    func testRotaryFourDimensionalWithBatchCaches() throws {
        // 300 positions of 64 wide heads also take the parallel path.
        for (shape, interleaved) in [([2, 3, 5, 8], false), ([2, 3, 5, 8], true), ([1, 8, 300, 64], false)] {
            let (b, h, s, d) = (shape[0], shape[1], shape[2], shape[3])
            let x = TestData.random(shape, seed: 1), cos = TestData.random([b, s, d / 2], seed: 2), sin = TestData.random([b, s, d / 2], seed: 3)
            let got = try OneNode.run("RotaryEmbedding", opset: 23, [x, cos, sin], attrs: [attr("interleaved", interleaved ? 1 : 0)],
                                      outputCount: 1)
            let want = naiveRotary(elementValues(x), batch: b, heads: h, seq: s, size: d, dim: d, interleaved: interleaved,
                                   cos: elementValues(cos), sin: elementValues(sin),
                                   rowStart: { ((($0 * h) + $1) * s + $2) * d }, cacheRow: { $0 * s + $1 })
            assertClose(got[0], want, shape: shape, rtol: 1e-5, atol: 1e-6, "4-D \(shape) interleaved \(interleaved)")
        }
    }

    func testRotaryPackedWithPositionIdsAndPartialDim() throws {
        let (b, h, s, d, dim, positions) = (2, 3, 5, 8, 4, 10)
        let x = TestData.random([b, s, h * d], seed: 4), cos = TestData.random([positions, dim / 2],
                                                                               seed: 5), sin = TestData.random([positions, dim / 2], seed: 6)
        let ids: [Int64] = [9, 0, 3, 3, 7, 1, 2, 5, 8, 4]
        for interleaved in [false, true] {
            let got = try OneNode.run("RotaryEmbedding", opset: 23, [x, cos, sin, Tensor(ids, shape: [b, s])],
                                      attrs: [attr("interleaved", interleaved ? 1 : 0), attr("rotary_embedding_dim", dim),
                                              attr("num_heads", h)], outputCount: 1)
            let want = naiveRotary(elementValues(x), batch: b, heads: h, seq: s, size: d, dim: dim, interleaved: interleaved,
                                   cos: elementValues(cos), sin: elementValues(sin),
                                   rowStart: { ($0 * s + $2) * h * d + $1 * d }, cacheRow: { Int(ids[$0 * s + $1]) })
            assertClose(got[0], want, shape: [b, s, h * d], rtol: 1e-5, atol: 1e-6, "3-D, position_ids, interleaved \(interleaved)")
        }
    }

    func testRotaryRejects() {
        let x = TestData.random([1, 2, 3, 8], seed: 7), cos = TestData.random([4, 4], seed: 8), sin = TestData.random([4, 4], seed: 9)
        XCTAssertThrowsError(try OneNode.run("RotaryEmbedding", opset: 23, [x, cos, sin, Tensor([Int64]([0, 1, 4]), shape: [1, 3])],
                                             outputCount: 1),
                             "position id past the cache")
        XCTAssertThrowsError(try OneNode.run("RotaryEmbedding", opset: 23, [x, cos, sin, Tensor([Int64]([0, -1, 2]), shape: [1, 3])],
                                             outputCount: 1),
                             "negative position id")
        XCTAssertThrowsError(try OneNode.run("RotaryEmbedding", opset: 23, [x, TestData.random([1, 3, 4], seed: 10),
                                                                        TestData.random([1, 3, 4], seed: 11)],
                                             attrs: [attr("rotary_embedding_dim", 5)], outputCount: 1), "odd rotary dim")
        XCTAssertThrowsError(try OneNode.run("RotaryEmbedding", opset: 23, [TestData.random([1, 3, 10], seed: 12),
                                                                        TestData.random([1, 3, 1], seed: 13),
                                                                        TestData.random([1, 3, 1], seed: 14)], outputCount: 1),
                             "3-D without num_heads")
    }

    // MARK: SwiGLU

    func testSwiGLUFloat32AndFloat64() throws {
        var av = TestData.random([300, 70], seed: 15, scale: 6).array(Float.self)
        av[0] = .nan; av[1] = .infinity; av[2] = -.infinity
        let a = Tensor(av, shape: [300, 70]), b = TestData.random([300, 70], seed: 16, scale: 2)
        for alpha: Float in [1, 1.702] {
            let got = try OneNode.run("SwiGLU", opset: 28, [a, b], attrs: [attr("alpha", alpha)], outputCount: 1)
            let want = zip(elementValues(a), elementValues(b)).map { x, y in
                x * (1 / (1 + exp(-Double(alpha) * x))) * y
            }
            assertClose(got[0], want, shape: [300, 70], rtol: 1e-5, atol: 1e-6, "SwiGLU alpha \(alpha)")
        }
        let a64 = Tensor(elementValues(b), shape: [300, 70]), b64 = Tensor(elementValues(a).map { $0.isFinite ? $0 : 0 }, shape: [300, 70])
        let got = try OneNode.run("SwiGLU", opset: 28, [a64, b64], outputCount: 1)
        XCTAssertEqual(got[0].dtype, .float64)
        assertClose(got[0], zip(elementValues(a64), elementValues(b64)).map { $0 / (1 + exp(-$0)) * $1 }, dtype: .float64, shape: [300, 70],
                    rtol: 1e-12, atol: 1e-14, "SwiGLU float64")
        XCTAssertThrowsError(try OneNode.run("SwiGLU", opset: 28, [TestData.random([2, 3], seed: 17), TestData.random([3], seed: 18)],
                                             outputCount: 1), "A and B of different shapes")
    }

    // MARK: TensorScatter

    /// The spec's pseudocode over flat arrays: cache [prefix..., capacity, inner], update [prefix..., length, inner].
    private func naiveScatter<T>(_ past: [T], _ update: [T], batch: Int, prefixes: Int, capacity: Int, length: Int,
                                 inner: Int, writes: [Int64]?, circular: Bool) -> [T] {
        var out = past
        for p in 0..<prefixes {
            let w = Int(writes?[p / (prefixes / batch)] ?? 0)
            for s in 0..<length {
                var slot = w + s
                if circular { slot = ((slot % capacity) + capacity) % capacity }
                for e in 0..<inner { out[(p * capacity + slot) * inner + e] = update[(p * length + s) * inner + e] }
            }
        }
        return out
    }

    func testTensorScatterLinearCircularAndAxes() throws {
        let past = Tensor((0..<(2 * 3 * 6 * 4)).map { Int64($0) }, shape: [2, 3, 6, 4])
        let update = Tensor((0..<(2 * 3 * 2 * 4)).map { -Int64($0) - 1 }, shape: [2, 3, 2, 4])
        for (writes, mode) in [([Int64(1), 4], "linear"), ([5, -1], "circular"), ([13, -7], "circular")] {
            let got = try OneNode.run("TensorScatter", opset: 24, [past, update, Tensor(writes, shape: [2])],
                                      attrs: [attr("mode", mode)], outputCount: 1)
            let want = naiveScatter(past.array(Int64.self), update.array(Int64.self), batch: 2, prefixes: 6, capacity: 6,
                                    length: 2, inner: 4, writes: writes, circular: mode == "circular")
            XCTAssertEqual(got[0].array(Int64.self), want, "\(mode) \(writes)")
        }
        // Axis 1 of a rank-3 float cache, no write indices (all zero).
        let fpast = TestData.random([3, 5, 7], seed: 19), fupdate = TestData.random([3, 2, 7], seed: 20)
        let got = try OneNode.run("TensorScatter", opset: 24, [fpast, fupdate], attrs: [attr("axis", 1)], outputCount: 1)
        let want = naiveScatter(fpast.array(Float.self), fupdate.array(Float.self), batch: 3, prefixes: 3, capacity: 5,
                                length: 2, inner: 7, writes: nil, circular: false)
        XCTAssertEqual(got[0].array(Float.self), want, "axis 1")
    }

    func testTensorScatterRejects() {
        let past = TestData.random([2, 6, 4], seed: 21), update = TestData.random([2, 2, 4], seed: 22)
        XCTAssertThrowsError(try OneNode.run("TensorScatter", opset: 24, [past, update, Tensor([Int64]([5, 0]), shape: [2])],
                                             outputCount: 1),
                             "linear write past the end")
        XCTAssertThrowsError(try OneNode.run("TensorScatter", opset: 24, [past, update, Tensor([Int64]([-1, 0]), shape: [2])],
                                             outputCount: 1),
                             "negative linear write")
        XCTAssertThrowsError(try OneNode.run("TensorScatter", opset: 24, [past, update], attrs: [attr("axis", 0)],
                                             outputCount: 1), "batch axis")
        XCTAssertThrowsError(try OneNode.run("TensorScatter", opset: 24, [past, update], attrs: [attr("mode", "ring")],
                                             outputCount: 1), "unknown mode")
        XCTAssertThrowsError(try OneNode.run("TensorScatter", opset: 24, [past, TestData.random([2, 7, 4], seed: 23)],
                                             outputCount: 1), "update longer than the cache")
    }
}
