import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where one node runs, and why it is not on the preferred backend when it is not.
public struct Placement: Sendable {
    public var backend: String
    public var reason: String?
}

/// Runs one graph on a list of backends (in preference order; at most one of them a `DeviceBackend`, whose nodes keep
/// their tensors in device memory). One run at a time per session; create one per thread.
public final class Session: @unchecked Sendable {
    public let graph: Graph
    public let placements: [Placement]
    private let kernels: [NodeKernel]
    private let device: DeviceBackend?
    /// Builds host kernels for device-placed nodes that constant folding evaluates on the host.
    private let hostBackend: Backend?
    private var foldKernels: [Int: Kernel] = [:]
    /// Weights uploaded once, on first use by a device node.
    private var deviceConstants: [ValueID: DeviceTensor] = [:]
    private var plans: [[[Int]]: Plan] = [:]
    private let pool = TensorPool()
    private let cancelFlag = Atomic<Bool>(false)

    enum NodeKernel {
        case host(Kernel)
        /// With the inputs the kernel reads on the host (shape-like parameters, and weights it prepacked).
        case device(DeviceKernel, hostInputs: Set<Int>)
    }

    public init(graph: Graph, backends: [Backend]) throws {
        self.graph = graph
        let devices = backends.compactMap { $0 as? DeviceBackend }
        guard devices.count <= 1 else { throw DLInferError(.internal, "a session runs on at most one device backend") }
        device = devices.first
        hostBackend = backends.first { !($0 is DeviceBackend) }
        var kernels = [NodeKernel](), placements = [Placement]()
        for node in graph.nodes {
            var reasons = [String]()
            var made: (NodeKernel, String)? = nil
            for b in backends {
                switch b.support(node, in: graph) {
                case .yes:
                    if let d = b as? DeviceBackend {
                        let k = try d.makeDeviceKernel(node, in: graph)
                        // Weights the kernel packed at creation stay on the host: nothing to upload.
                        let packed = k.prepackedInputs.filter { $0 < node.inputs.count && node.inputs[$0].map { graph.constants[$0] != nil } == true }
                        made = (.device(k, hostInputs: d.hostInputs(node).union(packed)), b.name)
                    }
                    else { made = (.host(try b.makeKernel(node, in: graph)), b.name) }
                case .no(let why): reasons.append("\(b.name): \(why)")
                }
                if made != nil { break }
            }
            guard let (k, name) = made else {
                throw DLInferError.unsupported("\(node.label(in: graph)) has no backend: \(reasons.joined(separator: "; "))")
            }
            kernels.append(k)
            placements.append(Placement(backend: name, reason: reasons.isEmpty ? nil : reasons.joined(separator: "; ")))
        }
        self.kernels = kernels
        self.placements = placements
    }

    /// Asks a run in progress (on another thread) to stop at the next node boundary.
    public func cancel() { cancelFlag.store(true, ordering: .relaxed) }

    /// Runs the graph on `inputs`, given in `graph.inputs` order. A new combination of input shapes builds a new
    /// plan (types resolved, shape computations folded) and caches it.
    public func run(_ inputs: [Tensor]) throws -> [Tensor] {
        cancelFlag.store(false, ordering: .relaxed)
        try checkInputs(inputs)
        let signature = inputs.map(\.shape)
        let plan: Plan
        if let p = plans[signature] { plan = p } else { plan = try makePlan(inputs); plans[signature] = plan }

        var env = Environment(count: graph.values.count)
        for (id, t) in graph.constants { env.slots[id].host = t }
        for (id, t) in plan.folded { env.slots[id].host = t }
        for (id, t) in zip(graph.inputs, inputs) { env.slots[id].host = t }
        do {
            for (s, i) in plan.steps.enumerated() {
                if cancelFlag.load(ordering: .relaxed) { throw DLInferError(.cancelled, "run cancelled") }
                try runStep(i, plan, &env)
                for v in plan.releaseAfter[s] { release(v, &env) }
            }
            let outputs = try graph.outputs.map { id -> Tensor in
                guard let t = try host(id, &env) else {
                    throw DLInferError(.internal, "output '\(graph.values[id].name)' was not computed")
                }
                return t
            }
            for v in env.slots.indices where graph.constants[v] == nil && plan.folded[v] == nil { release(v, &env) }
            return outputs
        } catch {
            // Work already queued may still use buffers this run held; let it drain before they are freed.
            if let device { try? device.finish() }
            throw error
        }
    }

