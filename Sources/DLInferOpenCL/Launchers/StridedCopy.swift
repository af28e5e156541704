import DLInferCore

/// Whether the data-movement kernels can carry `dtype` (as bits): every type but string.
func movableOnDevice(_ dtype: DType) -> Bool { dtype != .string }

/// The build define that makes kernels/datamovement.cl move the elements of `t` as stored: none for float (the
/// default), else an unsigned type of the element's size (float32 stored as half moves as ushort).
func bitsDefine(_ t: DeviceTensor) -> String {
    if t.stored == .float32 { return "" }
    return ["", "-DT=uchar", "-DT=ushort", "", "-DT=uint", "", "", "", "-DT=uint2"][t.stored.byteSize]
}

/// The copy every data-movement op goes through (Concat, Split, Slice, Transpose, Expand): element
/// `dst[dstOffset + Σ i_k * dstStrides_k] = src[srcOffset + Σ i_k * srcStrides_k]` for every index of `dims`.
/// Dims of size 1 are dropped and dims that stay adjacent on both sides merged, so most copies become one
/// clEnqueueCopyBuffer (contiguous), a row copy (Concat, Split) or a batch of 2-D transpositions, which go through
/// local-memory tiles.
final class CLStridedCopy {
    private let q: CLQueue
    static let tile = 32

    init(_ q: CLQueue) { self.q = q }

    struct Dim { var size, src, dst: Int }

    /// `dims` with size-1 dims dropped and mergeable neighbours merged, outermost first.
    static func merge(dims: [Int], src: [Int], dst: [Int]) -> [Dim] {
        let m = mergeDims(dims, strides: [src, dst])
        return m.dims.indices.map { Dim(size: m.dims[$0], src: m.strides[0][$0], dst: m.strides[1][$0]) }
    }

    /// `x` broadcast (numpy rules) to `shape` in a new buffer; `x` itself when it already has that shape.
    func broadcast(_ x: DeviceTensor, to shape: [Int]) throws -> DeviceTensor {
        if x.shape == shape { return x }
        let padded = Array(repeating: 1, count: shape.count - x.shape.count) + x.shape
        let strides = zip(padded, padded.contiguousStrides).enumerated().map { d, p in p.0 == 1 && shape[d] != 1 ? 0 : p.1 }
        let y = try q.allocate(x.dtype, shape)
        try enqueue(x, strides: strides, into: y, dstStrides: shape.contiguousStrides, dims: shape)
        return y
    }

    func enqueue(_ src: DeviceTensor, offset srcOffset: Int = 0, strides srcStrides: [Int], into dst: DeviceTensor,
                 dstOffset: Int = 0, dstStrides: [Int], dims: [Int]) throws {
        guard !dims.contains(0) else { return }
        try requireInt32Indexing(src.shape, dst.shape)
        let merged = CLStridedCopy.merge(dims: dims, src: srcStrides, dst: dstStrides)
        guard merged.count <= 8 else {
            throw DLInferError(.unsupported, "a copy over \(merged.count) non-mergeable dims (OpenCL kernels take at most 8)")
        }
        let size = src.stored.byteSize
        if merged.count <= 1, merged.allSatisfy({ $0.src == 1 && $0.dst == 1 }) {
            let n = merged.first?.size ?? 1
            try q.copy(src, to: dst, srcOffset: srcOffset * size, dstOffset: dstOffset * size, bytes: n * size)
            return
        }
        if let inner = merged.last, inner.dst == 1, inner.src != 1,
           let k = merged.dropLast().lastIndex(where: { $0.src == 1 }),
           try transposeTiles(src, srcOffset, dst, dstOffset, merged, k) {
            return
        }
        let kernel = try q.kernel("datamovement", "strided_copy", defines: "-DRANK=\(merged.count) \(bitsDefine(src))")
        let n = dims.reduce(1, *)
        try q.launch1D(kernel, n, [.buffer(src), .int(srcOffset), .buffer(dst), .int(dstOffset), .int(n),
                                   .int8(BroadcastLayout.pad(merged.map(\.size), with: 1)),
                                   .int8(BroadcastLayout.pad(merged.map(\.src), with: 0)),
                                   .int8(BroadcastLayout.pad(merged.map(\.dst), with: 0))])
    }

    /// The output's innermost dim reads the source with a stride while dim `k` is contiguous in the source: each
    /// (dim k x innermost) plane is transposed through tiles, one plane per index of the remaining dims.
    /// False when the device's work-groups are too small for a tile row.
    private func transposeTiles(_ src: DeviceTensor, _ srcOffset: Int, _ dst: DeviceTensor, _ dstOffset: Int,
                                _ merged: [Dim], _ k: Int) throws -> Bool {
        var rest = merged
        let inner = rest.removeLast(), plane = rest.remove(at: k)
        let t = CLStridedCopy.tile
        let kernel = try q.kernel("datamovement", "transpose_tiles", defines: "-DRANK=\(rest.count) -DTILE=\(t) \(bitsDefine(src))")
        let rows = min(8, kernel.maxWorkGroupSize / t)
        guard rows >= 1 else { return false }
        let restCount = rest.reduce(1) { $0 * $1.size }
        try q.launch(kernel, global: [inner.size, (plane.size + t - 1) / t * rows, restCount], local: [t, rows, 1],
                     [.buffer(src), .buffer(dst), .int(plane.size), .int(inner.size), .int(inner.src), .int(plane.dst),
                      .int8(BroadcastLayout.pad(rest.map(\.size), with: 1)),
                      .int8(BroadcastLayout.pad(rest.map(\.src), with: 0)),
                      .int8(BroadcastLayout.pad(rest.map(\.dst), with: 0)),
                      .int(srcOffset), .int(dstOffset)])
        return true
    }
}
