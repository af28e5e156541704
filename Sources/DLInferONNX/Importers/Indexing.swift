import DLInferCore

let indexingImporters: [String: OpImporter] = [
    "GatherElements": { c in .gatherElements(GatherElements(axis: try c.int("axis", default: 0))) },
    "GatherND": { c in .gatherND(GatherND(batchDims: c.opset >= 12 ? try c.int("batch_dims", default: 0) : 0)) },
    "ScatterElements": { c in
        .scatterElements(ScatterElements(axis: try c.int("axis", default: 0), reduction: try reduction(c)))
    },
    "Scatter": { c in
        // Deprecated from opset 11 in favour of ScatterElements, which has the same semantics.
        guard c.opset < 11 else {
            throw DLInferError.unsupported("Scatter is deprecated from opset 11 (the model's is \(c.opset)); use ScatterElements")
        }
        return .scatterElements(ScatterElements(axis: try c.int("axis", default: 0), name: "Scatter"))
    },
    "ScatterND": { c in .scatterND(ScatterND(reduction: try reduction(c))) },
    "Compress": { c in .compress(Compress(axis: try c.int("axis"))) },
    "NonZero": { _ in .nonZero(NonZero()) },
]

/// `reduction` (opset 16: none, add, mul; opset 18 adds max, min).
private func reduction(_ c: NodeContext) throws -> ScatterReduction {
    guard c.opset >= 16 else { return .none }
    let name = try c.string("reduction", default: "none")
    let allowed: [ScatterReduction] = c.opset >= 18 ? [.none, .add, .mul, .max, .min] : [.none, .add, .mul]
    guard let r = ScatterReduction(rawValue: name), allowed.contains(r) else {
        throw c.unsupported("reduction", "'\(name)' (opset \(c.opset) allows \(allowed.map(\.rawValue).joined(separator: ", ")))")
    }
    return r
}
