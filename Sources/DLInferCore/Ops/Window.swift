/// ONNX `auto_pad`: how Conv and the pools pad when `pads` is not given explicitly.
public enum AutoPad: String, Sendable, CaseIterable {
    case notSet = "NOTSET", sameUpper = "SAME_UPPER", sameLower = "SAME_LOWER", valid = "VALID"
}

/// The sliding-window geometry shared by Conv and the pools: per spatial axis the kernel size, stride, dilation and
/// padding, validated once. `resolve` turns it into output sizes and leading pads for concrete input sizes.
public struct Window: Sendable, Equatable {
    public let kernel: [Int]
    public let strides: [Int]
    public let dilations: [Int]
    /// Begins then ends, as ONNX `pads`; zeros when auto_pad decides.
    public let pads: [Int]
    public let autoPad: AutoPad
    /// Pools only: the last window may overhang the end of the padded input (but never starts in the end padding).
    public let ceilMode: Bool

    public var rank: Int { kernel.count }

    /// Bound on every kernel size, stride, dilation and pad, far above any real model's, so that window arithmetic
    /// (`(kernel - 1) * dilation + 1`, padded sizes) can never overflow.
    public static let limit = 1 << 24

    /// Fills the ONNX defaults (strides and dilations 1, pads 0) and checks every attribute against the kernel's rank.
    public init(kernel: [Int], strides: [Int]?, dilations: [Int]?, pads: [Int]?, autoPad: AutoPad, ceilMode: Bool = false) throws {
        let n = kernel.count
        func check(_ v: [Int]?, _ name: String, count: Int, min: Int) throws -> [Int]? {
            guard let v else { return nil }
            guard v.count == count else {
                throw DLInferError.model("\(name) has \(v.count) values; \(count) expected for \(n) spatial axes")
            }
            guard v.allSatisfy({ $0 >= min && $0 <= Window.limit }) else {
                throw DLInferError.model("\(name) \(v) must all be between \(min) and \(Window.limit)")
            }
            return v
        }
        guard n >= 1 else { throw DLInferError.model("the window needs at least one spatial axis") }
        guard kernel.allSatisfy({ $0 >= 1 && $0 <= Window.limit }) else {
            throw DLInferError.model("kernel_shape \(kernel) must all be between 1 and \(Window.limit)")
        }
        self.kernel = kernel
        self.strides = try check(strides, "strides", count: n, min: 1) ?? Array(repeating: 1, count: n)
        self.dilations = try check(dilations, "dilations", count: n, min: 1) ?? Array(repeating: 1, count: n)
        let p = try check(pads, "pads", count: 2 * n, min: 0) ?? Array(repeating: 0, count: 2 * n)
        // The spec forbids pads with auto_pad; exporters still write all-zero pads next to it, which is harmless.
        if autoPad != .notSet, p.contains(where: { $0 != 0 }) {
            throw DLInferError.model("pads \(p) cannot be combined with auto_pad \(autoPad.rawValue)")
        }
        self.pads = p
        self.autoPad = autoPad
        self.ceilMode = ceilMode
    }

    /// Span of one dilated kernel along axis `i`.
    public func extent(_ i: Int) -> Int { (kernel[i] - 1) * dilations[i] + 1 }

    /// Output size and leading pad along axis `i` for an input of size `input`.
    public func axis(_ i: Int, input: Int) throws -> (output: Int, padBegin: Int) {
        let s = strides[i], ext = extent(i)
        switch autoPad {
        case .notSet:
            let span = input + pads[i] + pads[rank + i] - ext
            guard span >= 0 else {
                throw DLInferError.shape("axis \(i): the window (extent \(ext)) is larger than the padded input (\(input + pads[i] + pads[rank + i]))")
            }
            var out = span / s + 1
            if ceilMode {
                out = (span + s - 1) / s + 1
                // A window that would start in the end padding is dropped (ONNX and PyTorch agree).
                if (out - 1) * s >= input + pads[i] { out -= 1 }
            }
            return (out, pads[i])
        case .valid:
            guard input >= ext else {
                throw DLInferError.shape("axis \(i): the window (extent \(ext)) is larger than the input (\(input)) with auto_pad VALID")
            }
            return ((input - ext) / s + 1, 0)
        case .sameUpper, .sameLower:
            // With auto_pad, ceil_mode gives the same sizes as floor, so it needs no case of its own.
            let out = (input + s - 1) / s
            let total = Swift.max(0, (out - 1) * s + ext - input)
            return (out, autoPad == .sameUpper ? total / 2 : total - total / 2)
        }
    }

    /// The trailing pad along axis `i` (the explicit one, or what auto_pad SAME adds after the input).
    public func padEnd(_ i: Int, input: Int) throws -> Int {
        switch autoPad {
        case .notSet: return pads[rank + i]
        case .valid: return 0
        case .sameUpper, .sameLower:
            let (out, begin) = try axis(i, input: input)
            return Swift.max(0, (out - 1) * strides[i] + extent(i) - input) - begin
        }
    }

    /// Output sizes and leading pads for concrete input spatial sizes.
    public func resolve(_ input: [Int]) throws -> (output: [Int], padBegin: [Int]) {
        var out = [Int](), pb = [Int]()
        for i in 0..<rank {
            let (o, p) = try axis(i, input: input[i])
            guard o >= 1 else { throw DLInferError.shape("axis \(i): the output would be empty") }
            out.append(o); pb.append(p)
        }
        return (out, pb)
    }

    /// Output dims for possibly symbolic input dims (symbolic in, unknown out).
    public func outputDims(_ input: [Dim]) throws -> [Dim] {
        try input.enumerated().map { i, d in
            guard let v = d.value else { return .unknown }
            let o = try axis(i, input: v).output
            guard o >= 1 else { throw DLInferError.shape("axis \(i): the output would be empty") }
            return .fixed(o)
        }
    }
}

/// Spatial dims of an N x C x D1... shape with a known rank, checking it has `spatial` of them.
func spatialDims(_ shape: [Dim], spatial: Int, _ role: String) throws -> [Dim] {
    guard shape.count == spatial + 2 else {
        throw DLInferError.shape("\(role) has rank \(shape.count); \(spatial + 2) expected (N, C and \(spatial) spatial axes)")
    }
    return Array(shape[2...])
}
