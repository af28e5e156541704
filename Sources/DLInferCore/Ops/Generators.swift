// Ops that make new tensors from a few scalars and a shape: Range, EyeLike, OneHot.

/// Range: `[start, start + delta, ...]` up to `limit` (exclusive), `max(ceil((limit - start) / delta), 0)` elements,
/// element i being `start + i * delta`. The three inputs are scalars (or one-element vectors, as onnxruntime accepts)
/// of one type: float32, float64, int16, int32, int64, and from opset 27 float16 and bfloat16.
///
/// The length is computed exactly for integers and in float64 for floats; a zero delta, a non-finite length or one
/// too large to allocate is an error. Integer elements are computed in int64 (they lie between start and limit, so
/// nothing overflows). float32 computes in float32 and float64 in float64; float16 and bfloat16 compute in
/// `stashType` (opset 27's `stash_type`: float32 by default, or float64) and round each element once to their type.
/// The output's length depends on the input values: it is fixed at load when they are constants, else at run time.
public struct Arange: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var hasDataDependentShape: Bool { true }
    public var stashType: DType
    public init(stashType: DType = .float32) { self.stashType = stashType }
    public var opName: String { "Range" }

    public static let dtypes: [DType] = [.float32, .float64, .int16, .int32, .int64, .float16, .bfloat16]

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let names = ["start", "limit", "delta"]
        let ins = try names.indices.map { try inputs.required($0, names[$0]) }
        let dtype = ins[0].type.dtype
        guard Arange.dtypes.contains(dtype) else {
            let list = Arange.dtypes.map(\.description).joined(separator: ", ")
            throw DLInferError.unsupported("start has element type \(dtype); supported: \(list)")
        }
        for (t, name) in zip(ins, names) {
            guard t.type.dtype == dtype else { throw DLInferError.model("\(name) is \(t.type.dtype), start is \(dtype)") }
            try requireScalar(t, name)
        }
        guard let s = ins[0].value, let l = ins[1].value, let d = ins[2].value else { return [ValueType(dtype, [.unknown])] }
        return [ValueType(dtype, fixed: [try Arange.count(s, l, d)])]
    }

    /// The number of elements for these (scalar, same-typed) inputs.
    public static func count(_ start: Tensor, _ limit: Tensor, _ delta: Tensor) throws -> Int {
        if start.dtype.isFloatingPoint {
            let s = start.doubleValues()![0], l = limit.doubleValues()![0], d = delta.doubleValues()![0]
            guard d != 0 else { throw DLInferError.invalid("delta must not be zero") }
            let n = ((l - s) / d).rounded(.up)
            guard !n.isNaN else { throw DLInferError.invalid("Range(\(s), \(l), \(d)) has no length") }
            if n <= 0 { return 0 }
            // Also refuses an infinite length.
            guard n < Double(1 << 52) else { throw DLInferError.shape("Range(\(s), \(l), \(d)) has too many elements") }
            return Int(n)
        }
        let s = start.integerScalar(), l = limit.integerScalar(), d = delta.integerScalar()
        guard d != 0 else { throw DLInferError.invalid("delta must not be zero") }
        let (diff, overflow) = l.subtractingReportingOverflow(s)
        guard !overflow else { throw DLInferError.shape("Range(\(s), \(l), \(d)) has too many elements") }
        if diff == 0 || (diff > 0) != (d > 0) { return 0 }
        let n = (diff.magnitude - 1) / d.magnitude + 1
        guard n < UInt(1 << 52) else { throw DLInferError.shape("Range(\(s), \(l), \(d)) has too many elements") }
        return Int(n)
    }
}

/// EyeLike: a matrix of the input's shape (rank 2, as onnxruntime requires) whose elements `[i, i + k]` are 1 and all
/// others 0, of element type `dtype` (default: the input's). A `k` beyond the matrix gives all zeros.
public struct EyeLike: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var dtype: DType?
    public var k: Int
    public init(dtype: DType? = nil, k: Int = 0) { self.dtype = dtype; self.k = k }
    public var opName: String { "EyeLike" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        guard x.type.dtype != .string else { throw DLInferError.unsupported("input has element type string") }
        if let d = dtype, d == .string { throw DLInferError.unsupported("dtype string is not supported") }
        if let r = x.type.rank, r != 2 { throw DLInferError.shape("input must have rank 2, got \(x.type)") }
        return [ValueType(dtype ?? x.type.dtype, x.type.shape ?? [.unknown, .unknown])]
    }
}

