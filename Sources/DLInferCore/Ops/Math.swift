/// One-input pointwise functions that are not fused into Conv/Gemm epilogues (those are `Activation`s in `Unary`).
/// Float functions compute in float32 or float64 (float16/bfloat16 through float32); where the spec allows integer or
/// bool tensors, those have their own kernels. NaN propagates through every float function except where the spec's
/// formula maps it elsewhere, as onnxruntime and the reference implementation do:
/// - Abs, Neg, Sign: all numeric types (Neg: floats and signed integers). Integer Abs and Neg wrap (|Int8.min| is
///   Int8.min), as C does; Sign is -1, 0 or 1, and NaN for NaN.
/// - Log, Reciprocal, Floor, Ceil, Round (halves to even), the trigonometric and hyperbolic functions and their
///   inverses, Erf: libm's functions; out-of-domain inputs give NaN, poles give ±inf (Log(0) = -inf, 1/0 = inf).
///   Erf-9 also lists integer types, whose result the spec does not define (onnxruntime has no such kernel): rejected.
/// - Softplus ln(1 + e^x) without overflow for large x, Softsign x/(1+|x|), Mish x·tanh(softplus(x)),
///   HardSwish x·max(0, min(1, x/6 + 1/2)), Gelu 0.5·x·(1 + erf(x/√2)) or with `approximate="tanh"`
///   0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), Selu γ·x for x > 0 else γ·α·(eˣ - 1), Celu x for x > 0 else
///   α·(e^(x/α) - 1) (equal to the spec's max/min form for any α ≠ 0), Swish x·sigmoid(α·x).
/// - ThresholdedRelu x for x > α else 0, Shrink x + bias for x < -λ, x - bias for x > λ, else 0: NaN gives 0 there,
///   as the spec's formula and onnxruntime do. Integer Shrink compares and adds in double precision and converts back
///   as Cast does (toward zero, saturating).
/// - Not on bool; BitwiseNot on integers.
public struct UnaryMath: OpAttributes {
    public enum Function: Sendable, Equatable {
        case abs, neg, sign
        case log, reciprocal, floor, ceil, round, erf
        case sin, cos, tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh
        case softplus, softsign, mish, hardSwish
        case gelu(tanhApproximation: Bool)
        case selu(alpha: Float, gamma: Float)
        case celu(alpha: Float)
        case swish(alpha: Float)
        case thresholdedRelu(alpha: Float)
        case shrink(bias: Float, lambd: Float)
        case not, bitwiseNot
    }

    public var function: Function
    public init(_ function: Function) { self.function = function }
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }

    public var opName: String {
        switch function {
        case .abs: return "Abs"
        case .neg: return "Neg"
        case .sign: return "Sign"
        case .log: return "Log"
        case .reciprocal: return "Reciprocal"
        case .floor: return "Floor"
        case .ceil: return "Ceil"
        case .round: return "Round"
        case .erf: return "Erf"
        case .sin: return "Sin"
        case .cos: return "Cos"
        case .tan: return "Tan"
        case .asin: return "Asin"
        case .acos: return "Acos"
        case .atan: return "Atan"
        case .sinh: return "Sinh"
        case .cosh: return "Cosh"
        case .asinh: return "Asinh"
        case .acosh: return "Acosh"
        case .atanh: return "Atanh"
        case .softplus: return "Softplus"
        case .softsign: return "Softsign"
        case .mish: return "Mish"
        case .hardSwish: return "HardSwish"
        case .gelu: return "Gelu"
        case .selu: return "Selu"
        case .celu: return "Celu"
        case .swish: return "Swish"
        case .thresholdedRelu: return "ThresholdedRelu"
        case .shrink: return "Shrink"
        case .not: return "Not"
        case .bitwiseNot: return "BitwiseNot"
        }
    }

    /// The element types the function is defined on.
    public var dtypes: [DType] {
        switch function {
        case .abs, .sign, .shrink: return [.float32, .float64] + DType.integers
        case .neg: return [.float32, .float64, .int8, .int16, .int32, .int64]
        case .not: return [.bool]
        case .bitwiseNot: return DType.integers
        default: return [.float32, .float64]
        }
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X")
        try requireDType(x.type.dtype, dtypes, "X")
        return [x.type]
    }
}

/// IsNaN, and IsInf with `detect_negative`/`detect_positive` (both set by default; both clear gives all false):
/// a bool tensor of the input's shape. Float16/bfloat16 are widened to float32 exactly; float64 is tested as is.
public struct FloatClass: OpAttributes {
    public enum Kind: Sendable, Equatable {
        case nan
        case inf(negative: Bool, positive: Bool)
    }
    public var kind: Kind
    public init(_ kind: Kind) { self.kind = kind }
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public var opName: String { kind == .nan ? "IsNaN" : "IsInf" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X")
        try requireDType(x.type.dtype, [.float32, .float64], "X")
        return [ValueType(.bool, x.type.shape)]
    }
}
