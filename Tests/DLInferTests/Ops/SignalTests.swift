import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// DFT, STFT, the windows and MelWeightMatrix against naive O(n²) transforms and direct formulas: every DFT mode on
/// lengths that take each FFT path (powers of two, mixed radices, large primes through Bluestein), truncation and
/// zero-padding, opset 17's attribute form, batches big enough for the parallel path, NaN, and bad input rejected.
final class SignalTests: XCTestCase {
    // MARK: DFT

    func testEveryModeAndLengthAgainstNaiveDFT() throws {
        // 1..8 and 12, 30, 100, 400: radix 4, 2 and the generic butterflies; 37, 97, 202: Bluestein.
        for n in [1, 2, 3, 4, 5, 6, 7, 8, 12, 30, 37, 97, 100, 202, 400] {
            for complex in [false, true] {
                let x = signal([2, n, 3, complex ? 2 : 1], seed: n)
                for (inverse, onesided) in [(false, false), (false, true), (true, false)] {
                    let y = try dft(x, opset: 20, axis: 1, inverse: inverse, onesided: onesided)
                    let want = naiveDFT(x, axis: 1, n: n, inverse: inverse)
                    let bins = onesided ? n / 2 + 1 : n
                    XCTAssertEqual(y.shape, [2, bins, 3, 2], "n \(n)")
                    assertClose(y, slice(want, [2, n, 3, 2], axis: 1, count: bins), shape: [2, bins, 3, 2], rtol: 1e-5, atol: 1e-4,
                                "n \(n) complex \(complex) inverse \(inverse) onesided \(onesided)")
                }
            }
        }
    }

    func testIRFFTInvertsTheRFFT() throws {
        for n in [1, 2, 5, 8, 9, 37, 400] {
            let x = signal([3, n, 1], seed: n)
            let spectrum = try dft(x, opset: 20, axis: 1, inverse: false, onesided: true)
            let back = try dft(spectrum, opset: 20, axis: 1, inverse: true, onesided: true, length: n)
            XCTAssertEqual(back.shape, [3, n, 1])
            assertClose(back, x.array(Float.self).map(Double.init), shape: [3, n, 1], rtol: 1e-5, atol: 1e-4, "n \(n)")
        }
        // The default length is 2 * (bins - 1), and bins beyond n/2 are ignored (numpy's irfft).
        let bins = signal([1, 5, 2], seed: 3)
        let y = try dft(bins, opset: 20, axis: 1, inverse: true, onesided: true)
        XCTAssertEqual(y.shape, [1, 8, 1])
        assertClose(y, naiveIRFFT(bins.array(Float.self).map(Double.init), n: 8), shape: [1, 8, 1], rtol: 1e-5, atol: 1e-4, "irfft default length")
        let short = try dft(bins, opset: 20, axis: 1, inverse: true, onesided: true, length: 4)
        assertClose(short, naiveIRFFT(Array(bins.array(Float.self).map(Double.init).prefix(6)), n: 4), shape: [1, 4, 1], rtol: 1e-5, atol: 1e-4,
                    "irfft of 4")
    }

    func testLengthTruncatesOrZeroPads() throws {
        let x = signal([2, 10, 1], seed: 5)
        for n in [4, 10, 16, 23] {
            let y = try dft(x, opset: 20, axis: 1, inverse: false, onesided: false, length: n)
            XCTAssertEqual(y.shape, [2, n, 2])
            var padded = [Float](repeating: 0, count: 2 * n)
            for b in 0..<2 { for j in 0..<Swift.min(n, 10) { padded[b * n + j] = x.array(Float.self)[b * 10 + j] } }
            assertClose(y, naiveDFT(Tensor(padded, shape: [2, n, 1]), axis: 1, n: n, inverse: false), shape: [2, n, 2], rtol: 1e-5, atol: 1e-4,
                        "length \(n)")
        }
    }

