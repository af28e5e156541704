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

/// The ONNX name of an element type code, for messages about types dlinfer lacks.
func onnxTypeName(_ code: Int) -> String {
    let names = [8: "string", 14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8e4m3fn",
                 18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4"]
    return names[code] ?? DType(rawValue: Int32(truncatingIfNeeded: code))?.description ?? "element type code \(code)"
}
