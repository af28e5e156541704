import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// ConvInteger, QLinearConv and QLinearMatMul against naive integer references written from the spec: groups,
/// strides, dilations, pads, per-channel zero points and scales, broadcasting batches.
final class QLinearTests: XCTestCase {
    func testConvIntegerAgainstNaive() throws {
        // Grouped, strided, dilated, asymmetric padding, per-channel weight zero points.
        let x = Tensor(TestData.integers(2 * 4 * 9 * 11, seed: 8, 0, 255).map { UInt8($0) }, shape: [2, 4, 9, 11])
        let w = Tensor(TestData.integers(6 * 2 * 3 * 3, seed: 9, -128, 127).map { Int8($0) }, shape: [6, 2, 3, 3])
        let wz: [Int8] = [0, -3, 5, 127, -128, 1]
        let geometry = Geometry(strides: [2, 1], dilations: [1, 2], pads: [1, 0, 2, 1], group: 2)
        let attrs = [attr("strides", geometry.strides), attr("dilations", geometry.dilations),
                     attr("pads", geometry.pads), attr("group", geometry.group)]
        let y = try OneNode.run("ConvInteger", opset: 10, [x, w, Tensor.scalar(UInt8(100)), Tensor(wz, shape: [6])],
                                constant: [1, 2, 3], attrs: attrs, outputs: [.int32])[0]
        let (want, shape) = geometry.naive(x, w, xZero: 100, wZero: wz.map(Int.init))
        XCTAssertEqual(y.shape, shape)
        XCTAssertEqual(y.array(Int32.self).map(Int.init), want)

        // 64 channels x 3 x 3 taps of extreme values: sums past 2^24, where a float32 accumulator would round.
        let bigX = Tensor([UInt8](repeating: 255, count: 64 * 36), shape: [1, 64, 6, 6])
        let bigW = Tensor((TestData.integers(2 * 576, seed: 10, -128, -120) + TestData.integers(2 * 576, seed: 18, 120, 127)).map { Int8($0) },
                          shape: [4, 64, 3, 3])
        let plain = Geometry(strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], group: 1)
        let big = try OneNode.run("ConvInteger", opset: 10, [bigX, bigW], constant: [1], attrs: [attr("pads", plain.pads)],
                                  outputs: [.int32])[0]
        let (bigWant, _) = plain.naive(bigX, bigW, xZero: 0, wZero: [0, 0, 0, 0])
        XCTAssertEqual(big.array(Int32.self).map(Int.init), bigWant)
        XCTAssertGreaterThan(bigWant.map(abs).max()!, 1 << 24)
    }

    func testQLinearConvAgainstNaive() throws {
        let x = Tensor(TestData.integers(2 * 3 * 7 * 8, seed: 11, -128, 127).map { Int8($0) }, shape: [2, 3, 7, 8])
        let w = Tensor(TestData.integers(5 * 3 * 3 * 3, seed: 12, 0, 255).map { UInt8($0) }, shape: [5, 3, 3, 3])
        let wScales: [Float] = [0.01, 0.02, 0.003, 0.05, 0.1], wz: [UInt8] = [128, 120, 0, 255, 130]
        let bias: [Int32] = [1000, -5000, 0, 123_456, -7]
        let (xs, ys, yz): (Float, Float, UInt8) = (0.05, 0.7, 10)
        let geometry = Geometry(strides: [1, 2], dilations: [1, 1], pads: [1, 1, 0, 1], group: 1)
        let inputs: [Tensor?] = [x, Tensor.scalar(xs), Tensor.scalar(Int8(-2)), w, Tensor(wScales, shape: [5]),
                                 Tensor(wz, shape: [5]), Tensor.scalar(ys), Tensor.scalar(yz), Tensor(bias, shape: [5])]
        let y = try OneNode.run("QLinearConv", opset: 10, inputs, constant: Set(1...8),
                                attrs: [attr("strides", geometry.strides), attr("pads", geometry.pads)], outputs: [.uint8])[0]
        let (acc, shape) = geometry.naive(x, w, xZero: -2, wZero: wz.map(Int.init))
        let per = shape[2] * shape[3]
        let want = acc.enumerated().map { i, a -> Int in
            let o = (i / per) % 5
            let multiplier = Double((xs * wScales[o]) / ys)
            return Int(min(max((Double(a + Int(bias[o])) * multiplier).rounded(.toNearestOrEven) + Double(yz), 0), 255))
        }
        XCTAssertEqual(y.shape, shape)
        XCTAssertEqual(integerValues(y), want)
        XCTAssertTrue(want.contains(0) && want.contains(255), "saturation is exercised")
    }

    func testQLinearMatMulBroadcastWithPerColumnParameters() throws {
        let a = Tensor(TestData.integers(2 * 3 * 5, seed: 13, 0, 255).map { UInt8($0) }, shape: [2, 3, 5])
        let b = Tensor(TestData.integers(5 * 4, seed: 14, -128, 127).map { Int8($0) }, shape: [5, 4])
        let bScales: [Float] = [0.02, 0.01, 0.05, 0.002], bz: [Int8] = [0, 3, -4, 127]
        let (aS, aZ, yS, yZ): (Float, UInt8, Float, Int8) = (0.03, 120, 0.2, -5)
        let inputs: [Tensor?] = [a, Tensor.scalar(aS), Tensor.scalar(aZ), b, Tensor(bScales, shape: [4]),
                                 Tensor(bz, shape: [4]), Tensor.scalar(yS), Tensor.scalar(yZ)]
        let y = try OneNode.run("QLinearMatMul", opset: 10, inputs, constant: Set(1...7), outputs: [.int8])[0]
        let av = integerValues(a), bv = integerValues(b)
        var want = [Int]()
        for batch in 0..<2 {
            for i in 0..<3 {
                for j in 0..<4 {
                    let acc = (0..<5).reduce(0) { s, k in s + (av[(batch * 3 + i) * 5 + k] - Int(aZ)) * (bv[k * 4 + j] - Int(bz[j])) }
                    let q = (Double(acc) * Double(aS * bScales[j] / yS)).rounded(.toNearestOrEven) + Double(yZ)
                    want.append(Int(min(max(q, -128), 127)))
                }
            }
        }
        XCTAssertEqual(y.shape, [2, 3, 4])
        XCTAssertEqual(integerValues(y), want)
    }

    // MARK: references

    /// Convolution geometry for the naive integer convolution.
    private struct Geometry {
        let strides: [Int], dilations: [Int], pads: [Int], group: Int

        /// The exact sums of (x - xZero)(w - wZero[o]) over each output's window (padding contributes nothing),
        /// and the output shape.
        func naive(_ x: Tensor, _ w: Tensor, xZero: Int, wZero: [Int]) -> ([Int], [Int]) {
            let xv = integerValues(x), wv = integerValues(w)
            let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
            let (m, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
            let oh = (h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) / strides[0] + 1
            let ow = (wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) / strides[1] + 1
            var out = [Int]()
            for b in 0..<n {
                for o in 0..<m {
                    let g = o / (m / group)
                    for i in 0..<oh {
                        for j in 0..<ow {
                            var s = 0
                            for ci in 0..<cg {
                                for p in 0..<kh {
                                    for q in 0..<kw {
                                        let yy = i * strides[0] - pads[0] + p * dilations[0]
                                        let xx = j * strides[1] - pads[1] + q * dilations[1]
                                        guard yy >= 0, yy < h, xx >= 0, xx < wd else { continue }
                                        let xi = xv[((b * c + g * cg + ci) * h + yy) * wd + xx] - xZero
                                        s += xi * (wv[((o * cg + ci) * kh + p) * kw + q] - wZero[o])
                                    }
                                }
                            }
                            out.append(s)
                        }
                    }
                }
            }
            return (out, [n, m, oh, ow])
        }
    }
}
