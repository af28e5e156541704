import DLInferCore
import XCTest

/// GridSample against a reference that interpolates axis by axis as the ONNX reference does (every mode, padding and
/// align_corners, 1-D to 3-D, coordinates beyond [-1, 1], exact rounding ties), and AffineGrid against direct
/// formulas.
final class SamplingTests: XCTestCase {

    func testGridSample2DAgainstNaive() throws {
        let x = TestData.tensor([2, 3, 5, 6], seed: 21)
        let grid = TestData.tensor([2, 20, 30, 2], seed: 22, -1.4, 1.4)
        for mode in ["linear", "nearest", "cubic"] {
            for padding in ["zeros", "border", "reflection"] {
                for align in [0, 1] {
                    try check(x, grid, mode: mode, padding: padding, align: align, opset: 20)
                }
            }
        }
        // Opset 16 names the modes bilinear and bicubic.
        try check(x, grid, mode: "bicubic", padding: "reflection", align: 0, opset: 16)
        XCTAssertThrowsError(try OneNode.run("GridSample", opset: 16, [x, grid], attrs: [attr("mode", "cubic")]))
        XCTAssertThrowsError(try OneNode.run("GridSample", opset: 20, [x, grid], attrs: [attr("mode", "bicubic")]))
        XCTAssertThrowsError(try OneNode.run("GridSample", opset: 16, [TestData.tensor([1, 1, 2, 2, 2], seed: 1),
                                                                       TestData.tensor([1, 1, 1, 1, 3], seed: 2)]),
                             "opset 16 is 2-D only")
    }

    func testGridSampleOtherRanksAndTies() throws {
        let x3 = TestData.tensor([1, 2, 3, 4, 5], seed: 23), grid3 = TestData.tensor([1, 3, 2, 4, 3], seed: 24, -1.3, 1.3)
        let x1 = TestData.tensor([2, 2, 7], seed: 25), grid1 = TestData.tensor([2, 9, 1], seed: 26, -1.5, 1.5)
        for mode in ["linear", "nearest", "cubic"] {
            for padding in ["zeros", "border", "reflection"] {
                try check(x3, grid3, mode: mode, padding: padding, align: 1, opset: 22)
                try check(x1, grid1, mode: mode, padding: padding, align: 0, opset: 20)
            }
        }
        // Positions exactly halfway between pixels round to even under nearest (L = 4: g = -0.5 -> 0.5, g = 0 -> 1.5).
        let ties = Tensor([Float(-0.5), 0, 0.5, -1, 1, -0.75] + [Float](repeating: 0, count: 6), shape: [1, 12, 1])
        try check(Tensor([Float(1), 2, 3, 4], shape: [1, 1, 4]), ties, mode: "nearest", padding: "zeros", align: 0, opset: 20)
        // A NaN coordinate contributes nothing, nor does an infinite one unless border padding clamps it to the edge.
        let odd = Tensor([Float.nan, .infinity, -.infinity], shape: [1, 3, 1]).expanded(to: 2), v = x1.array(Float.self)
        for padding in ["zeros", "border", "reflection"] {
            let y = try OneNode.run("GridSample", opset: 20, [x1, odd], attrs: [attr("padding_mode", padding)])[0].array(Float.self)
            for plane in 0..<4 {
                let edges: [Float] = padding == "border" ? [v[plane * 7 + 6], v[plane * 7]] : [0, 0]
                XCTAssertEqual(Array(y[(plane * 3)..<(plane * 3 + 3)]), [0] + edges, "\(padding), plane \(plane)")
            }
        }
    }

    func testAffineGridAgainstNaive() throws {
        for align in [0, 1] {
            let theta2 = TestData.tensor([2, 2, 3], seed: 27)
            let y2 = try OneNode.run("AffineGrid", opset: 20, [theta2, Tensor([Int64(2), 3, 4, 5], shape: [4])], constant: [1],
                                     attrs: [attr("align_corners", align)])[0]
            XCTAssertEqual(y2.shape, [2, 4, 5, 2])
            assertClose(y2, naiveAffine(theta2, [4, 5], align: align == 1), shape: [2, 4, 5, 2], rtol: 1e-5, atol: 1e-6, "2-D align \(align)")
            let theta3 = TestData.tensor([2, 3, 4], seed: 28)
            // Fed at run time, and with an axis of length 1.
            let y3 = try OneNode.run("AffineGrid", opset: 20, [theta3, Tensor([Int64(2), 1, 3, 1, 5], shape: [5])],
                                     attrs: [attr("align_corners", align)])[0]
            XCTAssertEqual(y3.shape, [2, 3, 1, 5, 3])
            assertClose(y3, naiveAffine(theta3, [3, 1, 5], align: align == 1), shape: [2, 3, 1, 5, 3], rtol: 1e-5, atol: 1e-6, "3-D align \(align)")
        }
        XCTAssertThrowsError(try OneNode.run("AffineGrid", opset: 20, [TestData.tensor([2, 2, 3], seed: 1), Tensor([Int64(3), 1, 4, 4], shape: [4])]),
                             "size's batch differs from theta's")
        XCTAssertThrowsError(try OneNode.run("AffineGrid", opset: 20, [TestData.tensor([2, 2, 3], seed: 1),
                                                                       Tensor([Int64(2), 1, 2, 4, 4], shape: [5])],
                                             constant: [1]), "a 3-D size for a 2-D theta")
    }

    // MARK: helpers

