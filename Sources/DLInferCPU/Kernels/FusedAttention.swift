import DLInferCore

/// FusedAttention through the shared attention driver: every operand is read in place through its strides (folded
/// Transposes and broadcast batch dims included), so nothing is copied, and the scores exist one block of rows at a
/// time. Per row it does exactly what the replaced nodes did: add the mask row, the Softmax op's row softmax, and
/// with `zeroNaN` a NaN probability becomes 0.
final class FusedAttentionKernel: Kernel {
    let attrs: FusedAttention
    init(_ a: FusedAttention) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let q = StridedOperand(inputs[0]!, attrs.queryPerm), v = StridedOperand(inputs[2]!, attrs.valuePerm)
        var k = StridedOperand(inputs[1]!, attrs.keyPerm)
        let mask = inputs.count > 3 ? inputs[3] : nil
        let sq = q.dims[q.rank - 2], d = q.dims[q.rank - 1], kd = k.dims[k.rank - 2], skv = k.dims[k.rank - 1]
        let vRows = v.dims[v.rank - 2], dv = v.dims[v.rank - 1]
        guard d == kd else { throw DLInferError.shape("inner dimensions differ: Q is \(q.dims) and Kᵀ is \(k.dims)") }
        var maskDims = mask?.shape ?? []
        if maskDims.count < 2 { maskDims = [Int](repeating: 1, count: 2 - maskDims.count) + maskDims }
        let mq = maskDims[maskDims.count - 2], mn = maskDims[maskDims.count - 1]
        let rows = try broadcastShapes([[sq], [mq]])[0], total = try broadcastShapes([[skv], [mn]])[0]
        guard vRows == total else {
            throw DLInferError.shape("inner dimensions differ: the probabilities have \(total) columns, V is \(v.dims)")
        }
        // One key broadcast against a longer mask is read as a row repeated (stride 0), which needs its head-size
        // axis contiguous: copy it when a folded Transpose left it strided.
        var copied: Tensor? = nil
        if skv == 1, total > 1, d > 1, k.strides[k.rank - 2] != 1 {
            let c = try outputs.make(.float32, k.dims)
            stridedCopy(src: k.base, offset: 0, strides: k.strides, shape: k.dims, dst: c.raw, elementSize: 4)
            copied = c
            k = StridedOperand(c, nil)
        }
        let batchShapes = [q.batchDims, k.batchDims, Array(maskDims.dropLast(2)), v.batchDims]
        let batch = try broadcastShapes(batchShapes)
        let logicalY = batch + [rows, dv]
        let y = try outputs.make(0)
        let yPerm = attrs.outputPerm ?? Array(0..<logicalY.count)
        guard y.shape == yPerm.map({ logicalY[$0] }) else {
            throw DLInferError(.internal, "FusedAttention's output \(y.shape) differs from its computed \(logicalY) through \(yPerm)")
        }
        // Y's logical axis a is output axis yPerm⁻¹(a).
        let physical = y.shape.contiguousStrides
        var yStrides = [Int](repeating: 0, count: logicalY.count)
        for (o, a) in yPerm.enumerated() { yStrides[a] = physical[o] }

        let heads = batch.elementCount
        var offsets = [[Int]](repeating: [Int](repeating: 0, count: heads), count: 5)
        let maskStrides = maskDims.contiguousStrides
        let strideSets = [q.batchStrides, k.batchStrides, Array(maskStrides.dropLast(2)), v.batchStrides,
                          Array(yStrides.dropLast(2))]
        for (s, (dims, strides)) in zip(batchShapes + [batch], strideSets).enumerated() {
            let aligned = broadcastStrides(dims, strides, to: batch)
            var index = [Int](repeating: 0, count: batch.count)
            for h in 0..<heads {
                var off = 0
                for a in 0..<batch.count { off += index[a] * aligned[a] }
                offsets[s][h] = off
                var a = batch.count - 1
                while a >= 0 { index[a] += 1; if index[a] < batch[a] { break }; index[a] = 0; a -= 1 }
            }
        }
        let problem = ExportedAttention(
            heads: heads, rows: rows, total: total, headSize: d, vHeadSize: dv, alpha: attrs.alpha, zeroNaN: attrs.zeroNaN,
            q: q, k: k, v: v, keyCount: skv, offsets: offsets,
            mask: mask.map { UnsafePointer($0.pointer(Float.self)) },
            maskRowStride: mq == 1 ? 0 : maskStrides[maskStrides.count - 2], maskBroadcastsColumns: mn == 1 && total != 1,
            y: y.pointer(Float.self), ldy: yStrides[yStrides.count - 2])
        try withExtendedLifetime(copied) { try runAttention(problem) }
        return [y]
    }
}

