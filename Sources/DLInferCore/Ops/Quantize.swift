/// How the elements of a quantized tensor map onto the entries of its scale (and zero point), for concrete shapes:
/// x is viewed as [outer, axisLength, inner] around the quantization axis; `blockSize` 0 with one scale per index of
/// the axis is per-axis, a single scale is per-tensor, and blocked scales (opset 21) are [outer, blocks, inner].
public struct QuantizationLayout: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case perTensor, perAxis, blocked(blockSize: Int, blocks: Int) }
    public let kind: Kind
    public let outer: Int
    public let axisLength: Int
    public let inner: Int

    /// Checks the scale's shape (and the zero point's: the same as the scale's; a single value may be shaped
    /// differently) against x's, as ONNX Q/DQ define them: a single value is per-tensor; with `blockSize` 0, a 1-D
    /// scale of x.shape[axis] values is per-axis; with `blockSize` > 0 the scale has x's rank and shape except
    /// ceil(x.shape[axis] / blockSize) along the axis.
    public init(x: [Int], scale: [Int], zeroPoint: [Int]?, axis: Int, blockSize: Int) throws {
        let count = scale.elementCount
        if let z = zeroPoint, z != scale, !(z.elementCount == 1 && count == 1) {
            throw DLInferError.shape("the zero point's shape \(z) differs from the scale's \(scale)")
        }
        guard count != 1 else {
            kind = .perTensor; outer = 1; axisLength = 1; inner = x.elementCount
            return
        }
        let a = try normalizeAxis(axis, rank: x.count)
        guard x.count > 0 else { throw DLInferError.shape("a scalar input takes a single scale, got shape \(scale)") }
        outer = Array(x[..<a]).elementCount; axisLength = x[a]; inner = Array(x[(a + 1)...]).elementCount
        if blockSize == 0 {
            guard scale.count == 1, scale[0] == x[a] else {
                throw DLInferError.shape("a per-axis scale must be a vector of the \(x[a]) values along axis \(a) of \(x), got shape \(scale)")
            }
            kind = .perAxis
        } else {
            let blocks = (x[a] + blockSize - 1) / blockSize
            var want = x
            want[a] = blocks
            guard scale == want else {
                throw DLInferError.shape("a blocked scale for input \(x), axis \(a) and block_size \(blockSize) must have shape \(want), got \(scale)")
            }
            kind = .blocked(blockSize: blockSize, blocks: blocks)
        }
    }

    /// The scale index of element `j` of row `row` (of outer x axisLength rows of `inner` elements) is
    /// `base + j * step`.
    @inline(__always)
    public func scaleIndex(row: Int) -> (base: Int, step: Int) {
        switch kind {
        case .perTensor: return (0, 0)
        case .perAxis: return (row % axisLength, 0)
        case .blocked(let size, let blocks):
            let o = row / axisLength, d = row % axisLength
            return ((o * blocks + d / size) * inner, 1)
        }
    }
}

/// Checks scale and zero-point shapes against x's where all are known (the kernel checks at run time otherwise).
func checkQuantizationShapes(_ x: TypedInput, _ scale: TypedInput, _ zero: TypedInput?, axis: Int, blockSize: Int) throws {
    guard let xs = x.type.fixedShape, let ss = scale.type.fixedShape else { return }
    if let z = zero, z.type.fixedShape == nil { return }
    _ = try QuantizationLayout(x: xs, scale: ss, zeroPoint: zero?.type.fixedShape, axis: axis, blockSize: blockSize)
}

/// The element types one opset version of QuantizeLinear or DequantizeLinear accepts (the importer lists them).
public struct QuantizationTypes: Sendable {
    /// QuantizeLinear's x, DequantizeLinear's x and zero point.
    public var values: [DType]
    public var scales: [DType]
    /// QuantizeLinear's y and zero point, DequantizeLinear's y.
    public var results: [DType]
    public init(values: [DType], scales: [DType], results: [DType]) {
        self.values = values; self.scales = scales; self.results = results
    }
}

func requireQuantizationType(_ t: DType, _ allowed: [DType], _ role: String, _ op: String) throws {
    guard allowed.contains(t) else {
        throw DLInferError.unsupported("\(role) has element type \(t); \(op) at this opset takes \(allowed.map(\.description).joined(separator: ", "))")
    }
}

/// The float types Q/DQ read and write themselves: the division's or product's precision is part of their spec.
private let quantizationFloatTypes: Set<DType> = Set([.float32, .float16, .bfloat16] + DType.float8s)

