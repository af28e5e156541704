import DLInferCore

// NonZero and NonMaxSuppression (kernels/detection.cl): outputs whose size depends on the data. Each counts on the
// device and reads back one int, the total, to size its output (`CLQueue.readSizes`); nothing else leaves the device.

/// The chunks NonZero splits n elements into (one work-item each): enough work-items to fill a GPU, few enough
/// counts for the one-work-item scan.
private func nonZeroChunks(_ n: Int) -> (count: Int, size: Int) {
    let size = Swift.max(64, (n + 8191) / 8192)
    return ((n + size - 1) / size, size)
}

/// Counts to exclusive starts and their total, read back.
private func scanAndReadTotal(_ q: CLQueue, _ counts: DeviceTensor) throws -> (starts: DeviceTensor, total: Int) {
    let starts = try q.allocate(.int32, counts.shape), total = try q.allocate(.int32, [1])
    try q.launch(try q.kernel("detection", "exclusive_scan"), global: [1], [.buffer(counts), .buffer(starts), .buffer(total), .int(counts.count)])
    let n = try q.readSizes(total)[0]
    q.recycle(total.buffer)
    return (starts, n)
}

/// NonZero of any element type the device holds: float bits with the sign masked (so -0 is zero, NaN is not).
final class NonZeroCL: Kernel {
    private let q: CLQueue
    init(_ q: CLQueue) { self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0], shape = x.shape.isEmpty ? [1] : x.shape
        try requireInt32Indexing(shape)
        try requireAtMost8Dims(shape, op: "NonZero")
        let floatMask: Bool
        switch x.dtype {
        case .float32, .float16, .bfloat16, .float64: floatMask = true
        default: floatMask = false
        }
        let bits = ["", "uchar", "ushort", "", "uint", "", "", "", "ulong"][x.stored.byteSize]
        let mask = floatMask ? "0x7" + String(repeating: "F", count: 2 * x.stored.byteSize - 1) : "0x" + String(repeating: "F", count: 2 * x.stored.byteSize)
        let defines = "-DT=\(bits) -DMASK=((\(bits))\(mask)ul)"
        let (chunks, size) = nonZeroChunks(x.count)
        guard x.count > 0 else { return [try q.allocate(.int64, [shape.count, 0])] }
        let counts = try q.allocate(.int32, [chunks])
        try q.launch1D(try q.kernel("detection", "nonzero_count", defines: defines), chunks,
                       [.buffer(x), .buffer(counts), .int(x.count), .int(size)])
        let (starts, total) = try scanAndReadTotal(q, counts)
        q.recycle(counts.buffer)
        let y = try q.allocate(.int64, [shape.count, total])
        if total > 0 {
            try requireInt32Indexing(y.shape)
            try q.launch1D(try q.kernel("detection", "nonzero_write", defines: defines), chunks,
                           [.buffer(x), .buffer(starts), .buffer(y), .int(x.count), .int(size), .int(total),
                            .int(shape.count), .int8(BroadcastLayout.pad(shape, with: 1))])
        }
        q.recycle(starts.buffer)
        return [y]
    }
}

