import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

func makeSoftmaxKernel(_ a: Softmax, _ node: Node, _ graph: Graph) throws -> HostKernel { SoftmaxKernel(a) }

/// Softmax/LogSoftmax over groups of `n` values `inner` apart. Innermost groups (`inner == 1`, the classifier-head
/// case) take three passes over each contiguous row: max, exp + sum, scale. Otherwise blocks of columns keep running
/// maxima and sums in a small buffer so every pass still walks contiguous rows.
final class SoftmaxKernel: Kernel {
    let attrs: Softmax
    init(_ a: Softmax) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0)
        if x.count == 0 { return [y] }
        let (outer, n, inner) = try attrs.layout(x.shape)
        let src = UnsafePointer(x.pointer(Float.self)), dst = y.pointer(Float.self)
        let log = attrs.log
        if inner == 1 {
            parallelFor(outer, grain: Swift.max(1, 8192 / n)) { r in
                for o in r { softmaxRow(src + o * n, dst + o * n, n, log: log) }
            }
            return [y]
        }
        let block = columnBlock(inner: inner, outer: outer, limit: 2048)
        let blocks = (inner + block - 1) / block
        parallelFor(outer * blocks, grain: Swift.max(1, 8192 / (n * block))) { r in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * block) { buf in
                let mx = buf.baseAddress!, sm = mx + block
                for t in r {
                    let o = t / blocks, j0 = (t % blocks) * block, w = Swift.min(inner, j0 + block) - j0
                    let s = src + o * n * inner + j0, d = dst + o * n * inner + j0
                    for j in 0..<w { mx[j] = s[j]; sm[j] = 0 }
                    for i in 1..<n { maxRows(mx, s + i * inner, w) }
                    for i in 0..<n { expRows(s + i * inner, minus: mx, into: d + i * inner, addingTo: sm, w) }
                    if log {
                        for j in 0..<w { sm[j] = logf(sm[j]) }
                        for i in 0..<n {
                            let p = s + i * inner, q = d + i * inner
                            for j in 0..<w { q[j] = (p[j] - mx[j]) - sm[j] }
                        }
                    } else {
                        for j in 0..<w { sm[j] = 1 / sm[j] }
                        for i in 0..<n {
                            let q = d + i * inner
                            for j in 0..<w { q[j] *= sm[j] }
                        }
                    }
                }
            }
        }
        return [y]
    }
}

/// One contiguous row. A NaN anywhere makes the whole row NaN (through the max), as in the ONNX reference. The
/// exponentials come from the C kernel target (the widest vectors this CPU has).
@inline(__always)
func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, log: Bool) {
    let m = Float.rowMax(x, n)
    if log {
        let l = logf(SGEMMKernel.preferred.expShiftedSum(x, count: n, shift: m, into: nil))
        for i in 0..<n { y[i] = (x[i] - m) - l }
    } else {
        let r = 1 / SGEMMKernel.preferred.expShiftedSum(x, count: n, shift: m, into: y)
        for i in 0..<n { y[i] *= r }
    }
}

/// d[j] = max(d[j], p[j]) (NaN wins), eight lanes at a time.
@inline(__always)
func maxRows(_ d: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ w: Int) {
    let dr = UnsafeMutableRawPointer(d), pr = UnsafeRawPointer(p)
    var j = 0
    while j + 8 <= w {
        let a = dr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
        let b = pr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
        dr.storeBytes(of: a.replacing(with: b, where: (b .> a) .| (b .!= b)), toByteOffset: j * 4, as: SIMD8<Float>.self)
        j += 8
    }
    while j < w { d[j] = Float.maximum(d[j], p[j]); j += 1 }
}

/// q[j] = exp(p[j] - m[j]); s[j] += q[j]. The differences go through q (in L1: w is one column block).
@inline(__always)
private func expRows(_ p: UnsafePointer<Float>, minus m: UnsafePointer<Float>, into q: UnsafeMutablePointer<Float>,
                     addingTo s: UnsafeMutablePointer<Float>, _ w: Int) {
    for j in 0..<w { q[j] = p[j] - m[j] }
    _ = SGEMMKernel.preferred.expShiftedSum(q, count: w, shift: 0, into: q)
    for j in 0..<w { s[j] += q[j] }
}

/// Hardmax: per group, the first maximum (NaN first, as numpy's argmax) gets 1 and the rest 0.
final class HardmaxKernel: Kernel {
    let attrs: Hardmax
    init(_ a: Hardmax) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0, zeroed: true)
        if x.count == 0 { return [y] }
        let (outer, n, inner) = try attrs.layout(x.shape)
        switch x.dtype {
        case .float32: hardmax(x.pointer(Float.self), y.pointer(Float.self), outer, n, inner)
        case .float64: hardmax(x.pointer(Double.self), y.pointer(Double.self), outer, n, inner)
        default: throw DLInferError.unsupported("Hardmax on \(x.dtype)")
        }
        return [y]
    }

    private func hardmax<T: BinaryFloatingPoint>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ outer: Int, _ n: Int, _ inner: Int) {
        parallelFor(outer * inner, grain: Swift.max(1, 8192 / n)) { r in
            for t in r {
                let o = t / inner, j = t % inner
                let s = x + o * n * inner + j
                var best = s[0], at = 0
                for i in 1..<n where !best.isNaN && (s[i * inner] > best || s[i * inner].isNaN) { best = s[i * inner]; at = i }
                y[(o * n + at) * inner + j] = 1
            }
        }
    }
}

extension CPUKernelFactory {
    func visit(_ a: Softmax, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeSoftmaxKernel(a, node, graph)
    }

    func visit(_ a: Hardmax, _ _: Node, _ _: Graph) -> HostKernel {
        HardmaxKernel(a)
    }
}
