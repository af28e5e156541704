// Ops that move elements into a new layout without computing on them: Tile, DepthToSpace/SpaceToDepth, Trilu,
// ReverseSequence, CenterCropPad; and Size, which reads only the shape. All work on any element type.

/// Tile: the input repeated `repeats[d]` times along each axis d (`repeats`: int64, one non-negative value per axis).
public struct Tile: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public init() {}
    public var opName: String { "Tile" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input"), r = try inputs.required(1, "repeats")
        guard x.type.dtype != .string else { throw DLInferError.unsupported("input has element type string") }
        let repeats = try r.intVector("repeats")
        guard let shape = x.type.shape else { return [ValueType(x.type.dtype, nil)] }
        guard let repeats else { return [ValueType(x.type.dtype, shape.map { _ in .unknown })] }
        try Tile.check(repeats, rank: shape.count)
        let out = zip(shape, repeats).map { d, n in n == 1 ? d : dimMap(d) { $0 * n } }
        _ = try checkedShape(out.compactMap(\.value))
        return [ValueType(x.type.dtype, out)]
    }

    public static func check(_ repeats: [Int], rank: Int) throws {
        guard repeats.count == rank else { throw DLInferError.shape("repeats has \(repeats.count) values for an input of rank \(rank)") }
        if let bad = repeats.first(where: { $0 < 0 }) { throw DLInferError.invalid("repeats must not be negative, got \(bad)") }
    }
}

/// DepthToSpace and SpaceToDepth on NCHW inputs with blocks of `blocksize` x `blocksize`:
/// DepthToSpace [N, C, H, W] -> [N, C/b², H*b, W*b] (C divisible by b²), SpaceToDepth [N, C, H, W] -> [N, C*b², H/b, W/b]
/// (H and W divisible by b). In `DCR` mode (the default) the depth index is (row offset, column offset, channel),
/// in `CRD` mode (DepthToSpace from opset 11, SpaceToDepth from opset 28) it is (channel, row offset, column offset).
/// SpaceToDepth is the exact inverse of DepthToSpace in the same mode.
public struct SpaceDepth: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public enum Direction: String, Sendable { case depthToSpace = "DepthToSpace", spaceToDepth = "SpaceToDepth" }
    public enum Mode: String, Sendable { case dcr = "DCR", crd = "CRD" }
    public var direction: Direction
    public var blocksize: Int
    public var mode: Mode
    public init(_ direction: Direction, blocksize: Int, mode: Mode = .dcr) {
        self.direction = direction; self.blocksize = blocksize; self.mode = mode
    }
    public var opName: String { direction.rawValue }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        guard x.type.dtype != .string else { throw DLInferError.unsupported("input has element type string") }
        guard blocksize >= 1 else { throw DLInferError.model("blocksize must be at least 1, got \(blocksize)") }
        guard let s = x.type.shape else { return [ValueType(x.type.dtype, [.unknown, .unknown, .unknown, .unknown])] }
        guard s.count == 4 else { throw DLInferError.shape("input must have rank 4 (NCHW), got \(x.type)") }
        let b = blocksize, bb = b * b
        switch direction {
        case .depthToSpace:
            if let c = s[1].value, c % bb != 0 { throw DLInferError.shape("channels \(c) are not a multiple of blocksize² = \(bb)") }
            return [ValueType(x.type.dtype, [s[0], dimMap(s[1]) { $0 / bb }, dimMap(s[2]) { $0 * b }, dimMap(s[3]) { $0 * b }])]
        case .spaceToDepth:
            for d in [2, 3] {
                if let v = s[d].value, v % b != 0 { throw DLInferError.shape("dim \(d) (\(v)) is not a multiple of blocksize \(b)") }
            }
            return [ValueType(x.type.dtype, [s[0], dimMap(s[1]) { $0 * bb }, dimMap(s[2]) { $0 / b }, dimMap(s[3]) { $0 / b }])]
        }
    }

    /// The move as a 6-D transpose: the input viewed with `shape`, and the permutation giving the output's order.
    public func transposition(_ s: [Int]) -> (shape: [Int], perm: [Int]) {
        let (n, c, h, w) = (s[0], s[1], s[2], s[3]), b = blocksize
        switch (direction, mode) {
        case (.depthToSpace, .dcr): return ([n, b, b, c / (b * b), h, w], [0, 3, 4, 1, 5, 2])
        case (.depthToSpace, .crd): return ([n, c / (b * b), b, b, h, w], [0, 1, 4, 2, 5, 3])
        case (.spaceToDepth, .dcr): return ([n, c, h / b, b, w / b, b], [0, 3, 5, 1, 2, 4])
        case (.spaceToDepth, .crd): return ([n, c, h / b, b, w / b, b], [0, 1, 3, 5, 2, 4])
        }
    }
}

