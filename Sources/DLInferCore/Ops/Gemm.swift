/// Gemm: Y = alpha · A' · B' + beta · C, with A' = Aᵀ if `transA` (else A) of shape [M, K], B' = Bᵀ if `transB` of
/// shape [K, N], and C (optional from opset 11) unidirectionally broadcast to [M, N]. float32 only.
public struct Gemm: OpAttributes {
    public var alpha: Float
    public var beta: Float
    public var transA: Bool
    public var transB: Bool
    /// Pre-opset-7 `broadcast = 0`, kept by old exporters: C must then be exactly [M, N].
    public var requireFullC: Bool
    /// Set by the FuseActivations pass: applied to every output element in the kernel's epilogue.
    public var activation: Activation? = nil

    public init(alpha: Float = 1, beta: Float = 1, transA: Bool = false, transB: Bool = false, requireFullC: Bool = false) {
        self.alpha = alpha; self.beta = beta; self.transA = transA; self.transB = transB; self.requireFullC = requireFullC
    }

    public var opName: String { "Gemm" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let a = try inputs.required(0, "A"), b = try inputs.required(1, "B")
        try requireDType(a.type.dtype, [.float32], "A")
        try requireDType(b.type.dtype, [a.type.dtype], "B")
        let c = inputs.optional(2)
        if let c { try requireDType(c.type.dtype, [a.type.dtype], "C") }
        for (t, role) in [(a, "A"), (b, "B")] {
            if let r = t.type.rank, r != 2 { throw DLInferError.shape("\(role) must be a matrix (rank 2), got \(t.type)") }
        }
        if let r = c?.type.rank, r > 2 { throw DLInferError.shape("C must have rank 0, 1 or 2, got \(c!.type)") }
        guard let sa = a.type.shape, let sb = b.type.shape else { return [ValueType(a.type.dtype, [.unknown, .unknown])] }
        let m = transA ? sa[1] : sa[0], ka = transA ? sa[0] : sa[1]
        let kb = transB ? sb[1] : sb[0], n = transB ? sb[0] : sb[1]
        if let x = ka.value, let y = kb.value, x != y {
            throw DLInferError.shape("inner dimensions differ: A' is [\(m),\(ka)] and B' is [\(kb),\(n)]")
        }
        if let sc = c?.type.shape {
            // Unidirectional broadcast: each of C's dims (aligned right) is 1 or equal to Y's.
            let target = [m, n].suffix(sc.count)
            for (d, t) in zip(sc, target) {
                guard let dv = d.value, let tv = t.value else { continue }
                if dv != tv && (dv != 1 || requireFullC) {
                    throw DLInferError.shape("C \(c!.type) cannot be broadcast to [\(m),\(n)]")
                }
            }
            if requireFullC, sc.count != 2 { throw DLInferError.shape("C must be [M, N] when broadcast = 0") }
        }
        return [ValueType(a.type.dtype, [m, n])]
    }
}

/// MatMul with numpy semantics: a 1-D A is [1, K] and a 1-D B is [K, 1], with that added dim removed from the
/// result; batch dims (all but the last two) broadcast. float32 (SGEMM), float64 and the integer types of opset 9+
/// (int32, int64, uint32, uint64; products and sums wrap on overflow).
public struct MatMul: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    /// Set by the FuseActivations pass: applied to every output element in the kernel's epilogue.
    public var activation: Activation? = nil
    public init() {}
    public var opName: String { "MatMul" }
    public static let dtypes: [DType] = [.float32, .float64, .int32, .int64, .uint32, .uint64]

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let a = try inputs.required(0, "A"), b = try inputs.required(1, "B")
        try requireDType(a.type.dtype, MatMul.dtypes, "A")
        try requireSameDType(b.type.dtype, as: a.type.dtype, "B")
        return [ValueType(a.type.dtype, try matMulShape(a.type, b.type))]
    }
}

/// MatMulInteger (opset 10): MatMul of int8/uint8 operands after subtracting their zero points, accumulated exactly
/// in int32 (wrapping on overflow). a_zero_point is a scalar, or one value per row of A ([M], or A's shape with K
/// set to 1); b_zero_point a scalar, or one value per column of B ([N], or B's shape with K set to 1). Each zero
/// point has its operand's type.
public struct MatMulInteger: OpAttributes {
    public init() {}
    public var opName: String { "MatMulInteger" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let a = try inputs.required(0, "A"), b = try inputs.required(1, "B")
        try requireDType(a.type.dtype, [.int8, .uint8], "A")
        try requireDType(b.type.dtype, [.int8, .uint8], "B")
        for (k, role, t) in [(2, "a_zero_point", a.type.dtype), (3, "b_zero_point", b.type.dtype)] {
            if let z = inputs.optional(k) { try requireSameDType(z.type.dtype, as: t, role) }
        }
        return [ValueType(.int32, try matMulShape(a.type, b.type))]
    }
}

/// The numpy matmul output shape (nil when a rank is unknown).
func matMulShape(_ a: ValueType, _ b: ValueType) throws -> [Dim]? {
    for (t, role) in [(a, "A"), (b, "B")] where t.rank == 0 {
        throw DLInferError.shape("\(role) must have rank 1 or more, got a scalar")
    }
    guard let sa = a.shape, let sb = b.shape else { return nil }
    let ka = sa[sa.count - 1], kb = sb.count == 1 ? sb[0] : sb[sb.count - 2]
    if let x = ka.value, let y = kb.value, x != y {
        throw DLInferError.shape("inner dimensions differ: A is \(a) and B is \(b)")
    }
    var out = try broadcastShapes([Array(sa.dropLast(2)), Array(sb.dropLast(2))])
    if sa.count >= 2 { out.append(sa[sa.count - 2]) }
    if sb.count >= 2 { out.append(sb[sb.count - 1]) }
    return out
}
