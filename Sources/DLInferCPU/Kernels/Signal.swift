import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// DFT along one axis: every transform of the batch (the positions of the other axes) runs the same plan, in
/// parallel over blocks of transforms, each block with its own scratch. Real forward transforms use the half-length
/// real FFT; the IRFFT rebuilds the Hermitian spectrum and keeps the real part of its inverse.
final class DFTKernel: Kernel {
    let attrs: DFT
    init(_ a: DFT) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, shape = x.shape, r = x.rank
        try DFT.checkSignal(shape.map { .fixed($0) }, "input")
        let axis = try attrs.axis(rank: r, inputs.count > 2 ? inputs[2] : nil)
        let n = try inputs.count > 1 && inputs[1] != nil ? DFT.length(inputs[1]!) : attrs.defaultLength(axisDim: shape[axis])
        let irfft = attrs.inverse && attrs.onesided
        var outShape = shape
        outShape[axis] = attrs.outputLength(n)
        outShape[r - 1] = irfft ? 1 : 2
        try expectShape(outputs.shape(0), outShape)
        let y = try outputs.make(0)
        let g = Geometry(outer: shape[..<axis].reduce(1, *), length: shape[axis], inner: shape[(axis + 1)..<(r - 1)].reduce(1, *),
                         parts: shape[r - 1], outLength: outShape[axis], outParts: outShape[r - 1])
        switch x.dtype {
        case .float32: try transform(x, y, n, g, outputs, Float.self)
        case .float64: try transform(x, y, n, g, outputs, Double.self)
        default: throw DLInferError.unsupported("DFT on \(x.dtype)")
        }
        return [y]
    }

    /// The input seen as `[outer, length, inner, parts]` and the output as `[outer, outLength, inner, outParts]`.
    struct Geometry {
        let outer, length, inner, parts, outLength, outParts: Int
    }

    private func transform<T: BinaryFloatingPoint>(_ x: Tensor, _ y: Tensor, _ n: Int, _ g: Geometry, _ outputs: KernelOutputs,
                                                   _: T.Type) throws {
        let src = UnsafePointer(x.raw.assumingMemoryBound(to: T.self)), dst = y.raw.assumingMemoryBound(to: T.self)
        let inverse = attrs.inverse, irfft = attrs.inverse && attrs.onesided
        let used = Swift.min(g.length, irfft ? n / 2 + 1 : n)
        /// Complex input j of transform t (j < used).
        @inline(__always) func load(_ t: Int, _ j: Int) -> Complex {
            let p = src + (((t / g.inner) * g.length + j) * g.inner + t % g.inner) * g.parts
            return Complex(re: Double(p[0]), im: g.parts == 2 ? Double(p[1]) : 0)
        }
        @inline(__always) func store(_ t: Int, _ k: Int, _ v: Complex) {
            let p = dst + (((t / g.inner) * g.outLength + k) * g.inner + t % g.inner) * g.outParts
            p[0] = T(v.re)
            if g.outParts == 2 { p[1] = T(v.im) }
        }
        let transforms = g.outer * g.inner
        if g.parts == 1 && !inverse {
            let plan = try RealFFTPlan(length: n, outputs)
            try forEachTransform(transforms, length: n, scratch: n / 2 + 1 + plan.scratchCount, outputs) { t, s in
                let bins = s, scratch = s + n / 2 + 1
                plan.transform({ j in j < used ? load(t, j).re : 0 }, bins, scratch: scratch)
                for k in 0..<g.outLength { store(t, k, k <= n / 2 ? bins[k] : bins[n - k].conjugate) }
            }
            return
        }
        let plan = try FFTPlan(length: n, inverse: inverse, outputs)
        let scale = inverse ? 1 / Double(n) : 1
        try forEachTransform(transforms, length: n, scratch: 2 * n + plan.scratchCount, outputs) { t, s in
            let a = s, b = s + n, scratch = s + 2 * n
            for j in 0..<used { a[j] = load(t, j) }
            (a + used).update(repeating: .zero, count: n - used)
            if irfft {
                // Bins above n/2 mirror the ones below; the real part of the inverse ignores the imaginary parts of
                // bin 0 and bin n/2, as numpy's irfft does.
                for k in (n / 2 + 1)..<Swift.max(n, n / 2 + 1) { a[k] = a[n - k].conjugate }
            }
            plan.transform(a, stride: 1, b, scratch: scratch)
            for k in 0..<g.outLength { store(t, k, b[k].scaled(scale)) }
        }
    }
}

