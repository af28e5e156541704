// Ops that order values: TopK and Unique. Both use one total order on floats: NaN above +inf (all NaNs equal to each
// other), -0 equal to +0; integers (and bool, for Unique) in their natural order.

/// TopK: the `k` largest (or, with `largest` = 0, smallest) elements along `axis` and their int64 positions, in
/// order (best first). Equal values keep their input order (lower index first), and NaN is larger than every number
/// whether `largest` is 1 or 0, as in onnxruntime (so NaNs come first when selecting the largest and last, if at
/// all, when selecting the smallest). `sorted` = 0 leaves the order unspecified; this implementation returns the
/// sorted order then too. `k` (an int64 input from opset 10, a one-element vector or scalar; an attribute before)
/// must be in [0, dim]. The output's size along the axis is k: known at load when k is a constant, else at run time.
/// Float16/bfloat16 values are compared in float32, which preserves them exactly.
public struct TopK: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public var hasDataDependentShape: Bool { true }
    public var axis: Int
    public var largest: Bool
    public var sorted: Bool
    public init(axis: Int = -1, largest: Bool = true, sorted: Bool = true) {
        self.axis = axis; self.largest = largest; self.sorted = sorted
    }
    public var opName: String { "TopK" }

    public static let dtypes: [DType] = [.float32, .float64] + DType.integers

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X"), kIn = try inputs.required(1, "K")
        try requireDType(x.type.dtype, TopK.dtypes, "X")
        try requireDType(kIn.type.dtype, [.int64], "K")
        try requireScalar(kIn, "K")
        guard let shape = x.type.shape else { return [ValueType(x.type.dtype, nil), ValueType(.int64, nil)] }
        let a = try normalizedAxis(rank: shape.count)
        var out = shape
        if let kv = kIn.value {
            out[a] = .fixed(try TopK.k(kv, axisSize: shape[a].value))
        } else {
            out[a] = .unknown
        }
        return [ValueType(x.type.dtype, out), ValueType(.int64, out)]
    }

    public func normalizedAxis(rank: Int) throws -> Int {
        guard rank > 0 else { throw DLInferError.shape("TopK needs an input of rank 1 or more") }
        return try normalizeAxis(axis, rank: rank)
    }

    /// The value of k, checked against the axis size when it is known.
    public static func k(_ t: Tensor, axisSize n: Int?) throws -> Int {
        let k = t.integerScalar()
        guard k >= 0 else { throw DLInferError.invalid("k must not be negative, got \(k)") }
        if let n, k > n { throw DLInferError.invalid("k \(k) exceeds the size \(n) of the axis") }
        return k
    }
}

/// Unique: the distinct elements of the flattened input (no `axis`), or the distinct slices along `axis` (compared
/// element by element in row-major order). Outputs: Y (the distinct values or slices), indices (int64,
/// the first occurrence of each in the input), inverse_indices (int64, for each input element or slice the position
/// of its value in Y) and counts (int64). With `sorted` (the default) Y is in ascending order (slices
/// lexicographically), else in order of first occurrence. NaNs are one value, sorted last; -0 and +0 are one value,
/// represented by its first occurrence (numpy's `unique` with its default `equal_nan`; onnxruntime merges every value
/// into one NaN group when NaNs are present). The number of distinct values is only known at run time.
/// Float16/bfloat16 values are compared in float32, which preserves them exactly.
public struct Unique: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public var hasDataDependentShape: Bool { true }
    public var axis: Int?
    public var sorted: Bool
    public init(axis: Int? = nil, sorted: Bool = true) { self.axis = axis; self.sorted = sorted }
    public var opName: String { "Unique" }

    public static let dtypes: [DType] = [.float32, .float64, .bool] + DType.integers

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X")
        try requireDType(x.type.dtype, Unique.dtypes, "X")
        let dtype = x.type.dtype
        guard let shape = x.type.shape else {
            return [ValueType(dtype, axis == nil ? [.unknown] : nil)] + [ValueType](repeating: ValueType(.int64, [.unknown]), count: 3)
        }
        let list = ValueType(.int64, [.unknown])
        guard axis != nil else { return [ValueType(dtype, [.unknown]), list, ValueType(.int64, [dimProduct(shape)]), list] }
        let a = try normalizedAxis(rank: shape.count)!
        var y = shape
        y[a] = .unknown
        return [ValueType(dtype, y), list, ValueType(.int64, [shape[a]]), list]
    }

    /// The axis in 0..<rank, or nil for the flattened input.
    public func normalizedAxis(rank: Int) throws -> Int? {
        guard let axis else { return nil }
        guard rank > 0 else { throw DLInferError.shape("Unique along an axis needs an input of rank 1 or more") }
        return try normalizeAxis(axis, rank: rank)
    }
}
