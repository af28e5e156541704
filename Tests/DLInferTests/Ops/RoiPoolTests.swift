import DLInferCore
import XCTest

/// RoiAlign and MaxRoiPool against references that follow the ONNX reference implementation sample by sample (no
/// separable tables), on enough ROIs and channels for the parallel path, with ROIs partly or wholly outside the
/// image, inverted, and of zero size.
final class RoiPoolTests: XCTestCase {

    func testRoiAlignAgainstNaive() throws {
        let x = TestData.tensor([2, 16, 12, 14], seed: 11)
        let r = 64
        let rois = TestData.uniform(r * 4, seed: 12, -6, 20)
        let batch = TestData.integers(r, seed: 13, 0, 1)
        for (opset, transform) in [(16, "half_pixel"), (16, "output_half_pixel"), (10, nil)] {
            for mode in ["avg", "max"] {
                for ratio in [0, 2] {
                    var attrs = [attr("mode", mode), attr("output_height", 3), attr("output_width", 4),
                                 attr("sampling_ratio", ratio), attr("spatial_scale", Float(0.75))]
                    if let transform { attrs.append(attr("coordinate_transformation_mode", transform)) }
                    let y = try OneNode.run("RoiAlign", opset: opset, [x, Tensor(rois, shape: [r, 4]), Tensor(batch.map(Int64.init), shape: [r])],
                                            attrs: attrs)[0]
                    XCTAssertEqual(y.shape, [r, 16, 3, 4])
                    let want = naiveRoiAlign(x, rois, batch, oh: 3, ow: 4, ratio: ratio, scale: 0.75,
                                             halfPixel: transform == "half_pixel", max: mode == "max")
                    assertClose(y, want, shape: [r, 16, 3, 4], rtol: 1e-5, atol: 1e-6, "opset \(opset) \(transform ?? "-") \(mode) ratio \(ratio)")
                }
            }
        }
    }

    func testRoiAlignRejectsBadBatchIndicesAndHugeRois() {
        let x = TestData.tensor([2, 3, 5, 5], seed: 14), rois = Tensor([Float(0), 0, 2, 2], shape: [1, 4])
        XCTAssertThrowsError(try OneNode.run("RoiAlign", opset: 16, [x, rois, Tensor([Int64(2)], shape: [1])]), "batch index 2 of 2")
        XCTAssertThrowsError(try OneNode.run("RoiAlign", opset: 16, [x, rois, Tensor([Int64(-1)], shape: [1])]), "negative batch index")
        XCTAssertThrowsError(try OneNode.run("RoiAlign", opset: 16, [x, Tensor([Float(0), 0, 1e30, 1e30], shape: [1, 4]),
                                                                     Tensor([Int64(0)], shape: [1])]),
                             "a ROI that would need astronomically many samples")
        XCTAssertThrowsError(try OneNode.run("RoiAlign", opset: 16, [x, rois, Tensor([Int64(0)], shape: [1])], attrs: [attr("mode", "sum")]))
        XCTAssertThrowsError(try OneNode.run("RoiAlign", opset: 10, [x, rois, Tensor([Int64(0)], shape: [1])],
                                             attrs: [attr("coordinate_transformation_mode", "half_pixel")]), "opset 10 has no transform attribute")
    }

    func testMaxRoiPoolAgainstNaive() throws {
        let x = TestData.tensor([2, 8, 11, 13], seed: 15)
        let r = 48
        var rois = [Float]()
        let coords = TestData.uniform(r * 4, seed: 16, -5, 30), batch = TestData.integers(r, seed: 17, 0, 1)
        for i in 0..<r { rois += [Float(batch[i])] + coords[(4 * i)..<(4 * i + 4)] }
        let y = try OneNode.run("MaxRoiPool", opset: 22, [x, Tensor(rois, shape: [r, 5])],
                                attrs: [attr("pooled_shape", [3, 2]), attr("spatial_scale", Float(0.5))])[0]
        XCTAssertEqual(y.shape, [r, 8, 3, 2])
        assertClose(y, naiveMaxRoiPool(x, rois, ph: 3, pw: 2, scale: 0.5), shape: [r, 8, 3, 2], rtol: 0, atol: 0, "MaxRoiPool")
        XCTAssertThrowsError(try OneNode.run("MaxRoiPool", opset: 22, [x, Tensor([Float(2), 0, 0, 1, 1], shape: [1, 5])],
                                             attrs: [attr("pooled_shape", [2, 2])]), "batch index 2 of 2")
    }

    // MARK: references

