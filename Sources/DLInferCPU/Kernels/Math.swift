import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// The float types the math kernels compute in, each with libm's functions, so that one generic kernel serves both
/// and is specialised for each.
protocol MathFloat: BinaryFloatingPoint & TensorElement {
    static func exp(_ x: Self) -> Self
    static func expm1(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func log1p(_ x: Self) -> Self
    static func sin(_ x: Self) -> Self
    static func cos(_ x: Self) -> Self
    static func tan(_ x: Self) -> Self
    static func asin(_ x: Self) -> Self
    static func acos(_ x: Self) -> Self
    static func atan(_ x: Self) -> Self
    static func sinh(_ x: Self) -> Self
    static func cosh(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func asinh(_ x: Self) -> Self
    static func acosh(_ x: Self) -> Self
    static func atanh(_ x: Self) -> Self
    static func erf(_ x: Self) -> Self
    static func fmod(_ x: Self, _ y: Self) -> Self
}

extension Float: MathFloat {
    @inline(__always) static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) static func expm1(_ x: Float) -> Float { expm1f(x) }
    @inline(__always) static func log(_ x: Float) -> Float { logf(x) }
    @inline(__always) static func log1p(_ x: Float) -> Float { log1pf(x) }
    @inline(__always) static func sin(_ x: Float) -> Float { sinf(x) }
    @inline(__always) static func cos(_ x: Float) -> Float { cosf(x) }
    @inline(__always) static func tan(_ x: Float) -> Float { tanf(x) }
    @inline(__always) static func asin(_ x: Float) -> Float { asinf(x) }
    @inline(__always) static func acos(_ x: Float) -> Float { acosf(x) }
    @inline(__always) static func atan(_ x: Float) -> Float { atanf(x) }
    @inline(__always) static func sinh(_ x: Float) -> Float { sinhf(x) }
    @inline(__always) static func cosh(_ x: Float) -> Float { coshf(x) }
    @inline(__always) static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) static func asinh(_ x: Float) -> Float { asinhf(x) }
    @inline(__always) static func acosh(_ x: Float) -> Float { acoshf(x) }
    @inline(__always) static func atanh(_ x: Float) -> Float { atanhf(x) }
    @inline(__always) static func erf(_ x: Float) -> Float { erff(x) }
    @inline(__always) static func fmod(_ x: Float, _ y: Float) -> Float { fmodf(x, y) }
}

extension Double: MathFloat {
    @inline(__always) static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inline(__always) static func expm1(_ x: Double) -> Double { Glibc.expm1(x) }
    @inline(__always) static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inline(__always) static func log1p(_ x: Double) -> Double { Glibc.log1p(x) }
    @inline(__always) static func sin(_ x: Double) -> Double { Glibc.sin(x) }
    @inline(__always) static func cos(_ x: Double) -> Double { Glibc.cos(x) }
    @inline(__always) static func tan(_ x: Double) -> Double { Glibc.tan(x) }
    @inline(__always) static func asin(_ x: Double) -> Double { Glibc.asin(x) }
    @inline(__always) static func acos(_ x: Double) -> Double { Glibc.acos(x) }
    @inline(__always) static func atan(_ x: Double) -> Double { Glibc.atan(x) }
    @inline(__always) static func sinh(_ x: Double) -> Double { Glibc.sinh(x) }
    @inline(__always) static func cosh(_ x: Double) -> Double { Glibc.cosh(x) }
    @inline(__always) static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
    @inline(__always) static func asinh(_ x: Double) -> Double { Glibc.asinh(x) }
    @inline(__always) static func acosh(_ x: Double) -> Double { Glibc.acosh(x) }
    @inline(__always) static func atanh(_ x: Double) -> Double { Glibc.atanh(x) }
    @inline(__always) static func erf(_ x: Double) -> Double { Glibc.erf(x) }
    @inline(__always) static func fmod(_ x: Double, _ y: Double) -> Double { Glibc.fmod(x, y) }
}

