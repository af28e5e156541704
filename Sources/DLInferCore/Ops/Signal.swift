// Signal processing: DFT, STFT, the cosine-sum windows and MelWeightMatrix.

/// DFT (opsets 17 and 20): the discrete Fourier transform along one axis of a real (`[..., 1]`) or complex
/// (`[..., 2]`, real then imaginary part) signal, `X[k] = Σ_j x[j] e^{-2πi jk/n}`, or with `inverse` the inverse
/// `x[j] = (1/n) Σ_k X[k] e^{2πi jk/n}`, where n is `dft_length` (input 1, a scalar ≥ 1): the signal is truncated to
/// its first n values or zero-padded to n. The axis is opset 17's `axis` attribute (default 1) or opset 20's input 2
/// (default -2); it must lie in [-r, -2] or [0, r-2] for an input of rank r (the last dim holds the complex parts).
///
/// - `onesided = 0`: a complex output with n bins along the axis (the full DFT or inverse DFT).
/// - `onesided = 1`, forward (RFFT): bins 0...n/2 only (n/2 + 1 of them), complex. The spec expects a real input;
///   a complex one gives the first n/2 + 1 bins of its full DFT, as the ONNX reference does.
/// - `onesided = 1`, inverse (IRFFT): the input holds bins 0...n/2 of a Hermitian spectrum (missing ones are 0,
///   extra ones ignored, the imaginary parts of bin 0 and, for even n, of bin n/2 ignored); the output is the real
///   signal `[..., n, ..., 1]`. The default n is 2 * (m - 1) for m input bins (numpy's irfft), and must be ≥ 1.
///
/// The transforms are computed in float64 (FFT for every length; see `FFTPlan`) and rounded once to the input's type,
/// as numpy's float64 reference; float16 and bfloat16 go through float32. NaN and infinities propagate through the
/// sums (one NaN input makes every bin of its transform NaN). dft_length above 2^31 is refused.
public struct DFT: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public var inverse: Bool
    public var onesided: Bool
    /// Opset 17's `axis` attribute; nil from opset 20, which takes the axis as input 2.
    public var axisAttribute: Int?
    public init(inverse: Bool, onesided: Bool, axisAttribute: Int?) {
        self.inverse = inverse; self.onesided = onesided; self.axisAttribute = axisAttribute
    }
    public var opName: String { "DFT" }

    /// The largest transform length.
    public static let maxLength = 1 << 31

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        try requireDType(x.type.dtype, [.float32, .float64], "input")
        let length = inputs.optional(1), axisInput = inputs.optional(2)
        if let l = length {
            try requireDType(l.type.dtype, [.int32, .int64], "dft_length")
            try requireScalar(l, "dft_length")
        }
        if let a = axisInput {
            guard axisAttribute == nil else { throw DLInferError.model("DFT-17 takes the axis as an attribute, not an input") }
            try requireDType(a.type.dtype, [.int64], "axis")
            try requireScalar(a, "axis")
        }
        guard let shape = x.type.shape else { return [ValueType(x.type.dtype, nil)] }
        try DFT.checkSignal(shape, "input")
        let lastOut = Dim.fixed(inverse && onesided ? 1 : 2)
        guard axisInput == nil || axisInput?.value != nil else {
            // Which axis changes is known only at run time.
            return [ValueType(x.type.dtype, shape.dropLast().map { _ in .unknown } + [lastOut])]
        }
        let a = try axis(rank: shape.count, axisInput?.value)
        var out = shape
        out[shape.count - 1] = lastOut
        if let l = length {
            out[a] = try l.value.map { .fixed(outputLength(try DFT.length($0))) } ?? .unknown
        } else {
            out[a] = try shape[a].value.map { .fixed(outputLength(try defaultLength(axisDim: $0))) } ?? .unknown
        }
        return [ValueType(x.type.dtype, out)]
    }

    /// The transformed axis for an input of rank `rank`, from the attribute or the axis input's value.
    public func axis(rank: Int, _ value: Tensor?) throws -> Int {
        let raw = axisAttribute ?? value?.integerScalar() ?? -2
        let a = raw < 0 ? raw + rank : raw
        guard a >= 0, a <= rank - 2 else {
            throw DLInferError.model("axis \(raw) is out of range for an input of rank \(rank) (its last dim holds the complex parts)")
        }
        return a
    }

    /// n when dft_length is not given: the axis' size, or 2 * (bins - 1) for the IRFFT.
    public func defaultLength(axisDim: Int) throws -> Int {
        guard inverse && onesided else {
            guard axisDim >= 1 else { throw DLInferError.shape("the transformed axis is empty (give dft_length to zero-pad it)") }
            return axisDim
        }
        guard axisDim >= 2 else { throw DLInferError.shape("an inverse one-sided DFT of \(axisDim) bins needs dft_length (the default 2 * (bins - 1) is \(2 * (axisDim - 1)))") }
        return try DFT.checked(2 * (axisDim - 1))
    }

    /// The output's size along the axis for transform length n.
    public func outputLength(_ n: Int) -> Int { onesided && !inverse ? n / 2 + 1 : n }

    /// A dft_length (or STFT frame_length) value, which must be between 1 and `maxLength`.
    public static func length(_ t: Tensor, _ what: String = "dft_length") throws -> Int {
        guard t.count == 1 else { throw DLInferError.shape("\(what) must be a scalar, got shape \(t.shape)") }
        return try checked(t.integerScalar(), what)
    }

    public static func checked(_ n: Int, _ what: String = "dft_length") throws -> Int {
        guard n >= 1 else { throw DLInferError.invalid("\(what) must be at least 1, got \(n)") }
        guard n <= maxLength else { throw DLInferError.unsupported("\(what) \(n) is above the largest supported, \(maxLength)") }
        return n
    }

    /// Rank at least 2 and a last dim of 1 (real) or 2 (complex).
    public static func checkSignal(_ shape: [Dim], _ what: String) throws {
        guard shape.count >= 2 else { throw DLInferError.shape("\(what) must have rank 2 or more ([..., 1] real or [..., 2] complex), got rank \(shape.count)") }
        if let c = shape.last!.value, c != 1, c != 2 {
            throw DLInferError.shape("\(what)'s last dim must be 1 (real) or 2 (complex), got \(c)")
        }
    }
}

