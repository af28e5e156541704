import DLInferCore

let arithmeticImporters: [String: OpImporter] = [
    "Mod": { c in
        let fmod = try c.int("fmod", default: 0)
        guard fmod == 0 || fmod == 1 else { throw c.unsupported("fmod", "\(fmod) (must be 0 or 1)") }
        return .mod(Mod(fmod: fmod == 1))
    },
    "PRelu": { _ in .pRelu(PRelu()) },
    "BitwiseAnd": { _ in .bitwise(Bitwise(.and)) },
    "BitwiseOr": { _ in .bitwise(Bitwise(.or)) },
    "BitwiseXor": { _ in .bitwise(Bitwise(.xor)) },
    "BitShift": { c in
        switch try c.string("direction") {
        case "LEFT": return .bitwise(Bitwise(.shiftLeft))
        case "RIGHT": return .bitwise(Bitwise(.shiftRight))
        case let d?: throw c.unsupported("direction", "'\(d)' (expected 'LEFT' or 'RIGHT')")
        case nil: throw DLInferError.model("attribute 'direction' is required")
        }
    },
]
