import DLInferCore

let reshapeImporters: [String: OpImporter] = [
    "Reshape": { c in
        // Opsets 5-13 always copy a 0 from the input; `allowzero` arrives in opset 14.
        .reshape(Reshape(allowZero: c.opset >= 14 ? try c.int("allowzero", default: 0) != 0 : false))
    },
    "Flatten": { c in .flatten(Flatten(axis: try c.int("axis", default: 1))) },
    "Squeeze": { c in
        if c.opset < 13, let axes = try c.ints("axes") { c.setConstantInput(1, int64Vector(axes), role: "axes") }
        return .squeeze(Squeeze())
    },
    "Unsqueeze": { c in
        if c.opset < 13 {
            guard let axes = try c.ints("axes") else { throw DLInferError.model("attribute 'axes' is required before opset 13") }
            c.setConstantInput(1, int64Vector(axes), role: "axes")
        }
        return .unsqueeze(Unsqueeze())
    },
]

/// A legacy integer-list attribute as the int64 vector input that later opsets take.
func int64Vector(_ v: [Int]) -> Tensor { Tensor(v.map { Int64($0) }, shape: [v.count]) }
