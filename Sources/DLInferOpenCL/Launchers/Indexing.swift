import DLInferCore

// GatherElements, ScatterElements and ScatterND (kernels/indexing.cl). The indices are read on the host, as
// Gather's: there they are checked (an index out of range fails the run, negative ones count from the end) and
// turned into element offsets, so the kernels only move data. Scatter updates are grouped by destination in the
// CPU's order, so repeated indices combine (or replace: the last wins) exactly as on the CPU.

/// Offset into data (contiguous `strides`) of every position of `shape` (row-major), its coordinate along `axis`
/// replaced by `index` of that position.
private func elementOffsets(_ shape: [Int], strides: [Int], axis: Int, _ index: [Int]) -> [Int32] {
    var out = [Int32]()
    out.reserveCapacity(index.count)
    var coord = [Int](repeating: 0, count: shape.count), base = 0
    for i in index.indices {
        out.append(Int32(truncatingIfNeeded: base + index[i] * strides[axis]))
        var d = shape.count - 1
        while d >= 0 {
            coord[d] += 1
            if d != axis { base += strides[d] }
            if coord[d] < shape[d] { break }
            if d != axis { base -= strides[d] * shape[d] }
            coord[d] = 0
            d -= 1
        }
    }
    return out
}

/// scatter_reduce's combinations (SCATTER_*); a reduction of none replaces (scatter_replace).
enum ScatterCode: Int32, KernelCode {
    static let prefix = "SCATTER"
    case add, mul, max, min

    init?(_ r: ScatterReduction) {
        switch r {
        case .none: return nil
        case .add: self = .add
        case .mul: self = .mul
        case .max: self = .max
        case .min: self = .min
        }
    }
}

/// Applies updates (each a run of `slice` elements) at `dest` offsets of `y`: grouped by destination (stable, so
/// each group keeps the updates' order), one work-item per element of a group.
private func scatter(_ q: CLQueue, _ y: DeviceTensor, _ updates: DeviceTensor, dest: [Int], slice: Int,
                     reduction: ScatterReduction) throws {
    guard !dest.isEmpty, slice > 0 else { return }
    let order = dest.indices.sorted { dest[$0] < dest[$1] || (dest[$0] == dest[$1] && $0 < $1) }
    var starts = [Int32](), base = [Int32]()
    for (k, u) in order.enumerated() where k == 0 || dest[u] != dest[order[k - 1]] {
        starts.append(Int32(k))
        base.append(Int32(dest[u]))
    }
    starts.append(Int32(order.count))
    let groups = base.count
    let o = try q.upload(Tensor(order.map { Int32($0) }, shape: [order.count]))
    let s = try q.upload(Tensor(starts, shape: [starts.count])), b = try q.upload(Tensor(base, shape: [groups]))
    let args: [CLArg] = [.buffer(y), .buffer(updates), .buffer(o), .buffer(s), .buffer(b), .int(groups), .int(slice)]
    if let code = ScatterCode(reduction) {
        guard y.dtype == .float32 else { throw DLInferError(.internal, "scatter reduction on \(y.dtype) has no OpenCL kernel") }
        try q.launch1D(try q.kernel("indexing", "scatter_reduce"), groups * slice, args + [.code(code)])
    } else {
        try q.launch1D(try q.kernel("indexing", "scatter_replace", defines: bitsDefine(y)), groups * slice, args)
    }
    // The in-order queue runs the kernel before anything reuses these.
    for t in [o, s, b] { q.recycle(t.buffer) }
}

/// `data` copied into a new buffer (scatters write their result over a copy).
private func copied(_ q: CLQueue, _ data: DeviceTensor) throws -> DeviceTensor {
    let y = try q.allocate(data.dtype, data.shape)
    let strides = data.shape.contiguousStrides
    try CLStridedCopy(q).enqueue(data, strides: strides, into: y, dstStrides: strides, dims: data.shape)
    return y
}

final class GatherElementsCL: Kernel {
    private let a: GatherElements, q: CLQueue
    init(_ a: GatherElements, _ q: CLQueue) { self.a = a; self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let data = inputs[0]
        guard let indices = inputs.host[1] else { throw DLInferError.model("GatherElements needs indices") }
        let axis = try elementsAxis(a.axis, data: data.shape.map { .fixed($0) }, indices: indices.shape.map { .fixed($0) }, "indices")
        guard outputs.shape(0) == indices.shape else {
            throw DLInferError.shape("GatherElements gives \(indices.shape), not the inferred \(outputs.shape(0))")
        }
        let index = try normalizedIndices(indices, bounds: [data.shape[axis]])
        let y = try q.allocate(data.dtype, indices.shape)
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(data.shape, indices.shape)
        let offsets = elementOffsets(indices.shape, strides: data.shape.contiguousStrides, axis: axis, index)
        let src = try q.upload(Tensor(offsets, shape: [offsets.count]))
        try q.launch1D(try q.kernel("indexing", "gather_offsets", defines: bitsDefine(data)), y.count,
                       [.buffer(data), .buffer(src), .buffer(y), .int(y.count)])
        q.recycle(src.buffer)
        return [y]
    }
}

