// Ops that change only the shape, never the bytes: Reshape, Flatten, Squeeze, Unsqueeze. Their kernels return views.
// Legacy attribute forms (Squeeze/Unsqueeze `axes` before opset 13) arrive here as constant inputs.

/// Reshape (opset 5+ takes the shape as an input). In `shape`, -1 is inferred from the element count and 0 copies the
/// input's dim at that position, unless `allowZero` (opset 14), where 0 is a literal zero-sized dim.
public struct Reshape: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var allowZero: Bool
    public init(allowZero: Bool = false) { self.allowZero = allowZero }
    public var opName: String { "Reshape" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "data"), s = try inputs.required(1, "shape")
        guard let spec = try s.intVector("shape") else {
            return [ValueType(x.type.dtype, try s.vectorLength.map { try unknownDims($0) })]
        }
        return [ValueType(x.type.dtype, try outputShape(x.type.shape, spec))]
    }

    /// The output dims for a constant `spec`; with an unknown input rank only the explicit sizes are known.
    func outputShape(_ input: [Dim]?, _ spec: [Int]) throws -> [Dim] {
        guard spec.allSatisfy({ $0 >= -1 }) else { throw DLInferError.model("shape \(spec) has a value below -1") }
        _ = try checkedShape(spec.map { Swift.max($0, 0) })
        let inferred = spec.indices.filter { spec[$0] == -1 }
        guard inferred.count <= 1 else { throw DLInferError.model("shape \(spec) has more than one -1") }
        if allowZero, !inferred.isEmpty, spec.contains(0) {
            throw DLInferError.model("shape \(spec) has both -1 and 0 with allowzero=1")
        }
        let copies = { (i: Int) in spec[i] == 0 && !self.allowZero }
        guard let input else { return spec.indices.map { spec[$0] > 0 || spec[$0] == 0 && allowZero ? .fixed(spec[$0]) : .unknown } }

        var out = [Dim]()
        for (i, v) in spec.enumerated() {
            if copies(i) {
                guard i < input.count else {
                    throw DLInferError.shape("shape \(spec) copies dim \(i) (0) but the input has rank \(input.count)")
                }
                out.append(input[i])
            } else {
                out.append(.fixed(Swift.max(v, 0)))
            }
        }
        // Dims copied by 0 stand for themselves on both sides; what remains must have equal element counts.
        let rest = input.indices.filter { !($0 < spec.count && copies($0)) }.map { input[$0] }
        let restFixed = rest.compactMap(\.value).reduce(1, *)
        let restSymbols = rest.filter { $0.value == nil }
        let known = spec.indices.filter { !copies($0) && spec[$0] != -1 }.map { spec[$0] }.reduce(1, *)
        if let m = inferred.first {
            // `known` >= 1 here: with a -1, a 0 either copies (and is not counted) or is rejected above.
            if restSymbols.isEmpty || restFixed == 0 {
                guard restFixed % known == 0 else {
                    throw DLInferError.shape("cannot reshape \(dimsText(input)) to \(spec): \(restFixed) elements do not divide by \(known)")
                }
                out[m] = .fixed(restFixed / known)
            } else {
                // [batch, 3, 4] -> [-1, 12] keeps `batch`.
                out[m] = restSymbols.count == 1 && restFixed == known ? restSymbols[0] : .unknown
            }
        } else if restSymbols.isEmpty, restFixed != known {
            throw DLInferError.shape("cannot reshape \(dimsText(input)) (\(restFixed) elements) to \(spec) (\(known))")
        }
        return out
    }
}

/// Flatten: [d0 ... dn] -> [d0 * ... * d(axis-1), d(axis) * ... * dn]; axis in [-rank, rank].
public struct Flatten: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var axis: Int
    public init(axis: Int = 1) { self.axis = axis }
    public var opName: String { "Flatten" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        guard let shape = x.type.shape else { return [ValueType(x.type.dtype, [.unknown, .unknown])] }
        let a = axis < 0 ? axis + shape.count : axis
        guard a >= 0, a <= shape.count else { throw DLInferError.model("axis \(axis) is out of range for rank \(shape.count)") }
        return [ValueType(x.type.dtype, [dimProduct(shape[..<a]), dimProduct(shape[a...])])]
    }
}

