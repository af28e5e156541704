import DLInferCore

/// Sigmoid and tanh dominate a recurrent step's gate math; libm's scalar calls do not vectorise, so these run
/// through the C target's vector kernels (relative error a few ulp; tanh's absolute error below 1e-7).
extension Recurrent.Activation {
    /// Applies the function in place to n values; the switch is outside the loop.
    func apply(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        let kernel = SGEMMKernel.preferred
        switch self {
        case .sigmoid: kernel.sigmoid(p, count: n, into: p)
        case .tanh: kernel.tanh(p, count: n, into: p)
        case .scaledTanh(let a, let b):
            for i in 0..<n { p[i] *= b }
            kernel.tanh(p, count: n, into: p)
            for i in 0..<n { p[i] *= a }
        case .relu: for i in 0..<n { p[i] = p[i] < 0 ? 0 : p[i] }
        default: for i in 0..<n { p[i] = apply(p[i]) }
        }
    }
}
