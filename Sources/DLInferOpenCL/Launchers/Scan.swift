import DLInferCore

/// CumSum and CumProd (kernels/scan.cl) on float32 and on 32- and 64-bit integers (signed or not, wrapping as on
/// the CPU); the axis is read on the host. One work-item per column along the axis, or, for long contiguous rows
/// that are too few to fill the device that way, a work-group per row.
final class CumulativeCL: Kernel {
    private let a: Cumulative, q: CLQueue

    /// The element types the kernel takes (the 64-bit ones only on devices with 64-bit integers).
    static let types: Set<DType> = [.float32, .int32, .uint32, .int64, .uint64]
    /// Rows at least this long, fewer than `manyRows` of them, are scanned by a work-group each.
    private static let longRow = 256, manyRows = 4096

    init(_ a: Cumulative, _ q: CLQueue) { self.a = a; self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        guard inputs.host.count > 1, let axisValue = inputs.host[1] else { throw DLInferError.model("\(a.opName) needs an axis") }
        let axis = try a.axis(axisValue, rank: x.shape.count)
        let y = try q.allocate(x.dtype, x.shape)
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(x.shape)
        let defines: String
        switch x.dtype {
        case .float32: defines = ""
        case .int32, .uint32: defines = "-DS=uint"
        case .int64, .uint64: defines = "-DS=ulong"
        default: throw DLInferError(.internal, "\(a.opName) on \(x.dtype) has no OpenCL kernel")
        }
        let outer = x.shape[..<axis].reduce(1, *), n = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
        let flags: [CLArg] = [.flag(a.kind == .prod), .flag(a.exclusive), .flag(a.reverse)]
        if inner == 1 && n >= CumulativeCL.longRow && outer < CumulativeCL.manyRows {
            let k = try q.kernel("scan", "cumulative_rows", defines: defines)
            let local = k.reductionGroupSize(n)
            let accBytes = x.dtype == .float32 ? 4 : x.dtype.byteSize
            try q.launch(k, global: [outer * local], local: [local],
                         [.buffer(x), .buffer(y), .int(n)] + flags + [.local(local * accBytes)])
            return [y]
        }
        let k = try q.kernel("scan", "cumulative", defines: defines)
        try q.launch1D(k, outer * inner, [.buffer(x), .buffer(y), .int(outer * inner), .int(n), .int(inner)] + flags)
        return [y]
    }
}
