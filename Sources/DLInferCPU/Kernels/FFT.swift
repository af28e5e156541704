import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// A complex number in float64, the precision every transform computes in.
struct Complex {
    var re: Double
    var im: Double
    static let zero = Complex(re: 0, im: 0)

    @inline(__always) static func + (a: Complex, b: Complex) -> Complex { Complex(re: a.re + b.re, im: a.im + b.im) }
    @inline(__always) static func - (a: Complex, b: Complex) -> Complex { Complex(re: a.re - b.re, im: a.im - b.im) }
    @inline(__always) static func * (a: Complex, b: Complex) -> Complex {
        Complex(re: a.re * b.re - a.im * b.im, im: a.re * b.im + a.im * b.re)
    }
    @inline(__always) static func += (a: inout Complex, b: Complex) { a = a + b }
    @inline(__always) var conjugate: Complex { Complex(re: re, im: -im) }
    @inline(__always) func scaled(_ s: Double) -> Complex { Complex(re: re * s, im: im * s) }
    /// e^{i angle}.
    @inline(__always) static func unit(_ angle: Double) -> Complex { Complex(re: cos(angle), im: sin(angle)) }
}

/// Complex buffers of a size that comes from the model, allocated against the session's memory budget.
struct ComplexBuffers {
    let outputs: KernelOutputs
    private(set) var held: [Tensor] = []
    init(_ outputs: KernelOutputs) { self.outputs = outputs }

    mutating func make(_ count: Int) throws -> UnsafeMutablePointer<Complex> {
        let (doubles, overflow) = count.multipliedReportingOverflow(by: 2)
        guard !overflow else { throw DLInferError(.outOfMemory, "an FFT buffer of \(count) complex values is too large") }
        let t = try outputs.make(.float64, [Swift.max(doubles, 2)])
        held.append(t)
        return t.raw.assumingMemoryBound(to: Complex.self)
    }
}

/// The DFT of one length `n` and direction, planned once per run and shared by every transform of the batch:
/// `X[k] = Σ x[j] e^{∓2πi jk/n}` (minus forward, plus inverse; unscaled). Lengths whose prime factors are all at most
/// `largestRadix` use mixed-radix Cooley-Tukey decimation in time (radix-4 and radix-2 butterflies, a generic one for
/// 3, 5, 7, ...); other lengths use Bluestein's chirp-z algorithm, which runs the DFT as a circular convolution
/// through power-of-two FFTs. Both are O(n log n); twiddles are computed directly (cos and sin of 2πk/n) in float64.
final class FFTPlan {
    static let largestRadix = 31
    /// Lengths above this are refused by the type rule (Bluestein squares indices below 2n).
    static let maxLength = 1 << 31

    let n: Int
    let inverse: Bool
    /// Per stage: the radix p and the length m of the sub-transforms it combines (n = p * m at the first stage).
    private let stages: [(p: Int, m: Int)]
    /// `twiddle[k] = e^{∓2πik/n}`, k < n.
    private let twiddle: UnsafeMutablePointer<Complex>
    private let bluestein: Bluestein?
    /// Keeps the twiddles' memory.
    private let buffers: ComplexBuffers

    /// Complex values of scratch `transform` needs.
    var scratchCount: Int { bluestein.map { 2 * $0.m } ?? 0 }

    init(length n: Int, inverse: Bool, _ outputs: KernelOutputs) throws {
        guard n >= 1, n <= FFTPlan.maxLength else { throw DLInferError(.internal, "FFT length \(n) out of range") }
        self.n = n
        self.inverse = inverse
        var bufs = ComplexBuffers(outputs)
        let factors = FFTPlan.factor(n)
        if factors.contains(where: { $0 > FFTPlan.largestRadix }) {
            stages = []
            twiddle = try bufs.make(0)
            bluestein = try Bluestein(length: n, inverse: inverse, &bufs)
        } else {
            var s = [(p: Int, m: Int)](), rest = n
            for p in factors { rest /= p; s.append((p, rest)) }
            stages = s
            twiddle = try bufs.make(n)
            let sign = inverse ? 1.0 : -1.0
            for k in 0..<n { twiddle[k] = .unit(sign * 2 * Double.pi * Double(k) / Double(n)) }
            bluestein = nil
        }
        buffers = bufs
    }

