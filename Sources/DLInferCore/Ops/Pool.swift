/// MaxPool, AveragePool and LpPool over 1 to 3 spatial axes of an N x C x D1... input.
///
/// MaxPool takes the largest value in each window, ignoring padding (NaN never wins: a window of NaNs gives -inf,
/// its index the window's first tap); its optional second output holds the position of that value
/// flattened over the whole input (N, C and spatial axes), row-major or, with storage_order 1, column-major over
/// the spatial axes; among equal values the first in row-major window order wins. AveragePool divides each
/// window's sum by the number of real input elements in it, or with count_include_pad by the number of taps inside
/// the padded input (the overhang of a ceil_mode window past the end padding is not counted, as in onnxruntime and
/// the ONNX reference since onnx 1.17). LpPool gives (sum of |x|^p over the window's taps inside the input)^(1/p):
/// padding contributes 0, as in onnxruntime and the ONNX node tests.
public struct Pool: OpAttributes {
    public enum Kind: Sendable, Equatable {
        case max(columnMajorIndices: Bool)
        case average(countIncludePad: Bool)
        case lp(p: Int)
    }
    public var kind: Kind
    public var window: Window

    public init(_ kind: Kind, window: Window) { self.kind = kind; self.window = window }

    public var opName: String {
        switch kind {
        case .max: return "MaxPool"
        case .average: return "AveragePool"
        case .lp: return "LpPool"
        }
    }

    /// MaxPool only selects values: float64 runs as it is (float16 and bfloat16 widen to float32 exactly).
    public var computeFloatTypes: Set<DType> {
        if case .max = kind { return [.float32, .float64] }
        return [.float32]
    }

    /// Element types each pool accepts (MaxPool also integers since opset 12).
    public var dtypes: [DType] {
        if case .max = kind { return [.float32, .float64, .int8, .uint8] }
        return [.float32]
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X")
        try requireDType(x.type.dtype, dtypes, "X")
        guard window.rank <= 3 else {
            throw DLInferError.unsupported("pooling over \(window.rank) spatial axes (at most 3 are supported)")
        }
        guard let shape = x.type.shape else {
            return [ValueType(x.type.dtype, nil), ValueType(.int64, nil)]
        }
        let spatial = try spatialDims(shape, spatial: window.rank, "X")
        let y = [shape[0], shape[1]] + (try window.outputDims(spatial))
        return [ValueType(x.type.dtype, y), ValueType(.int64, y)]
    }
}

/// GlobalMaxPool, GlobalAveragePool and GlobalLpPool: one value per (n, c) over all spatial axes of an input of
/// rank >= 3 (GlobalLpPool: (sum of |x|^p)^(1/p)).
public struct GlobalPool: OpAttributes {
    public enum Kind: Sendable, Equatable { case max, average, lp(p: Int) }
    public var kind: Kind
    public init(_ kind: Kind) { self.kind = kind }
    public var opName: String {
        switch kind {
        case .max: return "GlobalMaxPool"
        case .average: return "GlobalAveragePool"
        case .lp: return "GlobalLpPool"
        }
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X")
        try requireDType(x.type.dtype, [.float32], "X")
        guard let shape = x.type.shape else { return [ValueType(x.type.dtype, nil)] }
        guard shape.count >= 3 else {
            throw DLInferError.shape("X must have rank >= 3 (N, C and spatial axes), got \(shape.count)")
        }
        return [ValueType(x.type.dtype, [shape[0], shape[1]] + Array(repeating: .fixed(1), count: shape.count - 2))]
    }
}

/// MaxUnpool (opsets 9, 11, 22): the partial inverse of MaxPool. Every element of X is written to the position its
/// index in I names in a zero-filled tensor of the unpooled shape, `(in - 1) * stride - padBegin - padEnd + kernel`
/// per spatial axis (N and C as X's); indices are flat over N, C and the spatial axes, row-major, as MaxPool writes
/// them. With the optional `output_shape` input (every dim at least the unpooled one) the output has that shape and
/// the unpooled tensor sits at its start along every axis, the rest 0: the ONNX reference and node test define it
/// so (onnxruntime instead reads the indices as positions in output_shape, and fails that test). An index outside
/// the unpooled shape is an error; where two indices name one position, the later element of X wins.
public struct MaxUnpool: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    /// Kernel, strides and pads (no dilations, no auto_pad).
    public var window: Window
    public init(window: Window) { self.window = window }
    public var opName: String { "MaxUnpool" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X"), i = try inputs.required(1, "I")
        try requireDType(x.type.dtype, [.float32], "X")
        try requireDType(i.type.dtype, [.int64], "I")
        let given = inputs.optional(2)
        let target = try given?.intVector("output_shape")
        if let a = x.type.shape, let b = i.type.shape, a.count == b.count,
           zip(a, b).contains(where: { $0.value != nil && $1.value != nil && $0 != $1 }) {
            throw DLInferError.shape("I \(dimsText(b)) must have the shape of X \(dimsText(a))")
        }
        guard let shape = x.type.shape ?? i.type.shape else {
            return [ValueType(x.type.dtype, try target.map { try checkedShape($0).map { .fixed($0) } })]
        }
        let unpooled = try unpooledDims(shape)
        guard let given else { return [ValueType(x.type.dtype, unpooled)] }
        guard let target else {
            if let n = given.vectorLength, n != shape.count {
                throw DLInferError.shape("output_shape has \(n) values; X has rank \(shape.count)")
            }
            return [ValueType(x.type.dtype, shape.map { _ in .unknown })]
        }
        return [ValueType(x.type.dtype, fixed: try outputShape(target, unpooled: unpooled))]
    }

    /// N, C and the unpooled spatial sizes (unknown where X's are).
    public func unpooledDims(_ x: [Dim]) throws -> [Dim] {
        let spatial = try spatialDims(x, spatial: window.rank, "X")
        var out = Array(x[..<2])
        for (a, d) in spatial.enumerated() {
            guard let n = d.value else { out.append(.unknown); continue }
            let (grown, overflow) = (n - 1).multipliedReportingOverflow(by: window.strides[a])
            let v = grown - window.pads[a] - window.pads[window.rank + a] + window.kernel[a]
            guard !overflow, n < 1 << 40, v >= 0 else { throw DLInferError.shape("spatial axis \(a) of \(n) elements cannot be unpooled") }
            out.append(.fixed(v))
        }
        return out
    }

    /// The output shape `output_shape` asks for, checked against the unpooled one.
    public func outputShape(_ target: [Int], unpooled: [Dim]) throws -> [Int] {
        guard target.count == unpooled.count else {
            throw DLInferError.shape("output_shape has \(target.count) values; X has rank \(unpooled.count)")
        }
        let shape = try checkedShape(target)
        for (t, u) in zip(shape, unpooled) where u.value.map({ t < $0 }) ?? false {
            throw DLInferError.shape("output_shape \(shape) is smaller than the unpooled shape \(dimsText(unpooled))")
        }
        return shape
    }
}
