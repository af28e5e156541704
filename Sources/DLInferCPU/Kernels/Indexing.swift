import DLInferCore

func makeGatherElementsKernel(_ a: GatherElements, _ node: Node, _ graph: Graph) throws -> HostKernel { GatherElementsKernel(a) }
func makeGatherNDKernel(_ a: GatherND, _ node: Node, _ graph: Graph) throws -> HostKernel { GatherNDKernel(a) }
func makeScatterElementsKernel(_ a: ScatterElements, _ node: Node, _ graph: Graph) throws -> HostKernel { ScatterElementsKernel(a) }
func makeScatterNDKernel(_ a: ScatterND, _ node: Node, _ graph: Graph) throws -> HostKernel { ScatterNDKernel(a) }
func makeCompressKernel(_ a: Compress, _ node: Node, _ graph: Graph) throws -> HostKernel { CompressKernel(a) }
func makeNonZeroKernel(_ a: NonZero, _ node: Node, _ graph: Graph) throws -> HostKernel { NonZeroKernel() }

/// Element-wise addressing shared by GatherElements and ScatterElements: `indices` (checked, made non-negative) is
/// walked row by row along its last dim; `base(row)` is the data offset of the row's position with the axis term left
/// out, and element j of the row then lives at `base + (axis is last ? 0 : j) + index * axisStride`.
private struct ElementsGeometry {
    let rows: Int, width: Int
    let axisStride: Int, axisIsLast: Bool
    private let shape: [Int], strides: [Int], axis: Int

    init(data: [Int], indices: [Int], axis: Int) {
        let r = indices.count
        width = indices[r - 1]
        rows = width == 0 ? 0 : indices.elementCount / width
        strides = data.contiguousStrides
        axisStride = strides[axis]
        axisIsLast = axis == r - 1
        shape = indices
        self.axis = axis
    }

    @inline(__always)
    func base(_ row: Int) -> Int {
        var rem = row, off = 0
        for d in stride(from: shape.count - 2, through: 0, by: -1) {
            let c = rem % shape[d]
            rem /= shape[d]
            if d != axis { off += c * strides[d] }
        }
        return off
    }

    @inline(__always)
    func offset(_ base: Int, _ j: Int, _ index: Int) -> Int { base + (axisIsLast ? 0 : j) + index * axisStride }
}

final class GatherElementsKernel: Kernel {
    let attrs: GatherElements
    init(_ a: GatherElements) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let data = inputs[0]!, indices = inputs[1]!
        let a = try elementsAxis(attrs.axis, data: data.type.shape!, indices: indices.type.shape!, "indices")
        try expectShape(outputs.shape(0), indices.shape)
        let index = try normalizedIndices(indices, bounds: [data.shape[a]])
        let y = try outputs.make(0)
        if y.count == 0 { return [y] }
        let g = ElementsGeometry(data: data.shape, indices: indices.shape, axis: a)
        switch data.dtype.byteSize {
        case 1: gather(UInt8.self, data, y, index, g)
        case 2: gather(UInt16.self, data, y, index, g)
        case 4: gather(UInt32.self, data, y, index, g)
        default: gather(UInt64.self, data, y, index, g)
        }
        return [y]
    }

    private func gather<T>(_: T.Type, _ data: Tensor, _ y: Tensor, _ index: [Int], _ g: ElementsGeometry) {
        let src = data.raw.assumingMemoryBound(to: T.self), dst = y.raw.assumingMemoryBound(to: T.self), w = g.width
        index.withUnsafeBufferPointer { idx in
            parallelFor(g.rows, grain: Swift.max(1, 16384 / w)) { r in
                for row in r {
                    let base = g.base(row), o = row * w
                    for j in 0..<w { dst[o + j] = src[g.offset(base, j, idx[o + j])] }
                }
            }
        }
    }
}

