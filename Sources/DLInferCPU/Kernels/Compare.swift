import DLInferCore

/// Equal, Less, LessOrEqual, Greater, GreaterOrEqual with broadcasting, into bool.
final class CompareKernel: Kernel {
    let kind: Compare.Kind
    init(_ a: Compare) { kind = a.kind }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let a = inputs[0]!, b = inputs[1]!, y = try outputs.make(0)
        switch a.dtype {
        case .float32: compare(kind, a, b, y, Float.self)
        case .float64: compare(kind, a, b, y, Double.self)
        // Only Equal takes bool (type rule).
        case .bool: broadcastBinary(a.pointer(Bool.self), a.shape, b.pointer(Bool.self), b.shape, y.pointer(Bool.self), y.shape, ==)
        default: try dispatchInteger(a.dtype, IntegerCompare(kind: kind, a: a, b: b, y: y))
        }
        return [y]
    }
}

private struct IntegerCompare: IntegerKernelBody {
    let kind: Compare.Kind, a: Tensor, b: Tensor, y: Tensor
    func run<T: FixedWidthInteger & TensorElement>(_: T.Type) { compare(kind, a, b, y, T.self) }
}

@inline(__always)
private func compare<T: Comparable & TensorElement>(_ kind: Compare.Kind, _ a: Tensor, _ b: Tensor, _ y: Tensor, _: T.Type) {
    let pa = a.pointer(T.self), pb = b.pointer(T.self), py = y.pointer(Bool.self)
    switch kind {
    case .equal: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { $0 == $1 }
    case .less: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { $0 < $1 }
    case .lessOrEqual: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { $0 <= $1 }
    case .greater: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { $0 > $1 }
    case .greaterOrEqual: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { $0 >= $1 }
    }
}

/// And, Or, Xor on bool with broadcasting. Bytes are read as integers, so a bool byte other than 0 or 1 from a
/// caller's buffer counts as true instead of being undefined.
final class LogicKernel: Kernel {
    let kind: Logic.Kind
    init(_ a: Logic) { kind = a.kind }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let a = inputs[0]!, b = inputs[1]!, y = try outputs.make(0)
        let pa = a.raw.assumingMemoryBound(to: UInt8.self), pb = b.raw.assumingMemoryBound(to: UInt8.self)
        let py = y.pointer(Bool.self)
        switch kind {
        case .and: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { $0 != 0 && $1 != 0 }
        case .or: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { ($0 | $1) != 0 }
        case .xor: broadcastBinary(pa, a.shape, pb, b.shape, py, y.shape) { ($0 != 0) != ($1 != 0) }
        }
        return [y]
    }
}

/// Where: copies elements of X or Y by their byte size, over the three-way broadcast.
final class WhereKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let c = inputs[0]!, x = inputs[1]!, z = inputs[2]!, y = try outputs.make(0)
        switch y.dtype.byteSize {
        case 1: select(c, x, z, y, UInt8.self)
        case 2: select(c, x, z, y, UInt16.self)
        case 4: select(c, x, z, y, UInt32.self)
        case 8: select(c, x, z, y, UInt64.self)
        default: throw DLInferError.unsupported("Where on \(y.dtype)")
        }
        return [y]
    }

    private func select<T>(_ c: Tensor, _ x: Tensor, _ z: Tensor, _ y: Tensor, _: T.Type) {
        let p = BroadcastPlan(output: y.shape, inputs: [c.shape, x.shape, z.shape])
        let pc = UnsafePointer(c.raw.assumingMemoryBound(to: UInt8.self))
        let px = UnsafePointer(x.raw.assumingMemoryBound(to: T.self)), pz = UnsafePointer(z.raw.assumingMemoryBound(to: T.self))
        let po = y.raw.assumingMemoryBound(to: T.self)
        let inner = p.inner, sc = p.innerStrides[0], sx = p.innerStrides[1], sz = p.innerStrides[2]
        parallelFor(p.rows, grain: max(1, 16384 / max(inner, 1))) { range in
            for row in range {
                let rc = pc + p.offset(0, row: row), rx = px + p.offset(1, row: row), rz = pz + p.offset(2, row: row)
                let ro = po + row * inner
                if sc == 1 && sx == 1 && sz == 1 {
                    for j in 0..<inner { ro[j] = rc[j] != 0 ? rx[j] : rz[j] }
                } else {
                    for j in 0..<inner { ro[j] = rc[j * sc] != 0 ? rx[j * sx] : rz[j * sz] }
                }
            }
        }
    }
}

extension CPUKernelFactory {
    func visit(_ a: Compare, _ _: Node, _ _: Graph) -> HostKernel {
        CompareKernel(a)
    }

    func visit(_ a: Logic, _ _: Node, _ _: Graph) -> HostKernel {
        LogicKernel(a)
    }

    func visit(_ _: Where, _ _: Node, _ _: Graph) -> HostKernel {
        WhereKernel()
    }
}
