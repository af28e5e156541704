import DLInferCore
import DLInferEngine
import XCTest

/// Conv's and ConvTranspose's fast paths (depthwise, 1x1 direct GEMM, tiled im2col, grouped ConvTranspose) against
/// naive references written here, at sizes that cross tile boundaries; and malformed models rejected with an error
/// rather than a crash.
final class ConvTests: XCTestCase {
    // MARK: Conv

    func testDepthwiseStridedDilatedWithMultiplierAndFusedClip() throws {
        try checkConv(x: [2, 6, 13, 11], w: [12, 1, 3, 3], group: 6, strides: [2, 1], dilations: [1, 2],
                      pads: [1, 2, 0, 1], bias: true, activation: .clip(min: -0.5, max: 0.5))
        try checkConv(x: [1, 8, 9, 9], w: [8, 1, 5, 5], group: 8, strides: [2, 2], dilations: [1, 1],
                      pads: [2, 2, 2, 2], bias: false, activation: .relu)
        // Narrower than the dilated kernel: no column has every tap inside the input.
        try checkConv(x: [1, 2, 5, 2], w: [2, 1, 3, 3], group: 2, strides: [1, 1], dilations: [1, 2],
                      pads: [1, 2, 1, 2], bias: true, activation: nil)
        try checkConv(x: [1, 3, 7, 9], w: [3, 1, 3, 3], group: 3, strides: [2, 2], dilations: [1, 1],
                      pads: [0, 1, 1, 0], bias: true, activation: nil)
        // Wide enough for the vector loops of the stride-1 and stride-2 3x3 interiors.
        try checkConv(x: [1, 4, 9, 40], w: [4, 1, 3, 3], group: 4, strides: [2, 2], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: .relu)
        try checkConv(x: [1, 2, 6, 37], w: [2, 1, 3, 3], group: 2, strides: [1, 1], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: nil)
        // Rows under 16 outputs (the zero-padded plane copy): vectors of 8 with an overlapping last one, of 4, and
        // single outputs; channel multipliers, down-strides of 3 and asymmetric pads.
        try checkConv(x: [2, 3, 10, 12], w: [6, 1, 3, 3], group: 3, strides: [1, 1], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: .clip(min: -0.2, max: 0.3))
        try checkConv(x: [1, 2, 11, 14], w: [2, 1, 3, 3], group: 2, strides: [2, 2], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: false, activation: .relu)
        try checkConv(x: [1, 2, 13, 15], w: [4, 1, 3, 3], group: 2, strides: [3, 2], dilations: [1, 1],
                      pads: [2, 0, 0, 2], bias: true, activation: nil)
        try checkConv(x: [1, 2, 5, 5], w: [2, 1, 3, 3], group: 2, strides: [2, 2], dilations: [1, 1],
                      pads: [0, 0, 0, 0], bias: true, activation: nil)
        try checkConv(x: [1, 3, 8, 15], w: [3, 1, 3, 3], group: 3, strides: [1, 1], dilations: [1, 1],
                      pads: [0, 1, 2, 1], bias: true, activation: nil)
    }

    func testPointwiseDirectGemmAcrossTiles() throws {
        // 64 output channels x 97*89 pixels exceeds one tile of the column budget.
        try checkConv(x: [1, 3, 97, 89], w: [64, 3, 1, 1], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [0, 0, 0, 0], bias: true, activation: .leakyRelu(alpha: 0.1))
        try checkConv(x: [2, 8, 5, 7], w: [6, 4, 1, 1], group: 2, strides: [1, 1], dilations: [1, 1],
                      pads: [0, 0, 0, 0], bias: false, activation: nil)
        // 600 input channels: two depth blocks, each with the plane's last partial panel packed.
        try checkConv(x: [1, 600, 5, 7], w: [13, 600, 1, 1], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [0, 0, 0, 0], bias: true, activation: .relu)
        // Padded pointwise: read through the padded plane, not in place.
        try checkConv(x: [1, 5, 6, 7], w: [9, 5, 1, 1], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [1, 0, 0, 2], bias: true, activation: nil)
        // Many weights (the GEMM on X with AVX2): column tiles dealt out in whole panels of differing counts, on 14x14
        // pixels (cut for 2+ threads) and on 23x29 (three tiles of the column budget on one thread).
        try checkConv(x: [1, 256, 14, 14], w: [40, 256, 1, 1], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [0, 0, 0, 0], bias: true, activation: .clip(min: 0, max: 6))
        try checkConv(x: [1, 200, 23, 29], w: [48, 200, 1, 1], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [0, 0, 0, 0], bias: false, activation: .relu)
    }

