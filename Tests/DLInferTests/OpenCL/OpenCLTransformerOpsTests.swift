import DLInferCore
import XCTest

/// The kernels transformers need on the device, against the CPU: every float UnaryMath function (NaN, ±inf, ±0 and
/// out-of-domain inputs included), LayerNormalization/RMSNormalization (short and long rows, per-row and broadcast
/// parameters, the Mean/InvStdDev outputs) and FusedAttention (the exporters' strided forms, masks that broadcast,
/// fully masked rows with and without the NaN guard, keys longer than a work-group).
final class OpenCLTransformerOpsTests: OpenCLTestCase {
    private let functions: [UnaryMath.Function] = [
        .abs, .neg, .sign, .log, .reciprocal, .floor, .ceil, .round, .erf, .sin, .cos, .tan, .asin, .acos, .atan,
        .sinh, .cosh, .asinh, .acosh, .atanh, .softplus, .softsign, .mish, .hardSwish, .gelu(tanhApproximation: false),
        .gelu(tanhApproximation: true), .selu(alpha: 1.67, gamma: 1.05), .celu(alpha: 0.7), .swish(alpha: 1.3),
        .thresholdedRelu(alpha: 0.2), .shrink(bias: 0.1, lambd: 0.4),
    ]

    func testUnaryMath() throws {
        for shape in [[3, 37], [1031], [0, 4]] {
            var x = random(shape, scale: 3)
            if x.count > 10 {
                var v = x.array(Float.self)
                for (i, s) in [Float.nan, .infinity, -.infinity, 0, -0.0, 2.5, -2.5, 0.5, 100, -100].enumerated() { v[i] = s }
                x = Tensor(v, shape: shape)
            }
            for f in functions {
                try check(.unaryMath(UnaryMath(f)), [(x, false)], "\(f) \(shape)")
            }
        }
    }

    func testLayerNormalization() throws {
        let cases: [(x: [Int], axis: Int, scale: [Int], bias: [Int]?)] = [
            ([2, 5, 33], -1, [33], [33]),
            ([3, 4, 6], 1, [4, 6], nil),
            ([7, 300], -1, [1, 300], [300]),   // a row longer than a work-group
            ([2, 5, 33], -1, [2, 1, 33], [33]), // Scale varies across rows: broadcast to X first
            ([4, 3], -1, [1], [3]),             // one scale value for the row
            ([6, 1], -1, [1], [1]),
        ]
        for c in cases {
            for rms in [false, true] {
                for constant in [false, true] {
                    let bias = rms ? nil : c.bias.map { (random($0), constant) }
                    try check(.layerNorm(LayerNorm(axis: c.axis, epsilon: 1e-5, rms: rms)),
                              [(random(c.x, scale: 4), false), (random(c.scale), constant), bias],
                              outputs: rms ? 1 : 3, "\(c) rms \(rms) constant \(constant)")
                }
            }
        }
    }

    /// Q, K, V as [batch, seq, heads, head size] (the layout before the exporters' Transposes).
    private func attention(batch: Int, seq: Int, keys: Int, heads: Int, d: Int, mask: Tensor?, zeroNaN: Bool,
                           keyPerm: [Int] = [0, 2, 3, 1], valueRows: Int? = nil, what: String) throws {
        let a = FusedAttention(alpha: 1 / Float(d).squareRoot(), zeroNaN: zeroNaN, queryPerm: [0, 2, 1, 3],
                               keyPerm: keyPerm, valuePerm: [0, 2, 1, 3], outputPerm: [0, 2, 1, 3])
        var operands: [(Tensor, constant: Bool)?] = [(random([batch, seq, heads, d], scale: 2), false),
                                                     (random([batch, keys, heads, d], scale: 2), false),
                                                     (random([batch, valueRows ?? keys, heads, d]), false)]
        if let mask { operands.append((mask, false)) }
        try check(.fusedAttention(a), operands, what)
    }

    func testFusedAttention() throws {
        try attention(batch: 2, seq: 7, keys: 7, heads: 3, d: 8, mask: nil, zeroNaN: false, what: "no mask")
        // Keys longer than a work-group, K read as TorchScript writes it ([0, 2, 3, 1]: Kᵀ with its head size strided).
        try attention(batch: 1, seq: 5, keys: 300, heads: 2, d: 16, mask: nil, zeroNaN: false, what: "300 keys")
        // A padding mask [batch, 1, 1, keys] with a fully masked second item: NaN rows, or zeros with the guard.
        var m = [Float](repeating: 0, count: 2 * 9)
        for j in 6..<9 { m[j] = -.infinity }
        for j in 9..<18 { m[j] = -.infinity }
        let padding = Tensor(m, shape: [2, 1, 1, 9])
        for zeroNaN in [false, true] {
            try attention(batch: 2, seq: 4, keys: 9, heads: 2, d: 4, mask: padding, zeroNaN: zeroNaN,
                          what: "padding mask zeroNaN \(zeroNaN)")
        }
        // A causal mask [1, 1, seq, seq] shared by every head, and one mask value per query row ([seq, 1]).
        var causal = [Float](repeating: 0, count: 6 * 6)
        for i in 0..<6 { for j in (i + 1)..<6 where j < 6 { causal[i * 6 + j] = -1e9 } }
        try attention(batch: 3, seq: 6, keys: 6, heads: 2, d: 5, mask: Tensor(causal, shape: [1, 1, 6, 6]), zeroNaN: false,
                      what: "causal mask")
        try attention(batch: 1, seq: 6, keys: 6, heads: 1, d: 1, mask: random([6, 1]), zeroNaN: false,
                      what: "per-row mask, head size 1")
        // One key broadcast against a longer mask: the key is read as a row repeated.
        try attention(batch: 1, seq: 3, keys: 1, heads: 2, d: 4, mask: random([1, 1, 3, 5]), zeroNaN: false,
                      valueRows: 5, what: "one key, mask of 5 columns")
        try attention(batch: 0, seq: 3, keys: 3, heads: 2, d: 4, mask: nil, zeroNaN: false, what: "empty batch")
    }
}
