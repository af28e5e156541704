/// Mod with numpy broadcasting, both inputs of one numeric type.
/// - `fmod` 0: A - floor(A/B)·B, the sign of the divisor (Python's %). For floats (allowed from Mod-28, which defines
///   it; earlier versions require fmod=1 for floats, and such models get the Mod-28 meaning): a zero result takes B's
///   sign, A = ±inf or B = ±0 gives NaN, B = ±inf gives A when A and B have the same sign (or A is 0) and B otherwise.
/// - `fmod` 1: A - trunc(A/B)·B, the sign of the dividend (C's fmod); B = ±inf gives A.
/// Integer division by zero is an error at run time. Int.min mod -1 is 0.
public struct Mod: OpAttributes {
    public var fmod: Bool
    public init(fmod: Bool) { self.fmod = fmod }
    public var opName: String { "Mod" }
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let a = try inputs.required(0, "A"), b = try inputs.required(1, "B")
        try requireDType(a.type.dtype, Binary.dtypes, "A")
        try requireSameDType(a, b)
        return [ValueType(a.type.dtype, try broadcastShape([a, b]))]
    }
}

/// PRelu: X where X >= 0, else slope·X; `slope` broadcasts to X's shape (unidirectionally: the output has X's shape).
/// NaN stays NaN. Floats and the 32/64-bit integer types of PRelu-9 (integer products wrap).
public struct PRelu: OpAttributes {
    public init() {}
    public var opName: String { "PRelu" }
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X"), slope = try inputs.required(1, "slope")
        try requireDType(x.type.dtype, [.float32, .float64, .int32, .int64, .uint32, .uint64], "X")
        try requireSameDType(x, slope)
        guard let xs = x.type.shape, let ss = slope.type.shape else { return [x.type] }
        guard ss.count <= xs.count else {
            throw DLInferError.shape("slope has rank \(ss.count), more than X's \(xs.count)")
        }
        // Unidirectional: every slope dim is 1 or X's dim (checked here where both are known, and again at run time,
        // when a plan types the node with concrete shapes).
        for (d, s) in zip(xs.suffix(ss.count), ss) {
            if let dv = d.value, let sv = s.value, sv != 1, sv != dv {
                throw DLInferError.shape("slope \(ss.map(\.description)) cannot be broadcast to X \(xs.map(\.description))")
            }
        }
        return [x.type]
    }
}

/// BitwiseAnd, BitwiseOr, BitwiseXor and BitShift on integers, with numpy broadcasting; both inputs of one type.
/// BitShift-11 takes unsigned types, BitShift-28 signed ones too (accepted at every version): a right shift of a signed
/// value is arithmetic; a left shift discards the bits shifted out, the sign bit included; a shift amount that is
/// negative or not below the type's width gives -1 for a right shift of a negative value and 0 otherwise.
public struct Bitwise: OpAttributes {
    public enum Kind: Sendable { case and, or, xor, shiftLeft, shiftRight }
    public var kind: Kind
    public init(_ kind: Kind) { self.kind = kind }

    public var opName: String {
        switch kind {
        case .and: return "BitwiseAnd"
        case .or: return "BitwiseOr"
        case .xor: return "BitwiseXor"
        case .shiftLeft, .shiftRight: return "BitShift"
        }
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let a = try inputs.required(0, "A"), b = try inputs.required(1, "B")
        try requireDType(a.type.dtype, DType.integers, "A")
        try requireSameDType(a, b)
        return [ValueType(a.type.dtype, try broadcastShape([a, b]))]
    }
}