    func testIm2colAcrossTilesWithGroupsAndAsymmetricPads() throws {
        // K = 32*9 = 288 rows: 47*45 output pixels need two column tiles.
        try checkConv(x: [1, 32, 47, 45], w: [3, 32, 3, 3], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: .relu)
        try checkConv(x: [2, 6, 10, 9], w: [9, 2, 3, 2], group: 3, strides: [2, 3], dilations: [2, 1],
                      pads: [0, 3, 2, 1], bias: true, activation: .sigmoid)
        try checkConv(x: [1, 4, 8, 8], w: [4, 4, 1, 1], group: 1, strides: [2, 2], dilations: [1, 1],
                      pads: [0, 0, 1, 1], bias: false, activation: nil)
    }

    func testPixelRowsPathOnSmallPlanes() throws {
        // 7x7 outputs with 128+ channels: pixels as the GEMM's rows (im2col, then Yᵀ transposed into Y, eight channels
        // at a time and the rest one by one, adding the bias and clamping); two images, an activation applied after.
        try checkConv(x: [2, 20, 7, 7], w: [130, 20, 3, 3], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: .sigmoid)
        try checkConv(x: [1, 16, 13, 13], w: [128, 16, 3, 3], group: 1, strides: [2, 2], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: false, activation: .relu)
        // Taps gathered straight into packed panels: 64 * 9 = 576 taps (two depth blocks, the second partial), a
        // dilation down, asymmetric pads, and a 5x5 kernel at stride 2.
        try checkConv(x: [1, 64, 7, 7], w: [128, 64, 3, 3], group: 1, strides: [1, 1], dilations: [2, 1],
                      pads: [0, 1, 2, 1], bias: true, activation: .relu)
        try checkConv(x: [2, 24, 15, 15], w: [136, 24, 5, 5], group: 1, strides: [2, 2], dilations: [1, 1],
                      pads: [2, 2, 2, 2], bias: true, activation: nil)
        // Pointwise: X read in place as the transposed left operand.
        try checkConv(x: [1, 40, 7, 7], w: [24, 40, 1, 1], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [0, 0, 0, 0], bias: true, activation: .clip(min: -0.2, max: 0.4))
        // Xᵀ packed once per image by all threads: two images, 600 channels (two depth blocks).
        try checkConv(x: [2, 600, 7, 7], w: [40, 600, 1, 1], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [0, 0, 0, 0], bias: true, activation: .relu)
    }

    func testDirectPathSharesSmallPlanesByTilesAndChannelChunks() throws {
        // Too few tiles for the threads: cut into two-panel tiles and chunks of output channels (on 2+ threads),
        // pointwise in place and 3x3 through the tile scratch.
        try checkConv(x: [1, 32, 14, 14], w: [96, 32, 1, 1], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [0, 0, 0, 0], bias: true, activation: .relu)
        try checkConv(x: [1, 24, 10, 10], w: [60, 24, 3, 3], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: .leakyRelu(alpha: 0.2))
    }

