/// MaxPool and AveragePool over 1 to 3 spatial axes of an N x C x D1... input.
///
/// MaxPool takes the largest value in each window, ignoring padding; its optional second output holds the position
/// of that value flattened over the whole input (N, C and spatial axes), row-major or, with storage_order 1,
/// column-major over the spatial axes. AveragePool divides each window's sum by the number of real input elements
/// in it, or with count_include_pad by the number of taps inside the padded input (the overhang of a ceil_mode
/// window past the end padding is not counted, as in onnxruntime and the ONNX reference since onnx 1.17).
public struct Pool: OpAttributes {
    public enum Kind: Sendable, Equatable {
        case max(columnMajorIndices: Bool)
        case average(countIncludePad: Bool)
    }
    public var kind: Kind
    public var window: Window

    public init(_ kind: Kind, window: Window) { self.kind = kind; self.window = window }

    public var opName: String {
        if case .max = kind { return "MaxPool" }
        return "AveragePool"
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

/// GlobalMaxPool and GlobalAveragePool: one value per (n, c) over all spatial axes of an input of rank >= 3.
public struct GlobalPool: OpAttributes {
    public enum Kind: Sendable, Equatable { case max, average }
    public var kind: Kind
    public init(_ kind: Kind) { self.kind = kind }
    public var opName: String { kind == .max ? "GlobalMaxPool" : "GlobalAveragePool" }

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
