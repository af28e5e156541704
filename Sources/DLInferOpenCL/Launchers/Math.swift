import DLInferCore

/// The float32 UnaryMath functions, one work-item per element (kernels/math.cl).
final class UnaryMathCL: DeviceKernel {
    private let q: CLQueue, k: CLKernel
    private let code: Int, a: Float, b: Float

    init(_ m: UnaryMath, _ q: CLQueue) throws {
        self.q = q
        k = try q.kernel("math", "unary_math_f32")
        guard let c = UnaryMathCL.code(m.function) else {
            throw DLInferError(.internal, "\(m.opName) has no OpenCL kernel")
        }
        (code, a, b) = c
    }

    /// The kernel's function code and its two parameters; nil for the functions on integers and bools.
    static func code(_ f: UnaryMath.Function) -> (Int, Float, Float)? {
        switch f {
        case .abs: return (0, 0, 0)
        case .neg: return (1, 0, 0)
        case .sign: return (2, 0, 0)
        case .log: return (3, 0, 0)
        case .reciprocal: return (4, 0, 0)
        case .floor: return (5, 0, 0)
        case .ceil: return (6, 0, 0)
        case .round: return (7, 0, 0)
        case .erf: return (8, 0, 0)
        case .sin: return (9, 0, 0)
        case .cos: return (10, 0, 0)
        case .tan: return (11, 0, 0)
        case .asin: return (12, 0, 0)
        case .acos: return (13, 0, 0)
        case .atan: return (14, 0, 0)
        case .sinh: return (15, 0, 0)
        case .cosh: return (16, 0, 0)
        case .asinh: return (17, 0, 0)
        case .acosh: return (18, 0, 0)
        case .atanh: return (19, 0, 0)
        case .softplus: return (20, 0, 0)
        case .softsign: return (21, 0, 0)
        case .mish: return (22, 0, 0)
        case .hardSwish: return (23, 0, 0)
        case .gelu(let tanhApproximation): return (tanhApproximation ? 25 : 24, 0, 0)
        case .selu(let alpha, let gamma): return (26, alpha, gamma)
        case .celu(let alpha): return (27, alpha, 0)
        case .swish(let alpha): return (28, alpha, 0)
        case .thresholdedRelu(let alpha): return (29, alpha, 0)
        case .shrink(let bias, let lambd): return (30, bias, lambd)
        case .not, .bitwiseNot: return nil
        }
    }

    func run(_ inputs: DeviceInputs, _ outputs: OutputTypes) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let y = try q.allocate(.float32, x.shape)
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(x.shape)
        try q.launch1D(k, x.count, [.buffer(x), .buffer(y), .int(x.count), .int(code), .float(a), .float(b)])
        return [y]
    }
}
