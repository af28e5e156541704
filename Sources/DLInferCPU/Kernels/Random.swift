import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// std::minstd_rand0 and the parts of libstdc++'s <random> that onnxruntime's random kernels use, step for step, so
/// that a seeded node draws onnxruntime's values (float arithmetic included: the rounding of each step matters).
struct MinstdRand0 {
    static let modulus: UInt64 = 2_147_483_647
    private(set) var state: UInt64

    /// libstdc++'s seeding: the seed modulo 2^31 - 1, with 0 replaced by 1.
    init(seed: UInt32) {
        let s = UInt64(seed) % MinstdRand0.modulus
        state = s == 0 ? 1 : s
    }

    /// onnxruntime's `uint32_t` conversion of the float seed (x86-64's: truncation to int64, then its low 32 bits).
    init(seed: Float) {
        let v = Double(seed)
        self.init(seed: v.isFinite && abs(v) < 0x1p63 ? UInt32(truncatingIfNeeded: Int64(v)) : 0)
    }

    /// The next value, in [1, 2^31 - 2].
    @inline(__always) mutating func next() -> UInt64 {
        state = state &* 16807 % MinstdRand0.modulus
        return state
    }

    /// `generate_canonical<float, 24>`: one draw (the engine gives 30 bits), scaled by the range rounded to float.
    @inline(__always) mutating func canonicalFloat() -> Float {
        let r = Float(next() - 1) / Float(2_147_483_646)
        return r >= 1 ? Float(1).nextDown : r
    }

    /// `generate_canonical<double, 53>`: two draws, low part first.
    @inline(__always) mutating func canonicalDouble() -> Double {
        let range = 2_147_483_646.0, squared = Double(UInt64(2_147_483_646) * UInt64(2_147_483_646))
        let low = Double(next() - 1)
        let sum = low + Double(next() - 1) * range
        let r = sum / squared
        return r >= 1 ? Double(1).nextDown : r
    }

    /// `normal_distribution<float>` (Marsaglia's polar method); `saved` holds the second value of a pair.
    mutating func normalFloat(_ saved: inout Float?) -> Float {
        if let s = saved { saved = nil; return s }
        var x: Float, y: Float, r2: Float
        repeat {
            // 2 * u - 1.0 is computed in double (1.0 is a double literal there), then stored as float.
            x = Float(Double(2 * canonicalFloat()) - 1.0)
            y = Float(Double(2 * canonicalFloat()) - 1.0)
            r2 = x * x + y * y
        } while r2 > 1 || r2 == 0
        let mult = (-2 * logf(r2) / r2).squareRoot()
        saved = x * mult
        return y * mult
    }

    /// `normal_distribution<double>`.
    mutating func normalDouble(_ saved: inout Double?) -> Double {
        if let s = saved { saved = nil; return s }
        var x: Double, y: Double, r2: Double
        repeat {
            x = 2 * canonicalDouble() - 1
            y = 2 * canonicalDouble() - 1
            r2 = x * x + y * y
        } while r2 > 1 || r2 == 0
        let mult = (-2 * log(r2) / r2).squareRoot()
        saved = x * mult
        return y * mult
    }
}

/// A node's stream: seeded from the attribute, else from the system's random source, once per session (kernel).
func randomEngine(seed: Float?) -> MinstdRand0 {
    if let seed { return MinstdRand0(seed: seed) }
    var system = SystemRandomNumberGenerator()
    return MinstdRand0(seed: UInt32.random(in: 0...UInt32.max, using: &system))
}

/// RandomNormal, RandomUniform and their Like forms: element after element from the node's stream, float32 draws for
/// float16, bfloat16 and float32 outputs and float64 draws for float64.
final class RandomFillKernel: Kernel {
    let attrs: RandomFill
    private var engine: MinstdRand0
    init(_ a: RandomFill) { attrs = a; engine = randomEngine(seed: a.seed) }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let shape = attrs.shape ?? inputs[0]!.shape
        try expectShape(outputs.shape(0), shape)
        let y = try outputs.make(0)
        switch (attrs.distribution, y.dtype) {
        case (.uniform(let low, let high), .float64):
            let (a, b) = (Double(low), Double(high))
            fill(y, Double.self) { $0.canonicalDouble() * (b - a) + a }
        case (.uniform(let low, let high), _):
            try storeFloats(y) { $0.canonicalFloat() * (high - low) + low }
        case (.normal(let mean, let scale), .float64):
            var saved: Double? = nil
            let (m, s) = (Double(mean), Double(scale))
            fill(y, Double.self) { $0.normalDouble(&saved) * s + m }
        case (.normal(let mean, let scale), _):
            var saved: Float? = nil
            try storeFloats(y) { $0.normalFloat(&saved) * scale + mean }
        }
        return [y]
    }

    private func fill<T>(_ y: Tensor, _: T.Type, _ draw: (inout MinstdRand0) -> T) {
        let p = y.raw.assumingMemoryBound(to: T.self)
        for i in 0..<y.count { p[i] = draw(&engine) }
    }

    /// Float32 draws stored as float32, float16 or bfloat16.
    private func storeFloats(_ y: Tensor, _ draw: (inout MinstdRand0) -> Float) throws {
        switch y.dtype {
        case .float32: fill(y, Float.self, draw)
        case .float16: fill(y, Half.self) { Half(draw(&$0)) }
        case .bfloat16: fill(y, BFloat16.self) { BFloat16(draw(&$0)) }
        default: throw DLInferError.unsupported("\(attrs.opName) of \(y.dtype)")
        }
    }
}