    func testOpset17AxisAttributeNegativeAxisAndFloat64() throws {
        let x = signal([2, 3, 6, 2], seed: 9)
        for (axis, normal) in [(2, 2), (-2, 2), (0, 0), (-4, 0)] {
            let y = try dft(x, opset: 17, axis: axis, inverse: false, onesided: false)
            assertClose(y, naiveDFT(x, axis: normal, n: x.shape[normal], inverse: false), shape: [2, 3, 6, 2], rtol: 1e-5, atol: 1e-4, "axis \(axis)")
        }
        let d = Tensor(signal([4, 12, 2], seed: 4).array(Float.self).map(Double.init), shape: [4, 12, 2])
        let y = try dft(d, opset: 17, axis: 1, inverse: true, onesided: false)
        XCTAssertEqual(y.dtype, .float64)
        let want = naiveDFT(d, axis: 1, n: 12, inverse: true)
        for (a, b) in zip(y.array(Double.self), want) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    }

    func testManyTransformsSplitAcrossThreads() throws {
        let x = signal([64, 96, 5, 1], seed: 2)
        let y = try dft(x, opset: 20, axis: 1, inverse: false, onesided: true)
        assertClose(y, slice(naiveDFT(x, axis: 1, n: 96, inverse: false), [64, 96, 5, 2], axis: 1, count: 49), shape: [64, 49, 5, 2], rtol: 1e-5,
                    atol: 1e-4, "batch")
    }

    func testLongTransformsInFloat64() throws {
        // A large prime (Bluestein over 16384-point FFTs), a large power of two and a mixed 2^4 * 3 * 5^3, complex.
        for (n, inverse) in [(4099, false), (4099, true), (8192, false), (6000, true)] {
            let x = Tensor(signal([1, n, 2], seed: n).array(Float.self).map(Double.init), shape: [1, n, 2])
            let y = try dft(x, opset: 20, axis: 1, inverse: inverse, onesided: false)
            assertClose(y, naiveDFT(x, axis: 1, n: n, inverse: inverse), dtype: .float64, shape: [1, n, 2], rtol: 1e-9, atol: 1e-9,
                        "n \(n) inverse \(inverse)")
        }
    }

    func testNaNReachesEveryBinOfItsTransformOnly() throws {
        var v = signal([2, 8, 1], seed: 1).array(Float.self)
        v[3] = .nan
        let y = try dft(Tensor(v, shape: [2, 8, 1]), opset: 20, axis: 1, inverse: false, onesided: false).array(Float.self)
        XCTAssertTrue(y[0..<16].allSatisfy(\.isNaN))
        XCTAssertTrue(y[16...].allSatisfy(\.isFinite))
    }

    func testBadDFTsAreRejected() {
        let x = signal([2, 4, 1], seed: 0)
        // The last dim holds the complex parts: it cannot be the axis.
        XCTAssertThrowsError(try dft(x, opset: 20, axis: 2, inverse: false, onesided: false))
        XCTAssertThrowsError(try dft(x, opset: 17, axis: -1, inverse: false, onesided: false))
        XCTAssertThrowsError(try dft(signal([2, 4, 3], seed: 0), opset: 20, axis: 1, inverse: false, onesided: false))
        XCTAssertThrowsError(try dft(x, opset: 20, axis: 1, inverse: false, onesided: false, length: 0))
        XCTAssertThrowsError(try dft(x, opset: 20, axis: 1, inverse: false, onesided: false, length: -3))
        // One bin has no default IRFFT length (2 * (1 - 1) = 0).
        XCTAssertThrowsError(try dft(signal([2, 1, 2], seed: 0), opset: 20, axis: 1, inverse: true, onesided: true))
        // A length computed at run time is checked there too.
        var m = ModelBuilder(opset: 20)
        m.input("x", .float32, [.fixed(2), .fixed(4), .fixed(1)])
        m.input("n", .int64, [])
        m.node("DFT", ["x", "n"], ["y"])
        m.output("y", .float32)
        XCTAssertThrowsError(try m.run([x, Tensor([Int64(0)], shape: [])])) { e in XCTAssertTrue("\(e)".contains("dft_length")) }
        XCTAssertEqual(try m.run([x, Tensor([Int64(6)], shape: [])])[0].shape, [2, 6, 2])
    }