/// Squeeze: removes the size-1 dims listed in the optional `axes` input, or every size-1 dim when it is absent or
/// empty (as in onnxruntime).
public struct Squeeze: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public init() {}
    public var opName: String { "Squeeze" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "data")
        let dtype = x.type.dtype
        let axesInput = inputs.optional(1)
        let axesValue = try axesInput?.intVector("axes", scalarAllowed: true)
        guard let axesInput, axesValue?.isEmpty != true, axesInput.axesCount != 0 else {
            guard let shape = x.type.shape else { return [ValueType(dtype, nil)] }
            // A symbolic dim may or may not be 1: the rank is only known at run time.
            guard shape.allSatisfy({ $0.value != nil }) else { return [ValueType(dtype, nil)] }
            return [ValueType(dtype, shape.filter { $0 != .fixed(1) })]
        }
        guard let axes = axesValue else {
            guard let r = x.type.rank, let n = axesInput.axesCount, n <= r else { return [ValueType(dtype, nil)] }
            return [ValueType(dtype, try unknownDims(r - n))]
        }
        guard let shape = x.type.shape else { return [ValueType(dtype, nil)] }
        let drop = try normalizedAxes(axes, rank: shape.count)
        for a in drop {
            if let v = shape[a].value, v != 1 {
                throw DLInferError.shape("cannot squeeze axis \(a) of \(dimsText(shape)): its size is \(v), not 1")
            }
        }
        return [ValueType(dtype, shape.indices.filter { !drop.contains($0) }.map { shape[$0] })]
    }
}

/// Unsqueeze: inserts size-1 dims at `axes` (an input from opset 13), given as positions in the output.
public struct Unsqueeze: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public init() {}
    public var opName: String { "Unsqueeze" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "data"), axesInput = try inputs.required(1, "axes")
        let dtype = x.type.dtype
        guard let axes = try axesInput.intVector("axes", scalarAllowed: true) else {
            guard let r = x.type.rank, let n = axesInput.axesCount else { return [ValueType(dtype, nil)] }
            return [ValueType(dtype, try unknownDims(r + n))]
        }
        guard let shape = x.type.shape else { return [ValueType(dtype, nil)] }
        let outRank = shape.count + axes.count
        let inserted = try normalizedAxes(axes, rank: outRank)
        var rest = shape.makeIterator()
        return [ValueType(dtype, (0..<outRank).map { inserted.contains($0) ? .fixed(1) : rest.next()! })]
    }
}

// MARK: helpers shared by the shape ops' type rules

extension TypedInput {
    /// The values of a 1-D integer input that describes a shape (a shape, axes, starts, ...) when it is a constant;
    /// nil when it is only known at run time. Throws when its type cannot describe one.
    /// `scalarAllowed`: a 0-D input stands for one value (Squeeze's and Unsqueeze's axes, which onnxruntime and the
    /// ONNX functions that expand into them treat so).
    func intVector(_ role: String, _ dtypes: [DType] = [.int64], scalarAllowed: Bool = false) throws -> [Int]? {
        try requireDType(type.dtype, dtypes, role)
        if let r = type.rank, r != 1, !(scalarAllowed && r == 0) { throw DLInferError.shape("\(role) must be 1-D, got \(type)") }
        return value?.intValues()
    }

    /// The length of a 1-D input when its type says it.
    var vectorLength: Int? { type.rank == 1 ? type.shape![0].value : nil }

    /// The number of axes in Squeeze's or Unsqueeze's `axes` input (one for a scalar) when its type says it.
    var axesCount: Int? { type.rank == 0 ? 1 : vectorLength }
}

/// Axes mapped into 0..<rank; duplicates are an error.
func normalizedAxes(_ axes: [Int], rank: Int) throws -> Set<Int> {
    var out = Set<Int>()
    for a in axes {
        let n = a < 0 ? a + rank : a
        guard n >= 0, n < rank else { throw DLInferError.model("axis \(a) is out of range for rank \(rank)") }
        guard out.insert(n).inserted else { throw DLInferError.model("axes \(axes) repeat axis \(a)") }
    }
    return out
}

/// Product of dims: fixed when all are (or one is 0); the one symbolic dim itself when the others multiply to 1.
func dimProduct<C: Collection>(_ dims: C) -> Dim where C.Element == Dim {
    let fixed = dims.compactMap(\.value)
    let product = fixed.reduce(1, *)
    if fixed.count == dims.count || product == 0 { return .fixed(product) }
    if fixed.count == dims.count - 1, product == 1 { return dims.first { $0.value == nil }! }
    return .unknown
}

func dimsText(_ dims: [Dim]) -> String { "[\(dims.map(\.description).joined(separator: ","))]" }
