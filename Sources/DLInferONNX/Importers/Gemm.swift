// STUB: owned by the family's implementer; replace wholesale.
import DLInferCore

let gemmImporters: [String: OpImporter] = [:]
