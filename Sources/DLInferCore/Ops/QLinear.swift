/// The operators of ONNX's "QOperator" format that compute on 8-bit integers directly: products are accumulated
/// exactly in int32 (wrapping on overflow, which the spec allows only there), then requantized.

/// The float types a scale may have (opset 21 adds float16 and bfloat16; the precision pass widens them).
private let scaleTypes: [DType] = [.float32, .float16, .bfloat16]

private func requireInt8(_ t: DType, _ role: String, _ op: String) throws {
    guard t == .int8 || t == .uint8 else {
        throw DLInferError.unsupported("\(role) has element type \(t); \(op) takes int8 and uint8")
    }
}

private func requireScale(_ t: TypedInput, _ role: String) throws {
    guard scaleTypes.contains(t.type.dtype) else {
        throw DLInferError.unsupported("\(role) has element type \(t.type.dtype); supported: float32, float16, bfloat16")
    }
}

/// Throws unless a scale or zero point holds one value (when its shape is known).
private func requireSingle(_ t: TypedInput?, _ role: String) throws {
    if let s = t?.type.fixedShape, s.elementCount != 1 { throw DLInferError.shape("\(role) must be a single value, got shape \(s)") }
}

/// QLinearMatMul (opsets 10 and 21): y = saturate(round(((a - a_zero_point) @ (b - b_zero_point)) * (a_scale *
/// b_scale / y_scale)) + y_zero_point), numpy matmul semantics (batch dims broadcast; 1-D operands). The integer
/// product is exact in int32 (wrapping); the multiplier is computed in float32 in that order, applied in double,
/// then rounded half to even and saturated to y's type (onnx's reference computes it so). a's scale and zero point
/// are a single value or one per row of a (a vector of M values, or a's shape with K set to 1); b's one per column
/// of b (a vector of N values, or b's shape with K set to 1); y's are single values. Operands int8 or uint8 (the
/// 8-bit floats of opset 21 are not supported). Scales of any float type compute in float32.
public struct QLinearMatMul: OpAttributes {
    public init() {}
    public var opName: String { "QLinearMatMul" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let a = try inputs.required(0, "a"), b = try inputs.required(3, "b")
        let names = ["a_scale", "a_zero_point", "b_scale", "b_zero_point", "y_scale", "y_zero_point"]
        let params = try [1, 2, 4, 5, 6, 7].enumerated().map { try inputs.required($0.element, names[$0.offset]) }
        for (t, role) in [(a, "a"), (b, "b"), (params[5], "y_zero_point")] where DType.float8s.contains(t.type.dtype) {
            throw DLInferError.unsupported("\(role) has element type \(t.type.dtype); QLinearMatMul on 8-bit floats is not supported")
        }
        try requireInt8(a.type.dtype, "a", opName)
        try requireInt8(b.type.dtype, "b", opName)
        try requireSameDType(params[1].type.dtype, as: a.type.dtype, "a_zero_point")
        try requireSameDType(params[3].type.dtype, as: b.type.dtype, "b_zero_point")
        try requireInt8(params[5].type.dtype, "y_zero_point", opName)
        for k in [0, 2, 4] { try requireScale(params[k], names[k]) }
        try requireSingle(params[4], "y_scale")
        try requireSingle(params[5], "y_zero_point")
        return [ValueType(params[5].type.dtype, try matMulShape(a.type, b.type))]
    }
}

/// ConvInteger (opset 10): Conv (all its attributes and geometry) of (x - x_zero_point) and (w - w_zero_point) as
/// int32, accumulated exactly in int32 (wrapping); padding holds x_zero_point (0 after the subtraction). x and w are
/// int8 or uint8; x_zero_point a single value of x's type; w_zero_point a single value or one per output channel
/// (M), of w's type. Both are optional (0).
public struct ConvInteger: OpAttributes {
    public var conv: Conv
    public init(_ conv: Conv) { self.conv = conv }
    public var opName: String { "ConvInteger" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "x"), w = try inputs.required(1, "w")
        try requireInt8(x.type.dtype, "x", opName)
        try requireInt8(w.type.dtype, "w", opName)
        if let z = inputs.optional(2) { try requireSameDType(z.type.dtype, as: x.type.dtype, "x_zero_point") }
        if let z = inputs.optional(3) { try requireSameDType(z.type.dtype, as: w.type.dtype, "w_zero_point") }
        try requireSingle(inputs.optional(2), "x_zero_point")
        guard conv.group >= 1 else { throw DLInferError.model("group \(conv.group) must be >= 1") }
        return [ValueType(.int32, try conv.outputShape(x: x, w: w, b: nil))]
    }
}

/// QLinearConv (opset 10): ConvInteger's int32 accumulation, plus the int32 bias B (one per output channel), then
/// y = saturate(round(acc * (x_scale * w_scale / y_scale)) + y_zero_point) per output channel, with the multiplier
/// computed in float32 in that order and applied in double, rounding half to even (as onnx's reference does).
/// x, w and y are int8 or uint8, each with a zero point of its type; x's and y's scale and zero point are single
/// values, w's single or one per output channel.
public struct QLinearConv: OpAttributes {
    public var conv: Conv
    public init(_ conv: Conv) { self.conv = conv }
    public var opName: String { "QLinearConv" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "x"), w = try inputs.required(3, "w")
        let names = ["x_scale", "x_zero_point", "w_scale", "w_zero_point", "y_scale", "y_zero_point"]
        let params = try [1, 2, 4, 5, 6, 7].enumerated().map { try inputs.required($0.element, names[$0.offset]) }
        try requireInt8(x.type.dtype, "x", opName)
        try requireInt8(w.type.dtype, "w", opName)
        try requireSameDType(params[1].type.dtype, as: x.type.dtype, "x_zero_point")
        try requireSameDType(params[3].type.dtype, as: w.type.dtype, "w_zero_point")
        try requireInt8(params[5].type.dtype, "y_zero_point", opName)
        for k in [0, 2, 4] { try requireScale(params[k], names[k]) }
        for k in [0, 1, 4, 5] { try requireSingle(params[k], names[k]) }
        let bias = inputs.optional(8)
        if let bias { try requireDType(bias.type.dtype, [.int32], "B") }
        guard conv.group >= 1 else { throw DLInferError.model("group \(conv.group) must be >= 1") }
        return [ValueType(params[5].type.dtype, try conv.outputShape(x: x, w: w, b: bias))]
    }
}
