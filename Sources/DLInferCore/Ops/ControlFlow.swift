/// A control-flow op's body: a graph whose inputs are the op's formal body inputs followed by the outer-scope values
/// it reads ("captures"). The importer appends those outer values to the node's inputs, so that liveness, placement
/// and every pass see them as ordinary inputs; `captures[i]` is the node input feeding the body's i-th captured input.
public struct Body: @unchecked Sendable {
    public let graph: Graph
    public let captures: [Int]
    /// The formal inputs' types as the model declares them (often without shapes), kept so that every retyping
    /// starts from the model's word rather than from an earlier inference.
    private let declared: [ValueType]

    public init(graph: Graph, captures: [Int]) {
        self.graph = graph; self.captures = captures
        declared = graph.inputs.prefix(graph.inputs.count - captures.count).map { graph.values[$0].type }
    }

    public var formalInputCount: Int { graph.inputs.count - captures.count }
    public var outputTypes: [ValueType] { graph.outputs.map { graph.values[$0].type } }

    /// Gives the body's inputs these types (formal ones first, then the captured node inputs') and infers the rest
    /// of the body from them. At load only: the body's types are then fixed, and run-time plans never retype it.
    public func type(formal: [ValueType], node inputs: [TypedInput?]) throws {
        guard formal.count == formalInputCount else {
            throw DLInferError.model("the body takes \(formalInputCount) inputs, the op gives it \(formal.count)")
        }
        for (k, t) in formal.enumerated() {
            if isDeclared(k), declared[k].dtype != t.dtype {
                throw DLInferError.model("body input \(k) ('\(graph.values[graph.inputs[k]].name)') is declared \(declared[k].dtype), the op gives it \(t.dtype)")
            }
            graph.values[graph.inputs[k]].type = Graph.merge(declared: declared[k], inferred: t)
        }
        for (i, k) in captures.enumerated() {
            guard k < inputs.count, let t = inputs[k] else { throw DLInferError.model("captured value \(i) is missing") }
            graph.values[graph.inputs[formalInputCount + i]].type = t.type
        }
        do { try graph.inferTypes() } catch let e as DLInferError { throw DLInferError(e.kind, "in its body: \(e.message)") }
    }

    /// Whether the model gave formal input `k` a type (an untyped one is imported as float32 of unknown rank).
    private func isDeclared(_ k: Int) -> Bool { !(declared[k].dtype == .float32 && declared[k].shape == nil) }
}

/// The type both branches or iterations agree on: the dtype they share, the dims equal in both, unknown elsewhere.
func unify(_ a: ValueType, _ b: ValueType) throws -> ValueType {
    guard a.dtype == b.dtype else { throw DLInferError.model("the bodies produce \(a.dtype) and \(b.dtype) for the same output") }
    guard let sa = a.shape, let sb = b.shape, sa.count == sb.count else { return ValueType(a.dtype, nil) }
    return ValueType(a.dtype, zip(sa, sb).map { $0 == $1 ? $0 : .unknown })
}

/// If: runs the then or else branch, chosen by the one-element bool `cond`, and returns its outputs. The branches
/// may give outputs of different shapes, so the shapes are known only once the branch has run.
public struct If: OpAttributes {
    public let thenBranch: Body, elseBranch: Body
    public init(then: Body, else e: Body) { thenBranch = then; elseBranch = e }
    public var opName: String { "If" }
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var hasDataDependentShape: Bool { true }
    public var subgraphs: [Graph] { [thenBranch.graph, elseBranch.graph] }

    public func typeSubgraphs(_ inputs: [TypedInput?]) throws {
        try thenBranch.type(formal: [], node: inputs)
        try elseBranch.type(formal: [], node: inputs)
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let cond = try inputs.required(0, "cond")
        try requireDType(cond.type.dtype, [.bool], "cond")
        if let s = cond.type.fixedShape, s.elementCount != 1 { throw DLInferError.shape("cond must have one element, has shape \(s)") }
        let t = thenBranch.outputTypes, e = elseBranch.outputTypes
        guard t.count == e.count else {
            throw DLInferError.model("then_branch has \(t.count) outputs, else_branch \(e.count)")
        }
        return try zip(t, e).map { try unify($0, $1) }
    }
}

/// Loop: runs the body while the trip count `M` (int64, optional) is not reached and the condition (bool, optional;
/// the body computes the next one) holds. Inputs: M, cond, the N loop-carried values' initial values. The body takes
/// (iteration number, condition, carried values) and returns (condition, carried values, K scan values); the node
/// returns the carried values' final values and the K scan values of every iteration stacked along a new first axis.
/// Carried values may change shape from one iteration to the next; scan values may not.
public struct Loop: OpAttributes {
    public let body: Body
    /// N: the loop-carried values (node inputs 2..<2+N, before the captured ones).
    public let carried: Int
    public init(body: Body, carried: Int) { self.body = body; self.carried = carried }
    public var opName: String { "Loop" }
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var hasDataDependentShape: Bool { true }
    public var subgraphs: [Graph] { [body.graph] }

