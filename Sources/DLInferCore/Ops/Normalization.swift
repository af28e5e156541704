/// BatchNormalization: Y = (X - mean) / sqrt(var + epsilon) * scale + B, per channel. X is N x C x D1... (or just N,
/// with C = 1). The four parameters have one value per channel; with the `spatial = 0` of opsets 7-8 they instead have
/// one value per element of C x D1 x ... (statistics per activation).
///
/// Inference form: mean and var are the stored statistics. Training form (`training_mode = 1`, opsets 14+): mean
/// and var are those of the batch (over every axis but the channel; var is the population variance, sum of squared
/// deviations / count), and the second and third outputs are the updated running statistics
/// `input_mean * momentum + batch_mean * (1 - momentum)` (likewise for var). A batch with no elements per channel
/// gives NaN statistics, as numpy's mean of nothing. The training outputs of opsets 7-13 (mean, var, saved_mean,
/// saved_var) are rejected by the importer.
public struct BatchNorm: OpAttributes {
    public var epsilon: Float
    /// false only for opsets 7-8 with `spatial = 0`.
    public var spatial: Bool
    /// Batch statistics and running-average outputs (opsets 14+ `training_mode = 1`).
    public var training: Bool
    public var momentum: Float
    /// Set by the FuseActivations pass (inference form only): applied to every output element.
    public var activation: Activation? = nil

    public init(epsilon: Float = 1e-5, spatial: Bool = true, training: Bool = false, momentum: Float = 0.9) {
        self.epsilon = epsilon; self.spatial = spatial; self.training = training; self.momentum = momentum
    }
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
        guard let xs = x.type.shape else {
            let stats = ValueType(params[2].type.dtype, nil)
            return training ? [x.type, stats, ValueType(params[3].type.dtype, nil)] : [x.type]
        }
        guard xs.count >= 1 else { throw DLInferError.shape("X must have rank >= 1, got a scalar") }
        let want = parameterShape(xs)
        for (p, role) in zip(params, ["scale", "B", "mean", "var"]) {
            guard let ps = p.type.shape else { continue }
            let matches = ps.count == want.count && zip(ps, want).allSatisfy { a, b in a.value == nil || b.value == nil || a == b }
            guard matches else {
                throw DLInferError.shape("\(role) has shape [\(ps.map(\.description).joined(separator: ","))]; [\(want.map(\.description).joined(separator: ","))] expected for X \(x.type)")
            }
        }
        guard training else { return [x.type] }
        guard momentum.isFinite else { throw DLInferError.model("momentum \(momentum) must be finite") }
        let stats = ValueType(params[2].type.dtype, want)
        return [x.type, stats, ValueType(params[3].type.dtype, want)]
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

/// LayerNormalization (opset 17) and RMSNormalization (opset 23) over the trailing axes `axis ..< rank`.
///
/// LayerNormalization: per row (the elements sharing the leading indices), Mean = Σx / n,
/// InvStdDev = 1 / sqrt(Σ(x - Mean)² / n + epsilon) (two passes), Y = (x - Mean) * InvStdDev * Scale + B.
/// RMSNormalization: Y = x / sqrt(Σx² / n + epsilon) * Scale, with no bias and no statistics outputs.
/// Stage one (the statistics and the normalized value) computes in `stash` (stash_type: float32, or float64 for
/// RMSNormalization); the scaling computes in the output's type. Scale and B broadcast unidirectionally to X (numpy
/// rules, aligned right; they may vary along leading axes too). The optional outputs Mean and InvStdDev have the
/// stash type and X's shape with the normalized axes set to 1. An empty row gives NaN statistics (0 / 0).
/// RMSNormalization's Y has Scale's type, which may differ from X's.
public struct LayerNorm: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public var axis: Int
    public var epsilon: Float
    /// The type stage one computes in.
    public var stash: DType
    /// RMSNormalization.
    public var rms: Bool

    public init(axis: Int = -1, epsilon: Float = 1e-5, stash: DType = .float32, rms: Bool = false) {
        self.axis = axis; self.epsilon = epsilon; self.stash = stash; self.rms = rms
    }