    // MARK: STFT

    func testSTFTAgainstNaiveFrames() throws {
        let x = signal([2, 200, 1], seed: 7)
        let window = Tensor((0..<50).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / 50)) }, shape: [50])
        for (onesided, step) in [(true, 20), (false, 7)] {
            let y = try stft(x, step: step, window: window, length: nil, onesided: onesided)
            let frames = (200 - 50) / step + 1, bins = onesided ? 26 : 50
            XCTAssertEqual(y.shape, [2, frames, bins, 2])
            var want = [Double]()
            let v = x.array(Float.self).map(Double.init), w = window.array(Float.self).map(Double.init)
            for b in 0..<2 {
                for f in 0..<frames {
                    let frame = (0..<50).map { Float(v[b * 200 + f * step + $0] * w[$0]) }
                    want += naiveDFT(Tensor(frame, shape: [1, 50, 1]), axis: 1, n: 50, inverse: false).prefix(2 * bins)
                }
            }
            assertClose(y, want, shape: [2, frames, bins, 2], rtol: 1e-4, atol: 1e-4, "onesided \(onesided)")
        }
        // Without a window: frame_length frames of the bare signal; a complex signal needs onesided = 0.
        let c = signal([1, 64, 2], seed: 8)
        let y = try stft(c, step: 16, window: nil, length: 32, onesided: false)
        XCTAssertEqual(y.shape, [1, 3, 32, 2])
        let v = c.array(Float.self)
        let second = Tensor(Array(v[32..<96]), shape: [1, 32, 2])
        assertClose(Tensor(Array(y.array(Float.self)[64..<128]), shape: [32, 2]), naiveDFT(second, axis: 1, n: 32, inverse: false), shape: [32, 2],
                    rtol: 1e-5, atol: 1e-4, "frame 1")
    }

    func testBadSTFTsAreRejected() {
        let x = signal([1, 32, 1], seed: 0)
        XCTAssertThrowsError(try stft(x, step: 0, window: nil, length: 8, onesided: true))
        XCTAssertThrowsError(try stft(x, step: 4, window: nil, length: 40, onesided: true))
        XCTAssertThrowsError(try stft(x, step: 4, window: Tensor([Float](repeating: 1, count: 6), shape: [6]), length: 8, onesided: true))
        XCTAssertThrowsError(try stft(signal([1, 32, 2], seed: 0), step: 4, window: nil, length: 8, onesided: true))
    }

    // MARK: Windows and MelWeightMatrix

    func testWindowsAgainstTheirFormulas() throws {
        let coefficients: [(String, Double, Double, Double)] = [("HannWindow", 0.5, 0.5, 0), ("HammingWindow", 25.0 / 46, 21.0 / 46, 0),
                                                               ("BlackmanWindow", 0.42, 0.5, 0.08)]
        for (op, a0, a1, a2) in coefficients {
            for periodic in [1, 0] {
                for size in [0, 1, 2, 7, 400] {
                    let y = try window(op, size: size, periodic: periodic, dtype: .float64)
                    let period = Double(periodic == 1 ? size : size - 1)
                    let want = (0..<size).map { k -> Double in
                        period == 0 ? 1 : a0 - a1 * cos(2 * .pi * Double(k) / period) + a2 * cos(4 * .pi * Double(k) / period)
                    }
                    XCTAssertEqual(y.shape, [size])
                    for (g, w) in zip(y.array(Double.self), want) { XCTAssertEqual(g, w, accuracy: 1e-14, "\(op) \(periodic) \(size)") }
                }
            }
        }
        // Other output types: rounded (float16) or truncated (integers) from the float64 values.
        let h = try window("HannWindow", size: 4, periodic: 1, dtype: .float16)
        XCTAssertEqual(h.buffer(Half.self).map(\.float), [0, 0.5, 1, 0.5])
        XCTAssertEqual(try window("HannWindow", size: 4, periodic: 1, dtype: .int32).array(Int32.self), [0, 0, 1, 0])
        XCTAssertThrowsError(try window("HannWindow", size: -1, periodic: 1, dtype: .float32))
        XCTAssertThrowsError(try window("HannWindow", size: 4, periodic: 2, dtype: .float32))
        XCTAssertThrowsError(try window("HannWindow", size: 4, periodic: 1, dtype: .bool))
    }

    func testMelWeightMatrixAgainstTheReferenceConstruction() throws {
        for (bins, length, rate, low, high) in [(8, 16, 8192, 0.0, 4096.0), (80, 400, 16000, 0.0, 8000.0), (40, 512, 22050, 125.0, 7600.0),
                                                 (3, 10, 100, 20.0, 20.0)] {
            let y = try mel(bins, length, rate, Float(low), Float(high))
            XCTAssertEqual(y.shape, [length / 2 + 1, bins])
            assertClose(y, naiveMel(bins, length, rate, Double(Float(low)), Double(Float(high))), shape: [length / 2 + 1, bins], rtol: 0,
                        atol: 1e-6, "mel \(bins) \(length)")
        }
        XCTAssertThrowsError(try mel(8, 16, 8192, 0, 5000))  // beyond the last bin
        XCTAssertThrowsError(try mel(8, 16, 8192, 3000, 1000))
        XCTAssertThrowsError(try mel(8, 16, 0, 0, 1000))
        XCTAssertThrowsError(try mel(-1, 16, 8192, 0, 1000))
    }

    // MARK: Helpers

    private func dft(_ x: Tensor, opset: Int, axis: Int, inverse: Bool, onesided: Bool, length: Int? = nil) throws -> Tensor {
        var attrs = [attr("inverse", inverse ? 1 : 0), attr("onesided", onesided ? 1 : 0)]
        if opset < 20 { attrs.append(attr("axis", axis)) }
        let inputs = [x, length.map { Tensor([Int64($0)], shape: []) }, opset >= 20 ? Tensor([Int64(axis)], shape: []) : nil]
        return try OneNode.run("DFT", opset: opset, inputs, constant: [1, 2], attrs: attrs, outputs: [x.dtype])[0]
    }

    private func stft(_ x: Tensor, step: Int, window: Tensor?, length: Int?, onesided: Bool) throws -> Tensor {
        let inputs = [x, Tensor([Int64(step)], shape: []), window, length.map { Tensor([Int64($0)], shape: []) }]
        return try OneNode.run("STFT", opset: 17, inputs, constant: [1, 2, 3], attrs: [attr("onesided", onesided ? 1 : 0)])[0]
    }

    private func window(_ op: String, size: Int, periodic: Int, dtype: DType) throws -> Tensor {
        try OneNode.run(op, opset: 17, [Tensor([Int32(size)], shape: [])],
                        attrs: [attr("periodic", periodic), attr("output_datatype", Int(dtype.rawValue))], outputs: [dtype])[0]
    }

    private func mel(_ bins: Int, _ length: Int, _ rate: Int, _ low: Float, _ high: Float) throws -> Tensor {
        try OneNode.run("MelWeightMatrix", opset: 17, [Tensor([Int64(bins)], shape: []), Tensor([Int64(length)], shape: []),
                                                       Tensor([Int64(rate)], shape: []), Tensor([low], shape: []), Tensor([high], shape: [])])[0]
    }
}