/// OneHot: `output[..., j, ...] = values[1]` (on) where j is the index at that position, `values[0]` (off) elsewhere;
/// the new axis of size `depth` is inserted at `axis` (in [-r-1, r] for indices of rank r; default -1, the last).
/// Indices and depth may be of any numeric type; floats are truncated toward zero (as onnxruntime casts them).
/// A negative index in [-depth, -1] counts from the end; other out-of-range indices (and NaN) give an all-off row.
/// Depth must be at least 1 (onnxruntime rejects 0 too). The output has the element type of `values`, of any type.
public struct OneHot: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var axis: Int
    public init(axis: Int = -1) { self.axis = axis }
    public var opName: String { "OneHot" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let indices = try inputs.required(0, "indices"), depth = try inputs.required(1, "depth")
        let values = try inputs.required(2, "values")
        for (t, name) in [(indices, "indices"), (depth, "depth")] where !(t.type.dtype.isInteger || t.type.dtype.isFloatingPoint) {
            throw DLInferError.unsupported("\(name) has element type \(t.type.dtype); it must be numeric")
        }
        guard values.type.dtype != .string else { throw DLInferError.unsupported("values has element type string") }
        try requireScalar(depth, "depth")
        if let s = values.type.fixedShape, s.count != 1 || s[0] != 2 {
            throw DLInferError.shape("values must be [off_value, on_value] (shape [2]), got shape \(s)")
        }
        guard let shape = indices.type.shape else { return [ValueType(values.type.dtype, nil)] }
        let a = try outputAxis(rank: shape.count)
        var out = shape
        out.insert(try depth.value.map { .fixed(try OneHot.depth($0)) } ?? .unknown, at: a)
        return [ValueType(values.type.dtype, out)]
    }

    /// Where the new axis goes in the output, for indices of rank `rank`.
    public func outputAxis(rank: Int) throws -> Int {
        let a = axis < 0 ? axis + rank + 1 : axis
        guard a >= 0, a <= rank else { throw DLInferError.model("axis \(axis) is out of range for indices of rank \(rank)") }
        return a
    }

    public static func depth(_ t: Tensor) throws -> Int {
        let d = t.truncatedIntegers()[0]
        guard d >= 1 else { throw DLInferError.invalid("depth must be at least 1, got \(d == Int.min ? "a non-finite value" : String(d))") }
        return d
    }
}

/// Throws unless `t` is a scalar or a one-element vector (as onnxruntime accepts for scalar inputs).
func requireScalar(_ t: TypedInput, _ name: String) throws {
    if let r = t.type.rank, r > 1 { throw DLInferError.shape("\(name) must be a scalar, got \(t.type)") }
    if let s = t.type.fixedShape, s.elementCount != 1 { throw DLInferError.shape("\(name) must be a scalar, got \(t.type)") }
}

public extension Tensor {
    /// The first element of an integer tensor as Int (uint64 values above Int.max saturate).
    func integerScalar() -> Int { integerValue(at: 0) }

    /// Element `i` of an integer or bool tensor as Int (uint64 values above Int.max saturate).
    @inline(__always)
    func integerValue(at i: Int) -> Int {
        let p = UnsafeRawPointer(raw)
        switch dtype {
        case .int64: return Int(p.load(fromByteOffset: i * 8, as: Int64.self))
        case .int32: return Int(p.load(fromByteOffset: i * 4, as: Int32.self))
        case .int16: return Int(p.load(fromByteOffset: i * 2, as: Int16.self))
        case .int8: return Int(p.load(fromByteOffset: i, as: Int8.self))
        case .uint64: return Int(clamping: p.load(fromByteOffset: i * 8, as: UInt64.self))
        case .uint32: return Int(p.load(fromByteOffset: i * 4, as: UInt32.self))
        case .uint16: return Int(p.load(fromByteOffset: i * 2, as: UInt16.self))
        case .uint8, .bool: return Int(p.load(fromByteOffset: i, as: UInt8.self))
        case .int4, .uint4, .int2, .uint2: return SubByte.integer(p.load(fromByteOffset: i, as: UInt8.self), dtype)
        default: return 0
        }
    }

    /// Every element of a numeric tensor as Int: integers as they are, floats truncated toward zero; a float that is
    /// NaN, infinite or beyond ±2^62 becomes Int.min (out of range for any use).
    func truncatedIntegers() -> [Int] {
        guard dtype.isFloatingPoint else { return (0..<count).map { integerValue(at: $0) } }
        return doubleValues()!.map { v in v.isFinite && abs(v) < 0x1p62 ? Int(v) : Int.min }
    }
}
