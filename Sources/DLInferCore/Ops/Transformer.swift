/// RotaryEmbedding (opset 23): rotates pairs of each head's first `rotary_embedding_dim` values (0: the whole head)
/// by position-dependent angles: for pair p with values (x1, x2) and cache entries c = cos_cache[..., p],
/// s = sin_cache[..., p], the output pair is (c·x1 - s·x2, s·x1 + c·x2); the other values pass through. Pairs are
/// (i, i + dim/2) for i < dim/2, or (2i, 2i + 1) when `interleaved`.
///
/// X is 4-D `[batch, heads, sequence, head_size]` or 3-D `[batch, sequence, heads * head_size]` with `num_heads`
/// (ignored for 4-D input, as in the reference). With position_ids (int64 `[batch, sequence]`, each in
/// 0..<cache rows) the caches are 2-D `[positions, dim/2]` and row position_ids[b, s] is used; without, they are
/// 3-D `[batch, sequence, dim/2]`, whose batch and sequence dims may also be 1 (broadcast). dim must be even and at
/// most the head size.
public struct RotaryEmbedding: OpAttributes {
    public var interleaved: Bool
    /// 0: the whole head.
    public var rotaryDim: Int
    public var numHeads: Int?
    public init(interleaved: Bool = false, rotaryDim: Int = 0, numHeads: Int? = nil) {
        self.interleaved = interleaved; self.rotaryDim = rotaryDim; self.numHeads = numHeads
    }
    public var opName: String { "RotaryEmbedding" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X"), cos = try inputs.required(1, "cos_cache"), sin = try inputs.required(2, "sin_cache")
        try requireDType(x.type.dtype, [.float32], "X")
        try requireSameDType(cos.type.dtype, as: x.type.dtype, "cos_cache")
        try requireSameDType(sin.type.dtype, as: x.type.dtype, "sin_cache")
        let positions = inputs.optional(3)
        if let positions { try requireDType(positions.type.dtype, [.int64], "position_ids") }
        guard rotaryDim >= 0 else { throw DLInferError.model("rotary_embedding_dim must not be negative, got \(rotaryDim)") }
        if let r = x.type.rank {
            guard r == 3 || r == 4 else { throw DLInferError.shape("X must be 3-D or 4-D, got rank \(r)") }
            if r == 3 { guard let h = numHeads, h > 0 else { throw DLInferError.model("3-D X needs a positive num_heads") } }
        }
        let cacheRank = positions == nil ? 3 : 2
        for (c, role) in [(cos, "cos_cache"), (sin, "sin_cache")] {
            if let r = c.type.rank, r != cacheRank {
                throw DLInferError.shape("\(role) must be \(cacheRank)-D \(positions == nil ? "without" : "with") position_ids, got rank \(r)")
            }
        }
        if let r = positions?.type.rank, r != 2 { throw DLInferError.shape("position_ids must be 2-D, got rank \(r)") }
        if let shape = x.type.fixedShape, let c = cos.type.fixedShape, let s = sin.type.fixedShape,
           positions == nil || positions?.type.fixedShape != nil {
            _ = try geometry(x: shape, cos: c, sin: s, positions: positions?.type.fixedShape)
        }
        return [x.type]
    }

    /// The concrete layout, validated: `positions` is position_ids' shape (nil when absent, or not known here).
    public func geometry(x: [Int], cos: [Int], sin: [Int], positions: [Int]?) throws -> RotaryGeometry {
        guard x.count == 3 || x.count == 4 else { throw DLInferError.shape("X must be 3-D or 4-D, got \(x)") }
        var g = RotaryGeometry(batch: x[0], heads: 0, sequence: 0, headSize: 0, dim: 0, packed: x.count == 3)
        if x.count == 4 {
            g.heads = x[1]; g.sequence = x[2]; g.headSize = x[3]
        } else {
            guard let h = numHeads, h > 0, x[2] % h == 0 else {
                throw DLInferError.shape("X's hidden size \(x[2]) is not a multiple of num_heads \(numHeads ?? 0)")
            }
            g.heads = h; g.sequence = x[1]; g.headSize = x[2] / h
        }
        g.dim = rotaryDim == 0 ? g.headSize : rotaryDim
        guard g.dim % 2 == 0, g.dim <= g.headSize else {
            throw DLInferError.shape("the rotary dimension \(g.dim) must be even and at most the head size \(g.headSize)")
        }
        guard cos == sin else { throw DLInferError.shape("cos_cache \(cos) and sin_cache \(sin) differ") }
        guard cos.last == g.dim / 2 else {
            throw DLInferError.shape("the caches' last dimension \(cos.last ?? 0) must be half the rotary dimension \(g.dim)")
        }
        if let positions {
            guard cos.count == 2, positions == [g.batch, g.sequence] else {
                throw DLInferError.shape("position_ids \(positions) must be [\(g.batch), \(g.sequence)] with 2-D caches, got \(cos)")
            }
            g.positions = cos[0]
        } else if cos.count == 3 {
            guard cos[0] == 1 || cos[0] == g.batch, cos[1] == 1 || cos[1] == g.sequence else {
                throw DLInferError.shape("the caches \(cos) do not broadcast to [\(g.batch), \(g.sequence), \(g.dim / 2)]")
            }
            g.cacheBatchStride = cos[0] == 1 ? 0 : cos[1] * cos[2]
            g.cacheSequenceStride = cos[1] == 1 ? 0 : cos[2]
        } else {
            throw DLInferError.shape("without position_ids the caches must be 3-D, got \(cos)")
        }
        return g
    }
}