final class GatherNDKernel: Kernel {
    let attrs: GatherND
    init(_ a: GatherND) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let data = inputs[0]!, indices = inputs[1]!, b = attrs.batchDims
        try checkND(data: data.type.shape!, indices: indices.type.shape!, batchDims: b, "GatherND")
        let q = indices.shape.last!
        try expectShape(outputs.shape(0), Array(indices.shape.dropLast()) + Array(data.shape[(b + q)...]))
        let index = try normalizedIndices(indices, bounds: Array(data.shape[b..<(b + q)]))
        let y = try outputs.make(0)
        let slice = data.shape[(b + q)...].reduce(1, *)
        if y.count == 0 { return [y] }
        let strides = data.shape.contiguousStrides
        let tuples = indices.shape[b..<(indices.rank - 1)].reduce(1, *)
        let batchStride = b == 0 ? 0 : strides[b - 1]
        index.withUnsafeBufferPointer { idx in
            // Offsets are multiples of the slice size: every stride before dim b + q is.
            gatherBlocks(count: y.count / slice, bytes: slice * data.dtype.byteSize, src: data.raw, dst: y.raw) { t in
                var off = (t / tuples) * batchStride
                for j in 0..<q { off += idx[t * q + j] * strides[b + j] }
                return off / slice
            }
        }
        return [y]
    }
}

final class ScatterElementsKernel: Kernel {
    let attrs: ScatterElements
    init(_ a: ScatterElements) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let data = inputs[0]!, indices = inputs[1]!, updates = inputs[2]!
        guard updates.shape == indices.shape else {
            throw DLInferError.shape("updates \(updates.shape) must have the shape of indices \(indices.shape)")
        }
        let a = try elementsAxis(attrs.axis, data: data.type.shape!, indices: indices.type.shape!, "indices")
        try expectShape(outputs.shape(0), data.shape)
        let index = try normalizedIndices(indices, bounds: [data.shape[a]])
        let y = try outputs.make(0)
        copyBlocks(count: 1, bytes: data.byteCount, src: data.raw, srcStride: 0, dst: y.raw, dstStride: 0)
        if indices.count == 0 { return [y] }
        let g = ElementsGeometry(data: data.shape, indices: indices.shape, axis: a)
        try scatter(attrs.reduction, data.dtype, y, updates) { apply in
            for row in 0..<g.rows {
                let base = g.base(row), o = row * g.width
                for j in 0..<g.width { apply(g.offset(base, j, index[o + j]), o + j, 1) }
            }
        }
        return [y]
    }
}

final class ScatterNDKernel: Kernel {
    let attrs: ScatterND
    init(_ a: ScatterND) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let data = inputs[0]!, indices = inputs[1]!, updates = inputs[2]!
        try checkND(data: data.type.shape!, indices: indices.type.shape!, batchDims: 0, "ScatterND")
        let q = indices.shape.last!
        let want = Array(indices.shape.dropLast()) + Array(data.shape[q...])
        guard updates.shape == want else {
            throw DLInferError.shape("updates \(updates.shape) must have shape \(want) (indices.shape[:-1] + data.shape[q:])")
        }
        try expectShape(outputs.shape(0), data.shape)
        let index = try normalizedIndices(indices, bounds: Array(data.shape[..<q]))
        let y = try outputs.make(0)
        copyBlocks(count: 1, bytes: data.byteCount, src: data.raw, srcStride: 0, dst: y.raw, dstStride: 0)
        let slice = data.shape[q...].reduce(1, *), strides = data.shape.contiguousStrides
        if slice == 0 { return [y] }
        try scatter(attrs.reduction, data.dtype, y, updates) { apply in
            for t in 0..<(updates.count / slice) {
                var off = 0
                for j in 0..<q { off += index[t * q + j] * strides[j] }
                apply(off, t * slice, slice)
            }
        }
        return [y]
    }
}