    public var opName: String { rms ? "RMSNormalization" : "LayerNormalization" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X"), scale = try inputs.required(1, "Scale")
        try requireDType(x.type.dtype, [.float32, .float64], "X")
        try requireDType(stash, [.float32, .float64], "stash_type")
        if rms { try requireDType(scale.type.dtype, [.float32, .float64], "scale") } else {
            try requireSameDType(scale.type.dtype, as: x.type.dtype, "Scale")
        }
        let bias = rms ? nil : inputs.optional(2)
        if let bias { try requireSameDType(bias.type.dtype, as: x.type.dtype, "B") }
        guard epsilon.isFinite else { throw DLInferError.model("epsilon \(epsilon) must be finite") }
        let yType = rms ? scale.type.dtype : x.type.dtype
        guard let shape = x.type.shape else { return [ValueType(yType, nil), ValueType(stash, nil), ValueType(stash, nil)] }
        let a = try normalizedAxis(rank: shape.count)
        for (p, role) in [(scale, "Scale"), (bias, "B")] {
            guard let p, let ps = p.type.shape else { continue }
            var fits = ps.count <= shape.count
            for (d, xd) in zip(ps, shape.suffix(ps.count)) {
                if let v = d.value, v != 1, let w = xd.value, v != w { fits = false }
            }
            if !fits { throw DLInferError.shape("\(role) \(p.type) does not broadcast to X \(x.type)") }
        }
        let stats = ValueType(stash, shape.enumerated().map { $0.offset < a ? $0.element : .fixed(1) })
        return [ValueType(yType, shape), stats, stats]
    }

    public func normalizedAxis(rank: Int) throws -> Int {
        guard rank > 0 else { throw DLInferError.shape("\(opName) needs an input of rank 1 or more") }
        return try normalizeAxis(axis, rank: rank)
    }

    /// Where a run reads Scale and B (`params`, nil where absent) for X of shape `x`: once per row (`perRow`: they
    /// vary only along the normalized axes, so `target` is the normalized shape) or per element of X (`target` is
    /// X's shape). Each parameter's shape comes back with its leading 1s beyond `target`'s rank dropped, to be
    /// broadcast to `target` by the kernel. Throws when one does not broadcast to X.
    public func parameterLayout(x: [Int], axis: Int, params: [[Int]?]) throws -> (perRow: Bool, target: [Int], shapes: [[Int]?]) {
        let perRow = params.allSatisfy { p in
            guard let p else { return true }
            return p.dropLast(Swift.min(p.count, x.count - axis)).allSatisfy { $0 == 1 }
        }
        let target = perRow ? Array(x[axis...]) : x
        let shapes = try params.map { p -> [Int]? in
            guard let p else { return nil }
            let fits = p.dropLast(target.count).allSatisfy { $0 == 1 }
            let trimmed = fits ? Array(p.suffix(Swift.min(p.count, target.count))) : p
            guard fits, (try? broadcastShapes([trimmed, target])) == target else {
                throw DLInferError.shape("\(opName): a parameter of shape \(p) does not broadcast to X \(x)")
            }
            return trimmed
        }
        return (perRow, target, shapes)
    }
}