/// ln(1 + eˣ) without overflow: for x > 0 it is x + ln(1 + e⁻ˣ).
@inline(__always)
private func softplus<T: MathFloat>(_ x: T) -> T { x > 0 ? x + T.log1p(T.exp(-x)) : T.log1p(T.exp(x)) }

/// The logistic function without overflow for large |x|.
@inline(__always)
private func logistic<T: MathFloat>(_ x: T) -> T {
    if x >= 0 { return 1 / (1 + T.exp(-x)) }
    let e = T.exp(x)
    return e / (1 + e)
}

/// One loop per function, chosen once per call (see `UnaryMath` for the semantics).
final class UnaryMathKernel: Kernel {
    let function: UnaryMath.Function
    init(_ a: UnaryMath) { function = a.function }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0)
        switch x.dtype {
        case .float32: if !vectorErf(x, y) { try floating(x, y, Float.self) }
        case .float64: try floating(x, y, Double.self)
        case .bool: map(x.count, x.pointer(Bool.self), y.pointer(Bool.self)) { !$0 }  // Not
        default: try dispatchInteger(x.dtype, IntegerMath(function: function, x: x, y: y))
        }
        return [y]
    }

    /// Erf and exact Gelu in float32 through the C kernels' vector erf (libm's erff is a call per element, most of a
    /// small BERT's Gelu time); false for every other function.
    private func vectorErf(_ x: Tensor, _ y: Tensor) -> Bool {
        let n = x.count, s = UnsafePointer(x.pointer(Float.self)), d = y.pointer(Float.self)
        let kernel = SGEMMKernel.preferred
        switch function {
        case .erf:
            parallelFor(n, grain: 1 << 14) { r in kernel.erf(s + r.lowerBound, count: r.count, into: d + r.lowerBound) }
        case .gelu(tanhApproximation: false):
            let k: Float = 0.70710678118654752440  // 1/√2
            parallelFor(n, grain: 1 << 14) { r in
                for i in r { d[i] = s[i] * k }
                kernel.erf(d + r.lowerBound, count: r.count, into: d + r.lowerBound)
                for i in r { d[i] = 0.5 * s[i] * (1 + d[i]) }
            }
        default:
            return false
        }
        return true
    }

    private func floating<T: MathFloat>(_ x: Tensor, _ y: Tensor, _: T.Type) throws {
        let n = x.count, s = UnsafePointer(x.pointer(T.self)), d = y.pointer(T.self)
        switch function {
        case .abs: map(n, s, d) { Swift.abs($0) }
        case .neg: map(n, s, d) { -$0 }
        // ±0 and NaN are their own sign.
        case .sign: map(n, s, d) { $0 > 0 ? 1 : ($0 < 0 ? -1 : $0) }
        case .log: map(n, s, d) { T.log($0) }
        case .reciprocal: map(n, s, d) { 1 / $0 }
        case .floor: map(n, s, d) { $0.rounded(.down) }
        case .ceil: map(n, s, d) { $0.rounded(.up) }
        case .round: map(n, s, d) { $0.rounded(.toNearestOrEven) }
        case .erf: map(n, s, d) { T.erf($0) }
        case .sin: map(n, s, d) { T.sin($0) }
        case .cos: map(n, s, d) { T.cos($0) }
        case .tan: map(n, s, d) { T.tan($0) }
        case .asin: map(n, s, d) { T.asin($0) }
        case .acos: map(n, s, d) { T.acos($0) }
        case .atan: map(n, s, d) { T.atan($0) }
        case .sinh: map(n, s, d) { T.sinh($0) }
        case .cosh: map(n, s, d) { T.cosh($0) }
        case .asinh: map(n, s, d) { T.asinh($0) }
        case .acosh: map(n, s, d) { T.acosh($0) }
        case .atanh: map(n, s, d) { T.atanh($0) }
        case .softplus: map(n, s, d) { softplus($0) }
        case .softsign: map(n, s, d) { $0 / (1 + Swift.abs($0)) }
        case .mish: map(n, s, d) { $0 * T.tanh(softplus($0)) }
        case .hardSwish:
            map(n, s, d) { x in
                let h = x / 6 + 0.5
                return x * (h < 0 ? 0 : (h > 1 ? 1 : h))
            }
        case .gelu(let tanhApproximation):
            if tanhApproximation {
                let k = T(0.79788456080286535588)  // √(2/π)
                map(n, s, d) { x in 0.5 * x * (1 + T.tanh(k * (x + 0.044715 * x * x * x))) }
            } else {
                let k = T(0.70710678118654752440)  // 1/√2
                map(n, s, d) { x in 0.5 * x * (1 + T.erf(x * k)) }
            }
        case .selu(let alpha, let gamma):
            let g = T(gamma), ga = T(gamma) * T(alpha)
            map(n, s, d) { x in x > 0 ? g * x : ga * T.expm1(x) }
        case .celu(let alpha):
            let a = T(alpha)
            map(n, s, d) { x in x > 0 ? x : a * T.expm1(x / a) }
        case .swish(let alpha):
            let a = T(alpha)
            map(n, s, d) { x in x * logistic(a * x) }
        case .thresholdedRelu(let alpha):
            let a = T(alpha)
            map(n, s, d) { x in x > a ? x : 0 }
        case .shrink(let bias, let lambd):
            let b = T(bias), l = T(lambd)
            map(n, s, d) { x in x < -l ? x + b : (x > l ? x - b : 0) }
        case .not, .bitwiseNot:
            throw DLInferError(.internal, "\(function) on \(T.dtype)")
        }
    }
}