    func testDirectPathStridesDilationsGroupsAndDepthBlocks() throws {
        // Two images; 16 output channels (a panel and a partial one); rows that are not whole vectors.
        try checkConv(x: [2, 48, 21, 37], w: [16, 48, 3, 3], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: .relu)
        // 64 * 9 = 576 taps: two depth blocks; asymmetric pads.
        try checkConv(x: [1, 64, 9, 11], w: [20, 64, 3, 3], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [0, 1, 2, 1], bias: true, activation: nil)
        // Strides 2 and 3 (phase planes), dilation, groups with several channels each.
        try checkConv(x: [1, 5, 17, 19], w: [7, 5, 3, 3], group: 1, strides: [2, 2], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: .leakyRelu(alpha: 0.1))
        try checkConv(x: [2, 6, 13, 16], w: [8, 3, 3, 2], group: 2, strides: [2, 3], dilations: [2, 1],
                      pads: [0, 3, 2, 1], bias: true, activation: nil)
        try checkConv(x: [1, 3, 20, 20], w: [17, 3, 5, 5], group: 1, strides: [1, 1], dilations: [2, 2],
                      pads: [4, 4, 4, 4], bias: false, activation: .clip(min: -0.3, max: 0.3))
        // A single-channel image into 16 channels (im2col on packed weights, the depthwise kernel below 16); a
        // padding wider than the kernel reaches.
        try checkConv(x: [1, 1, 12, 40], w: [16, 1, 3, 3], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: nil)
        try checkConv(x: [1, 2, 6, 7], w: [3, 2, 2, 2], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [3, 0, 1, 4], bias: true, activation: nil)
        // 64 output channels over 40 x 152 flat outputs: many tiles.
        try checkConv(x: [1, 8, 40, 150], w: [64, 8, 3, 3], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: .relu)
    }

    func testDirectPathWritesRowsStraightIntoY() throws {
        // Few taps and rows that fill their panels: the micro-kernel writes Y row by row. A stem at stride 2 (row
        // tiles of 8 output rows, the last one partial), a row of two panels with a partial second, groups of three
        // channels, an activation the micro-kernel cannot apply (applied to Y's rows afterwards), two images, and a
        // single output row.
        try checkConv(x: [1, 3, 81, 127], w: [64, 3, 3, 3], group: 1, strides: [2, 2], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: .clip(min: 0, max: 6))
        try checkConv(x: [2, 6, 23, 61], w: [10, 3, 3, 3], group: 2, strides: [1, 1], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: .sigmoid)
        try checkConv(x: [1, 3, 40, 64], w: [40, 3, 3, 3], group: 1, strides: [1, 1], dilations: [1, 2],
                      pads: [1, 2, 1, 2], bias: false, activation: .relu)
        try checkConv(x: [1, 3, 3, 224], w: [24, 3, 3, 3], group: 1, strides: [2, 2], dilations: [1, 1],
                      pads: [0, 0, 0, 1], bias: true, activation: nil)
        // A single-channel image (crnn's stem), which takes this path only row by row.
        try checkConv(x: [2, 1, 20, 64], w: [24, 1, 3, 3], group: 1, strides: [1, 1], dilations: [1, 1],
                      pads: [1, 1, 1, 1], bias: true, activation: .relu)
    }

    /// A skip connection's Add fused into every path: Winograd's, the depthwise kernels, pixel rows (in place and
    /// through im2col), the direct path in place, row by row and through its tile, the GEMM of 1-D and 3-D layers and
    /// (with AVX2 and generic kernels) of pointwise layers with many weights; Relu and Clip in the micro-kernel's stores
    /// after the residual, other activations after it in Swift.
    func testFusedResidualOnEveryPath() throws {
        let cases: [(x: [Int], w: [Int], group: Int, strides: [Int], pads: [Int], activation: Activation?)] = [
            ([1, 64, 16, 16], [64, 64, 3, 3], 1, [1, 1], [1, 1, 1, 1], .relu),
            ([2, 16, 19, 23], [24, 16, 3, 3], 1, [1, 1], [1, 1, 1, 1], .sigmoid),
            ([2, 6, 10, 12], [6, 1, 3, 3], 6, [1, 1], [1, 1, 1, 1], .relu),
            ([1, 4, 13, 40], [4, 1, 3, 3], 4, [2, 2], [1, 1, 1, 1], nil),
            ([1, 8, 9, 9], [8, 1, 5, 5], 8, [1, 1], [2, 2, 2, 2], .clip(min: -0.5, max: 0.5)),
            ([1, 40, 7, 7], [24, 40, 1, 1], 1, [1, 1], [0, 0, 0, 0], .relu),
            ([2, 20, 7, 7], [130, 20, 3, 3], 1, [1, 1], [1, 1, 1, 1], .clip(min: -0.2, max: 0.4)),
            ([1, 32, 14, 14], [96, 32, 1, 1], 1, [1, 1], [0, 0, 0, 0], .relu),
            ([2, 600, 5, 7], [13, 600, 1, 1], 1, [1, 1], [0, 0, 0, 0], nil),
            ([1, 144, 12, 12], [24, 144, 1, 1], 1, [1, 1], [0, 0, 0, 0], .relu),
            ([2, 160, 12, 12], [64, 160, 1, 1], 1, [1, 1], [0, 0, 0, 0], nil),
            ([1, 32, 14, 14], [96, 32, 1, 1], 1, [1, 1], [0, 0, 0, 0], .leakyRelu(alpha: 0.1)),
            ([1, 3, 40, 64], [40, 3, 3, 3], 1, [1, 1], [1, 1, 1, 1], .relu),
            ([2, 6, 23, 61], [10, 3, 3, 3], 2, [1, 1], [1, 1, 1, 1], .tanh),
            ([1, 24, 10, 10], [60, 24, 3, 3], 1, [1, 1], [1, 1, 1, 1], .relu),
            ([2, 48, 21, 37], [16, 48, 3, 3], 1, [2, 2], [1, 1, 1, 1], nil),
            ([2, 3, 50], [5, 3, 4], 1, [3], [2, 1], .relu),
            ([1, 2, 4, 5, 6], [3, 2, 2, 2, 2], 1, [1, 1, 1], [1, 0, 1, 0, 1, 1], .relu),
        ]
        for (i, c) in cases.enumerated() {
            try checkConv(x: c.x, w: c.w, group: c.group, strides: c.strides, dilations: c.strides.map { _ in 1 },
                          pads: c.pads, bias: i % 3 != 2, activation: c.activation, residual: true)
        }
    }

