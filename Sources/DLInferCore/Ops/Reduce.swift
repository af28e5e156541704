/// ReduceSum, ReduceMean, ReduceMax over a set of axes.
///
/// The axes come from input 1 (int64, 1-D); the importer turns the `axes` attribute of older opsets (ReduceSum < 13,
/// the others < 18) into that constant input. Negative axes count from the back; an absent or empty axes list reduces
/// every axis, unless `noopWithEmptyAxes` is set (then the output is the input). Reducing an empty set gives 0 (sum),
/// NaN (float mean; 0 for integers) or the type's lowest value (max: -inf, Int.min, false).
public struct Reduce: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public enum Kind: String, Sendable { case sum = "ReduceSum", mean = "ReduceMean", max = "ReduceMax" }
    public var kind: Kind
    public var keepDims: Bool
    public var noopWithEmptyAxes: Bool

    public init(_ kind: Kind, keepDims: Bool, noopWithEmptyAxes: Bool) {
        self.kind = kind; self.keepDims = keepDims; self.noopWithEmptyAxes = noopWithEmptyAxes
    }

    public var opName: String { kind.rawValue }

    public var dtypes: [DType] {
        kind == .max ? [.float32, .float64, .int32, .int64, .bool] : [.float32, .float64, .int32, .int64]
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

/// ArgMax: the int64 index of the largest element along `axis` (the first one, or the last with `selectLastIndex`).
/// NaN counts as larger than any number, as in numpy.
public struct ArgMax: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public var axis: Int
    public var keepDims: Bool
    public var selectLastIndex: Bool

    public init(axis: Int, keepDims: Bool, selectLastIndex: Bool) {
        self.axis = axis; self.keepDims = keepDims; self.selectLastIndex = selectLastIndex
    }

    public var opName: String { "ArgMax" }
    public static let dtypes: [DType] = [.float32, .float64, .int32, .int64]

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "data")
        try requireDType(x.type.dtype, ArgMax.dtypes, "data")
        guard let shape = x.type.shape else { return [ValueType(.int64, nil)] }
        let a = try normalizedAxis(rank: shape.count)
        if shape[a] == .fixed(0) { throw DLInferError.shape("ArgMax along an empty axis (dimension \(a) is 0) has no answer") }
        var out = shape
        if keepDims { out[a] = .fixed(1) } else { out.remove(at: a) }
        return [ValueType(.int64, out)]
    }

    public func normalizedAxis(rank: Int) throws -> Int {
        guard rank > 0 else { throw DLInferError.shape("ArgMax needs an input of rank 1 or more") }
        return try normalizeAxis(axis, rank: rank)
    }
}

/// Maps possibly negative axes into 0..<rank, in the given order, rejecting out-of-range and repeated ones.
func uniqueAxes(_ axes: [Int], rank: Int, _ what: String) throws -> [Int] {
    var out = [Int]()
    for a in axes {
        let n = a < 0 ? a + rank : a
        guard n >= 0, n < rank else { throw DLInferError.model("\(what) value \(a) is out of range for rank \(rank)") }
        guard !out.contains(n) else { throw DLInferError.model("\(what) repeats axis \(a)") }
        out.append(n)
    }
    return out
}