private struct IntegerMath: IntegerKernelBody {
    let function: UnaryMath.Function, x: Tensor, y: Tensor

    func run<T: FixedWidthInteger & TensorElement>(_: T.Type) throws {
        let n = x.count, s = UnsafePointer(x.pointer(T.self)), d = y.pointer(T.self)
        switch function {
        case .abs: map(n, s, d) { $0 < 0 ? 0 &- $0 : $0 }
        case .neg: map(n, s, d) { 0 &- $0 }
        case .sign: map(n, s, d) { $0 > 0 ? 1 : ($0 == 0 ? 0 : 0 &- 1) }
        case .bitwiseNot: map(n, s, d) { ~$0 }
        case .shrink(let bias, let lambd):
            let b = Double(bias), l = Double(lambd)
            map(n, s, d) { v in
                let x = Double(v)
                return x < -l ? saturatingInteger(x + b) : (x > l ? saturatingInteger(x - b) : 0)
            }
        default: throw DLInferError(.internal, "\(function) on \(T.dtype)")
        }
    }
}

/// IsNaN, IsInf.
final class FloatClassKernel: Kernel {
    let kind: FloatClass.Kind
    init(_ a: FloatClass) { kind = a.kind }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0)
        switch x.dtype {
        case .float32: classify(x, y, Float.self)
        case .float64: classify(x, y, Double.self)
        default: throw DLInferError(.internal, "\(kind) on \(x.dtype)")
        }
        return [y]
    }

    private func classify<T: BinaryFloatingPoint & TensorElement>(_ x: Tensor, _ y: Tensor, _: T.Type) {
        let n = x.count, s = UnsafePointer(x.pointer(T.self)), d = y.pointer(Bool.self)
        switch kind {
        case .nan: map(n, s, d) { $0.isNaN }
        case .inf(let negative, let positive):
            let lo: T = negative ? -.infinity : .nan, hi: T = positive ? .infinity : .nan
            map(n, s, d) { $0 == lo || $0 == hi }
        }
    }
}

extension CPUKernelFactory {
    func visit(_ a: UnaryMath, _ _: Node, _ _: Graph) -> HostKernel {
        UnaryMathKernel(a)
    }

    func visit(_ a: FloatClass, _ _: Node, _ _: Graph) -> HostKernel {
        FloatClassKernel(a)
    }
}
