import DLInferCore

func makeRangeKernel(_ a: Arange, _ node: Node, _ graph: Graph) throws -> HostKernel { RangeKernel(a) }
func makeEyeLikeKernel(_ a: EyeLike, _ node: Node, _ graph: Graph) throws -> HostKernel { EyeLikeKernel(a) }
func makeOneHotKernel(_ a: OneHot, _ node: Node, _ graph: Graph) throws -> HostKernel { OneHotKernel(a) }

/// Element i is `start + i * delta`, computed in the type the op's doc comment names for each element type.
final class RangeKernel: Kernel {
    let attrs: Arange
    init(_ a: Arange) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let start = inputs[0]!, limit = inputs[1]!, delta = inputs[2]!
        for t in [start, limit, delta] where t.count != 1 { throw DLInferError.shape("Range takes scalars, got shape \(t.shape)") }
        let n = try Arange.count(start, limit, delta)
        try expectShape(outputs.shape(0), [n])
        let y = try outputs.make(0)
        let wide = attrs.stashType == .float64
        switch start.dtype {
        case .float32:
            let s = start.pointer(Float.self)[0], d = delta.pointer(Float.self)[0]
            generate(y.pointer(Float.self), n) { s + Float($0) * d }
        case .float64:
            let s = start.pointer(Double.self)[0], d = delta.pointer(Double.self)[0]
            generate(y.pointer(Double.self), n) { s + Double($0) * d }
        case .float16, .bfloat16:
            let s = start.doubleValues()![0], d = delta.doubleValues()![0]
            let (sf, df) = (Float(s), Float(d))
            if start.dtype == .float16 {
                generate(y.pointer(Half.self), n) { Half(wide ? Float(s + Double($0) * d) : sf + Float($0) * df) }
            } else {
                generate(y.pointer(BFloat16.self), n) { BFloat16(wide ? Float(s + Double($0) * d) : sf + Float($0) * df) }
            }
        case .int16:
            let s = start.integerScalar(), d = delta.integerScalar()
            generate(y.pointer(Int16.self), n) { Int16(truncatingIfNeeded: s &+ $0 &* d) }
        case .int32:
            let s = start.integerScalar(), d = delta.integerScalar()
            generate(y.pointer(Int32.self), n) { Int32(truncatingIfNeeded: s &+ $0 &* d) }
        case .int64:
            let s = start.integerScalar(), d = delta.integerScalar()
            generate(y.pointer(Int64.self), n) { Int64(s &+ $0 &* d) }
        default: throw DLInferError.unsupported("Range on \(start.dtype)")
        }
        return [y]
    }
}

/// `p[i] = f(i)` for i < n, in parallel.
@inline(__always)
private func generate<T>(_ p: UnsafeMutablePointer<T>, _ n: Int, _ f: (Int) -> T) {
    parallelFor(n, grain: 1 << 14) { r in for i in r { p[i] = f(i) } }
}

final class EyeLikeKernel: Kernel {
    let attrs: EyeLike
    init(_ a: EyeLike) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        guard x.rank == 2 else { throw DLInferError.shape("EyeLike needs a rank-2 input, got shape \(x.shape)") }
        try expectShape(outputs.shape(0), x.shape)
        let y = try outputs.make(0, zeroed: true)
        let rows = x.shape[0], cols = x.shape[1]
        // Beyond these bounds no element lies on the diagonal (and i + k cannot overflow).
        let k = Swift.max(-rows, Swift.min(cols, attrs.k))
        let one = oneBits(y.dtype), size = y.dtype.byteSize
        for i in 0..<rows where i + k >= 0 && i + k < cols {
            storeWord(one, to: y.raw + (i * cols + i + k) * size, size: size)
        }
        return [y]
    }
}

/// Fills the output with off, then writes on at each valid index's position along the new axis.
final class OneHotKernel: Kernel {
    let attrs: OneHot
    init(_ a: OneHot) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let indices = inputs[0]!, values = inputs[2]!
        guard inputs[1]!.count == 1 else { throw DLInferError.shape("depth must be a scalar, got shape \(inputs[1]!.shape)") }
        guard values.count == 2 else { throw DLInferError.shape("values must have 2 elements, got shape \(values.shape)") }
        let depth = try OneHot.depth(inputs[1]!)
        let a = try attrs.outputAxis(rank: indices.rank)
        try expectShape(outputs.shape(0), Array(indices.shape[..<a]) + [depth] + Array(indices.shape[a...]))
        let y = try outputs.make(0)
        if y.count == 0 { return [y] }
        let index = indices.truncatedIntegers()
        let outer = indices.shape[..<a].reduce(1, *), inner = indices.shape[a...].reduce(1, *)
        switch values.dtype.byteSize {
        case 1: oneHot(UInt8.self, values, y, index, outer, depth, inner)
        case 2: oneHot(UInt16.self, values, y, index, outer, depth, inner)
        case 4: oneHot(UInt32.self, values, y, index, outer, depth, inner)
        default: oneHot(UInt64.self, values, y, index, outer, depth, inner)
        }
        return [y]
    }

    private func oneHot<T>(_: T.Type, _ values: Tensor, _ y: Tensor, _ index: [Int], _ outer: Int, _ depth: Int, _ inner: Int) {
        let v = values.raw.assumingMemoryBound(to: T.self), off = v[0], on = v[1]
        let dst = y.raw.assumingMemoryBound(to: T.self)
        index.withUnsafeBufferPointer { idx in
            parallelFor(outer, grain: Swift.max(1, (1 << 15) / (depth * inner))) { r in
                for o in r {
                    let block = dst + o * depth * inner
                    block.update(repeating: off, count: depth * inner)
                    for i in 0..<inner {
                        var j = idx[o * inner + i]
                        if j < 0, j >= -depth { j += depth }
                        if j >= 0, j < depth { block[j * inner + i] = on }
                    }
                }
            }
        }
    }
}

/// The bit pattern of 1 in `dtype` (true for bool), in the low bytes.
func oneBits(_ dtype: DType) -> UInt64 {
    switch dtype {
    case .float32: return UInt64(Float(1).bitPattern)
    case .float64: return Double(1).bitPattern
    case .float16: return UInt64(Half(1).bits)
    case .bfloat16: return UInt64(BFloat16(1).bits)
    case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0:
        return UInt64(dtype.float8Format!.encode(1, saturate: true))
    case .float4e2m1: return UInt64(SubByte.float4(1))
    default: return 1
    }
}

/// Stores the low `size` bytes of `bits` (1, 2, 4 or 8) at `p`.
@inline(__always)
func storeWord(_ bits: UInt64, to p: UnsafeMutableRawPointer, size: Int) {
    switch size {
    case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: bits), as: UInt8.self)
    case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: bits), as: UInt16.self)
    case 4: p.storeBytes(of: UInt32(truncatingIfNeeded: bits), as: UInt32.self)
    default: p.storeBytes(of: bits, as: UInt64.self)
    }
}

extension CPUKernelFactory {
    func visit(_ a: Arange, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeRangeKernel(a, node, graph)
    }

    func visit(_ a: EyeLike, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeEyeLikeKernel(a, node, graph)
    }

    func visit(_ a: OneHot, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeOneHotKernel(a, node, graph)
    }
}
