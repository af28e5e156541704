import DLInferCore

let sortingImporters: [String: OpImporter] = [
    "TopK": { c in
        let axis = try c.int("axis", default: -1)
        guard c.opset >= 10 else {
            // k is an attribute before opset 10; later opsets take it as an input.
            guard c.inputCount == 1 else { throw DLInferError.model("takes one input at opset \(c.opset), got \(c.inputCount)") }
            guard let k = try c.int("k") else { throw DLInferError.model("attribute 'k' is required before opset 10") }
            c.setConstantInput(1, Tensor([Int64(k)], shape: [1]), role: "k")
            return .topK(TopK(axis: axis))
        }
        guard c.opset >= 11 else { return .topK(TopK(axis: axis)) }
        return .topK(TopK(axis: axis, largest: try c.int("largest", default: 1) != 0, sorted: try c.int("sorted", default: 1) != 0))
    },
    "Unique": { c in .unique(Unique(axis: try c.int("axis"), sorted: try c.int("sorted", default: 1) != 0)) },
]
