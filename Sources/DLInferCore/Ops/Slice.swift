/// Slice (opset 10+ inputs: data, starts, ends, axes?, steps?; opsets 7-9 give starts/ends/axes as attributes, which
/// the importer turns into constant inputs). Negative starts/ends count from the end; out-of-range values are clamped
/// as the spec says; steps may be negative; omitted axes are 0..<count and omitted steps are 1.
public struct Slice: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public init() {}
    public var opName: String { "Slice" }

    static let indexTypes: [DType] = [.int32, .int64]

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "data")
        let starts = try inputs.required(1, "starts").intVector("starts", Slice.indexTypes)
        let ends = try inputs.required(2, "ends").intVector("ends", Slice.indexTypes)
        let axesInput = inputs.optional(3), stepsInput = inputs.optional(4)
        let axes = try axesInput?.intVector("axes", Slice.indexTypes)
        let steps = try stepsInput?.intVector("steps", Slice.indexTypes)
        guard let shape = x.type.shape else { return [ValueType(x.type.dtype, nil)] }
        // A parameter given but not constant: the rank is all that is known.
        guard let starts, let ends, axesInput == nil || axes != nil, stepsInput == nil || steps != nil else {
            return [ValueType(x.type.dtype, try unknownDims(shape.count))]
        }
        let ranges = try Slice.ranges(rank: shape.count, starts: starts, ends: ends, axes: axes, steps: steps)
        return [ValueType(x.type.dtype, zip(shape, ranges).map { dim, r in
            guard let r else { return dim }
            guard let n = dim.value else {
                // Only "everything" keeps a symbolic dim.
                return r.start == 0 && r.step == 1 && r.end >= Int(Int32.max) ? dim : .unknown
            }
            return .fixed(Slice.resolve(r, dim: n).count)
        })]
    }

    /// The requested range on one axis, before it is fitted to the axis size.
    public struct Range: Sendable { public var start, end, step: Int }

    /// Per input axis, the requested range (nil where the axis is not sliced), after checking the parameters.
    public static func ranges(rank: Int, starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?) throws -> [Range?] {
        let n = starts.count
        guard ends.count == n, axes?.count ?? n == n, steps?.count ?? n == n else {
            throw DLInferError.model("starts, ends, axes and steps have different lengths: \(starts.count), \(ends.count), \(axes?.count ?? n), \(steps?.count ?? n)")
        }
        let axisList = axes ?? Array(0..<n)
        _ = try normalizedAxes(axisList, rank: rank)
        var out = [Range?](repeating: nil, count: rank)
        for i in 0..<n {
            let step = steps?[i] ?? 1
            guard step != 0 else { throw DLInferError.model("steps must not be 0") }
            out[axisList[i] < 0 ? axisList[i] + rank : axisList[i]] = Range(start: starts[i], end: ends[i], step: step)
        }
        return out
    }

    /// The first index and element count a range selects on an axis of size `dim`, clamped per the spec: for a
    /// positive step, start and end into [0, dim]; for a negative one, start into [0, dim-1] and end into [-1, dim-1].
    public static func resolve(_ r: Range, dim: Int) -> (start: Int, count: Int) {
        func wrap(_ v: Int) -> Int { v < 0 ? v &+ dim : v }
        var start = wrap(r.start), end = wrap(r.end)
        if r.step > 0 {
            start = Swift.min(Swift.max(start, 0), dim)
            end = Swift.min(Swift.max(end, 0), dim)
            return (start, end > start ? (end - start - 1) / r.step + 1 : 0)
        }
        guard dim > 0 else { return (0, 0) }
        start = Swift.min(Swift.max(start, 0), dim - 1)
        end = Swift.min(Swift.max(end, -1), dim - 1)
        let magnitude = r.step == Int.min ? Int.max : -r.step
        return (start, start > end ? (start - end - 1) / magnitude + 1 : 0)
    }
}
