import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where one node runs, and why it is not on the preferred backend when it is not.
public struct Placement: Sendable {
    public var backend: String
    public var reason: String?
}

/// Runs one graph on a list of backends (in preference order). One run at a time per session; create one per thread.
public final class Session: @unchecked Sendable {
    public let graph: Graph
    public let placements: [Placement]
    private let kernels: [Kernel]
    private var plans: [[[Int]]: Plan] = [:]
    private let pool = TensorPool()
    private let cancelFlag = Atomic<Bool>(false)

    public init(graph: Graph, backends: [Backend]) throws {
        self.graph = graph
        var kernels = [Kernel](), placements = [Placement]()
        for node in graph.nodes {
            var reasons = [String]()
            var made: (Kernel, String)? = nil
            for b in backends {
                switch b.support(node, in: graph) {
                case .yes: made = (try b.makeKernel(node, in: graph), b.name)
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

        var env = [Tensor?](repeating: nil, count: graph.values.count)
        for (id, t) in graph.constants { env[id] = t }
        for (id, t) in plan.folded { env[id] = t }
        for (id, t) in zip(graph.inputs, inputs) { env[id] = t }

        for (s, i) in plan.steps.enumerated() {
            if cancelFlag.load(ordering: .relaxed) { throw DLInferError(.cancelled, "run cancelled") }
            let node = graph.nodes[i]
            let ins = node.inputs.map { $0.flatMap { env[$0] } }
            var outTypes = node.outputs.map { $0.map { plan.types[$0] } }
            if outTypes.contains(where: { $0 != nil && $0!.fixedShape == nil }) {
                // Shape depends on data only known now (e.g. a Reshape whose shape is computed from an input).
                let inferred = try node.op.inferTypes(ins.map { $0.map(TypedInput.init) })
                outTypes = node.outputs.enumerated().map { k, o in o == nil ? nil : inferred[k] }
                if let bad = outTypes.first(where: { $0 != nil && $0!.fixedShape == nil }) {
                    throw DLInferError(.internal, "\(node.label(in: graph)): output shape \(bad!) unresolved at run time")
                }
            }
            try Session.checkAllocation(outTypes, node, graph)
            let outs: [Tensor?]
            do {
                outs = try kernels[i].run(ins, OutputAllocator(types: outTypes, pool: pool))
            } catch let e as DLInferError {
                throw DLInferError(e.kind, "\(node.label(in: graph)): \(e.message)")
            }
            for (k, o) in node.outputs.enumerated() {
                guard let o else { continue }
                guard k < outs.count, let t = outs[k], t.shape == outTypes[k]!.fixedShape!, t.dtype == outTypes[k]!.dtype else {
                    throw DLInferError(.internal, "\(node.label(in: graph)): kernel produced \(k < outs.count ? String(describing: outs[k]) : "nothing") for output \(k), expected \(outTypes[k]!)")
                }
                env[o] = t
            }
            for v in plan.releaseAfter[s] {
                var storage: Storage? = env[v]?.storage
                env[v] = nil
                if isKnownUniquelyReferenced(&storage) { pool.give(storage!) }
            }
        }
        return try graph.outputs.map { id in
            guard let t = env[id] else { throw DLInferError(.internal, "output '\(graph.values[id].name)' was not computed") }
            return t
        }
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
    static let memoryLimit: Int = {
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
        return try kernels[i].run(ins.map { $0?.value }, alloc)
    }
}

struct Plan {
    var types: [ValueType]
    var folded: [ValueID: Tensor]
    var steps: [Int]
    var releaseAfter: [[ValueID]]
}
