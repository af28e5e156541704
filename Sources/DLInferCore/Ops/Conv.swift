/// Conv (ONNX opsets 1 and 11; same attributes): Y[n, m] = B[m] + sum over the group's input channels and kernel
/// taps of W[m, c, k] * X[n, g*C/group + c, o*stride - padBegin + k*dilation], zero outside X. Any number of spatial
/// axes (X is N x C x D1 x ... x Dn, W is M x C/group x k1 x ... x kn). `kernel_shape`, when absent, comes from W.
public struct Conv: OpAttributes {
    public var kernelShape: [Int]?
    public var strides: [Int]?
    public var dilations: [Int]?
    public var pads: [Int]?
    public var autoPad: AutoPad
    public var group: Int
    /// Set by the FuseActivations pass: applied to every output element in the kernel's epilogue.
    public var activation: Activation? = nil
    /// Set by the FuseResidualAdd pass: input 3, of Y's shape, is added to every output after the bias and before
    /// the activation (a skip connection's Add, and the Relu after it, done while the output is in cache).
    public var residual = false

    public init(kernelShape: [Int]? = nil, strides: [Int]? = nil, dilations: [Int]? = nil, pads: [Int]? = nil,
                autoPad: AutoPad = .notSet, group: Int = 1, activation: Activation? = nil) {
        self.kernelShape = kernelShape; self.strides = strides; self.dilations = dilations; self.pads = pads
        self.autoPad = autoPad; self.group = group; self.activation = activation
    }
    public var opName: String { "Conv" }

    /// The window for a weight tensor with these spatial dims (kernel_shape must agree with them when given).
    public func window(weightSpatial: [Int]) throws -> Window {
        if let k = kernelShape, k != weightSpatial {
            throw DLInferError.model("kernel_shape \(k) does not match W's spatial dims \(weightSpatial)")
        }
        return try Window(kernel: weightSpatial, strides: strides, dilations: dilations, pads: pads, autoPad: autoPad)
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let (x, w, b) = try convInputs(inputs, group: group)
        let y = ValueType(x.type.dtype, try outputShape(x: x, w: w, b: b))
        if residual {
            let r = try inputs.required(3, "residual")
            try requireDType(r.type.dtype, [x.type.dtype], "residual")
            if let rs = r.type.shape, let ys = y.shape, rs.count != ys.count || zip(rs, ys).contains(where: {
                $0.value != nil && $1.value != nil && $0 != $1 }) {
                throw DLInferError.shape("the residual \(r.type) does not match Y \(y)")
            }
        }
        return [y]
    }

    /// Y's shape for these X, W and B (nil when no rank is known); shared with the integer convolutions.
    public func outputShape(x: TypedInput, w: TypedInput, b: TypedInput?) throws -> [Dim]? {
        let sig = try ConvSignature(x: x.type.shape, w: w.type.shape, kernelShape: kernelShape)
        guard let sig else { return nil }
        if let c = sig.x[1].value, let wc = sig.w[1].value, wc * group != c {
            throw DLInferError.shape("X has \(c) channels but W expects \(wc) per group x \(group) groups")
        }
        let m = sig.w[0]
        if let mv = m.value, mv % group != 0 {
            throw DLInferError.shape("W's \(mv) output channels are not divisible by group \(group)")
        }
        try checkBias(b, channels: m)
        let xs = Array(sig.x[2...])
        guard let k = sig.kernel else {
            // Kernel size only known at run time (W is an input of symbolic shape): check the attributes' lengths.
            _ = try Window(kernel: Array(repeating: 1, count: sig.spatial), strides: strides, dilations: dilations,
                           pads: pads, autoPad: autoPad)
            return [sig.x[0], m] + xs.map { _ in Dim.unknown }
        }
        let win = try window(weightSpatial: k)
        return [sig.x[0], m] + (try win.outputDims(xs))
    }
}

