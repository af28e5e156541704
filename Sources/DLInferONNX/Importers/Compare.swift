import DLInferCore

// Opset 1's `broadcast`/`axis` attributes are gone from opset 7, where dlinfer's import starts.
let compareImporters: [String: OpImporter] = [
    "Equal": { _ in .compare(Compare(.equal)) },
    "Less": { _ in .compare(Compare(.less)) },
    "LessOrEqual": { _ in .compare(Compare(.lessOrEqual)) },
    "Greater": { _ in .compare(Compare(.greater)) },
    "GreaterOrEqual": { _ in .compare(Compare(.greaterOrEqual)) },
    "And": { _ in .logic(Logic(.and)) },
    "Or": { _ in .logic(Logic(.or)) },
    "Xor": { _ in .logic(Logic(.xor)) },
    "Where": { _ in .select(Where()) },
]
