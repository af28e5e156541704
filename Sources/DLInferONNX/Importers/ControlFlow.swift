import DLInferCore

let controlFlowImporters: [String: OpImporter] = [
    "If": { c in
        guard let then = try c.body("then_branch"), let otherwise = try c.body("else_branch") else {
            throw DLInferError.model("If needs the then_branch and else_branch attributes")
        }
        guard c.outputCount == then.graph.outputs.count else {
            throw DLInferError.model("the node has \(c.outputCount) outputs, its branches \(then.graph.outputs.count)")
        }
        return .ifElse(If(then: then, else: otherwise))
    },
    "Loop": { c in
        let formal = c.inputCount
        guard formal >= 2 else { throw DLInferError.model("Loop takes M, cond and the loop-carried values; got \(formal) inputs") }
        // Both omitted: the spec's infinite loop, which could never return to the host.
        guard c.inputs[0] != nil || c.inputs[1] != nil else {
            throw DLInferError.unsupported("Loop with neither a trip count M nor a condition never ends")
        }
        guard let body = try c.body("body") else { throw DLInferError.model("Loop needs the body attribute") }
        let carried = formal - 2
        guard body.formalInputCount == 2 + carried else {
            throw DLInferError.model("the body takes \(body.formalInputCount) inputs; it must take the iteration number, the condition and the \(carried) carried values")
        }
        guard body.graph.outputs.count >= 1 + carried, c.outputCount <= body.graph.outputs.count - 1 else {
            throw DLInferError.model("the body returns \(body.graph.outputs.count) values for \(carried) carried values and the node's \(c.outputCount) outputs")
        }
        return .loop(Loop(body: body, carried: carried))
    },
    "Scan": { c in
        guard c.opset >= 9 else {
            throw DLInferError.unsupported("Scan-8 (batched, with sequence_lens) is not supported; export at opset 9 or later")
        }
        guard let m = try c.int("num_scan_inputs"), m >= 1 else { throw DLInferError.model("attribute 'num_scan_inputs' must be at least 1") }
        let formal = c.inputCount, states = formal - m
        guard states >= 0 else { throw DLInferError.model("num_scan_inputs is \(m) but the node has \(formal) inputs") }
        guard let body = try c.body("body") else { throw DLInferError.model("Scan needs the body attribute") }
        guard body.formalInputCount == formal else {
            throw DLInferError.model("the body takes \(body.formalInputCount) inputs, the node gives it \(formal)")
        }
        let k = body.graph.outputs.count - states
        guard k >= 0, c.outputCount <= body.graph.outputs.count else {
            throw DLInferError.model("the body returns \(body.graph.outputs.count) values for \(states) states and the node's \(c.outputCount) outputs")
        }
        func list(_ name: String, _ count: Int, _ def: Int) throws -> [Int] {
            guard let v = try c.ints(name) else { return Array(repeating: def, count: count) }
            guard v.count == count else { throw DLInferError.model("attribute '\(name)' has \(v.count) values, \(count) expected") }
            return v
        }
        func directions(_ name: String, _ count: Int) throws -> [Bool] {
            try list(name, count, 0).map {
                guard $0 == 0 || $0 == 1 else { throw c.unsupported(name, "\($0) is neither 0 (forward) nor 1 (reverse)") }
                return $0 == 1
            }
        }
        return .scan(Scan(body: body, stateCount: states, scanInputCount: m,
                          inputAxes: try list("scan_input_axes", m, 0), inputReverse: try directions("scan_input_directions", m),
                          outputAxes: try list("scan_output_axes", k, 0), outputReverse: try directions("scan_output_directions", k)))
    },
]
