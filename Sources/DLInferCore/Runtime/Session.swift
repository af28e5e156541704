import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs one graph on a host backend and, optionally, a device backend, whose nodes keep their tensors in device
/// memory and which is preferred for every node it supports. One run at a time per session; create one per thread.
///
/// Three parts, one job each: the partitioner (`Partition.swift`) places every node and makes its kernel once; the
/// planner (`Plan.swift`) turns each new combination of input shapes into an immutable `Plan` of node and transfer
/// steps, cached here; this file is the executor, which runs a plan step by step and returns memory to the pools
/// after each value's last reader.
public final class Session: @unchecked Sendable {
    public let graph: Graph
    /// Per value, whether it is one of the graph's constants (looked up per release, so an array, not the dictionary).
    let isConstant: [Bool]
    public let placements: [Placement]
    let kernels: [NodeKernel]
    let device: (any DeviceBackend)?
    /// Runs the nodes the device does not, and builds host kernels for device nodes that the planner folds.
    let hostBackend: HostBackend
    var foldKernels: [Int: HostKernel] = [:]
    /// Weights uploaded once, on first use by a device node.
    private var deviceConstants: [ValueID: DeviceTensor] = [:]
    var plans: PlanCache
    /// The plan of the last run: a session mostly repeats its shapes, and comparing them is cheaper than hashing.
    private var lastPlan: (key: PlanKey, plan: CachedPlan)?
    let pool: TensorPool
    private let cancelFlag = Atomic<Bool>(false)
    /// For kernels that loop for long; made once, not per node and run.
    private lazy var isCancelled: () -> Bool = { [unowned self] in self.cancelFlag.load(ordering: .relaxed) }
    /// Per node, nanoseconds spent in it over the runs since profiling was switched on; nil when off.
    private var nodeNanoseconds: [UInt64]?

    /// The last run's transfers (all zero on a session without a device).
    public private(set) var lastTransfers = Transfers()

    /// What a session may use: `maxMemory` bytes of host memory at once (buffers, pooled free ones and outputs still
    /// held; default `MemoryBudget.defaultLimit`), and `planCacheSize` plans for distinct input shapes kept at once
    /// (least recently used dropped first).
    public struct Limits: Sendable {
        public var maxMemory: Int
        public var planCacheSize: Int
        public init(maxMemory: Int = MemoryBudget.defaultLimit, planCacheSize: Int = 16) {
            self.maxMemory = maxMemory; self.planCacheSize = planCacheSize
        }
    }
    /// Device nodes queued between two waits for the device: a cancel then stops a run within this many nodes.
    static let deviceNodesPerSync = 16

    public init(graph: Graph, host: HostBackend, device: (any DeviceBackend)? = nil, limits: Limits = Limits()) throws {
        self.graph = graph
        isConstant = graph.values.indices.map { graph.constants[$0] != nil }
        pool = TensorPool(memory: MemoryBudget(limit: limits.maxMemory))
        plans = PlanCache(capacity: limits.planCacheSize)
        let partition = try Partition(graph: graph, host: host, device: device)
        self.device = device
        hostBackend = host
        kernels = partition.kernels
        placements = partition.placements
    }

    /// Host memory held now (buffers, pooled free ones, outputs not yet freed), and plans cached.
    public var memoryInUse: Int { pool.memory.inUse }
    /// The budget the session's buffers count against (inputs the host hands over to copy count too).
    public var memory: MemoryBudget { pool.memory }
    public var cachedPlans: Int { plans.count }
    /// Host bytes the last run had to allocate because no pooled buffer could serve them (0 in steady state).
    public var lastRunAllocatedBytes: Int { pool.missedBytes }

    /// Profiling: when on, each run adds every node's time to `nodeTimes` (device nodes are waited for one by one, so
    /// their time is their own and the run is slower than without). Switching it on clears the times.
    public var profiling: Bool {
        get { nodeNanoseconds != nil }
        set { nodeNanoseconds = newValue ? [UInt64](repeating: 0, count: graph.nodes.count) : nil }
    }
    /// Seconds per node (graph order) summed over the profiled runs; empty when profiling is off.
    public var nodeTimes: [Double] { nodeNanoseconds?.map { Double($0) / 1e9 } ?? [] }

    /// Asks a run in progress (on another thread) to stop at the next node boundary.
    public func cancel() { cancelFlag.store(true, ordering: .relaxed) }

