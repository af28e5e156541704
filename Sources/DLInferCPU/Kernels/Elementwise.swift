import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// Pointwise float32 ops, in parallel chunks over the flat buffer.
final class UnaryKernel: Kernel {
    let kind: Unary.Kind
    init(_ a: Unary) { kind = a.kind }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0)
        guard x.dtype == .float32 else {
            // Integer Relu (the only integer kind the type rule admits).
            try dispatchInteger(x.dtype, IntegerRelu(x: x, y: y))
            return [y]
        }
        let src = UnsafePointer(x.pointer(Float.self)), dst = y.pointer(Float.self), kind = self.kind
        forEachChunk(x.count) { start, n in
            let s = src + start, d = dst + start
            switch kind {
            case .activation(let act): UnaryKernel.activate(act, s, d, n)
            case .exp: map(n, s, d) { expf($0) }
            case .sqrt: map(n, s, d) { sqrtf($0) }
            }
        }
        return [y]
    }

    /// One loop per activation with its parameters bound outside it, so the cheap ones vectorise.
    @inline(__always)
    private static func activate(_ act: Activation, _ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int) {
        switch act {
        case .relu: map(n, s, d) { Activation.relu.apply($0) }
        case .leakyRelu(let a): map(n, s, d) { Activation.leakyRelu(alpha: a).apply($0) }
        case .hardSigmoid(let a, let b): map(n, s, d) { Activation.hardSigmoid(alpha: a, beta: b).apply($0) }
        case .clip(let lo, let hi): map(n, s, d) { Activation.clip(min: lo, max: hi).apply($0) }
        case .sigmoid: map(n, s, d) { Activation.sigmoid.apply($0) }
        case .tanh: map(n, s, d) { Activation.tanh.apply($0) }
        case .elu(let a): map(n, s, d) { Activation.elu(alpha: a).apply($0) }
        }
    }
}

private struct IntegerRelu: IntegerKernelBody {
    let x: Tensor, y: Tensor
    func run<T: FixedWidthInteger & TensorElement>(_: T.Type) {
        let src = UnsafePointer(x.pointer(T.self)), dst = y.pointer(T.self)
        forEachChunk(x.count) { start, n in map(n, src + start, dst + start) { $0 < 0 ? 0 : $0 } }
    }
}

/// Clip with bounds from constant or run-time scalar inputs (an absent bound leaves that side open).
final class ClipKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0)
        let lo = inputs.count > 1 ? inputs[1] : nil, hi = inputs.count > 2 ? inputs[2] : nil
        // NaN fails both comparisons, so it passes through as in ONNX.
        func clip<T: Comparable & TensorElement>(_: T.Type) {
            let l = lo?.pointer(T.self).pointee, h = hi?.pointer(T.self).pointee
            let src = UnsafePointer(x.pointer(T.self)), dst = y.pointer(T.self)
            forEachChunk(x.count) { start, n in
                map(n, src + start, dst + start) { v in
                    var r = v
                    if let l, r < l { r = l }
                    if let h, r > h { r = h }
                    return r
                }
            }
        }
        switch x.dtype {
        case .float32: clip(Float.self)
        case .float64: clip(Double.self)
        default: withInteger(x.dtype) { clip($0) }
        }
        return [y]
    }
}

/// A computation over one integer element type. `dispatchInteger` calls it with the concrete type, so that it is
/// specialised for each (a generic function opened from an existential metatype, as `withInteger` calls it, is not:
/// every element operation would go through a witness table).
protocol IntegerKernelBody {
    func run<T: FixedWidthInteger & TensorElement>(_: T.Type) throws
}

@inline(__always)
func dispatchInteger<B: IntegerKernelBody>(_ d: DType, _ body: B) throws {
    switch d {
    case .int8: try body.run(Int8.self)
    case .int16: try body.run(Int16.self)
    case .int32: try body.run(Int32.self)
    case .int64: try body.run(Int64.self)
    case .uint8: try body.run(UInt8.self)
    case .uint16: try body.run(UInt16.self)
    case .uint32: try body.run(UInt32.self)
    case .uint64: try body.run(UInt64.self)
    default: throw DLInferError(.internal, "\(d) is not an integer type")
    }
}

/// Calls `body` with the Swift type of an integer dtype (the type rules have already admitted only these).
func withInteger(_ d: DType, _ body: (any (FixedWidthInteger & TensorElement).Type) -> Void) {
    switch d {
    case .int8: body(Int8.self)
    case .int16: body(Int16.self)
    case .int32: body(Int32.self)
    case .int64: body(Int64.self)
    case .uint8: body(UInt8.self)
    case .uint16: body(UInt16.self)
    case .uint32: body(UInt32.self)
    case .uint64: body(UInt64.self)
    default: preconditionFailure("withInteger called with \(d)")
    }
}