    func testOneAndThreeSpatialAxes() throws {
        try checkConv(x: [2, 3, 50], w: [5, 3, 4], group: 1, strides: [3], dilations: [2], pads: [2, 1], bias: true,
                      activation: .tanh)
        try checkConv(x: [1, 4, 6, 7, 5], w: [6, 2, 3, 2, 3], group: 2, strides: [1, 2, 1], dilations: [1, 1, 2],
                      pads: [1, 0, 2, 1, 1, 0], bias: true, activation: nil)
        // Depthwise in 3-D takes the im2col path.
        try checkConv(x: [1, 3, 4, 5, 6], w: [3, 1, 2, 2, 2], group: 3, strides: [1, 1, 1], dilations: [1, 1, 1],
                      pads: [0, 0, 0, 0, 0, 0], bias: false, activation: nil)
    }

    // MARK: ConvTranspose

    func testConvTransposeGroupedStridedDilated() throws {
        try checkConvTranspose(x: [2, 4, 5, 4], w: [4, 3, 3, 2], group: 2, strides: [2, 3], dilations: [1, 2],
                               pads: [1, 0, 0, 2], outputPadding: [1, 0], bias: true)
        try checkConvTranspose(x: [1, 3, 7], w: [3, 2, 4], group: 1, strides: [2], dilations: [1], pads: [1, 1],
                               outputPadding: [1], bias: false)
        try checkConvTranspose(x: [1, 2, 3, 3, 2], w: [2, 2, 2, 2, 2], group: 1, strides: [2, 1, 2],
                               dilations: [1, 1, 1], pads: [0, 0, 1, 0, 1, 0], outputPadding: [0, 0, 0], bias: true)
    }

    // MARK: rejection

