import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// Pointwise float32 ops, in parallel chunks over the flat buffer.
final class UnaryKernel: Kernel {
    let kind: Unary.Kind
    init(_ a: Unary) { kind = a.kind }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let x = inputs[0]!, y = outputs.make(0)
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
func map(_ n: Int, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ f: (Float) -> Float) {
    parallelFor(n, grain: 16384) { r in for i in r { dst[i] = f(src[i]) } }
}

/// Clip with bounds from constant or run-time scalar inputs (absent bound = unbounded).
final class ClipKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let x = inputs[0]!, y = outputs.make(0)
        let lo = inputs.count > 1 ? inputs[1]?.floats.first ?? -.infinity : -.infinity
        let hi = inputs.count > 2 ? inputs[2]?.floats.first ?? .infinity : .infinity
        let act = Activation.clip(min: lo, max: hi)
        map(x.count, x.pointer(Float.self), y.pointer(Float.self)) { act.apply($0) }
        return [y]
    }
}

/// Add, Sub, Mul, Div, Pow with broadcasting, over float32/float64/int32/int64.
final class BinaryKernel: Kernel {
    let kind: Binary.Kind
    init(_ a: Binary) { kind = a.kind }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let a = inputs[0]!, b = inputs[1]!, y = outputs.make(0)
        if kind == .pow { try pow(a, b, y) } else {
            switch a.dtype {
            case .float32: arith(a, b, y, Float.self)
            case .float64: arith(a, b, y, Double.self)
            case .int32: try intArith(a, b, y, Int32.self)
            case .int64: try intArith(a, b, y, Int64.self)
            default: throw DLInferError.unsupported("\(kind.rawValue) on \(a.dtype)")
            }
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

    private func intArith<T: FixedWidthInteger & TensorElement>(_ a: Tensor, _ b: Tensor, _ y: Tensor, _: T.Type) throws {
        let pa = a.pointer(T.self), pb = b.pointer(T.self), py = y.pointer(T.self)
        switch kind {
        case .add: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape, &+)
        case .sub: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape, &-)
        case .mul: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape, &*)
        case .div:
            // Integer division truncates toward zero (as onnxruntime); a zero divisor is an error, not a trap.
            if b.buffer(T.self).contains(0) { throw DLInferError.invalid("integer division by zero") }
            broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { x, d in
                (x == T.min && d == -1) ? T.min : x / d
            }
        case .pow: break
        }
    }

    private func pow(_ a: Tensor, _ b: Tensor, _ y: Tensor) throws {
        switch (a.dtype, b.dtype) {
        case (.float32, .float32):
            broadcastBinary(a.pointer(Float.self), a.shape, b.pointer(Float.self), b.shape, y.pointer(Float.self), y.shape) { powf($0, $1) }
        case (.float32, .float64):
            broadcastBinary(a.pointer(Float.self), a.shape, b.pointer(Double.self), b.shape, y.pointer(Float.self), y.shape) { Float(Glibc.pow(Double($0), $1)) }
        case (.float32, .int64):
            broadcastBinary(a.pointer(Float.self), a.shape, b.pointer(Int64.self), b.shape, y.pointer(Float.self), y.shape) { powf($0, Float($1)) }
        case (.float32, .int32):
            broadcastBinary(a.pointer(Float.self), a.shape, b.pointer(Int32.self), b.shape, y.pointer(Float.self), y.shape) { powf($0, Float($1)) }
        case (.float64, .float64):
            broadcastBinary(a.pointer(Double.self), a.shape, b.pointer(Double.self), b.shape, y.pointer(Double.self), y.shape) { Glibc.pow($0, $1) }
        case (.float64, .float32):
            broadcastBinary(a.pointer(Double.self), a.shape, b.pointer(Float.self), b.shape, y.pointer(Double.self), y.shape) { Glibc.pow($0, Double($1)) }
        case (.float64, .int64):
            broadcastBinary(a.pointer(Double.self), a.shape, b.pointer(Int64.self), b.shape, y.pointer(Double.self), y.shape) { Glibc.pow($0, Double($1)) }
        case (.float64, .int32):
            broadcastBinary(a.pointer(Double.self), a.shape, b.pointer(Int32.self), b.shape, y.pointer(Double.self), y.shape) { Glibc.pow($0, Double($1)) }
        default: throw DLInferError.unsupported("Pow of \(a.dtype) by \(b.dtype)")
        }
    }
}

/// Sum, Max, Min: the first input broadcast into the output, then each further input folded in.
final class VariadicKernel: Kernel {
    let kind: Variadic.Kind
    init(_ a: Variadic) { kind = a.kind }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let ins = inputs.compactMap { $0 }, y = outputs.make(0)
        broadcastCopy(ins[0], to: y)
        for x in ins.dropFirst() {
            switch y.dtype {
            case .float32: fold(x, y, Float.self)
            case .float64: fold(x, y, Double.self)
            case .int32: foldInt(x, y, Int32.self)
            case .int64: foldInt(x, y, Int64.self)
            default: throw DLInferError.unsupported("\(kind.rawValue) on \(y.dtype)")
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
            let mask = outputs.make(1)
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
