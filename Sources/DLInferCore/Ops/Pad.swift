/// Pad: grows (or, with negative pads, crops) every axis of a tensor of any rank and element type.
///
/// Inputs: data, pads (int64 `[b1, ..., bk, e1, ..., ek]`), optional constant_value (a scalar of data's type, default 0),
/// optional axes (opset 18; int32/int64, negative counts from the back) naming the k padded axes (default: all).
/// Opsets < 11 carry pads and the fill value as attributes: the importer turns pads into input 1 and keeps the value here.
/// Negative pads remove elements first; `reflect`, `edge` and `wrap` then read from what remains. Reflection and
/// wrapping repeat as often as needed when a pad is longer than the axis (numpy's `np.pad`).
public struct Pad: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public enum Mode: String, Sendable { case constant, reflect, edge, wrap }
    public var mode: Mode
    /// The fill value when constant_value (input 2) is absent: the `value` attribute before opset 11, else 0.
    public var value: Double

    public init(mode: Mode, value: Double = 0) { self.mode = mode; self.value = value }

    public var opName: String { "Pad" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "data")
        guard x.type.dtype != .string else { throw DLInferError.unsupported("data has element type string") }
        let pads = try inputs.required(1, "pads")
        try requireDType(pads.type.dtype, [.int64], "pads")
        if let r = pads.type.rank, r != 1 { throw DLInferError.shape("pads must be 1-D, got rank \(r)") }
        if let v = inputs.optional(2) {
            guard v.type.dtype == x.type.dtype else {
                throw DLInferError.model("constant_value has element type \(v.type.dtype), data has \(x.type.dtype)")
            }
            if let s = v.type.fixedShape, s.elementCount != 1 { throw DLInferError.shape("constant_value must be a scalar, got shape \(s)") }
        }
        let axes = inputs.optional(3)
        if let a = axes {
            try requireDType(a.type.dtype, [.int32, .int64], "axes")
            if let r = a.type.rank, r != 1 { throw DLInferError.shape("axes must be 1-D, got rank \(r)") }
        }
        guard let shape = x.type.shape else { return [ValueType(x.type.dtype, nil)] }
        guard let padValues = pads.value?.intValues(), axes == nil || axes!.value != nil else {
            return [ValueType(x.type.dtype, shape.map { _ in .unknown })]
        }
        let widths = try perAxis(rank: shape.count, pads: padValues, axes: axes?.value?.intValues())
        var out = [Dim]()
        for (i, d) in shape.enumerated() {
            if widths[i] == (0, 0) { out.append(d); continue }
            guard let n = d.value else { out.append(.unknown); continue }
            out.append(.fixed(try outputLength(n, widths[i], axis: i)))
        }
        return [ValueType(x.type.dtype, out)]
    }

    /// (begin, end) for every axis of a tensor of rank `rank`.
    public func perAxis(rank: Int, pads: [Int], axes: [Int]?) throws -> [(begin: Int, end: Int)] {
        let padded = try axes.map { try uniqueAxes($0, rank: rank, "axes") } ?? Array(0..<rank)
        guard pads.count == 2 * padded.count else {
            throw DLInferError.shape("pads has \(pads.count) values; \(2 * padded.count) expected (two per padded axis)")
        }
        if let bad = pads.first(where: { abs($0) >= 1 << 40 }) { throw DLInferError.shape("pad \(bad) is not a valid length") }
        var widths = [(begin: Int, end: Int)](repeating: (0, 0), count: rank)
        for (k, a) in padded.enumerated() { widths[a] = (pads[k], pads[padded.count + k]) }
        return widths
    }

    /// The padded length of an axis of length `n`, after checking that the pads make sense for it.
    public func outputLength(_ n: Int, _ w: (begin: Int, end: Int), axis: Int) throws -> Int {
        let kept = n + Swift.min(w.begin, 0) + Swift.min(w.end, 0)
        guard kept >= 0 else {
            throw DLInferError.shape("pads (\(w.begin), \(w.end)) crop more than the \(n) elements of axis \(axis)")
        }
        if mode != .constant, kept == 0, w.begin > 0 || w.end > 0 {
            throw DLInferError.shape("\(mode.rawValue) padding of axis \(axis) needs at least one element to copy from, it has none")
        }
        return kept + Swift.max(w.begin, 0) + Swift.max(w.end, 0)
    }

    /// The source index for output index `i` of an axis whose kept part starts at input index `start` and has
    /// `kept` elements, `lead` positions in; nil where the constant is written.
    @inline(__always)
    public func sourceIndex(_ i: Int, lead: Int, start: Int, kept: Int) -> Int? {
        let j = i - lead
        if j >= 0 && j < kept { return start + j }
        switch mode {
        case .constant: return nil
        case .edge: return start + (j < 0 ? 0 : kept - 1)
        case .wrap: return start + ((j % kept) + kept) % kept
        case .reflect:
            guard kept > 1 else { return start }
            let period = 2 * (kept - 1)
            let m = ((j % period) + period) % period
            return start + (m < kept ? m : period - m)
        }
    }
}
