import DLInferCore
import XCTest

/// Gemm and MatMul on OpenCL at sizes that are not multiples of any tile, every transpose and bias shape, batched
/// and broadcast MatMul, fused activations.
final class OpenCLGemmTests: OpenCLTestCase {
    func testGemmTransposesAndBiases() throws {
        let (m, n, k) = (13, 37, 70)
        for transA in [false, true] {
            for transB in [false, true] {
                for (ci, cShape) in [nil, [], [n], [m, 1], [m, n]].enumerated() {
                    var a = Gemm(alpha: ci % 2 == 0 ? 1 : 0.5, beta: ci == 3 ? -2 : 1, transA: transA, transB: transB)
                    a.activation = ci == 2 ? .relu : nil
                    let x = random(transA ? [k, m] : [m, k]), w = random(transB ? [n, k] : [k, n])
                    try check(.gemm(a), [(x, false), (w, true), cShape.map { (random($0), true) }], "tA \(transA) tB \(transB) C \(String(describing: cShape))")
                }
            }
        }
    }

    func testGemmSmallAndLarge() throws {
        for (m, n, k) in [(1, 1, 1), (1, 10, 64), (64, 1, 3), (129, 65, 257), (200, 300, 150)] {
            try check(.gemm(Gemm()), [(random([m, k]), false), (random([k, n]), false), (random([n]), true)], "\(m)x\(n)x\(k)")
        }
    }

    /// Each path the automatic choice takes (GEMV both ways round, tiled at several sizes), weights constant or not.
    func testGemmPathsWithConstantAndComputedWeights() throws {
        for (m, n, k) in [(1, 1000, 512), (4, 37, 70), (300, 2, 50), (65, 129, 33), (128, 64, 16), (9, 200, 300)] {
            for transB in [false, true] {
                for constant in [true, false] {
                    let w = random(transB ? [n, k] : [k, n])
                    try check(.gemm(Gemm(transB: transB)), [(random([m, k]), false), (w, constant), (random([n]), true)],
                              "\(m)x\(n)x\(k) tB \(transB) constant \(constant)")
                }
            }
        }
    }

    func testMatMulBatchedAndBroadcast() throws {
        let cases: [([Int], [Int])] = [([7], [7]), ([7], [7, 3]), ([4, 7], [7]), ([2, 5, 7], [7, 3]), ([3, 1, 5, 7], [2, 7, 9]),
                                       ([1, 33, 17], [4, 17, 19]), ([2, 3, 4, 5], [2, 3, 5, 6]), ([1, 1], [1, 1]), ([5, 0], [0, 3]),
                                       ([3, 70, 40], [40, 90]), ([2, 1, 65, 33], [1, 3, 33, 17]), ([130, 9], [2, 9, 100])]
        for (sa, sb) in cases {
            try check(.matMul(MatMul()), [(random(sa), false), (random(sb), false)], "\(sa) x \(sb)")
        }
        var fused = MatMul()
        fused.activation = .sigmoid
        try check(.matMul(fused), [(random([3, 10, 20]), false), (random([20, 30]), true)], "fused sigmoid")
    }
}
