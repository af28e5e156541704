// Ops that read or write elements at positions given by index tensors or masks: GatherElements, GatherND,
// ScatterElements (and the deprecated Scatter), ScatterND, Compress, NonZero. Every index is checked against its
// axis before anything is read or written: an index out of range is an error, never an out-of-bounds access.

/// GatherElements: `output[p] = data[p with p[axis] replaced by indices[p]]`, for every position p of `indices`
/// (int32/int64, of data's rank; negative values count from the end of the axis). The output has the shape of
/// `indices`, whose dims other than `axis` may not exceed data's (onnxruntime's rule).
public struct GatherElements: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var axis: Int
    public init(axis: Int = 0) { self.axis = axis }
    public var opName: String { "GatherElements" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let data = try inputs.required(0, "data"), indices = try inputs.required(1, "indices")
        try requireIndexType(indices.type.dtype)
        if let d = data.type.shape, let i = indices.type.shape {
            _ = try elementsAxis(axis, data: d, indices: i, "indices")
        }
        return [ValueType(data.type.dtype, indices.type.shape)]
    }
}

/// GatherND: with `indices` of shape `[b..., n..., q]` (int64; `batch_dims` leading dims b shared with data), each
/// q-tuple addresses a slice `data[b..., i0, ..., i(q-1)]`; the output is `indices.shape[:-1] + data.shape[b+q:]`.
/// Negative index values count from the end of their axis. `q` may be 0..rank(data)-b (0 takes whole slices).
public struct GatherND: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var batchDims: Int
    public init(batchDims: Int = 0) { self.batchDims = batchDims }
    public var opName: String { "GatherND" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let data = try inputs.required(0, "data"), indices = try inputs.required(1, "indices")
        try requireDType(indices.type.dtype, [.int64], "indices")
        guard let d = data.type.shape, let i = indices.type.shape else { return [ValueType(data.type.dtype, nil)] }
        try checkND(data: d, indices: i, batchDims: batchDims, "GatherND")
        guard let q = i.last!.value else { return [ValueType(data.type.dtype, nil)] }
        return [ValueType(data.type.dtype, Array(i.dropLast()) + Array(d[(batchDims + q)...]))]
    }
}

/// ScatterElements (and Scatter, its opsets 9-10 name): the output is `data` with, for every position p of
/// `indices`, `output[p with p[axis] = indices[p]] = f(that element, updates[p])`, f being the reduction: `none`
/// (replace), `add`, `mul`, `max`, `min`. Updates are applied in row-major order of `indices`, so with `none` the
/// last of repeated indices wins (as in onnxruntime). max and min propagate NaN. `indices` (int32/int64, negative
/// values count from the end) and `updates` have the same shape, of data's rank, not exceeding data's dims outside
/// `axis`.
public struct ScatterElements: OpAttributes {
    public var computeFloatTypes: Set<DType> { reduction == .none ? .anyFloat : [.float32, .float64] }
    public var axis: Int
    public var reduction: ScatterReduction
    /// "Scatter" for the deprecated opset 9-10 op, for messages.
    public var name: String
    public init(axis: Int = 0, reduction: ScatterReduction = .none, name: String = "ScatterElements") {
        self.axis = axis; self.reduction = reduction; self.name = name
    }
    public var opName: String { name }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let data = try inputs.required(0, "data"), indices = try inputs.required(1, "indices")
        let updates = try inputs.required(2, "updates")
        try requireIndexType(indices.type.dtype)
        try reduction.check(data.type.dtype, updates.type.dtype)
        if let i = indices.type.shape, let u = updates.type.shape {
            guard i.count == u.count, zip(i, u).allSatisfy({ $0.value == nil || $1.value == nil || $0 == $1 }) else {
                throw DLInferError.shape("updates \(dimsText(u)) must have the shape of indices \(dimsText(i))")
            }
        }
        if let d = data.type.shape, let i = indices.type.shape {
            _ = try elementsAxis(axis, data: d, indices: i, "indices")
        }
        return [data.type]
    }
}

