import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: the targets are checked first; then each sample's loss and
/// weight (and, for SCE, its log-softmax column) are computed in parallel in float64, and reduced in order.
final class LossKernel: Kernel {
    let attrs: Loss
    init(_ a: Loss) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, target = inputs[1]!, weight = inputs.count > 2 ? inputs[2] : nil
        guard x.rank >= 2 else { throw DLInferError.shape("the input must be [N, C, d1, ..., dk], got shape \(x.shape)") }
        let lossShape = [x.shape[0]] + x.shape.dropFirst(2)
        guard target.shape == lossShape else { throw DLInferError.shape("the targets have shape \(target.shape), \(lossShape) expected") }
        let classes = x.shape[1]
        if let w = weight, w.shape != [classes] { throw DLInferError.shape("the weights have shape \(w.shape), [\(classes)] expected") }
        for i in 0..<target.count {
            let c = target.integerValue(at: i)
            if c == attrs.ignoreIndex { continue }
            guard c >= 0, c < classes else {
                throw DLInferError.invalid("target \(c) (element \(i)) is not a class in [0, \(classes))\(attrs.ignoreIndex.map { " nor ignore_index \($0)" } ?? "")")
            }
        }
        try expectShape(outputs.shape(0), attrs.reduction == .none ? lossShape : [])
        switch x.dtype {
        case .float32: return try compute(x, target, weight, outputs, Float.self)
        case .float64: return try compute(x, target, weight, outputs, Double.self)
        default: throw DLInferError.unsupported("\(attrs.opName) on \(x.dtype)")
        }
    }

    private func compute<T: BinaryFloatingPoint>(_ x: Tensor, _ target: Tensor, _ weight: Tensor?, _ outputs: KernelOutputs,
                                                 _: T.Type) throws -> [Tensor?] {
        let classes = x.shape[1], inner = x.shape.dropFirst(2).reduce(1, *), samples = target.count
        let src = UnsafePointer(x.raw.assumingMemoryBound(to: T.self))
        let w = weight.map { UnsafePointer($0.raw.assumingMemoryBound(to: T.self)) }
        let logProb = attrs.softmax && outputs.wanted(1) ? try outputs.make(1) : nil
        let lp = logProb?.raw.assumingMemoryBound(to: T.self)
        let perSample = try outputs.make(.float64, [2, samples])
        let loss = perSample.pointer(Double.self), sampleWeight = loss + samples
        let softmax = attrs.softmax, ignore = attrs.ignoreIndex
        parallelFor(samples, grain: Swift.max(1, 4096 / Swift.max(classes, 1))) { r in
            for s in r {
                let n = s / inner, d = s % inner
                let column = src + n * classes * inner + d
                var shift = 0.0
                if softmax {
                    // log p = x - (max + log Σ exp(x - max)), over the class axis.
                    var m = -Double.infinity
                    for c in 0..<classes { m = Swift.max(m, Double(column[c * inner])) }
                    var sum = 0.0
                    for c in 0..<classes { sum += exp(Double(column[c * inner]) - m) }
                    shift = m + log(sum)
                    if let lp {
                        let out = lp + n * classes * inner + d
                        for c in 0..<classes { out[c * inner] = T(Double(column[c * inner]) - shift) }
                    }
                }
                let c = target.integerValue(at: s)
                if c == ignore { loss[s] = 0; sampleWeight[s] = 0; continue }
                let wc = w.map { Double($0[c]) } ?? 1
                loss[s] = -(Double(column[c * inner]) - shift) * wc
                sampleWeight[s] = wc
            }
        }
        let y = try outputs.make(0)
        let dst = y.raw.assumingMemoryBound(to: T.self)
        switch attrs.reduction {
        case .none:
            for s in 0..<samples { dst[s] = T(loss[s]) }
        case .sum, .mean:
            var total = 0.0, weights = 0.0
            for s in 0..<samples { total += loss[s]; weights += sampleWeight[s] }
            dst[0] = T(attrs.reduction == .sum ? total : total / weights)
        }
        withExtendedLifetime(perSample) {}
        return attrs.softmax ? [y, logProb] : [y]
    }
}

extension CPUKernelFactory {
    func visit(_ a: Loss, _ _: Node, _ _: Graph) -> HostKernel {
        LossKernel(a)
    }
}
