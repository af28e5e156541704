import DLInferCore

/// Conv over 1 to 3 spatial axes (a 1-D convolution runs as a 2-D one of height 1), on one of four paths chosen by
/// the weights' shape: 1x1 stride-1 unpadded convolutions are one GEMM per group; depthwise ones (one input channel
/// per group, any multiplier) run their own kernel; the rest run the direct implicit-GEMM kernel (conv_direct.cl) on
/// weights re-laid-out once here when they are constants, or on the device before each run when they are not; 3-D
/// ones gather a column matrix (conv_im2col_3d) and run a GEMM per group on it. Bias and the fused activation are
/// applied in every path's epilogue, and so is a fused residual (a skip connection's Add) in the depthwise and direct
/// paths; after the GEMM paths the Add kernel adds it and applies the activation.
final class ConvCL: Kernel {
    private let a: Conv, q: CLQueue
    private let activation: CLActivation
    /// The activation the GEMM paths apply: none when the residual's Add applies it after them.
    private let gemmActivation: Activation?
    private let residualAdd: BinaryCL?
    private let constantWeights: Tensor?
    /// Per weight shape (a single one unless W is a computed input whose shape changes).
    private var paths: [[Int]: ConvPath] = [:]
    private var gemm: CLGemm?
    /// Neighbouring outputs of a row each conv_depthwise work-item computes (DW_RUN in conv.cl, defined from here).
    static let depthwiseRun = 4
    /// W when the direct path packed it (a constant): the session then never uploads the original.
    private(set) var prepackedInputs: Set<Int> = []

    init(_ a: Conv, _ node: Node, _ graph: Graph, _ q: CLQueue) throws {
        self.a = a
        self.q = q
        activation = CLActivation(a.activation)
        gemmActivation = a.residual ? nil : a.activation
        residualAdd = a.residual ? try BinaryCL(op: .add, q) : nil
        constantWeights = node.inputs[1].flatMap { graph.constants[$0] }
        var packed = false
        if let shape = constantWeights?.shape ?? node.inputs[1].flatMap({ graph.values[$0].type.fixedShape }) {
            let p = try path(shape)
            paths[shape] = p
            if case .direct(let d) = p, d.packed != nil { packed = true }
        }
        prepackedInputs = packed ? [1] : []
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        // W itself is absent when it was prepacked (the direct path with constant weights).
        let x = inputs[0], w = inputs.device[1], wShape = inputs.shape(1)
        let bias = inputs.has(2) ? inputs[2] : nil
        let y = try q.allocate(.float32, outputs.shape(0))
        guard y.count > 0 else { return [y] }
        let p = try outputs.prepared { try prepare(x.shape, wShape, y.shape) }
        let residual = a.residual ? inputs[3] : nil
        if let residual, residual.shape != y.shape {
            throw DLInferError.shape("the residual \(residual.shape) added to Conv's output does not match Y \(y.shape)")
        }
        let epilogue = ConvEpilogue(bias: bias, residual: residual, activation: activation)
        switch p.path {
        case .pointwise: try pointwise(x, w!, bias, y, p.geometry)
        case .depthwise: try depthwise(x, w!, epilogue, y, p.geometry); return [y]
        case .direct(let d): try direct(x, w, d, epilogue, y, p.geometry); return [y]
        case .volumetric: try volumetric(x, w!, bias, y, win: p.window, out: p.out, padBegin: p.padBegin)
        }
        guard let residualAdd, let residual else { return [y] }
        let sum = try residualAdd.apply(y, residual, y.shape, act: activation)
        // The queue is in order: whoever gets y's buffer from the pool next runs after the Add.
        q.recycle(y.buffer)
        return [sum]
    }

    /// What a run derives from the shapes alone, prepared once per plan.
    private struct Prepared {
        let path: ConvPath, window: Window, out: [Int], padBegin: [Int]
        /// The 1-D and 2-D paths' view of the sizes (the 3-D path takes them as they are).
        let geometry: ConvGeometry
    }

    private func prepare(_ x: [Int], _ wShape: [Int], _ y: [Int]) throws -> Prepared {
        try requireInt32Indexing(x, wShape, y)
        let path: ConvPath
        if let p = paths[wShape] { path = p } else { path = try self.path(wShape); paths[wShape] = path }
        let win = try a.window(weightSpatial: Array(wShape[2...]))
        let (out, padBegin) = try win.resolve(Array(x[2...]))
        return Prepared(path: path, window: win, out: out, padBegin: padBegin,
                        geometry: ConvGeometry(x: x, w: wShape, out: out, padBegin: padBegin, window: win, groups: a.group))
    }