/// ConvTranspose (opsets 1 and 11): the gradient of Conv with respect to its input. Each input pixel scatters
/// X[n, c, i] * W[c, m, k] into Y[n, g*M/group + m, i*stride - padBegin + k*dilation]. W is C x M/group x k1 x ... x kn.
/// The output size is either given (`output_shape`, which then decides the pads) or
/// stride*(in-1) + output_padding + (k-1)*dilation + 1 - padBegin - padEnd.
public struct ConvTranspose: OpAttributes {
    public var kernelShape: [Int]?
    public var strides: [Int]?
    public var dilations: [Int]?
    public var pads: [Int]?
    public var autoPad: AutoPad
    public var group: Int
    public var outputPadding: [Int]?
    /// Spatial sizes only (a full N x C x ... shape is cut to its spatial part by the importer).
    public var outputShape: [Int]?

    public init(kernelShape: [Int]? = nil, strides: [Int]? = nil, dilations: [Int]? = nil, pads: [Int]? = nil,
                autoPad: AutoPad = .notSet, group: Int = 1, outputPadding: [Int]? = nil, outputShape: [Int]? = nil) {
        self.kernelShape = kernelShape; self.strides = strides; self.dilations = dilations; self.pads = pads
        self.autoPad = autoPad; self.group = group; self.outputPadding = outputPadding; self.outputShape = outputShape
    }
    public var opName: String { "ConvTranspose" }

    /// Output sizes and leading pads (may be negative when output_shape asks for more than the natural size: the
    /// extra border then holds only the bias).
    public func resolve(input: [Int], weightSpatial k: [Int]) throws -> (output: [Int], padBegin: [Int]) {
        let (win, adj) = try validated(weightSpatial: k)
        let n = k.count
        var out = [Int](), pb = [Int]()
        for i in 0..<n {
            let (scaled, overflow) = win.strides[i].multipliedReportingOverflow(by: input[i] - 1)
            guard !overflow, scaled <= Int.max / 2 else { throw DLInferError.shape("axis \(i): the output size overflows") }
            let natural = scaled + adj[i] + win.extent(i)
            let target: Int? = outputShape.map { $0[i] } ?? ((autoPad == .sameUpper || autoPad == .sameLower) ? input[i] * win.strides[i] : nil)
            if let target {
                let total = natural - target
                let half = floorDiv(total, 2)
                out.append(target)
                pb.append(autoPad == .sameUpper ? half : total - half)
            } else {
                out.append(natural - win.pads[i] - win.pads[n + i])
                pb.append(win.pads[i])
            }
            guard out[i] >= 1 else { throw DLInferError.shape("axis \(i): the output would be empty") }
        }
        return (out, pb)
    }