    /// A graph input or output where it lives: host memory or the device backend's memory.
    public enum Resident {
        case host(Tensor), device(DeviceTensor)
        public var type: ValueType {
            switch self { case .host(let t): return t.type; case .device(let d): return d.type }
        }
        var dtype: DType {
            switch self { case .host(let t): return t.dtype; case .device(let d): return d.dtype }
        }
        var shape: [Int] {
            switch self { case .host(let t): return t.shape; case .device(let d): return d.shape }
        }
        var onDevice: Bool { if case .device = self { return true } else { return false } }
    }

    /// Runs the graph on `inputs`, given in `graph.inputs` order. A new combination of input shapes builds a new
    /// plan (types resolved, shape computations folded) and caches it.
    public func run(_ inputs: [Tensor]) throws -> [Tensor] {
        try execute(inputs.map { .host($0) }, resident: false).map {
            guard case .host(let t) = $0 else { throw DLInferError(.internal, "an output stayed on the device") }
            return t
        }
    }

    /// Runs the graph where its inputs already are and leaves each output where it was computed: the bodies of
    /// control-flow ops a device kernel runs (an If branch on the device), whose tensors need not cross.
    public func runResident(_ inputs: [Resident]) throws -> [Resident] { try execute(inputs, resident: true) }

    private func execute(_ inputs: [Resident], resident: Bool) throws -> [Resident] {
        cancelFlag.store(false, ordering: .relaxed)
        lastTransfers = Transfers()
        try checkInputs(inputs)
        let shapes = inputs.map(\.shape)
        let cached: CachedPlan
        if let last = lastPlan, last.key.resident == resident, last.key.shapes == shapes,
           zip(last.key.inputsOnDevice, inputs).allSatisfy({ $0 == $1.onDevice }) {
            cached = last.plan
        } else {
            let key = PlanKey(shapes: shapes, inputsOnDevice: inputs.map(\.onDevice), resident: resident)
            if let p = plans[key] {
                cached = p
            } else {
                cached = CachedPlan(try makePlan(key, inputs.map(\.type)), graph, kernels: kernels, pool: pool,
                                    isCancelled: isCancelled)
                plans[key] = cached
            }
            lastPlan = (key, cached)
        }
        let plan = cached.plan
        // Free buffers kept between runs: what this plan's runs need, so that changing shapes do not pile them up.
        pool.budget = cached.poolBudget
        pool.missedBytes = 0

        let innerBefore = device?.innerTransfers ?? Transfers()
        defer { if let device { lastTransfers.add(device.innerTransfers, since: innerBefore) } }
        // Constants and folded values are not copied in: steps read them from `plan.fixed`.
        var env = Environment(count: graph.values.count)
        for (id, t) in zip(graph.inputs, inputs) {
            switch t {
            case .host(let t): env.slots[id].host = t
            case .device(let d): env.slots[id].device = d
            }
        }
        do {
            var queued = 0
            for (s, step) in plan.steps.enumerated() {
                if cancelFlag.load(ordering: .relaxed) { throw DLInferError(.cancelled, "run cancelled") }
                switch step {
                case .node(let i):
                    let node = cached.nodes[i]!
                    let start = nodeNanoseconds == nil ? 0 : monotonicNanoseconds()
                    try runNode(node, cached, &env)
                    if nodeNanoseconds != nil {
                        if let device, node.kernel.onDevice { try device.finish() }
                        nodeNanoseconds![i] &+= monotonicNanoseconds() &- start
                    }
                    // Device work is queued, not done: wait for it now and then so that a cancel stops the run
                    // itself, not only the queueing of it.
                    if let device, node.kernel.onDevice {
                        queued += 1
                        if queued == Session.deviceNodesPerSync { try device.finish(); queued = 0 }
                    }
                case .upload(let v, let reader): try upload(v, for: reader, &env)
                case .download(let v, let reader): try download(v, for: reader, &env)
                }
                for r in plan.releaseStart[s]..<plan.releaseStart[s + 1] { release(plan.releases[r], &env) }
            }
            let outputs = try graph.outputs.map { id -> Resident in
                if let t = env.slots[id].host ?? plan.fixed[id] { return .host(t) }
                guard resident, let d = env.slots[id].device else {
                    throw DLInferError(.internal, "output '\(graph.values[id].name)' was not computed")
                }
                return .device(d)
            }
            // Faults device kernels found (reported at a read-back) fail this run, not the next (a body run by a
            // device kernel leaves that to the run around it).
            if !resident { try device?.finish() }
            for v in plan.transient { release(v, &env) }
            cached.grow(poolBudgetBy: pool.missedBytes)
            return outputs
        } catch {
            // Work already queued may still use buffers this run held; let it drain before they are freed.
            if let device { try? device.finish() }
            throw error
        }
    }

