import DLInferCore

/// The build of kernels/select.cl for `dtype`: none for float32 (the default), else -DS with the OpenCL C type its
/// integers are compared as.
private func selectDefines(_ dtype: DType, _ op: String) throws -> String {
    if dtype == .float32 { return "" }
    let types: [DType: String] = [.int8: "char", .int16: "short", .int32: "int", .int64: "long", .uint8: "uchar",
                                  .uint16: "ushort", .uint32: "uint", .uint64: "ulong"]
    guard let t = types[dtype] else { throw DLInferError(.internal, "\(op) on \(dtype) has no OpenCL kernel") }
    return "-DS=\(t)"
}

/// Bytes per value in the kernels' local memory: float32 values are held as float whatever their storage.
private func localBytes(_ dtype: DType) -> Int { dtype == .float32 ? 4 : dtype.byteSize }

/// ArgMax and ArgMin on float32 and the integer types, to int64 (kernels/select.cl): a work-group per contiguous
/// row, else a work-item per output. The same answer as the CPU's scan, NaN and ties included.
final class ArgMaxCL: Kernel {
    private let a: ArgMax, q: CLQueue

    /// The element types the kernels take (int64 and uint64 only on devices with 64-bit integers, which the int64
    /// output needs anyway).
    static let types: Set<DType> = [.float32, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64]

    init(_ a: ArgMax, _ q: CLQueue) { self.a = a; self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let axis = try a.normalizedAxis(rank: x.shape.count)
        let outer = x.shape[..<axis].reduce(1, *), n = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
        let y = try q.allocate(.int64, outputs.shape(0))
        guard y.count > 0 else { return [y] }
        guard n > 0 else { throw DLInferError.shape("\(a.opName) along an empty axis has no answer") }
        try requireInt32Indexing(x.shape)
        let defines = try selectDefines(x.dtype, a.opName)
        let isMin = CLArg.flag(a.min), last = CLArg.flag(a.selectLastIndex)
        if inner == 1 && n >= minWorkGroupRow {
            let k = try q.kernel("select", "arg_rows", defines: defines)
            let local = k.reductionGroupSize(n)
            try q.launch(k, global: [outer * local], local: [local],
                         [.buffer(x), .buffer(y), .int(n), isMin, last,
                          .local(local * localBytes(x.dtype)), .local(local * 4)])
        } else {
            let k = try q.kernel("select", "arg_cols", defines: defines)
            try q.launch1D(k, y.count, [.buffer(x), .buffer(y), .int(y.count), .int(n), .int(inner), isMin, last])
        }
        return [y]
    }
}

/// TopK on the types ArgMax takes (kernels/select.cl), k read on the host: one work-group per row, which sorts the
/// row in local memory when it fits, else selects the k results one reduction at a time. The CPU's order, NaN and
/// ties included, with or without `sorted` (sorted either way).
final class TopKCL: Kernel {
    private let a: TopK, q: CLQueue
    /// The local memory a sorted row may take (what every OpenCL device offers, at most).
    private static let sortBytes = 32 << 10

    init(_ a: TopK, _ q: CLQueue) { self.a = a; self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        guard inputs.host.count > 1, let kValue = inputs.host[1], kValue.count == 1 else {
            throw DLInferError.shape("K must have one element")
        }
        let axis = try a.normalizedAxis(rank: x.shape.count), n = x.shape[axis]
        let k = try TopK.k(kValue, axisSize: n)
        var shape = x.shape
        shape[axis] = k
        let values = try q.allocate(x.dtype, shape), indices = try q.allocate(.int64, shape)
        if values.count > 0 {
            try requireInt32Indexing(x.shape)
            let defines = try selectDefines(x.dtype, "TopK")
            let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
            let valueBytes = localBytes(x.dtype)
            var n2 = 1
            while n2 < n { n2 *= 2 }
            let common: [CLArg] = [.buffer(x), .buffer(values), .buffer(indices), .int(n), .int(inner), .int(k)]
            if n2 * (valueBytes + 4) <= min(TopKCL.sortBytes, Int(clamping: q.ctx.device.localMemory)) {
                let kernel = try q.kernel("select", "topk_sort", defines: defines)
                let local = kernel.reductionGroupSize(max(1, n2 / 2))
                try q.launch(kernel, global: [outer * inner * local], local: [local],
                             common + [.int(n2), .flag(a.largest), .local(n2 * valueBytes), .local(n2 * 4)])
            } else {
                let kernel = try q.kernel("select", "topk_rounds", defines: defines)
                let local = kernel.reductionGroupSize(n)
                try q.launch(kernel, global: [outer * inner * local], local: [local],
                             common + [.flag(a.largest), .local(local * valueBytes), .local(local * 4)])
            }
        }
        return [outputs.wanted(0) ? values : nil, outputs.wanted(1) ? indices : nil]
    }
}