/// ScatterND: the output is `data` with, for each q-tuple of `indices` (int64, shape `[n..., q]`, negative values
/// counting from the end), the slice `output[i0, ..., i(q-1)]` combined with the matching slice of `updates`
/// (shape `indices.shape[:-1] + data.shape[q:]`) by the reduction, as in ScatterElements (tuples in row-major order;
/// with `none` the last repeated tuple wins).
public struct ScatterND: OpAttributes {
    public var computeFloatTypes: Set<DType> { reduction == .none ? .anyFloat : [.float32, .float64] }
    public var reduction: ScatterReduction
    public init(reduction: ScatterReduction = .none) { self.reduction = reduction }
    public var opName: String { "ScatterND" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let data = try inputs.required(0, "data"), indices = try inputs.required(1, "indices")
        let updates = try inputs.required(2, "updates")
        try requireDType(indices.type.dtype, [.int64], "indices")
        try reduction.check(data.type.dtype, updates.type.dtype)
        if let d = data.type.shape, let i = indices.type.shape, let q = i.last?.value {
            try checkND(data: d, indices: i, batchDims: 0, "ScatterND")
            let want = Array(i.dropLast()) + Array(d[q...])
            if let u = updates.type.shape {
                guard u.count == want.count, zip(u, want).allSatisfy({ $0.value == nil || $1.value == nil || $0 == $1 }) else {
                    throw DLInferError.shape("updates \(dimsText(u)) must have shape \(dimsText(want)) (indices.shape[:-1] + data.shape[q:])")
                }
            }
        } else if let i = indices.type.rank, i == 0 {
            throw DLInferError.shape("indices must have rank 1 or more")
        }
        return [data.type]
    }
}

/// How scatter ops combine an update with the element already there.
public enum ScatterReduction: String, Sendable {
    case none, add, mul, max, min

    func check(_ data: DType, _ updates: DType) throws {
        guard data == updates else { throw DLInferError.model("updates are \(updates), data is \(data)") }
        guard data != .string else { throw DLInferError.unsupported("data has element type string") }
        if self != .none, data == .bool { throw DLInferError.unsupported("reduction '\(rawValue)' on bool data") }
    }
}

/// Compress: the slices of `input` along `axis` whose entry in the bool `condition` (1-D) is true; without `axis`, the
/// elements of the flattened input. A condition shorter than the axis selects nothing beyond its end; entries past
/// the end of the axis are ignored (onnxruntime's behaviour; numpy would reject them). The output's length along the
/// axis is the number of true entries: known at load when `condition` is a constant, else at run time.
public struct Compress: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var hasDataDependentShape: Bool { true }
    public var axis: Int?
    public init(axis: Int? = nil) { self.axis = axis }
    public var opName: String { "Compress" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input"), c = try inputs.required(1, "condition")
        guard x.type.dtype != .string else { throw DLInferError.unsupported("input has element type string") }
        try requireDType(c.type.dtype, [.bool], "condition")
        if let r = c.type.rank, r != 1 { throw DLInferError.shape("condition must be 1-D, got \(c.type)") }
        guard let shape = x.type.shape else { return [ValueType(x.type.dtype, axis == nil ? [.unknown] : nil)] }
        // The selected length along an axis of length n.
        func selected(_ n: Dim) -> Dim {
            guard let n = n.value, let cond = c.value else { return .unknown }
            return .fixed(Compress.selected(cond, limit: n).count)
        }
        guard let axis else { return [ValueType(x.type.dtype, [selected(dimProduct(shape))])] }
        guard shape.count > 0 else { throw DLInferError.shape("Compress along an axis needs an input of rank 1 or more") }
        let a = try normalizeAxis(axis, rank: shape.count)
        var out = shape
        out[a] = selected(shape[a])
        return [ValueType(x.type.dtype, out)]
    }

    /// The positions below `limit` where the condition is true.
    public static func selected(_ condition: Tensor, limit: Int) -> [Int] {
        let p = condition.raw.assumingMemoryBound(to: UInt8.self)
        return (0..<Swift.min(limit, condition.count)).filter { p[$0] != 0 }
    }
}