    private func runNode(_ n: PlannedNode, _ cached: CachedPlan, _ env: inout Environment) throws {
        let plan = cached.plan, i = n.index
        if device != nil, !n.kernel.onDevice, let shapeOnly = shapeOfDeviceValue(graph.nodes[i], env) {
            if let o = n.outputs.first ?? nil { env.slots[o].host = shapeOnly }
            return
        }
        // Each input is where the plan put it: transfers are steps of their own.
        var hostIns = [Tensor?](repeating: nil, count: n.inputs.count)
        var deviceIns = [DeviceTensor?]()
        if n.kernel.onDevice { deviceIns = Array(repeating: nil, count: n.inputs.count) }
        for k in n.inputs.indices {
            guard let v = n.inputs[k] else { continue }
            let present: Bool
            if n.kernel.readsOnHost(k) {
                hostIns[k] = env.slots[v].host ?? plan.fixed[v]
                present = hostIns[k] != nil
            } else {
                deviceIns[k] = try deviceValue(v, cached, env)
                present = deviceIns[k] != nil
            }
            guard present else {
                throw DLInferError(.internal, "\(graph.nodes[i].label(in: graph)): input '\(graph.values[v].name)' is not where the plan put it")
            }
        }
        var outputs = try n.context ?? inferredOutputs(n, hostIns, deviceIns)
        if let placed = try placedOutputs(i, plan, &env) { outputs = outputs.placing(placed) }
        do {
            switch n.kernel {
            case .host(let k):
                // Empty outputs need no kernel (and no scratch sized from the other, possibly huge, dims).
                if n.empty || n.context == nil, let empty = try emptyOutputs(outputs.types, outputs.shapes!) {
                    for (k, o) in n.outputs.enumerated() { if let o { env.slots[o].host = empty[k] } }
                    return
                }
                var outs = try k.run(hostIns, outputs)
                for k in n.outputs.indices {
                    guard let o = n.outputs[k] else { continue }
                    // Moved out of the kernel's array rather than copied (a copy counts two references).
                    var t: Tensor?
                    if k < outs.count { swap(&t, &outs[k]) }
                    try check(t, k, outputs, i)
                    env.slots[o].host = t
                }
            case .device(let k, _):
                let outs = try k.run(DeviceInputs(device: deviceIns, host: hostIns), outputs)
                for k in n.outputs.indices {
                    guard let o = n.outputs[k] else { continue }
                    let t = k < outs.count ? outs[k] : nil
                    try check(t?.dtype, t?.shape, k, outputs.types, outputs.shapes!, i)
                    env.slots[o].device = t
                }
            }
        } catch let e as DLInferError {
            throw DLInferError(e.kind, "\(graph.nodes[i].label(in: graph)): \(e.message)")
        }
    }

    /// The outputs of a node whose shapes depend on data only known now (a Reshape whose shape is computed from an
    /// input), from its inputs' types and values.
    private func inferredOutputs(_ n: PlannedNode, _ hostIns: [Tensor?], _ deviceIns: [DeviceTensor?]) throws -> KernelOutputs {
        let node = graph.nodes[n.index]
        let typed = n.inputs.indices.map { k -> TypedInput? in
            if let t = hostIns[k] { return TypedInput(t) }
            return k < deviceIns.count ? deviceIns[k].map { TypedInput(type: $0.type, value: nil) } : nil
        }
        let inferred = try node.op.inferTypes(typed)
        let types = node.outputs.enumerated().map { k, o in o == nil ? nil : inferred[k] }
        if !node.op.attributes.hasDataDependentShape, let bad = types.first(where: { $0 != nil && $0!.fixedShape == nil }) {
            throw DLInferError(.internal, "\(node.label(in: graph)): output shape \(bad!) unresolved at run time")
        }
        try checkAllocation(types, node)
        return KernelOutputs(types: types, shapes: types.map { $0?.fixedShape }, pool: pool, isCancelled: isCancelled)
    }

    /// What node i's kernel writes into instead of new memory (`ConcatPlacement`): its outputs' places in a family
    /// root's output, which the first of the family's producers to run allocates, and for a Concat of the family
    /// that output or its start.
    private func placedOutputs(_ i: Int, _ plan: Plan, _ env: inout Environment) throws -> [Tensor?]? {
        if let member = plan.concats.members[i] {
            guard let whole = env.concatOutputs[member.root] else { return nil }
            if member.releases { env.concatOutputs[member.root] = nil }
            let shape = plan.outputShapes[i]![0]!
            return [shape == whole.shape ? whole : Self.part(of: whole, from: 0, shape: shape)]
        }
        if plan.concats.slices[i].isEmpty { return nil }
        let slices = plan.concats.slices[i]
        var placed = [Tensor?](repeating: nil, count: graph.nodes[i].outputs.count)
        for s in slices {
            let whole: Tensor
            if let t = env.concatOutputs[s.concat] {
                whole = t
            } else {
                whole = try KernelOutputs(types: plan.outputTypes[s.concat], shapes: plan.outputShapes[s.concat],
                                          pool: pool).make(0)
                env.concatOutputs[s.concat] = whole
            }
            placed[s.output] = Self.part(of: whole, from: s.offset, shape: plan.outputShapes[i]![s.output]!)
        }
        return placed
    }