/// GroupNormalization (opsets 18, 21) and InstanceNormalization: X is N x C x D1 ... Dn (rank >= 2); the channels
/// fall into `groups` groups of C / groups consecutive channels, and each (n, group) is normalized over its channels
/// and every spatial element: y = (x - mean) / sqrt(var + epsilon) * scale + bias, with the population variance
/// (two passes). InstanceNormalization is the case groups = C. Scale and bias have one value per channel ([C]), or
/// per group with GroupNormalization-18 (`paramsPerGroup`). Stage one computes in `stash` (stash_type, opset 21).
public struct GroupNorm: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    /// nil: InstanceNormalization (one group per channel).
    public var groups: Int?
    public var epsilon: Float
    public var stash: DType
    /// GroupNormalization-18: scale and bias are [groups].
    public var paramsPerGroup: Bool

    public init(groups: Int?, epsilon: Float = 1e-5, stash: DType = .float32, paramsPerGroup: Bool = false) {
        self.groups = groups; self.epsilon = epsilon; self.stash = stash; self.paramsPerGroup = paramsPerGroup
    }

    public var opName: String { groups == nil ? "InstanceNormalization" : "GroupNormalization" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X")
        try requireDType(x.type.dtype, [.float32, .float64], "X")
        try requireDType(stash, [.float32, .float64], "stash_type")
        guard epsilon.isFinite else { throw DLInferError.model("epsilon \(epsilon) must be finite") }
        if let groups, groups < 1 { throw DLInferError.model("num_groups \(groups) must be >= 1") }
        let params = try [(1, "scale"), (2, "bias")].map { i, role in (try inputs.required(i, role), role) }
        for (p, role) in params {
            try requireSameDType(p.type.dtype, as: x.type.dtype, role)
            if let r = p.type.rank, r != 1 { throw DLInferError.shape("\(role) must be 1-D, got \(p.type)") }
        }
        guard let shape = x.type.shape else { return [x.type] }
        guard shape.count >= 2 else { throw DLInferError.shape("X must be N x C x ..., got \(x.type)") }
        if let c = shape[1].value {
            let g = groups ?? c
            if c % g != 0 { throw DLInferError.shape("num_groups \(g) does not divide the \(c) channels") }
            let want = paramsPerGroup ? g : c
            for (p, role) in params {
                if let n = p.type.shape?.first?.value, n != want {
                    throw DLInferError.shape("\(role) has \(n) values; \(want) expected (one per \(paramsPerGroup ? "group" : "channel"))")
                }
            }
        }
        return [x.type]
    }

    /// A run's rows for X of `shape`: batch x groups rows of `perGroup` channels x `spatial` elements each, after
    /// checking that the groups divide the channels and that scale and bias hold one value per channel (per group
    /// in GroupNormalization-18).
    public func rows(_ shape: [Int], scale: Int, bias: Int) throws -> (batch: Int, groups: Int, perGroup: Int, spatial: Int) {
        let channels = shape[1], groups = self.groups ?? channels
        guard groups > 0, channels % groups == 0 else {
            throw DLInferError.shape("\(opName): num_groups \(groups) does not divide the \(channels) channels")
        }
        let params = paramsPerGroup ? groups : channels
        guard scale == params, bias == params else {
            throw DLInferError.shape("\(opName): scale and bias need \(params) values, have \(scale) and \(bias)")
        }
        return (shape[0], groups, channels / groups, shape[2...].reduce(1, *))
    }
}

/// MeanVarianceNormalization: y = (x - mean) / (sqrt(var) + 1e-9), mean and var (the population variance) taken
/// over `axes` (default [0, 2, 3]). The spec's function computes var as E[x²] - E[x]²; this uses two passes
/// (E[(x - mean)²]), which agrees up to rounding and never goes negative.
public struct MeanVarianceNorm: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public var axes: [Int]
    public init(axes: [Int] = [0, 2, 3]) { self.axes = axes }
    public var opName: String { "MeanVarianceNormalization" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X")
        try requireDType(x.type.dtype, [.float32, .float64], "X")
        if let r = x.type.rank { _ = try uniqueAxes(axes, rank: r, "axes") }
        return [x.type]
    }
}

/// LpNormalization: y = x / ‖x‖ₚ along `axis`, p = 1 (Σ|x|) or 2 (sqrt Σx²); where the norm is 0 the output is 0.
/// (onnx's reference sums x, not |x|, for p = 1; this follows the spec's Lp norm, as onnxruntime does.)
public struct LpNorm: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public var axis: Int
    public var p: Int
    public init(axis: Int = -1, p: Int = 2) { self.axis = axis; self.p = p }
    public var opName: String { "LpNormalization" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        try requireDType(x.type.dtype, [.float32, .float64], "input")
        guard p == 1 || p == 2 else { throw DLInferError.unsupported("p = \(p); only 1 and 2 are defined") }
        if let r = x.type.rank { _ = try normalizedAxis(rank: r) }
        return [x.type]
    }

    public func normalizedAxis(rank: Int) throws -> Int {
        guard rank > 0 else { throw DLInferError.shape("LpNormalization needs an input of rank 1 or more") }
        return try normalizeAxis(axis, rank: rank)
    }
}
