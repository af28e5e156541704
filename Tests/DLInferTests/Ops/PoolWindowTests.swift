import DLInferCore
import XCTest

/// MaxPool and AveragePool where every window lies whole inside the input (no padding, no dilation, floor
/// rounding): the kernel reads such windows directly instead of building rows; and MaxPool's vector rows. Checked
/// against each output element computed on its own, with NaN, infinities and both zeros among the inputs.
final class PoolWindowTests: XCTestCase {
    private typealias H = TestData

    private static let cases: [(shape: [Int], kernel: [Int], strides: [Int])] = [
        ([2, 3, 8, 8], [2, 2], [2, 2]), ([1, 4, 7, 9], [3, 3], [2, 2]), ([1, 2, 5, 6], [3, 2], [1, 1]),
        ([3, 40, 4, 4], [2, 2], [2, 2]), ([2, 3, 11], [3], [3]), ([1, 5, 9, 7], [1, 1], [2, 3]), ([1, 1, 6, 6], [6, 6], [1, 1]),
    ]

    /// Values with NaN, ±inf and ±0 sprinkled in (fixed positions, so every case meets some).
    private func input(_ shape: [Int], seed: Int) -> Tensor {
        var v = H.uniform(shape.elementCount, seed: seed)
        let specials: [Float] = [.nan, .infinity, -.infinity, 0, -0.0]
        for i in stride(from: seed % 7, to: v.count, by: 13) { v[i] = specials[(i / 13) % specials.count] }
        return Tensor(v, shape: shape)
    }

    /// Each output element from its window's taps, in row-major tap order.
    private func reference(_ x: Tensor, kernel: [Int], strides: [Int], _ reduce: ([Float]) -> Float) -> (shape: [Int], values: [Float]) {
        let spatial = Array(x.shape[2...])
        let (h, w) = spatial.count == 2 ? (spatial[0], spatial[1]) : (1, spatial[0])
        let (kh, kw) = kernel.count == 2 ? (kernel[0], kernel[1]) : (1, kernel[0])
        let (sh, sw) = strides.count == 2 ? (strides[0], strides[1]) : (1, strides[0])
        let (oh, ow) = ((h - kh) / sh + 1, (w - kw) / sw + 1)
        let v = x.array(Float.self)
        var out = [Float]()
        for plane in 0..<(x.shape[0] * x.shape[1]) {
            for i in 0..<oh { for j in 0..<ow {
                var taps = [Float]()
                for a in 0..<kh { for b in 0..<kw { taps.append(v[plane * h * w + (i * sh + a) * w + j * sw + b]) } }
                out.append(reduce(taps))
            } }
        }
        return (Array(x.shape[..<2]) + (spatial.count == 2 ? [oh, ow] : [ow]), out)
    }

    func testMaxPoolOfWholeWindows() throws {
        for (k, c) in Self.cases.enumerated() {
            let x = input(c.shape, seed: 70 + k)
            let y = try OneNode.run("MaxPool", opset: 12, [x], attrs: [attr("kernel_shape", c.kernel), attr("strides", c.strides)])[0]
            // NaN never wins, as in onnxruntime: a comparison with NaN is false.
            let want = reference(x, kernel: c.kernel, strides: c.strides) { $0.reduce(-Float.infinity) { $1 > $0 ? $1 : $0 } }
            XCTAssertEqual(y.shape, want.shape, "\(c)")
            let got = y.array(Float.self)
            XCTAssertEqual(got.count, want.values.count, "\(c)")
            for (i, (g, w)) in zip(got, want.values).enumerated() where g.bitPattern != w.bitPattern {
                XCTFail("\(c): element \(i) is \(g), expected \(w)")
                break
            }
        }
    }

