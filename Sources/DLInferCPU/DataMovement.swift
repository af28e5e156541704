import DLInferCore

// Byte-moving loops shared by the ops that do not compute (Concat, Split, Slice, Transpose, Gather): they work on
// raw elements of 1, 2, 4 or 8 bytes, so one routine serves every dtype.

/// Roughly how many bytes one thread should move before another thread is worth waking.
private let bytesPerTask = 1 << 15

/// Copies `count` blocks of `bytes` bytes from `src + i * srcStride` to `dst + i * dstStride` (strides in bytes), in
/// parallel. A few large blocks are cut into pieces so that all threads share them.
func copyBlocks(count: Int, bytes: Int, src: UnsafeRawPointer, srcStride: Int, dst: UnsafeMutableRawPointer, dstStride: Int) {
    guard count > 0, bytes > 0 else { return }
    switch bytes {
    // Tiny blocks (a column of a concat along the last axis): a typed move beats a memcpy call.
    case 1: return copyElements(UInt8.self, count, src, srcStride, dst, dstStride)
    case 2: return copyElements(UInt16.self, count, src, srcStride, dst, dstStride)
    case 4: return copyElements(UInt32.self, count, src, srcStride, dst, dstStride)
    case 8: return copyElements(UInt64.self, count, src, srcStride, dst, dstStride)
    default: break
    }
    let pieces = count >= Threads.count ? 1 : Swift.max(1, Swift.min((Threads.count + count - 1) / count, bytes / bytesPerTask))
    let pieceBytes = (bytes + pieces - 1) / pieces
    parallelFor(count * pieces, grain: Swift.max(1, bytesPerTask / pieceBytes)) { r in
        for k in r {
            let block = k / pieces, lo = (k % pieces) * pieceBytes, hi = Swift.min(lo + pieceBytes, bytes)
            if lo < hi { (dst + block * dstStride + lo).copyMemory(from: src + block * srcStride + lo, byteCount: hi - lo) }
        }
    }
}

private func copyElements<T>(_: T.Type, _ count: Int, _ src: UnsafeRawPointer, _ srcStride: Int,
                             _ dst: UnsafeMutableRawPointer, _ dstStride: Int) {
    parallelFor(count, grain: bytesPerTask / MemoryLayout<T>.size) { r in
        for i in r { (dst + i * dstStride).storeBytes(of: src.load(fromByteOffset: i * srcStride, as: T.self), as: T.self) }
    }
}

/// Fills the contiguous `dst` (of shape `shape`) with `src[offset + Σ i_d * strides_d]` (offset and strides in
/// elements of `elementSize` bytes; strides may be negative). Dims that stay adjacent are merged first; then rows
/// that are contiguous in `src` are copied whole, a transposition goes through cache-sized tiles, and anything else
/// is gathered element by element.
func stridedCopy(src: UnsafeRawPointer, offset: Int, strides: [Int], shape: [Int], dst: UnsafeMutableRawPointer, elementSize: Int) {
    guard !shape.contains(0) else { return }
    var dims = [(size: Int, stride: Int)]()
    for (n, s) in zip(shape, strides) where n != 1 {
        if let last = dims.last, last.stride == s * n { dims[dims.count - 1] = (last.size * n, s) } else { dims.append((n, s)) }
    }
    switch elementSize {
    case 1: StridedCopy<UInt8>(src, offset, dims, dst).run()
    case 2: StridedCopy<UInt16>(src, offset, dims, dst).run()
    case 4: StridedCopy<UInt32>(src, offset, dims, dst).run()
    default: StridedCopy<UInt64>(src, offset, dims, dst).run()
    }
}

private struct StridedCopy<T> {
    let src: UnsafePointer<T>
    let dst: UnsafeMutablePointer<T>
    let offset: Int
    let dims: [(size: Int, stride: Int)]

    init(_ src: UnsafeRawPointer, _ offset: Int, _ dims: [(size: Int, stride: Int)], _ dst: UnsafeMutableRawPointer) {
        self.src = src.assumingMemoryBound(to: T.self)
        self.dst = dst.assumingMemoryBound(to: T.self)
        self.offset = offset
        self.dims = dims
    }

    func run() {
        guard let inner = dims.last else { dst[0] = src[offset]; return }
        let outer = Array(dims.dropLast())
        if inner.stride == 1 { return rows(outer, inner.size) }
        if let k = outer.firstIndex(where: { $0.stride == 1 }) { return tiles(outer, k, inner) }
        let n = inner.size, s = inner.stride
        let rowCount = outer.map(\.size).reduce(1, *)
        parallelFor(rowCount, grain: Swift.max(1, bytesPerTask / (n * MemoryLayout<T>.size))) { r in
            for row in r {
                let from = src + base(outer, row), to = dst + row * n
                for j in 0..<n { to[j] = from[j * s] }
            }
        }
    }

    /// Source offset of the `index`-th combination of `dims` (row-major).
    @inline(__always)
    private func base(_ dims: [(size: Int, stride: Int)], _ index: Int) -> Int {
        var i = index, off = offset
        for d in dims.reversed() { off += (i % d.size) * d.stride; i /= d.size }
        return off
    }

    private func rows(_ outer: [(size: Int, stride: Int)], _ n: Int) {
        let rowCount = outer.map(\.size).reduce(1, *)
        parallelFor(rowCount, grain: Swift.max(1, bytesPerTask / (n * MemoryLayout<T>.size))) { r in
            for row in r { (dst + row * n).update(from: src + base(outer, row), count: n) }
        }
    }

    /// Output dims `k` (contiguous in the source) and the innermost one (contiguous in the output) walked in square
    /// tiles, the other dims as plain loops. Each tile goes through a small buffer so that every source and destination
    /// cache line is used whole at once: power-of-two strides would otherwise make the tile's lines evict each other.
    private func tiles(_ outer: [(size: Int, stride: Int)], _ k: Int, _ inner: (size: Int, stride: Int)) {
        let tile = Swift.min(64, 128 / MemoryLayout<T>.size)
        var rest = outer
        rest.remove(at: k)
        let m = outer[k].size, n = inner.size, s = inner.stride
        // Output stride of dim k: the product of the output dims after it.
        let ldo = outer[(k + 1)...].map(\.size).reduce(n, *)
        let restOutStrides = rest.indices.map { i in
            (i < k ? outer[(i + 1)...] : outer[(i + 2)...]).map(\.size).reduce(n, *)
        }
        let restCount = rest.map(\.size).reduce(1, *)
        let rowTiles = (m + tile - 1) / tile
        parallelFor(restCount * rowTiles, grain: Swift.max(1, bytesPerTask / (tile * n * MemoryLayout<T>.size))) { r in
            withUnsafeTemporaryAllocation(of: T.self, capacity: tile * tile) { buf in
                let b = buf.baseAddress!
                for w in r {
                    let index = w / rowTiles, i0 = (w % rowTiles) * tile, rows = Swift.min(tile, m - i0)
                    var o = 0, q = index
                    for d in rest.indices.reversed() { o += (q % rest[d].size) * restOutStrides[d]; q /= rest[d].size }
                    let from = src + base(rest, index) + i0, to = dst + o + i0 * ldo
                    var j0 = 0
                    while j0 < n {
                        let cols = Swift.min(tile, n - j0)
                        for j in 0..<cols {
                            let f = from + (j0 + j) * s
                            for i in 0..<rows { b[i * tile + j] = f[i] }
                        }
                        for i in 0..<rows { (to + i * ldo + j0).update(from: b + i * tile, count: cols) }
                        j0 += cols
                    }
                }
            }
        }
    }
}
