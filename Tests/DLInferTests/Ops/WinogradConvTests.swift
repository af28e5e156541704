import DLInferCore
import DLInferEngine
import XCTest

/// 3x3 stride-1 convolutions with 32 or more input and 16 or more output channels run by Winograd's F(4x4, 3x3) once
/// the output has 8 tiles or more (25 below 64 output channels), by the other paths below that. Both against a
/// direct convolution in double: padding of every kind, partial edge tiles, more tiles than one chunk, batches, bias
/// with fused activations, products with the tiles as columns and as rows, and one session moving between the two
/// paths.
final class WinogradConvTests: XCTestCase {
    private typealias H = TestData

    private func reference(_ x: Tensor, _ w: Tensor, _ b: Tensor?, pads: [Int], relu: Bool) -> (shape: [Int], values: [Float]) {
        let (n, c, ih, iw) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]), m = w.shape[0]
        let oh = ih + pads[0] + pads[2] - 2, ow = iw + pads[1] + pads[3] - 2
        let xv = x.array(Float.self), wv = w.array(Float.self), bv = b?.array(Float.self)
        var out = [Float](repeating: 0, count: n * m * oh * ow)
        for img in 0..<n { for o in 0..<m { for i in 0..<oh { for j in 0..<ow {
            var s = Double(bv?[o] ?? 0)
            for ch in 0..<c {
                let xb = (img * c + ch) * ih * iw, wb = (o * c + ch) * 9
                for a in 0..<3 {
                    let r = i - pads[0] + a
                    guard r >= 0, r < ih else { continue }
                    for e in 0..<3 {
                        let col = j - pads[1] + e
                        guard col >= 0, col < iw else { continue }
                        s += Double(xv[xb + r * iw + col]) * Double(wv[wb + a * 3 + e])
                    }
                }
            }
            out[((img * m + o) * oh + i) * ow + j] = Float(relu ? Swift.max(s, 0) : s)
        } } } }
        return ([n, m, oh, ow], out)
    }

    private func session(_ w: Tensor, _ b: Tensor?, pads: [Int], relu: Bool) throws -> InferenceSession {
        var m = ModelBuilder(opset: 13)
        m.input("x", .float32, [.symbol("n"), .fixed(w.shape[1]), .symbol("h"), .symbol("w")])
        m.constant("w", w)
        if let b { m.constant("b", b) }
        m.node("Conv", b == nil ? ["x", "w"] : ["x", "w", "b"], [relu ? "c" : "y"], [attr("pads", pads)])
        if relu { m.node("Relu", ["c"], ["y"]) }
        m.output("y", .float32)
        return try InferenceSession(model: m.load())
    }

    private func check(_ s: InferenceSession, _ x: Tensor, _ w: Tensor, _ b: Tensor?, pads: [Int], relu: Bool,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let y = try s.run([x])[0]
        let want = reference(x, w, b, pads: pads, relu: relu)
        XCTAssertEqual(y.shape, want.shape, file: file, line: line)
        // The transforms round in float32: a few ulps of each channel's partial sums, well inside ONNX's rtol 1e-3.
        assertClose(y, want.values, shape: want.shape, rtol: 1e-4, atol: 1e-4, "x \(x.shape) pads \(pads)", file: file, line: line)
    }

    func testWinogradLayersAgainstDirectConvolution() throws {
        let cases: [(c: Int, m: Int, shape: [Int], pads: [Int], bias: Bool, relu: Bool)] = [
            (64, 64, [1, 64, 16, 16], [1, 1, 1, 1], true, true),
            (64, 80, [2, 64, 19, 23], [1, 1, 1, 1], true, false),      // partial edge tiles, two images
            (72, 64, [1, 72, 17, 15], [0, 0, 0, 0], false, false),     // no padding
            (64, 64, [1, 64, 15, 18], [2, 0, 1, 3], true, true),       // asymmetric, wider than 3x3 would pad
            (64, 64, [1, 64, 40, 37], [1, 1, 1, 1], true, false),      // 100 tiles: more than one chunk
            (32, 16, [1, 32, 20, 21], [1, 1, 1, 1], true, true),       // the fewest channels, 30 tiles
            (40, 32, [2, 40, 18, 18], [1, 1, 1, 1], false, true),      // below 64 output channels, 25 tiles
            (64, 64, [1, 64, 4, 32], [1, 1, 1, 1], true, true),        // the fewest tiles, 8 in one row
            (32, 64, [2, 32, 45, 47], [1, 1, 1, 1], true, true),       // 144 tiles: whole chunks per thread
            (48, 72, [1, 48, 6, 36], [1, 1, 1, 1], false, true),       // tiles as rows, 72 channels: 8 a vector and 8 more
        ]
        for (k, c) in cases.enumerated() {
            let w = H.tensor([c.m, c.c, 3, 3], seed: 200 + k, -0.1, 0.1)
            let b = c.bias ? H.tensor([c.m], seed: 300 + k) : nil
            let s = try session(w, b, pads: c.pads, relu: c.relu)
            try check(s, H.tensor(c.shape, seed: 400 + k), w, b, pads: c.pads, relu: c.relu)
        }
    }

    /// One session over outputs of 4, 16 and 100 tiles and back: the path follows the shape, and the weights packed
    /// for one path never serve the other.
    func testOneSessionMovesBetweenPaths() throws {
        let w = H.tensor([64, 64, 3, 3], seed: 7, -0.1, 0.1), b = H.tensor([64], seed: 8)
        let s = try session(w, b, pads: [1, 1, 1, 1], relu: false)
        for (k, hw) in [(7, 7), (16, 16), (40, 40), (7, 7), (16, 13)].enumerated() {
            try check(s, H.tensor([1, 64, hw.0, hw.1], seed: 500 + k), w, b, pads: [1, 1, 1, 1], relu: false)
        }
    }
}
