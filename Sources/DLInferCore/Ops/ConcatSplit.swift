/// Concat: joins inputs along `axis` (negative counts from the end); every other dim must agree. Inputs may be empty
/// along the axis.
public struct Concat: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var axis: Int
    public init(axis: Int) { self.axis = axis }
    public var opName: String { "Concat" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let given = inputs.compactMap { $0 }
        guard let first = given.first, given.count == inputs.count else {
            throw DLInferError.model("needs one or more inputs, none omitted")
        }
        let dtype = first.type.dtype
        guard given.allSatisfy({ $0.type.dtype == dtype }) else {
            throw DLInferError.model("inputs have different element types: \(given.map { $0.type.dtype.description })")
        }
        let shapes = given.compactMap(\.type.shape)
        guard let rank = shapes.first?.count else { return [ValueType(dtype, nil)] }
        guard rank >= 1 else { throw DLInferError.shape("cannot concatenate scalars") }
        guard shapes.allSatisfy({ $0.count == rank }) else {
            throw DLInferError.shape("inputs have different ranks: \(shapes.map(dimsText))")
        }
        let a = try normalizeAxis(axis, rank: rank)
        var out = [Dim]()
        for d in 0..<rank where d != a {
            let fixed = Set(shapes.compactMap { $0[d].value })
            guard fixed.count <= 1 else {
                throw DLInferError.shape("inputs \(shapes.map(dimsText)) differ in dim \(d), which is not the axis \(a)")
            }
            out.append(fixed.first.map { .fixed($0) } ?? shapes[0][d])
        }
        let total: Dim = shapes.count == given.count ? dimSum(shapes.map { $0[a] }) : .unknown
        out.insert(total, at: a)
        return [ValueType(dtype, out)]
    }
}

/// Split: cuts the input along `axis` into one output per node output. Sizes come from the `split` input (an attribute
/// before opset 13, converted by the importer); without it the parts are equal, or (opset 18 `num_outputs`,
/// `unevenLast`) all of ceil(dim / n) but the last, which takes what remains.
public struct Split: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var axis: Int
    public var outputs: Int
    public var unevenLast: Bool
    public init(axis: Int = 0, outputs: Int, unevenLast: Bool = false) {
        self.axis = axis; self.outputs = outputs; self.unevenLast = unevenLast
    }
    public var opName: String { "Split" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        let dtype = x.type.dtype
        guard outputs >= 1 else { throw DLInferError.model("needs at least one output") }
        let splitInput = inputs.optional(1)
        let split = try splitInput?.intVector("split")
        guard let shape = x.type.shape else { return [ValueType](repeating: ValueType(dtype, nil), count: outputs) }
        guard !shape.isEmpty else { throw DLInferError.shape("cannot split a scalar") }
        let a = try normalizeAxis(axis, rank: shape.count)
        let splitAbsent = splitInput == nil || split?.isEmpty == true || splitInput?.vectorLength == 0
        let sizes: [Dim]
        if let split, !split.isEmpty {
            sizes = try checkedSizes(split, dim: shape[a].value).map { .fixed($0) }
        } else if splitAbsent, let dim = shape[a].value {
            sizes = try self.sizes(dim: dim, split: nil).map { .fixed($0) }
        } else {
            sizes = [Dim](repeating: .unknown, count: outputs)
        }
        return sizes.map { s in
            var d = shape
            d[a] = s
            return ValueType(dtype, d)
        }
    }

    /// The size of each part for an axis of size `dim`. An empty `split` counts as none, as in onnxruntime.
    public func sizes(dim: Int, split: [Int]?) throws -> [Int] {
        if let split, !split.isEmpty { return try checkedSizes(split, dim: dim) }
        if unevenLast {
            let chunk = (dim + outputs - 1) / outputs
            let last = dim - chunk * (outputs - 1)
            guard last >= 0 else { throw DLInferError.shape("cannot split a dim of \(dim) into \(outputs) parts of \(chunk)") }
            return [Int](repeating: chunk, count: outputs - 1) + [last]
        }
        guard dim % outputs == 0 else {
            throw DLInferError.shape("cannot split a dim of \(dim) into \(outputs) equal parts")
        }
        return [Int](repeating: dim / outputs, count: outputs)
    }

    private func checkedSizes(_ split: [Int], dim: Int?) throws -> [Int] {
        guard split.count == outputs else {
            throw DLInferError.model("split \(split) has \(split.count) sizes for \(outputs) outputs")
        }
        guard split.allSatisfy({ $0 >= 0 }) else { throw DLInferError.model("split \(split) has a negative size") }
        if let dim, split.reduce(0, +) != dim {
            throw DLInferError.shape("split \(split) does not add up to the axis size \(dim)")
        }
        return split
    }
}

/// Sum of dims: fixed when all are, else unknown.
func dimSum(_ dims: [Dim]) -> Dim {
    let fixed = dims.compactMap(\.value)
    return fixed.count == dims.count ? .fixed(fixed.reduce(0, +)) : .unknown
}
