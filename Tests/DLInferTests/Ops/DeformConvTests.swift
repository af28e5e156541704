import DLInferCore
import XCTest

/// DeformConv against a direct reference (every output element summed tap by tap, each tap interpolated on its
/// own), with groups, offset groups, strides, dilations, pads, masks, bias, offsets that leave the image, and more
/// output positions than one column tile holds.
final class DeformConvTests: XCTestCase {

    func testTwoDimensionsAgainstNaive() throws {
        let x = TestData.tensor([2, 4, 7, 8], seed: 41), w = TestData.tensor([6, 2, 3, 3], seed: 42)
        let attrs = [attr("group", 2), attr("offset_group", 2), attr("pads", [1, 2, 0, 1]), attr("strides", [1, 2]),
                     attr("dilations", [2, 1]), attr("kernel_shape", [3, 3])]
        let out = [4, 5]
        let offset = TestData.tensor([2, 2 * 9 * 2] + out, seed: 43, -3, 3), mask = TestData.tensor([2, 2 * 9] + out, seed: 44, 0, 1)
        let b = TestData.tensor([6], seed: 45)
        for withMask in [false, true] {
            let inputs: [Tensor?] = [x, w, offset, withMask ? b : nil, withMask ? mask : nil]
            let y = try OneNode.run("DeformConv", opset: 22, inputs, constant: [1], attrs: attrs)[0]
            XCTAssertEqual(y.shape, [2, 6] + out)
            let want = naive(x, w, offset, withMask ? b : nil, withMask ? mask : nil, group: 2, offsetGroup: 2,
                             pads: [1, 2], strides: [1, 2], dilations: [2, 1])
            assertClose(y, want, shape: [2, 6] + out, rtol: 1e-4, atol: 1e-5, "mask \(withMask)")
        }
    }

    func testOneAndThreeDimensionsAndManyPositions() throws {
        let x1 = TestData.tensor([1, 3, 300], seed: 46), w1 = TestData.tensor([2, 3, 4], seed: 47)
        let off1 = TestData.tensor([1, 4, 297], seed: 48, -2, 2)
        let y1 = try OneNode.run("DeformConv", opset: 19, [x1, w1, off1])[0]
        assertClose(y1, naive(x1, w1, off1, nil, nil, group: 1, offsetGroup: 1, pads: [0], strides: [1], dilations: [1]),
                    shape: [1, 2, 297], rtol: 1e-4, atol: 1e-5, "1-D")
        let x3 = TestData.tensor([1, 2, 4, 5, 6], seed: 49), w3 = TestData.tensor([3, 2, 2, 2, 2], seed: 50)
        let off3 = TestData.tensor([1, 8 * 3, 4, 5, 6], seed: 51, -1.5, 1.5)
        let y3 = try OneNode.run("DeformConv", opset: 22, [x3, w3, off3], attrs: [attr("pads", [1, 1, 1, 0, 0, 0])])[0]
        assertClose(y3, naive(x3, w3, off3, nil, nil, group: 1, offsetGroup: 1, pads: [1, 1, 1], strides: [1, 1, 1],
                              dilations: [1, 1, 1]), shape: [1, 3, 4, 5, 6], rtol: 1e-4, atol: 1e-5, "3-D")
        // 128 x 9 rows per column: 1024 positions take two tiles.
        let big = TestData.tensor([1, 128, 34, 34], seed: 52), wb = TestData.tensor([1, 128, 3, 3], seed: 53)
        let offb = TestData.tensor([1, 18, 32, 32], seed: 54, -1, 1)
        let yb = try OneNode.run("DeformConv", opset: 22, [big, wb, offb])[0]
        assertClose(yb, naive(big, wb, offb, nil, nil, group: 1, offsetGroup: 1, pads: [0, 0], strides: [1, 1], dilations: [1, 1]),
                    shape: [1, 1, 32, 32], rtol: 1e-3, atol: 1e-4, "several column tiles")
    }

