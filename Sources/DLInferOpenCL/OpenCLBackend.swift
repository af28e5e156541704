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
    private let weighTransfers: Bool
    /// The backend the nodes of control-flow bodies fall back to; without one, control flow runs on it entirely.
    let host: HostBackend?
    /// Whether the graph's inputs arrive and its outputs leave in device memory: the body of an If run on the device.
    private let resident: Bool
    /// The mask and index nodes of the graph being placed that stay on the CPU (placement asks node by node).
    private var plan: (graph: Graph, nodes: Int, onCPU: [ValueID: String])?

    /// `denyOps`: a regular expression (POSIX extended) over op names ("LSTM|Conv") that are never placed on OpenCL
    /// (DLINFER_OPENCL_DENY), so the CPU fallback and its transfers can be exercised on any machine.
    /// `weighTransfers` false places every mask and index node the kernels can run on the device, whatever it costs
    /// in transfers (the kernel tests, whose one-node graphs would otherwise stay on the CPU). `halfStorage` stores
    /// float32 tensors as half (precision=fp16; computation stays in float). `host`: the backend (the CPU's) the
    /// nodes of an If's branches fall back to when the If runs on the device.
    public init(device: CLDeviceDescription, denyOps: String? = nil, weighTransfers: Bool = true,
                halfStorage: Bool = false, host: HostBackend? = nil) throws {
        self.device = device
        self.weighTransfers = weighTransfers
        self.host = host
        resident = false
        q = try CLQueue(try CLDeviceContext.forDevice(device), halfStorage: halfStorage)
        denySource = denyOps.flatMap { $0.isEmpty ? nil : $0 }
        do { deny = try denySource.map { try POSIXRegex($0) } } catch {
            throw DLInferError.invalid("DLINFER_OPENCL_DENY '\(denySource!)' is not a valid regular expression: \(error)")
        }
    }

    /// A backend for the body of a control-flow op that `parent` runs: the same queue, its tensors already there.
    init(bodyOf parent: OpenCLBackend) {
        device = parent.device; q = parent.q; deny = parent.deny; denySource = parent.denySource
        weighTransfers = parent.weighTransfers; host = parent.host; resident = true
    }

    public var name: String { "opencl" }

    public func support(_ node: Node, in graph: Graph) -> Support {
        if let why = unsupported(node, graph) { return .no(why) }
        return placeByTransfers(node, graph)
    }

    /// Why this backend cannot run the node at all, whatever the transfers; nil when it can.
    private func unsupported(_ node: Node, _ graph: Graph) -> String? {
        let op = node.op.name
        if let deny, deny.wholeMatch(op) { return "\(op) is listed in DLINFER_OPENCL_DENY (\(denySource!))" }
        if case .ifElse = node.op, host == nil { return "control flow runs its bodies on the CPU" }
        if let why = typeSupport(node, graph) { return why }
        if case .no(let why) = OpenCLBackend.opSupport(node, graph) { return why }
        return nil
    }

    /// Masks and indices (nodes with non-float32 results) are worth computing on the device only where that saves
    /// transfers: placed there, a node needs its inputs from the device and its results read there, while on the CPU
    /// it reads them on the host (a Reshape's shape, a Slice's starts) at no cost. So, over the whole graph once,
    /// such nodes go to the side that makes the fewest transfers per run (`TransferCut`), the device on a tie.
    private func placeByTransfers(_ node: Node, _ graph: Graph) -> Support {
        guard weighTransfers else { return .yes }
        if plan?.graph !== graph || plan?.nodes != graph.nodes.count { plan = (graph, graph.nodes.count, typedPlacement(graph)) }
        // A node is known by the value it writes first (each value has one producer).
        guard let v = node.outputs.lazy.compactMap({ $0 }).first, let why = plan!.onCPU[v] else { return .yes }
        return .no(why)
    }

    /// The first output of each mask or index node that should run on the CPU, with the reason.
    private func typedPlacement(_ graph: Graph) -> [ValueID: String] {
        let device = graph.nodes.map { self.unsupported($0, graph) == nil }
        // Values that only depend on shapes and constants are folded once per input shape and never cross per run:
        // edges through them cost nothing. The Shape of a value whose shape depends on data computed per run
        // (`dynamic`: downstream of NonZero or NonMaxSuppression) is not folded, and the shape arithmetic on it
        // (`fromShapeOf`) runs every run, on the host by nature.
        var folded = Set<ValueID>(), dynamic = Set<ValueID>(), fromShapeOf = Set<ValueID>()
        for n in graph.nodes {
            let fromShapes: Bool
            switch n.op {
            case .shape, .size: fromShapes = n.inputs.first.flatMap { $0 }.map { !dynamic.contains($0) } ?? true
            default: fromShapes = n.inputs.allSatisfy { $0 == nil || graph.constants[$0!] != nil || folded.contains($0!) }
            }
            let shapeFromData = !fromShapes
                && (n.op.attributes.hasDataDependentShape || n.inputs.contains { $0.map(dynamic.contains) ?? false })
            let shapeMath = !fromShapes && (n.op.readsOnlyInputShape
                || n.inputs.allSatisfy { $0 == nil || graph.constants[$0!] != nil || folded.contains($0!) || fromShapeOf.contains($0!) })
            for case let v? in n.outputs {
                if fromShapes { folded.insert(v) }
                if shapeFromData { dynamic.insert(v) }
                if shapeMath { fromShapeOf.insert(v) }
            }
        }
        /// Whether a node reads (in a device slot) or writes a non-float32 value computed per run.
        func touchesTyped(_ n: Node) -> Bool {
            let hostSlots = OpenCLBackend.hostInputs(n.op)
            let read = n.inputs.enumerated().compactMap { hostSlots.contains($0.offset) ? nil : $0.element }
            return (n.outputs.compactMap { $0 } + read).contains {
                graph.values[$0].type.dtype != .float32 && graph.constants[$0] == nil && !folded.contains($0)
            }
        }
        // Float nodes the kernels run stay on the device; mask and index nodes are free to go either way.
        let side = graph.nodes.indices.map { i -> Bool? in device[i] && touchesTyped(graph.nodes[i]) ? nil : device[i] }
        let host = TransferCut.hostNodes(graph, side: side, free: { graph.constants[$0] != nil || folded.contains($0) },
                                         hostSlots: { Self.hostInputs(graph.nodes[$0].op) },
                                         ignores: { graph.nodes[$0].op.readsOnlyInputShape }, resident: resident)
        var onCPU = [ValueID: String]()
        for i in host {
            guard let v = graph.nodes[i].outputs.lazy.compactMap({ $0 }).first else { continue }
            onCPU[v] = fromShapeOf.contains(v)
                ? "shape arithmetic on a shape known only at run time: computed on the host, where its readers take it"
                : "its masks or indices cost fewer transfers on the CPU, next to the nodes that read or produce them"
        }
        return onCPU
    }

    /// Why the OpenCL kernels cannot take the node's element types, or nil when they can: data movement, Where and
    /// the scatters without a reduction move every type as bits; comparisons, logic and Cast take float32, int32,
    /// int64 (on devices with 64-bit integers) and bool; ArgMax/ArgMin and TopK every integer type too, CumSum the
    /// 32- and 64-bit ones; every other kernel computes on float32 (int64 indices in, or out of MaxPool).
    func typeSupport(_ node: Node, _ graph: Graph) -> String? {
        let hostSlots = OpenCLBackend.hostInputs(node.op)
        let ins = node.inputs.enumerated().compactMap { k, v -> (k: Int, t: DType)? in
            guard let v, !hostSlots.contains(k) else { return nil }
            return (k, graph.values[v].type.dtype)
        }
        let outs = node.outputs.compactMap { $0.map { graph.values[$0].type.dtype } }
        let computable: Set<DType> = device.supportsInt64 ? [.float32, .int32, .int64, .bool] : [.float32, .int32, .bool]
        func check(_ input: (Int, DType) -> Bool, _ output: (DType) -> Bool, _ takes: String) -> String? {
            for (k, t) in ins where !input(k, t) { return "input \(k) is \(t); OpenCL \(takes)" }
            for t in outs where !output(t) { return "output is \(t); OpenCL \(takes)" }
            return nil
        }
        switch node.op {
        case .shape, .size:
            return nil
        case .reshape, .flatten, .squeeze, .unsqueeze, .identity, .dropout, .concat, .split, .slice, .transpose, .expand,
             .tile, .spaceDepth, .gatherElements:
            return check({ movableOnDevice($1) }, movableOnDevice, "data movement takes any type but string")
        case .gather:
            let indexTypes: Set<DType> = device.supportsInt64 ? [.int32, .int64] : [.int32]
            return check({ $0 == 1 ? indexTypes.contains($1) : movableOnDevice($1) }, movableOnDevice,
                         "Gather takes data of any type but string and \(Self.names(indexTypes)) indices")
        case .select:
            return check({ $0 == 0 ? $1 == .bool : movableOnDevice($1) }, movableOnDevice,
                         "Where takes a bool condition and values of any type but string")
        case .compare:
            return check({ computable.contains($1) }, { $0 == .bool }, "comparisons take \(Self.names(computable))")
        case .binary(let a) where a.kind != .pow:
            let types = computable.subtracting([.bool])
            return check({ types.contains($1) }, types.contains, "\(a.opName) takes \(Self.names(types))")
        case .variadic(let a) where a.kind != .mean:
            let types = computable.subtracting([.bool])
            return check({ types.contains($1) }, types.contains, "\(a.opName) takes \(Self.names(types))")
        case .logic:
            return check({ $1 == .bool }, { $0 == .bool }, "logic ops take bool")
        case .unaryMath(let a) where a.function == .not:
            return check({ $1 == .bool }, { $0 == .bool }, "Not takes bool")
        case .scatterElements(let a) where a.reduction == .none:
            return check({ movableOnDevice($1) }, movableOnDevice, "scatters without a reduction take any type but string")
        case .scatterND(let a) where a.reduction == .none:
            return check({ movableOnDevice($1) }, movableOnDevice, "scatters without a reduction take any type but string")
        case .argMax(let a):
            guard device.supportsInt64 else { return "\(a.opName)'s int64 output needs a device with 64-bit integers" }
            return check({ ArgMaxCL.types.contains($1) }, { $0 == .int64 }, "\(a.opName) takes \(Self.names(ArgMaxCL.types))")
        case .pool where node.outputs.count > 1 && node.outputs[1] != nil:
            guard device.supportsInt64 else { return "MaxPool's Indices output (int64) needs a device with 64-bit integers" }
            return check({ $1 == .float32 }, { $0 == .float32 || $0 == .int64 }, "MaxPool takes float32 (int64 Indices)")
        case .gatherND:
            guard device.supportsInt64 else { return "GatherND's int64 indices need a device with 64-bit integers" }
            return check({ $0 == 1 ? $1 == .int64 : movableOnDevice($1) }, movableOnDevice,
                         "GatherND takes data of any type but string and int64 indices")
        case .constantOfShape:
            return check({ _, _ in true }, movableOnDevice, "ConstantOfShape makes any type but string")
        case .ifElse:
            return check({ movableOnDevice($1) }, movableOnDevice, "If takes and gives any type but string")
        case .range:
            let types = device.supportsInt64 ? RangeCL.types : RangeCL.types.subtracting([.int64])
            return check({ _, _ in true }, types.contains, "Range makes \(Self.names(types))")
        case .nonZero:
            guard device.supportsInt64 else { return "NonZero's int64 output needs a device with 64-bit integers" }
            return check({ movableOnDevice($1) }, { $0 == .int64 }, "NonZero takes any type but string")
        case .roiAlign:
            guard device.supportsInt64 else { return "RoiAlign's int64 batch indices need a device with 64-bit integers" }
            return check({ $0 == 2 ? $1 == .int64 : $1 == .float32 }, { $0 == .float32 },
                         "RoiAlign takes float32 X and rois and int64 batch indices")
        case .nonMaxSuppression:
            guard device.supportsInt64 else { return "NonMaxSuppression's int64 output needs a device with 64-bit integers" }
            return check({ $1 == .float32 }, { $0 == .int64 }, "NonMaxSuppression takes float32 boxes and scores")
        case .maxUnpool:
            guard device.supportsInt64 else { return "MaxUnpool's int64 indices need a device with 64-bit integers" }
            return check({ $0 == 1 ? $1 == .int64 : $1 == .float32 }, { $0 == .float32 }, "MaxUnpool takes float32 and int64 indices")
        case .topK:
            guard device.supportsInt64 else { return "TopK's int64 indices need a device with 64-bit integers" }
            return check({ ArgMaxCL.types.contains($1) }, { $0 == .int64 || ArgMaxCL.types.contains($0) },
                         "TopK takes \(Self.names(ArgMaxCL.types))")
        case .cumulative(let a):
            let types = device.supportsInt64 ? CumulativeCL.types : CumulativeCL.types.subtracting([.int64, .uint64])
            return check({ types.contains($1) }, types.contains, "\(a.opName) takes \(Self.names(types))")
        case .cast:
            let types = computable.union([.float16]).intersection(CastCL.types)
            return check({ types.contains($1) }, types.contains, "Cast converts between \(Self.names(types))")
        case .quantizeLinear(let a):
            let scale = ins.first { $0.k == 1 }?.t ?? .float32
            if a.divisionType(scale: scale) != .float32 {
                return "QuantizeLinear dividing in \(a.divisionType(scale: scale)) runs on the CPU (the OpenCL kernel divides in float32)"
            }
            let types = Self.quantizedTypes
            return check({ $0 == 0 ? $1 == .float32 || $1 == .int32 : ($0 == 1 ? $1 == .float32 : types.contains($1)) },
                         types.contains, "QuantizeLinear takes float32 or int32 x and a float32 scale to \(Self.names(types)) (8-bit floats on the CPU)")
        case .dequantizeLinear:
            let types = device.supportsInt64 ? Self.quantizedTypes.union([.int32]) : Self.quantizedTypes
            return check({ $0 == 1 ? $1 == .float32 : types.contains($1) }, { $0 == .float32 },
                         "DequantizeLinear takes \(Self.names(types)) x and a float32 scale to float32 (8-bit floats on the CPU\(device.supportsInt64 ? "" : "; int32 x needs 64-bit integers"))")
        case .dynamicQuantizeLinear:
            return check({ $1 == .float32 }, { $0 == .float32 || $0 == .uint8 }, "DynamicQuantizeLinear takes float32")
        case .matMulInteger, .convInteger:
            return check({ $1 == .int8 || $1 == .uint8 }, { $0 == .int32 }, "\(node.op.name) takes int8 and uint8")
        default:
            return check({ $1 == .float32 }, { $0 == .float32 }, "kernels take float32")
        }
    }

    /// The integer types QuantizeLinear and DequantizeLinear run with on OpenCL.
    static let quantizedTypes: Set<DType> = [.int8, .uint8, .int16, .uint16]

    private static func names(_ types: Set<DType>) -> String { types.map { "\($0)" }.sorted().joined(separator: ", ") }

    public func makeKernel(_ node: Node, in graph: Graph) throws -> DeviceKernel {
        switch node.op {
        case .unary(let a): return try UnaryCL(a, q)
        case .clip: return try ClipCL(q)
        case .binary(let a):
            return try node.outputs[0].map { graph.values[$0].type.dtype } != .float32 ? IntegerArithCL(a, q) : BinaryCL(a, q)
        case .compare(let a): return CompareCL(a, q)
        case .logic(let a): return try LogicCL(a.kind, q)
        case .select: return WhereCL(q)
        case .pRelu: return try BinaryCL(op: .prelu, q)
        case .variadic(let a):
            return try node.outputs[0].map { graph.values[$0].type.dtype } != .float32 ? IntegerArithCL(a, q) : VariadicCL(a, q)
        case .gemm(let a): return try GemmCL(a, q)
        case .matMul(let a): return try MatMulCL(a, q)
        case .reshape, .flatten, .squeeze, .unsqueeze, .identity, .dropout: return ViewCL()
        case .cast(let a): return CastCL(a, q)
        case .recurrent(let a): return try RecurrentCL(a, node, graph, q)
        case .softmax(let a): return try SoftmaxCL(a, q)
        case .concat(let a): return ConcatCL(a, q)
        case .split(let a): return SplitCL(a, q)
        case .slice: return SliceCL(q)
        case .transpose(let a): return TransposeCL(a, q)
        case .expand: return ExpandCL(q)
        case .pad(let a): return PadCL(a, q)
        case .gather(let a): return GatherCL(a, q)
        case .resize(let a): return try ResizeCL(a, q)
        case .reduce(let a): return try ReduceCL(a, q)
        case .conv(let a): return try ConvCL(a, node, graph, q)
        case .convTranspose(let a): return try ConvTransposeCL(a, q)
        case .pool(let a): return try PoolCL(a, q)
        case .globalPool(let a): return try GlobalPoolCL(a, q)
        case .batchNorm(let a): return try BatchNormCL(a, node, graph, q)
        case .lrn(let a): return try LRNCL(a, q)
        case .layerNorm(let a): return try LayerNormCL(a, q)
        case .groupNorm(let a): return try GroupNormCL(a, q)
        case .unaryMath(let a): return a.function == .not ? try LogicCL(nil, q) : try UnaryMathCL(a, q)
        case .fusedAttention(let a): return try FusedAttentionCL(a, q)
        case .argMax(let a): return ArgMaxCL(a, q)
        case .topK(let a): return TopKCL(a, q)
        case .maxUnpool(let a): return MaxUnpoolCL(a, q)
        case .gatherElements(let a): return GatherElementsCL(a, q)
        case .scatterElements(let a): return ScatterElementsCL(a, q)
        case .scatterND(let a): return ScatterNDCL(a, q)
        case .cumulative(let a): return CumulativeCL(a, q)
        case .tile: return TileCL(q)
        case .gatherND(let a): return GatherNDCL(a, q)
        case .nonZero: return NonZeroCL(q)
        case .nonMaxSuppression(let a): return NonMaxSuppressionCL(a, q)
        case .constantOfShape(let a): return ConstantOfShapeCL(a, q)
        case .range: return RangeCL(q)
        case .roiAlign(let a): return RoiAlignCL(a, q)
        case .spaceDepth(let a): return SpaceDepthCL(a, q)
        case .ifElse(let a): return try IfCL(a, self)
        case .matMulInteger: return MatMulIntegerCL(q)
        case .quantizeLinear(let a): return try QuantizeLinearCL(a, node, graph, q)
        case .dequantizeLinear(let a): return try DequantizeLinearCL(a, node, graph, q)
        case .dynamicQuantizeLinear: return try DynamicQuantizeLinearCL(q)
        case .convInteger(let a): return ConvIntegerCL(a, q)
        // Placement (`opSupport`) never asks for the others: an op without a kernel needs no line here.
        default: throw DLInferError(.internal, "\(node.op.name) has no OpenCL kernel")
        }
    }

    /// Inputs the OpenCL kernels read on the host: shape-like parameters (constants in practice), and the indices of
    /// GatherElements and the scatters, checked and turned into offsets there.
    public func hostInputs(_ node: Node) -> Set<Int> { OpenCLBackend.hostInputs(node.op) }

    static func hostInputs(_ op: Op) -> Set<Int> {
        switch op {
        case .clip: return [1, 2]
        case .reshape, .squeeze, .unsqueeze: return [1]
        case .dropout: return [1, 2]
        case .recurrent: return [4]  // sequence_lens: the launcher needs the longest on the host
        case .split, .expand, .reduce: return [1]
        case .tile, .cumulative, .topK: return [1]  // repeats; the axis; k
        case .maxUnpool: return [2]  // output_shape
        case .nonMaxSuppression: return [2, 3, 4]  // max_output_boxes_per_class and the thresholds
        case .constantOfShape, .ifElse: return [0]  // the shape; the condition
        case .range: return [0, 1, 2]
        case .gatherElements, .scatterElements, .scatterND: return [1]  // indices: checked and turned into offsets
        case .slice: return [1, 2, 3, 4]
        case .pad, .resize: return [1, 2, 3]
        // Every other kernel reads all its inputs in device memory.
        default: return []
        }
    }

    /// The ONNX ops with an OpenCL kernel (for `dlinfer ops`; per node, `opSupport` has the last word). A test
    /// checks it against `opSupport` on one node of each op.
    public static let kernelOps: Set<String> = [
        "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Gemm", "MatMul", "LSTM",
        "GRU", "RNN", "BatchNormalization", "LRN", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "Clip", "Elu",
        "Softmax", "LogSoftmax", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Sum", "Max", "Min", "Flatten",
        "Reshape", "Transpose", "Concat", "Split", "Slice", "Squeeze", "Unsqueeze", "Gather", "Expand", "Pad", "Resize",
        "Upsample", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
        "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "Identity", "Dropout", "LayerNormalization",
        "RMSNormalization", "GroupNormalization", "InstanceNormalization", "Cast", "PRelu",
        "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor", "Not", "Where", "Abs", "Neg", "Sign", "Log", "Reciprocal", "Floor", "Ceil", "Round", "Erf", "Sin", "Cos",
        "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Softplus", "Softsign", "Mish",
        "HardSwish", "Gelu", "Selu", "Celu", "Swish", "ThresholdedRelu", "Shrink",
        "ArgMax", "ArgMin", "CumSum", "CumProd", "Tile", "DepthToSpace", "SpaceToDepth", "TopK", "MaxUnpool",
        "GatherElements", "ScatterElements", "Scatter", "ScatterND", "GatherND", "NonZero", "NonMaxSuppression",
        "ConstantOfShape", "Range", "RoiAlign", "If",
        "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger",
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
            return ReduceCL.steps(a.kind) == nil ? .no("no OpenCL kernel for \(a.opName)") : .yes
        case .batchNorm(let a):
            return a.training ? .no("BatchNormalization in training mode (batch statistics) runs on the CPU") : .yes
        case .slice, .transpose, .expand, .pad:
            return atMost8Dims(node, graph)
        case .resize(let a):
            return a.mode == .nearest ? atMost8Dims(node, graph) : .yes
        case .conv:
            // The rank comes from X, else W (the type rules make them agree).
            let rank = node.inputs.prefix(2).lazy.compactMap { $0.flatMap { graph.values[$0].type.rank } }.first
            guard let rank else { return .no("Conv with an input of unknown rank (the OpenCL kernels are 1-D to 3-D)") }
            return rank <= 5 ? .yes : .no("\(rank - 2)-D Conv runs on the CPU (the OpenCL kernels are 1-D to 3-D)")
        case .layerNorm(let a):
            return a.stash == .float32 ? .yes : .no("\(a.opName) with stash_type double runs on the CPU (float64)")
        case .groupNorm(let a):
            return a.stash == .float32 ? .yes : .no("\(a.opName) with stash_type double runs on the CPU (float64)")
        case .cast, .pRelu, .compare, .logic, .select:
            return .yes
        case .unaryMath(let a):
            return a.function == .not || UnaryMathCL.code(a.function) != nil ? .yes : .no("no OpenCL kernel for \(a.opName)")
        case .fusedAttention:
            return .yes
        case .argMax, .cumulative, .spaceDepth, .topK, .maxUnpool, .gatherElements, .scatterElements, .scatterND:
            return .yes
        case .gatherND, .nonZero, .nonMaxSuppression, .constantOfShape, .range, .roiAlign:
            return .yes
        case .tile:
            // Two copy dims per axis, and the strided copy indexes 8.
            let rank = node.inputs.first.flatMap { $0.flatMap { graph.values[$0].type.rank } }
            guard let rank, rank <= 4 else { return .no("Tile of rank \(rank.map(String.init) ?? "unknown") runs on the CPU (the OpenCL copy takes rank 4 at most)") }
            return .yes
        case .shape, .size:
            return .no("\(node.op.name) reads only its input's shape, on the host (a device input is not downloaded)")
        case .ifElse:
            return .yes
        case .loop, .scan:
            return .no("control flow runs its bodies on the CPU")
        case .quantizeLinear, .dequantizeLinear, .dynamicQuantizeLinear, .matMulInteger:
            return .yes
        case .convInteger:
            let rank = node.inputs.prefix(2).lazy.compactMap { $0.flatMap { graph.values[$0].type.rank } }.first
            guard let rank else { return .no("ConvInteger with an input of unknown rank (the OpenCL kernel is 1-D to 3-D)") }
            return rank <= 5 ? .yes : .no("\(rank - 2)-D ConvInteger runs on the CPU (the OpenCL kernel is 1-D to 3-D)")
        // A new op runs on the CPU until it gets a kernel here.
        default:
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
    public var innerTransfers: Session.Transfers { q.innerTransfers }
}

/// Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout (inference): the same buffer with the inferred shape.
final class ViewCL: Kernel {
    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
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
