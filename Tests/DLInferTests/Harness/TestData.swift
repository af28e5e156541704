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

    /// Small distinct values of any type (signed types get negatives too).
    static func smallValues(_ dtype: DType, _ shape: [Int], seed: Int) -> Tensor {
        let n = shape.elementCount
        let unsigned: Set<DType> = [.uint8, .uint16, .uint32, .uint64]
        let v = (0..<n).map { ($0 * 7 + seed * 13) % 11 - (unsigned.contains(dtype) ? 0 : 5) }
        switch dtype {
        case .float32: return Tensor(v.map { Float($0) / 3 }, shape: shape)
        case .float64: return Tensor(v.map { Double($0) / 3 }, shape: shape)
        case .int32: return Tensor(v.map { Int32($0) }, shape: shape)
        case .int64: return Tensor(v.map { Int64($0) }, shape: shape)
        case .uint32: return Tensor(v.map { UInt32($0) }, shape: shape)
        case .uint64: return Tensor(v.map { UInt64($0) }, shape: shape)
        default: fatalError("test values for \(dtype)")
        }
    }

    /// Deterministic floats in [-1, 1), or with `levels`, one of that many values (for ties).
    static func floats(_ shape: [Int], seed: Int, levels: Int? = nil) -> Tensor {
        var state = UInt64(seed) &* 6364136223846793005 &+ 1442695040888963407
        let v = (0..<shape.elementCount).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u = Float(state >> 40) / Float(1 << 24)
            return levels.map { Float(Int(u * Float($0))) } ?? u * 2 - 1
        }
        return Tensor(v, shape: shape)
    }

    static func ints(_ n: Int, seed: Int, range: Range<Int>) -> [Int] {
        var state = UInt64(bitPattern: Int64(seed)) &* 6364136223846793005 &+ 1442695040888963407
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return range.lowerBound + Int((state >> 33) % UInt64(range.count))
        }
    }

    /// An integer tensor of `dtype` (1-D) with these values.
    static func typed(_ v: [Int], _ dtype: DType) -> Tensor {
        let t = try! Tensor(dtype: dtype, shape: [v.count])
        for (k, x) in v.enumerated() {
            let p = t.raw + k * dtype.byteSize
            switch dtype.byteSize {
            case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: x), as: UInt8.self)
            case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: x), as: UInt16.self)
            case 4: p.storeBytes(of: UInt32(truncatingIfNeeded: x), as: UInt32.self)
            default: p.storeBytes(of: UInt64(truncatingIfNeeded: x), as: UInt64.self)
            }
        }
        return t
    }
}
