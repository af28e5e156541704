import DLInferCore

let transposeImporters: [String: OpImporter] = [
    "Transpose": { c in .transpose(Transpose(perm: try c.ints("perm"))) },
]
