// Helpers shared by the op families' type rules.

public extension Array where Element == TypedInput? {
    /// Input `i`, which the op requires.
    func required(_ i: Int, _ role: String) throws -> TypedInput {
        guard i < count, let v = self[i] else { throw DLInferError.model("missing required input \(i) (\(role))") }
        return v
    }
    /// Input `i` if given (optional inputs may be omitted or absent).
    func optional(_ i: Int) -> TypedInput? { i < count ? self[i] : nil }
}

/// Maps a possibly negative axis into 0..<rank, or throws naming the op's attribute.
public func normalizeAxis(_ axis: Int, rank: Int, _ what: String = "axis") throws -> Int {
    let a = axis < 0 ? axis + rank : axis
    guard a >= 0, a < Swift.max(rank, 1) || (rank == 0 && a == 0) else {
        throw DLInferError.model("\(what) \(axis) is out of range for rank \(rank)")
    }
    return a
}

/// Numpy-style (multidirectional) broadcast of several shapes.
public func broadcastShapes(_ shapes: [[Dim]]) throws -> [Dim] {
    let rank = shapes.map(\.count).max() ?? 0
    var out = [Dim](repeating: .fixed(1), count: rank)
    for s in shapes {
        let off = rank - s.count
        for (i, d) in s.enumerated() {
            let cur = out[off + i]
            switch (cur, d) {
            case (.fixed(1), _): out[off + i] = d
            case (_, .fixed(1)): break
            case (.fixed(let a), .fixed(let b)) where a != b:
                throw DLInferError.shape("shapes \(shapes.map { "[\($0.map(\.description).joined(separator: ","))]" }.joined(separator: " and ")) cannot be broadcast")
            case (.symbol, .fixed): out[off + i] = d
            default: break
            }
        }
    }
    return out
}

/// Integer broadcast for concrete shapes.
public func broadcastShapes(_ shapes: [[Int]]) throws -> [Int] {
    try broadcastShapes(shapes.map { $0.map { Dim.fixed($0) } }).map { $0.value ?? 1 }
}

public extension ValueType {
    /// The rank, or a model error if the rank is unknown where the op needs it.
    func requireRank(_ what: String) throws -> [Dim] {
        guard let shape else { throw DLInferError.shape("\(what) must have a known rank") }
        return shape
    }
}

/// Dimension arithmetic that stays symbolic when an operand is.
public func dimMap(_ d: Dim, _ f: (Int) -> Int) -> Dim {
    if case .fixed(let v) = d { return .fixed(f(v)) }
    return .unknown
}

/// Throws unless `t` is one of `allowed`, naming the input. A float32 kernel serves every float type: the
/// `ComputePrecision` pass converts float16, bfloat16 and float64 values to float32 around ops that do not compute
/// in those types themselves (`OpAttributes.computeFloatTypes`).
public func requireDType(_ t: DType, _ allowed: [DType], _ role: String) throws {
    guard allowed.contains(t) || (t.isFloatingPoint && allowed.contains(.float32)) else {
        throw DLInferError.unsupported("\(role) has element type \(t); supported: \(allowed.map(\.description).joined(separator: ", "))")
    }
}

/// The most dims a tensor may have, in the graph as at the C API: a shape vector of a million entries is an attack,
/// not a model.
public let maxRank = 64

/// `count` dims not known until run time; throws past `maxRank` (the count often comes from a declared vector length).
public func unknownDims(_ count: Int) throws -> [Dim] {
    guard count >= 0, count <= maxRank else { throw DLInferError.shape("a shape of \(count) dims exceeds the maximum rank \(maxRank)") }
    return [Dim](repeating: .unknown, count: count)
}

/// Throws unless `t` is exactly `other`, the type of the input it must match (`requireDType` would let one float
/// type stand for another).
public func requireSameDType(_ t: DType, as other: DType, _ role: String) throws {
    guard t == other else { throw DLInferError.unsupported("\(role) has element type \(t); it must match the other inputs' \(other)") }
}
