import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// Pointwise float32 ops, in parallel chunks over the flat buffer.
final class UnaryKernel: Kernel {
    let kind: Unary.Kind
    init(_ a: Unary) { kind = a.kind }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0)
        let src = x.pointer(Float.self), dst = y.pointer(Float.self)
        switch kind {
        case .activation(let act): map(x.count, src, dst) { act.apply($0) }
        case .exp: map(x.count, src, dst) { expf($0) }
        case .sqrt: map(x.count, src, dst) { sqrtf($0) }
        }
        return [y]
    }
}

@inline(__always)
func map<T>(_ n: Int, _ src: UnsafePointer<T>, _ dst: UnsafeMutablePointer<T>, _ f: (T) -> T) {
    parallelFor(n, grain: 16384) { r in for i in r { dst[i] = f(src[i]) } }
}

/// Clip with bounds from constant or run-time scalar inputs (an absent bound leaves that side open).
final class ClipKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let x = inputs[0]!, y = try outputs.make(0)
        let lo = inputs.count > 1 ? inputs[1] : nil, hi = inputs.count > 2 ? inputs[2] : nil
        func clip<T: Comparable & TensorElement>(_: T.Type, _ isNaN: @escaping (T) -> Bool) {
            let l = lo?.pointer(T.self).pointee, h = hi?.pointer(T.self).pointee
            map(x.count, x.pointer(T.self), y.pointer(T.self)) { v in
                if isNaN(v) { return v }
                var r = v
                if let l, r < l { r = l }
                if let h, r > h { r = h }
                return r
            }
        }
        switch x.dtype {
        case .float32: clip(Float.self) { $0.isNaN }
        case .float64: clip(Double.self) { $0.isNaN }
        default: withInteger(x.dtype) { clip($0) { _ in false } }
        }
        return [y]
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

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let a = inputs[0]!, b = inputs[1]!, y = try outputs.make(0)
        if kind == .pow { try pow(a, b, y); return [y] }
        switch a.dtype {
        case .float32: arith(a, b, y, Float.self)
        case .float64: arith(a, b, y, Double.self)
        default:
            var failure: DLInferError? = nil
            withInteger(a.dtype) { t in
                do { try intArith(a, b, y, t) } catch let e as DLInferError { failure = e } catch {}
            }
            if let failure { throw failure }
        }
        return [y]
    }

    private func arith<T: FloatingPoint & TensorElement>(_ a: Tensor, _ b: Tensor, _ y: Tensor, _: T.Type) {
        let pa = a.pointer(T.self), pb = b.pointer(T.self), py = y.pointer(T.self)
        switch kind {
        case .add: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape, +)
        case .sub: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape, -)
        case .mul: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape, *)
        case .div: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape, /)
        case .pow: break
        }
    }

    /// Integer arithmetic wraps on overflow and division truncates toward zero, as onnxruntime's C++ kernels do;
    /// a zero divisor is an error rather than a trap.
    private func intArith<T: FixedWidthInteger & TensorElement>(_ a: Tensor, _ b: Tensor, _ y: Tensor, _: T.Type) throws {
        let pa = a.pointer(T.self), pb = b.pointer(T.self), py = y.pointer(T.self)
        switch kind {
        case .add: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape, &+)
        case .sub: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape, &-)
        case .mul: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape, &*)
        case .div:
            if b.buffer(T.self).contains(0) { throw DLInferError.invalid("integer division by zero") }
            broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { x, d in x.dividedReportingOverflow(by: d).partialValue }
        case .pow: break
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

/// Sum, Max, Min: the first input broadcast into the output, then each further input folded in.
final class VariadicKernel: Kernel {
    let kind: Variadic.Kind
    init(_ a: Variadic) { kind = a.kind }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let ins = inputs.compactMap { $0 }, y = try outputs.make(0)
        broadcastCopy(ins[0], to: y)
        for x in ins.dropFirst() {
            switch y.dtype {
            case .float32: fold(x, y, Float.self)
            case .float64: fold(x, y, Double.self)
            default: withInteger(y.dtype) { foldInt(x, y, $0) }
            }
        }
        return [y]
    }

    private func fold<T: FloatingPoint & TensorElement>(_ x: Tensor, _ y: Tensor, _: T.Type) {
        let px = x.pointer(T.self), py = y.pointer(T.self)
        switch kind {
        case .sum: broadcastBinary(UnsafePointer(py), y.shape, px, x.shape, py, y.shape, +)
        // NaN propagates, as in onnxruntime.
        case .max: broadcastBinary(UnsafePointer(py), y.shape, px, x.shape, py, y.shape) { a, b in a.isNaN || b.isNaN ? .nan : Swift.max(a, b) }
        case .min: broadcastBinary(UnsafePointer(py), y.shape, px, x.shape, py, y.shape) { a, b in a.isNaN || b.isNaN ? .nan : Swift.min(a, b) }
        }
    }

    private func foldInt<T: FixedWidthInteger & TensorElement>(_ x: Tensor, _ y: Tensor, _: T.Type) {
        let px = x.pointer(T.self), py = y.pointer(T.self)
        switch kind {
        case .sum: broadcastBinary(UnsafePointer(py), y.shape, px, x.shape, py, y.shape, &+)
        case .max: broadcastBinary(UnsafePointer(py), y.shape, px, x.shape, py, y.shape) { Swift.max($0, $1) }
        case .min: broadcastBinary(UnsafePointer(py), y.shape, px, x.shape, py, y.shape) { Swift.min($0, $1) }
        }
    }
}

/// Identity and inference-mode Dropout: the output is the input's storage; Dropout's mask is all true.
final class PassThroughKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
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
    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        [attrs.evaluate(inputShape: inputs[0]!.shape)]
    }
}