/// Deterministic values in [-1, 1).
private func signal(_ shape: [Int], seed: Int) -> Tensor {
    var state = UInt64(seed) &* 6364136223846793005 &+ 1442695040888963407
    return Tensor((0..<shape.elementCount).map { _ -> Float in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 23) - 1
    }, shape: shape)
}

/// The full DFT (n bins, complex) along `axis` of a real or complex signal, zero-padded or truncated to n, in float64.
private func naiveDFT(_ x: Tensor, axis: Int, n: Int, inverse: Bool) -> [Double] {
    let v = x.dtype == .float64 ? x.array(Double.self) : x.array(Float.self).map(Double.init)
    let shape = x.shape, parts = shape.last!
    let outer = shape[..<axis].reduce(1, *), len = shape[axis], inner = shape[(axis + 1)..<(shape.count - 1)].reduce(1, *)
    var out = [Double](repeating: 0, count: outer * n * inner * 2)
    let sign = inverse ? 1.0 : -1.0
    for o in 0..<outer {
        for i in 0..<inner {
            for k in 0..<n {
                var re = 0.0, im = 0.0
                for j in 0..<Swift.min(n, len) {
                    let p = ((o * len + j) * inner + i) * parts
                    let a = v[p], b = parts == 2 ? v[p + 1] : 0
                    let angle = sign * 2 * Double.pi * Double((j * k) % n) / Double(n)
                    re += a * cos(angle) - b * sin(angle)
                    im += a * sin(angle) + b * cos(angle)
                }
                let q = ((o * n + k) * inner + i) * 2
                out[q] = inverse ? re / Double(n) : re
                out[q + 1] = inverse ? im / Double(n) : im
            }
        }
    }
    return out
}

