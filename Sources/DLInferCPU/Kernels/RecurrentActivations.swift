import DLInferCore

/// Sigmoid and tanh dominate a recurrent step's gate math; libm's scalar calls do not vectorise, so these compute
/// them eight at a time from one SIMD exp (relative error a few ulp; tanh's absolute error below 1e-7).
extension Recurrent.Activation {
    /// Applies the function in place to n values; the switch is outside the loop.
    func apply(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        switch self {
        case .sigmoid: map8(p, n, sigmoid8)
        case .tanh: map8(p, n, tanh8)
        case .scaledTanh(let a, let b): map8(p, n) { a * tanh8(b * $0) }
        case .relu: for i in 0..<n { p[i] = p[i] < 0 ? 0 : p[i] }
        default: for i in 0..<n { p[i] = apply(p[i]) }
        }
    }
}

typealias Float8 = SIMD8<Float>

/// Runs f over p[0..<n] in place, eight lanes at a time; the tail goes through a zero-padded vector so every
/// element sees the same arithmetic.
@inline(__always)
private func map8(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ f: (Float8) -> Float8) {
    let raw = UnsafeMutableRawPointer(p)
    var i = 0
    while i + 8 <= n {
        raw.storeBytes(of: f(raw.loadUnaligned(fromByteOffset: i * 4, as: Float8.self)), toByteOffset: i * 4, as: Float8.self)
        i += 8
    }
    if i < n {
        var v = Float8(repeating: 0)
        for k in 0..<(n - i) { v[k] = p[i + k] }
        let r = f(v)
        for k in 0..<(n - i) { p[i + k] = r[k] }
    }
}

/// e^x: x = k·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor series to degree 7 (error < 1e-8), 2^k built in the
/// exponent bits. Inputs are clamped to [-87, 88], where 2^k stays a normal float; NaN stays NaN.
@inline(__always)
func exp8(_ input: Float8) -> Float8 {
    // Masked replaces (not clamped(), which does not inline) keep NaN, and NaN then propagates through the rest.
    var x = input
    x.replace(with: 88, where: x .> 88)
    x.replace(with: -87, where: x .< -87)
    // Adding 1.5·2^23 rounds x·log2(e) to an integer, which then sits in the low mantissa bits.
    let shifter = Float8(repeating: 12582912)
    let t = x * 1.44269504 + shifter
    let k = t - shifter
    let r = x - k * 0.693359375 + k * 2.12194440e-4  // ln2 split in two so k·ln2 is exact to float precision
    var p = Float8(repeating: 1.0 / 5040)
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let ki = unsafeBitCast(t, to: SIMD8<Int32>.self) &- unsafeBitCast(shifter, to: SIMD8<Int32>.self)
    return p * unsafeBitCast((ki &+ 127) &<< 23, to: Float8.self)
}

@inline(__always)
func sigmoid8(_ x: Float8) -> Float8 { 1 / (1 + exp8(-x)) }

/// tanh(|x|) = 1 - 2/(e^{2|x|} + 1), except below 0.25 where that cancels and the odd Taylor series to x⁹ is exact
/// to float precision; the sign is restored at the end.
@inline(__always)
func tanh8(_ x: Float8) -> Float8 {
    let sign = unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x8000_0000
    let a = unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7fff_ffff, to: Float8.self)
    var y = 1 - 2 / (exp8(2 * a) + 1)
    let a2 = a * a
    var s = Float8(repeating: 62.0 / 2835)
    s = s * a2 - 17.0 / 315
    s = s * a2 + 2.0 / 15
    s = s * a2 - 1.0 / 3
    s = a + a * a2 * s
    y.replace(with: s, where: a .< 0.25)
    return unsafeBitCast(unsafeBitCast(y, to: SIMD8<UInt32>.self) | sign, to: Float8.self)
}
