import DLInferCore

let generatorImporters: [String: OpImporter] = [
    "Range": { c in
        guard c.opset >= 27 else { return .range(Arange()) }
        switch try c.int("stash_type", default: 1) {
        case 1: return .range(Arange(stashType: .float32))
        case 11: return .range(Arange(stashType: .float64))
        case let t: throw c.unsupported("stash_type", "\(t) (supported: 1 (float), 11 (double))")
        }
    },
    "EyeLike": { c in
        var dtype: DType? = nil
        if let d = try c.int("dtype") {
            guard let t = DType(rawValue: Int32(clamping: d)), t != .string else {
                throw c.unsupported("dtype", "element type \(d) is not supported")
            }
            dtype = t
        }
        return .eyeLike(EyeLike(dtype: dtype, k: try c.int("k", default: 0)))
    },
    "OneHot": { c in .oneHot(OneHot(axis: try c.int("axis", default: -1))) },
]
