import DLInferCore

/// Einsum. Each operand becomes a strided view with one label per dim: a repeated letter is one dim whose stride is
/// the sum of the repeated ones (the diagonal), an ellipsis dim of size 1 against a larger one gets stride 0. Labels
/// no other operand and not the output need are summed out first; then the operands are contracted left to right,
/// each pair as a batched matrix product [batch, m, k] x [batch, k, n] (SGEMM for float32, reading an operand in
/// place, transposed if need be, when its layout allows; plain loops otherwise). The last result is summed over what
/// the output lacks and laid out in the output's order.
final class EinsumKernel: Kernel {
    let attrs: Einsum
    init(_ a: Einsum) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let xs = inputs.map { $0! }
        switch xs[0].dtype {
        case .float32: return [try EinsumRun<Float>(attrs, xs, outputs).result()]
        case .float64: return [try EinsumRun<Double>(attrs, xs, outputs).result()]
        case .int8: return [try EinsumRun<Int8>(attrs, xs, outputs).result()]
        case .int16: return [try EinsumRun<Int16>(attrs, xs, outputs).result()]
        case .int32: return [try EinsumRun<Int32>(attrs, xs, outputs).result()]
        case .int64: return [try EinsumRun<Int64>(attrs, xs, outputs).result()]
        case .uint8: return [try EinsumRun<UInt8>(attrs, xs, outputs).result()]
        case .uint16: return [try EinsumRun<UInt16>(attrs, xs, outputs).result()]
        case .uint32: return [try EinsumRun<UInt32>(attrs, xs, outputs).result()]
        case .uint64: return [try EinsumRun<UInt64>(attrs, xs, outputs).result()]
        default: throw DLInferError.unsupported("Einsum on \(xs[0].dtype)")
        }
    }
}

/// An operand seen through labels: dim d of the view has label `labels[d]`, `sizes[d]` elements `strides[d]` apart
/// in `tensor` (from its start).
private struct LabeledView {
    var tensor: Tensor
    var labels: [Int]
    var sizes: [Int]
    var strides: [Int]

    init(_ t: Tensor, labels: [Int]) {
        tensor = t; self.labels = labels; sizes = t.shape; strides = t.shape.contiguousStrides
    }

    func dims(_ order: [Int]) -> (sizes: [Int], strides: [Int]) {
        let at = order.map { l in labels.firstIndex(of: l)! }
        return (at.map { sizes[$0] }, at.map { strides[$0] })
    }

    /// Whether the elements lie in `tensor` contiguously in this label order.
    func isContiguous(_ order: [Int]) -> Bool {
        let (s, st) = dims(order)
        return zip(zip(s, st), s.contiguousStrides).allSatisfy { d, want in d.0 == 1 || d.1 == want }
    }
}

private struct EinsumRun<T: ReduceElement> {
    let attrs: Einsum
    let outputs: KernelOutputs
    var views: [LabeledView] = []
    /// The output's labels, the ellipsis expanded; ellipsis dims are labelled 1000 + their distance from the right.
    var outLabels: [Int] = []

    init(_ a: Einsum, _ xs: [Tensor], _ outputs: KernelOutputs) throws {
        attrs = a
        self.outputs = outputs
        var ellipsisRank = 0
        var views = [LabeledView]()
        for (term, x) in zip(a.operands, xs) {
            let named = term.filter { $0 != Einsum.ellipsis }.count
            let extra = x.rank - named
            guard extra == 0 || (extra > 0 && term.contains(Einsum.ellipsis)) else {
                throw DLInferError.shape("Einsum '\(a.equation)': an operand of rank \(x.rank) has \(named) subscripts")
            }
            ellipsisRank = Swift.max(ellipsisRank, extra)
            views.append(LabeledView(x, labels: term.flatMap { $0 == Einsum.ellipsis ? EinsumRun.ellipsisLabels(extra) : [$0] }))
        }
        outLabels = a.output.flatMap { $0 == Einsum.ellipsis ? EinsumRun.ellipsisLabels(ellipsisRank) : [$0] }
        // Every label's size: equal everywhere, except ellipsis dims of 1, which broadcast.
        var size = [Int: Int]()
        for v in views {
            for (l, n) in zip(v.labels, v.sizes) {
                guard let old = size[l], old != n else { size[l] = n; continue }
                if l >= 1000 && (old == 1 || n == 1) { size[l] = Swift.max(old, n); continue }
                throw DLInferError.shape("Einsum '\(a.equation)': \(l >= 1000 ? "ellipsis dims" : "letter '\(String(UnicodeScalar(UInt8(l))))'") of sizes \(old) and \(n) do not match")
            }
        }
        self.views = try views.map { v in
            var d = LabeledView(v.tensor, labels: [])
            d.sizes = []; d.strides = []
            for (k, l) in v.labels.enumerated() {
                let n = size[l]!, stride = v.sizes[k] == 1 && n != 1 ? 0 : v.strides[k]
                if let at = d.labels.firstIndex(of: l) {
                    guard d.sizes[at] == v.sizes[k] else {
                        throw DLInferError.shape("Einsum '\(a.equation)': a repeated letter spans dims of sizes \(d.sizes[at]) and \(v.sizes[k])")
                    }
                    d.strides[at] += stride
                } else {
                    d.labels.append(l); d.sizes.append(n); d.strides.append(stride)
                }
            }
            return d
        }
    }

    private static func ellipsisLabels(_ n: Int) -> [Int] { (0..<n).map { 1000 + n - 1 - $0 } }