    /// The run of a family root's output from byte `offset` on that holds a tensor of `shape`.
    private static func part(of whole: Tensor, from offset: Int, shape: [Int]) -> Tensor {
        Tensor(dtype: whole.dtype, shape: shape,
               storage: Storage(slice: whole.storage, offset: offset, byteCount: shape.elementCount * whole.dtype.byteSize))
    }

    /// Shape and Size read nothing but their input's shape: of a value held only on the device (a data-dependent
    /// shape the plan could not fold) they are computed here, without downloading the value.
    private func shapeOfDeviceValue(_ node: Node, _ env: Environment) -> Tensor? {
        guard let v = node.inputs.first ?? nil, env.slots[v].host == nil, let d = env.slots[v].device else { return nil }
        return node.op.valueFromShape(d.shape)
    }

    /// A host kernel's output against its type (see below), borrowed: the common exact match copies nothing.
    private func check(_ t: Tensor?, _ k: Int, _ outputs: KernelOutputs, _ node: Int) throws {
        if let t, outputs.fits(t, k) { return }
        try check(t?.dtype, t?.shape, k, outputs.types, outputs.shapes!, node)
    }

    /// A kernel's output against its type: exactly, or where the shape is left to the kernel (data-dependent), its
    /// rank and known dims.
    private func check(_ dtype: DType?, _ shape: [Int]?, _ k: Int, _ expected: [ValueType?], _ shapes: [[Int]?],
                       _ node: Int) throws {
        let want = expected[k]!
        if let dtype, dtype == want.dtype, let fixed = shapes[k], shape == fixed { return }
        let got = dtype.map { ValueType($0, fixed: shape!) }
        func fits(_ got: ValueType) -> Bool {
            guard got.dtype == want.dtype else { return false }
            if let fixed = want.fixedShape { return got.fixedShape == fixed }
            guard let dims = want.shape else { return true }
            return got.rank == dims.count && zip(dims, got.shape!).allSatisfy { $0.value == nil || $0 == $1 }
        }
        guard let got, fits(got) else {
            throw DLInferError(.internal, "\(graph.nodes[node].label(in: graph)): kernel produced \(got.map { "\($0)" } ?? "nothing") for output \(k), expected \(expected[k]!)")
        }
    }

    /// A download step: value `v`, made on the device, copied to the host for node `reader` (nil: an output).
    private func download(_ v: ValueID, for reader: Int?, _ env: inout Environment) throws {
        guard let d = env.slots[v].device, let device else {
            throw DLInferError(.internal, "'\(graph.values[v].name)' is not on the device to download")
        }
        env.slots[v].host = try device.download(d)
        lastTransfers.record(.init(value: graph.values[v].name, toDevice: false, shape: d.shape, bytes: d.byteCount,
                                   reader: reader.map { graph.nodes[$0].label(in: graph) }))
    }

    /// An upload step: value `v`, made or given on the host, copied to the device for node `reader`.
    private func upload(_ v: ValueID, for reader: Int, _ env: inout Environment) throws {
        guard let t = env.slots[v].host, let device else {
            throw DLInferError(.internal, "'\(graph.values[v].name)' is not on the host to upload")
        }
        let d = try device.upload(t)
        env.slots[v].device = d
        lastTransfers.record(.init(value: graph.values[v].name, toDevice: true, shape: d.shape, bytes: d.byteCount,
                                   reader: graph.nodes[reader].label(in: graph)))
    }

    /// Value `v` on the device: where a step put it, or for a constant or folded value, its copy uploaded once per
    /// session (weights) or plan.
    private func deviceValue(_ v: ValueID, _ cached: CachedPlan, _ env: Environment) throws -> DeviceTensor? {
        if let d = env.slots[v].device { return d }
        guard let device, let t = cached.plan.fixed[v] else { return nil }
        if isConstant[v] {
            if let c = deviceConstants[v] { return c }
            let d = try device.upload(t)
            deviceConstants[v] = d
            return d
        }
        if let c = cached.deviceCopies[v] { return c }
        let d = try device.upload(t)
        cached.deviceCopies[v] = d
        return d
    }

