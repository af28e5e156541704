import DLInferCore

let reduceImporters: [String: OpImporter] = [
    "ReduceSum": { c in try reduce(c, .sum, axesInputSince: 13) },
    "ReduceMean": { c in try reduce(c, .mean, axesInputSince: 18) },
    "ReduceMax": { c in try reduce(c, .max, axesInputSince: 18) },
    "ReduceMin": { c in try reduce(c, .min, axesInputSince: 18) },
    "ReduceProd": { c in try reduce(c, .prod, axesInputSince: 18) },
    "ReduceL1": { c in try reduce(c, .l1, axesInputSince: 18) },
    "ReduceL2": { c in try reduce(c, .l2, axesInputSince: 18) },
    "ReduceLogSum": { c in try reduce(c, .logSum, axesInputSince: 18) },
    "ReduceLogSumExp": { c in try reduce(c, .logSumExp, axesInputSince: 18) },
    "ReduceSumSquare": { c in try reduce(c, .sumSquare, axesInputSince: 18) },
    "ArgMax": { c in try argExtreme(c, min: false) },
    "ArgMin": { c in try argExtreme(c, min: true) },
]

/// Older opsets give the axes as an attribute; it becomes the constant axes input the later opsets take.
private func reduce(_ c: NodeContext, _ kind: Reduce.Kind, axesInputSince: Int) throws -> Op {
    let keepDims = try c.zeroOrOne("keepdims", default: 1)
    let dtypes = reduceDTypes(kind, opset: c.opset)
    guard c.opset >= axesInputSince else {
        guard c.inputCount == 1 else { throw DLInferError.model("takes one input at opset \(c.opset), got \(c.inputCount)") }
        if let axes = try c.ints("axes") {
            c.setConstantInput(1, Tensor(axes.map { Int64($0) }, shape: [axes.count]), role: "axes")
        }
        return .reduce(Reduce(kind, keepDims: keepDims, noopWithEmptyAxes: false, dtypes: dtypes))
    }
    return .reduce(Reduce(kind, keepDims: keepDims, noopWithEmptyAxes: try c.zeroOrOne("noop_with_empty_axes", default: 0),
                          dtypes: dtypes))
}

/// The element types each version accepts: int8/uint8 joined ReduceMax/Min at 12 and bool at 20; LogSum and
/// LogSumExp dropped the integers at 28.
private func reduceDTypes(_ kind: Reduce.Kind, opset: Int) -> [DType] {
    let numbers: [DType] = [.float32, .float64, .int32, .int64, .uint32, .uint64]
    switch kind {
    case .max, .min: return numbers + (opset >= 12 ? [.int8, .uint8] : []) + (opset >= 20 ? [.bool] : [])
    case .logSum, .logSumExp: return opset >= 28 ? [.float32, .float64] : numbers
    default: return numbers
    }
}

private func argExtreme(_ c: NodeContext, min: Bool) throws -> Op {
    .argMax(ArgMax(axis: try c.int("axis", default: 0), keepDims: try c.zeroOrOne("keepdims", default: 1),
                   selectLastIndex: c.opset >= 12 ? try c.zeroOrOne("select_last_index", default: 0) : false, min: min))
}

extension NodeContext {
    /// An int attribute that is a flag: 0 or 1, anything else rejected (not silently read as true).
    func zeroOrOne(_ name: String, default d: Int) throws -> Bool {
        let v = try int(name, default: d)
        guard v == 0 || v == 1 else { throw DLInferError.model("attribute '\(name)' must be 0 or 1, got \(v)") }
        return v == 1
    }
}
