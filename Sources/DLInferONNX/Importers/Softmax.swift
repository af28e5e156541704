// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

let softmaxImporters: [String: OpImporter] = [:]