    func testMalformedModelsAreRejected() throws {
        let x = ValueType(.float32, fixed: [1, 4, 8, 8])
        func load(_ op: Op, _ types: [ValueType]) -> DLInferError? {
            do { _ = try OneNode.graph(op, types.map { .input($0) }); return nil } catch let e as DLInferError { return e } catch { return nil }
        }
        let w = { (s: [Int]) in ValueType(.float32, fixed: s) }
        XCTAssertNotNil(load(.conv(Conv()), [x, w([2, 3, 3, 3])]), "channel mismatch")
        XCTAssertNotNil(load(.conv(Conv(group: 3)), [x, w([6, 2, 3, 3])]), "group does not divide")
        XCTAssertNotNil(load(.conv(Conv(strides: [1])), [x, w([2, 4, 3, 3])]), "strides of the wrong length")
        XCTAssertNotNil(load(.conv(Conv(kernelShape: [5, 5])), [x, w([2, 4, 3, 3])]), "kernel_shape disagrees with W")
        XCTAssertNotNil(load(.conv(Conv()), [x, w([2, 4, 9, 9])]), "kernel larger than the input")
        XCTAssertNotNil(load(.conv(Conv()), [x, w([2, 4, 3])]), "rank mismatch")
        XCTAssertNotNil(load(.conv(Conv()), [x, w([2, 4, 3, 3]), w([3])]), "bias length")
        XCTAssertNotNil(load(.conv(Conv(autoPad: .sameUpper)), [ValueType(.int64, fixed: [1, 4, 8, 8]), w([2, 4, 3, 3])]), "dtype")
        XCTAssertNotNil(load(.convTranspose(ConvTranspose(outputPadding: [2, 2])), [x, w([4, 2, 3, 3])]), "output_padding >= stride")
        XCTAssertNotNil(load(.batchNorm(BatchNorm()), [x, w([3]), w([4]), w([4]), w([4])]), "BN scale length")
        XCTAssertNotNil(load(.lrn(LRN(size: 0)), [x]), "LRN size")
        XCTAssertNotNil(load(.globalPool(GlobalPool(.max)), [ValueType(.float32, fixed: [2, 3])]), "global pool rank")
        XCTAssertNotNil(load(.conv(Conv(strides: [1, 1 << 40])), [x, w([2, 4, 3, 3])]), "absurd stride")
        XCTAssertNotNil(load(.convTranspose(ConvTranspose(strides: [Window.limit, 1])), [ValueType(.float32, fixed: [1, 4, 1 << 45, 8]), w([4, 2, 3, 3])]),
                        "overflowing output size")
        XCTAssertNil(load(.conv(Conv()), [x, w([2, 4, 3, 3])]))
    }

    func testWrongChannelCountAtRunTimeIsAnError() throws {
        // Channels symbolic at load: the mismatch only shows when the input arrives.
        let g = try OneNode.graph(.conv(Conv(group: 1)), [.input(ValueType(.float32, [.fixed(1), .symbol("C"), .fixed(5), .fixed(5)])),
                                                          .constant(Tensor([Float](repeating: 1, count: 18), shape: [2, 1, 3, 3]))])
        let session = try InferenceSession(model: Model(graph: g))
        XCTAssertThrowsError(try session.run([Tensor([Float](repeating: 1, count: 75), shape: [1, 3, 5, 5])]))
        XCTAssertEqual(try session.run([Tensor([Float](repeating: 1, count: 25), shape: [1, 1, 5, 5])])[0].shape, [1, 2, 3, 3])
    }

    // MARK: references

    /// Conv against the naive sum; with `residual`, a fused skip connection: a tensor of Y's shape added after the
    /// bias, before the activation.
    private func checkConv(x xs: [Int], w ws: [Int], group: Int, strides: [Int], dilations: [Int], pads: [Int],
                           bias: Bool, activation: Activation?, residual: Bool = false, file: StaticString = #filePath,
                           line: UInt = #line) throws {
        let x = TestData.thousandths(xs.reduce(1, *), seed: 1), w = TestData.thousandths(ws.reduce(1, *), seed: 2), b = TestData.thousandths(ws[0], seed: 3)
        var op = Conv(strides: strides, dilations: dilations, pads: pads, group: group)
        op.activation = activation
        op.residual = residual
        let n = xs.count - 2, m = ws[0], cg = ws[1], mg = m / group
        let inSp = Array(xs[2...]), k = Array(ws[2...])
        let outSp = (0..<n).map { (i: Int) -> Int in
            let span: Int = inSp[i] + pads[i] + pads[n + i] - (k[i] - 1) * dilations[i] - 1
            return span / strides[i] + 1
        }
        let r = TestData.thousandths(xs[0] * m * outSp.reduce(1, *), seed: 6).map { $0 * 4 }
        var inputs: [Tensor?] = [Tensor(x, shape: xs), Tensor(w, shape: ws), bias ? Tensor(b, shape: [ws[0]]) : nil]
        if residual { inputs.append(Tensor(r, shape: [xs[0], m] + outSp)) }
        let got = try OneNode.run(.conv(op), inputs, constant: [1, 2])
        XCTAssertEqual(got.shape, [xs[0], m] + outSp, file: file, line: line)
        var want = [Float]()
        let inPlane = inSp.reduce(1, *), kVol = k.reduce(1, *)
        let outIdx = multiIndices(outSp), taps = multiIndices(k)
        for bn in 0..<xs[0] { for oc in 0..<m { for o in outIdx {
            var s: Double = bias ? Double(b[oc]) : 0
            let g = oc / mg
            for c in 0..<cg { for (kf, t) in taps.enumerated() {
                var flat = 0, inside = true
                for i in 0..<n {
                    let p = o[i] * strides[i] - pads[i] + t[i] * dilations[i]
                    if p < 0 || p >= inSp[i] { inside = false; break }
                    flat = flat * inSp[i] + p
                }
                guard inside else { continue }
                s += Double(x[(bn * xs[1] + g * cg + c) * inPlane + flat]) * Double(w[(oc * cg + c) * kVol + kf])
            } }
            if residual { s += Double(r[want.count]) }
            want.append(activation.map { $0.apply(Float(s)) } ?? Float(s))
        } } }
        // A residual may cancel most of a sum whose float32 rounding (Winograd's transforms: about 1e-5 of a sum near
        // 10 here) rtol then no longer covers.
        assertClose(got, want, shape: [xs[0], m] + outSp, rtol: 1e-4, atol: residual ? 3e-4 : 1e-4, file: file, line: line)
    }

