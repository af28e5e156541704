import DLInferCore

/// FusedAttention: one work-group per (head, query row), every operand read in place through the layout the CPU
/// kernel uses too (`FusedAttentionLayout`). The scores of at most `maxScores` values exist at once: longer
/// problems launch in chunks of rows.
final class FusedAttentionCL: Kernel {
    private let a: FusedAttention, q: CLQueue, k: CLKernel
    static let maxScores = 1 << 24
    /// The per-head offsets of the last shapes seen: uploading them is a blocking write, so not once per run.
    private var offsets: (shapes: [[Int]], tensor: DeviceTensor)?

    init(_ a: FusedAttention, _ q: CLQueue) throws {
        self.a = a; self.q = q
        k = try q.kernel("attention", "fused_attention")
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let qt = inputs[0], kt = inputs[1], vt = inputs[2]
        let mask = inputs.count > 3 ? inputs.device[3] : nil
        let y = try q.allocate(.float32, outputs.shape(0))
        let l = try FusedAttentionLayout(a, q: qt.shape, k: kt.shape, v: vt.shape, mask: mask?.shape, y: y.shape)
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(qt.shape, kt.shape, vt.shape, y.shape, mask?.shape ?? [])
        let pairs = l.heads * l.rows, width = Swift.max(l.total, 1)
        let chunk = Swift.max(1, Swift.min(pairs, FusedAttentionCL.maxScores / width))
        try requireInt32Indexing([chunk, width], [l.heads, 5])
        let shapes = [qt.shape, kt.shape, vt.shape, mask?.shape ?? [-1], y.shape]
        if self.offsets?.shapes != shapes {
            self.offsets = (shapes, try q.upload(Tensor(l.offsets.joined().map { Int32($0) }, shape: [5 * l.heads])))
        }
        let offsets = self.offsets!.tensor
        let scores = try q.scratch([chunk * width])
        let local = k.reductionGroupSize(Swift.max(l.total, l.vHeadSize))
        // Q stands in for an absent mask.
        let buffers: [CLArg] = [.buffer(qt), .buffer(kt), .buffer(vt), .buffer(mask ?? qt), .buffer(y), .buffer(offsets), .buffer(scores)]
        for first in stride(from: 0, to: pairs, by: chunk) {
            let groups = Swift.min(chunk, pairs - first)
            try q.launch(k, global: [groups * local], local: [local], buffers + l.sizeArgs + l.strideArgs(hasMask: mask != nil)
                + [.float(a.alpha), .flag(a.zeroNaN), .int(first), .local(local * 4)])
        }
        // The queue is in order: whoever gets this buffer from the pool next runs after the last launch.
        q.recycle(scores.buffer)
        return [y]
    }
}

extension FusedAttentionLayout {
    /// fused_attention's sizes: heads, query rows, keys, the head size of Q and Kᵀ, and V's.
    var sizeArgs: [CLArg] { [.int(heads), .int(rows), .int(total), .int(headSize), .int(vHeadSize)] }

    /// fused_attention's strides: Q's rows, Kᵀ's keys and head-size elements, V's rows, the mask's rows and columns
    /// (the column stride 0 or 1) and whether there is a mask, Y's rows.
    func strideArgs(hasMask: Bool) -> [CLArg] {
        [.int(ldq), .int(keyStride), .int(keyDimStride), .int(ldv), .int(maskRowStride), .flag(!maskBroadcastsColumns),
         .flag(hasMask), .int(ldy)]
    }
}