/// Add, Sub, Mul, Div, Pow with broadcasting, over float and integer types.
final class BinaryKernel: Kernel {
    let kind: Binary.Kind
    init(_ a: Binary) { kind = a.kind }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let a = inputs[0]!, b = inputs[1]!, y = try outputs.make(0)
        if kind == .pow { try pow(a, b, y); return [y] }
        // Made once per plan: a small model's Add costs less than working out its broadcast.
        let plan = outputs.prepared { BroadcastPlan(output: y.shape, inputs: [a.shape, b.shape]) }
        switch a.dtype {
        case .float32: arith(a, b, y, plan, Float.self)
        case .float64: arith(a, b, y, plan, Double.self)
        default: try dispatchInteger(a.dtype, IntegerArith(kind: kind, a: a, b: b, y: y))
        }
        return [y]
    }

    private func arith<T: FloatingPoint & TensorElement>(_ a: Tensor, _ b: Tensor, _ y: Tensor, _ plan: BroadcastPlan,
                                                         _: T.Type) {
        let kind = self.kind
        forEachBroadcastRow(a.pointer(T.self), a.shape, b.pointer(T.self), b.shape, y.pointer(T.self), y.shape,
                            plan: plan) { row in
            switch kind {
            case .add: row.apply(+)
            case .sub: row.apply(-)
            case .mul: row.apply(*)
            case .div: row.apply(/)
            case .pow: break
            }
        }
    }

    /// Pow: the result has the base's type; the exponent may be any numeric type (opset 12+). Integer results are
    /// the truncated double-precision power, as onnxruntime computes them.
    private func pow(_ a: Tensor, _ b: Tensor, _ y: Tensor) throws {
        let exps = b.asDoubles()
        switch a.dtype {
        case .float32 where b.dtype == .float32:
            broadcastBinary(a.pointer(Float.self), a.shape, b.pointer(Float.self), b.shape, y.pointer(Float.self), y.shape) { powf($0, $1) }
        case .float32:
            broadcastBinary(a.pointer(Float.self), a.shape, exps, b.shape, y.pointer(Float.self), y.shape) { Float(Glibc.pow(Double($0), $1)) }
        case .float64:
            broadcastBinary(a.pointer(Double.self), a.shape, exps, b.shape, y.pointer(Double.self), y.shape) { Glibc.pow($0, $1) }
        case .int32:
            broadcastBinary(a.pointer(Int32.self), a.shape, exps, b.shape, y.pointer(Int32.self), y.shape) { Int32(truncatingIfNeeded: Int64(exactly: Glibc.pow(Double($0), $1).rounded(.towardZero)) ?? 0) }
        case .int64:
            broadcastBinary(a.pointer(Int64.self), a.shape, exps, b.shape, y.pointer(Int64.self), y.shape) { Int64(exactly: Glibc.pow(Double($0), $1).rounded(.towardZero)) ?? 0 }
        default: throw DLInferError.unsupported("Pow of \(a.dtype) by \(b.dtype)")
        }
        exps.deallocate()
    }
}

/// Integer Add, Sub, Mul, Div: wrapping on overflow, division truncating toward zero as onnxruntime's C++ kernels do;
/// a zero divisor is an error rather than a trap.
private struct IntegerArith: IntegerKernelBody {
    let kind: Binary.Kind, a: Tensor, b: Tensor, y: Tensor

    func run<T: FixedWidthInteger & TensorElement>(_: T.Type) throws {
        if kind == .div, b.buffer(T.self).contains(0) { throw DLInferError.invalid("integer division by zero") }
        forEachBroadcastRow(a.pointer(T.self), a.shape, b.pointer(T.self), b.shape, y.pointer(T.self), y.shape) { row in
            switch kind {
            case .add: row.apply(&+)
            case .sub: row.apply(&-)
            case .mul: row.apply(&*)
            case .div: row.apply { x, d in x.dividedReportingOverflow(by: d).partialValue }
            case .pow: break
            }
        }
    }
}

