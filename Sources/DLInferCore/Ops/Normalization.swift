/// BatchNormalization in inference form: Y = (X - mean) / sqrt(var + epsilon) * scale + B with the stored statistics.
/// X is N x C x D1... (or just N, with C = 1). The four parameters have one value per channel; with the
/// `spatial = 0` of opsets 7-8 they instead have one value per element of C x D1 x ... (statistics per activation).
/// Training mode (batch statistics and running-average outputs) is rejected by the importer.
public struct BatchNorm: OpAttributes {
    public var epsilon: Float
    /// false only for opsets 7-8 with `spatial = 0`.
    public var spatial: Bool

    public init(epsilon: Float = 1e-5, spatial: Bool = true) { self.epsilon = epsilon; self.spatial = spatial }
    public var opName: String { "BatchNormalization" }

    /// Shape every parameter must have for an input of this shape.
    public func parameterShape(_ x: [Dim]) -> [Dim] {
        if x.count < 2 { return [.fixed(1)] }
        return spatial ? [x[1]] : Array(x[1...])
    }

    /// The per-parameter scale and shift the normalization amounts to: y = x * a + b with a = scale / sqrt(var + eps)
    /// and b = B - mean * a. Used by the CPU kernel and by the pass that folds it into a Conv.
    public func affine(scale: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>,
                       mean: UnsafeBufferPointer<Float>, variance: UnsafeBufferPointer<Float>) -> (a: [Float], b: [Float]) {
        var a = [Float](repeating: 0, count: scale.count), b = a
        for i in 0..<scale.count {
            a[i] = scale[i] / (variance[i] + epsilon).squareRoot()
            b[i] = bias[i] - mean[i] * a[i]
        }
        return (a, b)
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X")
        try requireDType(x.type.dtype, [.float32], "X")
        guard epsilon.isFinite, epsilon >= 0 else { throw DLInferError.model("epsilon \(epsilon) must be finite and >= 0") }
        let params = try ["scale", "B", "mean", "var"].enumerated().map { i, role in try inputs.required(i + 1, role) }
        for (p, role) in zip(params, ["scale", "B", "mean", "var"]) {
            try requireDType(p.type.dtype, [.float32], role)
        }
        guard let xs = x.type.shape else { return [x.type] }
        guard xs.count >= 1 else { throw DLInferError.shape("X must have rank >= 1, got a scalar") }
        let want = parameterShape(xs)
        for (p, role) in zip(params, ["scale", "B", "mean", "var"]) {
            guard let ps = p.type.shape else { continue }
            let matches = ps.count == want.count && zip(ps, want).allSatisfy { a, b in a.value == nil || b.value == nil || a == b }
            guard matches else {
                throw DLInferError.shape("\(role) has shape [\(ps.map(\.description).joined(separator: ","))]; [\(want.map(\.description).joined(separator: ","))] expected for X \(x.type)")
            }
        }
        return [x.type]
    }
}

/// Local response normalization across channels: Y = X / (bias + alpha / size * sum of X^2 over the channels
/// max(0, c - floor((size-1)/2)) ... min(C-1, c + ceil((size-1)/2)))^beta, for an N x C x D1... input.
public struct LRN: OpAttributes {
    public var size: Int
    public var alpha: Float
    public var beta: Float
    public var bias: Float

    public init(size: Int, alpha: Float = 1e-4, beta: Float = 0.75, bias: Float = 1) {
        self.size = size; self.alpha = alpha; self.beta = beta; self.bias = bias
    }
    public var opName: String { "LRN" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X")
        try requireDType(x.type.dtype, [.float32], "X")
        guard size >= 1 else { throw DLInferError.model("size \(size) must be >= 1") }
        if let r = x.type.rank, r < 2 { throw DLInferError.shape("X must have rank >= 2 (N, C, ...), got \(r)") }
        return [x.type]
    }
}