/// One RotaryEmbedding problem. `positions`: rows of the 2-D caches (nil without position_ids, when the caches are
/// read at `cacheBatchStride` / `cacheSequenceStride`).
public struct RotaryGeometry: Sendable {
    public var batch, heads, sequence, headSize, dim: Int
    public var packed: Bool
    public var positions: Int? = nil
    public var cacheBatchStride = 0, cacheSequenceStride = 0
}

/// SwiGLU (opset 28): Y = A · sigmoid(alpha · A) · B, elementwise; A and B have the same shape (no broadcasting) and
/// type. Float32 and float64 compute natively, float16/bfloat16 in float32.
public struct SwiGLU: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public var alpha: Float
    public init(alpha: Float = 1) { self.alpha = alpha }
    public var opName: String { "SwiGLU" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let a = try inputs.required(0, "A"), b = try inputs.required(1, "B")
        try requireDType(a.type.dtype, [.float32, .float64], "A")
        try requireSameDType(b.type.dtype, as: a.type.dtype, "B")
        guard let sa = a.type.shape, let sb = b.type.shape else { return [ValueType(a.type.dtype, a.type.shape ?? b.type.shape)] }
        guard sa.count == sb.count else { throw DLInferError.shape("A \(a.type) and B \(b.type) must have the same shape") }
        for (x, y) in zip(sa, sb) { try sameDim(x, y, "dimensions of A and B") }
        return [ValueType(a.type.dtype, zip(sa, sb).map { $0.value != nil ? $0 : $1 })]
    }
}

/// TensorScatter (opset 24): a copy of past_cache with `update` written along `axis` (not 0, the batch axis):
/// for every index of the dims before axis (batch b first) and s in 0..<update's length along axis,
/// present[..., w + s, ...] = update[..., s, ...] where w = write_indices[b] (0 when absent). `linear` mode needs
/// 0 <= w and w + update length <= the cache length; `circular` wraps w + s modulo the cache length (a negative w
/// too, as Python's %). The other dims of update equal the cache's. Any element type: values are only moved.
public struct TensorScatter: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var axis: Int
    public var circular: Bool
    public init(axis: Int = -2, circular: Bool = false) { self.axis = axis; self.circular = circular }
    public var opName: String { "TensorScatter" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let past = try inputs.required(0, "past_cache"), update = try inputs.required(1, "update")
        try requireSameDType(update.type.dtype, as: past.type.dtype, "update")
        if let w = inputs.optional(2) {
            try requireDType(w.type.dtype, [.int64], "write_indices")
            if let r = w.type.rank, r != 1 { throw DLInferError.shape("write_indices must be 1-D, got rank \(r)") }
            if let ws = w.type.shape, let ps = past.type.shape, let first = ps.first { try sameDim(ws[0], first, "write_indices' length and the batch") }
        }
        guard let ps = past.type.shape else { return [past.type] }
        let a = try normalizedAxis(rank: ps.count)
        if let us = update.type.shape {
            guard us.count == ps.count else { throw DLInferError.shape("update \(update.type) and past_cache \(past.type) differ in rank") }
            for (i, (p, u)) in zip(ps, us).enumerated() {
                if i == a {
                    if let pv = p.value, let uv = u.value, uv > pv {
                        throw DLInferError.shape("update's length \(uv) along axis \(axis) exceeds the cache's \(pv)")
                    }
                } else {
                    try sameDim(p, u, "dimension \(i) of past_cache and update")
                }
            }
        }
        return [past.type]
    }

    /// The sequence axis in 1..<rank.
    public func normalizedAxis(rank: Int) throws -> Int {
        let a = try normalizeAxis(axis, rank: rank)
        guard a != 0 else { throw DLInferError.model("axis \(axis) is the batch axis; TensorScatter's axis cannot be 0") }
        return a
    }
}