/// NonMaxSuppression on float32 boxes and scores; max_output_boxes_per_class and the thresholds are read on the host.
/// Each (batch, class) pair's candidates are put in visiting order by a bitonic sort of its row (padded to a power
/// of two), then a work-group per pair walks them greedily: O(candidates × kept / work-group).
final class NonMaxSuppressionCL: Kernel {
    private let a: NonMaxSuppression, q: CLQueue
    init(_ a: NonMaxSuppression, _ q: CLQueue) { self.a = a; self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let boxes = inputs[0], scores = inputs[1]
        let (maxOutput, iou, threshold) = try NonMaxSuppression.parameters(boxes: boxes.shape, scores: scores.shape, inputs.host)
        let (classes, n) = (scores.shape[1], scores.shape[2]), pairs = scores.shape[0] * classes
        guard maxOutput > 0, pairs * n > 0 else { return [try q.allocate(.int64, [0, 3])] }
        let limit = Int(Swift.min(maxOutput, Int64(n)))
        try requireInt32Indexing(boxes.shape, scores.shape, [pairs, limit], [pairs * limit, 3])

        var width = 1
        while width < n { width *= 2 }
        try requireInt32Indexing([pairs, width])
        let order = try q.allocate(.int32, [pairs, width]), counts = try q.allocate(.int32, [pairs])
        try q.launch1D(try q.kernel("unpool", "fill_int"), pairs, [.buffer(counts), .int(pairs), .int(0)])
        try q.launch1D(try q.kernel("detection", "nms_candidates"), pairs * width,
                       [.buffer(scores), .buffer(order), .buffer(counts), .int(pairs), .int(n), .int(width),
                        .flag(threshold != nil), .float(threshold ?? 0)])
        let step = try q.kernel("detection", "nms_sort_step")
        var k = 2
        while k <= width {
            var j = k / 2
            while j > 0 {
                try q.launch1D(step, pairs * width, [.buffer(scores), .buffer(order), .int(pairs), .int(n), .int(width), .int(k), .int(j)])
                j /= 2
            }
            k *= 2
        }
        let kept = try q.allocate(.int32, [pairs, limit]), keptCounts = try q.allocate(.int32, [pairs])
        let greedy = try q.kernel("detection", "nms_greedy")
        let group = Swift.min(64, greedy.maxWorkGroupSize)
        try q.launch(greedy, global: [pairs * group], local: [group],
                     [.buffer(boxes), .buffer(order), .buffer(counts), .buffer(kept), .buffer(keptCounts), .int(n),
                      .int(width), .int(classes), .int(limit), .float(iou), .flag(a.centerPointBox)])
        let (starts, total) = try scanAndReadTotal(q, keptCounts)
        let y = try q.allocate(.int64, [total, 3])
        if total > 0 {
            try q.launch1D(try q.kernel("detection", "nms_write"), pairs * limit,
                           [.buffer(kept), .buffer(keptCounts), .buffer(starts), .buffer(y), .int(pairs), .int(classes), .int(limit)])
        }
        for t in [order, counts, kept, keptCounts, starts] { q.recycle(t.buffer) }
        return [y]
    }
}

/// RoiAlign with the ROIs and batch indices on the device (a detector's proposals never leave it): one work-item per
/// output element; a bad batch index or an absurd ROI is a fault that fails the run, as the CPU refuses them.
final class RoiAlignCL: Kernel {
    private let a: RoiAlign, q: CLQueue
    init(_ a: RoiAlign, _ q: CLQueue) { self.a = a; self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0], rois = inputs[1], batch = inputs[2]
        guard x.shape.count == 4, rois.shape.count == 2, rois.shape[1] == 4, batch.shape == [rois.shape[0]] else {
            throw DLInferError.shape("X \(x.shape), rois \(rois.shape) and batch_indices \(batch.shape) must be [N, C, H, W], [R, 4] and [R]")
        }
        let shape = [rois.shape[0], x.shape[1], a.outputHeight, a.outputWidth]
        guard shape == outputs.shape(0) else { throw DLInferError.shape("RoiAlign gives \(shape), not the inferred \(outputs.shape(0))") }
        let y = try q.allocate(.float32, shape)
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(x.shape, shape)
        try q.launch1D(try q.kernel("detection", "roi_align"), y.count,
                       [.buffer(x), .buffer(rois), .buffer(batch), .buffer(y), .int(y.count), .int(x.shape[0]), .int(x.shape[1]),
                        .int(x.shape[2]), .int(x.shape[3]), .int(a.outputHeight), .int(a.outputWidth), .int(a.samplingRatio),
                        .float(a.spatialScale), .flag(a.halfPixel), .flag(a.mode == .max), .buffer(try q.faults())])
        return [y]
    }
}