    /// Takes back the memory of earlier outputs that nothing else refers to any more (the caller let go of them) for
    /// the next run to reuse, and empties `outputs`: a model whose large output is read and dropped every run then
    /// does not map and fault in fresh pages for it each time.
    public func recycle(_ outputs: inout [Tensor]) {
        var storages = outputs.map(\.storage)
        outputs = []
        for i in storages.indices where storages[i].ownsMemory && storages[i].counts(against: pool.memory) {
            if isKnownUniquelyReferenced(&storages[i]) { pool.give(storages[i]) }
        }
    }

    /// Returns value `v`'s memory to the pools once nothing else (a view, a graph output) refers to it.
    private func release(_ v: ValueID, _ env: inout Environment) {
        // Swapped out, not copied: the slot's references move here without being counted.
        var slot = Slot()
        swap(&slot, &env.slots[v])
        if isConstant[v] { return }
        var storage: Storage? = slot.host?.storage
        var buffer: DeviceBuffer? = slot.device?.buffer
        slot = Slot()
        if isKnownUniquelyReferenced(&storage), storage!.ownsMemory { pool.give(storage!) }
        if isKnownUniquelyReferenced(&buffer) { device?.recycle(buffer!) }
    }

    /// Refuses outputs that cannot fit in memory (or whose size overflows) before any kernel allocates them, so a
    /// model asking for a huge tensor fails with a status instead of taking the process down.
    public static func checkAllocation(_ types: [ValueType?], _ node: Node, _ graph: Graph, limit: Int = MemoryBudget.defaultLimit) throws {
        try checkAllocation(types, node.label(in: graph), limit: limit)
    }

    /// The same for tensors `what` (a node label, or a kernel's own buffers) is about to allocate.
    public static func checkAllocation(_ types: [ValueType?], _ what: @autoclosure () -> String,
                                       limit: Int = MemoryBudget.defaultLimit) throws {
        var total = 0
        for case let t? in types {
            let bytes: Int
            do { bytes = try byteCount(t.dtype, t.fixedShape ?? []) } catch let e as DLInferError {
                throw DLInferError(e.kind, "\(what()): \(e.message)")
            }
            let (sum, o) = total.addingReportingOverflow(bytes)
            total = sum
            if o || total > limit {
                throw DLInferError(.outOfMemory, "\(what()): outputs \(types.compactMap { $0 }) need more than the memory limit of \(limit) bytes")
            }
        }
    }

    func checkAllocation(_ types: [ValueType?], _ node: Node) throws {
        try Session.checkAllocation(types, node, graph, limit: pool.memory.limit)
    }

    /// Empty tensors for the wanted outputs when every one has a known shape with no element; nil otherwise. `shapes`:
    /// the types' shapes, nil where unwanted or left to the data.
    private func emptyOutputs(_ types: [ValueType?], _ shapes: [[Int]?]) throws -> [Tensor?]? {
        guard hasNoElements(types, shapes) else { return nil }
        return try zip(types, shapes).map { t, shape in try t.map { try Tensor(dtype: $0.dtype, shape: shape!) } }
    }

    private func checkInputs(_ inputs: [Resident]) throws {
        guard inputs.count == graph.inputs.count else {
            throw DLInferError.invalid("model has \(graph.inputs.count) inputs, \(inputs.count) given")
        }
        for (id, t) in zip(graph.inputs, inputs) {
            let v = graph.values[id], given = t.shape
            guard t.dtype == v.type.dtype else {
                throw DLInferError.invalid("input '\(v.name)' expects \(v.type.dtype), got \(t.dtype)")
            }
            guard let shape = v.type.shape else { continue }
            guard shape.count == given.count else {
                throw DLInferError.shape("input '\(v.name)' expects rank \(shape.count) \(v.type), got shape \(given)")
            }
            for (d, n) in zip(shape, given) {
                if let f = d.value, f != n {
                    throw DLInferError.shape("input '\(v.name)' expects \(v.type), got shape \(given)")
                }
            }
        }
    }
}

/// Where each value of a run lives: on the host, on the device, or both once copied.
struct Slot {
    var host: Tensor?
    var device: DeviceTensor?
}

struct Environment {
    var slots: [Slot]
    /// Each placed Concat family root's output (`ConcatPlacement`), from its first producer's step to the last step of
    /// the family's Concats.
    var concatOutputs: [Int: Tensor] = [:]
    init(count: Int) { slots = Array(repeating: Slot(), count: count) }
}
