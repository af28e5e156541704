import DLInferCore

/// BatchNormalization (inference) as y = act(x * a[p] + b[p]), act the fused activation if any. Constant statistics are combined into a and b once, on
/// the host with the CPU kernel's formula; computed ones are combined on the device before each run.
final class BatchNormCL: Kernel {
    private let a: BatchNorm, q: CLQueue, k: CLKernel
    private let affine: (a: DeviceTensor, b: DeviceTensor)?

    init(_ a: BatchNorm, _ node: Node, _ graph: Graph, _ q: CLQueue) throws {
        self.a = a
        self.q = q
        k = try q.kernel("normalization", "batchnorm_f32")
        let params = node.inputs.dropFirst().compactMap { $0.flatMap { graph.constants[$0] } }
        // (Empty parameters leave nothing to normalize: run() returns before reading them.)
        if params.count == 4, params.allSatisfy({ $0.count > 0 }) {
            let p = params.map { UnsafeBufferPointer($0.floats) }
            let (av, bv) = a.affine(scale: p[0], bias: p[1], mean: p[2], variance: p[3])
            affine = (try q.upload(Tensor(av, shape: [av.count])), try q.upload(Tensor(bv, shape: [bv.count])))
        } else {
            affine = nil
        }
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let y = try q.allocate(.float32, x.shape)
        let params = inputs[1].count
        let batch = x.shape.count >= 2 ? x.shape[0] : x.count
        guard y.count > 0, params > 0, batch > 0 else { return [y] }
        try requireInt32Indexing(x.shape, y.shape)
        let (av, bv): (DeviceTensor, DeviceTensor)
        if let affine {
            (av, bv) = affine
        } else {
            (av, bv) = (try q.allocate(.float32, [params]), try q.allocate(.float32, [params]))
            try q.launch1D(try q.kernel("normalization", "batchnorm_affine"), params,
                           (1...4).map { .buffer(inputs[$0]) } + [.buffer(av), .buffer(bv), .int(params), .float(a.epsilon)])
        }
        try q.launch1D(k, x.count, [.buffer(x), .buffer(y), .buffer(av), .buffer(bv), .int(x.count),
                                    .int(x.count / (batch * params)), .int(params)] + CLActivation(a.activation).args)
        if affine == nil {
            // The queue is in order: whoever gets these buffers from the pool next runs after this kernel.
            q.recycle(av.buffer)
            q.recycle(bv.buffer)
        }
        return [y]
    }
}

/// LRN: one work-item per element summing the squares of its channel window.
final class LRNCL: Kernel {
    private let a: LRN, q: CLQueue, k: CLKernel
    init(_ a: LRN, _ q: CLQueue) throws { self.a = a; self.q = q; k = try q.kernel("normalization", "lrn_f32") }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let y = try q.allocate(.float32, x.shape)
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(x.shape, y.shape)
        let channels = x.shape[1], inner = x.shape[2...].reduce(1, *)
        try q.launch1D(k, x.count, [.buffer(x), .buffer(y), .int(x.count), .int(channels), .int(inner),
                                    .int((a.size - 1) / 2), .int(a.size / 2), .float(a.bias),
                                    .float(a.alpha / Float(a.size)), .float(a.beta)])
        return [y]
    }
}

/// The statistics norm_rows writes besides y (NORM_STAT_* bits): the mean and the inverse standard deviation.
enum NormStat: Int32, KernelCode {
    static let prefix = "NORM_STAT"
    case mean = 1, invStdDev = 2
}

/// LayerNormalization and RMSNormalization in float32 (stash_type float32): one work-group per row. Scale and bias
/// that vary only along the normalized axes are read once per row; others are broadcast to X's shape first, as on
/// the CPU.
final class LayerNormCL: Kernel {
    private let a: LayerNorm, q: CLQueue, k: CLKernel, copy: CLStridedCopy
    init(_ a: LayerNorm, _ q: CLQueue) throws {
        self.a = a; self.q = q
        k = try q.kernel("normalization", "norm_rows")
        copy = CLStridedCopy(q)
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let axis = try a.normalizedAxis(rank: x.shape.count)
        let n = x.shape[axis...].reduce(1, *), rows = x.shape[..<axis].reduce(1, *)
        let y = try q.allocate(.float32, x.shape)
        let mean = outputs.wanted(1) ? try q.allocate(.float32, outputs.shape(1)) : nil
        let inv = outputs.wanted(2) ? try q.allocate(.float32, outputs.shape(2)) : nil
        guard rows > 0, n > 0 else { return [y, mean, inv] }
        try requireInt32Indexing(x.shape)
        let params = [inputs[1], a.rms || !inputs.has(2) ? nil : inputs[2]]
        let (perRow, target, shapes) = try a.parameterLayout(x: x.shape, axis: axis, params: params.map { $0?.shape })
        let expanded = try zip(params, shapes).map { p, shape -> DeviceTensor? in
            guard let p, let shape else { return nil }
            return try copy.broadcast(p.reshaped(shape), to: target)
        }
        let scale = expanded[0]!, bias = expanded[1]
        let local = k.reductionGroupSize(n)
        let stats = NormStat.mask((mean == nil ? [] : [.mean]) + (inv == nil ? [] : [.invStdDev]))
        try q.launch(k, global: [rows * local], local: [local],
                     [.buffer(x), .buffer(y), .buffer(scale), .buffer(bias ?? scale), .buffer(mean ?? y), .buffer(inv ?? y),
                      .int(n), .int(perRow ? 1 : rows), .int(perRow ? 0 : n), .int(1), .flag(bias != nil),
                      .flag(a.rms), .int(stats),
                      .float(a.epsilon), .local(local * 4)])
        // The queue is in order: whoever gets these buffers from the pool next runs after this kernel.
        for (p, e) in zip(params, expanded) where p?.buffer !== e?.buffer { if let e { q.recycle(e.buffer) } }
        return [y, mean, inv]
    }
}

/// GroupNormalization and InstanceNormalization in float32 (stash_type float32): one work-group per (image, group)
/// row of channels x spatial elements, with the parameters per channel (per group in GroupNormalization-18).
final class GroupNormCL: Kernel {
    private let a: GroupNorm, q: CLQueue, k: CLKernel
    init(_ a: GroupNorm, _ q: CLQueue) throws {
        self.a = a; self.q = q
        k = try q.kernel("normalization", "norm_rows")
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0], scale = inputs[1], bias = inputs[2]
        let y = try q.allocate(.float32, x.shape)
        let (batch, groups, per, spatial) = try a.rows(x.shape, scale: scale.count, bias: bias.count)
        let n = per * spatial
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(x.shape)
        let local = k.reductionGroupSize(n)
        try q.launch(k, global: [batch * groups * local], local: [local],
                     [.buffer(x), .buffer(y), .buffer(scale), .buffer(bias), .buffer(y), .buffer(y), .int(n), .int(groups),
                      .int(a.paramsPerGroup ? 1 : per), .int(a.paramsPerGroup ? n : spatial), .flag(true), .flag(false), .int(NormStat.mask([])),
                      .float(a.epsilon), .local(local * 4)])
        return [y]
    }
}