/// NonZero: the positions of the non-zero elements (for floats: neither +0 nor -0; NaN counts), as an int64 tensor of
/// shape `[rank, count]`, one column per element in row-major order. A scalar is treated as a 1-element vector
/// (`[1, count]`), as onnxruntime does. The count is only known at run time. 8-bit floats are widened first (their
/// zeros and NaNs vary by format).
public struct NonZero: OpAttributes {
    public var computeFloatTypes: Set<DType> { .wideFloats }
    public var hasDataDependentShape: Bool { true }
    public init() {}
    public var opName: String { "NonZero" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X")
        guard x.type.dtype != .string else { throw DLInferError.unsupported("X has element type string") }
        return [ValueType(.int64, [x.type.rank.map { .fixed(Swift.max($0, 1)) } ?? .unknown, .unknown])]
    }
}

func requireIndexType(_ t: DType) throws { try requireDType(t, [.int32, .int64], "indices") }

/// The normalized axis of an elements-wise gather/scatter, after checking that `indices` has data's rank and dims
/// that do not exceed data's outside the axis.
public func elementsAxis(_ axis: Int, data: [Dim], indices: [Dim], _ what: String) throws -> Int {
    guard !data.isEmpty else { throw DLInferError.shape("data must have rank 1 or more") }
    guard data.count == indices.count else {
        throw DLInferError.shape("\(what) \(dimsText(indices)) must have the rank of data \(dimsText(data))")
    }
    let a = try normalizeAxis(axis, rank: data.count)
    for (k, (d, i)) in zip(data, indices).enumerated() where k != a {
        if let dv = d.value, let iv = i.value, iv > dv {
            throw DLInferError.shape("\(what) \(dimsText(indices)) exceed data \(dimsText(data)) along axis \(k)")
        }
    }
    return a
}

/// Checks the shapes of GatherND/ScatterND: q = indices.shape[-1] (known) in 0...rank(data)-b, the batch dims equal.
public func checkND(data: [Dim], indices: [Dim], batchDims b: Int, _ op: String) throws {
    guard !data.isEmpty, !indices.isEmpty else { throw DLInferError.shape("\(op) needs data and indices of rank 1 or more") }
    guard b >= 0, b < Swift.min(data.count, indices.count) else {
        throw DLInferError.model("batch_dims \(b) must be below the ranks of data (\(data.count)) and indices (\(indices.count))")
    }
    guard let q = indices.last!.value else { return }
    guard q <= data.count - b else {
        throw DLInferError.shape("indices tuples have \(q) entries; data \(dimsText(data)) has only \(data.count - b) dims after "
                                 + "the \(b) batch dims")
    }
    for k in 0..<b {
        if let dv = data[k].value, let iv = indices[k].value, dv != iv {
            throw DLInferError.shape("batch dim \(k) differs: data \(dimsText(data)), indices \(dimsText(indices))")
        }
    }
}

/// The values of an int32/int64 index tensor, each mapped from [-n, n) into [0, n) where n = bounds[i % bounds.count];
/// throws on the first one out of range.
public func normalizedIndices(_ t: Tensor, bounds: [Int]) throws -> [Int] {
    let m = bounds.count
    guard m > 0 else { return [] }
    var out = [Int](repeating: 0, count: t.count)
    try out.withUnsafeMutableBufferPointer { o in
        for i in 0..<t.count {
            let v = t.integerValue(at: i), n = bounds[i % m]
            guard v >= -n, v < n else {
                throw DLInferError.invalid("index \(v) is out of range for an axis of size \(n)")
            }
            o[i] = v < 0 ? v + n : v
        }
    }
    return out
}