    /// The ONNX reference's RoiAlign, one sample at a time, in float32.
    private func naiveRoiAlign(_ x: Tensor, _ rois: [Float], _ batch: [Int], oh: Int, ow: Int, ratio: Int, scale: Float,
                               halfPixel: Bool, max isMax: Bool) -> [Float] {
        let (c, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let v = x.array(Float.self)
        var out = [Float]()
        for n in 0..<batch.count {
            let off: Float = halfPixel ? 0.5 : 0
            let sw = rois[4 * n] * scale - off, sh = rois[4 * n + 1] * scale - off
            var rw = rois[4 * n + 2] * scale - off - sw, rh = rois[4 * n + 3] * scale - off - sh
            if !halfPixel { rw = max(rw, 1); rh = max(rh, 1) }
            let bh = rh / Float(oh), bw = rw / Float(ow)
            let gh = ratio > 0 ? ratio : Int((rh / Float(oh)).rounded(.up)), gw = ratio > 0 ? ratio : Int((rw / Float(ow)).rounded(.up))
            let count = Float(max(gh * gw, 1))
            for ch in 0..<c {
                let plane = Array(v[((batch[n] * c + ch) * h * w)..<((batch[n] * c + ch + 1) * h * w)])
                for ph in 0..<oh {
                    for pw in 0..<ow {
                        var acc: Float = 0, first = true
                        for iy in 0..<max(gh, 0) {
                            for ix in 0..<max(gw, 0) {
                                var y = sh + Float(ph) * bh + (Float(iy) + 0.5) * bh / Float(gh)
                                var xx = sw + Float(pw) * bw + (Float(ix) + 0.5) * bw / Float(gw)
                                var terms: [Float] = [0, 0, 0, 0]
                                if !(y < -1 || y > Float(h) || xx < -1 || xx > Float(w)) {
                                    y = max(y, 0); xx = max(xx, 0)
                                    var yl = Int(y), xl = Int(xx), yh = yl + 1, xh = xl + 1
                                    if yl >= h - 1 { yl = h - 1; yh = h - 1; y = Float(yl) }
                                    if xl >= w - 1 { xl = w - 1; xh = w - 1; xx = Float(xl) }
                                    let ly = y - Float(yl), lx = xx - Float(xl), hy = 1 - ly, hx = 1 - lx
                                    terms = [hy * hx * plane[yl * w + xl], hy * lx * plane[yl * w + xh],
                                             ly * hx * plane[yh * w + xl], ly * lx * plane[yh * w + xh]]
                                }
                                if isMax {
                                    let val = terms.max()!
                                    acc = first ? val : max(acc, val)
                                    first = false
                                } else {
                                    acc += terms[0] + terms[1] + terms[2] + terms[3]
                                }
                            }
                        }
                        out.append(isMax ? acc : acc / count)
                    }
                }
            }
        }
        return out
    }

    /// onnxruntime's MaxRoiPool: rounded corners, bins floor/ceil of multiples of the bin size, clipped.
    private func naiveMaxRoiPool(_ x: Tensor, _ rois: [Float], ph: Int, pw: Int, scale: Float) -> [Float] {
        let (c, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let v = x.array(Float.self)
        var out = [Float]()
        for n in 0..<(rois.count / 5) {
            let roi = Array(rois[(5 * n)..<(5 * n + 5)])
            let b = Int(roi[0])
            let x0 = Int((roi[1] * scale).rounded()), y0 = Int((roi[2] * scale).rounded())
            let x1 = Int((roi[3] * scale).rounded()), y1 = Int((roi[4] * scale).rounded())
            let bh = Float(max(y1 - y0 + 1, 1)) / Float(ph), bw = Float(max(x1 - x0 + 1, 1)) / Float(pw)
            for ch in 0..<c {
                for i in 0..<ph {
                    for j in 0..<pw {
                        let r0 = min(max(Int((Float(i) * bh).rounded(.down)) + y0, 0), h)
                        let r1 = min(max(Int((Float(i + 1) * bh).rounded(.up)) + y0, 0), h)
                        let c0 = min(max(Int((Float(j) * bw).rounded(.down)) + x0, 0), w)
                        let c1 = min(max(Int((Float(j + 1) * bw).rounded(.up)) + x0, 0), w)
                        var m: Float = r1 > r0 && c1 > c0 ? -.greatestFiniteMagnitude : 0
                        for row in r0..<max(r0, r1) { for col in c0..<max(c0, c1) { m = max(m, v[((b * c + ch) * h + row) * w + col]) } }
                        out.append(m)
                    }
                }
            }
        }
        return out
    }
}
