/// The planner: for one combination of input shapes (and where the inputs are), the only place where types are
/// inferred, what depends on shapes alone is folded, and values are scheduled to cross between host and device.
/// The resulting `Plan` is immutable; the session caches plans by `PlanKey`.
extension Session {
    /// Resolves every type for these inputs and folds what only depended on shapes (Shape -> Gather -> Concat
    /// chains), so that each run executes only real work; then orders the nodes left with the transfers they need.
    func makePlan(_ key: PlanKey, _ inputs: [ValueType]) throws -> Plan {
        var types = graph.values.map(\.type)
        var known = graph.constants
        var folded = [ValueID: Tensor]()
        for (id, t) in zip(graph.inputs, inputs) { types[id] = t }
        var nodes = [Int]()
        for (i, node) in graph.nodes.enumerated() {
            let ins = node.inputs.map { id in id.map { TypedInput(type: types[$0], value: known[$0]) } }
            let outs: [ValueType]
            do { outs = try node.op.inferTypes(ins) } catch let e as DLInferError {
                throw DLInferError(e.kind, "\(node.label(in: graph)): \(e.message)")
            }
            for (k, o) in node.outputs.enumerated() where o != nil && k < outs.count { types[o!] = outs[k] }
            if let values = try foldable(i, ins, outs) {
                for (k, o) in node.outputs.enumerated() where o != nil { known[o!] = values[k]; folded[o!] = values[k] }
            } else {
                nodes.append(i)
            }
        }
        let steps = schedule(nodes, known: known, key: key)
        // Release each intermediate after its last reader; graph inputs and outputs and constants are never recycled.
        var last = [ValueID: Int]()
        for (s, step) in steps.enumerated() { if case .node(let i) = step { for v in graph.nodes[i].inputs { if let v { last[v] = s } } } }
        for (s, step) in steps.enumerated() { if case .node(let i) = step { for v in graph.nodes[i].outputs { if let v, last[v] == nil { last[v] = s } } } }
        let keep = Set(graph.outputs).union(graph.inputs).union(known.keys)
        var releaseAfter = [[ValueID]](repeating: [], count: steps.count)
        for (v, s) in last where !keep.contains(v) { releaseAfter[s].append(v) }
        let peak = try peakBytes(steps, releaseAfter, types)
        guard peak <= pool.memory.limit else {
            throw DLInferError(.outOfMemory, "these input shapes need at least \(peak) bytes of intermediate tensors at once, more than the memory limit of \(pool.memory.limit) bytes (max_memory)")
        }
        // Each node's output types, and their shapes where all are known now: such a node's allocation is checked
        // here once, and a run skips type inference for it.
        var outputTypes = [[ValueType?]](repeating: [], count: graph.nodes.count)
        var outputShapes = [[[Int]?]?](repeating: nil, count: graph.nodes.count)
        for i in nodes {
            let t = graph.nodes[i].outputs.map { $0.map { types[$0] } }
            let shapes = t.map { $0?.fixedShape }
            let resolved = zip(t, shapes).allSatisfy { $0 == nil || $1 != nil }
            if resolved { try checkAllocation(t, graph.nodes[i]) }
            outputTypes[i] = t
            outputShapes[i] = resolved ? shapes : nil
        }
        let transient = graph.values.indices.filter { !isConstant[$0] && folded[$0] == nil }
        return Plan(types: types, constants: graph.constants, folded: folded, steps: steps, releaseAfter: releaseAfter,
                    peakBytes: peak, outputTypes: outputTypes, outputShapes: outputShapes, transient: transient,
                    concats: placeConcats(steps, types: types, outputShapes: outputShapes))
    }

    /// The nodes to run, in order, each preceded by the transfers it needs: an upload before the first device node
    /// that reads a value made (or given) on the host, a download before the first host node that reads a value made
    /// (or given) on the device, and, unless the run leaves its outputs where they are, a download of each output
    /// left on the device. Constants and folded values are on both sides: a device kernel reads a copy uploaded once
    /// per session (weights) or per plan (folded values), not once per run.
    private func schedule(_ nodes: [Int], known: [ValueID: Tensor], key: PlanKey) -> [Step] {
        var onHost = [Bool](repeating: false, count: graph.values.count), onDevice = onHost
        for (id, device) in zip(graph.inputs, key.inputsOnDevice) { if device { onDevice[id] = true } else { onHost[id] = true } }
        var steps = [Step]()
        for i in nodes {
            let node = graph.nodes[i], kernel = kernels[i]
            // Shape and Size on the host read a device value's shape without downloading it.
            let shapeOnly = !kernel.onDevice && node.op.readsOnlyInputShape
            for (k, v) in node.inputs.enumerated() {
                guard let v, known[v] == nil else { continue }
                if kernel.readsOnHost(k) {
                    if !onHost[v], !shapeOnly { steps.append(.download(v, for: i)); onHost[v] = true }
                } else if !onDevice[v] {
                    steps.append(.upload(v, for: i)); onDevice[v] = true
                }
            }
            steps.append(.node(i))
            for case let o? in node.outputs { if kernel.onDevice { onDevice[o] = true } else { onHost[o] = true } }
        }
        if !key.resident {
            for id in graph.outputs where known[id] == nil && !onHost[id] { steps.append(.download(id, for: nil)); onHost[id] = true }
        }
        return steps
    }