/// Runs `walk`, which calls `apply(destination offset, update offset, count)` for each run of elements in update
/// order, combining `count` consecutive updates into `y` with the reduction. In order, on one thread: repeated
/// positions must see the updates one after the other.
private func scatter(_ reduction: ScatterReduction, _ dtype: DType, _ y: Tensor, _ updates: Tensor,
                     _ walk: ((Int, Int, Int) -> Void) -> Void) throws {
    func combine<T>(_: T.Type, _ f: @escaping (T, T) -> T) {
        let dst = y.raw.assumingMemoryBound(to: T.self), src = updates.raw.assumingMemoryBound(to: T.self)
        walk { d, u, n in for i in 0..<n { dst[d + i] = f(dst[d + i], src[u + i]) } }
    }
    func run<T: ScatterArithmetic>(_: T.Type) {
        switch reduction {
        case .add: combine(T.self, T.scatterAdd)
        case .mul: combine(T.self, T.scatterMul)
        case .max: combine(T.self, T.scatterMax)
        default: combine(T.self, T.scatterMin)
        }
    }
    if reduction == .none {
        // Any element type: the update's bits replace the element's.
        switch dtype.byteSize {
        case 1: combine(UInt8.self) { $1 }
        case 2: combine(UInt16.self) { $1 }
        case 4: combine(UInt32.self) { $1 }
        default: combine(UInt64.self) { $1 }
        }
        return
    }
    switch dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    case .int8: run(Int8.self)
    case .int16: run(Int16.self)
    case .int32: run(Int32.self)
    case .int64: run(Int64.self)
    case .uint8: run(UInt8.self)
    case .uint16: run(UInt16.self)
    case .uint32: run(UInt32.self)
    case .uint64: run(UInt64.self)
    default: throw DLInferError.unsupported("reduction '\(reduction.rawValue)' on \(dtype)")
    }
}

/// The arithmetic of scatter reductions: integers wrap; max and min propagate NaN (numpy's maximum/minimum).
protocol ScatterArithmetic: TensorElement {
    static func scatterAdd(_ a: Self, _ b: Self) -> Self
    static func scatterMul(_ a: Self, _ b: Self) -> Self
    static func scatterMax(_ a: Self, _ b: Self) -> Self
    static func scatterMin(_ a: Self, _ b: Self) -> Self
}

extension ScatterArithmetic where Self: FixedWidthInteger {
    static func scatterAdd(_ a: Self, _ b: Self) -> Self { a &+ b }
    static func scatterMul(_ a: Self, _ b: Self) -> Self { a &* b }
    static func scatterMax(_ a: Self, _ b: Self) -> Self { Swift.max(a, b) }
    static func scatterMin(_ a: Self, _ b: Self) -> Self { Swift.min(a, b) }
}

extension ScatterArithmetic where Self: BinaryFloatingPoint {
    static func scatterAdd(_ a: Self, _ b: Self) -> Self { a + b }
    static func scatterMul(_ a: Self, _ b: Self) -> Self { a * b }
    static func scatterMax(_ a: Self, _ b: Self) -> Self { a.isNaN || b.isNaN ? .nan : Swift.max(a, b) }
    static func scatterMin(_ a: Self, _ b: Self) -> Self { a.isNaN || b.isNaN ? .nan : Swift.min(a, b) }
}

extension Float: ScatterArithmetic {}
extension Double: ScatterArithmetic {}
extension Int8: ScatterArithmetic {}
extension Int16: ScatterArithmetic {}
extension Int32: ScatterArithmetic {}
extension Int64: ScatterArithmetic {}
extension UInt8: ScatterArithmetic {}
extension UInt16: ScatterArithmetic {}
extension UInt32: ScatterArithmetic {}
extension UInt64: ScatterArithmetic {}

final class CompressKernel: Kernel {
    let attrs: Compress
    init(_ a: Compress) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, condition = inputs[1]!
        guard condition.rank == 1 else { throw DLInferError.shape("condition must be 1-D, got shape \(condition.shape)") }
        var outer = 1, n = x.count, inner = 1, axis: Int? = nil
        if let given = attrs.axis {
            guard x.rank > 0 else { throw DLInferError.shape("Compress along an axis needs an input of rank 1 or more") }
            let a = try normalizeAxis(given, rank: x.rank)
            (outer, n, inner, axis) = (x.shape[..<a].reduce(1, *), x.shape[a], x.shape[(a + 1)...].reduce(1, *), a)
        }
        let selected = Compress.selected(condition, limit: n), m = selected.count
        var shape = [m]
        if let axis { shape = x.shape; shape[axis] = m }
        try expectShape(outputs.shape(0), shape)
        let y = try outputs.make(0)
        if y.count == 0 { return [y] }
        gatherBlocks(count: outer * m, bytes: inner * x.dtype.byteSize, src: x.raw, dst: y.raw) { i in
            (i / m) * n + selected[i % m]
        }
        return [y]
    }
}

