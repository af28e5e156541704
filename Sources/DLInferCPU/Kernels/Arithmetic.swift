import DLInferCore

/// Mod with broadcasting (see `Mod` for the semantics).
final class ModKernel: Kernel {
    let fmod: Bool
    init(_ a: Mod) { fmod = a.fmod }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let a = inputs[0]!, b = inputs[1]!, y = try outputs.make(0)
        switch a.dtype {
        case .float32: floating(a, b, y, Float.self)
        case .float64: floating(a, b, y, Double.self)
        default: try dispatchInteger(a.dtype, IntegerMod(fmod: fmod, a: a, b: b, y: y))
        }
        return [y]
    }

    private func floating<T: MathFloat>(_ a: Tensor, _ b: Tensor, _ y: Tensor, _: T.Type) {
        let pa = a.pointer(T.self), pb = b.pointer(T.self), py = y.pointer(T.self)
        if fmod {
            broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { T.fmod($0, $1) }
        } else {
            // numpy's floor remainder, computed as numpy does: fmod's (exact) result moved into the divisor's sign.
            broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { x, d in
                let r = T.fmod(x, d)
                if r == 0 { return T(signOf: d, magnitudeOf: 0) }
                return (r < 0) != (d < 0) ? r + d : r
            }
        }
    }
}

private struct IntegerMod: IntegerKernelBody {
    let fmod: Bool, a: Tensor, b: Tensor, y: Tensor

    func run<T: FixedWidthInteger & TensorElement>(_: T.Type) throws {
        if y.count > 0, b.buffer(T.self).contains(0) { throw DLInferError.invalid("integer Mod by zero") }
        let pa = a.pointer(T.self), pb = b.pointer(T.self), py = y.pointer(T.self)
        // remainderReportingOverflow: Int.min mod -1 is 0 instead of a trap.
        if fmod {
            broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { $0.remainderReportingOverflow(dividingBy: $1).partialValue }
        } else {
            broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { x, d in
                let r = x.remainderReportingOverflow(dividingBy: d).partialValue
                return r != 0 && (r < 0) != (d < 0) ? r &+ d : r
            }
        }
    }
}

/// PRelu: the slope broadcast over X (the output has X's shape).
final class PReluKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, slope = inputs[1]!, y = try outputs.make(0)
        switch x.dtype {
        case .float32: floating(x, slope, y, Float.self)
        case .float64: floating(x, slope, y, Double.self)
        default: try dispatchInteger(x.dtype, IntegerPRelu(x: x, slope: slope, y: y))
        }
        return [y]
    }

    private func floating<T: FloatingPoint & TensorElement>(_ x: Tensor, _ slope: Tensor, _ y: Tensor, _: T.Type) {
        broadcastBinary(x.pointer(T.self), x.shape, slope.pointer(T.self), slope.shape, y.pointer(T.self), y.shape) { v, s in
            v < 0 ? s * v : v
        }
    }
}

private struct IntegerPRelu: IntegerKernelBody {
    let x: Tensor, slope: Tensor, y: Tensor
    func run<T: FixedWidthInteger & TensorElement>(_: T.Type) {
        broadcastBinary(x.pointer(T.self), x.shape, slope.pointer(T.self), slope.shape, y.pointer(T.self), y.shape) { v, s in
            v < 0 ? s &* v : v
        }
    }
}

/// BitwiseAnd/Or/Xor and BitShift with broadcasting.
final class BitwiseKernel: Kernel {
    let kind: Bitwise.Kind
    init(_ a: Bitwise) { kind = a.kind }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let y = try outputs.make(0)
        try dispatchInteger(y.dtype, IntegerBitwise(kind: kind, a: inputs[0]!, b: inputs[1]!, y: y))
        return [y]
    }
}

private struct IntegerBitwise: IntegerKernelBody {
    let kind: Bitwise.Kind, a: Tensor, b: Tensor, y: Tensor

    func run<T: FixedWidthInteger & TensorElement>(_: T.Type) {
        let pa = a.pointer(T.self), pb = b.pointer(T.self), py = y.pointer(T.self)
        let width = T(truncatingIfNeeded: T.bitWidth)
        switch kind {
        case .and: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { $0 & $1 }
        case .or: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { $0 | $1 }
        case .xor: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { $0 ^ $1 }
        // Amounts outside [0, width) leave only what the sign fill gives (BitShift-28).
        case .shiftLeft:
            broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { x, s in s < 0 || s >= width ? 0 : x &<< s }
        case .shiftRight:
            broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { x, s in s < 0 || s >= width ? (x < 0 ? ~0 : 0) : x &>> s }
        }
    }
}

extension CPUKernelFactory {
    func visit(_ a: Mod, _ _: Node, _ _: Graph) -> HostKernel {
        ModKernel(a)
    }

    func visit(_ _: PRelu, _ _: Node, _ _: Graph) -> HostKernel {
        PReluKernel()
    }

    func visit(_ a: Bitwise, _ _: Node, _ _: Graph) -> HostKernel {
        BitwiseKernel(a)
    }
}
