import DLInferCore

/// BatchNormalization (inference) as y = x * a[p] + b[p]. Constant statistics are combined into a and b once, on
/// the host with the CPU kernel's formula; computed ones are combined on the device before each run.
final class BatchNormCL: DeviceKernel {
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

    func run(_ inputs: DeviceInputs, _ outputs: OutputTypes) throws -> [DeviceTensor?] {
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
                                    .int(x.count / (batch * params)), .int(params)])
        if affine == nil {
            // The queue is in order: whoever gets these buffers from the pool next runs after this kernel.
            q.recycle(av.buffer)
            q.recycle(bv.buffer)
        }
        return [y]
    }
}

/// LRN: one work-item per element summing the squares of its channel window.
final class LRNCL: DeviceKernel {
    private let a: LRN, q: CLQueue, k: CLKernel
    init(_ a: LRN, _ q: CLQueue) throws { self.a = a; self.q = q; k = try q.kernel("normalization", "lrn_f32") }

    func run(_ inputs: DeviceInputs, _ outputs: OutputTypes) throws -> [DeviceTensor?] {
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