    public func typeSubgraphs(_ inputs: [TypedInput?]) throws {
        let initial = try (0..<carried).map { try inputs.required(2 + $0, "v_initial \($0)").type }
        let fixed = [ValueType(.int64, fixed: []), ValueType(.bool, fixed: [])]
        try body.type(formal: fixed + initial, node: inputs)
        // A carried value whose shape the body changes is retyped with the dims that differ left unknown.
        let after = Array(body.outputTypes.dropFirst().prefix(carried))
        guard after.count == carried else { return }
        let relaxed = try zip(initial, after).map { try unify($0, $1) }
        if relaxed != initial { try body.type(formal: fixed + relaxed, node: inputs) }
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        if let m = inputs.optional(0) {
            try requireDType(m.type.dtype, [.int64], "M")
            if let s = m.type.fixedShape, s.elementCount != 1 { throw DLInferError.shape("M must have one element, has shape \(s)") }
        }
        if let c = inputs.optional(1) {
            try requireDType(c.type.dtype, [.bool], "cond")
            if let s = c.type.fixedShape, s.elementCount != 1 { throw DLInferError.shape("cond must have one element, has shape \(s)") }
        }
        let outs = body.outputTypes
        guard outs.count >= 1 + carried else {
            throw DLInferError.model("the body returns \(outs.count) values; it must return the condition and the \(carried) carried values")
        }
        try requireDType(outs[0].dtype, [.bool], "the body's condition output")
        var types = [ValueType]()
        for k in 0..<carried {
            let initial = try inputs.required(2 + k, "v_initial \(k)").type
            types.append(try unify(initial, outs[1 + k]))
        }
        for s in outs.dropFirst(1 + carried) { types.append(ValueType(s.dtype, s.shape.map { [.unknown] + $0 })) }
        return types
    }
}

/// Scan (opset 9+): runs the body once per slice of the scan inputs along their scan axes (forward or reverse),
/// threading N state values through; each iteration's K scan outputs are stacked along their output axes.
/// Inputs: N initial states, then M scan inputs; outputs: N final states, then K scan outputs.
public struct Scan: OpAttributes {
    public let body: Body
    public let stateCount: Int, scanInputCount: Int
    public let inputAxes: [Int], inputReverse: [Bool], outputAxes: [Int], outputReverse: [Bool]
    public init(body: Body, stateCount: Int, scanInputCount: Int, inputAxes: [Int], inputReverse: [Bool],
                outputAxes: [Int], outputReverse: [Bool]) {
        self.body = body; self.stateCount = stateCount; self.scanInputCount = scanInputCount
        self.inputAxes = inputAxes; self.inputReverse = inputReverse; self.outputAxes = outputAxes; self.outputReverse = outputReverse
    }
    public var opName: String { "Scan" }
    public var computeFloatTypes: Set<DType> { .anyFloat }
    /// The body's shapes are typed once, at load: what it gives for real inputs is known when it has run.
    public var hasDataDependentShape: Bool { true }
    public var subgraphs: [Graph] { [body.graph] }
    public var scanOutputCount: Int { body.graph.outputs.count - stateCount }

    public func typeSubgraphs(_ inputs: [TypedInput?]) throws {
        var formal = try (0..<stateCount).map { try inputs.required($0, "initial state \($0)").type }
        for j in 0..<scanInputCount {
            let t = try inputs.required(stateCount + j, "scan input \(j)").type
            guard let s = t.shape else { formal.append(ValueType(t.dtype, nil)); continue }
            let a = try normalizeAxis(inputAxes[j], rank: s.count, "scan_input_axes[\(j)]")
            formal.append(ValueType(t.dtype, Array(s[..<a] + s[(a + 1)...])))
        }
        try body.type(formal: formal, node: inputs)
    }

    /// The number of iterations: the scan axis length all scan inputs share.
    func length(_ inputs: [TypedInput?]) throws -> Dim {
        var n: Dim? = nil
        for j in 0..<scanInputCount {
            guard let s = inputs[stateCount + j]?.type.shape else { continue }
            let d = s[try normalizeAxis(inputAxes[j], rank: s.count, "scan_input_axes[\(j)]")]
            if let a = n?.value, let b = d.value, a != b {
                throw DLInferError.shape("scan inputs have scan axis lengths \(a) and \(b)")
            }
            if n == nil || n?.value == nil { n = d }
        }
        return n ?? .unknown
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        guard scanInputCount >= 1, inputs.count >= stateCount + scanInputCount else {
            throw DLInferError.model("Scan needs its \(stateCount) states and \(scanInputCount) scan inputs (num_scan_inputs)")
        }
        let outs = body.outputTypes
        guard outs.count >= stateCount else { throw DLInferError.model("the body returns \(outs.count) values, fewer than the \(stateCount) states") }
        let n = try length(inputs)
        var types = [ValueType]()
        for k in 0..<stateCount {
            let initial = try inputs.required(k, "initial state \(k)").type
            guard initial.dtype == outs[k].dtype else {
                throw DLInferError.model("state \(k) is \(initial.dtype) but the body returns \(outs[k].dtype)")
            }
            types.append(try unify(initial, outs[k]))
        }
        for (j, t) in outs.dropFirst(stateCount).enumerated() {
            guard let s = t.shape else { types.append(ValueType(t.dtype, nil)); continue }
            let a = try normalizeAxis(outputAxes[j], rank: s.count + 1, "scan_output_axes[\(j)]")
            types.append(ValueType(t.dtype, Array(s[..<a]) + [n] + Array(s[a...])))
        }
        return types
    }
}

/// The one element of a bool condition (cond of If, Loop's condition in and out), as a kernel reads it.
public func conditionValue(_ t: Tensor, _ what: String) throws -> Bool {
    guard t.dtype == .bool, t.count == 1 else { throw DLInferError.shape("\(what) must be one bool, got \(t.dtype)\(t.shape)") }
    return t.pointer(Bool.self).pointee
}