    /// The path for weights of this shape, with the direct path's tap table and (constant W) packed weights uploaded.
    private func path(_ wShape: [Int]) throws -> ConvPath {
        let win = try a.window(weightSpatial: Array(wShape[2...]))
        if wShape.count == 5 { return .volumetric }
        let cg = wShape[1]
        if cg == 1 { return .depthwise }
        let unpadded = win.autoPad != .notSet || win.pads.allSatisfy { $0 == 0 }
        if win.kernel.allSatisfy({ $0 == 1 }) && win.strides.allSatisfy({ $0 == 1 }) && unpadded {
            return .pointwise
        }
        let mg = wShape[0] / a.group
        let kernel = planar(win.kernel, 1), dil = planar(win.dilations, 1)
        let k = cg * kernel[0] * kernel[1]
        // At least one step each, so that even a layer without input channels has real buffers.
        let kp = max(DirectConv.kStep, roundUp(k, DirectConv.kStep)), mp = max(DirectConv.mStep, roundUp(mg, DirectConv.mStep))
        // Where each column entry (c, ky, kx) lies relative to the window origin; padded entries never inside.
        var taps = [Int32](repeating: 0, count: 4 * kp)
        for e in 0..<kp {
            if e < k {
                let c = e / (kernel[0] * kernel[1]), r = e % (kernel[0] * kernel[1])
                taps[4 * e] = Int32(c)
                taps[4 * e + 1] = Int32(r / kernel[1] * dil[0])
                taps[4 * e + 2] = Int32(r % kernel[1] * dil[1])
            } else {
                taps[4 * e + 1] = DirectConv.outside
                taps[4 * e + 2] = DirectConv.outside
            }
        }
        var packed: DeviceTensor? = nil
        if let w = constantWeights, w.shape == wShape {
            var p = [Float](repeating: 0, count: a.group * kp * mp)
            let src = w.floats
            for g in 0..<a.group {
                for m in 0..<mg {
                    for e in 0..<k { p[(g * kp + e) * mp + m] = src[(g * mg + m) * k + e] }
                }
            }
            packed = try q.upload(Tensor(p, shape: [p.count]))
        }
        let d = DirectConv(taps: try q.upload(Tensor(taps, shape: [taps.count])), packed: packed, k: k, kp: kp, mp: mp)
        return .direct(d)
    }

    /// Y[n, group] = W[group] (M/group x C/group) x X[n, group] (C/group x pixels), batched over the images.
    private func pointwise(_ x: DeviceTensor, _ w: DeviceTensor, _ bias: DeviceTensor?, _ y: DeviceTensor, _ g: ConvGeometry) throws {
        if gemm == nil { gemm = try CLGemm(q) }
        let hw = g.inH * g.inW
        for grp in 0..<g.groups {
            try gemm!.enqueue(m: g.mg, n: hw, k: g.cg, batch: g.batch,
                              a: GemmOperand(tensor: w, offset: grp * g.mg * g.cg, ld: g.cg),
                              b: GemmOperand(tensor: x, offset: grp * g.cg * hw, ld: hw, batchStride: g.channels * hw),
                              c: GemmOperand(tensor: y, offset: grp * g.mg * hw, ld: hw, batchStride: g.m * hw),
                              bias: bias.map { GemmBias(tensor: $0, offset: grp * g.mg, rowStride: 1, colStride: 0) },
                              activation: gemmActivation)
        }
    }

    /// 3-D: per chunk of images, col = conv_im2col_3d(X), then Y[b, group] = W[group] (M/group x K) x col[b, group]
    /// (K x output pixels), K = C/group x taps, with bias and activation in the GEMM's epilogue.
    private func volumetric(_ x: DeviceTensor, _ w: DeviceTensor, _ bias: DeviceTensor?, _ y: DeviceTensor, win: Window,
                            out: [Int], padBegin: [Int]) throws {
        if gemm == nil { gemm = try CLGemm(q) }
        let batch = x.shape[0], channels = x.shape[1], m = w.shape[0], cg = w.shape[1], groups = a.group, mg = m / groups
        let taps = win.kernel.reduce(1, *), k = cg * taps, pixels = out.reduce(1, *)
        let perImage = groups * k * pixels
        guard perImage <= Int(Int32.max) else {
            throw DLInferError(.unsupported, "Conv's column matrix of \(perImage) elements per image exceeds the 32-bit indexing of the OpenCL kernels")
        }
        let chunk = max(1, min(batch, columnBufferFloats / max(perImage, 1)))
        let col = try q.allocate(.float32, [chunk * perImage])
        let gather = try q.kernel("conv", "conv_im2col_3d")
        let geometry = WindowArgs(input: Array(x.shape[2...]), output: out, window: win, padBegin: padBegin)
        for b0 in stride(from: 0, to: batch, by: chunk) {
            let nb = min(chunk, batch - b0), total = nb * perImage
            try q.launch1D(gather, total, [.buffer(x), .buffer(col), .int(total), .int(b0), .int(channels), .int(cg),
                                           .int(groups)] + geometry.args)
            for grp in 0..<groups {
                try gemm!.enqueue(m: mg, n: pixels, k: k, batch: nb,
                                  a: GemmOperand(tensor: w, offset: grp * mg * k, ld: k),
                                  b: GemmOperand(tensor: col, offset: grp * k * pixels, ld: pixels, batchStride: perImage),
                                  c: GemmOperand(tensor: y, offset: (b0 * m + grp * mg) * pixels, ld: pixels, batchStride: m * pixels),
                                  bias: bias.map { GemmBias(tensor: $0, offset: grp * mg, rowStride: 1, colStride: 0) },
                                  activation: gemmActivation)
            }
        }
        // The queue is in order: whoever gets this buffer from the pool next runs after the GEMMs.
        q.recycle(col.buffer)
    }

