import DLInferCore

let gatherImporters: [String: OpImporter] = [
    "Gather": { c in .gather(Gather(axis: try c.int("axis", default: 0))) },
]
