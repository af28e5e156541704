/// Cast to `to`. Between numeric types: float to integer truncates toward zero, saturates out of range and maps NaN
/// to 0 (ONNX leaves those undefined); integer to integer wraps as C does; anything to bool is `!= 0`; float16 is
/// rounded to nearest even. Strings are not supported (rejected at load).
public struct Cast: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var to: DType
    public init(to: DType) { self.to = to }
    public var opName: String { "Cast" }

    public static let dtypes: [DType] = DType.allCases.filter { $0 != .string }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        try requireDType(x.type.dtype, Cast.dtypes, "input")
        try requireDType(to, Cast.dtypes, "the target type")
        return [ValueType(to, x.type.shape)]
    }
}

/// CastLike: Cast to the element type of the second input (whose values are never read), with Cast's semantics.
/// `LowerCastLike` turns it into a Cast once types are known.
public struct CastLike: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public init() {}
    public var opName: String { "CastLike" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input"), like = try inputs.required(1, "target_type")
        try requireDType(x.type.dtype, Cast.dtypes, "input")
        try requireDType(like.type.dtype, Cast.dtypes, "target_type")
        return [ValueType(like.type.dtype, x.type.shape)]
    }
}
