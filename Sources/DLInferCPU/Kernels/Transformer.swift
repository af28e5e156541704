import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// RotaryEmbedding, one (batch, head, position) row at a time: the rotated pairs from the row's cache entries, the
/// rest of the head copied. position_ids are checked against the cache's rows before anything is read.
final class RotaryEmbeddingKernel: Kernel {
    let attrs: RotaryEmbedding
    init(_ a: RotaryEmbedding) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, cos = inputs[1]!, sin = inputs[2]!
        let positions = inputs.count > 3 ? inputs[3] : nil
        let g = try attrs.geometry(x: x.shape, cos: cos.shape, sin: sin.shape, positions: positions?.shape)
        let y = try outputs.make(0)
        if y.count == 0 { return [y] }
        let half = g.dim / 2
        var rows: [Int]? = nil
        if let positions, let limit = g.positions {
            let p = positions.pointer(Int64.self)
            rows = try (0..<positions.count).map { i in
                guard p[i] >= 0, p[i] < Int64(limit) else {
                    throw DLInferError.invalid("position_ids value \(p[i]) is out of range for caches of \(limit) rows")
                }
                return Int(p[i]) * half
            }
        }
        let xp = UnsafePointer(x.pointer(Float.self)), yp = y.pointer(Float.self)
        let cp = UnsafePointer(cos.pointer(Float.self)), sp = UnsafePointer(sin.pointer(Float.self))
        let heads = g.heads, seq = g.sequence, size = g.headSize, interleaved = attrs.interleaved
        parallelFor(g.batch * heads * seq, grain: Swift.max(1, 4096 / Swift.max(size, 1))) { r in
            for t in r {
                let b = t / (heads * seq), h = (t / seq) % heads, s = t % seq
                let at = g.packed ? (b * seq + s) * heads * size + h * size : t * size
                let cache = rows.map { $0[b * seq + s] } ?? b * g.cacheBatchStride + s * g.cacheSequenceStride
                let src = xp + at, dst = yp + at, c = cp + cache, n = sp + cache
                for i in 0..<half {
                    let (i1, i2) = interleaved ? (2 * i, 2 * i + 1) : (i, i + half)
                    let x1 = src[i1], x2 = src[i2]
                    dst[i1] = c[i] * x1 - n[i] * x2
                    dst[i2] = n[i] * x1 + c[i] * x2
                }
                if g.dim < size { (dst + g.dim).update(from: src + g.dim, count: size - g.dim) }
            }
        }
        return [y]
    }
}

/// SwiGLU, elementwise: (a · sigmoid(alpha · a)) · b.
final class SwiGLUKernel: Kernel {
    let attrs: SwiGLU
    init(_ a: SwiGLU) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let a = inputs[0]!, b = inputs[1]!
        guard a.shape == b.shape else { throw DLInferError.shape("SwiGLU's A \(a.shape) and B \(b.shape) must have the same shape") }
        let y = try outputs.make(0)
        switch a.dtype {
        case .float32:
            let alpha = attrs.alpha
            gate(a, b, y) { (x: Float) in x * (1 / (1 + expf(-alpha * x))) }
        case .float64:
            let alpha = Double(attrs.alpha)
            gate(a, b, y) { (x: Double) in x * (1 / (1 + Glibc.exp(-alpha * x))) }
        default: throw DLInferError.unsupported("SwiGLU on \(a.dtype)")
        }
        return [y]
    }

    private func gate<T: TensorElement & FloatingPoint>(_ a: Tensor, _ b: Tensor, _ y: Tensor, _ swish: (T) -> T) {
        let ap = UnsafePointer(a.pointer(T.self)), bp = UnsafePointer(b.pointer(T.self)), yp = y.pointer(T.self)
        parallelFor(y.count, grain: 8192) { r in for i in r { yp[i] = swish(ap[i]) * bp[i] } }
    }
}

/// TensorScatter: the cache copied, then each (prefix, position) row of `update` (the dims after the axis, contiguous)
/// copied to its slot; indices are checked before anything is written.
final class TensorScatterKernel: Kernel {
    let attrs: TensorScatter
    init(_ a: TensorScatter) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let past = inputs[0]!, update = inputs[1]!
        let writes = inputs.count > 2 ? inputs[2] : nil
        let axis = try attrs.normalizedAxis(rank: past.rank)
        for d in 0..<past.rank where update.rank != past.rank || d != axis && past.shape[d] != update.shape[d] {
            throw DLInferError.shape("TensorScatter's update \(update.shape) does not fit past_cache \(past.shape) off axis \(axis)")
        }
        let capacity = past.shape[axis], length = update.shape[axis]
        guard length <= capacity else { throw DLInferError.shape("update's length \(length) exceeds the cache's \(capacity)") }
        let batch = past.shape[0]
        var starts = [Int](repeating: 0, count: batch)
        if let writes {
            guard writes.shape == [batch] else { throw DLInferError.shape("write_indices has shape \(writes.shape); it must be [\(batch)]") }
            let w = writes.pointer(Int64.self)
            for b in 0..<batch {
                if attrs.circular {
                    // Python's modulo: always in 0..<capacity.
                    starts[b] = capacity == 0 ? 0 : Int(((w[b] % Int64(capacity)) + Int64(capacity)) % Int64(capacity))
                } else {
                    guard w[b] >= 0, w[b] <= Int64(capacity - length) else {
                        throw DLInferError.invalid("write_indices[\(b)] = \(w[b]) does not leave room for \(length) positions in a cache of \(capacity) (linear mode)")
                    }
                    starts[b] = Int(w[b])
                }
            }
        }
        let y = try outputs.make(0)
        if y.count == 0 { return [y] }
        let es = past.dtype.byteSize
        y.raw.copyMemory(from: past.raw, byteCount: past.byteCount)
        let row = past.shape[(axis + 1)...].reduce(1, *) * es
        let prefixes = past.shape[..<axis].reduce(1, *), perBatch = prefixes / Swift.max(batch, 1)
        let dst = y.raw, src = UnsafeRawPointer(update.raw), circular = attrs.circular
        parallelFor(prefixes, grain: Swift.max(1, 65536 / Swift.max(1, length * row))) { r in
            for p in r {
                let start = starts[p / perBatch]
                for s in 0..<length {
                    var slot = start + s
                    if circular && slot >= capacity { slot -= capacity }
                    (dst + (p * capacity + slot) * row).copyMemory(from: src + (p * length + s) * row, byteCount: row)
                }
            }
        }
        return [y]
    }
}

extension CPUKernelFactory {
    func visit(_ a: RotaryEmbedding, _ _: Node, _ _: Graph) -> HostKernel {
        RotaryEmbeddingKernel(a)
    }

    func visit(_ a: SwiGLU, _ _: Node, _ _: Graph) -> HostKernel {
        SwiGLUKernel(a)
    }

    func visit(_ a: TensorScatter, _ _: Node, _ _: Graph) -> HostKernel {
        TensorScatterKernel(a)
    }
}
