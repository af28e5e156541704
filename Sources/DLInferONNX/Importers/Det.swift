import DLInferCore

let detImporters: [String: OpImporter] = [
    "Det": { _ in .det(Det()) },
]