/// STFT: frame f of batch b is the DFT of `signal[b, f * step + j] * window[j]`, j < frame_length; real signals use
/// the half-length real FFT.
final class STFTKernel: Kernel {
    let attrs: STFT
    init(_ a: STFT) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let signal = inputs[0]!, step = inputs[1]!
        let window = inputs.count > 2 ? inputs[2] : nil, lengthInput = inputs.count > 3 ? inputs[3] : nil
        guard signal.rank == 3, signal.shape[2] == 1 || signal.shape[2] == 2 else {
            throw DLInferError.shape("signal must be [batch, length, 1 or 2], got shape \(signal.shape)")
        }
        let (batch, length, parts) = (signal.shape[0], signal.shape[1], signal.shape[2])
        if attrs.onesided, parts == 2 { throw DLInferError.unsupported("a one-sided STFT of a complex signal") }
        if let w = window, w.rank != 1 { throw DLInferError.shape("window must be 1-D, got shape \(w.shape)") }
        let n = try lengthInput.map { try DFT.length($0, "frame_length") } ?? window.map { try DFT.checked($0.count, "the window's length") }
            ?? DFT.checked(length, "the signal's length")
        if let w = window, w.count != n { throw DLInferError.shape("the window has \(w.count) values, frame_length is \(n)") }
        let frames = try STFT.frameCount(signalLength: length, frameLength: n, step: step)
        let hop = step.integerScalar(), bins = attrs.onesided ? n / 2 + 1 : n
        try expectShape(outputs.shape(0), [batch, frames, bins, 2])
        let y = try outputs.make(0)
        switch signal.dtype {
        case .float32: try transform(signal, window, y, n, hop, frames, bins, outputs, Float.self)
        case .float64: try transform(signal, window, y, n, hop, frames, bins, outputs, Double.self)
        default: throw DLInferError.unsupported("STFT on \(signal.dtype)")
        }
        return [y]
    }

    private func transform<T: BinaryFloatingPoint>(_ signal: Tensor, _ window: Tensor?, _ y: Tensor, _ n: Int, _ hop: Int,
                                                   _ frames: Int, _ bins: Int, _ outputs: KernelOutputs, _: T.Type) throws {
        let src = UnsafePointer(signal.raw.assumingMemoryBound(to: T.self)), dst = y.raw.assumingMemoryBound(to: T.self)
        let w = window.map { UnsafePointer($0.raw.assumingMemoryBound(to: T.self)) }
        let length = signal.shape[1], parts = signal.shape[2]
        @inline(__always) func sample(_ t: Int, _ j: Int) -> Complex {
            let p = src + ((t / frames) * length + (t % frames) * hop + j) * parts
            let scale = w.map { Double($0[j]) } ?? 1
            return Complex(re: Double(p[0]) * scale, im: parts == 2 ? Double(p[1]) * scale : 0)
        }
        @inline(__always) func store(_ t: Int, _ k: Int, _ v: Complex) {
            let p = dst + (t * bins + k) * 2
            p[0] = T(v.re); p[1] = T(v.im)
        }
        let transforms = y.shape[0] * frames
        if parts == 1 {
            let plan = try RealFFTPlan(length: n, outputs)
            try forEachTransform(transforms, length: n, scratch: n / 2 + 1 + plan.scratchCount, outputs) { t, s in
                plan.transform({ j in sample(t, j).re }, s, scratch: s + n / 2 + 1)
                for k in 0..<bins { store(t, k, k <= n / 2 ? s[k] : s[n - k].conjugate) }
            }
            return
        }
        let plan = try FFTPlan(length: n, inverse: false, outputs)
        try forEachTransform(transforms, length: n, scratch: 2 * n + plan.scratchCount, outputs) { t, s in
            for j in 0..<n { s[j] = sample(t, j) }
            plan.transform(s, stride: 1, s + n, scratch: s + 2 * n)
            for k in 0..<bins { store(t, k, s[n + k]) }
        }
    }
}

