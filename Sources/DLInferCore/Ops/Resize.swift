#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Resize (opsets 10-19) and Upsample (7-9): nearest, N-linear or N-cubic resampling over any set of axes.
///
/// Inputs are always `[X, roi, scales, sizes]`: the importer moves Resize-10's and Upsample's scales to slot 2 (and
/// Upsample-7's attribute into a constant there). Exactly one of scales and sizes must be non-empty; with scales the
/// output length is `floor(input * scale)` (the crop box of tf_crop_and_resize does not shrink it, as in the ONNX
/// reference and onnxruntime). Each axis is resampled independently: `sampling` gives, for every output index, the
/// input indices and weights to combine. Linear and cubic follow the ONNX reference in double precision (its
/// coordinate transforms use the fractional output length `scale * input`, which the ONNX tests depend on); nearest
/// follows onnxruntime's single-precision arithmetic (see `nearestCoordinate`). tf_half_pixel_for_nn (opsets 11-12)
/// leaves axes with scale 1 untouched, as onnxruntime does. Resize-10 and Upsample use the asymmetric transform and,
/// for nearest, onnxruntime's rule for those opsets.
public struct Resize: OpAttributes {
    /// Nearest sampling only moves values: any float type as it is. The interpolating modes compute in float32.
    public var computeFloatTypes: Set<DType> { mode == .nearest ? .anyFloat : [.float32] }
    public enum Mode: String, Sendable { case nearest, linear, cubic }
    public enum CoordinateTransform: String, Sendable {
        case halfPixel = "half_pixel", halfPixelSymmetric = "half_pixel_symmetric"
        case pytorchHalfPixel = "pytorch_half_pixel", alignCorners = "align_corners", asymmetric
        case tfCropAndResize = "tf_crop_and_resize", tfHalfPixelForNN = "tf_half_pixel_for_nn"
    }
    public enum NearestMode: String, Sendable {
        case roundPreferFloor = "round_prefer_floor", roundPreferCeil = "round_prefer_ceil", floor, ceil
        /// Upsample and Resize-10, which predate nearest_mode: truncate when upsampling, round up when downsampling.
        case legacy
    }
    public enum AspectRatioPolicy: String, Sendable { case stretch, notLarger = "not_larger", notSmaller = "not_smaller" }

    public var opName: String
    public var mode: Mode = .nearest
    public var coordinateTransform: CoordinateTransform = .halfPixel
    public var nearestMode: NearestMode = .roundPreferFloor
    public var cubicCoeffA: Double = -0.75
    /// Taps outside the input get weight 0 and the rest are renormalised (linear and cubic only).
    public var excludeOutside = false
    public var extrapolationValue: Float = 0
    /// Widen linear/cubic filters by 1/scale when downsampling.
    public var antialias = false
    /// The axes that roi, scales and sizes describe (opset 18); nil means all.
    public var axes: [Int]? = nil
    public var aspectRatioPolicy: AspectRatioPolicy = .stretch
    /// Upsample: scales below 1 are invalid.
    public var upsampleOnly = false

