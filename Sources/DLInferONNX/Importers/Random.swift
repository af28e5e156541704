import DLInferCore

let randomImporters: [String: OpImporter] = [
    "RandomNormal": { c in try randomFill(c, .normal(mean: try c.float("mean", default: 0), scale: try c.float("scale", default: 1)), like: false) },
    "RandomUniform": { c in try randomFill(c, .uniform(low: try c.float("low", default: 0), high: try c.float("high", default: 1)), like: false) },
    "RandomNormalLike": { c in try randomFill(c, .normal(mean: try c.float("mean", default: 0), scale: try c.float("scale", default: 1)), like: true) },
    "RandomUniformLike": { c in try randomFill(c, .uniform(low: try c.float("low", default: 0), high: try c.float("high", default: 1)), like: true) },
    "Bernoulli": { c in
        .bernoulli(Bernoulli(dtype: try elementType(c, "dtype"), seed: try c.float("seed"), inputTypes: floatTypes(c)))
    },
    "Multinomial": { c in
        .multinomial(Multinomial(sampleSize: try c.int("sample_size", default: 1), dtype: try elementType(c, "dtype") ?? .int32,
                                 seed: try c.float("seed"), inputTypes: floatTypes(c)))
    },
]

private func randomFill(_ c: NodeContext, _ distribution: RandomFill.Distribution, like: Bool) throws -> Op {
    var shape: [Int]? = nil
    if !like {
        guard let s = try c.ints("shape") else { throw DLInferError.model("attribute 'shape' is required") }
        shape = s
    }
    let dtype = try elementType(c, "dtype") ?? (like ? nil : .float32)
    return .randomFill(RandomFill(distribution, shape: shape, dtype: dtype, seed: try c.float("seed"), dtypes: floatTypes(c)))
}

/// The float types of the random ops' version: bfloat16 joined at opset 22.
private func floatTypes(_ c: NodeContext) -> [DType] { c.opset >= 22 ? RandomFill.dtypes : [.float16, .float32, .float64] }

/// An element-type attribute (the type rules decide which types the op allows).
private func elementType(_ c: NodeContext, _ name: String) throws -> DType? {
    guard let code = try c.int(name) else { return nil }
    guard let t = DType(rawValue: Int32(truncatingIfNeeded: code)), DType.numeric.contains(t) else {
        throw c.unsupported(name, "\(onnxTypeName(code)) is not supported")
    }
    return t
}
