import DLInferCore

/// The functions of kernels/math.cl (MATH_*).
enum UnaryMathCode: Int32, KernelCode {
    static let prefix = "MATH"
    case abs, neg, sign, log, reciprocal, floor, ceil, round, erf, sin, cos, tan, asin, acos, atan, sinh, cosh, asinh,
         acosh, atanh, softplus, softsign, mish, hardSwish, gelu, geluTanh, selu, celu, swish, thresholdedRelu, shrink
}

/// The float32 UnaryMath functions, one work-item per element (kernels/math.cl).
final class UnaryMathCL: Kernel {
    private let q: CLQueue, k: CLKernel
    private let code: UnaryMathCode, a: Float, b: Float

    init(_ m: UnaryMath, _ q: CLQueue) throws {
        self.q = q
        k = try q.kernel("math", "unary_math_f32")
        guard let c = UnaryMathCL.code(m.function) else {
            throw DLInferError(.internal, "\(m.opName) has no OpenCL kernel")
        }
        (code, a, b) = c
    }

    /// The kernel's function code and its two parameters; nil for the functions on integers and bools.
    static func code(_ f: UnaryMath.Function) -> (UnaryMathCode, Float, Float)? {
        switch f {
        case .abs: return (.abs, 0, 0)
        case .neg: return (.neg, 0, 0)
        case .sign: return (.sign, 0, 0)
        case .log: return (.log, 0, 0)
        case .reciprocal: return (.reciprocal, 0, 0)
        case .floor: return (.floor, 0, 0)
        case .ceil: return (.ceil, 0, 0)
        case .round: return (.round, 0, 0)
        case .erf: return (.erf, 0, 0)
        case .sin: return (.sin, 0, 0)
        case .cos: return (.cos, 0, 0)
        case .tan: return (.tan, 0, 0)
        case .asin: return (.asin, 0, 0)
        case .acos: return (.acos, 0, 0)
        case .atan: return (.atan, 0, 0)
        case .sinh: return (.sinh, 0, 0)
        case .cosh: return (.cosh, 0, 0)
        case .asinh: return (.asinh, 0, 0)
        case .acosh: return (.acosh, 0, 0)
        case .atanh: return (.atanh, 0, 0)
        case .softplus: return (.softplus, 0, 0)
        case .softsign: return (.softsign, 0, 0)
        case .mish: return (.mish, 0, 0)
        case .hardSwish: return (.hardSwish, 0, 0)
        case .gelu(let tanhApproximation): return (tanhApproximation ? .geluTanh : .gelu, 0, 0)
        case .selu(let alpha, let gamma): return (.selu, alpha, gamma)
        case .celu(let alpha): return (.celu, alpha, 0)
        case .swish(let alpha): return (.swish, alpha, 0)
        case .thresholdedRelu(let alpha): return (.thresholdedRelu, alpha, 0)
        case .shrink(let bias, let lambd): return (.shrink, bias, lambd)
        case .not, .bitwiseNot: return nil
        }
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let y = try q.allocate(.float32, x.shape)
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(x.shape)
        try q.launch1D(k, x.count, [.buffer(x), .buffer(y), .int(x.count), .code(code), .float(a), .float(b)])
        return [y]
    }
}
