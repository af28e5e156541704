/// Equal, Less, LessOrEqual, Greater, GreaterOrEqual: a bool tensor of the inputs' numpy broadcast shape. Both inputs
/// have the same type: any numeric type, and bool for Equal (strings, Equal-19, are not supported). Float comparisons
/// follow IEEE 754: NaN compares unequal to everything, itself included; -0 equals +0. Every version (Equal-7 allowed
/// only bool and 32/64-bit integers, Less/Greater-7 only floats) is accepted with the types of the latest.
public struct Compare: OpAttributes {
    public enum Kind: String, Sendable {
        case equal = "Equal", less = "Less", lessOrEqual = "LessOrEqual", greater = "Greater", greaterOrEqual = "GreaterOrEqual"
    }
    public var kind: Kind
    public init(_ kind: Kind) { self.kind = kind }
    public var opName: String { kind.rawValue }
    // float16/bfloat16 widen to float32 exactly; float64 is compared as is.
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let a = try inputs.required(0, "A"), b = try inputs.required(1, "B")
        try requireDType(a.type.dtype, kind == .equal ? Binary.dtypes + [.bool] : Binary.dtypes, "A")
        try requireSameDType(a, b)
        return [ValueType(.bool, try broadcastShape([a, b]))]
    }
}

/// And, Or, Xor on bool tensors with numpy broadcasting.
public struct Logic: OpAttributes {
    public enum Kind: String, Sendable { case and = "And", or = "Or", xor = "Xor" }
    public var kind: Kind
    public init(_ kind: Kind) { self.kind = kind }
    public var opName: String { kind.rawValue }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let a = try inputs.required(0, "A"), b = try inputs.required(1, "B")
        try requireDType(a.type.dtype, [.bool], "A")
        try requireDType(b.type.dtype, [.bool], "B")
        return [ValueType(.bool, try broadcastShape([a, b]))]
    }
}

/// Where: X where `condition` (bool) is true, else Y, over the numpy broadcast of all three shapes. X and Y have the
/// same type, any but string; values are copied bit for bit (NaN payloads and -0 kept).
public struct Where: OpAttributes {
    public init() {}
    public var opName: String { "Where" }
    public var computeFloatTypes: Set<DType> { .anyFloat }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let c = try inputs.required(0, "condition"), x = try inputs.required(1, "X"), y = try inputs.required(2, "Y")
        try requireDType(c.type.dtype, [.bool], "condition")
        try requireDType(x.type.dtype, Cast.dtypes, "X")
        try requireSameDType(x, y)
        return [ValueType(x.type.dtype, try broadcastShape([c, x, y]))]
    }
}

/// The numpy broadcast of the inputs' shapes; nil (unknown rank) if any rank is unknown.
func broadcastShape(_ inputs: [TypedInput]) throws -> [Dim]? {
    let shapes = inputs.compactMap(\.type.shape)
    guard shapes.count == inputs.count else { return nil }
    return try broadcastShapes(shapes)
}

func requireSameDType(_ a: TypedInput, _ b: TypedInput) throws {
    guard a.type.dtype == b.type.dtype else {
        throw DLInferError.model("inputs have different element types \(a.type.dtype) and \(b.type.dtype)")
    }
}