    func testMismatchedInputsAreRejected() {
        let x = TestData.tensor([1, 4, 5, 5], seed: 55), w = TestData.tensor([2, 4, 3, 3], seed: 56)
        XCTAssertThrowsError(try OneNode.run("DeformConv", opset: 19, [x, w, TestData.tensor([1, 18, 4, 3], seed: 57)]), "offset of the wrong size")
        XCTAssertThrowsError(try OneNode.run("DeformConv", opset: 19, [x, w, TestData.tensor([1, 18, 3, 3], seed: 57), nil,
                                                                       TestData.tensor([1, 8, 3, 3], seed: 58)]),
                             "mask of the wrong size")
        XCTAssertThrowsError(try OneNode.run("DeformConv", opset: 19, [x, w, TestData.tensor([1, 18, 3, 3], seed: 57)],
                                             attrs: [attr("offset_group", 3)]),
                             "channels not divisible by offset_group")
        XCTAssertThrowsError(try OneNode.run("DeformConv", opset: 19, [x, w, TestData.tensor([1, 18, 3, 3], seed: 57)],
                                             attrs: [attr("auto_pad", "SAME_UPPER")]),
                             "DeformConv has no auto_pad")
    }

    /// Y[n, m, o] = B[m] + sum of W[m, c, k] * mask * bilinear(X[n, c], position + offset).
    private func naive(_ x: Tensor, _ w: Tensor, _ offset: Tensor, _ b: Tensor?, _ mask: Tensor?, group: Int, offsetGroup: Int,
                       pads: [Int], strides: [Int], dilations: [Int]) -> [Float] {
        let r = x.rank - 2, dims = Array(x.shape[2...]), kernel = Array(w.shape[2...]), out = Array(offset.shape[2...])
        let (n, c, m) = (x.shape[0], x.shape[1], w.shape[0])
        let xv = x.array(Float.self), wv = w.array(Float.self), ov = offset.array(Float.self)
        let mv = mask?.array(Float.self), bv = b?.array(Float.self)
        let taps = kernel.reduce(1, *), points = out.reduce(1, *), plane = dims.reduce(1, *), cg = c / group
        func coords(_ i: Int, _ shape: [Int]) -> [Int] {
            var rem = i, v = [Int](repeating: 0, count: shape.count)
            for a in stride(from: shape.count - 1, through: 0, by: -1) { v[a] = rem % shape[a]; rem /= shape[a] }
            return v
        }
        func pixel(_ ch: Int, _ batch: Int, _ at: [Int]) -> Double {
            var flat = 0
            for a in 0..<r { guard at[a] >= 0 && at[a] < dims[a] else { return 0 }; flat = flat * dims[a] + at[a] }
            return Double(xv[(batch * c + ch) * plane + flat])
        }
        var y = [Float]()
        for batch in 0..<n {
            for oc in 0..<m {
                for p in 0..<points {
                    let o = coords(p, out)
                    var acc = Double(bv?[oc] ?? 0)
                    for ci in 0..<cg {
                        let ch = (oc / (m / group)) * cg + ci, g = ch / (c / offsetGroup)
                        for k in 0..<taps {
                            let kk = coords(k, kernel)
                            var pos = [Double]()
                            for a in 0..<r {
                                let regular: Int = o[a] * strides[a] - pads[a] + kk[a] * dilations[a]
                                let site: Int = ((batch * offsetGroup + g) * taps + k) * r + a
                                pos.append(Double(regular) + Double(ov[site * points + p]))
                            }
                            // Multilinear interpolation over the 2^r corners.
                            var sample = 0.0
                            for corner in 0..<(1 << r) {
                                var weight = 1.0, at = [Int]()
                                for a in 0..<r {
                                    let f = pos[a].rounded(.down), t = pos[a] - f, up = (corner >> (r - 1 - a)) & 1 == 1
                                    weight *= up ? t : 1 - t
                                    at.append(Int(f) + (up ? 1 : 0))
                                }
                                sample += weight * pixel(ch, batch, at)
                            }
                            let scale = Double(mv?[((batch * offsetGroup + g) * taps + k) * points + p] ?? 1)
                            acc += Double(wv[(oc * cg + ci) * taps + k]) * sample * scale
                        }
                    }
                    y.append(Float(acc))
                }
            }
        }
        return y
    }
}
