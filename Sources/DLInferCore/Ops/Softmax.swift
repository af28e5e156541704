/// Softmax and LogSoftmax on float32, numerically stable (the maximum is subtracted before exponentiating).
///
/// Opsets 1-12 coerce the input to 2-D at `axis` (default 1) and normalise each row over the flattened tail
/// `shape[axis...]`; opset 13 normalises along `axis` alone (default -1).
public struct Softmax: OpAttributes {
    public var axis: Int
    /// LogSoftmax: `x - max - log(sum(exp(x - max)))`.
    public var log: Bool
    /// The opset < 13 semantics: normalise over every dimension from `axis` on.
    public var flattenTail: Bool

    public init(axis: Int, log: Bool, flattenTail: Bool) {
        self.axis = axis; self.log = log; self.flattenTail = flattenTail
    }

    public var opName: String { log ? "LogSoftmax" : "Softmax" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        try requireDType(x.type.dtype, [.float32], "input")
        if let r = x.type.rank { _ = try normalizedAxis(rank: r) }
        return [x.type]
    }

    /// `axis` in 0..<rank, or 0...rank for the flattening form (axis == rank normalises one-element rows).
    func normalizedAxis(rank: Int) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        let upper = flattenTail ? rank : rank - 1
        guard a >= 0, a <= upper else {
            throw DLInferError.model("axis \(axis) is out of range for an input of rank \(rank)")
        }
        return a
    }

    /// The input seen as `outer` independent groups of `n` values `inner` elements apart.
    public func layout(_ shape: [Int]) throws -> (outer: Int, n: Int, inner: Int) {
        let a = try normalizedAxis(rank: shape.count)
        let outer = shape[..<a].reduce(1, *)
        if flattenTail { return (outer, shape[a...].reduce(1, *), 1) }
        return (outer, shape[a], shape[(a + 1)...].reduce(1, *))
    }
}

/// Hardmax: 1 at the first maximum of each group and 0 elsewhere, with Softmax's grouping (opsets 1-12: the
/// flattened tail from `axis`, default 1; opset 13: along `axis`, default -1). NaN counts as the largest value, so
/// the first NaN gets the 1 (numpy's argmax).
public struct Hardmax: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public var axis: Int
    public var flattenTail: Bool
    public init(axis: Int, flattenTail: Bool) { self.axis = axis; self.flattenTail = flattenTail }
    public var opName: String { "Hardmax" }
    private var grouping: Softmax { Softmax(axis: axis, log: false, flattenTail: flattenTail) }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        try requireDType(x.type.dtype, [.float32, .float64], "input")
        if let r = x.type.rank { _ = try grouping.normalizedAxis(rank: r) }
        return [x.type]
    }

    public func layout(_ shape: [Int]) throws -> (outer: Int, n: Int, inner: Int) { try grouping.layout(shape) }
}
