import DLInferCore

func makeConstantOfShapeKernel(_ a: ConstantOfShape, _ node: Node, _ graph: Graph) throws -> HostKernel { ConstantOfShapeKernel(a) }
func makeExpandKernel(_ a: Expand, _ node: Node, _ graph: Graph) throws -> HostKernel { ExpandKernel() }

final class ConstantOfShapeKernel: Kernel {
    let value: Tensor
    init(_ a: ConstantOfShape) { value = a.value }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        try expectShape(outputs.shape(0), inputs[0]!.intValues() ?? [])
        let y = try outputs.make(0)
        switch value.dtype.byteSize {
        case 1: fill(y, UInt8.self)
        case 2: fill(y, UInt16.self)
        case 4: fill(y, UInt32.self)
        default: fill(y, UInt64.self)
        }
        return [y]
    }

    /// Every element gets the value's bit pattern.
    private func fill<T>(_ y: Tensor, _: T.Type) {
        let v = value.raw.load(as: T.self), p = y.raw.assumingMemoryBound(to: T.self)
        parallelFor(y.count, grain: 1 << 15) { r in (p + r.lowerBound).update(repeating: v, count: r.count) }
    }
}

final class ExpandKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        try expectShape(outputs.shape(0), try broadcastShapes([x.shape, inputs[1]!.intValues() ?? []]))
        let y = try outputs.make(0)
        broadcastCopy(x, to: y)
        return [y]
    }
}

extension CPUKernelFactory {
    func visit(_ a: ConstantOfShape, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeConstantOfShapeKernel(a, node, graph)
    }

    func visit(_ a: Expand, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeExpandKernel(a, node, graph)
    }
}
