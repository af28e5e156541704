import DLInferCore
import XCTest

/// Col2Im in 2-D and 3-D with strides, dilations and pads against a direct reference (every column entry added at
/// its image position), and a column count that does not match rejected.
final class Col2ImTests: XCTestCase {
    func testCol2ImAgainstNaive() throws {
        let cases: [(image: [Int], block: [Int], strides: [Int], dilations: [Int], pads: [Int])] = [
            ([9, 10], [2, 3], [2, 1], [1, 2], [1, 0, 2, 1]),
            ([4, 5, 6], [2, 2, 3], [1, 2, 1], [2, 1, 1], [0, 1, 1, 1, 0, 2]),
        ]
        for (image, block, strides, dilations, pads) in cases {
            let r = image.count
            var grid = [Int]()
            for a in 0..<r {
                let span: Int = image[a] + pads[a] + pads[r + a] - dilations[a] * (block[a] - 1) - 1
                grid.append(span / strides[a] + 1)
            }
            let k = block.reduce(1, *), l = grid.reduce(1, *)
            let x = TestData.tensor([2, 3 * k, l], seed: 35)
            let y = try OneNode.run("Col2Im", opset: 18, [x, Tensor(image.map(Int64.init), shape: [r]), Tensor(block.map(Int64.init), shape: [r])],
                                    constant: [1, 2], attrs: [attr("strides", strides), attr("dilations", dilations), attr("pads", pads)])[0]
            XCTAssertEqual(y.shape, [2, 3] + image)
            var want = [Float](repeating: 0, count: 2 * 3 * image.reduce(1, *))
            let v = x.array(Float.self), plane = image.reduce(1, *)
            for nc in 0..<6 {
                for kk in 0..<k {
                    for pos in 0..<l {
                        var at = 0, inside = true, kr = kk, pr = pos
                        var coord = [Int](repeating: 0, count: r)
                        for a in stride(from: r - 1, through: 0, by: -1) {
                            coord[a] = (pr % grid[a]) * strides[a] - pads[a] + (kr % block[a]) * dilations[a]
                            kr /= block[a]; pr /= grid[a]
                        }
                        for a in 0..<r { inside = inside && coord[a] >= 0 && coord[a] < image[a]; at = at * image[a] + coord[a] }
                        if inside { want[nc * plane + at] += v[(nc * k + kk) * l + pos] }
                    }
                }
            }
            assertClose(y, want, shape: [2, 3] + image, rtol: 1e-5, atol: 1e-6, "Col2Im \(image)")
            XCTAssertThrowsError(try OneNode.run("Col2Im", opset: 18, [TestData.tensor([2, 3 * k, l + 1], seed: 1),
                                                                   Tensor(image.map(Int64.init), shape: [r]),
                                                                   Tensor(block.map(Int64.init), shape: [r])],
                                                 attrs: [attr("strides", strides), attr("dilations", dilations), attr("pads", pads)]),
                                 "one column too many")
        }
    }
}