    private func checkConvTranspose(x xs: [Int], w ws: [Int], group: Int, strides: [Int], dilations: [Int], pads: [Int],
                                    outputPadding: [Int], bias: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let x = TestData.thousandths(xs.reduce(1, *), seed: 4), w = TestData.thousandths(ws.reduce(1, *), seed: 5)
        let m = ws[1] * group, b = TestData.thousandths(m, seed: 6)
        let op = ConvTranspose(strides: strides, dilations: dilations, pads: pads, group: group, outputPadding: outputPadding)
        var inputs = [Tensor(x, shape: xs), Tensor(w, shape: ws)]
        if bias { inputs.append(Tensor(b, shape: [m])) }
        let got = try OneNode.run(.convTranspose(op), inputs, constant: [1, 2])

        let n = xs.count - 2, c = xs[1], cg = c / group, mg = ws[1]
        let inSp = Array(xs[2...]), k = Array(ws[2...])
        let outSp = (0..<n).map { (i: Int) -> Int in
            let natural: Int = strides[i] * (inSp[i] - 1) + outputPadding[i] + (k[i] - 1) * dilations[i] + 1
            return natural - pads[i] - pads[n + i]
        }
        XCTAssertEqual(got.shape, [xs[0], m] + outSp, file: file, line: line)
        let outPlane = outSp.reduce(1, *), inPlane = inSp.reduce(1, *), kVol = k.reduce(1, *)
        var want = [Double](repeating: 0, count: xs[0] * m * outPlane)
        for bn in 0..<xs[0] { for oc in 0..<m { for p in 0..<outPlane { want[(bn * m + oc) * outPlane + p] = bias ? Double(b[oc]) : 0 } } }
        let inIdx = multiIndices(inSp), taps = multiIndices(k)
        for bn in 0..<xs[0] { for ic in 0..<c { for (fi, i) in inIdx.enumerated() {
            let g = ic / cg
            for mo in 0..<mg { for (kf, t) in taps.enumerated() {
                var flat = 0, inside = true
                for a in 0..<n {
                    let o = i[a] * strides[a] - pads[a] + t[a] * dilations[a]
                    if o < 0 || o >= outSp[a] { inside = false; break }
                    flat = flat * outSp[a] + o
                }
                guard inside else { continue }
                let at: Int = (bn * m + g * mg + mo) * outPlane + flat
                let xv = Double(x[(bn * c + ic) * inPlane + fi]), wv = Double(w[(ic * mg + mo) * kVol + kf])
                want[at] += xv * wv
            } }
        } } }
        assertClose(got, want.map { Float($0) }, shape: [xs[0], m] + outSp, rtol: 1e-4, atol: 1e-4, file: file, line: line)
    }

    private func multiIndices(_ dims: [Int]) -> [[Int]] {
        var out: [[Int]] = [[]]
        for d in dims { out = out.flatMap { p in (0..<d).map { p + [$0] } } }
        return out
    }
}
