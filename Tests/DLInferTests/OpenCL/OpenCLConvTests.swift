import DLInferCore
import DLInferCPU
import DLInferOpenCL
import XCTest

/// Conv on OpenCL against the CPU on every path (1x1 GEMM, depthwise, direct with each tile shape), at sizes that are
/// not multiples of any tile: odd channel counts, batch 1 and 3, strides, dilations, groups, asymmetric and automatic
/// pads, fused activations, constant and computed weights; 3-D (the column-matrix path). And ConvTranspose over 1 to 3
/// spatial axes.
final class OpenCLConvTests: OpenCLTestCase {
    /// X [n, c, spatial...] as an input, W [m, c/group, kernel...] constant or not, B optional.
    private func conv(_ a: Conv, n: Int, c: Int, m: Int, spatial: [Int], kernel: [Int], bias: Bool = true,
                      constantW: Bool = true, _ what: String, line: UInt = #line) throws {
        let x = random([n, c] + spatial), w = random([m, c / a.group] + kernel, scale: 0.5)
        try check(.conv(a), [(x, false), (w, constantW), bias ? (random([m]), true) : nil],
                  "\(what) n\(n) c\(c) m\(m) \(spatial) k\(kernel) bias \(bias) constW \(constantW)", line: line)
    }

    func testPointwiseGemmPath() throws {
        for n in [1, 3] {
            for constantW in [true, false] {
                try conv(Conv(), n: n, c: 7, m: 13, spatial: [5, 9], kernel: [1, 1], constantW: constantW, "1x1")
                try conv(Conv(group: 3, activation: .relu), n: n, c: 9, m: 6, spatial: [3, 7], kernel: [1, 1], bias: false,
                         constantW: constantW, "1x1 grouped relu")
            }
        }
        try conv(Conv(autoPad: .sameUpper), n: 2, c: 5, m: 3, spatial: [1, 1], kernel: [1, 1], "1x1 auto pad 1-pixel")
        try conv(Conv(), n: 2, c: 33, m: 17, spatial: [11], kernel: [1], "1-D 1x1")
    }

    func testDepthwisePath() throws {
        for n in [1, 3] {
            try conv(Conv(pads: [1, 1, 1, 1], group: 7), n: n, c: 7, m: 7, spatial: [9, 11], kernel: [3, 3], "3x3 s1 p1")
            try conv(Conv(strides: [2, 2], pads: [1, 1, 1, 1], group: 5, activation: .clip(min: 0, max: 6)), n: n, c: 5,
                     m: 10, spatial: [10, 7], kernel: [3, 3], bias: false, "multiplier 2 s2 relu6")
        }
        try conv(Conv(dilations: [2, 3], pads: [2, 0, 1, 3], group: 3), n: 2, c: 3, m: 3, spatial: [8, 13], kernel: [3, 2],
                 "dilated asymmetric pads")
        try conv(Conv(strides: [1, 3], autoPad: .sameLower, group: 4), n: 1, c: 4, m: 4, spatial: [6, 17], kernel: [5, 5],
                 constantW: false, "5x5 same lower computed W")
        try conv(Conv(), n: 2, c: 1, m: 6, spatial: [12, 12], kernel: [5, 5], "one input channel (LeNet)")
        try conv(Conv(strides: [2], pads: [2, 1], group: 6), n: 3, c: 6, m: 12, spatial: [19], kernel: [4], "1-D")
        try conv(Conv(group: 2), n: 1, c: 2, m: 2, spatial: [1, 1], kernel: [1, 1], "1x1 depthwise")
    }

    func testDirectPath() throws {
        for n in [1, 3] {
            for constantW in [true, false] {
                try conv(Conv(pads: [1, 1, 1, 1]), n: n, c: 5, m: 70, spatial: [11, 13], kernel: [3, 3],
                         constantW: constantW, "3x3 p1")
                try conv(Conv(strides: [2, 2], pads: [3, 3, 3, 3], activation: .relu), n: n, c: 3, m: 17,
                         spatial: [23, 21], kernel: [7, 7], constantW: constantW, "7x7 s2 relu")
            }
        }
        try conv(Conv(group: 2), n: 3, c: 6, m: 10, spatial: [7, 9], kernel: [3, 3], "grouped")
        try conv(Conv(group: 3, activation: .leakyRelu(alpha: 0.2)), n: 1, c: 12, m: 9, spatial: [6, 5], kernel: [2, 3],
                 constantW: false, "grouped computed W leaky")
        try conv(Conv(dilations: [2, 2], pads: [2, 2, 2, 2]), n: 2, c: 4, m: 20, spatial: [9, 10], kernel: [3, 3], "dilated")
        try conv(Conv(strides: [3, 1], pads: [0, 1, 2, 0]), n: 2, c: 3, m: 5, spatial: [10, 8], kernel: [3, 1],
                 "strided asymmetric pads")
        try conv(Conv(strides: [2, 2]), n: 1, c: 16, m: 33, spatial: [9, 9], kernel: [1, 1], bias: false, "1x1 stride 2")
        try conv(Conv(pads: [1, 0, 0, 1]), n: 1, c: 5, m: 4, spatial: [4, 4], kernel: [1, 1], "1x1 padded")
        for pad in [AutoPad.sameUpper, .sameLower, .valid] {
            try conv(Conv(strides: [2, 2], autoPad: pad), n: 2, c: 3, m: 8, spatial: [8, 7], kernel: [4, 3], pad.rawValue)
        }
        try conv(Conv(strides: [2], pads: [1, 2], activation: .tanh), n: 3, c: 7, m: 11, spatial: [30], kernel: [3], "1-D")
        try conv(Conv(pads: [1, 1, 1, 1]), n: 2, c: 64, m: 128, spatial: [16, 16], kernel: [3, 3], "full tiles")
    }