/// Counts the non-zero elements per chunk in parallel, then writes each chunk's coordinates at its offset.
final class NonZeroKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        // Floats ignore the sign bit, so -0 counts as zero.
        let mask: UInt64
        switch x.dtype {
        case .float32: mask = 0x7FFF_FFFF
        case .float64: mask = 0x7FFF_FFFF_FFFF_FFFF
        case .float16, .bfloat16: mask = 0x7FFF
        default: mask = ~0
        }
        switch x.dtype.byteSize {
        case 1: return [try nonZero(x, UInt8(truncatingIfNeeded: mask), outputs)]
        case 2: return [try nonZero(x, UInt16(truncatingIfNeeded: mask), outputs)]
        case 4: return [try nonZero(x, UInt32(truncatingIfNeeded: mask), outputs)]
        default: return [try nonZero(x, mask, outputs)]
        }
    }

    private func nonZero<T: FixedWidthInteger>(_ x: Tensor, _ mask: T, _ outputs: KernelOutputs) throws -> Tensor {
        let shape = x.rank == 0 ? [1] : x.shape, n = x.count, rank = shape.count
        let src = x.raw.assumingMemoryBound(to: T.self)
        let chunks = Swift.max(1, Swift.min(Threads.count * 4, n / 16384))
        var counts = [Int](repeating: 0, count: chunks + 1)
        counts.withUnsafeMutableBufferPointer { c in
            parallelFor(chunks) { r in
                for k in r {
                    var m = 0
                    for i in (n * k / chunks)..<(n * (k + 1) / chunks) where src[i] & mask != 0 { m += 1 }
                    c[k + 1] = m
                }
            }
        }
        for k in 0..<chunks { counts[k + 1] += counts[k] }
        let total = counts[chunks]
        let y = try outputs.make(.int64, [rank, total])
        let dst = y.pointer(Int64.self)
        counts.withUnsafeBufferPointer { c in
            parallelFor(chunks) { r in
                for k in r {
                    var at = c[k]
                    for i in (n * k / chunks)..<(n * (k + 1) / chunks) where src[i] & mask != 0 {
                        var rem = i
                        for d in stride(from: rank - 1, through: 0, by: -1) {
                            dst[d * total + at] = Int64(rem % shape[d])
                            rem /= shape[d]
                        }
                        at += 1
                    }
                }
            }
        }
        return y
    }
}

/// Fills `dst` with `count` blocks of `bytes` bytes, block i copied from block `source(i)` of `src` (in units of
/// `bytes`), in parallel; single elements move as typed words.
func gatherBlocks(count: Int, bytes: Int, src: UnsafeRawPointer, dst: UnsafeMutableRawPointer, _ source: (Int) -> Int) {
    guard count > 0, bytes > 0 else { return }
    func typed<T>(_: T.Type) {
        let s = src.assumingMemoryBound(to: T.self), d = dst.assumingMemoryBound(to: T.self)
        parallelFor(count, grain: 1 << 13) { r in for i in r { d[i] = s[source(i)] } }
    }
    switch bytes {
    case 1: typed(UInt8.self)
    case 2: typed(UInt16.self)
    case 4: typed(UInt32.self)
    case 8: typed(UInt64.self)
    default:
        parallelFor(count, grain: Swift.max(1, (1 << 15) / bytes)) { r in
            for i in r { (dst + i * bytes).copyMemory(from: src + source(i) * bytes, byteCount: bytes) }
        }
    }
}

extension CPUKernelFactory {
    func visit(_ a: GatherElements, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeGatherElementsKernel(a, node, graph)
    }

    func visit(_ a: GatherND, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeGatherNDKernel(a, node, graph)
    }

    func visit(_ a: ScatterElements, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeScatterElementsKernel(a, node, graph)
    }

    func visit(_ a: ScatterND, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeScatterNDKernel(a, node, graph)
    }

    func visit(_ a: Compress, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeCompressKernel(a, node, graph)
    }

    func visit(_ a: NonZero, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeNonZeroKernel(a, node, graph)
    }
}