/// STFT (opset 17): the DFT of frames of a signal `[batch, length, 1 or 2]`: frame f starts at sample
/// `f * frame_step` and has `frame_length` samples, each multiplied by `window` (input 2, 1-D of frame_length values;
/// all ones when absent). `frames = (length - frame_length) / frame_step + 1` (floor); frame_length defaults to the
/// window's length, else to the signal's. The output is `[batch, frames, bins, 2]`, with `frame_length / 2 + 1` bins
/// when `onesided` (default 1; a complex signal is refused then, as the spec says it cannot be one-sided), else
/// frame_length bins. frame_step must be at least 1 and frame_length between 1 and the signal's length; a window of
/// another length than frame_length is an error. Computed in float64 like `DFT`.
public struct STFT: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public var onesided: Bool
    public init(onesided: Bool) { self.onesided = onesided }
    public var opName: String { "STFT" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let signal = try inputs.required(0, "signal"), step = try inputs.required(1, "frame_step")
        let window = inputs.optional(2), length = inputs.optional(3)
        let dtype = signal.type.dtype
        try requireDType(dtype, [.float32, .float64], "signal")
        for (t, name) in [(step, "frame_step"), (length, "frame_length")] {
            guard let t else { continue }
            try requireDType(t.type.dtype, [.int32, .int64], name)
            try requireScalar(t, name)
        }
        if let w = window {
            try requireSameDType(w.type.dtype, as: dtype, "window")
            if let r = w.type.rank, r != 1 { throw DLInferError.shape("window must be 1-D, got \(w.type)") }
        }
        guard let shape = signal.type.shape else { return [ValueType(dtype, try unknownDims(4))] }
        guard shape.count == 3 else { throw DLInferError.shape("signal must be [batch, length, 1 or 2], got \(signal.type)") }
        try DFT.checkSignal(shape, "signal")
        if onesided, shape[2] == .fixed(2) {
            throw DLInferError.unsupported("a one-sided STFT of a complex signal (the spec rules it out; set onesided = 0)")
        }
        let frameLength: Int?
        if let l = length {
            frameLength = try l.value.map { try DFT.length($0, "frame_length") }
        } else if let w = window {
            frameLength = try w.type.shape?[0].value.map { try DFT.checked($0, "the window's length") }
        } else {
            frameLength = try shape[1].value.map { try DFT.checked($0, "the signal's length") }
        }
        if let fl = frameLength, let wl = window?.type.shape?[0].value, wl != fl {
            throw DLInferError.shape("the window has \(wl) values, frame_length is \(fl)")
        }
        var frames = Dim.unknown
        if let fl = frameLength, let n = shape[1].value, let s = step.value {
            frames = .fixed(try STFT.frameCount(signalLength: n, frameLength: fl, step: s))
        }
        let bins = frameLength.map { Dim.fixed(onesided ? $0 / 2 + 1 : $0) } ?? .unknown
        return [ValueType(dtype, [shape[0], frames, bins, .fixed(2)])]
    }

    public static func frameCount(signalLength n: Int, frameLength: Int, step: Tensor) throws -> Int {
        guard step.count == 1 else { throw DLInferError.shape("frame_step must be a scalar, got shape \(step.shape)") }
        let s = step.integerScalar()
        guard s >= 1 else { throw DLInferError.invalid("frame_step must be at least 1, got \(s)") }
        guard frameLength <= n else {
            throw DLInferError.invalid("frame_length \(frameLength) is longer than the signal (\(n) samples)")
        }
        return (n - frameLength) / s + 1
    }
}