/// Runs `body(t, scratch)` for every transform t < count, in parallel over contiguous blocks; each block has
/// `scratch` complex values of its own, allocated once against the session's memory budget.
private func forEachTransform(_ count: Int, length: Int, scratch: Int, _ outputs: KernelOutputs,
                              _ body: (Int, UnsafeMutablePointer<Complex>) -> Void) throws {
    guard count > 0 else { return }
    // A block of transforms is worth a thread from about 16k values of work on.
    let (work, overflow) = count.multipliedReportingOverflow(by: Swift.max(length, 1))
    let blocks = Swift.max(1, Swift.min(Threads.count, count, overflow ? count : work >> 14))
    let (total, tooMany) = blocks.multipliedReportingOverflow(by: scratch)
    guard !tooMany else { throw DLInferError(.outOfMemory, "FFT scratch of \(blocks) x \(scratch) complex values is too large") }
    var buffers = ComplexBuffers(outputs)
    let base = try buffers.make(total)
    parallelFor(blocks, grain: 1) { r in
        for b in r {
            for t in (count * b / blocks)..<(count * (b + 1) / blocks) { body(t, base + b * scratch) }
        }
    }
    withExtendedLifetime(buffers) {}
}

/// HannWindow, HammingWindow, BlackmanWindow: the cosine sum in float64, converted to the output type.
final class CosineWindowKernel: Kernel {
    let attrs: CosineWindow
    init(_ a: CosineWindow) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let size = try CosineWindow.size(inputs[0]!)
        try expectShape(outputs.shape(0), [size])
        let y = try outputs.make(0)
        let (a0, a1, a2) = attrs.coefficients
        let period = Double(attrs.periodic ? size : size - 1)
        try storeDoubles(y) { k in
            if period == 0 { return 1 }
            let angle = 2 * Double.pi * Double(k) / period
            return a0 - a1 * cos(angle) + a2 * cos(2 * angle)
        }
        return [y]
    }
}

