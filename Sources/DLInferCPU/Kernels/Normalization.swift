import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

func makeBatchNormKernel(_ a: BatchNorm, _ node: Node, _ graph: Graph) throws -> HostKernel {
    if a.training { return BatchNormTrainingKernel(a) }
    // Constant parameters (as exported models have them) are turned into the multiply-add's pair once, here.
    let params = (1...4).map { i in i < node.inputs.count ? node.inputs[i].flatMap { graph.constants[$0] } : nil }
    guard params.allSatisfy({ $0?.dtype == .float32 }) else { return BatchNormKernel(a, folded: nil) }
    let p = params.map { UnsafeBufferPointer($0!.floats) }
    return BatchNormKernel(a, folded: a.affine(scale: p[0], bias: p[1], mean: p[2], variance: p[3]))
}

func makeLRNKernel(_ a: LRN, _ node: Node, _ graph: Graph) throws -> HostKernel { LRNKernel(a) }

/// Inference BatchNormalization as one multiply-add per element: y = act(x * a[p] + b[p]) with
/// a = scale / sqrt(var + eps) and b = B - mean * a, p the parameter index (channel, or activation for spatial=0),
/// act the fused activation if any.
final class BatchNormKernel: Kernel {
    let attrs: BatchNorm
    /// (a, b) from constant parameters; nil when any is computed, and then made per run.
    let folded: (a: [Float], b: [Float])?
    init(_ a: BatchNorm, folded: (a: [Float], b: [Float])?) { attrs = a; self.folded = folded }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0)
        let (a, b) = folded ?? {
            let p = (1...4).map { UnsafeBufferPointer(inputs[$0]!.floats) }
            return attrs.affine(scale: p[0], bias: p[1], mean: p[2], variance: p[3])
        }()
        let params = a.count
        let batch = x.rank >= 2 ? x.shape[0] : x.count
        let inner = params == 0 || batch == 0 ? 0 : x.count / (batch * params)
        guard inner > 0 else { return [y] }
        let xp = x.pointer(Float.self), yp = y.pointer(Float.self), act = attrs.activation
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in
            if inner == 1 {
                parallelFor(batch, grain: Swift.max(1, 16384 / params)) { range in
                    for n in range {
                        let src = xp + n * params, dst = yp + n * params
                        for i in 0..<params { dst[i] = src[i] * a[i] + b[i] }
                        if let act { for i in 0..<params { dst[i] = act.apply(dst[i]) } }
                    }
                }
            } else {
                parallelFor(batch * params, grain: Swift.max(1, 16384 / inner)) { range in
                    for r in range {
                        let p = r % params
                        affineActivate(xp + r * inner, yp + r * inner, count: inner, scale: a[p], shift: b[p], activation: act)
                    }
                }
            }
        } }
        return [y]
    }
}

/// Training-mode BatchNormalization: per channel, the batch mean and population variance (two passes in float64 over
/// every batch row of that channel), then the same multiply-add as inference, and the running statistics.
final class BatchNormTrainingKernel: Kernel {
    let attrs: BatchNorm
    init(_ a: BatchNorm) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0)
        let p = (1...4).map { UnsafeBufferPointer(inputs[$0]!.floats) }
        let batch = x.shape[0], channels = x.rank >= 2 ? x.shape[1] : 1, inner = x.shape.dropFirst(2).reduce(1, *)
        guard p.allSatisfy({ $0.count == channels }) else {
            throw DLInferError.shape("BatchNormalization: scale, B, mean and var need \(channels) values each")
        }
        let count = Double(batch * inner), momentum = Double(attrs.momentum), eps = Double(attrs.epsilon)
        let xp = UnsafePointer(x.pointer(Float.self)), yp = y.pointer(Float.self)
        let runMean = outputs.wanted(1) ? try outputs.make(1) : nil, runVar = outputs.wanted(2) ? try outputs.make(2) : nil
        let rm = runMean?.pointer(Float.self), rv = runVar?.pointer(Float.self)
        parallelFor(channels) { r in
            for c in r {
                var sum = 0.0
                for b in 0..<batch { let row = xp + (b * channels + c) * inner; for i in 0..<inner { sum += Double(row[i]) } }
                let mean = sum / count
                var sq = 0.0
                for b in 0..<batch {
                    let row = xp + (b * channels + c) * inner
                    for i in 0..<inner { let d = Double(row[i]) - mean; sq += d * d }
                }
                let variance = sq / count
                let a = Double(p[0][c]) / (variance + eps).squareRoot(), shift = Double(p[1][c]) - mean * a
                let af = Float(a), bf = Float(shift)
                for b in 0..<batch {
                    let src = xp + (b * channels + c) * inner, dst = yp + (b * channels + c) * inner
                    for i in 0..<inner { dst[i] = src[i] * af + bf }
                }
                rm?[c] = Float(Double(p[2][c]) * momentum + mean * (1 - momentum))
                rv?[c] = Float(Double(p[3][c]) * momentum + variance * (1 - momentum))
            }
        }
        return [y, runMean, runVar]
    }
}

/// LRN: per (n, c), the squares of the neighbouring channels are summed into a row buffer, then
/// y = x * (bias + alpha/size * sum)^-beta.
final class LRNKernel: Kernel {
    let attrs: LRN
    init(_ a: LRN) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
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

extension CPUKernelFactory {
    func visit(_ a: BatchNorm, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeBatchNormKernel(a, node, graph)
    }

    func visit(_ a: LRN, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeLRNKernel(a, node, graph)
    }
}