extension Tensor {
    /// The elements widened to Double in a new buffer the caller deallocates (for mixed-type exponents).
    func asDoubles() -> UnsafeMutablePointer<Double> {
        let out = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(count, 1))
        switch dtype {
        case .float32: for i in 0..<count { out[i] = Double(pointer(Float.self)[i]) }
        case .float64: out.update(from: pointer(Double.self), count: count)
        default:
            withInteger(dtype) { t in
                func widen<T: FixedWidthInteger & TensorElement>(_: T.Type) { for i in 0..<count { out[i] = Double(pointer(T.self)[i]) } }
                widen(t)
            }
        }
        return out
    }
}

/// Sum, Max, Min, Mean: the first input broadcast into the output, then each further input folded in (Mean then
/// divides by the input count).
final class VariadicKernel: Kernel {
    let kind: Variadic.Kind
    init(_ a: Variadic) { kind = a.kind }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let ins = inputs.compactMap { $0 }, y = try outputs.make(0)
        broadcastCopy(ins[0], to: y)
        for x in ins.dropFirst() {
            switch y.dtype {
            case .float32: fold(x, y, Float.self)
            case .float64: fold(x, y, Double.self)
            default: try dispatchInteger(y.dtype, IntegerFold(kind: kind, x: x, y: y))
            }
        }
        if kind == .mean {
            switch y.dtype {
            case .float32: divide(y, by: ins.count, Float.self)
            case .float64: divide(y, by: ins.count, Double.self)
            default: throw DLInferError(.internal, "Mean of \(y.dtype)")
            }
        }
        return [y]
    }

    private func divide<T: FloatingPoint & TensorElement>(_ y: Tensor, by n: Int, _: T.Type) {
        let p = y.pointer(T.self), d = T(n)
        forEachChunk(y.count) { start, count in map(count, p + start, p + start) { $0 / d } }
    }

    private func fold<T: FloatingPoint & TensorElement>(_ x: Tensor, _ y: Tensor, _: T.Type) {
        let py = y.pointer(T.self), kind = self.kind
        forEachBroadcastRow(UnsafePointer(py), y.shape, x.pointer(T.self), x.shape, py, y.shape) { row in
            switch kind {
            case .sum, .mean: row.apply(+)
            // NaN propagates, as in onnxruntime.
            case .max: row.apply { a, b in a.isNaN || b.isNaN ? .nan : Swift.max(a, b) }
            case .min: row.apply { a, b in a.isNaN || b.isNaN ? .nan : Swift.min(a, b) }
            }
        }
    }
}
/// Integer Sum, Max, Min: one more input folded into the output (sums wrap on overflow, as onnxruntime's do).
private struct IntegerFold: IntegerKernelBody {
    let kind: Variadic.Kind, x: Tensor, y: Tensor

    func run<T: FixedWidthInteger & TensorElement>(_: T.Type) throws {
        let py = y.pointer(T.self)
        forEachBroadcastRow(UnsafePointer(py), y.shape, x.pointer(T.self), x.shape, py, y.shape) { row in
            switch kind {
            case .sum, .mean: row.apply(&+)
            case .max: row.apply { Swift.max($0, $1) }
            case .min: row.apply { Swift.min($0, $1) }
            }
        }
    }
}

/// Identity and inference-mode Dropout: the output is the input's storage; Dropout's mask is all true.
final class PassThroughKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        var outs: [Tensor?] = [x]
        if outputs.wanted(1) {
            let mask = try outputs.make(1)
            mask.buffer(Bool.self).update(repeating: true)
            outs.append(mask)
        }
        return outs
    }
}

final class ShapeKernel: Kernel {
    let attrs: ShapeOf
    init(_ a: ShapeOf) { attrs = a }
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        [attrs.evaluate(inputShape: inputs[0]!.shape)]
    }
}

extension CPUKernelFactory {
    func visit(_ a: Unary, _ _: Node, _ _: Graph) -> HostKernel {
        UnaryKernel(a)
    }

    func visit(_ _: Clip, _ _: Node, _ _: Graph) -> HostKernel {
        ClipKernel()
    }

    func visit(_ a: Binary, _ _: Node, _ _: Graph) -> HostKernel {
        BinaryKernel(a)
    }

    func visit(_ a: Variadic, _ _: Node, _ _: Graph) -> HostKernel {
        VariadicKernel(a)
    }

    func visit(_ a: ShapeOf, _ _: Node, _ _: Graph) -> HostKernel {
        ShapeKernel(a)
    }

    func visit(_ _: Identity, _ _: Node, _ _: Graph) -> HostKernel {
        PassThroughKernel()
    }

    func visit(_ _: Dropout, _ _: Node, _ _: Graph) -> HostKernel {
        PassThroughKernel()
    }
}