/// An input read as its logical operand through a permutation: the operand's dims and each logical axis's stride in
/// the input's memory.
struct StridedOperand {
    let base: UnsafePointer<Float>
    let dims: [Int]
    let strides: [Int]
    init(_ t: Tensor, _ perm: [Int]?) {
        base = UnsafePointer(t.pointer(Float.self))
        let p = perm ?? Array(0..<t.rank), physical = t.shape.contiguousStrides
        dims = p.map { t.shape[$0] }
        strides = p.map { physical[$0] }
    }
    var rank: Int { dims.count }
    var batchDims: [Int] { Array(dims.dropLast(2)) }
    var batchStrides: [Int] { Array(strides.dropLast(2)) }

}

/// Strides of `dims` aligned right against `target`, 0 on broadcast (size-1 or missing) dims.
private func broadcastStrides(_ dims: [Int], _ strides: [Int], to target: [Int]) -> [Int] {
    var out = [Int](repeating: 0, count: target.count)
    let off = target.count - dims.count
    for i in dims.indices where dims[i] != 1 { out[off + i] = strides[i] }
    return out
}

/// The exported pattern's view for the attention driver. A query row or key broadcast against the mask (one row or
/// one key, more in the mask) is read with a row stride of 0.
private struct ExportedAttention: AttentionProblem {
    let heads, rows, total, headSize, vHeadSize: Int
    let alpha: Float
    let zeroNaN: Bool
    let q, k, v: StridedOperand
    let keyCount: Int
    /// Per head: the offset of Q, Kᵀ, the mask, V and Y.
    let offsets: [[Int]]
    let mask: UnsafePointer<Float>?
    let maskRowStride: Int
    let maskBroadcastsColumns: Bool
    let y: UnsafeMutablePointer<Float>
    let ldy: Int
    var rowScratch: Int { 0 }

    func operands(_ head: Int) -> HeadOperands {
        let r = k.rank
        let dStride = k.strides[r - 2], jStride = k.strides[r - 1]
        let kBase = k.base + offsets[1][head]
        // Kᵀ's columns are the keys: rows of K where its head-size axis is contiguous, else columns of Kᵀ.
        let keys: SequenceRun
        if keyCount == 1 && total > 1 {
            keys = SequenceRun(base: kBase, ld: 0, count: total)
        } else if dStride == 1 || headSize == 1 {
            keys = SequenceRun(base: kBase, ld: jStride, count: total)
        } else {
            keys = SequenceRun(base: kBase, ld: dStride, count: total, transposed: true)
        }
        let ldq = q.dims[q.rank - 2] == 1 ? 0 : q.strides[q.rank - 2]
        return HeadOperands(q: q.base + offsets[0][head], ldq: ldq, keys: (keys, nil),
                            values: (SequenceRun(base: v.base + offsets[3][head], ld: v.strides[v.rank - 2], count: total), nil),
                            y: y + offsets[4][head], ldy: ldy)
    }

    func finishRow(head: Int, row: Int, _ s: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) throws {
        if let mask {
            let m = mask + offsets[2][head] + row * maskRowStride
            if maskBroadcastsColumns {
                let b = m[0]
                for j in 0..<total { s[j] += b }
            } else {
                for j in 0..<total { s[j] += m[j] }
            }
        }
        guard total > 0 else { return }
        softmaxRow(s, s, total, log: false)
        if zeroNaN { for j in 0..<total where s[j].isNaN { s[j] = 0 } }
    }
}
