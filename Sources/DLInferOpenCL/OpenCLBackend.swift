import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs nodes on one OpenCL device with tensors resident in device memory. One instance per session: it owns the
/// session's in-order queue, kernels and buffer pool. Ops or dtypes it cannot run go to the CPU, with the reason.
public final class OpenCLBackend: DeviceBackend {
    public let device: CLDeviceDescription
    let q: CLQueue
    private let deny: POSIXRegex?
    private let denySource: String?

    /// `denyOps`: a regular expression (POSIX extended) over op names ("LSTM|Conv") that are never placed on OpenCL
    /// (DLINFER_OPENCL_DENY), so the CPU fallback and its transfers can be exercised on any machine.
    public init(device: CLDeviceDescription, denyOps: String? = nil) throws {
        self.device = device
        q = try CLQueue(try CLDeviceContext.forDevice(device))
        denySource = denyOps.flatMap { $0.isEmpty ? nil : $0 }
        do { deny = try denySource.map { try POSIXRegex($0) } } catch {
            throw DLInferError.invalid("DLINFER_OPENCL_DENY '\(denySource!)' is not a valid regular expression: \(error)")
        }
    }

    public var name: String { "opencl" }

    public func support(_ node: Node, in graph: Graph) -> Support {
        let op = node.op.name
        if let deny, deny.wholeMatch(op) {
            return .no("\(op) is listed in DLINFER_OPENCL_DENY (\(denySource!))")
        }
        let hostSlots = OpenCLBackend.hostInputs(node.op)
        for (k, v) in node.inputs.enumerated() where !hostSlots.contains(k) {
            guard let v else { continue }
            let t = graph.values[v].type.dtype
            if t != .float32 { return .no("input \(k) is \(t); OpenCL kernels take float32") }
        }
        for case let v? in node.outputs where graph.values[v].type.dtype != .float32 {
            return .no("output is \(graph.values[v].type.dtype); OpenCL kernels produce float32")
        }
        return OpenCLBackend.opSupport(node, graph)
    }

    public func makeKernel(_ node: Node, in graph: Graph) throws -> Kernel {
        throw DLInferError(.internal, "OpenCL kernels are device kernels (makeDeviceKernel)")
    }

    public func makeDeviceKernel(_ node: Node, in graph: Graph) throws -> DeviceKernel {
        switch node.op {
        case .unary(let a): return try UnaryCL(a, q)
        case .clip: return try ClipCL(q)
        case .binary(let a): return try BinaryCL(a, q)
        case .variadic(let a): return try VariadicCL(a, q)
        case .gemm(let a): return try GemmCL(a, q)
        case .matMul(let a): return try MatMulCL(a, q)
        case .reshape, .flatten, .squeeze, .unsqueeze, .identity, .dropout: return ViewCL()
        case .recurrent(let a): return try RecurrentCL(a, node, graph, q)
        case .softmax(let a): return try SoftmaxCL(a, q)
        case .concat(let a): return ConcatCL(a, q)
        case .split(let a): return SplitCL(a, q)
        case .slice: return SliceCL(q)
        case .transpose(let a): return TransposeCL(a, q)
        case .expand: return ExpandCL(q)
        case .pad(let a): return PadCL(a, q)
        case .gather(let a):
            let constant = node.inputs.count > 1 && node.inputs[1].map { graph.constants[$0] != nil } == true
            return try GatherCL(a, q, constantIndices: constant)
        case .resize(let a): return try ResizeCL(a, q)
        case .reduce(let a): return try ReduceCL(a, q)
        case .conv(let a): return try ConvCL(a, node, graph, q)
        case .convTranspose(let a): return try ConvTransposeCL(a, q)
        case .pool(let a): return try PoolCL(a, q)
        case .globalPool(let a): return try GlobalPoolCL(a, q)
        case .batchNorm(let a): return try BatchNormCL(a, node, graph, q)
        case .lrn(let a): return try LRNCL(a, q)
        case .shape, .cast, .constantOfShape, .argMax, .ifElse, .loop, .scan:
            throw DLInferError(.internal, "\(node.op.name) has no OpenCL kernel")
        case .gatherElements, .gatherND, .scatterElements, .scatterND, .compress, .nonZero, .size, .range, .eyeLike,
             .oneHot, .tile, .spaceDepth, .trilu, .reverseSequence, .centerCropPad, .topK, .unique:
            throw DLInferError(.internal, "\(node.op.name) has no OpenCL kernel")
        case .deformConv, .maxUnpool, .col2Im, .gridSample, .affineGrid, .roiAlign, .maxRoiPool, .nonMaxSuppression:
            throw DLInferError(.internal, "\(node.op.name) has no OpenCL kernel")
        case .matMulInteger, .einsum, .layerNorm, .groupNorm, .meanVarianceNorm, .lpNorm, .hardmax, .cumulative:
            throw DLInferError(.internal, "\(node.op.name) has no OpenCL kernel")
        case .dft, .stft, .cosineWindow, .melWeightMatrix, .det, .loss, .bitCast, .randomFill, .bernoulli, .multinomial:
            throw DLInferError(.internal, "\(node.op.name) has no OpenCL kernel")
        case .unaryMath, .floatClass, .mod, .pRelu, .bitwise, .compare, .logic, .select, .castLike:
            throw DLInferError(.internal, "\(node.op.name) has no OpenCL kernel")
        case .attention, .linearAttention, .fusedAttention, .rotaryEmbedding, .swiGLU, .tensorScatter, .causalConvWithState:
            throw DLInferError(.internal, "\(node.op.name) has no OpenCL kernel")
        case .qLinearMatMul, .convInteger, .qLinearConv, .quantizeLinear, .dequantizeLinear, .dynamicQuantizeLinear:
            throw DLInferError(.internal, "\(node.op.name) has no OpenCL kernel")
        }
    }