/// Bernoulli: 1 where the element's draw u < p.
final class BernoulliKernel: Kernel {
    let attrs: Bernoulli
    private var engine: MinstdRand0
    init(_ a: Bernoulli) { attrs = a; engine = randomEngine(seed: a.seed) }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        try expectShape(outputs.shape(0), x.shape)
        let y = try outputs.make(0)
        let p = try floatReader(x)
        let wide = x.dtype == .float64
        try storeDoubles(y) { i in
            let u = wide ? engine.canonicalDouble() : Double(engine.canonicalFloat())
            return u < p(i) ? 1 : 0
        }
        return [y]
    }
}

/// Multinomial: per row, the cumulative sums of exp(x - max) over finite logits, then a binary search per draw.
final class MultinomialKernel: Kernel {
    let attrs: Multinomial
    private var engine: MinstdRand0
    init(_ a: Multinomial) { attrs = a; engine = randomEngine(seed: a.seed) }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        guard x.rank == 2, x.shape[1] >= 1 else { throw DLInferError.shape("input must be [batch, classes] with classes >= 1, got shape \(x.shape)") }
        let (batch, classes, samples) = (x.shape[0], x.shape[1], attrs.sampleSize)
        try expectShape(outputs.shape(0), [batch, samples])
        let y = try outputs.make(0)
        let logit = try floatReader(x)
        let cdfTensor = try outputs.make(.float64, [classes]), cdf = cdfTensor.pointer(Double.self)
        for b in 0..<batch {
            var top = -Double.greatestFiniteMagnitude
            for c in 0..<classes where logit(b * classes + c).isFinite { top = Swift.max(top, logit(b * classes + c)) }
            var total = 0.0
            for c in 0..<classes {
                let v = logit(b * classes + c)
                if v.isFinite { total += exp(v - top) }
                cdf[c] = total
            }
            guard total > 0 else { throw DLInferError.invalid("row \(b) has no finite log-probability to sample from") }
            for s in 0..<samples {
                let target = engine.canonicalDouble() * total
                // The first class whose cumulative sum exceeds the target (upper_bound).
                var lo = 0, hi = classes
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if cdf[mid] <= target { lo = mid + 1 } else { hi = mid }
                }
                let k = Swift.min(lo, classes - 1)
                if y.dtype == .int64 { y.pointer(Int64.self)[b * samples + s] = Int64(k) } else { y.pointer(Int32.self)[b * samples + s] = Int32(k) }
            }
        }
        withExtendedLifetime(cdfTensor) {}
        return [y]
    }
}

/// Element i of a float tensor as a float64.
func floatReader(_ t: Tensor) throws -> (Int) -> Double {
    let raw = UnsafeRawPointer(t.raw)
    switch t.dtype {
    case .float32: return { Double(raw.load(fromByteOffset: $0 * 4, as: Float.self)) }
    case .float64: return { raw.load(fromByteOffset: $0 * 8, as: Double.self) }
    case .float16: return { Double(raw.load(fromByteOffset: $0 * 2, as: Half.self).float) }
    case .bfloat16: return { Double(raw.load(fromByteOffset: $0 * 2, as: BFloat16.self).float) }
    default: throw DLInferError.unsupported("element type \(t.dtype) where a float type is expected")
    }
}

extension CPUKernelFactory {
    func visit(_ a: RandomFill, _ _: Node, _ _: Graph) -> HostKernel {
        RandomFillKernel(a)
    }

    func visit(_ a: Bernoulli, _ _: Node, _ _: Graph) -> HostKernel {
        BernoulliKernel(a)
    }

    func visit(_ a: Multinomial, _ _: Node, _ _: Graph) -> HostKernel {
        MultinomialKernel(a)
    }
}
