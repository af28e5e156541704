import DLInferCore

let castImporters: [String: OpImporter] = [
    "Cast": { c in
        guard let code = try c.int("to") else { throw DLInferError.model("attribute 'to' is required") }
        guard let to = DType(rawValue: Int32(truncatingIfNeeded: code)), Cast.dtypes.contains(to) else {
            throw c.unsupported("to", "casting to \(onnxTypeName(code)) is not supported")
        }
        // Opset 19's `saturate` only changes casts to float8 types, which are rejected above; either value is exact.
        if c.opset >= 19 { _ = try c.int("saturate") }
        return .cast(Cast(to: to))
    },
]