    /// Few pixels and many taps: the taps are split across work-groups and the partial sums reduced (on small
    /// devices such as PoCL on the dev machine; larger ones split more layers).
    func testDirectSplitTaps() throws {
        try conv(Conv(pads: [1, 1, 1, 1], activation: .relu), n: 1, c: 32, m: 70, spatial: [3, 3], kernel: [3, 3], "split")
        try conv(Conv(pads: [1, 1, 1, 1]), n: 1, c: 16, m: 20, spatial: [3, 3], kernel: [3, 3], bias: false, "split small tiles")
        for constantW in [true, false] {
            try conv(Conv(pads: [1, 1, 1, 1], group: 2, activation: .sigmoid), n: 1, c: 32, m: 20, spatial: [2, 2],
                     kernel: [3, 3], constantW: constantW, "split grouped")
        }
        try conv(Conv(strides: [2, 2]), n: 3, c: 40, m: 3, spatial: [5, 3], kernel: [3, 3], "split batched")
    }

    /// Layer sizes that pick each tile shape: the choice weighs the channel and pixel counts against the device's
    /// compute units; on a 2-unit device (PoCL on the dev machine) this set takes every (RM, RN) and the 8 x 8 group.
    func testDirectTileShapes() throws {
        let layers: [(Int, [Int])] = [(5, [2, 3]), (5, [9, 9]), (5, [10, 11]), (5, [10, 20]), (20, [7, 8]), (20, [17, 9]),
                                      (20, [17, 12]), (70, [4, 5]), (70, [5, 8]), (70, [11, 13]), (130, [1, 2])]
        for (m, spatial) in layers {
            try conv(Conv(pads: [1, 1, 1, 1]), n: 1, c: 3, m: m, spatial: spatial, kernel: [3, 3], "tiles")
        }
    }

    func testFusedActivations() throws {
        let acts: [Activation] = [.relu, .leakyRelu(alpha: 0.1), .sigmoid, .tanh, .hardSigmoid(alpha: 0.2, beta: 0.5),
                                  .elu(alpha: 0.8), .clip(min: -0.5, max: 0.5)]
        for act in acts {
            try conv(Conv(pads: [1, 1, 1, 1], activation: act), n: 2, c: 3, m: 6, spatial: [5, 6], kernel: [3, 3], "direct \(act)")
            try conv(Conv(activation: act), n: 2, c: 3, m: 6, spatial: [5, 6], kernel: [1, 1], "1x1 \(act)")
            try conv(Conv(pads: [1, 1, 1, 1], group: 3, activation: act), n: 2, c: 3, m: 6, spatial: [5, 6], kernel: [3, 3],
                     "depthwise \(act)")
        }
    }

    /// A skip connection's Add fused into the Conv (FuseResidualAdd), on each path (the direct one with its taps
    /// split too): the residual is added after the path's bias and the activation after it.
    func testFusedResidual() throws {
        let cases: [(Conv, x: [Int], w: [Int], y: [Int])] = [
            (Conv(activation: .relu), [2, 7, 5, 9], [13, 7, 1, 1], [2, 13, 5, 9]),
            (Conv(pads: [1, 1, 1, 1], group: 6, activation: .clip(min: 0, max: 6)), [1, 6, 9, 11], [6, 1, 3, 3], [1, 6, 9, 11]),
            (Conv(pads: [1, 1, 1, 1], activation: .relu), [3, 5, 11, 13], [70, 5, 3, 3], [3, 70, 11, 13]),
            (Conv(strides: [2, 2], pads: [1, 1, 1, 1]), [1, 4, 9, 9], [6, 4, 3, 3], [1, 6, 5, 5]),
            (Conv(pads: [1, 1, 1, 1], activation: .relu), [1, 32, 3, 3], [70, 32, 3, 3], [1, 70, 3, 3]),
            (Conv(activation: .sigmoid), [2, 2, 3, 4, 5], [3, 2, 2, 2, 2], [2, 3, 2, 3, 4]),
        ]
        for (i, c) in cases.enumerated() {
            var a = c.0
            a.residual = true
            try check(.conv(a), [(random(c.x), false), (random(c.w, scale: 0.5), true), i % 2 == 0 ? (random([c.w[0]]), true) : nil,
                                 (random(c.y), false)], "residual \(c.x) \(c.w)")
        }
    }

