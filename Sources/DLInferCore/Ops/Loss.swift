/// NegativeLogLikelihoodLoss (opsets 12, 13, 22) and SoftmaxCrossEntropyLoss (opsets 12, 13): for an input
/// `[N, C, d1, ..., dk]` (k ≥ 0) and int32/int64 targets `[N, d1, ..., dk]`, the loss of sample (n, d) with class
/// c = target[n, d] is `-x[n, c, d] * weight[c]` (weight: the optional input 2 of C values; 1 without it), where x is
/// the input itself (NLL: log-probabilities) or its log-softmax over the class axis (SCE: scores, computed stably as
/// `s - max - log Σ exp(s - max)`). A target equal to `ignore_index` gives loss 0 and weight 0; any other target
/// outside [0, C) is an error. `reduction`: "none" gives the losses `[N, d1, ..., dk]`; "sum" their sum; "mean" (the
/// default) their sum divided by the sum of the weights of the samples not ignored (the count of those samples without
/// weights, as PyTorch and onnxruntime do), which is NaN when that sum is 0 (every sample ignored, or none at all).
/// SCE's optional second output is the log-softmax `[N, C, d1, ..., dk]`. Sums are taken in float64 and rounded once.
public struct Loss: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public enum Reduction: String, Sendable, CaseIterable { case none, sum, mean }
    public var softmax: Bool
    public var reduction: Reduction
    public var ignoreIndex: Int?
    public init(softmax: Bool, reduction: Reduction, ignoreIndex: Int?) {
        self.softmax = softmax; self.reduction = reduction; self.ignoreIndex = ignoreIndex
    }
    public var opName: String { softmax ? "SoftmaxCrossEntropyLoss" : "NegativeLogLikelihoodLoss" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, softmax ? "scores" : "input"), target = try inputs.required(1, softmax ? "labels" : "target")
        let dtype = x.type.dtype
        try requireDType(dtype, [.float32, .float64], softmax ? "scores" : "input")
        try requireDType(target.type.dtype, [.int32, .int64], softmax ? "labels" : "target")
        if let w = inputs.optional(2) {
            try requireSameDType(w.type.dtype, as: dtype, softmax ? "weights" : "weight")
            if let r = w.type.rank, r != 1 { throw DLInferError.shape("the weights must be 1-D, got \(w.type)") }
            if let c = w.type.shape?[0].value, let xc = x.type.shape?.dropFirst().first?.value, c != xc {
                throw DLInferError.shape("\(c) weights for \(xc) classes")
            }
        }
        var lossShape: [Dim]? = nil
        if let s = x.type.shape {
            guard s.count >= 2 else { throw DLInferError.shape("the input must be [N, C, d1, ..., dk], got \(x.type)") }
            lossShape = [s[0]] + s.dropFirst(2)
        }
        if let t = target.type.shape {
            if let l = lossShape {
                guard t.count == l.count else { throw DLInferError.shape("the targets \(target.type) do not match the input \(x.type)") }
                for (a, b) in zip(t, l) where a.value != nil && b.value != nil && a != b {
                    throw DLInferError.shape("the targets \(target.type) do not match the input \(x.type)")
                }
            } else {
                lossShape = t
            }
        }
        let loss = ValueType(dtype, reduction == .none ? lossShape : [])
        return softmax ? [loss, ValueType(dtype, x.type.shape)] : [loss]
    }
}
