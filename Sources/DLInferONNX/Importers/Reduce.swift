import DLInferCore

let reduceImporters: [String: OpImporter] = [
    "ReduceSum": { c in try reduce(c, .sum, axesInputSince: 13) },
    "ReduceMean": { c in try reduce(c, .mean, axesInputSince: 18) },
    "ReduceMax": { c in try reduce(c, .max, axesInputSince: 18) },
    "ArgMax": { c in
        .argMax(ArgMax(axis: try c.int("axis", default: 0), keepDims: try c.int("keepdims", default: 1) != 0,
                       selectLastIndex: c.opset >= 12 ? try c.int("select_last_index", default: 0) != 0 : false))
    },
]

/// Older opsets give the axes as an attribute; it becomes the constant axes input the later opsets take.
private func reduce(_ c: NodeContext, _ kind: Reduce.Kind, axesInputSince: Int) throws -> Op {
    let keepDims = try c.int("keepdims", default: 1) != 0
    guard c.opset >= axesInputSince else {
        guard c.inputCount == 1 else { throw DLInferError.model("takes one input at opset \(c.opset), got \(c.inputCount)") }
        if let axes = try c.ints("axes") {
            c.setConstantInput(1, Tensor(axes.map { Int64($0) }, shape: [axes.count]), role: "axes")
        }
        return .reduce(Reduce(kind, keepDims: keepDims, noopWithEmptyAxes: false))
    }
    return .reduce(Reduce(kind, keepDims: keepDims, noopWithEmptyAxes: try c.int("noop_with_empty_axes", default: 0) != 0))
}
