import DLInferCore

// Tile, DepthToSpace and SpaceToDepth are strided copies (CLStridedCopy) of any element type, as bits.

/// Each output axis d of size r*n is read as (repeat, i) with source strides (0, stride_d); repeats are read on the
/// host. Two copy dims per axis: inputs of rank 4 at most (placement checks), more when size-1 dims merge away.
final class TileCL: Kernel {
    private let q: CLQueue, copy: CLStridedCopy
    init(_ q: CLQueue) { self.q = q; copy = CLStridedCopy(q) }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        guard inputs.host.count > 1, let repeats = inputs.host[1]?.intValues() else { throw DLInferError.model("repeats must be int64") }
        try Tile.check(repeats, rank: x.shape.count)
        let shape = outputs.shape(0)
        guard shape.count == x.shape.count, x.shape.indices.allSatisfy({ d in
            let (v, overflow) = x.shape[d].multipliedReportingOverflow(by: repeats[d])
            return !overflow && v == shape[d]
        }) else { throw DLInferError.shape("Tile of \(x.shape) by \(repeats) does not give the inferred shape \(shape)") }
        let y = try q.allocate(x.dtype, shape)
        let src = x.shape.contiguousStrides, dst = shape.contiguousStrides
        var dims = [Int](), srcStrides = [Int](), dstStrides = [Int]()
        for d in x.shape.indices {
            dims += [repeats[d], x.shape[d]]
            srcStrides += [0, src[d]]
            dstStrides += [x.shape[d] * dst[d], dst[d]]
        }
        try copy.enqueue(x, strides: srcStrides, into: y, dstStrides: dstStrides, dims: dims)
        return [y]
    }
}

/// DepthToSpace/SpaceToDepth as the 6-D transpose `SpaceDepth.transposition` describes.
final class SpaceDepthCL: Kernel {
    private let a: SpaceDepth, q: CLQueue, copy: CLStridedCopy
    init(_ a: SpaceDepth, _ q: CLQueue) { self.a = a; self.q = q; copy = CLStridedCopy(q) }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let want = try a.inferTypes([TypedInput(type: x.type, value: nil)])[0].fixedShape!
        guard outputs.shape(0) == want else { throw DLInferError.shape("\(a.opName) of \(x.shape) gives \(want), not the inferred \(outputs.shape(0))") }
        let y = try q.allocate(x.dtype, want)
        let (shape, perm) = a.transposition(x.shape)
        let strides = shape.contiguousStrides
        let dims = perm.map { shape[$0] }
        try copy.enqueue(x, strides: perm.map { strides[$0] }, into: y, dstStrides: dims.contiguousStrides, dims: dims)
        return [y]
    }
}