    /// Radices for Cooley-Tukey, fours first (the cheapest butterfly per element), then 2, 3, 5, ...
    static func factor(_ n: Int) -> [Int] {
        var out = [Int](), rest = n
        while rest % 4 == 0 { out.append(4); rest /= 4 }
        while rest % 2 == 0 { out.append(2); rest /= 2 }
        var p = 3
        while p * p <= rest {
            while rest % p == 0 { out.append(p); rest /= p }
            p += 2
        }
        if rest > 1 { out.append(rest) }
        return out
    }

    /// `output[k]` for k < n from `input[j * stride]`, j < n; `output` must not overlap `input`.
    func transform(_ input: UnsafePointer<Complex>, stride: Int, _ output: UnsafeMutablePointer<Complex>,
                   scratch: UnsafeMutablePointer<Complex>) {
        if let bluestein { bluestein.transform(input, stride: stride, output, scratch: scratch); return }
        // Length 1 has no factors, hence no stages: the transform is the identity.
        guard !stages.isEmpty else { output[0] = input[0]; return }
        work(output, input, 1, stride, 0)
    }

    /// The sub-transform of stage `stage` whose inputs start at `input` and lie `fstride * istride` apart.
    private func work(_ out: UnsafeMutablePointer<Complex>, _ input: UnsafePointer<Complex>, _ fstride: Int, _ istride: Int,
                      _ stage: Int) {
        let (p, m) = stages[stage]
        if m == 1 {
            for k in 0..<p { out[k] = input[k * fstride * istride] }
        } else {
            for k in 0..<p { work(out + k * m, input + k * fstride * istride, fstride * p, istride, stage + 1) }
        }
        switch p {
        case 2: radix2(out, fstride, m)
        case 4: radix4(out, fstride, m)
        default: generic(out, fstride, m, p)
        }
    }

    private func radix2(_ f: UnsafeMutablePointer<Complex>, _ fstride: Int, _ m: Int) {
        for k in 0..<m {
            let t = f[m + k] * twiddle[k * fstride]
            f[m + k] = f[k] - t
            f[k] += t
        }
    }

    private func radix4(_ f: UnsafeMutablePointer<Complex>, _ fstride: Int, _ m: Int) {
        for k in 0..<m {
            let s0 = f[k + m] * twiddle[k * fstride], s1 = f[k + 2 * m] * twiddle[2 * k * fstride]
            let s2 = f[k + 3 * m] * twiddle[3 * k * fstride]
            let s5 = f[k] - s1, s6 = f[k] + s1
            let s3 = s0 + s2, s4 = s0 - s2
            f[k + 2 * m] = s6 - s3
            f[k] = s6 + s3
            // s5 ∓ i·s4 (forward) or s5 ± i·s4 (inverse).
            if inverse {
                f[k + m] = Complex(re: s5.re - s4.im, im: s5.im + s4.re)
                f[k + 3 * m] = Complex(re: s5.re + s4.im, im: s5.im - s4.re)
            } else {
                f[k + m] = Complex(re: s5.re + s4.im, im: s5.im - s4.re)
                f[k + 3 * m] = Complex(re: s5.re - s4.im, im: s5.im + s4.re)
            }
        }
    }

    /// Any radix p (at most `largestRadix`): each output of a group is a length-p DFT of the twiddled inputs.
    private func generic(_ f: UnsafeMutablePointer<Complex>, _ fstride: Int, _ m: Int, _ p: Int) {
        withUnsafeTemporaryAllocation(of: Complex.self, capacity: p) { s in
            for u in 0..<m {
                for q in 0..<p { s[q] = f[u + q * m] }
                for q1 in 0..<p {
                    let k = u + q1 * m
                    var acc = s[0], index = 0
                    let step = fstride * k  // < n
                    for q in 1..<p {
                        index += step
                        if index >= n { index -= n }
                        acc += s[q] * twiddle[index]
                    }
                    f[k] = acc
                }
            }
        }
    }
}

/// Bluestein's algorithm: with the chirp `w[k] = e^{∓πi k²/n}`, `X[k] = w[k] Σ_j (x[j] w[j]) conj(w[k - j])`, a
/// convolution computed with power-of-two FFTs of length m ≥ 2n - 1.
private final class Bluestein {
    let n: Int
    let m: Int
    private let chirp: UnsafeMutablePointer<Complex>
    /// The FFT of the conjugate chirp laid out circularly (indices -(n-1)...(n-1)), pre-divided by m.
    private let kernel: UnsafeMutablePointer<Complex>
    private let forward: FFTPlan
    private let backward: FFTPlan

