import DLInferCore

let castImporters: [String: OpImporter] = [
    "Cast": { c in
        guard let code = try c.int("to") else { throw DLInferError.model("attribute 'to' is required") }
        guard let to = DType(rawValue: Int32(truncatingIfNeeded: code)), Cast.dtypes.contains(to) else {
            throw c.unsupported("to", "casting to \(onnxTypeName(code)) is not supported")
        }
        let (saturate, roundMode) = try float8CastModes(c)
        return .cast(Cast(to: to, saturate: saturate, roundMode: roundMode))
    },
    "CastLike": { c in
        let (saturate, roundMode) = try float8CastModes(c)
        return .castLike(CastLike(saturate: saturate, roundMode: roundMode))
    },
]

/// Opset 19's `saturate` (casts to 8-bit floats) and opset 24's `round_mode` (casts to float8e8m0), shared by Cast
/// and CastLike.
func float8CastModes(_ c: NodeContext) throws -> (saturate: Bool, roundMode: Float8Format.RoundMode) {
    let saturate = c.opset >= 19 ? try c.zeroOrOne("saturate", default: 1) : true
    guard c.opset >= 24 else { return (saturate, .up) }
    let mode = try c.string("round_mode", default: "up")
    guard let roundMode = Float8Format.RoundMode(rawValue: mode) else {
        throw c.unsupported("round_mode", "'\(mode)' is not one of up, down, nearest")
    }
    return (saturate, roundMode)
}
