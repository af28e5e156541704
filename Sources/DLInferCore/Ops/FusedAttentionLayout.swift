/// Where FusedAttention's operands are in memory for one run's shapes, for every backend: each input read in place
/// through its folded Transpose, batch dims broadcast to the heads, and element offsets per head. Index math only.
public struct FusedAttentionLayout {
    /// Batch dims flattened (numpy broadcast of Q, Kᵀ, mask and V's leading dims), query rows, keys, head sizes.
    public let heads, rows, total, headSize, vHeadSize: Int
    /// Keys Kᵀ holds: 1 with `total` > 1 means one key broadcast against a longer mask.
    public let keyCount: Int
    /// Per head: the element offset of Q, Kᵀ, the mask, V and Y (in that order).
    public let offsets: [[Int]]
    /// Q's row stride (0: one query row broadcast against a taller mask); Q's head-size axis is contiguous.
    public let ldq: Int
    /// Kᵀ's strides: between keys (0 when one key is broadcast) and between a key's head-size elements.
    public let keyStride, keyDimStride: Int
    /// V's row stride; V's head-size axis is contiguous.
    public let ldv: Int
    /// The mask's row stride (0: one row for every query), and whether one mask column serves every key.
    public let maskRowStride: Int
    public let maskBroadcastsColumns: Bool
    /// Y's row stride; Y's last axis is contiguous.
    public let ldy: Int
    /// K's logical strides ([..., D, Skv] of Kᵀ): for a backend that must copy a strided broadcast key.
    public let keyStrides: [Int]

    public init(_ a: FusedAttention, q qShape: [Int], k kShape: [Int], v vShape: [Int], mask maskShape: [Int]?,
                y yShape: [Int]) throws {
        let q = Operand(qShape, a.queryPerm), k = Operand(kShape, a.keyPerm), v = Operand(vShape, a.valuePerm)
        let sq = q.dims[q.rank - 2], d = q.dims[q.rank - 1], kd = k.dims[k.rank - 2], skv = k.dims[k.rank - 1]
        let vRows = v.dims[v.rank - 2], dv = v.dims[v.rank - 1]
        guard d == kd else { throw DLInferError.shape("inner dimensions differ: Q is \(q.dims) and Kᵀ is \(k.dims)") }
        var maskDims = maskShape ?? []
        if maskDims.count < 2 { maskDims = [Int](repeating: 1, count: 2 - maskDims.count) + maskDims }
        let mq = maskDims[maskDims.count - 2], mn = maskDims[maskDims.count - 1]
        let rows = try broadcastShapes([[sq], [mq]])[0], total = try broadcastShapes([[skv], [mn]])[0]
        guard vRows == total else {
            throw DLInferError.shape("inner dimensions differ: the probabilities have \(total) columns, V is \(v.dims)")
        }
        let batchShapes = [q.batchDims, k.batchDims, Array(maskDims.dropLast(2)), v.batchDims]
        let batch = try broadcastShapes(batchShapes)
        let logicalY = batch + [rows, dv]
        let yPerm = a.outputPerm ?? Array(0..<logicalY.count)
        guard yShape == yPerm.map({ logicalY[$0] }) else {
            throw DLInferError(.internal, "FusedAttention's output \(yShape) differs from its computed \(logicalY) through \(yPerm)")
        }
        // Y's logical axis a is output axis yPerm⁻¹(a).
        let physical = yShape.contiguousStrides
        var yStrides = [Int](repeating: 0, count: logicalY.count)
        for (o, axis) in yPerm.enumerated() { yStrides[axis] = physical[o] }

        let heads = batch.elementCount
        var offsets = [[Int]](repeating: [Int](repeating: 0, count: heads), count: 5)
        let maskStrides = maskDims.contiguousStrides
        let strideSets = [q.batchStrides, k.batchStrides, Array(maskStrides.dropLast(2)), v.batchStrides,
                          Array(yStrides.dropLast(2))]
        for (s, (dims, strides)) in zip(batchShapes + [batch], strideSets).enumerated() {
            let aligned = FusedAttentionLayout.broadcastStrides(dims, strides, to: batch)
            var index = [Int](repeating: 0, count: batch.count)
            for h in 0..<heads {
                var off = 0
                for axis in 0..<batch.count { off += index[axis] * aligned[axis] }
                offsets[s][h] = off
                var axis = batch.count - 1
                while axis >= 0 { index[axis] += 1; if index[axis] < batch[axis] { break }; index[axis] = 0; axis -= 1 }
            }
        }
        (self.heads, self.rows, self.total, headSize, vHeadSize, keyCount) = (heads, rows, total, d, dv, skv)
        self.offsets = offsets
        ldq = sq == 1 ? 0 : q.strides[q.rank - 2]
        keyStride = skv == 1 && total > 1 ? 0 : k.strides[k.rank - 1]
        keyDimStride = k.strides[k.rank - 2]
        keyStrides = k.strides
        ldv = v.strides[v.rank - 2]
        maskRowStride = mq == 1 ? 0 : maskStrides[maskStrides.count - 2]
        maskBroadcastsColumns = mn == 1 && total != 1
        ldy = yStrides[yStrides.count - 2]
    }

    /// An input as its logical operand: the operand's dims and each logical axis's stride in the input's memory.
    private struct Operand {
        let dims: [Int], strides: [Int]
        init(_ shape: [Int], _ perm: [Int]?) {
            let p = perm ?? Array(0..<shape.count), physical = shape.contiguousStrides
            dims = p.map { shape[$0] }
            strides = p.map { physical[$0] }
        }
        var rank: Int { dims.count }
        var batchDims: [Int] { Array(dims.dropLast(2)) }
        var batchStrides: [Int] { Array(strides.dropLast(2)) }
    }

    /// Strides of `dims` aligned right against `target`, 0 on broadcast (size-1 or missing) dims.
    private static func broadcastStrides(_ dims: [Int], _ strides: [Int], to target: [Int]) -> [Int] {
        var out = [Int](repeating: 0, count: target.count)
        let off = target.count - dims.count
        for i in dims.indices where dims[i] != 1 { out[off + i] = strides[i] }
        return out
    }
}
