import DLInferCore

let softmaxImporters: [String: OpImporter] = [
    "Softmax": { c in try softmax(c, log: false) },
    "LogSoftmax": { c in try softmax(c, log: true) },
    "Hardmax": { c in
        let flatten = c.opset < 13
        return .hardmax(Hardmax(axis: try c.int("axis", default: flatten ? 1 : -1), flattenTail: flatten))
    },
]

private func softmax(_ c: NodeContext, log: Bool) throws -> Op {
    // Opset 13 changed both the meaning of `axis` (one axis instead of the flattened tail) and its default.
    let flatten = c.opset < 13
    return .softmax(Softmax(axis: try c.int("axis", default: flatten ? 1 : -1), log: log, flattenTail: flatten))
}
