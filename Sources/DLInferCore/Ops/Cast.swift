/// Cast to `to`. Between numeric types: float to integer truncates toward zero, saturates out of range and maps NaN
/// to 0 (ONNX leaves those undefined); integer to integer wraps as C does; anything to bool is `!= 0`; float16 is
/// rounded to nearest even. To the 8-bit floats (opset 19), values round to nearest even, once from the source
/// value (doubles and integers go through a float32 rounded to odd, which is exact for this), and `saturate` decides
/// what happens out of range (`Float8Format.encode`); to float8e8m0 (opset 24) the source is first rounded to
/// float32 and `roundMode` applies, as in onnx's reference. From 8-bit floats, decoding is exact. To the 2- and
/// 4-bit integers (opsets 21, 25), floats truncate toward zero and give 0 out of range, as onnx's reference does, and
/// integers keep their low bits; to float4e2m1 (opset 23), values round to nearest even and saturate at ±6
/// (`SubByte`). Strings are not supported (rejected at load).
public struct Cast: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var to: DType
    /// Casts to 8-bit floats only: clamp to the largest finite value instead of giving infinity or NaN.
    public var saturate: Bool
    /// Casts to float8e8m0 only.
    public var roundMode: Float8Format.RoundMode
    public init(to: DType, saturate: Bool = true, roundMode: Float8Format.RoundMode = .up) {
        self.to = to; self.saturate = saturate; self.roundMode = roundMode
    }
    public var opName: String { "Cast" }

    public static let dtypes: [DType] = DType.allCases.filter { $0 != .string }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        try requireDType(x.type.dtype, Cast.dtypes, "input")
        try requireDType(to, Cast.dtypes, "the target type")
        return [ValueType(to, x.type.shape)]
    }
}

/// CastLike: Cast to the element type of the second input (whose values are never read), with Cast's semantics
/// (`saturate` and `roundMode` included). `LowerCastLike` turns it into a Cast once types are known.
public struct CastLike: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var saturate: Bool
    public var roundMode: Float8Format.RoundMode
    public init(saturate: Bool = true, roundMode: Float8Format.RoundMode = .up) {
        self.saturate = saturate; self.roundMode = roundMode
    }
    public var opName: String { "CastLike" }

    /// The Cast this CastLike is, given its target type.
    public func cast(to: DType) -> Cast { Cast(to: to, saturate: saturate, roundMode: roundMode) }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input"), like = try inputs.required(1, "target_type")
        try requireDType(x.type.dtype, Cast.dtypes, "input")
        try requireDType(like.type.dtype, Cast.dtypes, "target_type")
        return [ValueType(like.type.dtype, x.type.shape)]
    }
}
