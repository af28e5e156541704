// Random generators: RandomNormal, RandomUniform, RandomNormalLike, RandomUniformLike, Bernoulli, Multinomial.
//
// Each node draws from its own stream, that of onnxruntime's CPU kernels on Linux: the minimal-standard linear
// congruential engine (std::minstd_rand0, x ← 16807 x mod 2^31 - 1) read through libstdc++'s distributions. With a
// `seed` attribute the stream starts at `uint32(trunc(seed))` (modulo 2^32; NaN, infinities and |seed| ≥ 2^63 give 0)
// when the session is created, so a seeded model draws the same values as onnxruntime, run after run; without one it
// starts at a value from the system's random source. Each run continues the stream where the last one stopped, so the
// draws change from run to run and the sequence of runs of a session is reproducible when seeded. The nodes are never
// evaluated ahead of time (constant folding would freeze one draw).

/// RandomNormal and RandomUniform (opsets 1, 22; the shape from the `shape` attribute) and RandomNormalLike and
/// RandomUniformLike (the shape of the input, of any type, whose values are not read). The element type is `dtype`
/// (default float32 for the first two, the input's for the Like ops, which must then be a float type): float16,
/// float32, float64 and, from opset 22, bfloat16.
///
/// Uniform: `u * (high - low) + low` with u in [0, 1) from `generate_canonical` (one engine draw for float32, two
/// for float64; float16 and bfloat16 are drawn as float32 and rounded). Normal: Marsaglia's polar method as
/// libstdc++'s `normal_distribution` runs it (pairs of uniforms in (-1, 1) until 0 < r² ≤ 1, each pair giving two
/// values, the second kept for the next element of the same run), then `v * scale + mean`.
public struct RandomFill: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var drawsRandomValues: Bool { true }
    public enum Distribution: Sendable, Equatable {
        case normal(mean: Float, scale: Float)
        case uniform(low: Float, high: Float)
    }
    public var distribution: Distribution
    /// The output's shape; nil for the Like ops.
    public var shape: [Int]?
    /// nil: the input's type (Like ops).
    public var dtype: DType?
    public var seed: Float?
    public var dtypes: [DType]
    public init(_ distribution: Distribution, shape: [Int]?, dtype: DType?, seed: Float?, dtypes: [DType] = RandomFill.dtypes) {
        self.distribution = distribution; self.shape = shape; self.dtype = dtype; self.seed = seed; self.dtypes = dtypes
    }
    public var opName: String {
        switch distribution {
        case .normal: return shape == nil ? "RandomNormalLike" : "RandomNormal"
        case .uniform: return shape == nil ? "RandomUniformLike" : "RandomUniform"
        }
    }

    public static let dtypes: [DType] = [.float16, .float32, .float64, .bfloat16]

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        if let shape {
            guard dtypes.contains(dtype ?? .float32) else { throw DLInferError.unsupported("dtype \(dtype!) is not supported (supported: \(dtypes.map(\.description).joined(separator: ", ")))") }
            return [ValueType(dtype ?? .float32, fixed: try checkedShape(shape))]
        }
        let x = try inputs.required(0, "input")
        let out = dtype ?? x.type.dtype
        guard dtypes.contains(out) else {
            throw DLInferError.unsupported(dtype == nil ? "the input's type \(out) is not a float type the output may have: give dtype" : "dtype \(out) is not supported")
        }
        return [ValueType(out, x.type.shape)]
    }
}

/// Bernoulli (opsets 15, 22): 1 with probability p and 0 with probability 1 - p, for each probability p of the
/// input (float16, float32, float64, bfloat16 from 22), as element type `dtype` (default the input's; any numeric
/// type or bool). Each element draws u in [0, 1) as RandomUniformLike would (a float32 draw, a float64 one for a
/// float64 input) and gives 1 when u < p: p ≤ 0 (or NaN) always gives 0, p ≥ 1 always 1. The spec's function body
/// compares the other way round (`Greater(u, p)`, which is 1 with probability 1 - p); dlinfer
/// follows the spec's text.
public struct Bernoulli: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var drawsRandomValues: Bool { true }
    public var dtype: DType?
    public var seed: Float?
    public var inputTypes: [DType]
    public init(dtype: DType?, seed: Float?, inputTypes: [DType] = RandomFill.dtypes) {
        self.dtype = dtype; self.seed = seed; self.inputTypes = inputTypes
    }
    public var opName: String { "Bernoulli" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        guard inputTypes.contains(x.type.dtype) else { throw DLInferError.unsupported("input has element type \(x.type.dtype); supported: \(inputTypes.map(\.description).joined(separator: ", "))") }
        let out = dtype ?? x.type.dtype
        guard DType.numeric.contains(out) else { throw DLInferError.unsupported("dtype \(out) is not supported") }
        return [ValueType(out, x.type.shape)]
    }
}

/// Multinomial (opsets 7, 22): `sample_size` class indices per row of an input `[batch, classes]` of unnormalised
/// log-probabilities (float types), as int32 (default) or int64 `[batch, sample_size]`. As onnxruntime does, a row's
/// cumulative sums of `exp(x - max)` are taken in float64 over its finite values (NaN and ±infinity count as
/// probability 0), and each sample is the first class whose cumulative sum exceeds `u * total`, u in [0, 1) a
/// float64 draw; rows are sampled in order. A row without a finite value has no distribution and is an error, as are
/// an empty class axis and sample_size < 1. (onnxruntime restarts its stream at every run; dlinfer continues it.)
public struct Multinomial: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var drawsRandomValues: Bool { true }
    public var sampleSize: Int
    public var dtype: DType
    public var seed: Float?
    public var inputTypes: [DType]
    public init(sampleSize: Int, dtype: DType, seed: Float?, inputTypes: [DType] = RandomFill.dtypes) {
        self.sampleSize = sampleSize; self.dtype = dtype; self.seed = seed; self.inputTypes = inputTypes
    }
    public var opName: String { "Multinomial" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        guard inputTypes.contains(x.type.dtype) else { throw DLInferError.unsupported("input has element type \(x.type.dtype); supported: \(inputTypes.map(\.description).joined(separator: ", "))") }
        guard dtype == .int32 || dtype == .int64 else { throw DLInferError.unsupported("dtype \(dtype) is not supported (int32 or int64)") }
        guard sampleSize >= 1 else { throw DLInferError.model("sample_size must be at least 1, got \(sampleSize)") }
        guard let shape = x.type.shape else { return [ValueType(dtype, [.unknown, .fixed(sampleSize)])] }
        guard shape.count == 2 else { throw DLInferError.shape("input must be [batch, classes], got \(x.type)") }
        if shape[1] == .fixed(0) { throw DLInferError.shape("input has no classes") }
        _ = try checkedShape([shape[0].value ?? 1, sampleSize])
        return [ValueType(dtype, [shape[0], .fixed(sampleSize)])]
    }
}
