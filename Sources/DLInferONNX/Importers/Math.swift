import DLInferCore

let mathImporters: [String: OpImporter] = [
    "Abs": { _ in math(.abs) },
    "Neg": { _ in math(.neg) },
    "Sign": { _ in math(.sign) },
    "Log": { _ in math(.log) },
    "Reciprocal": { _ in math(.reciprocal) },
    "Floor": { _ in math(.floor) },
    "Ceil": { _ in math(.ceil) },
    "Round": { _ in math(.round) },
    "Erf": { _ in math(.erf) },
    "Sin": { _ in math(.sin) },
    "Cos": { _ in math(.cos) },
    "Tan": { _ in math(.tan) },
    "Asin": { _ in math(.asin) },
    "Acos": { _ in math(.acos) },
    "Atan": { _ in math(.atan) },
    "Sinh": { _ in math(.sinh) },
    "Cosh": { _ in math(.cosh) },
    "Asinh": { _ in math(.asinh) },
    "Acosh": { _ in math(.acosh) },
    "Atanh": { _ in math(.atanh) },
    "Softplus": { _ in math(.softplus) },
    "Softsign": { _ in math(.softsign) },
    "Mish": { _ in math(.mish) },
    "HardSwish": { _ in math(.hardSwish) },
    "Gelu": { c in
        let approximate = try c.string("approximate", default: "none")
        guard approximate == "none" || approximate == "tanh" else {
            throw c.unsupported("approximate", "'\(approximate)' (expected 'none' or 'tanh')")
        }
        return math(.gelu(tanhApproximation: approximate == "tanh"))
    },
    // The spec's defaults, to float precision.
    "Selu": { c in
        math(.selu(alpha: try c.float("alpha", default: 1.67326319217681884765625),
                   gamma: try c.float("gamma", default: 1.05070102214813232421875)))
    },
    "Celu": { c in math(.celu(alpha: try c.float("alpha", default: 1))) },
    "Swish": { c in math(.swish(alpha: try c.float("alpha", default: 1))) },
    "ThresholdedRelu": { c in math(.thresholdedRelu(alpha: try c.float("alpha", default: 1))) },
    "Shrink": { c in math(.shrink(bias: try c.float("bias", default: 0), lambd: try c.float("lambd", default: 0.5))) },
    "Not": { _ in math(.not) },
    "BitwiseNot": { _ in math(.bitwiseNot) },
    "IsNaN": { _ in .floatClass(FloatClass(.nan)) },
    "IsInf": { c in
        .floatClass(FloatClass(.inf(negative: try c.int("detect_negative", default: 1) != 0,
                                    positive: try c.int("detect_positive", default: 1) != 0)))
    },
]

private func math(_ f: UnaryMath.Function) -> Op { .unaryMath(UnaryMath(f)) }
