#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pointwise activation: a standalone op (`Unary`) or fused into the epilogue of Conv/Gemm/MatMul by the fusion pass.
public enum Activation: Sendable, Equatable {
    case relu
    case leakyRelu(alpha: Float)
    case sigmoid
    case tanh
    case hardSigmoid(alpha: Float, beta: Float)
    case elu(alpha: Float)
    case clip(min: Float, max: Float)

    /// Inlinable so kernels in other modules apply it without a call per element. NaN maps to NaN in every case, as
    /// in ONNX and onnxruntime (the comparisons are written so that NaN takes the branch that keeps it).
    @inlinable @inline(__always)
    public func apply(_ x: Float) -> Float {
        switch self {
        case .relu: return x < 0 ? 0 : x
        case .leakyRelu(let a): return x >= 0 ? x : a * x
        case .sigmoid: return sigmoidf(x)
        case .tanh: return tanhf(x)
        case .hardSigmoid(let a, let b):
            let v = a * x + b
            return v < 0 ? 0 : (v > 1 ? 1 : v)
        case .elu(let a): return x >= 0 ? x : a * (expf(x) - 1)
        case .clip(let lo, let hi): return Swift.min(Swift.max(x, lo), hi)  // NaN passes through as in ONNX
        }
    }

    public var name: String {
        switch self {
        case .relu: return "Relu"
        case .leakyRelu: return "LeakyRelu"
        case .sigmoid: return "Sigmoid"
        case .tanh: return "Tanh"
        case .hardSigmoid: return "HardSigmoid"
        case .elu: return "Elu"
        case .clip: return "Clip"
        }
    }
}

/// Numerically safe logistic function (no overflow for large |x|).
@inlinable @inline(__always)
public func sigmoidf(_ x: Float) -> Float {
    if x >= 0 { return 1 / (1 + expf(-x)) }
    let e = expf(x)
    return e / (1 + e)
}

/// One-input pointwise ops on float32: Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid, Elu, Exp, Sqrt. Relu also takes
/// the signed integer types (Relu-14; accepted at every version).
public struct Unary: OpAttributes {
    public enum Kind: Sendable, Equatable {
        case activation(Activation)
        case exp, sqrt
    }
    public var kind: Kind
    public init(_ kind: Kind) { self.kind = kind }

    public var opName: String {
        switch kind {
        case .activation(let a): return a.name
        case .exp: return "Exp"
        case .sqrt: return "Sqrt"
        }
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X")
        try requireDType(x.type.dtype, kind == .activation(.relu) ? [.float32, .int8, .int16, .int32, .int64] : [.float32], "X")
        return [x.type]
    }
}

/// Clip (opset 11+ takes min/max as optional inputs; older opsets as attributes, converted by the importer).
/// Bounds that are not constants are read at run time.
public struct Clip: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public init() {}
    public var opName: String { "Clip" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        try requireDType(x.type.dtype, Binary.dtypes, "input")
        for i in 1..<3 {
            if let b = inputs.optional(i) {
                try requireDType(b.type.dtype, [x.type.dtype], i == 1 ? "min" : "max")
                if let r = b.type.rank, r != 0 { throw DLInferError.shape("\(i == 1 ? "min" : "max") must be a scalar") }
            }
        }
        return [x.type]
    }
}

/// Two-input arithmetic with numpy broadcasting.
public struct Binary: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public enum Kind: String, Sendable { case add = "Add", sub = "Sub", mul = "Mul", div = "Div", pow = "Pow" }
    public var kind: Kind
    public init(_ kind: Kind) { self.kind = kind }
    public var opName: String { kind.rawValue }

    public static let dtypes: [DType] = [.float32, .float64, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64]

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let a = try inputs.required(0, "A"), b = try inputs.required(1, "B")
        if kind == .pow {
            // Pow allows a different exponent type (opset 12+); the result has the base's type.
            try requireDType(a.type.dtype, [.float32, .float64, .int32, .int64], "X")
            try requireDType(b.type.dtype, Binary.dtypes, "Y")
        } else {
            try requireDType(a.type.dtype, Binary.dtypes, "A")
            guard a.type.dtype == b.type.dtype else {
                throw DLInferError.model("inputs have different element types \(a.type.dtype) and \(b.type.dtype)")
            }
        }
        guard let sa = a.type.shape, let sb = b.type.shape else { return [ValueType(a.type.dtype, nil)] }
        return [ValueType(a.type.dtype, try broadcastShapes([sa, sb]))]
    }
}

