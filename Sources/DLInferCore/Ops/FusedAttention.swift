/// Attention as exporters write it out, fused into one node by the `FuseAttention` pass (not an ONNX op: no model
/// names it). With Q, Kᵀ and V the logical operands (each a view of its input through `perm`, a Transpose the pass
/// folded away), the node computes exactly what the nodes it replaced computed:
///
///     S = alpha · Q @ Kᵀ              numpy matmul: batch dims broadcast
///     S = S + mask                    if a mask is given: numpy broadcast
///     P = softmax(S) over the last axis
///     P = where(isnan(P), 0, P)       with `zeroNaN` (the exporters' guard for fully masked rows)
///     Y = P @ V, written through `outputPerm` (a Transpose of Y the pass folded)
///
/// Q is `[..., Sq, D]`, Kᵀ `[..., D, Skv]`, V `[..., Skv, Dv]`. Each operand's innermost logical axis (D for Q and
/// Kᵀ's rows or its columns, Dv for V) must be contiguous in memory so that the products read it in place; the
/// scores exist one block of query rows at a time, never as a whole `[..., Sq, Skv]` tensor.
public struct FusedAttention: OpAttributes {
    public var alpha: Float
    public var zeroNaN: Bool
    /// How each input's axes map to the logical operand's (Transpose semantics: logical axis i is input axis
    /// perm[i]); nil: the input is the operand.
    public var queryPerm: [Int]?
    public var keyPerm: [Int]?
    public var valuePerm: [Int]?
    /// The output is transpose(Y, outputPerm); nil: Y itself.
    public var outputPerm: [Int]?

    public init(alpha: Float, zeroNaN: Bool, queryPerm: [Int]? = nil, keyPerm: [Int]? = nil, valuePerm: [Int]? = nil,
                outputPerm: [Int]? = nil) {
        self.alpha = alpha; self.zeroNaN = zeroNaN
        self.queryPerm = queryPerm; self.keyPerm = keyPerm; self.valuePerm = valuePerm; self.outputPerm = outputPerm
    }

    public var opName: String { "FusedAttention" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let q = try inputs.required(0, "Q"), k = try inputs.required(1, "K"), v = try inputs.required(2, "V")
        let mask = inputs.optional(3)
        for (t, role) in [(q, "Q"), (k, "K"), (v, "V"), mask.map { ($0, "mask") }].compactMap({ $0 }) {
            guard t.type.dtype == .float32 else { throw DLInferError.unsupported("\(role) has element type \(t.type.dtype); FusedAttention takes float32") }
        }
        guard let qs = q.type.shape, let ks = k.type.shape, let vs = v.type.shape else {
            throw DLInferError.shape("Q, K and V must have known ranks")
        }
        let lq = try FusedAttention.view(qs, queryPerm, "Q"), lk = try FusedAttention.view(ks, keyPerm, "K")
        let lv = try FusedAttention.view(vs, valuePerm, "V")
        let r = lk.count
        guard FusedAttention.contiguous(queryPerm, axis: lq.count - 1, rank: lq.count),
              FusedAttention.contiguous(keyPerm, axis: r - 2, rank: r) || FusedAttention.contiguous(keyPerm, axis: r - 1, rank: r),
              FusedAttention.contiguous(valuePerm, axis: lv.count - 1, rank: lv.count) else {
            throw DLInferError.model("FusedAttention's operands must each keep an innermost axis contiguous")
        }
        var scores = try matMulShape(ValueType(.float32, lq), ValueType(.float32, lk))!
        if let ms = mask?.type.shape { scores = try broadcastShapes([scores, ms]) } else if mask != nil { return [ValueType(.float32, nil)] }
        guard scores.count >= 2 else { throw DLInferError.shape("the mask makes the scores rank \(scores.count)") }
        var y = try matMulShape(ValueType(.float32, scores), ValueType(.float32, lv))!
        if let p = outputPerm {
            guard p.count == y.count, p.sorted() == Array(0..<y.count), p.last == y.count - 1 else {
                throw DLInferError.model("output perm \(p) does not fit Y of rank \(y.count) with its last axis in place")
            }
            y = p.map { y[$0] }
        }
        return [ValueType(.float32, y)]
    }

    /// The logical operand's shape: `shape` through `perm` (rank 2 or more).
    public static func view<D>(_ shape: [D], _ perm: [Int]?, _ role: String) throws -> [D] {
        guard shape.count >= 2 else { throw DLInferError.shape("\(role) must have rank 2 or more, got \(shape.count)") }
        guard let perm else { return shape }
        guard perm.count == shape.count, perm.sorted() == Array(0..<shape.count) else {
            throw DLInferError.model("perm \(perm) is not a permutation of \(role)'s \(shape.count) axes")
        }
        return perm.map { shape[$0] }
    }

    /// Whether logical `axis` is the input's last (contiguous) axis.
    public static func contiguous(_ perm: [Int]?, axis: Int, rank: Int) -> Bool { (perm?[axis] ?? axis) == rank - 1 }
}