/// HannWindow, HammingWindow and BlackmanWindow (opset 17): `size` (a scalar, ≥ 0) values of a cosine-sum window,
/// `w[k] = a0 - a1 cos(2πk/N) + a2 cos(4πk/N)` with N = size when `periodic` (default 1) or size - 1 (symmetric):
/// Hann (0.5, 0.5, 0), Hamming (25/46, 21/46, 0) and Blackman (0.42, 0.5, 0.08). Computed in float64 with the exact π
/// and converted to `output_datatype` (default float32; any numeric type but bool: integers truncate toward zero,
/// as Cast does). A symmetric window of size 1, where N = 0 leaves the formula undefined, is [1] (numpy's and
/// PyTorch's value).
public struct CosineWindow: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public enum Kind: String, Sendable, CaseIterable {
        case hann = "HannWindow", hamming = "HammingWindow", blackman = "BlackmanWindow"
    }
    public var kind: Kind
    public var periodic: Bool
    public var dtype: DType
    public init(_ kind: Kind, periodic: Bool, dtype: DType) { self.kind = kind; self.periodic = periodic; self.dtype = dtype }
    public var opName: String { kind.rawValue }

    /// The output types the windows (and MelWeightMatrix) allow.
    public static let dtypes: [DType] = DType.floats + DType.integers

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let size = try inputs.required(0, "size")
        try requireDType(size.type.dtype, [.int32, .int64], "size")
        try requireScalar(size, "size")
        guard CosineWindow.dtypes.contains(dtype) else { throw DLInferError.unsupported("output_datatype \(dtype) is not supported") }
        return [ValueType(dtype, [try size.value.map { .fixed(try CosineWindow.size($0)) } ?? .unknown])]
    }

    public static func size(_ t: Tensor) throws -> Int {
        guard t.count == 1 else { throw DLInferError.shape("size must be a scalar, got shape \(t.shape)") }
        let n = t.integerScalar()
        guard n >= 0 else { throw DLInferError.invalid("size must not be negative, got \(n)") }
        return n
    }

    /// The coefficients a0, a1, a2.
    public var coefficients: (Double, Double, Double) {
        switch kind {
        case .hann: return (0.5, 0.5, 0)
        case .hamming: return (25.0 / 46.0, 21.0 / 46.0, 0)
        case .blackman: return (0.42, 0.5, 0.08)
        }
    }
}

/// MelWeightMatrix (opset 17): the `[dft_length / 2 + 1, num_mel_bins]` matrix that maps a one-sided linear spectrum
/// to mel bands of triangular filters with peak 1, as the ONNX reference and onnxruntime build it: mel(f) =
/// 2595 log10(1 + f/700); num_mel_bins + 2 points spaced evenly in mel from mel(lower_edge_hertz) by
/// (mel(upper) - mel(lower)) / (num_mel_bins + 2), each mapped back to hertz and to the spectrum bin
/// `floor((dft_length + 1) * hz / sample_rate)`; band i rises linearly from point i to point i+1 and falls to point
/// i+2 (a band whose rise is empty is 1 at its centre). Computed in float64 and converted to `output_datatype`
/// (default float32). The three sizes are integer scalars of one type, the two edges float scalars of one type.
/// num_mel_bins must be ≥ 0, dft_length ≥ 1, sample_rate ≥ 1, 0 ≤ lower ≤ upper, and both edges must fall within
/// the spectrum's bins (onnxruntime's checks), so every filter lies inside the matrix.
public struct MelWeightMatrix: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var dtype: DType
    public init(dtype: DType) { self.dtype = dtype }
    public var opName: String { "MelWeightMatrix" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let names = ["num_mel_bins", "dft_length", "sample_rate", "lower_edge_hertz", "upper_edge_hertz"]
        let ins = try names.indices.map { try inputs.required($0, names[$0]) }
        for (t, name) in zip(ins, names) { try requireScalar(t, name) }
        try requireDType(ins[0].type.dtype, [.int32, .int64], names[0])
        for k in 1...2 { try requireSameDType(ins[k].type.dtype, as: ins[0].type.dtype, names[k]) }
        guard ins[3].type.dtype.isFloatingPoint else { throw DLInferError.unsupported("lower_edge_hertz has element type \(ins[3].type.dtype); it must be a float") }
        try requireSameDType(ins[4].type.dtype, as: ins[3].type.dtype, names[4])
        guard CosineWindow.dtypes.contains(dtype) else { throw DLInferError.unsupported("output_datatype \(dtype) is not supported") }
        guard let bins = ins[0].value, let length = ins[1].value else { return [ValueType(dtype, [.unknown, .unknown])] }
        let (melBins, spectrumBins) = try MelWeightMatrix.sizes(bins, length)
        return [ValueType(dtype, fixed: [spectrumBins, melBins])]
    }

    /// num_mel_bins and the spectrum's bin count from the first two inputs.
    public static func sizes(_ bins: Tensor, _ length: Tensor) throws -> (mel: Int, spectrum: Int) {
        let m = bins.integerScalar(), n = length.integerScalar()
        guard m >= 0 else { throw DLInferError.invalid("num_mel_bins must not be negative, got \(m)") }
        guard n >= 1 else { throw DLInferError.invalid("dft_length must be at least 1, got \(n)") }
        return (m, n / 2 + 1)
    }
}
