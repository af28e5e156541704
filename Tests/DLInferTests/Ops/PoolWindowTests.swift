import DLInferCore
import XCTest

/// MaxPool and AveragePool where every window lies whole inside the input (no padding, no dilation, floor
/// rounding): the kernel reads such windows directly instead of building rows. Checked against each output element
/// computed on its own, with NaN, infinities and both zeros among the inputs.
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
