import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

func makeSoftmaxKernel(_ a: Softmax, _ node: Node, _ graph: Graph) throws -> Kernel { SoftmaxKernel(a) }

/// Softmax/LogSoftmax over groups of `n` values `inner` apart. Innermost groups (`inner == 1`, the classifier-head
/// case) take three passes over each contiguous row: max, exp + sum, scale. Otherwise blocks of columns keep running
/// maxima and sums in a small buffer so every pass still walks contiguous rows.
final class SoftmaxKernel: Kernel {
    let attrs: Softmax
    init(_ a: Softmax) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
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

/// One contiguous row. A NaN anywhere makes the whole row NaN (through the max), as in the ONNX reference.
@inline(__always)
func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, log: Bool) {
    let m = Float.rowMax(x, n)
    let raw = UnsafeRawPointer(x), out = UnsafeMutableRawPointer(y)
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
        let e = expNonPositive(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - m)
        if !log { out.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self) }
        acc += e
        i += 8
    }
    var sum = acc.sum()
    while i < n {
        let e = expf(x[i] - m)
        if !log { y[i] = e }
        sum += e
        i += 1
    }
    if log {
        let l = logf(sum)
        for i in 0..<n { y[i] = (x[i] - m) - l }
    } else {
        let r = 1 / sum
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

/// q[j] = exp(p[j] - m[j]); s[j] += q[j].
@inline(__always)
private func expRows(_ p: UnsafePointer<Float>, minus m: UnsafePointer<Float>, into q: UnsafeMutablePointer<Float>,
                     addingTo s: UnsafeMutablePointer<Float>, _ w: Int) {
    let pr = UnsafeRawPointer(p), mr = UnsafeRawPointer(m), qr = UnsafeMutableRawPointer(q), sr = UnsafeMutableRawPointer(s)
    var j = 0
    while j + 8 <= w {
        let e = expNonPositive(pr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                               - mr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self))
        qr.storeBytes(of: e, toByteOffset: j * 4, as: SIMD8<Float>.self)
        sr.storeBytes(of: sr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) + e, toByteOffset: j * 4, as: SIMD8<Float>.self)
        j += 8
    }
    while j < w { let e = expf(p[j] - m[j]); q[j] = e; s[j] += e; j += 1 }
}

/// exp(x) for x <= 0 (softmax after subtracting the maximum), eight lanes at once: Cephes' range reduction
/// x = k ln2 + r and a degree-6 polynomial for exp(r), within 2 ulp of expf. k comes from the 1.5 * 2^23 rounding
/// trick, whose bit pattern also holds k as an integer, so no lane-by-lane conversion is needed. Below -87.3 the
/// result is 0 (where expf would give a denormal); NaN stays NaN.
@inline(__always)
private func expNonPositive(_ v: SIMD8<Float>) -> SIMD8<Float> {
    let x = v.replacing(with: -87.3, where: v .< -87.3)
    let shifted = x * 1.44269504088896341 + 12582912
    let k = shifted - 12582912
    var r = x - k * 0.693359375
    r = r + k * 2.12194440e-4
    let z = r * r
    var p = SIMD8<Float>(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * z + r + 1
    let kBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let e = p * unsafeBitCast((kBits &+ 127) &<< 23, to: SIMD8<Float>.self)
    return e.replacing(with: 0, where: v .< -87.3).replacing(with: .nan, where: v .!= v)
}

/// Hardmax: per group, the first maximum (NaN first, as numpy's argmax) gets 1 and the rest 0.
final class HardmaxKernel: Kernel {
    let attrs: Hardmax
    init(_ a: Hardmax) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
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
