import DLInferCore
import XCTest

/// BatchNormalization (per channel and, opsets 7-8, per activation; constant and computed statistics; with a fused
/// activation), LRN (odd and
/// even sizes), GroupNormalization (parameters per channel and, opset 18, per group) and InstanceNormalization against
/// the CPU.
final class OpenCLNormalizationTests: OpenCLTestCase {
    func testBatchNorm() throws {
        for (shape, spatial) in [([3, 5, 7, 9], true), ([1, 7, 13], true), ([4, 6], true), ([11], true), ([2, 3, 4, 5], false),
                                 ([0, 3, 2, 2], true)] {
            let params = spatial ? [shape.count >= 2 ? shape[1] : 1] : Array(shape[1...])
            let variance = Tensor(random(params).array(Float.self).map { abs($0) + 0.1 }, shape: params)
            for (constant, activation) in [(true, nil), (false, nil), (true, Activation.relu), (false, .clip(min: -1, max: 2))] {
                var bn = BatchNorm(epsilon: 1e-3, spatial: spatial)
                bn.activation = activation
                try check(.batchNorm(bn),
                          [(random(shape, scale: 3), false), (random(params), constant), (random(params), constant),
                           (random(params), constant), (variance, constant)],
                          "\(shape) spatial \(spatial) constant \(constant) activation \(String(describing: activation))")
            }
        }
    }

    func testGroupAndInstanceNormalization() throws {
        for (shape, groups) in [([2, 6, 5, 7], 3), ([1, 8, 300], 2), ([3, 4, 1], 4), ([2, 5, 3, 3], 1), ([0, 4, 2], 2)] {
            for perGroup in [false, true] {
                let params = perGroup ? groups : shape[1]
                try check(.groupNorm(GroupNorm(groups: groups, epsilon: 1e-5, paramsPerGroup: perGroup)),
                          [(random(shape, scale: 3), false), (random([params]), true), (random([params]), false)],
                          "\(shape) groups \(groups) per group \(perGroup)")
            }
            try check(.groupNorm(GroupNorm(groups: nil, epsilon: 1e-3)),
                      [(random(shape, scale: 3), false), (random([shape[1]]), false), (random([shape[1]]), true)],
                      "instance \(shape)")
        }
    }

    func testFloatToFloatCastIsAView() throws {
        var v = random([4, 9]).array(Float.self)
        v[3] = .nan; v[5] = .infinity
        try check(.cast(Cast(to: .float32)), [(Tensor(v, shape: [4, 9]), false)])
    }

    func testLRN() throws {
        for size in [1, 3, 4, 5] {
            for shape in [[2, 7, 5, 6], [1, 3, 11], [3, 16, 1, 1]] {
                try check(.lrn(LRN(size: size, alpha: 0.02, beta: 0.75, bias: 1.5)), [(random(shape, scale: 3), false)],
                          "size \(size) \(shape)")
            }
        }
    }
}
