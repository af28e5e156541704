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
        let x = inputs[0]!, y = outputs.make(0)
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
        let block = 256
        let blocks = (inner + block - 1) / block
        parallelFor(outer * blocks, grain: Swift.max(1, 8192 / (n * Swift.min(block, inner)))) { r in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * block) { buf in
                let mx = buf.baseAddress!, sm = mx + block
                for t in r {
                    let o = t / blocks, j0 = (t % blocks) * block, w = Swift.min(inner, j0 + block) - j0
                    let s = src + o * n * inner + j0, d = dst + o * n * inner + j0
                    for j in 0..<w { mx[j] = s[j]; sm[j] = 0 }
                    for i in 1..<n {
                        let p = s + i * inner
                        for j in 0..<w { mx[j] = Float.maximum(mx[j], p[j]) }
                    }
                    for i in 0..<n {
                        let p = s + i * inner, q = d + i * inner
                        for j in 0..<w { let e = expf(p[j] - mx[j]); q[j] = e; sm[j] += e }
                    }
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
    if log {
        var s: Float = 0
        for i in 0..<n { s += expf(x[i] - m) }
        let l = logf(s)
        for i in 0..<n { y[i] = (x[i] - m) - l }
    } else {
        for i in 0..<n { y[i] = expf(x[i] - m) }
        let r = 1 / Float.rowSum(y, n)
        for i in 0..<n { y[i] *= r }
    }
}
