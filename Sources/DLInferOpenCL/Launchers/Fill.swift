import DLInferCore

/// ConstantOfShape (kernels/datamovement.cl): the shape is read on the host, the value uploaded once per session.
final class ConstantOfShapeCL: Kernel {
    private let a: ConstantOfShape, q: CLQueue
    private var value: DeviceTensor?
    init(_ a: ConstantOfShape, _ q: CLQueue) { self.a = a; self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        guard let shape = inputs.host[0]?.intValues(), shape == outputs.shape(0) else {
            throw DLInferError.shape("ConstantOfShape's shape does not match the inferred \(outputs.shape(0))")
        }
        let y = try q.allocate(a.value.dtype, shape)
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(shape)
        if value == nil { value = try q.upload(a.value.reshaped([1])) }
        try q.launch1D(try q.kernel("datamovement", "fill_value", defines: bitsDefine(value!)), y.count, [.buffer(value!), .buffer(y), .int(y.count)])
        return [y]
    }
}

/// Range on float32, int32 and int64 (kernels/range.cl); start, limit and delta are read on the host.
final class RangeCL: Kernel {
    private let q: CLQueue
    /// The element types it makes.
    static let types: Set<DType> = [.float32, .int32, .int64]
    init(_ q: CLQueue) { self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        guard let start = inputs.host[0], let limit = inputs.host[1], let delta = inputs.host[2] else {
            throw DLInferError.model("Range needs start, limit and delta")
        }
        for t in [start, limit, delta] where t.count != 1 { throw DLInferError.shape("Range takes scalars, got shape \(t.shape)") }
        let n = try Arange.count(start, limit, delta)
        guard [n] == outputs.shape(0) else { throw DLInferError.shape("Range gives [\(n)], not the inferred \(outputs.shape(0))") }
        let y = try q.allocate(start.dtype, [n])
        guard n > 0 else { return [y] }
        try requireInt32Indexing([n])
        if start.dtype == .float32 {
            try q.launch1D(try q.kernel("range", "range_f32"), n,
                           [.buffer(y), .int(n), .float(start.pointer(Float.self)[0]), .float(delta.pointer(Float.self)[0])])
            return [y]
        }
        guard let s = start.intValues()?.first, let d = delta.intValues()?.first else {
            throw DLInferError(.internal, "Range on \(start.dtype) has no OpenCL kernel")
        }
        func halves(_ v: Int) -> [CLArg] {
            let bits = UInt64(bitPattern: Int64(v))
            return [.int(Int(Int32(truncatingIfNeeded: bits))), .int(Int(Int32(truncatingIfNeeded: bits >> 32)))]
        }
        try q.launch1D(try q.kernel("range", "range_int", defines: start.dtype == .int64 ? "-DS=long" : "-DS=int"), n,
                       [.buffer(y), .int(n)] + halves(s) + halves(d))
        return [y]
    }
}
