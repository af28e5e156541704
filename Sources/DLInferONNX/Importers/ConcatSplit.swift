import DLInferCore

let concatSplitImporters: [String: OpImporter] = [
    "Concat": { c in
        guard let axis = try c.int("axis") else { throw DLInferError.model("attribute 'axis' is required") }
        return .concat(Concat(axis: axis))
    },
    "Split": { c in
        let axis = try c.int("axis", default: 0)
        if c.opset < 13, let split = try c.ints("split"), !split.isEmpty {
            c.setConstantInput(1, int64Vector(split), role: "split")
        }
        var uneven = false
        if c.opset >= 18, let n = try c.int("num_outputs") {
            guard c.inputCount < 2 || c.inputs[1] == nil else {
                throw DLInferError.model("give either the 'split' input or attribute 'num_outputs', not both")
            }
            guard n == c.outputCount else {
                throw DLInferError.model("attribute 'num_outputs' is \(n) but the node has \(c.outputCount) outputs")
            }
            uneven = true
        }
        return .split(Split(axis: axis, outputs: c.outputCount, unevenLast: uneven))
    },
]