    /// MaxPool over rows at stride 1 or 2 (the vector paths), two and three taps across, with padding, ceil
    /// rounding, interiors that end inside a vector and rows narrower than one (googlenet's 28 -> 14 and squeezenet's
    /// 27 -> 13, inception's 3x3 stride-1 branches at 14x14 and 7x7), against each output's taps inside the input in
    /// row-major order.
    func testMaxPoolVectorRows() throws {
        let cases: [(shape: [Int], kernel: [Int], strides: [Int], pads: [Int], ceil: Int)] = [
            ([1, 3, 9, 40], [3, 3], [2, 2], [1, 1, 1, 1], 0), ([1, 2, 7, 111], [3, 3], [2, 2], [0, 0, 0, 0], 1),
            ([2, 2, 6, 35], [2, 2], [2, 2], [0, 0, 0, 0], 0), ([1, 2, 5, 33], [3, 3], [1, 1], [1, 1, 1, 1], 0),
            ([1, 2, 4, 18], [3, 3], [1, 1], [0, 0, 0, 0], 0), ([1, 1, 3, 50], [1, 3], [1, 2], [0, 1, 0, 1], 0),
            ([1, 1, 4, 64], [2, 5], [2, 2], [0, 2, 1, 2], 1), ([2, 3, 70], [3], [2], [1, 1], 0),
            ([1, 4, 28, 28], [3, 3], [2, 2], [0, 0, 0, 0], 1), ([1, 3, 27, 27], [3, 3], [2, 2], [0, 0, 0, 0], 1),
            ([1, 3, 14, 14], [3, 3], [1, 1], [1, 1, 1, 1], 0), ([2, 2, 7, 7], [3, 3], [1, 1], [1, 1, 1, 1], 0),
            ([1, 2, 5, 9], [3, 3], [1, 1], [2, 2, 2, 2], 0), ([1, 1, 3, 3], [3, 3], [2, 2], [1, 1, 1, 1], 1),
            ([2, 3, 10], [3], [1], [1, 1], 0), ([1, 2, 6, 20], [2, 3], [1, 1], [0, 1, 1, 0], 0),
            ([1, 3, 14, 14], [2, 2], [2, 2], [0, 0, 0, 0], 0), ([1, 2, 9, 41], [2, 2], [2, 2], [0, 0, 0, 0], 1),
            ([1, 2, 5, 17], [3, 2], [1, 1], [1, 0, 1, 1], 0), ([2, 3, 9], [2], [2], [0, 1], 1),
        ]
        for (n, c) in cases.enumerated() {
            // Non-positive values with both zeros every few elements: many windows' maximum is a zero met as -0 and
            // as +0, where only the order of the taps decides which one wins.
            var values = input(c.shape, seed: 110 + n).array(Float.self).map { $0.isNaN ? $0 : -abs($0) }
            for i in stride(from: n % 3, to: values.count, by: 3) where !values[i].isNaN && values[i].isFinite {
                values[i] = i % 2 == 0 ? -0.0 : 0.0
            }
            let x = Tensor(values, shape: c.shape)
            let y = try OneNode.run("MaxPool", opset: 12, [x], attrs: [attr("kernel_shape", c.kernel), attr("strides", c.strides),
                                                                    attr("pads", c.pads), attr("ceil_mode", c.ceil)])[0]
            let rank = c.kernel.count, spatial = Array(c.shape[2...])
            let (h, w) = rank == 2 ? (spatial[0], spatial[1]) : (1, spatial[0])
            let (kh, kw) = rank == 2 ? (c.kernel[0], c.kernel[1]) : (1, c.kernel[0])
            let (sh, sw) = rank == 2 ? (c.strides[0], c.strides[1]) : (1, c.strides[0])
            let (ph, pw) = rank == 2 ? (c.pads[0], c.pads[1]) : (0, c.pads[0])
            let (eh, ew) = rank == 2 ? (c.pads[2], c.pads[3]) : (0, c.pads[1])
            func outSize(_ n: Int, _ k: Int, _ s: Int, _ b: Int, _ e: Int) -> Int {
                let span = n + b + e - k
                var o = (c.ceil == 1 ? (span + s - 1) / s : span / s) + 1
                if c.ceil == 1, (o - 1) * s >= n + b { o -= 1 }  // the last window must start inside the input or its left padding
                return o
            }
            let (oh, ow) = (outSize(h, kh, sh, ph, eh), outSize(w, kw, sw, pw, ew))
            XCTAssertEqual(y.shape, Array(c.shape[..<2]) + (rank == 2 ? [oh, ow] : [ow]), "\(c)")
            let v = x.array(Float.self), got = y.array(Float.self)
            var want = [Float]()
            for plane in 0..<(c.shape[0] * c.shape[1]) {
                for i in 0..<oh { for j in 0..<ow {
                    var best = -Float.infinity
                    for a in 0..<kh { for b in 0..<kw {
                        let r = i * sh - ph + a, col = j * sw - pw + b
                        guard r >= 0, r < h, col >= 0, col < w else { continue }
                        let t = v[plane * h * w + r * w + col]
                        best = t > best ? t : best
                    } }
                    want.append(best)
                } }
            }
            XCTAssertEqual(got.count, want.count, "\(c)")
            for (i, (g, e)) in zip(got, want).enumerated() where g.bitPattern != e.bitPattern {
                XCTFail("\(c): element \(i) is \(g), expected \(e)")
                break
            }
        }
    }

    func testAveragePoolOfWholeWindows() throws {
        for (k, c) in Self.cases.enumerated() {
            let x = input(c.shape, seed: 90 + k)
            for includePad in [0, 1] {
                let y = try OneNode.run("AveragePool", opset: 11, [x], attrs: [attr("kernel_shape", c.kernel), attr("strides", c.strides),
                                                                         attr("count_include_pad", includePad)])[0]
                let want = reference(x, kernel: c.kernel, strides: c.strides) { Float($0.reduce(0.0) { $0 + Double($1) } / Double($0.count)) }
                XCTAssertEqual(y.shape, want.shape, "\(c)")
                let got = y.array(Float.self)
                XCTAssertEqual(got.count, want.values.count, "\(c)")
                for (i, (g, w)) in zip(got, want.values).enumerated()
                where !(g == w || abs(g - w) <= 1e-6 + 1e-6 * abs(w) || (g.isNaN && w.isNaN)) {
                    XCTFail("\(c) count_include_pad \(includePad): element \(i) is \(g), expected \(w)")
                    break
                }
            }
        }
    }
}