/// numpy's irfft of one row of bins (interleaved re, im), length n.
private func naiveIRFFT(_ bins: [Double], n: Int) -> [Double] {
    let m = bins.count / 2
    return (0..<n).map { j in
        var sum = 0.0
        for k in 0..<n {
            // Bin k of the Hermitian spectrum; the imaginary parts of bins 0 and n/2 do not count.
            let src = k <= n / 2 ? k : n - k
            guard src < m else { continue }
            let re = bins[2 * src], im = (src == 0 || 2 * src == n) ? 0 : (k <= n / 2 ? bins[2 * src + 1] : -bins[2 * src + 1])
            let angle = 2 * Double.pi * Double((j * k) % n) / Double(n)
            sum += re * cos(angle) - im * sin(angle)
        }
        return sum / Double(n)
    }
}

/// The first `count` entries along `axis` of a row-major array of `shape`.
private func slice(_ v: [Double], _ shape: [Int], axis: Int, count: Int) -> [Double] {
    let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
    var out = [Double]()
    for o in 0..<outer { out += v[(o * shape[axis] * inner)..<((o * shape[axis] + count) * inner)] }
    return out
}

/// The ONNX reference's MelWeightMatrix.
private func naiveMel(_ bins: Int, _ length: Int, _ rate: Int, _ low: Double, _ high: Double) -> [Double] {
    let spectrum = length / 2 + 1
    let lowMel = 2595 * log10(1 + low / 700), highMel = 2595 * log10(1 + high / 700)
    let step = (highMel - lowMel) / Double(bins + 2)
    let points = (0..<(bins + 2)).map { i -> Int in
        let hz = 700 * (pow(10, (lowMel + step * Double(i)) / 2595) - 1)
        return Int((Double(length + 1) * hz / Double(rate)).rounded(.down))
    }
    var out = [Double](repeating: 0, count: spectrum * bins)
    for i in 0..<bins {
        let l = points[i], c = points[i + 1], r = points[i + 2]
        if c == l { out[c * bins + i] = 1 } else { for j in l...c { out[j * bins + i] = Double(j - l) / Double(c - l) } }
        if r > c { for j in c..<r { out[j * bins + i] = Double(r - j) / Double(r - c) } }
    }
    return out
}