    init(length n: Int, inverse: Bool, _ buffers: inout ComplexBuffers) throws {
        self.n = n
        var m = 1
        while m < 2 * n - 1 { m <<= 1 }
        self.m = m
        forward = try FFTPlan(length: m, inverse: false, buffers.outputs)
        backward = try FFTPlan(length: m, inverse: true, buffers.outputs)
        chirp = try buffers.make(n)
        let sign = inverse ? 1.0 : -1.0
        // k² mod 2n keeps the angle small (and exact) for large k.
        for k in 0..<n { chirp[k] = .unit(sign * Double.pi * Double((k * k) % (2 * n)) / Double(n)) }
        let b = try buffers.make(m)
        b.update(repeating: .zero, count: m)
        b[0] = chirp[0].conjugate
        for k in 1..<Swift.max(n, 1) {
            b[k] = chirp[k].conjugate
            b[m - k] = chirp[k].conjugate
        }
        kernel = try buffers.make(m)
        forward.transform(b, stride: 1, kernel, scratch: b)
        let scale = 1 / Double(m)
        for k in 0..<m { kernel[k] = kernel[k].scaled(scale) }
    }

    func transform(_ input: UnsafePointer<Complex>, stride: Int, _ output: UnsafeMutablePointer<Complex>,
                   scratch: UnsafeMutablePointer<Complex>) {
        let a = scratch, spectrum = scratch + m
        for k in 0..<n { a[k] = input[k * stride] * chirp[k] }
        (a + n).update(repeating: .zero, count: m - n)
        forward.transform(a, stride: 1, spectrum, scratch: a)
        for k in 0..<m { spectrum[k] = spectrum[k] * kernel[k] }
        backward.transform(spectrum, stride: 1, a, scratch: spectrum)
        for k in 0..<n { output[k] = a[k] * chirp[k] }
    }
}

/// The forward DFT of a real signal, bins 0...n/2 (the others are their conjugates). An even length runs as a complex
/// FFT of half the length over the even and odd samples packed as real and imaginary parts, then split:
/// `X[k] = E[k] + e^{-2πik/n} O[k]` with E and O recovered from Z[k] and conj(Z[n/2 - k]).
final class RealFFTPlan {
    let n: Int
    private let half: FFTPlan
    private let twiddle: UnsafeMutablePointer<Complex>
    /// Keeps the twiddles' memory.
    private let buffers: ComplexBuffers

    /// Complex scratch `transform` needs.
    var scratchCount: Int { (n % 2 == 0 ? n : 2 * n) + half.scratchCount }

    init(length n: Int, _ outputs: KernelOutputs) throws {
        self.n = n
        var bufs = ComplexBuffers(outputs)
        half = try FFTPlan(length: n % 2 == 0 ? n / 2 : n, inverse: false, outputs)
        twiddle = try bufs.make(n / 2 + 1)
        for k in 0...(n / 2) { twiddle[k] = .unit(-2 * Double.pi * Double(k) / Double(n)) }
        buffers = bufs
    }

    /// `output[k]`, k ≤ n/2, from `input[j * stride]` (real), j < n.
    func transform(_ input: (Int) -> Double, _ output: UnsafeMutablePointer<Complex>, scratch: UnsafeMutablePointer<Complex>) {
        guard n % 2 == 0 else {
            for j in 0..<n { scratch[j] = Complex(re: input(j), im: 0) }
            half.transform(scratch, stride: 1, scratch + n, scratch: scratch + 2 * n)
            output.update(from: scratch + n, count: n / 2 + 1)
            return
        }
        let h = n / 2
        for j in 0..<h { scratch[j] = Complex(re: input(2 * j), im: input(2 * j + 1)) }
        let z = scratch + h
        half.transform(scratch, stride: 1, z, scratch: scratch + n)
        for k in 0...h {
            let a = z[k % h], b = z[(h - k) % h].conjugate
            let even = (a + b).scaled(0.5)
            // (a - b) / 2i
            let d = a - b
            let odd = Complex(re: d.im * 0.5, im: -d.re * 0.5)
            output[k] = even + twiddle[k] * odd
        }
    }
}
