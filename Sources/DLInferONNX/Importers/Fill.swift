import DLInferCore

let fillImporters: [String: OpImporter] = [
    "ConstantOfShape": { c in
        .constantOfShape(try c.tensor("value").map { ConstantOfShape(value: $0) } ?? ConstantOfShape())
    },
    "Expand": { _ in .expand(Expand()) },
]
