import DLInferCore
import DLInferEngine
import XCTest

/// One Conv session over input shapes that change between runs: each plan keeps the geometry its shapes gave, which
/// must never serve another. Against a direct convolution computed here.
final class ConvGeometryTests: XCTestCase {
    private typealias H = TestData

    func testConvGeometryFollowsTheInputShape() throws {
        let (m, c, kh, kw) = (4, 3, 3, 2)
        let w = H.tensor([m, c, kh, kw], seed: 5)
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.symbol("n"), .fixed(c), .symbol("h"), .symbol("w")])
        b.constant("w", w)
        b.node("Conv", ["x", "w"], ["y"], [attr("strides", [2, 1]), attr("pads", [1, 0, 1, 1]), attr("dilations", [1, 2])])
        b.output("y", .float32)
        let session = try InferenceSession(model: b.load())
        for (k, shape) in [[1, c, 9, 7], [2, c, 4, 12], [1, c, 9, 7], [1, c, 2, 3]].enumerated() {
            let x = H.tensor(shape, seed: 60 + k)
            let y = try session.run([x])[0]
            let (n, ih, iw) = (shape[0], shape[2], shape[3])
            let oh = (ih + 2 - kh) / 2 + 1, ow = (iw + 1 - (kw - 1) * 2 - 1) + 1
            XCTAssertEqual(y.shape, [n, m, oh, ow], "\(shape)")
            let xv = x.array(Float.self), wv = w.array(Float.self)
            var want = [Float]()
            for b in 0..<n { for o in 0..<m { for i in 0..<oh { for j in 0..<ow {
                var s = 0.0
                for ch in 0..<c { for a in 0..<kh { for e in 0..<kw {
                    let r = i * 2 - 1 + a, col = j + e * 2
                    guard r >= 0, r < ih, col >= 0, col < iw else { continue }
                    s += Double(xv[((b * c + ch) * ih + r) * iw + col]) * Double(wv[((o * c + ch) * kh + a) * kw + e])
                } } }
                want.append(Float(s))
            } } } }
            assertClose(y, want, shape: [n, m, oh, ow], rtol: 1e-5, atol: 1e-5, "\(shape)")
        }
    }
}
