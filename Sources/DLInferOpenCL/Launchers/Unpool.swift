import DLInferCore

/// MaxUnpool on float32 with int64 indices (kernels/unpool.cl); output_shape is read on the host. The indices are
/// checked on the device: an index outside the unpooled tensor is never written through, and sets a fault that
/// fails the run at its next read-back.
final class MaxUnpoolCL: Kernel {
    private let a: MaxUnpool, q: CLQueue

    init(_ a: MaxUnpool, _ q: CLQueue) { self.a = a; self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0], indices = inputs[1]
        guard indices.shape == x.shape else { throw DLInferError.shape("I \(indices.shape) must have the shape of X \(x.shape)") }
        let unpooled = try a.unpooledDims(x.shape.map { .fixed($0) }).map { $0.value! }
        var shape = unpooled
        if inputs.host.count > 2, let given = inputs.host[2] {
            guard let target = given.intValues() else { throw DLInferError.model("output_shape must be int64") }
            shape = try a.outputShape(target, unpooled: unpooled.map { .fixed($0) })
        }
        guard shape == outputs.shape(0) else {
            throw DLInferError.shape("MaxUnpool gives \(shape), not the inferred \(outputs.shape(0))")
        }
        let y = try q.allocate(.float32, shape)
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(x.shape, shape)
        try requireAtMost8Dims(shape, op: "MaxUnpool")
        let total = unpooled.elementCount
        try q.launch1D(try q.kernel("reduce", "fill_f32"), y.count, [.buffer(y), .int(y.count), .float(0)])
        guard x.count > 0 else { return [y] }
        let winner = try q.allocate(.int32, [total])
        try q.launch1D(try q.kernel("unpool", "fill_int"), total, [.buffer(winner), .int(total), .int(-1)])
        try q.launch1D(try q.kernel("unpool", "unpool_claim"), x.count,
                       [.buffer(indices), .buffer(winner), .buffer(try q.faults()), .int(x.count), .int(total)])
        try q.launch1D(try q.kernel("unpool", "unpool_write"), x.count,
                       [.buffer(x), .buffer(indices), .buffer(winner), .buffer(y), .int(x.count), .int(total),
                        .int8(BroadcastLayout.pad(unpooled, with: 1)), .int8(BroadcastLayout.pad(shape.contiguousStrides, with: 0))])
        q.recycle(winner.buffer)
        return [y]
    }
}