    private func depthwise(_ x: DeviceTensor, _ w: DeviceTensor, _ epilogue: ConvEpilogue, _ y: DeviceTensor, _ g: ConvGeometry) throws {
        let k = try q.kernel("conv", "conv_depthwise")
        let runs = (g.outW + ConvCL.depthwiseRun - 1) / ConvCL.depthwiseRun, total = g.batch * g.m * g.outH * runs
        try q.launch1D(k, total, [.buffer(x), .buffer(w), .buffer(y)] + epilogue.args(y)
            + [.int(g.channels), .int(g.m), .int(g.mg), g.inputSize, g.outputSize, .int2(g.kernel), .int2(g.strides),
               .int2(g.dilations), .int2(g.pads), .int(runs), .int(total)])
    }

    private func direct(_ x: DeviceTensor, _ w: DeviceTensor?, _ d: DirectConv, _ epilogue: ConvEpilogue, _ y: DeviceTensor,
                        _ g: ConvGeometry) throws {
        let packed: DeviceTensor
        if let p = d.packed {
            packed = p
        } else {
            packed = try q.allocate(.float32, [g.groups * d.kp * d.mp])
            try q.launch(try q.kernel("conv", "conv_pack_weights"), global: [d.mp, d.kp, g.groups],
                         [.buffer(w!), .buffer(packed), .int(d.k), .int(g.mg), .int(d.kp), .int(d.mp)])
        }
        let n = g.batch * g.outH * g.outW
        let (k, tile, slice) = try directKernel(pixels: n, channels: g.mg, groups: g.groups, taps: d.kp)
        let splits = (d.kp + slice - 1) / slice
        let partial = splits > 1 ? try q.scratch([splits * y.count]) : y
        try q.launch(k, global: [(n + tile.tn - 1) / tile.tn * tile.d, (g.mg + tile.tm - 1) / tile.tm * tile.d, g.groups * splits],
                     local: [tile.d, tile.d, 1],
                     [.buffer(x), .buffer(packed), .buffer(d.taps), .buffer(y)] + epilogue.args(y)
                        + [.int(g.channels), .int(g.cg), .int(g.m), .int(g.mg), .int(d.kp), .int(d.mp), g.inputSize,
                           g.outputSize, .int2(g.strides), .int2(g.pads), .int(n), .int(slice), .buffer(partial)])
        if splits > 1 {
            try q.launch(try q.kernel("conv_direct", "conv_direct_reduce", defines: tile.defines), global: [n, g.m],
                         local: [min(n, 64), 1], [.buffer(partial), .int(splits), .buffer(y)] + epilogue.args(y)
                            + [.int(g.m), .int(n), .int(g.outH * g.outW)])
            q.recycle(partial.buffer)
        }
        // The queue is in order: a later kernel that gets these buffers from the pool runs after this one.
        if d.packed == nil { q.recycle(packed.buffer) }
    }