    /// Inputs the OpenCL kernels read on the host: shape-like parameters, constants in practice.
    public func hostInputs(_ node: Node) -> Set<Int> { OpenCLBackend.hostInputs(node.op) }

    static func hostInputs(_ op: Op) -> Set<Int> {
        switch op {
        case .clip: return [1, 2]
        case .reshape, .squeeze, .unsqueeze: return [1]
        case .dropout: return [1, 2]
        case .recurrent: return [4]  // sequence_lens: the launcher needs the longest on the host
        case .split, .gather, .expand, .reduce: return [1]
        case .slice: return [1, 2, 3, 4]
        case .pad, .resize: return [1, 2, 3]
        case .conv, .convTranspose, .pool, .globalPool, .gemm, .matMul, .batchNorm, .lrn, .unary, .binary,
             .variadic, .softmax, .flatten, .transpose, .concat, .shape, .cast, .constantOfShape, .argMax, .identity,
             .ifElse, .loop, .scan:
            return []
        case .gatherElements, .gatherND, .scatterElements, .scatterND, .compress, .nonZero, .size, .range, .eyeLike,
             .oneHot, .tile, .spaceDepth, .trilu, .reverseSequence, .centerCropPad, .topK, .unique:
            return []
        case .deformConv, .maxUnpool, .col2Im, .gridSample, .affineGrid, .roiAlign, .maxRoiPool, .nonMaxSuppression:
            return []
        case .matMulInteger, .einsum, .layerNorm, .groupNorm, .meanVarianceNorm, .lpNorm, .hardmax, .cumulative:
            return []
        case .dft, .stft, .cosineWindow, .melWeightMatrix, .det, .loss, .bitCast, .randomFill, .bernoulli, .multinomial:
            return []
        case .unaryMath, .floatClass, .mod, .pRelu, .bitwise, .compare, .logic, .select, .castLike:
            return []
        case .attention, .linearAttention, .fusedAttention, .rotaryEmbedding, .swiGLU, .tensorScatter, .causalConvWithState:
            return []
        case .qLinearMatMul, .convInteger, .qLinearConv, .quantizeLinear, .dequantizeLinear, .dynamicQuantizeLinear:
            return []
        }
    }

    /// The ONNX ops with an OpenCL kernel (for `dlinfer ops`; per node, `opSupport` has the last word). A test
    /// checks it against `opSupport` on one node of each op.
    public static let kernelOps: Set<String> = [
        "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Gemm", "MatMul", "LSTM",
        "GRU", "RNN", "BatchNormalization", "LRN", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "Clip", "Elu",
        "Softmax", "LogSoftmax", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Sum", "Max", "Min", "Flatten",
        "Reshape", "Transpose", "Concat", "Split", "Slice", "Squeeze", "Unsqueeze", "Gather", "Expand", "Pad", "Resize",
        "Upsample", "ReduceMean", "ReduceSum", "ReduceMax", "Identity", "Dropout",
    ]