/// Trilu: keeps the upper (`upper` = 1, elements with column - row >= k) or lower (column - row <= k) triangle of
/// each matrix in the last two dims and zeroes the rest; `k` is an optional int64 scalar input (default 0).
public struct Trilu: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var upper: Bool
    public init(upper: Bool = true) { self.upper = upper }
    public var opName: String { "Trilu" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        guard x.type.dtype != .string else { throw DLInferError.unsupported("input has element type string") }
        if let r = x.type.rank, r < 2 { throw DLInferError.shape("input must have rank 2 or more, got \(x.type)") }
        if let k = inputs.optional(1) {
            try requireDType(k.type.dtype, [.int64], "k")
            try requireScalar(k, "k")
        }
        return [x.type]
    }
}

/// ReverseSequence: for each batch entry b (along `batch_axis`), the first `sequence_lens[b]` entries along
/// `time_axis` are reversed and the rest copied. The axes are 0 and 1 (either way round); the input has rank 2 or
/// more; `sequence_lens` (int64, one per batch entry) must lie in [0, time steps] (onnxruntime's check).
public struct ReverseSequence: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var batchAxis: Int
    public var timeAxis: Int
    public init(batchAxis: Int = 1, timeAxis: Int = 0) { self.batchAxis = batchAxis; self.timeAxis = timeAxis }
    public var opName: String { "ReverseSequence" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input"), lens = try inputs.required(1, "sequence_lens")
        guard x.type.dtype != .string else { throw DLInferError.unsupported("input has element type string") }
        try requireDType(lens.type.dtype, [.int64], "sequence_lens")
        guard Set([batchAxis, timeAxis]) == [0, 1] else {
            throw DLInferError.model("batch_axis (\(batchAxis)) and time_axis (\(timeAxis)) must be 0 and 1")
        }
        if let r = x.type.rank, r < 2 { throw DLInferError.shape("input must have rank 2 or more, got \(x.type)") }
        if let l = lens.type.shape {
            guard l.count == 1 else { throw DLInferError.shape("sequence_lens must be 1-D, got \(lens.type)") }
            if let n = l[0].value, let b = x.type.shape?[batchAxis].value, n != b {
                throw DLInferError.shape("sequence_lens has \(n) entries for a batch of \(b)")
            }
        }
        return [x.type]
    }
}

/// CenterCropPad: each axis in `axes` (default all; negative counts from the back; no repeats) is cropped or padded
/// with zeros to the length in the `shape` input (int32/int64, one non-negative value per axis), keeping the centre:
/// an odd difference crops one more element from the end, or pads one more at the end. Crop and pad are a Pad with
/// negative or positive widths: `padWidths` gives them.
public struct CenterCropPad: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var axes: [Int]?
    public init(axes: [Int]? = nil) { self.axes = axes }
    public var opName: String { "CenterCropPad" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input_data"), s = try inputs.required(1, "shape")
        guard x.type.dtype != .string else { throw DLInferError.unsupported("input_data has element type string") }
        let target = try s.intVector("shape", [.int32, .int64])
        guard let shape = x.type.shape else { return [ValueType(x.type.dtype, nil)] }
        let ax = try normalizedAxes(rank: shape.count)
        if let n = s.vectorLength, n != ax.count { throw DLInferError.shape("shape has \(n) values for \(ax.count) axes") }
        if let target { _ = try padWidths(shape.map { $0.value ?? 0 }, target) }
        var out = shape
        for (k, a) in ax.enumerated() { out[a] = target.map { .fixed($0[k]) } ?? .unknown }
        return [ValueType(x.type.dtype, out)]
    }

    public func normalizedAxes(rank: Int) throws -> [Int] {
        try axes.map { try uniqueAxes($0, rank: rank, "axes") } ?? Array(0..<rank)
    }

    /// Pad's (begin, end) widths per axis of an input of `shape` for the target lengths (negative widths crop).
    public func padWidths(_ shape: [Int], _ target: [Int]) throws -> [(begin: Int, end: Int)] {
        let ax = try normalizedAxes(rank: shape.count)
        guard target.count == ax.count else { throw DLInferError.shape("shape has \(target.count) values for \(ax.count) axes") }
        var widths = [(begin: Int, end: Int)](repeating: (0, 0), count: shape.count)
        for (k, a) in ax.enumerated() {
            let t = target[k]
            guard t >= 0, t < 1 << 40 else { throw DLInferError.invalid("target length \(t) for axis \(a) is not valid") }
            let d = t - shape[a], half = abs(d) / 2
            widths[a] = d >= 0 ? (half, d - half) : (-half, d + half)
        }
        return widths
    }
}

/// Size: the number of elements of the input, as an int64 scalar. It depends only on the shape, so it is folded to a
/// constant wherever the shape is known (like Shape).
public struct SizeOf: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public init() {}
    public var opName: String { "Size" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        _ = try inputs.required(0, "data")
        return [ValueType(.int64, fixed: [])]
    }

    public func evaluate(inputShape: [Int]) -> Tensor { .scalar(Int64(inputShape.elementCount)) }
}
