import DLInferCore

/// FusedAttention through the shared attention driver: every operand is read in place through its strides (folded
/// Transposes and broadcast batch dims included, `FusedAttentionLayout`), so nothing is copied, and the scores exist
/// one block of rows at a time. Per row it does exactly what the replaced nodes did: add the mask row, the Softmax
/// op's row softmax, and with `zeroNaN` a NaN probability becomes 0.
final class FusedAttentionKernel: Kernel {
    let attrs: FusedAttention
    init(_ a: FusedAttention) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let q = inputs[0]!, v = inputs[2]!
        var k = inputs[1]!
        let mask = inputs.count > 3 ? inputs[3] : nil
        let y = try outputs.make(0)
        var a = attrs
        var layout = try FusedAttentionLayout(a, q: q.shape, k: k.shape, v: v.shape, mask: mask?.shape, y: y.shape)
        // One key broadcast against a longer mask is read as a row repeated (stride 0), which needs its head-size
        // axis contiguous: copy it when a folded Transpose left it strided.
        var copied: Tensor? = nil
        if layout.keyStride == 0, layout.headSize > 1, layout.keyDimStride != 1 {
            let logical = (attrs.keyPerm ?? Array(0..<k.rank)).map { k.shape[$0] }
            let c = try outputs.make(.float32, logical)
            stridedCopy(src: UnsafeRawPointer(k.raw), offset: 0, strides: layout.keyStrides, shape: logical, dst: c.raw,
                        elementSize: 4)
            copied = c
            k = c
            a.keyPerm = nil
            layout = try FusedAttentionLayout(a, q: q.shape, k: k.shape, v: v.shape, mask: mask?.shape, y: y.shape)
        }
        let problem = ExportedAttention(
            layout: layout, alpha: attrs.alpha, zeroNaN: attrs.zeroNaN, q: UnsafePointer(q.pointer(Float.self)),
            k: UnsafePointer(k.pointer(Float.self)), v: UnsafePointer(v.pointer(Float.self)),
            mask: mask.map { UnsafePointer($0.pointer(Float.self)) }, y: y.pointer(Float.self))
        try withExtendedLifetime(copied) { try runAttention(problem) }
        return [y]
    }
}

/// The exported pattern's view for the attention driver. A query row or key broadcast against the mask (one row or
/// one key, more in the mask) is read with a row stride of 0.
private struct ExportedAttention: AttentionProblem {
    let layout: FusedAttentionLayout
    let alpha: Float
    let zeroNaN: Bool
    let q, k, v: UnsafePointer<Float>
    let mask: UnsafePointer<Float>?
    let y: UnsafeMutablePointer<Float>
    var heads: Int { layout.heads }
    var rows: Int { layout.rows }
    var total: Int { layout.total }
    var headSize: Int { layout.headSize }
    var vHeadSize: Int { layout.vHeadSize }
    var rowScratch: Int { 0 }

    func operands(_ head: Int) -> HeadOperands {
        let l = layout, offsets = l.offsets
        let kBase = k + offsets[1][head]
        // Kᵀ's columns are the keys: rows of K where its head-size axis is contiguous, else columns of Kᵀ.
        let keys: SequenceRun
        if l.keyStride == 0 {
            keys = SequenceRun(base: kBase, ld: 0, count: total)
        } else if l.keyDimStride == 1 || headSize == 1 {
            keys = SequenceRun(base: kBase, ld: l.keyStride, count: total)
        } else {
            keys = SequenceRun(base: kBase, ld: l.keyDimStride, count: total, transposed: true)
        }
        return HeadOperands(q: q + offsets[0][head], ldq: l.ldq, keys: (keys, nil),
                            values: (SequenceRun(base: v + offsets[3][head], ld: l.ldv, count: total), nil),
                            y: y + offsets[4][head], ldy: l.ldy)
    }

    func finishRow(head: Int, row: Int, _ s: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) throws {
        if let mask {
            let m = mask + layout.offsets[2][head] + row * layout.maskRowStride
            if layout.maskBroadcastsColumns {
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

extension CPUKernelFactory {
    func visit(_ a: FusedAttention, _ _: Node, _ _: Graph) -> HostKernel {
        FusedAttentionKernel(a)
    }
}