    /// The most bytes the plan's intermediate and output tensors of known size hold at once, step by step (views
    /// counted as copies: an upper bound).
    func peakBytes(_ steps: [Step], _ releaseAfter: [[ValueID]], _ types: [ValueType]) throws -> Int {
        var live = 0, peak = 0
        func bytes(_ v: ValueID) -> Int { (try? byteCount(types[v].dtype, types[v].fixedShape ?? [])) ?? Int.max }
        for (s, step) in steps.enumerated() {
            if case .node(let i) = step {
                for case let o? in graph.nodes[i].outputs {
                    let (sum, overflow) = live.addingReportingOverflow(bytes(o))
                    live = overflow ? Int.max : sum
                }
            }
            peak = Swift.max(peak, live)
            for v in releaseAfter[s] { live -= Swift.min(live, bytes(v)) }
        }
        return peak
    }

    /// Evaluates a node now if its outputs depend only on what is known for this signature.
    func foldable(_ i: Int, _ ins: [TypedInput?], _ outs: [ValueType]) throws -> [Tensor?]? {
        let node = graph.nodes[i]
        if let s = ins.first??.type.fixedShape, let value = node.op.valueFromShape(s) { return [value] }
        guard !node.inputs.isEmpty, !node.op.attributes.drawsRandomValues, ins.allSatisfy({ $0 == nil || $0!.value != nil }) else { return nil }
        guard outs.allSatisfy({ $0.fixedShape != nil }) else { return nil }
        let types = node.outputs.enumerated().map { k, o in o == nil ? nil : outs[k] }
        // Left to run as a step (under the memory checks) rather than blown up into the plan.
        if ConstantFolding.amplifies(inputs: ins.map { $0?.type }, outputs: types) { return nil }
        try checkAllocation(types, node)
        return try hostKernel(i).run(ins.map { $0?.value }, KernelOutputs(types: types, pool: pool))
    }

    func hostKernel(_ i: Int) throws -> HostKernel {
        if case .host(let k) = kernels[i] { return k }
        if let k = foldKernels[i] { return k }
        let k = try hostBackend.makeKernel(graph.nodes[i], in: graph)
        foldKernels[i] = k
        return k
    }
}

/// What a plan depends on: the inputs' shapes, which inputs arrive in device memory, and whether the outputs stay
/// where they were computed (a control-flow body run by a device kernel) or are all brought to the host.
struct PlanKey: Hashable {
    var shapes: [[Int]]
    var inputsOnDevice: [Bool]
    var resident: Bool
}

/// One step of a plan: a node, or one value crossing between host and device (a transfer every run makes) for the
/// node that first reads it there (nil: a graph output read back).
enum Step: Equatable {
    case node(Int)
    case upload(ValueID, for: Int)
    case download(ValueID, for: Int?)
}

/// One input-shape signature's schedule: which nodes run in which order and which values cross between host and
/// device before them, every value's type, what was folded, when each value's memory returns to the pool. Immutable,
/// and a class: a run reads it on every step, and copying a struct of arrays counted a reference per array.
final class Plan {
    let types: [ValueType]
    let folded: [ValueID: Tensor]
    let steps: [Step]
    /// The values released after step s: releases[releaseStart[s] ..< releaseStart[s + 1]] (one flat array, not an
    /// array per step, for the same reason).
    let releases: [ValueID], releaseStart: [Int]
    let peakBytes: Int
    /// Per node (graph order), its output types (nil for an absent output; empty for a folded node), and their
    /// shapes when every one is known at planning (nil: some shape depends on data, so the run infers the types).
    let outputTypes: [[ValueType?]]
    let outputShapes: [[[Int]?]?]
    /// The values a run releases at its end (all but constants and folded values).
    let transient: [ValueID]
    /// Per value, its tensor when the plan knows it: a constant or a folded value.
    let fixed: [Tensor?]
    /// The Concats whose inputs are written straight into their output.
    let concats: ConcatPlacement
    init(types: [ValueType], constants: [ValueID: Tensor], folded: [ValueID: Tensor], steps: [Step],
         releaseAfter: [[ValueID]], peakBytes: Int, outputTypes: [[ValueType?]], outputShapes: [[[Int]?]?],
         transient: [ValueID], concats: ConcatPlacement) {
        self.types = types; self.folded = folded; self.steps = steps
        releases = releaseAfter.flatMap { $0 }
        var start = [0]
        for r in releaseAfter { start.append(start.last! + r.count) }
        releaseStart = start
        self.peakBytes = peakBytes; self.outputTypes = outputTypes; self.outputShapes = outputShapes
        self.transient = transient; self.concats = concats
        var fixed = [Tensor?](repeating: nil, count: types.count)
        for (v, t) in constants { fixed[v] = t }
        for (v, t) in folded { fixed[v] = t }
        self.fixed = fixed
    }
}