    /// Which ops (and attribute combinations) have OpenCL kernels.
    static func opSupport(_ node: Node, _ graph: Graph) -> Support {
        switch node.op {
        case .unary, .clip, .binary, .gemm, .matMul, .reshape, .flatten, .squeeze, .unsqueeze, .identity, .recurrent:
            return .yes
        case .variadic(let a):
            return a.kind == .mean ? .no("no OpenCL kernel for Mean") : .yes
        case .dropout:
            return node.outputs.count > 1 && node.outputs[1] != nil ? .no("Dropout's mask output is computed on the CPU") : .yes
        case .softmax, .concat, .split, .gather, .convTranspose, .lrn:
            return .yes
        case .pool(let a):
            if case .lp = a.kind { return .no("no OpenCL kernel for LpPool") }
            return .yes
        case .globalPool(let a):
            if case .lp = a.kind { return .no("no OpenCL kernel for GlobalLpPool") }
            return .yes
        case .reduce(let a):
            return [.sum, .mean, .max].contains(a.kind) ? .yes : .no("no OpenCL kernel for \(a.opName)")
        case .batchNorm(let a):
            return a.training ? .no("BatchNormalization in training mode (batch statistics) runs on the CPU") : .yes
        case .slice, .transpose, .expand, .pad:
            return atMost8Dims(node, graph)
        case .resize(let a):
            return a.mode == .nearest ? atMost8Dims(node, graph) : .yes
        case .conv:
            // The rank comes from X, else W (the type rules make them agree).
            let rank = node.inputs.prefix(2).lazy.compactMap { $0.flatMap { graph.values[$0].type.rank } }.first
            guard let rank else { return .no("Conv with an input of unknown rank (the OpenCL kernels are 1-D and 2-D)") }
            return rank <= 4 ? .yes : .no("\(rank - 2)-D Conv runs on the CPU (the OpenCL kernels are 1-D and 2-D)")
        case .shape, .cast, .constantOfShape, .argMax:
            return .no("no OpenCL kernel for \(node.op.name)")
        case .ifElse, .loop, .scan:
            return .no("control flow runs its bodies on the CPU")
        case .gatherElements, .gatherND, .scatterElements, .scatterND, .compress, .nonZero, .size, .range, .eyeLike,
             .oneHot, .tile, .spaceDepth, .trilu, .reverseSequence, .centerCropPad, .topK, .unique,
             .deformConv, .maxUnpool, .col2Im, .gridSample, .affineGrid, .roiAlign, .maxRoiPool, .nonMaxSuppression,
             .matMulInteger, .einsum, .layerNorm, .groupNorm, .meanVarianceNorm, .lpNorm, .hardmax, .cumulative,
             .unaryMath, .floatClass, .mod, .pRelu, .bitwise, .compare, .logic, .select, .castLike:
            return .no("no OpenCL kernel for \(node.op.name)")
        case .attention, .linearAttention, .fusedAttention, .rotaryEmbedding, .swiGLU, .tensorScatter, .causalConvWithState:
            return .no("no OpenCL kernel for \(node.op.name)")
        case .dft, .stft, .cosineWindow, .melWeightMatrix, .det, .loss, .bitCast, .randomFill, .bernoulli, .multinomial:
            return .no("no OpenCL kernel for \(node.op.name)")
        case .qLinearMatMul, .convInteger, .qLinearConv, .quantizeLinear, .dequantizeLinear, .dynamicQuantizeLinear:
            return .no("no OpenCL kernel for \(node.op.name)")
        }
    }

    /// The strided-copy, Pad and nearest-Resize kernels index at most 8 dims (an output of unknown rank is let
    /// through: its run reports a clear error if it has more, or if merging adjacent dims leaves more than 8).
    static func atMost8Dims(_ node: Node, _ graph: Graph) -> Support {
        for case let v? in node.outputs {
            if let r = graph.values[v].type.rank, r > 8 { return .no("rank \(r) exceeds the 8 dims OpenCL kernels index") }
        }
        return .yes
    }

    public func upload(_ tensor: Tensor) throws -> DeviceTensor { try q.upload(tensor) }
    public func download(_ tensor: DeviceTensor) throws -> Tensor { try q.download(tensor) }
    public func recycle(_ buffer: DeviceBuffer) { q.recycle(buffer) }
    public func finish() throws { try q.finish() }
}

/// Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout (inference): the same buffer with the inferred shape.
final class ViewCL: DeviceKernel {
    func run(_ inputs: DeviceInputs, _ outputs: OutputTypes) throws -> [DeviceTensor?] {
        [inputs[0].reshaped(outputs.shape(0))] + (1..<outputs.types.count).map { _ in nil }
    }
}

/// A POSIX extended regular expression (regcomp), matched against whole strings. Swift's `Regex` would link its
/// engine (_StringProcessing, 1.4 MB) into the library for this one use.
final class POSIXRegex: @unchecked Sendable {
    struct SyntaxError: Error, CustomStringConvertible { let description: String }

    /// Read-only once compiled: regexec may use it from any thread.
    private let re: UnsafeMutablePointer<regex_t>

    init(_ pattern: String) throws {
        // Set only once compiled: an init that throws before then does not run deinit.
        let compiled = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        let rc = regcomp(compiled, pattern, REG_EXTENDED)
        guard rc == 0 else {
            var text = [CChar](repeating: 0, count: 256)
            regerror(rc, compiled, &text, text.count)
            compiled.deallocate()
            throw SyntaxError(description: String(cString: text))
        }
        re = compiled
    }

    deinit {
        regfree(re)
        re.deallocate()
    }

    /// Whether the whole of `s` matches: the leftmost-longest match POSIX finds spans it.
    func wholeMatch(_ s: String) -> Bool {
        var m = regmatch_t()
        guard regexec(re, s, 1, &m, 0) == 0 else { return false }
        return m.rm_so == 0 && Int(m.rm_eo) == s.utf8.count
    }
}
