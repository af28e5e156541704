import DLInferCore

/// The fused activations of `activate()` in kernels/common.cl.
enum ActivationCode: Int32, KernelCode {
    static let prefix = "ACT"
    case none, relu, leakyRelu, sigmoid, tanh, hardSigmoid, elu, clip
}

/// An activation as `activate()` takes it: its code and two parameters.
struct CLActivation {
    let code: ActivationCode
    let a: Float
    let b: Float

    init(_ act: Activation?) {
        switch act {
        case nil: (code, a, b) = (.none, 0, 0)
        case .relu: (code, a, b) = (.relu, 0, 0)
        case .leakyRelu(let alpha): (code, a, b) = (.leakyRelu, alpha, 0)
        case .sigmoid: (code, a, b) = (.sigmoid, 0, 0)
        case .tanh: (code, a, b) = (.tanh, 0, 0)
        case .hardSigmoid(let alpha, let beta): (code, a, b) = (.hardSigmoid, alpha, beta)
        case .elu(let alpha): (code, a, b) = (.elu, alpha, 0)
        case .clip(let lo, let hi): (code, a, b) = (.clip, lo, hi)
        }
    }

    var args: [CLArg] { [.code(code), .float(a), .float(b)] }
}
