import DLInferCore

// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear (kernels/quantize.cl) on int8, uint8, int16, uint16 (and
// int32 for DequantizeLinear's x) with float32 values and scales; 8-bit floats and other precisions stay on the CPU
// (`OpenCLBackend.typeSupport`).

/// The build defines for a quantized element type: its OpenCL type and range, and whether a difference of two values
/// needs 64 bits.
private func quantizedDefines(_ t: DType) throws -> String {
    switch t {
    case .int8: return "-DQ=char -DQ_MIN=-128 -DQ_MAX=127"
    case .uint8: return "-DQ=uchar -DQ_MIN=0 -DQ_MAX=255"
    case .int16: return "-DQ=short -DQ_MIN=-32768 -DQ_MAX=32767"
    case .uint16: return "-DQ=ushort -DQ_MIN=0 -DQ_MAX=65535"
    case .int32: return "-DQ=int -DQ_MIN=0 -DQ_MAX=0 -DQ_WIDE"
    default: throw DLInferError(.internal, "no OpenCL quantized type for \(t)")
    }
}

/// QuantizeLinear's and DequantizeLinear's scale and zero point: uploaded once when they are constants (the session
/// then never uploads them; a float32 scale stays float under half storage, so that constant scales divide exactly
/// as on the CPU), else the node's device inputs.
private struct QuantizationParameters {
    let scale: DeviceTensor?, zero: DeviceTensor?
    let prepacked: Set<Int>

    init(_ node: Node, _ graph: Graph, _ q: CLQueue) throws {
        func constant(_ k: Int) -> Tensor? { k < node.inputs.count ? node.inputs[k].flatMap { graph.constants[$0] } : nil }
        scale = try constant(1).map { try q.uploadExact($0) }
        zero = try constant(2).map { try q.uploadExact($0) }
        prepacked = Set((scale == nil ? [] : [1]) + (zero == nil ? [] : [2]))
    }

    /// The layout of x against the scale and zero point, the kernels' arguments for them and the layout's, and the
    /// scale's build define.
    func arguments(_ inputs: DeviceInputs, _ a: (axis: Int, blockSize: Int)) throws -> (args: [CLArg], defines: String) {
        let x = inputs[0]
        let scale = self.scale ?? inputs[1]
        let zero = self.zero ?? (inputs.has(2) ? inputs.device[2] : nil)
        let layout = try QuantizationLayout(x: x.shape, scale: scale.shape, zeroPoint: zero?.shape, axis: a.axis,
                                            blockSize: a.blockSize)
        try requireInt32Indexing(x.shape, scale.shape)
        // (inner, axis_len, block, blocks, inner_step, j_step): see scale_index in kernels/quantize.cl.
        let geometry: [Int]
        switch layout.kind {
        case .perTensor: geometry = [x.count, 1, 1, 0, 0, 0]
        case .perAxis: geometry = [layout.inner, layout.axisLength, 1, 0, 1, 0]
        case .blocked(let size, let blocks): geometry = [layout.inner, layout.axisLength, size, blocks, layout.inner, 1]
        }
        let args: [CLArg] = [.buffer(scale), .buffer(zero ?? scale), .flag(zero != nil)]
        return (args + geometry.map { CLArg.int($0) }, scale.stored == .float16 ? "-DSCALE_HALF" : "")
    }
}

/// QuantizeLinear of float32 or int32 x to int8, uint8, int16 or uint16, per tensor, per axis or per block.
final class QuantizeLinearCL: Kernel {
    private let a: QuantizeLinear, q: CLQueue, parameters: QuantizationParameters
    var prepackedInputs: Set<Int> { parameters.prepacked }

    init(_ a: QuantizeLinear, _ node: Node, _ graph: Graph, _ q: CLQueue) throws {
        self.a = a; self.q = q
        parameters = try QuantizationParameters(node, graph, q)
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let y = try q.allocate(outputs.dtype(0), x.shape)
        let (args, scaleDefine) = try parameters.arguments(inputs, (a.axis, a.blockSize))
        guard y.count > 0 else { return [y] }
        let defines = "\(try quantizedDefines(y.dtype)) \(scaleDefine)\(x.dtype == .int32 ? " -DX_INT" : "")"
        let k = try q.kernel("quantize", "quantize_linear", defines: defines)
        try q.launch1D(k, y.count, [.buffer(x)] + args.prefix(3) + [.buffer(y), .int(y.count)] + args.dropFirst(3))
        return [y]
    }
}

/// DequantizeLinear of int8, uint8, int16, uint16 or int32 x to float32, per tensor, per axis or per block.
final class DequantizeLinearCL: Kernel {
    private let a: DequantizeLinear, q: CLQueue, parameters: QuantizationParameters
    var prepackedInputs: Set<Int> { parameters.prepacked }

    init(_ a: DequantizeLinear, _ node: Node, _ graph: Graph, _ q: CLQueue) throws {
        self.a = a; self.q = q
        parameters = try QuantizationParameters(node, graph, q)
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let y = try q.allocate(.float32, x.shape)
        let (args, scaleDefine) = try parameters.arguments(inputs, (a.axis, a.blockSize))
        guard y.count > 0 else { return [y] }
        let k = try q.kernel("quantize", "dequantize_linear", defines: "\(try quantizedDefines(x.dtype)) \(scaleDefine)")
        try q.launch1D(k, y.count, [.buffer(x)] + args.prefix(3) + [.buffer(y), .int(y.count)] + args.dropFirst(3))
        return [y]
    }
}

/// DynamicQuantizeLinear: per-work-group ranges, one work-item turning them into the scale and zero point, then the
/// quantization of every element; nothing returns to the host.
final class DynamicQuantizeLinearCL: Kernel {
    private let q: CLQueue, partials: CLKernel, params: CLKernel, quantize: CLKernel
    /// Work-groups for the range pass: enough to fill a GPU, few enough for one work-item to combine.
    private static let maxGroups = 256

    init(_ q: CLQueue) throws {
        self.q = q
        partials = try q.kernel("quantize", "range_partials")
        params = try q.kernel("quantize", "range_params")
        quantize = try q.kernel("quantize", "dynamic_quantize")
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0], n = x.count
        try requireInt32Indexing(x.shape)
        let y = try q.allocate(.uint8, x.shape), scale = try q.allocate(.float32, []), zero = try q.allocate(.uint8, [])
        let local = partials.reductionGroupSize(n)
        // Each work-item reads at least 8 elements before the groups' results are combined.
        let groups = n == 0 ? 0 : min(Self.maxGroups, (n + 8 * local - 1) / (8 * local))
        let partial = try q.scratch([max(1, 2 * groups)]), exact = try q.scratch([2])
        if groups > 0 {
            try q.launch(partials, global: [groups * local], local: [local],
                         [.buffer(x), .buffer(partial), .int(n), .local(local * 4), .local(local * 4)])
        }
        try q.launch(params, global: [1], [.buffer(partial), .int(groups), .buffer(scale), .buffer(zero), .buffer(exact)])
        if n > 0 { try q.launch1D(quantize, n, [.buffer(x), .buffer(exact), .buffer(y), .int(n)]) }
        // The in-order queue runs these launches before anything reuses the buffers given back.
        q.recycle(partial.buffer)
        q.recycle(exact.buffer)
        let results = [y, scale, zero]
        for (k, t) in results.enumerated() where !outputs.wanted(k) { q.recycle(t.buffer) }
        return results.enumerated().map { outputs.wanted($0.offset) ? $0.element : nil }
    }
}