/// Node `index` as one plan runs it, gathered when the plan is cached: a step reads this one object instead of
/// copying its inputs, outputs, kernel and types out of the session and the plan, each copy an atomic reference
/// count (10.8 ns apiece on a Sapphire Rapids VM, where they took half the run time of a 20-node BiLSTM model).
final class PlannedNode {
    let index: Int
    let inputs: [ValueID?], outputs: [ValueID?]
    let kernel: NodeKernel
    /// What the kernel is told about its outputs, when the plan fixes their shapes (nil: inferred at each run).
    let context: KernelOutputs?
    /// Whether the plan knows every wanted output to have no element (and the kernel need not run).
    let empty: Bool

    init(_ i: Int, _ node: Node, _ kernel: NodeKernel, _ plan: Plan, _ context: KernelOutputs?) {
        index = i; inputs = node.inputs; outputs = node.outputs; self.kernel = kernel
        self.context = context
        empty = plan.outputShapes[i].map { hasNoElements(plan.outputTypes[i], $0) } ?? false
    }
}

/// Whether some output is wanted and every wanted one has a known shape with no element (`shapes`: the types'
/// shapes, nil where unwanted or left to the data).
func hasNoElements(_ types: [ValueType?], _ shapes: [[Int]?]) -> Bool {
    zip(types, shapes).allSatisfy({ $0 == nil || $1?.elementCount == 0 }) && types.contains(where: { $0 != nil })
}

/// A cached plan with what the session and its kernels made of it: the folded values uploaded once to the device,
/// and per node whose shapes the plan fixes, what its kernel prepared for them. They live and are dropped with it.
final class CachedPlan {
    let plan: Plan
    var deviceCopies: [ValueID: DeviceTensor] = [:]
    /// Per node (graph order) that the plan runs.
    let nodes: [PlannedNode?]
    /// Free host bytes the pool keeps while this plan runs. It starts at the plan's peak, but a free buffer serves
    /// only requests down to half its size, so the buffers one run takes in turn add up to more: densenet121 holds
    /// 3.6 times its 8.4 MB peak, and with the budget at the peak each run mapped and faulted in 17 MB afresh (64.6
    /// against 55.7 ms a run). Every run that still had to allocate raises the budget by what it allocated, up to four
    /// times the peak, so that steady-state runs allocate nothing while changing shapes still cannot pile buffers up.
    private(set) var poolBudget: Int
    func grow(poolBudgetBy missed: Int) {
        poolBudget = Swift.min(poolBudget + missed, Swift.max(16 << 20, 4 * plan.peakBytes))
    }
    init(_ plan: Plan, _ graph: Graph, kernels: [NodeKernel], pool: TensorPool, isCancelled: @escaping () -> Bool) {
        self.plan = plan
        poolBudget = Swift.max(16 << 20, plan.peakBytes)
        var nodes = [PlannedNode?](repeating: nil, count: graph.nodes.count)
        for case .node(let i) in plan.steps {
            let node = graph.nodes[i]
            var context: KernelOutputs?
            if let shapes = plan.outputShapes[i] {
                // What a kernel prepares is kept only where its input shapes are fixed too.
                let fixed = node.inputs.allSatisfy { $0 == nil || plan.types[$0!].fixedShape != nil }
                context = KernelOutputs(types: plan.outputTypes[i], shapes: shapes, pool: pool, isCancelled: isCancelled,
                                        prepared: fixed ? PreparedSlot() : nil)
            }
            nodes[i] = PlannedNode(i, node, kernels[i], plan, context)
        }
        self.nodes = nodes
    }
}

/// Plans by key, at most `capacity`, the least recently used dropped first.
struct PlanCache {
    let capacity: Int
    private var plans: [PlanKey: CachedPlan] = [:]
    private var order: [PlanKey] = []
    init(capacity: Int) { self.capacity = Swift.max(1, capacity) }
    var count: Int { plans.count }

    subscript(_ key: PlanKey) -> CachedPlan? {
        mutating get {
            guard let p = plans[key] else { return nil }
            if order.last != key, let i = order.firstIndex(of: key) { order.remove(at: i); order.append(key) }
            return p
        }
        set {
            guard let newValue else { return }
            if plans.updateValue(newValue, forKey: key) == nil { order.append(key) }
            while order.count > capacity { plans[order.removeFirst()] = nil }
        }
    }
}