final class ScatterElementsCL: Kernel {
    private let a: ScatterElements, q: CLQueue
    init(_ a: ScatterElements, _ q: CLQueue) { self.a = a; self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let data = inputs[0], updates = inputs[2]
        guard let indices = inputs.host[1] else { throw DLInferError.model("\(a.opName) needs indices") }
        guard updates.shape == indices.shape else {
            throw DLInferError.shape("updates \(updates.shape) must have the shape of indices \(indices.shape)")
        }
        let axis = try elementsAxis(a.axis, data: data.shape.map { .fixed($0) }, indices: indices.shape.map { .fixed($0) }, "indices")
        let index = try normalizedIndices(indices, bounds: [data.shape[axis]])
        try requireInt32Indexing(data.shape, indices.shape)
        let y = try copied(q, data)
        let dest = elementOffsets(indices.shape, strides: data.shape.contiguousStrides, axis: axis, index).map { Int($0) }
        try scatter(q, y, updates, dest: dest, slice: 1, reduction: a.reduction)
        return [y]
    }
}

final class ScatterNDCL: Kernel {
    private let a: ScatterND, q: CLQueue
    init(_ a: ScatterND, _ q: CLQueue) { self.a = a; self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let data = inputs[0], updates = inputs[2]
        guard let indices = inputs.host[1] else { throw DLInferError.model("ScatterND needs indices") }
        try checkND(data: data.shape.map { .fixed($0) }, indices: indices.shape.map { .fixed($0) }, batchDims: 0, "ScatterND")
        let q = indices.shape.last!
        let want = Array(indices.shape.dropLast()) + Array(data.shape[q...])
        guard updates.shape == want else {
            throw DLInferError.shape("updates \(updates.shape) must have shape \(want) (indices.shape[:-1] + data.shape[q:])")
        }
        let index = try normalizedIndices(indices, bounds: Array(data.shape[..<q]))
        try requireInt32Indexing(data.shape, updates.shape)
        let y = try copied(self.q, data)
        let strides = data.shape.contiguousStrides, tuples = indices.shape.dropLast().reduce(1, *)
        let dest = (0..<tuples).map { t in (0..<q).reduce(0) { $0 + index[t * q + $1] * strides[$1] } }
        try scatter(self.q, y, updates, dest: dest, slice: data.shape[q...].reduce(1, *), reduction: a.reduction)
        return [y]
    }
}

/// GatherND with its indices on the device (the detectors' NonZero → GatherND chains never leave it): the kernel
/// wraps negative indices and reports one out of range as a fault that fails the run.
final class GatherNDCL: Kernel {
    private let a: GatherND, q: CLQueue
    init(_ a: GatherND, _ q: CLQueue) { self.a = a; self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let data = inputs[0], indices = inputs[1], b = a.batchDims
        try checkND(data: data.shape.map { .fixed($0) }, indices: indices.shape.map { .fixed($0) }, batchDims: b, "GatherND")
        let q = indices.shape.last!
        let shape = Array(indices.shape.dropLast()) + Array(data.shape[(b + q)...])
        guard shape == outputs.shape(0) else { throw DLInferError.shape("GatherND gives \(shape), not the inferred \(outputs.shape(0))") }
        let y = try self.q.allocate(data.dtype, shape)
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(data.shape, indices.shape, shape)
        try requireAtMost8Dims(data.shape, op: "GatherND")
        let strides = data.shape.contiguousStrides
        let slice = data.shape[(b + q)...].reduce(1, *), tuples = indices.shape[b..<(indices.shape.count - 1)].reduce(1, *)
        let dims = Array(data.shape[b..<(b + q)]), axisStrides = Array(strides[b..<(b + q)])
        let pad = { (v: [Int]) in v + Array(repeating: 0, count: 8 - v.count) }
        try self.q.launch1D(try self.q.kernel("indexing", "gather_nd", defines: bitsDefine(data)), y.count,
                            [.buffer(data), .buffer(indices), .buffer(y), .int(y.count), .int(slice), .int(q), .int(tuples),
                             .int(b == 0 ? 0 : strides[b - 1]), .int8(pad(dims)), .int8(pad(axisStrides)),
                             .buffer(try self.q.faults())])
        return [y]
    }
}
