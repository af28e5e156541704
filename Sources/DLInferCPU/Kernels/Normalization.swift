import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

func makeBatchNormKernel(_ a: BatchNorm, _ node: Node, _ graph: Graph) throws -> Kernel { BatchNormKernel(a) }

func makeLRNKernel(_ a: LRN, _ node: Node, _ graph: Graph) throws -> Kernel { LRNKernel(a) }

/// Inference BatchNormalization as one multiply-add per element: y = x * a[p] + b[p] with
/// a = scale / sqrt(var + eps) and b = B - mean * a, p the parameter index (channel, or activation for spatial=0).
final class BatchNormKernel: Kernel {
    let attrs: BatchNorm
    init(_ a: BatchNorm) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0)
        let p = (1...4).map { UnsafeBufferPointer(inputs[$0]!.floats) }
        let (a, b) = attrs.affine(scale: p[0], bias: p[1], mean: p[2], variance: p[3])
        let params = a.count
        let batch = x.rank >= 2 ? x.shape[0] : x.count
        let inner = params == 0 || batch == 0 ? 0 : x.count / (batch * params)
        guard inner > 0 else { return [y] }
        let xp = x.pointer(Float.self), yp = y.pointer(Float.self)
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in
            if inner == 1 {
                parallelFor(batch, grain: Swift.max(1, 16384 / params)) { range in
                    for n in range {
                        let src = xp + n * params, dst = yp + n * params
                        for i in 0..<params { dst[i] = src[i] * a[i] + b[i] }
                    }
                }
            } else {
                parallelFor(batch * params, grain: Swift.max(1, 16384 / inner)) { range in
                    for r in range {
                        let p = r % params, av = a[p], bv = b[p]
                        let src = xp + r * inner, dst = yp + r * inner
                        for i in 0..<inner { dst[i] = src[i] * av + bv }
                    }
                }
            }
        } }
        return [y]
    }
}

/// LRN: per (n, c), the squares of the neighbouring channels are summed into a row buffer, then
/// y = x * (bias + alpha/size * sum)^-beta.
final class LRNKernel: Kernel {
    let attrs: LRN
    init(_ a: LRN) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0)
        let batch = x.shape[0], channels = x.shape[1]
        let inner = x.shape[2...].reduce(1, *)
        guard y.count > 0 else { return [y] }
        let xp = x.pointer(Float.self), yp = y.pointer(Float.self)
        let before = (attrs.size - 1) / 2, after = attrs.size / 2
        let k = attrs.bias, scale = attrs.alpha / Float(attrs.size), beta = attrs.beta
        parallelFor(batch * channels, grain: Swift.max(1, 4096 / inner)) { range in
            var sum = [Float](repeating: 0, count: inner)
            sum.withUnsafeMutableBufferPointer { sum in
                for r in range {
                    let n = r / channels, c = r % channels
                    sum.update(repeating: 0)
                    for ch in Swift.max(0, c - before)...Swift.min(channels - 1, c + after) {
                        let src = xp + (n * channels + ch) * inner
                        for i in 0..<inner { sum[i] += src[i] * src[i] }
                    }
                    let src = xp + r * inner, dst = yp + r * inner
                    for i in 0..<inner { dst[i] = src[i] * powf(k + scale * sum[i], -beta) }
                }
            }
        }
        return [y]
    }
}