    private func runStep(_ i: Int, _ plan: Plan, _ env: inout Environment) throws {
        let node = graph.nodes[i]
        var outTypes = node.outputs.map { $0.map { plan.types[$0] } }
        // The inputs read on the host; nil: all of them (a host kernel).
        let hostSlots: Set<Int>?
        switch kernels[i] {
        case .host: hostSlots = nil
        case .device(_, let h): hostSlots = h
        }
        var hostIns = [Tensor?](repeating: nil, count: node.inputs.count)
        var deviceIns = [DeviceTensor?](repeating: nil, count: node.inputs.count)
        for (k, v) in node.inputs.enumerated() {
            guard let v else { continue }
            if hostSlots?.contains(k) ?? true { hostIns[k] = try host(v, &env) } else { deviceIns[k] = try deviceValue(v, plan, &env) }
        }
        if outTypes.contains(where: { $0 != nil && $0!.fixedShape == nil }) {
            // Shape depends on data only known now (e.g. a Reshape whose shape is computed from an input).
            let typed = node.inputs.indices.map { k -> TypedInput? in
                if let t = hostIns[k] { return TypedInput(t) }
                return deviceIns[k].map { TypedInput(type: $0.type, value: nil) }
            }
            let inferred = try node.op.inferTypes(typed)
            outTypes = node.outputs.enumerated().map { k, o in o == nil ? nil : inferred[k] }
            if !node.op.attributes.hasDataDependentShape, let bad = outTypes.first(where: { $0 != nil && $0!.fixedShape == nil }) {
                throw DLInferError(.internal, "\(node.label(in: graph)): output shape \(bad!) unresolved at run time")
            }
        }
        try Session.checkAllocation(outTypes, node, graph)
        do {
            switch kernels[i] {
            case .host(let k):
                let outs = try k.run(hostIns, OutputAllocator(types: outTypes, pool: pool))
                for (k, o) in node.outputs.enumerated() {
                    guard let o else { continue }
                    let t = k < outs.count ? outs[k] : nil
                    try check(t?.type, k, outTypes, node)
                    env.slots[o].host = t
                }
            case .device(let k, _):
                let outs = try k.run(DeviceInputs(device: deviceIns, host: hostIns), OutputTypes(outTypes))
                for (k, o) in node.outputs.enumerated() {
                    guard let o else { continue }
                    let t = k < outs.count ? outs[k] : nil
                    try check(t?.type, k, outTypes, node)
                    env.slots[o].device = t
                }
            }
        } catch let e as DLInferError {
            throw DLInferError(e.kind, "\(node.label(in: graph)): \(e.message)")
        }
    }

    /// A kernel's output against its type: exactly, or where the shape is left to the kernel (data-dependent), its
    /// rank and known dims.
    private func check(_ got: ValueType?, _ k: Int, _ expected: [ValueType?], _ node: Node) throws {
        let want = expected[k]!
        func fits(_ got: ValueType) -> Bool {
            guard got.dtype == want.dtype else { return false }
            if let fixed = want.fixedShape { return got.fixedShape == fixed }
            guard let dims = want.shape else { return true }
            return got.rank == dims.count && zip(dims, got.shape!).allSatisfy { $0.value == nil || $0 == $1 }
        }
        guard let got, fits(got) else {
            throw DLInferError(.internal, "\(node.label(in: graph)): kernel produced \(got.map { "\($0)" } ?? "nothing") for output \(k), expected \(expected[k]!)")
        }
    }

    /// Value `v` on the host, downloaded (once) if it lives on the device.
    private func host(_ v: ValueID, _ env: inout Environment) throws -> Tensor? {
        if let t = env.slots[v].host { return t }
        guard let d = env.slots[v].device, let device else { return nil }
        let t = try device.download(d)
        env.slots[v].host = t
        return t
    }

    /// Value `v` on the device, uploaded (once per run, or once per session for weights) if it lives on the host.
    private func deviceValue(_ v: ValueID, _ plan: Plan, _ env: inout Environment) throws -> DeviceTensor? {
        if let d = env.slots[v].device { return d }
        guard let device, let t = env.slots[v].host else { return nil }
        let d: DeviceTensor
        if graph.constants[v] != nil {
            if let c = deviceConstants[v] { d = c } else { d = try device.upload(t); deviceConstants[v] = d }
        } else if plan.folded[v] != nil {
            if let c = plan.uploaded[v] { d = c } else { d = try device.upload(t); plan.uploaded[v] = d }
        } else {
            d = try device.upload(t)
        }
        env.slots[v].device = d
        return d
    }

    /// Returns value `v`'s memory to the pools once nothing else (a view, a graph output) refers to it.
    private func release(_ v: ValueID, _ env: inout Environment) {
        var storage: Storage? = env.slots[v].host?.storage
        var buffer: DeviceBuffer? = env.slots[v].device?.buffer
        env.slots[v] = Slot()
        if graph.constants[v] != nil { return }
        if isKnownUniquelyReferenced(&storage), storage!.ownsMemory { pool.give(storage!) }
        if isKnownUniquelyReferenced(&buffer) { device?.recycle(buffer!) }
    }

    /// Types of every value for the most recent input shapes (for output shape queries and `dlinfer info`).
    public func resolvedTypes(for shapes: [[Int]]) -> [ValueType]? { plans[shapes]?.types }