    private func check(_ x: Tensor, _ grid: Tensor, mode: String, padding: String, align: Int, opset: Int,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let y = try OneNode.run("GridSample", opset: opset, [x, grid],
                                attrs: [attr("mode", mode), attr("padding_mode", padding), attr("align_corners", align)])[0]
        let name = ["bilinear": "linear", "bicubic": "cubic"][mode] ?? mode
        let shape = Array(x.shape[..<2]) + grid.shape[1..<(grid.rank - 1)]
        assertClose(y, naiveGridSample(x, grid, mode: name, padding: padding, align: align == 1), shape: shape, rtol: 1e-4,
                    atol: 1e-5, "\(mode) \(padding) align \(align) rank \(x.rank)", file: file, line: line)
    }

    private func naiveGridSample(_ x: Tensor, _ grid: Tensor, mode: String, padding: String, align: Bool) -> [Float] {
        let r = x.rank - 2, dims = Array(x.shape[2...]), (n, c) = (x.shape[0], x.shape[1])
        let points = grid.count / (n * r), plane = dims.reduce(1, *), strides = dims.contiguousStrides
        let v = x.array(Float.self), g = grid.array(Float.self)
        func reflect(_ x: Float, _ lo: Float, _ hi: Float) -> Float {
            let range = hi - lo
            var x = x
            // One reflection at a time until inside.
            while range > 0 && (x < lo || x > hi) { x = x < lo ? 2 * lo - x : 2 * hi - x }
            return range > 0 ? x : lo
        }
        func cubic(_ t: Float) -> [Float] {
            let a: Float = -0.75
            func k(_ d: Float) -> Float {
                let d = abs(d)
                if d <= 1 { return ((a + 2) * d - (a + 3)) * d * d + 1 }
                if d < 2 { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a }
                return 0
            }
            return [k(t + 1), k(t), k(1 - t), k(2 - t)]
        }
        var out = [Float](repeating: 0, count: n * c * points)
        for b in 0..<n {
            for p in 0..<points {
                var coords = [Float]()
                var bad = false
                for a in 0..<r {
                    let gv = g[(b * points + p) * r + (r - 1 - a)], len = Float(dims[a])
                    var u = align ? (gv + 1) / 2 * (len - 1) : ((gv + 1) * len - 1) / 2
                    if mode == "nearest" { u = u.rounded(.toNearestOrEven) }
                    let lo: Float = align ? 0 : -0.5, hi: Float = align ? len - 1 : len - 0.5
                    if u < lo || u > hi {
                        if padding == "border" { u = min(max(u, 0), len - 1) }
                        if padding == "reflection" { u = reflect(u, lo, hi) }
                    }
                    if !u.isFinite { bad = true }
                    coords.append(u)
                }
                for ch in 0..<c {
                    let base = (b * c + ch) * plane
                    // Interpolates axis a at offset `at` of the plane, recursing into the inner axes.
                    func sample(_ a: Int, _ at: Int) -> Float {
                        if a == r { return v[base + at] }
                        let u = coords[a], len = dims[a]
                        func pixel(_ i: Int) -> Float {
                            var i = i
                            switch padding {
                            case "zeros": if i < 0 || i >= len { return 0 }
                            case "border": i = min(max(i, 0), len - 1)
                            default:
                                let lo: Float = align ? 0 : -0.5, hi: Float = align ? Float(len - 1) : Float(len) - 0.5
                                i = Int(reflect(Float(i), lo, hi))
                            }
                            return sample(a + 1, at + i * strides[a])
                        }
                        let f = u.rounded(.down), t = u - f, i = Int(f)
                        switch mode {
                        case "nearest": return pixel(Int(u))
                        case "linear": return (1 - t) * pixel(i) + t * pixel(i + 1)
                        default:
                            let w = cubic(t)
                            return (0..<4).reduce(Float(0)) { $0 + w[$1] * pixel(i - 1 + $1) }
                        }
                    }
                    out[(b * c + ch) * points + p] = bad ? 0 : sample(0, 0)
                }
            }
        }
        return out
    }

    private func naiveAffine(_ theta: Tensor, _ spatial: [Int], align: Bool) -> [Float] {
        let r = spatial.count, t = theta.array(Float.self)
        func position(_ i: Int, _ len: Int) -> Double {
            if align { return len == 1 ? -1 : -1 + 2 * Double(i) / Double(len - 1) }
            return -1 + (2 * Double(i) + 1) / Double(len)
        }
        var out = [Float]()
        for b in 0..<theta.shape[0] {
            for p in 0..<spatial.reduce(1, *) {
                // Homogeneous point: innermost axis first, then 1.
                var idx = [Int](repeating: 0, count: r), rem = p
                for a in stride(from: r - 1, through: 0, by: -1) { idx[a] = rem % spatial[a]; rem /= spatial[a] }
                let point = (0..<r).map { position(idx[r - 1 - $0], spatial[r - 1 - $0]) } + [1]
                for row in 0..<r {
                    out.append(Float((0...r).reduce(0.0) { $0 + Double(t[(b * r + row) * (r + 1) + $1]) * point[$1] }))
                }
            }
        }
        return out
    }
}

private extension Tensor {
    /// This [1, ...] tensor repeated along a new batch of `n`.
    func expanded(to n: Int) -> Tensor {
        let v = array(Float.self)
        return Tensor((0..<n).flatMap { _ in v }, shape: [n] + shape[1...])
    }
}