/// MelWeightMatrix: the filter points in spectrum bins, then each band's rising and falling edge.
final class MelWeightMatrixKernel: Kernel {
    let attrs: MelWeightMatrix
    init(_ a: MelWeightMatrix) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        for (k, t) in inputs.prefix(5).enumerated() where t!.count != 1 {
            throw DLInferError.shape("input \(k) must be a scalar, got shape \(t!.shape)")
        }
        let (bands, spectrum) = try MelWeightMatrix.sizes(inputs[0]!, inputs[1]!)
        let length = inputs[1]!.integerScalar(), rate = inputs[2]!.integerScalar()
        let lower = inputs[3]!.doubleValues()![0], upper = inputs[4]!.doubleValues()![0]
        guard rate >= 1 else { throw DLInferError.invalid("sample_rate must be at least 1, got \(rate)") }
        guard lower >= 0, lower <= upper, upper.isFinite else {
            throw DLInferError.invalid("the edges must satisfy 0 <= lower_edge_hertz <= upper_edge_hertz, got \(lower) and \(upper)")
        }
        func bin(_ hz: Double) -> Double { ((Double(length) + 1) * hz / Double(rate)).rounded(.down) }
        guard bin(upper) < Double(spectrum) else {
            throw DLInferError.invalid("upper_edge_hertz \(upper) lies beyond the \(spectrum) bins of a \(length)-point DFT at \(rate) Hz")
        }
        try expectShape(outputs.shape(0), [spectrum, bands])
        let y = try outputs.make(0)
        // Mel scale points, back in hertz, then in bins; every point lies between the two edges' bins (the clamp only
        // guards against rounding).
        func mel(_ hz: Double) -> Double { 2595 * log10(1 + hz / 700) }
        let low = mel(lower), step = (mel(upper) - low) / Double(bands + 2)
        let pointTensor = try outputs.make(.int64, [bands + 2]), points = pointTensor.pointer(Int64.self)
        for i in 0..<(bands + 2) {
            let hz = 700 * (pow(10, (low + step * Double(i)) / 2595) - 1)
            points[i] = Int64(Swift.min(Swift.max(bin(Swift.max(hz, 0)), 0), Double(spectrum - 1)))
        }
        try storeDoubles(y) { e in
            let j = Int64(e / bands), i = e % bands
            let left = points[i], centre = points[i + 1], right = points[i + 2]
            // The falling edge overwrites the rising one where they meet (both are 1 at the centre).
            if right > centre, j >= centre, j < right { return Double(right - j) / Double(right - centre) }
            if centre == left { return j == centre ? 1 : 0 }
            return j >= left && j <= centre ? Double(j - left) / Double(centre - left) : 0
        }
        withExtendedLifetime(pointTensor) {}
        return [y]
    }
}

/// Writes `value(i)` for every element of `y`, converted from float64 to y's type as Cast converts.
func storeDoubles(_ y: Tensor, _ value: (Int) -> Double) throws {
    func fill<D>(_: D.Type, _ convert: (Double) -> D) {
        let p = y.raw.assumingMemoryBound(to: D.self)
        for i in 0..<y.count { p[i] = convert(value(i)) }
    }
    switch y.dtype {
    case .float32: fill(Float.self) { $0.castFloat }
    case .float64: fill(Double.self) { $0 }
    case .float16: fill(Half.self) { $0.castHalf }
    case .bfloat16: fill(BFloat16.self) { $0.castBFloat16 }
    case .int8: fill(Int8.self) { $0.castInteger() }
    case .int16: fill(Int16.self) { $0.castInteger() }
    case .int32: fill(Int32.self) { $0.castInteger() }
    case .int64: fill(Int64.self) { $0.castInteger() }
    case .uint8: fill(UInt8.self) { $0.castInteger() }
    case .uint16: fill(UInt16.self) { $0.castInteger() }
    case .uint32: fill(UInt32.self) { $0.castInteger() }
    case .uint64: fill(UInt64.self) { $0.castInteger() }
    case .bool: fill(Bool.self) { $0.castBool }
    case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz:
        let format = y.dtype.float8Format!
        fill(UInt8.self) { format.encode($0.castOddFloat, saturate: true) }
    case .float8e8m0: fill(UInt8.self) { Float8Format.encodeE8M0(Float($0), saturate: true, roundMode: .up) }
    case .int4, .uint4, .int2, .uint2:
        let t = y.dtype
        fill(UInt8.self) { $0.castSubByte(t) }
    case .float4e2m1: fill(UInt8.self) { SubByte.float4($0.castOddFloat) }
    case .string: throw DLInferError.unsupported("string outputs")
    }
}

extension CPUKernelFactory {
    func visit(_ a: DFT, _ _: Node, _ _: Graph) -> HostKernel {
        DFTKernel(a)
    }

    func visit(_ a: STFT, _ _: Node, _ _: Graph) -> HostKernel {
        STFTKernel(a)
    }

    func visit(_ a: CosineWindow, _ _: Node, _ _: Graph) -> HostKernel {
        CosineWindowKernel(a)
    }

    func visit(_ a: MelWeightMatrix, _ _: Node, _ _: Graph) -> HostKernel {
        MelWeightMatrixKernel(a)
    }
}
