import DLInferCore
import DLInferCPU
import DLInferOpenCL
import XCTest

/// Pointwise kernels at awkward sizes and broadcasts (including 1-element and zero-size dims).
final class OpenCLElementwiseTests: OpenCLTestCase {
    func testUnaryOps() throws {
        let kinds: [Unary.Kind] = [.exp, .sqrt, .activation(.relu), .activation(.leakyRelu(alpha: 0.1)), .activation(.sigmoid),
                                   .activation(.tanh), .activation(.hardSigmoid(alpha: 0.3, beta: 0.4)), .activation(.elu(alpha: 0.7))]
        for kind in kinds {
            for shape in [[1], [7, 13], [2, 3, 5, 7], [0, 3]] {
                var x = random(shape, scale: 4)
                if kind == .sqrt { x = Tensor(x.array(Float.self).map(abs), shape: shape) }
                try check(.unary(Unary(kind)), [(x, false)], "\(shape)")
            }
        }
    }

    /// NaN stays NaN through every activation, standalone and fused into a Gemm epilogue, on OpenCL as on the CPU.
    func testActivationsKeepNaN() throws {
        let device = try openCLDevice()
        var values = random([4, 9], scale: 3).array(Float.self)
        let nans = [0, 5, 17, 35]
        for i in nans { values[i] = .nan }
        let x = Tensor(values, shape: [4, 9])
        let acts: [Activation] = [.relu, .leakyRelu(alpha: 0.1), .sigmoid, .tanh, .hardSigmoid(alpha: 0.2, beta: 0.5),
                                  .elu(alpha: 0.8), .clip(min: -0.5, max: 0.5)]
        for act in acts {
            try check(.unary(Unary(.activation(act))), [(x, false)], "\(act) with NaN")
            var gemm = Gemm()
            gemm.activation = act
            // Row 0 of A holds a NaN, so row 0 of the product is NaN before the activation.
            try check(.gemm(gemm), [(x, false), (random([9, 5]), true)], "fused \(act) with NaN")
            for (op, feeds, nanAt) in [(Op.unary(Unary(.activation(act))), [x], nans), (.gemm(gemm), [x, random([9, 5])], Array(0..<5))] {
                let (g, _) = try graph(op, feeds.map { ($0, false) })
                let y = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: device)).run(feeds)[0]
                for i in nanAt { XCTAssertTrue(y.floats[i].isNaN, "\(op.name) \(act): element \(i) is \(y.floats[i])") }
            }
        }
    }

    func testClipWithAndWithoutBounds() throws {
        let x = random([3, 17], scale: 3)
        try check(.clip(Clip()), [(x, false), (Tensor.scalar(Float(-0.5)), true), (Tensor.scalar(Float(0.25)), true)], "both")
        try check(.clip(Clip()), [(x, false), nil, (Tensor.scalar(Float(0.25)), true)], "max only")
        try check(.clip(Clip()), [(x, false)], "none")
    }

    func testBinaryBroadcasts() throws {
        let pairs: [([Int], [Int])] = [([5, 7], [5, 7]), ([2, 3, 4], [4]), ([2, 1, 4], [3, 1]), ([1], [6, 1, 5]),
                                       ([3, 1, 7, 1], [1, 5, 1, 2]), ([1, 1], [1]), ([0, 4], [4]), ([2, 3, 1, 5, 1, 3, 2, 1, 2], [3, 2, 1, 2])]
        for kind in [Binary.Kind.add, .sub, .mul, .div, .pow] {
            for (sa, sb) in pairs {
                var a = random(sa, scale: 2), b = random(sb, scale: 2)
                if kind == .pow { a = Tensor(a.array(Float.self).map { abs($0) + 0.1 }, shape: sa) }
                if kind == .div { b = Tensor(b.array(Float.self).map { $0 + ($0 >= 0 ? 0.5 : -0.5) }, shape: sb) }
                try check(.binary(Binary(kind)), [(a, false), (b, sa.count == 1)], "\(sa) \(sb)")
            }
        }
    }

    func testPRelu() throws {
        var v = random([2, 3, 5, 4], scale: 2).array(Float.self)
        v[0] = .nan; v[1] = -.infinity; v[2] = -0.0
        let x = Tensor(v, shape: [2, 3, 5, 4])
        // One slope, one per channel (the usual [C, 1, 1]), and one per element.
        for slope in [[1], [3, 1, 1], [2, 3, 5, 4]] {
            try check(.pRelu(PRelu()), [(x, false), (random(slope), true)], "slope \(slope)")
        }
    }

    func testVariadic() throws {
        for kind in [Variadic.Kind.sum, .max, .min] {
            try check(.variadic(Variadic(kind)), [(random([4, 5]), false)], "one input")
            try check(.variadic(Variadic(kind)), [(random([4, 5]), false), (random([5]), false), (random([3, 1, 1]), true)], "three inputs")
        }
    }
}