    /// The tile shape and the taps per work-group (a multiple of 16; less than `taps` splits them). Big tiles reuse
    /// each staged value most, but a layer needs about two work-groups per compute unit to fill the device: first
    /// narrower pixel tiles, then splitting the taps (each slice at least 4 steps), then smaller tiles.
    private func directKernel(pixels: Int, channels: Int, groups: Int, taps: Int) throws -> (CLKernel, DirectTile, Int) {
        var tile = DirectTile(d: 16, rm: channels > 32 ? 4 : channels > 16 ? 2 : 1, rn: 4)
        let target = 2 * q.ctx.device.computeUnits
        while tile.rn > 2 && tile.workGroups(pixels, channels, groups) < target { tile.rn /= 2 }
        var slice = taps
        let wgs = tile.workGroups(pixels, channels, groups)
        if wgs < target {
            let steps = taps / DirectConv.kStep, want = (target + wgs - 1) / wgs
            slice = max(4, (steps + want - 1) / want) * DirectConv.kStep
        }
        let splits = (taps + slice - 1) / slice
        while tile.workGroups(pixels, channels, groups) * splits < target {
            if tile.rn > 1 { tile.rn /= 2 } else if tile.rm > 1 { tile.rm /= 2 } else if tile.d > 8 { tile.d = 8 } else { break }
        }
        var k = try q.kernel("conv_direct", "conv_direct", defines: tile.defines)
        if k.maxWorkGroupSize < tile.d * tile.d && tile.d > 8 {
            // Registers or local memory limit this kernel's work-group on this device: 8 x 8 work-items instead.
            tile.d = 8
            k = try q.kernel("conv_direct", "conv_direct", defines: tile.defines)
        }
        guard k.maxWorkGroupSize >= tile.d * tile.d else {
            throw DLInferError(.device, "conv_direct needs work-groups of \(tile.d * tile.d); \(q.ctx.device.name) allows \(k.maxWorkGroupSize)")
        }
        return (k, tile, min(slice, taps))
    }
}

/// How Conv runs for one weight shape.
enum ConvPath { case pointwise, depthwise, direct(DirectConv), volumetric }

/// What the direct kernel needs besides X: the tap table and, for constant weights, the re-laid-out weights.
struct DirectConv {
    /// (c, ky*dh, kx*dw, 0) per column entry, kp of them.
    let taps: DeviceTensor
    /// Wp[group][kp][mp]; nil when W is not a constant (packed on the device before each run).
    let packed: DeviceTensor?
    let k: Int, kp: Int, mp: Int
    /// Kp is a multiple of every tile's tap step, Mp of every tile's channel count, so one layout serves all tiles.
    static let kStep = 16, mStep = 64
    /// A tap never inside the input (TAP_OUTSIDE in conv_direct.cl, defined from here).
    static let outside = Int32(-(1 << 29))
}

/// A conv_direct build: D x D work-items, each with RM channels x RN pixels.
struct DirectTile {
    var d: Int, rm: Int, rn: Int
    var tm: Int { d * rm }
    var tn: Int { d * rn }
    var defines: String { "-DD=\(d) -DRM=\(rm) -DRN=\(rn)" }
    func workGroups(_ pixels: Int, _ channels: Int, _ groups: Int) -> Int {
        (pixels + tn - 1) / tn * ((channels + tm - 1) / tm) * groups
    }
}

/// What the conv kernels do after the sum (bias, has_bias, res, has_res, act, act_a, act_b): add the bias and the
/// residual, when there are (y stands in for a missing one), and apply the fused activation.
struct ConvEpilogue {
    let bias: DeviceTensor?, residual: DeviceTensor?, activation: CLActivation
    func args(_ y: DeviceTensor) -> [CLArg] {
        [.buffer(bias ?? y), .flag(bias != nil), .buffer(residual ?? y), .flag(residual != nil)] + activation.args
    }
}

/// Sizes of one Conv run, spatial values as 2-D (height first; a 1-D conv has height 1).
struct ConvGeometry {
    let batch: Int, channels: Int, m: Int, groups: Int, cg: Int, mg: Int
    let inH: Int, inW: Int, outH: Int, outW: Int
    let kernel: [Int], strides: [Int], dilations: [Int], pads: [Int]

    init(x: [Int], w: [Int], out: [Int], padBegin: [Int], window: Window, groups: Int) {
        batch = x[0]; channels = x[1]; m = w[0]; self.groups = groups; cg = w[1]; mg = w[0] / groups
        let input = planar(Array(x[2...]), 1), o = planar(out, 1)
        (inH, inW, outH, outW) = (input[0], input[1], o[0], o[1])
        kernel = planar(window.kernel, 1); strides = planar(window.strides, 1)
        dilations = planar(window.dilations, 1); pads = planar(padBegin, 0)
    }

    /// The input's and the output's (height, width) as the 2-D kernels' int2 arguments.
    var inputSize: CLArg { .int2([inH, inW]) }
    var outputSize: CLArg { .int2([outH, outW]) }
}

/// A 1-D window value as the 2-D one of height 1 (`fill` on the height axis); 2-D values unchanged.
func planar(_ v: [Int], _ fill: Int) -> [Int] { v.count == 1 ? [fill] + v : v }

func roundUp(_ v: Int, _ step: Int) -> Int { (v + step - 1) / step * step }
