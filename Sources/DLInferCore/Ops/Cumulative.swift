/// CumSum (opsets 11, 14) and CumProd (opset 26): running sums or products along the axis given by input 1 (an
/// int32/int64 scalar, or a one-element 1-D tensor as onnxruntime accepts; negative counts from the back).
/// `exclusive`: element i gets the combination of the elements before it (the first gets 0, or 1 for products);
/// `reverse`: the scan runs from the end. Integers wrap on overflow.
public struct Cumulative: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public enum Kind: String, Sendable { case sum = "CumSum", prod = "CumProd" }
    public var kind: Kind
    public var exclusive: Bool
    public var reverse: Bool

    public init(_ kind: Kind, exclusive: Bool = false, reverse: Bool = false) {
        self.kind = kind; self.exclusive = exclusive; self.reverse = reverse
    }

    public var opName: String { kind.rawValue }
    public static let dtypes: [DType] = [.float32, .float64, .int32, .int64, .uint32, .uint64]

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "x"), a = try inputs.required(1, "axis")
        try requireDType(x.type.dtype, Cumulative.dtypes, "x")
        try requireDType(a.type.dtype, [.int32, .int64], "axis")
        if let r = a.type.rank, r > 1 { throw DLInferError.shape("axis must be a scalar, got \(a.type)") }
        if let v = a.value, let r = x.type.rank { _ = try axis(v, rank: r) }
        return [x.type]
    }

    /// The axis from input 1's value, checked against the input's rank.
    public func axis(_ t: Tensor, rank: Int) throws -> Int {
        guard t.count == 1, t.rank <= 1, let v = t.intValues()?.first else {
            throw DLInferError.shape("axis must hold exactly one integer, got \(t)")
        }
        guard rank > 0 else { throw DLInferError.shape("\(opName) needs an input of rank 1 or more") }
        return try normalizeAxis(v, rank: rank)
    }
}
