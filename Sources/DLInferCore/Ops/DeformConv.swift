/// DeformConv (opsets 19 and 22): a Conv whose every kernel tap samples X at its regular position plus a learned
/// displacement, optionally scaled by a mask (deformable convolution v1 and v2). X is [N, C, D1..Dr], W
/// [M, C/group, k1..kr], offset [N, offset_group * K * r, O1..Or] with K = k1 * ... * kr (per offset group, per
/// kernel position row-major, the r displacements outermost axis first), B [M] and mask
/// [N, offset_group * K, O1..Or] optional.
///
/// Y[n, m, o] = B[m] + sum over the group's channels c and kernel positions k of
/// W[m, c, k] * mask[n, g(c), k, o] * X~[n, c](o * stride - padBegin + k * dilation + offset[n, g(c), k, :, o]),
/// where g(c) is channel c's offset group (C / offset_group channels each) and X~ interpolates X linearly between
/// the 2^r neighbouring pixels, a pixel outside X counting as 0. The output sizes are Conv's,
/// (D + padBegin + padEnd - dilation * (k - 1) - 1) / stride + 1; offset and mask must have them.
public struct DeformConv: OpAttributes {
    public var kernelShape: [Int]?
    public var strides: [Int]?
    public var dilations: [Int]?
    public var pads: [Int]?
    public var group: Int
    public var offsetGroup: Int
    public init(kernelShape: [Int]? = nil, strides: [Int]? = nil, dilations: [Int]? = nil, pads: [Int]? = nil,
                group: Int = 1, offsetGroup: Int = 1) {
        self.kernelShape = kernelShape; self.strides = strides; self.dilations = dilations; self.pads = pads
        self.group = group; self.offsetGroup = offsetGroup
    }
    public var opName: String { "DeformConv" }

    public func window(weightSpatial: [Int]) throws -> Window {
        if let k = kernelShape, k != weightSpatial {
            throw DLInferError.model("kernel_shape \(k) does not match W's spatial dims \(weightSpatial)")
        }
        return try Window(kernel: weightSpatial, strides: strides, dilations: dilations, pads: pads, autoPad: .notSet)
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X"), w = try inputs.required(1, "W"), offset = try inputs.required(2, "offset")
        let b = inputs.optional(3), mask = inputs.optional(4)
        try requireDType(x.type.dtype, [.float32], "X")
        try requireDType(w.type.dtype, [.float32], "W")
        try requireDType(offset.type.dtype, [.float32], "offset")
        if let b { try requireDType(b.type.dtype, [.float32], "B") }
        if let mask { try requireDType(mask.type.dtype, [.float32], "mask") }
        guard group >= 1, offsetGroup >= 1 else { throw DLInferError.model("group \(group) and offset_group \(offsetGroup) must be >= 1") }
        guard let sig = try ConvSignature(x: x.type.shape, w: w.type.shape, kernelShape: kernelShape) else {
            return [ValueType(x.type.dtype, nil)]
        }
        if let c = sig.x[1].value {
            if let wc = sig.w[1].value, wc * group != c {
                throw DLInferError.shape("X has \(c) channels but W expects \(wc) per group x \(group) groups")
            }
            guard c % offsetGroup == 0 else { throw DLInferError.shape("X's \(c) channels are not divisible by offset_group \(offsetGroup)") }
        }
        let m = sig.w[0]
        if let mv = m.value, mv % group != 0 { throw DLInferError.shape("W's \(mv) output channels are not divisible by group \(group)") }
        try checkBias(b, channels: m)
        guard let k = sig.kernel else {
            return [ValueType(x.type.dtype, [sig.x[0], m] + sig.x[2...].map { _ in Dim.unknown })]
        }
        let out = try window(weightSpatial: k).outputDims(Array(sig.x[2...]))
        let taps = k.reduce(1, *)
        let y = [sig.x[0], m] + out
        try checkPerTap(offset, "offset", channels: offsetGroup * taps * k.count, y)
        if let mask { try checkPerTap(mask, "mask", channels: offsetGroup * taps, y) }
        return [ValueType(x.type.dtype, y)]
    }

    /// offset and mask: [N, channels, output spatial dims].
    private func checkPerTap(_ t: TypedInput, _ role: String, channels: Int, _ y: [Dim]) throws {
        guard let s = t.type.shape else { return }
        let want = [y[0], .fixed(channels)] + y[2...]
        guard s.count == want.count, !zip(s, want).contains(where: { $0.value != nil && $1.value != nil && $0 != $1 }) else {
            throw DLInferError.shape("\(role) is \(dimsText(s)); \(dimsText(want)) expected")
        }
    }
}
