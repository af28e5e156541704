/// The ONNX reductions over a set of axes: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1,
/// ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare.
///
/// The axes come from input 1 (int64, 1-D); the importer turns the `axes` attribute of older opsets (ReduceSum < 13,
/// the others < 18) into that constant input. Negative axes count from the back; an absent or empty axes list reduces
/// every axis, unless `noopWithEmptyAxes` is set (then the output is the input, unchanged even for L1/L2/LogSum...,
/// as the spec says). Reducing an empty set gives the identity of the reduction: 0 (sum, L1, L2, sum of squares),
/// NaN (float mean; 0 for integers), 1 (product), the type's lowest value for max (-inf, Int.min, false) and highest
/// for min (+inf, Int.max, true), and log(0) = -inf (LogSum, LogSumExp).
///
/// LogSumExp subtracts the maximum before exponentiating (log Σ exp(x - m) + m), so large inputs do not overflow.
/// Max and min propagate NaN, as numpy does. Integers wrap on overflow (sum, product, sum of squares); an integer
/// mean truncates toward zero. L2, LogSum and LogSumExp of integers (accepted before opset 28) are computed in
/// float64 and truncated toward zero, saturating at the type's bounds (NaN gives 0), like numpy's `astype`.
public struct Reduce: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public enum Kind: String, Sendable, CaseIterable {
        case sum = "ReduceSum", mean = "ReduceMean", max = "ReduceMax", min = "ReduceMin", prod = "ReduceProd"
        case l1 = "ReduceL1", l2 = "ReduceL2", logSum = "ReduceLogSum", logSumExp = "ReduceLogSumExp"
        case sumSquare = "ReduceSumSquare"
    }
    public var kind: Kind
    public var keepDims: Bool
    public var noopWithEmptyAxes: Bool
    /// The element types the op's version accepts (float16 and bfloat16 go through float32).
    public var dtypes: [DType]

    public init(_ kind: Kind, keepDims: Bool, noopWithEmptyAxes: Bool, dtypes: [DType]? = nil) {
        self.kind = kind; self.keepDims = keepDims; self.noopWithEmptyAxes = noopWithEmptyAxes
        self.dtypes = dtypes ?? Reduce.dtypes(kind)
    }

    public var opName: String { kind.rawValue }

    /// The types of the newest version of each reduction.
    public static func dtypes(_ kind: Kind) -> [DType] {
        let numbers: [DType] = [.float32, .float64, .int32, .int64, .uint32, .uint64]
        switch kind {
        case .max, .min: return numbers + [.int8, .uint8, .bool]
        case .logSum, .logSumExp: return [.float32, .float64]
        default: return numbers
        }
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "data")
        try requireDType(x.type.dtype, dtypes, "data")
        let axesInput = inputs.optional(1)
        if let a = axesInput {
            try requireDType(a.type.dtype, [.int64], "axes")
            if let r = a.type.rank, r != 1 { throw DLInferError.shape("axes must be 1-D, got rank \(r)") }
        }
        guard let shape = x.type.shape else { return [ValueType(x.type.dtype, nil)] }
        if let a = axesInput, a.value == nil {
            // Axes computed at run time: the rank survives only with keepdims.
            return [ValueType(x.type.dtype, keepDims ? shape.map { _ in .unknown } : nil)]
        }
        guard let axes = try reducedAxes(rank: shape.count, axes: axesInput?.value?.intValues()) else { return [x.type] }
        var out = [Dim]()
        for (i, d) in shape.enumerated() {
            if !axes.contains(i) { out.append(d) } else if keepDims { out.append(.fixed(1)) }
        }
        return [ValueType(x.type.dtype, out)]
    }

    /// The sorted axes to reduce, or nil when the op is a no-op (empty axes with `noopWithEmptyAxes`).
    public func reducedAxes(rank: Int, axes: [Int]?) throws -> [Int]? {
        guard let axes, !axes.isEmpty else { return noopWithEmptyAxes ? nil : Array(0..<rank) }
        return try uniqueAxes(axes, rank: rank, "axes").sorted()
    }

    /// The output shape for a concrete input shape and reduced axes.
    public func outputShape(_ shape: [Int], reducing axes: [Int]) -> [Int] {
        var out = [Int]()
        for (i, d) in shape.enumerated() {
            if !axes.contains(i) { out.append(d) } else if keepDims { out.append(1) }
        }
        return out
    }
}

/// ArgMax and ArgMin: the int64 index of the largest (smallest) element along `axis` (the first one, or the last
/// with `selectLastIndex`). NaN counts as larger than any number for ArgMax and as smaller for ArgMin, so the first
/// (last) NaN wins, as in numpy. An empty axis has no answer and is rejected.
public struct ArgMax: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public var axis: Int
    public var keepDims: Bool
    public var selectLastIndex: Bool
    /// ArgMin.
    public var min: Bool

    public init(axis: Int, keepDims: Bool, selectLastIndex: Bool, min: Bool = false) {
        self.axis = axis; self.keepDims = keepDims; self.selectLastIndex = selectLastIndex; self.min = min
    }

    public var opName: String { min ? "ArgMin" : "ArgMax" }
    public static let dtypes: [DType] = [.float32, .float64] + DType.integers

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "data")
        try requireDType(x.type.dtype, ArgMax.dtypes, "data")
        guard let shape = x.type.shape else { return [ValueType(.int64, nil)] }
        let a = try normalizedAxis(rank: shape.count)
        if shape[a] == .fixed(0) { throw DLInferError.shape("\(opName) along an empty axis (dimension \(a) is 0) has no answer") }
        var out = shape
        if keepDims { out[a] = .fixed(1) } else { out.remove(at: a) }
        return [ValueType(.int64, out)]
    }

    public func normalizedAxis(rank: Int) throws -> Int {
        guard rank > 0 else { throw DLInferError.shape("\(opName) needs an input of rank 1 or more") }
        return try normalizeAxis(axis, rank: rank)
    }
}

/// Maps possibly negative axes into 0..<rank, in the given order, rejecting out-of-range and repeated ones.
public func uniqueAxes(_ axes: [Int], rank: Int, _ what: String = "axes") throws -> [Int] {
    var out = [Int]()
    for a in axes {
        let n = a < 0 ? a + rank : a
        guard n >= 0, n < rank else { throw DLInferError.model("\(what) value \(a) is out of range for rank \(rank)") }
        guard !out.contains(n) else { throw DLInferError.model("\(what) repeats axis \(a)") }
        out.append(n)
    }
    return out
}