    /// The attributes checked against the kernel's rank; the window carries strides, dilations and explicit pads.
    public func validated(weightSpatial k: [Int]) throws -> (Window, [Int]) {
        let n = k.count
        if let ks = kernelShape, ks != k {
            throw DLInferError.model("kernel_shape \(ks) does not match W's spatial dims \(k)")
        }
        let win = try Window(kernel: k, strides: strides, dilations: dilations, pads: pads, autoPad: autoPad)
        let adj = outputPadding ?? Array(repeating: 0, count: n)
        guard adj.count == n else { throw DLInferError.model("output_padding has \(adj.count) values; \(n) expected") }
        for i in 0..<n where adj[i] < 0 || adj[i] >= Swift.max(win.strides[i], win.dilations[i]) {
            throw DLInferError.model("output_padding \(adj) must be >= 0 and smaller than the stride or dilation of its axis")
        }
        if let os = outputShape {
            guard os.count == n else { throw DLInferError.model("output_shape has \(os.count) spatial values; \(n) expected") }
            guard os.allSatisfy({ $0 >= 1 && $0 <= Window.limit }) else {
                throw DLInferError.model("output_shape \(os) must all be between 1 and \(Window.limit)")
            }
        }
        return (win, adj)
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let (x, w, b) = try convInputs(inputs, group: group)
        let sig = try ConvSignature(x: x.type.shape, w: w.type.shape, kernelShape: kernelShape)
        guard let sig else { return [ValueType(x.type.dtype, nil)] }
        if let c = sig.x[1].value, let wc = sig.w[0].value, wc != c {
            throw DLInferError.shape("X has \(c) channels but W has \(wc) input channels")
        }
        if let c = sig.x[1].value, c % group != 0 {
            throw DLInferError.shape("X's \(c) channels are not divisible by group \(group)")
        }
        let m = dimMap(sig.w[1]) { $0 * group }
        try checkBias(b, channels: m)
        let xs = Array(sig.x[2...])
        let known = xs.compactMap(\.value)
        guard let k = sig.kernel else {
            return [ValueType(x.type.dtype, [sig.x[0], m] + (outputShape?.map { Dim.fixed($0) } ?? xs.map { _ in .unknown }))]
        }
        guard known.count == xs.count else {
            // Validate the attributes now even though the sizes wait for the input.
            _ = try validated(weightSpatial: k)
            return [ValueType(x.type.dtype, [sig.x[0], m] + (outputShape?.map { Dim.fixed($0) } ?? xs.map { _ in .unknown }))]
        }
        let (out, _) = try resolve(input: known, weightSpatial: k)
        return [ValueType(x.type.dtype, [sig.x[0], m] + out.map { .fixed($0) })]
    }
}

/// Python-style division rounding toward minus infinity (the spec's pad split for negative totals).
func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

/// X's and W's shapes with their common rank checked, and the kernel's spatial size when known.
/// X, W and the optional B of Conv and ConvTranspose, with the element types and group checked.
func convInputs(_ inputs: [TypedInput?], group: Int) throws -> (x: TypedInput, w: TypedInput, b: TypedInput?) {
    let x = try inputs.required(0, "X"), w = try inputs.required(1, "W"), b = inputs.optional(2)
    try requireDType(x.type.dtype, [.float32], "X")
    try requireDType(w.type.dtype, [x.type.dtype], "W")
    if let b { try requireDType(b.type.dtype, [x.type.dtype], "B") }
    guard group >= 1 else { throw DLInferError.model("group \(group) must be >= 1") }
    return (x, w, b)
}

struct ConvSignature {
    let x: [Dim]
    let w: [Dim]
    let kernel: [Int]?
    var spatial: Int { x.count - 2 }

    /// nil when neither X's nor W's rank is known.
    init?(x xs: [Dim]?, w ws: [Dim]?, kernelShape: [Int]?) throws {
        guard let rank = xs?.count ?? ws?.count ?? kernelShape.map({ $0.count + 2 }) else { return nil }
        guard rank >= 3 else {
            throw DLInferError.shape("X must have rank >= 3 (N, C and at least one spatial axis), got \(rank)")
        }
        if let xs, xs.count != rank { throw DLInferError.shape("X has rank \(xs.count) but W has rank \(rank)") }
        if let ws, ws.count != rank { throw DLInferError.shape("W has rank \(ws.count) but X has rank \(rank)") }
        if let k = kernelShape, k.count != rank - 2 {
            throw DLInferError.model("kernel_shape has \(k.count) values; X has \(rank - 2) spatial axes")
        }
        x = xs ?? Array(repeating: .unknown, count: rank)
        w = ws ?? Array(repeating: .unknown, count: rank)
        let fromW = w[2...].map(\.value)
        kernel = fromW.allSatisfy { $0 != nil } ? fromW.map { $0! } : kernelShape
    }
}

/// B must be a vector of one value per output channel.
func checkBias(_ b: TypedInput?, channels: Dim) throws {
    guard let b, let bs = b.type.shape else { return }
    guard bs.count == 1 else { throw DLInferError.shape("B must be a vector, got rank \(bs.count)") }
    if let n = bs[0].value, let m = channels.value, n != m {
        throw DLInferError.shape("B has \(n) values for \(m) output channels")
    }
}