    /// Refuses outputs that cannot fit in memory (or whose size overflows) before any kernel allocates them, so a
    /// model asking for a huge tensor fails with a status instead of taking the process down.
    public static func checkAllocation(_ types: [ValueType?], _ node: Node, _ graph: Graph) throws {
        var total = 0
        for case let t? in types {
            var bytes = t.dtype.byteSize, overflow = false
            for d in t.fixedShape ?? [] {
                let (m, o) = bytes.multipliedReportingOverflow(by: d)
                bytes = m; overflow = overflow || o || d < 0
            }
            let (sum, o) = total.addingReportingOverflow(bytes)
            total = sum
            if overflow || o || total > Session.memoryLimit {
                throw DLInferError(.outOfMemory, "\(node.label(in: graph)): outputs \(types.compactMap { $0 }) need more memory than this machine has")
            }
        }
    }

    /// Physical memory: no single node may ask for more.
    public static let memoryLimit: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? pages * size : Int.max
    }()

    private func checkInputs(_ inputs: [Tensor]) throws {
        guard inputs.count == graph.inputs.count else {
            throw DLInferError.invalid("model has \(graph.inputs.count) inputs, \(inputs.count) given")
        }
        for (id, t) in zip(graph.inputs, inputs) {
            let v = graph.values[id]
            guard t.dtype == v.type.dtype else {
                throw DLInferError.invalid("input '\(v.name)' expects \(v.type.dtype), got \(t.dtype)")
            }
            guard let shape = v.type.shape else { continue }
            guard shape.count == t.rank else {
                throw DLInferError.shape("input '\(v.name)' expects rank \(shape.count) \(v.type), got shape \(t.shape)")
            }
            for (d, n) in zip(shape, t.shape) {
                if let f = d.value, f != n {
                    throw DLInferError.shape("input '\(v.name)' expects \(v.type), got shape \(t.shape)")
                }
            }
        }
    }

    /// Resolves every type for these input shapes and folds what only depended on shapes (Shape -> Gather -> Concat
    /// chains), so that each run executes only real work.
    private func makePlan(_ inputs: [Tensor]) throws -> Plan {
        var types = graph.values.map(\.type)
        var known = graph.constants
        var folded = [ValueID: Tensor]()
        for (id, t) in zip(graph.inputs, inputs) { types[id] = t.type }
        var steps = [Int]()
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
                steps.append(i)
            }
        }
        // Release each intermediate after its last reader; graph inputs and outputs and constants are never recycled.
        var last = [ValueID: Int]()
        for (s, i) in steps.enumerated() { for v in graph.nodes[i].inputs { if let v { last[v] = s } } }
        for (s, i) in steps.enumerated() { for v in graph.nodes[i].outputs { if let v, last[v] == nil { last[v] = s } } }
        let keep = Set(graph.outputs).union(graph.inputs).union(known.keys)
        var releaseAfter = [[ValueID]](repeating: [], count: steps.count)
        for (v, s) in last where !keep.contains(v) { releaseAfter[s].append(v) }
        return Plan(types: types, folded: folded, steps: steps, releaseAfter: releaseAfter)
    }

    /// Evaluates a node now if its outputs depend only on what is known for this signature.
    private func foldable(_ i: Int, _ ins: [TypedInput?], _ outs: [ValueType]) throws -> [Tensor?]? {
        let node = graph.nodes[i]
        if case .shape(let a) = node.op, let s = ins.first??.type.fixedShape {
            return [a.evaluate(inputShape: s)]
        }
        guard !node.inputs.isEmpty, ins.allSatisfy({ $0 == nil || $0!.value != nil }) else { return nil }
        guard outs.allSatisfy({ $0.fixedShape != nil }) else { return nil }
        let types = node.outputs.enumerated().map { k, o in o == nil ? nil : outs[k] }
        try Session.checkAllocation(types, node, graph)
        let alloc = OutputAllocator(types: types, pool: nil)
        return try hostKernel(i).run(ins.map { $0?.value }, alloc)
    }

    private func hostKernel(_ i: Int) throws -> Kernel {
        if case .host(let k) = kernels[i] { return k }
        if let k = foldKernels[i] { return k }
        guard let hostBackend else { throw DLInferError(.internal, "no host backend to evaluate \(graph.nodes[i].label(in: graph))") }
        let k = try hostBackend.makeKernel(graph.nodes[i], in: graph)
        foldKernels[i] = k
        return k
    }
}

/// One input-shape signature's schedule.
final class Plan {
    let types: [ValueType]
    let folded: [ValueID: Tensor]
    let steps: [Int]
    let releaseAfter: [[ValueID]]
    /// Folded values uploaded once for device nodes.
    var uploaded: [ValueID: DeviceTensor] = [:]
    init(types: [ValueType], folded: [ValueID: Tensor], steps: [Int], releaseAfter: [[ValueID]]) {
        self.types = types; self.folded = folded; self.steps = steps; self.releaseAfter = releaseAfter
    }
}

/// Where each value of a run lives: on the host, on the device, or both once copied.
struct Slot {
    var host: Tensor?
    var device: DeviceTensor?
}

struct Environment {
    var slots: [Slot]
    init(count: Int) { slots = Array(repeating: Slot(), count: count) }
}
