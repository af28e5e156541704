/// ConstantOfShape: a tensor of the shape given by the int64 input, every element `value` (a one-element tensor whose
/// element type becomes the output's; float32 0 by default). An empty shape gives a scalar.
public struct ConstantOfShape: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var value: Tensor
    public init(value: Tensor = .scalar(Float(0))) { self.value = value }
    public var opName: String { "ConstantOfShape" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let s = try inputs.required(0, "input")
        guard value.count == 1 else { throw DLInferError.model("value must have exactly one element, has \(value.count)") }
        try requireDType(value.dtype, Cast.dtypes, "value")
        guard let dims = try s.intVector("input") else {
            return [ValueType(value.dtype, try s.vectorLength.map { try unknownDims($0) })]
        }
        return [ValueType(value.dtype, fixed: try checkedShape(dims))]
    }
}

/// Expand: broadcasts the input to the int64 `shape` in both directions (numpy rules), so the output may be larger
/// than the shape asked for (a dim of 1 in `shape` keeps the input's dim).
public struct Expand: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public init() {}
    public var opName: String { "Expand" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input"), s = try inputs.required(1, "shape")
        let dtype = x.type.dtype
        let dims = try s.intVector("shape")
        guard let shape = x.type.shape else { return [ValueType(dtype, nil)] }
        guard let dims else {
            guard let n = s.vectorLength else { return [ValueType(dtype, nil)] }
            // Where the input's dim is not 1, the output's is that dim.
            let rank = Swift.max(n, shape.count)
            guard rank <= maxRank else { throw DLInferError.shape("a shape of \(rank) dims exceeds the maximum rank \(maxRank)") }
            let padded = [Dim](repeating: .fixed(1), count: rank - shape.count) + shape
            return [ValueType(dtype, padded.map { $0 == .fixed(1) ? .unknown : $0 })]
        }
        return [ValueType(dtype, try broadcastShapes([shape, try checkedShape(dims).map { .fixed($0) }]))]
    }
}

/// A shape from a tensor's values, which must be non-negative with a product that fits in an Int.
func checkedShape(_ dims: [Int]) throws -> [Int] {
    guard dims.count <= maxRank else { throw DLInferError.shape("a shape of \(dims.count) dims exceeds the maximum rank \(maxRank)") }
    guard dims.allSatisfy({ $0 >= 0 }) else { throw DLInferError.shape("shape \(dims) has a negative dim") }
    var product = 1, overflow = false
    for d in dims where !overflow { (product, overflow) = product.multipliedReportingOverflow(by: d) }
    guard !overflow else { throw DLInferError.shape("shape \(dims) has too many elements") }
    return dims
}