/// QuantizeLinear (opsets 10, 13, 19, 21, 23, 24, 25, 28): y = saturate(round(x / y_scale) + y_zero_point), per
/// tensor, per axis (`axis`, opset 13) or per block (`blockSize`, opset 21), see `QuantizationLayout`.
/// - The division is done in `precision` if given (opset 23), else in y_scale's type (float32, float16, bfloat16:
///   x is first converted to it, and the quotient rounded to it, as the spec says); an int32 or float8e8m0 scale
///   divides in float32. int32 x is converted the same way.
/// - Integer y (int8, uint8; int16, uint16, int4, uint4 from opset 21; int2, uint2 from 25): the quotient rounds
///   half to even, the zero point is added and the result saturates to y's range; a NaN quotient gives the zero
///   point (the spec leaves it open).
/// - 8-bit float y (opset 19): the quotient is cast as Cast does, with `saturate`; float4e2m1 y (opset 23): rounded
///   to nearest even, saturating at ±6 (`SubByte.float4`). Their zero point must be 0 (as onnx's reference
///   assumes, which then ignores it).
/// - y's type is y_zero_point's, else `outputType` (opset 21; both must agree when both are given), else uint8.
public struct QuantizeLinear: OpAttributes {
    public var computeFloatTypes: Set<DType> { quantizationFloatTypes }
    public var axis: Int
    public var blockSize: Int
    public var saturate: Bool
    public var outputType: DType?
    public var precision: DType?
    public var types: QuantizationTypes
    public init(axis: Int = 1, blockSize: Int = 0, saturate: Bool = true, outputType: DType? = nil, precision: DType? = nil,
                types: QuantizationTypes) {
        self.axis = axis; self.blockSize = blockSize; self.saturate = saturate; self.outputType = outputType
        self.precision = precision; self.types = types
    }
    public var opName: String { "QuantizeLinear" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "x"), scale = try inputs.required(1, "y_scale"), zero = inputs.optional(2)
        try requireQuantizationType(x.type.dtype, types.values, "x", opName)
        try requireQuantizationType(scale.type.dtype, types.scales, "y_scale", opName)
        let y = try resultType(zero?.type.dtype)
        try checkQuantizationShapes(x, scale, zero, axis: axis, blockSize: blockSize)
        return [ValueType(y, x.type.shape)]
    }

    /// y's type, given the zero point's.
    public func resultType(_ zero: DType?) throws -> DType {
        if let zero, let o = outputType, o != zero {
            throw DLInferError.model("output_dtype \(o) differs from y_zero_point's type \(zero)")
        }
        let y = zero ?? outputType ?? .uint8
        try requireQuantizationType(y, types.results, "y", opName)
        return y
    }

    /// The type the division is done in (see the type's doc comment).
    public func divisionType(scale: DType) -> DType {
        if let precision { return precision }
        return scale == .float16 || scale == .bfloat16 ? scale : .float32
    }
}

/// DequantizeLinear (opsets 10, 13, 19, 21, 23, 24, 25, 28): y = (x - x_zero_point) * x_scale, with the layouts of
/// QuantizeLinear. The difference is exact (int32 x: taken in 64 bits, then rounded to float32), the product is a
/// float32 rounded once to y's type (as onnx's reference computes it); y's type is `outputType` (opset 23) or the
/// scale's. 8-bit float x (opset 19) and float4e2m1 x (23) decode exactly, and their zero point must be 0 (onnx's
/// reference rejects any other). A float8e8m0 scale (opset 24) needs `outputType`.
public struct DequantizeLinear: OpAttributes {
    public var computeFloatTypes: Set<DType> { quantizationFloatTypes }
    public var axis: Int
    public var blockSize: Int
    public var outputType: DType?
    public var types: QuantizationTypes
    public init(axis: Int = 1, blockSize: Int = 0, outputType: DType? = nil, types: QuantizationTypes) {
        self.axis = axis; self.blockSize = blockSize; self.outputType = outputType; self.types = types
    }
    public var opName: String { "DequantizeLinear" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "x"), scale = try inputs.required(1, "x_scale"), zero = inputs.optional(2)
        try requireQuantizationType(x.type.dtype, types.values, "x", opName)
        try requireQuantizationType(scale.type.dtype, types.scales, "x_scale", opName)
        if let zero { try requireSameDType(zero.type.dtype, as: x.type.dtype, "x_zero_point") }
        guard let y = outputType ?? (scale.type.dtype == .float8e8m0 ? nil : scale.type.dtype) else {
            throw DLInferError.model("a float8e8m0 x_scale needs the output_dtype attribute")
        }
        try requireQuantizationType(y, types.results, "y", opName)
        try checkQuantizationShapes(x, scale, zero, axis: axis, blockSize: blockSize)
        return [ValueType(y, x.type.shape)]
    }
}

/// DynamicQuantizeLinear (opset 11): uint8 quantization of a float32 tensor with parameters from its range:
/// lo = min(0, min(x)), hi = max(0, max(x)) (NaNs ignored), y_scale = (hi - lo) / 255 (1 when hi == lo, i.e. x is
/// all zeros or empty, as onnxruntime does: the spec's formula would divide by zero), y_zero_point =
/// round(clamp(0 - lo / y_scale, 0, 255)), y = clamp(round(x / y_scale) + y_zero_point, 0, 255), rounding half
/// to even, all in float32 (NaN x gives the zero point). Outputs: y (x's shape), y_scale and y_zero_point (scalars).
public struct DynamicQuantizeLinear: OpAttributes {
    public init() {}
    public var opName: String { "DynamicQuantizeLinear" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "x")
        // Only float32 is in the spec: other floats would be widened by the precision pass, but y_scale would then
        // take their type, which the spec does not allow.
        guard x.type.dtype == .float32 else {
            throw DLInferError.unsupported("x has element type \(x.type.dtype); DynamicQuantizeLinear takes float32")
        }
        return [ValueType(.uint8, x.type.shape), ValueType(.float32, []), ValueType(.uint8, [])]
    }
}
