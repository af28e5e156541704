import DLInferCore

let lossImporters: [String: OpImporter] = [
    "NegativeLogLikelihoodLoss": { c in try loss(c, softmax: false) },
    "SoftmaxCrossEntropyLoss": { c in try loss(c, softmax: true) },
]

private func loss(_ c: NodeContext, softmax: Bool) throws -> Op {
    let name = try c.string("reduction", default: "mean")
    guard let reduction = Loss.Reduction(rawValue: name) else {
        throw DLInferError.model("attribute 'reduction' must be none, sum or mean, got '\(name)'")
    }
    return .loss(Loss(softmax: softmax, reduction: reduction, ignoreIndex: try c.int("ignore_index")))
}
