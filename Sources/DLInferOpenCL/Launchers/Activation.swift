import DLInferCore

/// Activation codes and parameters as `activate()` in kernels/common.cl takes them.
struct CLActivation {
    let code: Int
    let a: Float
    let b: Float

    init(_ act: Activation?) {
        switch act {
        case nil: (code, a, b) = (0, 0, 0)
        case .relu: (code, a, b) = (1, 0, 0)
        case .leakyRelu(let alpha): (code, a, b) = (2, alpha, 0)
        case .sigmoid: (code, a, b) = (3, 0, 0)
        case .tanh: (code, a, b) = (4, 0, 0)
        case .hardSigmoid(let alpha, let beta): (code, a, b) = (5, alpha, beta)
        case .elu(let alpha): (code, a, b) = (6, alpha, 0)
        case .clip(let lo, let hi): (code, a, b) = (7, lo, hi)
        }
    }

    var args: [CLArg] { [.int(code), .float(a), .float(b)] }
}