    func result() throws -> Tensor {
        var needed = [Set<Int>](repeating: Set(outLabels), count: views.count)
        for i in views.indices { for j in views.indices where j != i { needed[i].formUnion(views[j].labels) } }
        var cur = try sumOut(views[0], keeping: needed[0])
        for i in 1..<Swift.max(views.count, 1) {
            var later = Set(outLabels)
            for j in (i + 1)..<Swift.max(views.count, i + 1) { later.formUnion(views[j].labels) }
            cur = try contract(cur, try sumOut(views[i], keeping: needed[i]), needed: later)
        }
        cur = try sumOut(cur, keeping: Set(outLabels))
        let y = try outputs.make(0)
        let (_, strides) = cur.dims(outLabels)
        stridedCopy(src: cur.tensor.raw, offset: 0, strides: strides, shape: y.shape, dst: y.raw, elementSize: MemoryLayout<T>.size)
        return y
    }

    /// The view with every label outside `keeping` summed over.
    private func sumOut(_ v: LabeledView, keeping: Set<Int>) throws -> LabeledView {
        let kept = v.labels.filter(keeping.contains), summed = v.labels.filter { !keeping.contains($0) }
        guard !summed.isEmpty else { return v }
        let packed = try pack(v, kept + summed)
        let outer = v.dims(kept).sizes.elementCount, n = v.dims(summed).sizes.elementCount
        let out = try scratch(v.dims(kept).sizes)
        if n == 0 {
            out.pointer(T.self).update(repeating: T.zero, count: out.count)
        } else if outer > 0 {
            reduceStage(UnsafePointer(packed.pointer(T.self)), out.pointer(T.self), outer, n, 1, .sum)
        }
        return LabeledView(out, labels: kept)
    }

    /// a ⊗ b summed over their shared labels that `needed` lacks; the result's labels are batch, a's own, b's own.
    private func contract(_ a: LabeledView, _ b: LabeledView, needed: Set<Int>) throws -> LabeledView {
        let shared = a.labels.filter(b.labels.contains)
        let batch = shared.filter(needed.contains), ks = shared.filter { !needed.contains($0) }
        let ms = a.labels.filter { !b.labels.contains($0) }, ns = b.labels.filter { !a.labels.contains($0) }
        let count = a.dims(batch).sizes.elementCount
        let m = a.dims(ms).sizes.elementCount, k = a.dims(ks).sizes.elementCount, n = b.dims(ns).sizes.elementCount
        let y = try scratch(a.dims(batch).sizes + a.dims(ms).sizes + b.dims(ns).sizes)
        let result = LabeledView(y, labels: batch + ms + ns)
        guard y.count > 0 else { return result }
        if T.self == Float.self {
            // Read each operand in place when it is laid out as [batch, m, k] or [batch, k, m] (likewise b).
            let transA = !a.isContiguous(batch + ms + ks) && a.isContiguous(batch + ks + ms) && a.tensor.count == count * m * k
            let transB = !b.isContiguous(batch + ks + ns) && b.isContiguous(batch + ns + ks) && b.tensor.count == count * k * n
            let pa = try transA ? a.tensor : pack(a, batch + ms + ks), pb = try transB ? b.tensor : pack(b, batch + ks + ns)
            let ap = UnsafePointer(pa.pointer(Float.self)), bp = UnsafePointer(pb.pointer(Float.self))
            let yp = y.pointer(Float.self)
            let one = { (i: Int, threads: Int?) in
                sgemm(m: m, n: n, k: k, a: .matrix(ap + i * m * k, ld: transA ? m : k, transposed: transA),
                      b: .matrix(bp + i * k * n, ld: transB ? k : n, transposed: transB), c: yp + i * m * n, ldc: n,
                      maxThreads: threads)
            }
            if count >= 2 && m * n * k < 1 << 21 {
                parallelFor(count) { r in for i in r { one(i, 1) } }
            } else {
                for i in 0..<count { one(i, nil) }
            }
        } else {
            let pa = try pack(a, batch + ms + ks).reshaped([count, m, k]), pb = try pack(b, batch + ks + ns).reshaped([count, k, n])
            matMulLoops(pa, pb, y.reshaped([count, m, n]), T.self)
        }
        return result
    }

    /// The view's elements in `order`, in a contiguous tensor (the view's own tensor when it already is one).
    private func pack(_ v: LabeledView, _ order: [Int]) throws -> Tensor {
        let (sizes, strides) = v.dims(order)
        if v.isContiguous(order), v.tensor.count == sizes.elementCount { return v.tensor.reshaped(sizes) }
        let t = try scratch(sizes)
        stridedCopy(src: v.tensor.raw, offset: 0, strides: strides, shape: sizes, dst: t.raw, elementSize: MemoryLayout<T>.size)
        return t
    }

    /// A scratch tensor, checked against the machine's memory (broadcast operands can make large intermediates).
    private func scratch(_ shape: [Int]) throws -> Tensor {
        var bytes = MemoryLayout<T>.size, overflow = false
        for d in shape { let (p, o) = bytes.multipliedReportingOverflow(by: d); bytes = p; overflow = overflow || o }
        guard !overflow, bytes <= MemoryBudget.defaultLimit else {
            throw DLInferError(.outOfMemory, "Einsum '\(attrs.equation)': an intermediate of shape \(shape) needs more memory than this machine has")
        }
        return try outputs.make(T.dtype, shape)
    }
}

extension CPUKernelFactory {
    func visit(_ a: Einsum, _ _: Node, _ _: Graph) -> HostKernel {
        EinsumKernel(a)
    }
}
