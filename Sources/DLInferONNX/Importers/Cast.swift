import DLInferCore

let castImporters: [String: OpImporter] = [
    "Cast": { c in
        guard let code = try c.int("to") else { throw DLInferError.model("attribute 'to' is required") }
        guard let to = DType(rawValue: Int32(truncatingIfNeeded: code)), Cast.dtypes.contains(to) else {
            throw c.unsupported("to", "casting to \(onnxTypeName(code)) is not supported")
        }
        // Opset 19's `saturate` only changes casts to float8 types and opset 24's `round_mode` only casts to
        // float8e8m0, all rejected above; for the types dlinfer has, any value gives the same result.
        if c.opset >= 19 { _ = try c.int("saturate") }
        if c.opset >= 24 { _ = try c.string("round_mode") }
        return .cast(Cast(to: to))
    },
    "CastLike": { c in
        // As Cast's `saturate` and `round_mode`: no effect on the types dlinfer has (CastLike's type rule rejects the rest).
        if c.opset >= 19 { _ = try c.int("saturate") }
        if c.opset >= 24 { _ = try c.string("round_mode") }
        return .castLike(CastLike())
    },
]