/// Sum, Max, Min over any number of inputs with numpy broadcasting, on numeric types; Mean (the sum divided by the
/// input count) on floats. Max and Min propagate NaN.
public struct Variadic: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public enum Kind: String, Sendable { case sum = "Sum", max = "Max", min = "Min", mean = "Mean" }
    public var kind: Kind
    public init(_ kind: Kind) { self.kind = kind }
    public var opName: String { kind.rawValue }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let given = inputs.compactMap { $0 }
        guard let first = given.first else { throw DLInferError.model("needs at least one input") }
        try requireDType(first.type.dtype, kind == .mean ? [.float32, .float64] : Binary.dtypes, "data_0")
        guard given.allSatisfy({ $0.type.dtype == first.type.dtype }) else {
            throw DLInferError.model("inputs have different element types")
        }
        let shapes = given.compactMap(\.type.shape)
        guard shapes.count == given.count else { return [ValueType(first.type.dtype, nil)] }
        return [ValueType(first.type.dtype, try broadcastShapes(shapes))]
    }
}

/// Identity: output is the input. Kept only where the pass that removes it cannot (a graph input fed straight to an output).
public struct Identity: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public init() {}
    public var opName: String { "Identity" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] { [try inputs.required(0, "input").type] }
}

/// Dropout at inference: the output is the input and the optional mask is all true. Training mode is accepted only
/// with ratio 0, which drops nothing: a constant training_mode of true, or one given at run time, needs a constant
/// ratio of 0 (anything else would be random and is rejected at load).
public struct Dropout: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public init() {}
    public var opName: String { "Dropout" }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "data")
        if let mode = inputs.optional(2) {
            let training = mode.value.map { $0.dtype == .bool ? $0.buffer(Bool.self).first ?? false : false } ?? true
            if training {
                guard let ratio = inputs.optional(1).map({ $0.value?.doubleValues()?.first }) ?? 0.5 else {
                    throw DLInferError.unsupported("training_mode\(mode.value == nil ? " given at run time" : "=true") with a ratio given at run time (random dropout unless it is 0) is not supported")
                }
                if ratio != 0 {
                    throw DLInferError.unsupported("training_mode\(mode.value == nil ? " given at run time" : "=true") with ratio \(ratio) (random dropout) is not supported")
                }
            }
        }
        return [x.type, ValueType(.bool, x.type.shape)]
    }
}

/// Shape: the input's dimensions as int64, optionally sliced by `start`/`end` (opset 15).
public struct ShapeOf: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var start: Int
    public var end: Int?
    public init(start: Int = 0, end: Int? = nil) { self.start = start; self.end = end }
    public var opName: String { "Shape" }

    func range(rank: Int) -> Range<Int> {
        func clamp(_ v: Int) -> Int { Swift.min(Swift.max(v < 0 ? v + rank : v, 0), rank) }
        let s = clamp(start), e = clamp(end ?? rank)
        return s..<Swift.max(s, e)
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "data")
        guard let r = x.type.rank else { return [ValueType(.int64, [.unknown])] }
        return [ValueType(.int64, fixed: [range(rank: r).count])]
    }

    public func evaluate(inputShape: [Int]) -> Tensor {
        let dims = inputShape[range(rank: inputShape.count)].map { Int64($0) }
        return Tensor(dims, shape: [dims.count])
    }
}
