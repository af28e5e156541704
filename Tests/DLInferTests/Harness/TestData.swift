import DLInferCore

/// Deterministic inputs for the op tests (fixed seeds: a failure reproduces).
enum TestData {
    /// Uniform values in [-scale, scale).
    static func random(_ shape: [Int], seed: Int, scale: Float = 1) -> Tensor {
        var state = UInt64(seed) &* 6364136223846793005 &+ 1442695040888963407
        let v = (0..<shape.elementCount).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
        return Tensor(v, shape: shape)
    }

    /// Uniform floats in [lo, hi).
    static func uniform(_ count: Int, seed: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        var state = UInt64(seed) &* 0x9E3779B97F4A7C15 &+ 0x632BE59BD9B4E019
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return lo + (hi - lo) * Float(state >> 40) / Float(1 << 24)
        }
    }

    /// A float32 tensor of `uniform` values.
    static func tensor(_ shape: [Int], seed: Int, _ lo: Float = -1, _ hi: Float = 1) -> Tensor {
        Tensor(uniform(shape.elementCount, seed: seed, lo, hi), shape: shape)
    }

    /// Integers in lo...hi.
    static func integers(_ count: Int, seed: Int, _ lo: Int, _ hi: Int) -> [Int] {
        uniform(count, seed: seed, 0, 1).map { lo + Swift.min(hi - lo, Int($0 * Float(hi - lo + 1))) }
    }

    /// Doubles in [-scale, scale), the special values first.
    static func doubles(_ n: Int, scale: Double, specials: [Double] = [.nan, .infinity, -.infinity, 0, -0.0], seed: UInt64 = 1) -> [Double] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<n).map { i in
            if i < specials.count { return specials[i] }
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return scale * (Double(state >> 11) / Double(1 << 53) * 2 - 1)
        }
    }

    /// Multiples of 1/1000 in [-1, 1] (exact in a few decimal digits: the conv and pool tests' inputs).
    static func thousandths(_ n: Int, seed: Int) -> [Float] {
        var s = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        return (0..<n).map { _ in
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int((s >> 33) % 2001) - 1000) / 1000
        }
    }

    /// A 1-D int64 tensor (axes, pads, shapes, starts and ends).
    static func int64(_ v: [Int]) -> Tensor { Tensor(v.map { Int64($0) }, shape: [v.count]) }
}
