import DLInferCore

let bitCastImporters: [String: OpImporter] = [
    "BitCast": { c in
        guard let code = try c.int("to") else { throw DLInferError.model("attribute 'to' is required") }
        guard let to = DType(rawValue: Int32(truncatingIfNeeded: code)), DType.numeric.contains(to) else {
            throw c.unsupported("to", "\(onnxTypeName(code)) is not supported")
        }
        return .bitCast(BitCast(to: to))
    },
]