    public init(opName: String = "Resize") { self.opName = opName }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X")
        if mode == .nearest {
            guard x.type.dtype != .string else { throw DLInferError.unsupported("X has element type string") }
        } else {
            try requireDType(x.type.dtype, [.float32], "X (\(mode.rawValue) mode)")
        }
        if coordinateTransform == .tfCropAndResize {
            try requireDType(x.type.dtype, [.float32], "X (tf_crop_and_resize)")
            if let roi = inputs.optional(1) { try requireDType(roi.type.dtype, [.float32, .float64], "roi") }
        }
        if let s = inputs.optional(2) { try requireDType(s.type.dtype, [.float32], "scales") }
        if let s = inputs.optional(3) { try requireDType(s.type.dtype, [.int64], "sizes") }
        for (i, role) in [(1, "roi"), (2, "scales"), (3, "sizes")] {
            if let r = inputs.optional(i)?.type.rank, r != 1 { throw DLInferError.shape("\(role) must be 1-D, got rank \(r)") }
        }
        guard let shape = x.type.shape else { return [ValueType(x.type.dtype, nil)] }
        guard let target = try target(rank: shape.count, scales: given(inputs.optional(2)), sizes: given(inputs.optional(3))) else {
            return [ValueType(x.type.dtype, shape.map { _ in .unknown })]
        }
        return [ValueType(x.type.dtype, try outputDims(shape, target))]
    }

    /// What one run samples: per axis the output length, the scale of the coordinate transform, the fractional
    /// output length `scale * input`, and the crop box (normalised; only tf_crop_and_resize reads it).
    public struct Geometry: Sendable {
        public var outputShape: [Int]
        public var scales: [Double]
        /// The scales in single precision as onnxruntime computes them (`Float(out) / Float(in)` for sizes).
        public var singleScales: [Float]
        public var fractionalLengths: [Double]
        public var roi: [(start: Double, end: Double)]
    }

    public func geometry(inputShape: [Int], roi: Tensor?, scales: Tensor?, sizes: Tensor?) throws -> Geometry {
        let rank = inputShape.count
        func given(_ t: Tensor?) -> Given { t.map { $0.count == 0 ? .absent : .value($0) } ?? .absent }
        guard let target = try target(rank: rank, scales: given(scales), sizes: given(sizes)) else {
            throw DLInferError(.internal, "scales/sizes unresolved at run time")
        }
        let out = try outputDims(inputShape.map { .fixed($0) }, target).map { $0.value! }
        var factors = [Double](repeating: 1, count: rank)
        var singles = [Float](repeating: 1, count: rank)
        switch target {
        case .scales(let s):
            factors = s
            singles = s.map { Float($0) }
        case .sizes(let sizes):
            for i in 0..<rank where inputShape[i] > 0 {
                factors[i] = Double(out[i]) / Double(inputShape[i])
                singles[i] = Float(out[i]) / Float(inputShape[i])
            }
            if aspectRatioPolicy != .stretch, let s = policyScale(inputShape.map { .fixed($0) }, target) {
                let axes = try resizedAxes(rank)
                let ratios = axes.filter { inputShape[$0] > 0 }.map { Float(sizes[$0]!) / Float(inputShape[$0]) }
                let single = (aspectRatioPolicy == .notLarger ? ratios.min() : ratios.max()) ?? 1
                for i in axes { factors[i] = s; singles[i] = single }
            }
        }
        var box = [(start: Double, end: Double)](repeating: (0, 1), count: rank)
        if coordinateTransform == .tfCropAndResize {
            let axes = try resizedAxes(rank)
            guard let roi, roi.count > 0, let v = roi.doubleValues() else {
                throw DLInferError.model("tf_crop_and_resize needs the roi input")
            }
            guard v.count == 2 * axes.count else {
                throw DLInferError.shape("roi has \(v.count) values; \(2 * axes.count) expected (start and end per resized axis)")
            }
            for (k, a) in axes.enumerated() { box[a] = (v[k], v[axes.count + k]) }
        }
        return Geometry(outputShape: out, scales: factors, singleScales: singles,
                        fractionalLengths: (0..<rank).map { factors[$0] * Double(inputShape[$0]) }, roi: box)
    }

    /// How one axis is resampled: output index `o` is the sum over `k < taps` of
    /// `weights[o * taps + k] * input[indices[o * taps + k]]`, or `extrapolationValue` where `extrapolated[o]`.
    public struct AxisSampling: Sendable {
        public var taps: Int
        public var indices: [Int]
        public var weights: [Float]
        /// Empty unless tf_crop_and_resize samples outside the input.
        public var extrapolated: [Bool]
        /// Output index `o` is input index `o` for every `o`: the axis needs no work.
        public var isIdentity: Bool
    }

    public func sampling(axis a: Int, inputLength n: Int, geometry g: Geometry) -> AxisSampling {
        let m = g.outputShape[a], scale = g.scales[a]
        guard m > 0 else { return AxisSampling(taps: 1, indices: [], weights: [], extrapolated: [], isIdentity: n == 0) }
        var support = 0.0, filterScale = 1.0
        switch mode {
        case .nearest: break
        case .linear: support = 1
        case .cubic: support = 2
        }
        if antialias && scale < 1 { filterScale = scale }
        // Taps sit at floor(c) - half + 1 ... floor(c) + half; those past the filter's support get weight 0.
        let half = mode == .nearest ? 0 : Int((support / filterScale).rounded(.up))
        let taps = mode == .nearest ? 1 : 2 * half
        var s = AxisSampling(taps: taps, indices: [], weights: [], extrapolated: [], isIdentity: m == n)
        s.indices.reserveCapacity(m * taps)
        s.weights.reserveCapacity(m * taps)
        var w = [Double](repeating: 0, count: taps)
        for o in 0..<m {
            let c = mode == .nearest
                ? nearestCoordinate(o, inputLength: n, outputLength: m, scale: g.singleScales[a], roi: g.roi[a])
                : sourceCoordinate(o, inputLength: n, outputLength: m, scale: scale, fractionalLength: g.fractionalLengths[a], roi: g.roi[a])
            if coordinateTransform == .tfCropAndResize && !(c >= 0 && c <= Double(n - 1)) {
                if s.extrapolated.isEmpty { s.extrapolated = [Bool](repeating: false, count: m) }
                s.extrapolated[o] = true
                s.isIdentity = false
                s.indices.append(contentsOf: repeatElement(0, count: taps))
                s.weights.append(contentsOf: repeatElement(0, count: taps))
                continue
            }
            if mode == .nearest {
                let i = Swift.min(Swift.max(nearestIndex(c, scale: scale), 0), n - 1)
                if i != o { s.isIdentity = false }
                s.indices.append(i)
                s.weights.append(1)
                continue
            }
            let first = Int(c.rounded(.down)) - half + 1
            var total = 0.0
            for k in 0..<taps {
                let i = first + k
                w[k] = filter((Double(i) - c) * filterScale)
                if excludeOutside && (i < 0 || i >= n) { w[k] = 0 }
                total += w[k]
            }
            let normalise = (antialias || excludeOutside) && total != 0
            for k in 0..<taps {
                let i = Swift.min(Swift.max(first + k, 0), n - 1)
                let wk = normalise ? w[k] / total : w[k]
                if wk != 0 && (i != o || wk != 1) { s.isIdentity = false }
                s.indices.append(i)
                s.weights.append(Float(wk))
            }
        }
        return s
    }

    /// The input coordinate sampled by output index `x` (ONNX's coordinate_transformation_mode).
    public func sourceCoordinate(_ x: Int, inputLength n: Int, outputLength m: Int, scale: Double,
                                 fractionalLength len: Double, roi: (start: Double, end: Double)) -> Double {
        let x = Double(x), n = Double(n)
        switch coordinateTransform {
        case .halfPixel: return (x + 0.5) / scale - 0.5
        case .halfPixelSymmetric:
            let offset = n / 2 * (1 - Double(m) / len)
            return offset + (x + 0.5) / scale - 0.5
        case .pytorchHalfPixel: return m > 1 ? (x + 0.5) / scale - 0.5 : 0
        case .alignCorners: return m > 1 ? x * (n - 1) / (len - 1) : 0
        case .asymmetric: return x / scale
        case .tfHalfPixelForNN: return scale == 1 ? x : (x + 0.5) / scale
        case .tfCropAndResize:
            if m > 1 { return roi.start * (n - 1) + x * (roi.end - roi.start) * (n - 1) / (len - 1) }
            return 0.5 * (roi.start + roi.end) * (n - 1)
        }
    }

    /// The nearest-mode coordinate in single precision, as onnxruntime computes it. Which pixel wins a near-tie
    /// (6 / 0.6, where 0.6 is not representable) depends on the precision: this matches onnxruntime, which users
    /// compare with, and agrees with every ONNX nearest test. The output length here is the integer one.
    public func nearestCoordinate(_ x: Int, inputLength n: Int, outputLength m: Int, scale: Float,
                                  roi: (start: Double, end: Double)) -> Double {
        let x = Float(x), n = Float(n), m = Float(m)
        switch coordinateTransform {
        case .halfPixel: return Double((x + 0.5) / scale - 0.5)
        case .halfPixelSymmetric:
            let offset = n / 2 * (1 - m / (scale * n))
            return Double(Float(Double(offset) + (Double(x) + 0.5) / Double(scale) - 0.5))
        case .pytorchHalfPixel: return m > 1 ? Double((x + 0.5) / scale - 0.5) : 0
        case .alignCorners: return m > 1 ? Double(x * (n - 1) / (m - 1)) : 0
        case .asymmetric: return Double(x / scale)
        case .tfHalfPixelForNN: return scale == 1 ? Double(x) : Double((x + 0.5) / scale)
        case .tfCropAndResize:
            let start = Float(roi.start), end = Float(roi.end)
            if m > 1 { return Double(start * (n - 1) + x * (end - start) * (n - 1) / (m - 1)) }
            return Double(Float(0.5 * Double(start + end) * Double(n - 1)))
        }
    }

    func nearestIndex(_ c: Double, scale: Double) -> Int {
        let f = c.rounded(.down), t = c - f
        switch nearestMode {
        case .legacy: return scale < 1 ? Int(c.rounded(.up)) : Int(c.rounded(.towardZero))
        case .floor: return Int(f)
        case .ceil: return Int(c.rounded(.up))
        case .roundPreferFloor: return Int(t <= 0.5 ? f : f + 1)
        case .roundPreferCeil: return Int(t < 0.5 ? f : f + 1)
        }
    }

    /// The interpolation kernel at distance `d` (in input pixels, already scaled for antialiasing).
    func filter(_ d: Double) -> Double {
        let d = abs(d)
        switch mode {
        case .nearest: return d == 0 ? 1 : 0
        case .linear: return Swift.max(0, 1 - d)
        case .cubic:
            let a = cubicCoeffA
            if d <= 1 { return ((a + 2) * d - (a + 3)) * d * d + 1 }
            if d < 2 { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a }
            return 0
        }
    }

    // MARK: scales and sizes

    /// Scales or sizes for every axis (1 / nil on axes that are not resized).
    enum Target {
        case scales([Double])
        case sizes([Int?])
    }

    /// A scales/sizes input as far as it is known: absent (omitted or empty), known, or known only at run time.
    enum Given {
        case absent, value(Tensor), dynamic
    }

    func given(_ t: TypedInput?) -> Given {
        guard let t else { return .absent }
        if let v = t.value { return v.count == 0 ? .absent : .value(v) }
        if let s = t.type.fixedShape, s.elementCount == 0 { return .absent }
        return .dynamic
    }

    func resizedAxes(_ rank: Int) throws -> [Int] {
        try axes.map { try uniqueAxes($0, rank: rank, "axes") } ?? Array(0..<rank)
    }

    /// nil when scales or sizes are only known at run time.
    func target(rank: Int, scales: Given, sizes: Given) throws -> Target? {
        let axes = try resizedAxes(rank)
        switch (scales, sizes) {
        case (.dynamic, _), (_, .dynamic): return nil
        case (.absent, .absent): throw DLInferError.model("one of scales and sizes must be given")
        case (.value, .value): throw DLInferError.model("scales and sizes are both given; only one may be")
        case (.value(let t), .absent):
            guard let v = t.doubleValues(), t.dtype == .float32 else { throw DLInferError.model("scales must be float32") }
            guard v.count == axes.count else {
                throw DLInferError.shape("scales has \(v.count) values; \(axes.count) expected (one per resized axis)")
            }
            var full = [Double](repeating: 1, count: rank)
            for (k, a) in axes.enumerated() {
                guard v[k] > 0, v[k].isFinite else { throw DLInferError.model("scale \(v[k]) is not a positive number") }
                if upsampleOnly && v[k] < 1 { throw DLInferError.model("Upsample scale \(v[k]) is below 1") }
                full[a] = v[k]
            }
            return .scales(full)
        case (.absent, .value(let t)):
            guard let v = t.intValues(), t.dtype == .int64 else { throw DLInferError.model("sizes must be int64") }
            guard v.count == axes.count else {
                throw DLInferError.shape("sizes has \(v.count) values; \(axes.count) expected (one per resized axis)")
            }
            var full = [Int?](repeating: nil, count: rank)
            for (k, a) in axes.enumerated() {
                guard v[k] >= 0, v[k] < 1 << 40 else { throw DLInferError.model("size \(v[k]) is not a valid length") }
                full[a] = v[k]
            }
            return .sizes(full)
        }
    }

    /// The scale keep_aspect_ratio_policy applies to every resized axis; nil while an input length is symbolic.
    func policyScale(_ shape: [Dim], _ target: Target) -> Double? {
        guard case .sizes(let sizes) = target else { return nil }
        var ratios = [Double]()
        for (i, size) in sizes.enumerated() {
            guard let size else { continue }
            guard let n = shape[i].value else { return nil }
            if n > 0 { ratios.append(Double(size) / Double(n)) }
        }
        guard !ratios.isEmpty else { return 1 }
        return aspectRatioPolicy == .notLarger ? ratios.min()! : ratios.max()!
    }

    func outputDims(_ shape: [Dim], _ target: Target) throws -> [Dim] {
        var out = shape
        switch target {
        case .scales(let scales):
            for (i, s) in scales.enumerated() where s != 1 {
                guard let n = shape[i].value else { out[i] = .unknown; continue }
                out[i] = .fixed(try length(s * Double(n), axis: i))
            }
        case .sizes(let sizes):
            let policy = aspectRatioPolicy == .stretch ? nil : policyScale(shape, target)
            for (i, size) in sizes.enumerated() {
                guard let size else { continue }
                if aspectRatioPolicy == .stretch {
                    if let n = shape[i].value, n == 0, size != 0 {
                        throw DLInferError.shape("axis \(i) is empty and cannot be resized to \(size)")
                    }
                    out[i] = .fixed(size)
                } else if let policy, let n = shape[i].value {
                    out[i] = .fixed(try length(policy * Double(n) + 0.5, axis: i))
                } else {
                    out[i] = .unknown
                }
            }
        }
        return out
    }

    /// floor(v) as an output length, refusing lengths no tensor could have.
    func length(_ v: Double, axis: Int) throws -> Int {
        guard v < Double(1 << 40) else { throw DLInferError.shape("axis \(axis) would be resized to \(v) elements") }
        return Int(v.rounded(.down))
    }
}