    func testThreeDimensionalConv() throws {
        for n in [1, 3] {
            try conv(Conv(), n: n, c: 2, m: 3, spatial: [3, 4, 5], kernel: [2, 2, 2], "3-D")
            try conv(Conv(strides: [1, 2, 2], dilations: [2, 1, 1], pads: [1, 0, 1, 0, 2, 1], group: 2, activation: .relu),
                     n: n, c: 4, m: 6, spatial: [5, 7, 6], kernel: [2, 3, 3], constantW: false, "3-D strided dilated grouped relu")
        }
        try conv(Conv(autoPad: .sameUpper), n: 2, c: 5, m: 7, spatial: [4, 9, 8], kernel: [3, 3, 3], bias: false, "3-D same upper")
        try conv(Conv(group: 3), n: 1, c: 3, m: 3, spatial: [3, 6, 6], kernel: [1, 3, 3], "3-D depthwise")
        try conv(Conv(), n: 2, c: 6, m: 5, spatial: [2, 3, 4], kernel: [1, 1, 1], "3-D 1x1x1")
    }

    func testFourDimensionalConvRunsOnTheCPU() throws {
        let device = try openCLDevice()
        let (g, _) = try graph(.conv(Conv()), [(random([1, 2, 3, 3, 4, 5]), false), (random([3, 2, 2, 2, 2, 2]), true)])
        let s = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: device))
        XCTAssertEqual(s.placements[0].backend, "cpu")
        XCTAssertTrue(s.placements[0].reason?.contains("4-D Conv") ?? false, s.placements[0].reason ?? "")
    }

    private func convTranspose(_ a: ConvTranspose, n: Int, c: Int, mg: Int, spatial: [Int], kernel: [Int],
                               bias: Bool = true, constantW: Bool = true, _ what: String, line: UInt = #line) throws {
        let x = random([n, c] + spatial), w = random([c, mg] + kernel, scale: 0.5)
        try check(.convTranspose(a), [(x, false), (w, constantW), bias ? (random([mg * a.group]), true) : nil],
                  "\(what) n\(n) c\(c) mg\(mg) \(spatial) k\(kernel)", line: line)
    }

    func testConvTranspose() throws {
        for n in [1, 3] {
            try convTranspose(ConvTranspose(strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1]), n: n, c: 3, mg: 5,
                              spatial: [5, 7], kernel: [3, 3], "s2 p1 output padding")
            try convTranspose(ConvTranspose(group: 2), n: n, c: 6, mg: 3, spatial: [4, 3], kernel: [2, 2], bias: false,
                              constantW: false, "grouped computed W")
        }
        try convTranspose(ConvTranspose(strides: [3, 2], dilations: [2, 2], pads: [0, 2, 1, 0]), n: 2, c: 4, mg: 3,
                          spatial: [4, 5], kernel: [3, 3], "dilated asymmetric")
        try convTranspose(ConvTranspose(strides: [2, 2], autoPad: .sameUpper), n: 1, c: 2, mg: 3, spatial: [3, 4],
                          kernel: [3, 3], "same upper")
        try convTranspose(ConvTranspose(strides: [2, 2], autoPad: .sameLower), n: 1, c: 2, mg: 3, spatial: [3, 4],
                          kernel: [4, 3], "same lower")
        try convTranspose(ConvTranspose(strides: [3, 2], outputShape: [12, 10]), n: 2, c: 3, mg: 2, spatial: [3, 4],
                          kernel: [3, 3], "output shape beyond the natural size")
        try convTranspose(ConvTranspose(strides: [2]), n: 2, c: 5, mg: 7, spatial: [9], kernel: [4], "1-D")
        try convTranspose(ConvTranspose(strides: [1, 2, 2], pads: [0, 1, 0, 1, 0, 1]), n: 2, c: 3, mg: 2,
                          spatial: [3, 4, 5], kernel: [2, 3, 3], "3-D")
        try convTranspose(ConvTranspose(), n: 1, c: 33, mg: 17, spatial: [6, 6], kernel: [1, 1], "1x1")
    }
}
