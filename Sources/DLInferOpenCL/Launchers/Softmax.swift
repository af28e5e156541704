import DLInferCore

/// Rows shorter than this are reduced by one work-item each (the column kernels with inner = 1): a work-group per
/// row would leave most of a 32-wide warp idle, while a warp of work-items on adjacent short rows still reads whole
/// cache lines.
let minWorkGroupRow = 32

extension CLKernel {
    /// The work-group size for a work-group-wide reduction over `n` values: a power of two (group_reduce needs one),
    /// at most 256, no larger than `n` needs and within what this kernel can be launched with.
    func reductionGroupSize(_ n: Int) -> Int {
        var size = 1
        while size < 256, size < n, size * 2 <= maxWorkGroupSize { size *= 2 }
        return size
    }
}

/// Softmax and LogSoftmax over the (outer, n, inner) groups of the op's layout (the opset < 13 flattened tail or a
/// single axis): one work-group per contiguous row, or one work-item per group when the groups are strided or short.
final class SoftmaxCL: Kernel {
    private let a: Softmax, q: CLQueue, rows: CLKernel, cols: CLKernel
    init(_ a: Softmax, _ q: CLQueue) throws {
        self.a = a; self.q = q
        rows = try q.kernel("softmax", "softmax_rows")
        cols = try q.kernel("softmax", "softmax_cols")
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let y = try q.allocate(.float32, x.shape)
        if x.count == 0 { return [y] }
        try requireInt32Indexing(x.shape)
        let (outer, n, inner) = try a.layout(x.shape)
        let log = CLArg.flag(a.log)
        if inner == 1 && n >= minWorkGroupRow {
            let local = rows.reductionGroupSize(n)
            try q.launch(rows, global: [outer * local], local: [local], [.buffer(x), .buffer(y), .int(n), log, .local(local * 4)])
        } else {
            try q.launch1D(cols, outer * inner, [.buffer(x), .buffer(y), .int(outer * inner), .int(n), .int(inner), log])
        }
        return [y]
    }
}
