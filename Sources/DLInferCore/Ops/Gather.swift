/// Gather: picks entries of `data` along `axis` by `indices` (int32/int64, negative counts from the end). The output
/// shape is data[..<axis] + indices + data[axis+1...], so scalar indices drop the axis. An index out of range is an
/// error (at load when the indices are constants, else at run time), never an out-of-bounds read.
public struct Gather: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var axis: Int
    public init(axis: Int = 0) { self.axis = axis }
    public var opName: String { "Gather" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let data = try inputs.required(0, "data"), indices = try inputs.required(1, "indices")
        try requireDType(indices.type.dtype, [.int32, .int64], "indices")
        guard let shape = data.type.shape, let ishape = indices.type.shape else { return [ValueType(data.type.dtype, nil)] }
        guard !shape.isEmpty else { throw DLInferError.shape("data must have rank 1 or more") }
        let a = try normalizeAxis(axis, rank: shape.count)
        if let n = shape[a].value, let v = indices.value { _ = try Gather.normalizedIndices(v, axisSize: n) }
        return [ValueType(data.type.dtype, Array(shape[..<a]) + ishape + Array(shape[(a + 1)...]))]
    }

    /// The indices as non-negative positions, or an error naming the first one out of [-n, n).
    public static func normalizedIndices(_ t: Tensor, axisSize n: Int) throws -> [Int] {
        guard let raw = t.intValues() else { throw DLInferError.model("indices must be int32 or int64, got \(t.dtype)") }
        return try raw.map { i in
            guard i >= -n, i < n else { throw DLInferError.invalid("index \(i) is out of range for an axis of size \(n)") }
            return i < 0 ? i + n : i
        }
    }
}
