import DLInferCore

/// BitCast: the same bytes under another element type, shared with the input (a bool target is normalised to 0/1
/// in a copy, so no kernel ever reads another byte value as a bool).
final class BitCastKernel: Kernel {
    let attrs: BitCast
    init(_ a: BitCast) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        guard x.dtype.byteSize == attrs.to.byteSize else {
            throw DLInferError.model("BitCast from \(x.dtype) to \(attrs.to): the sizes differ")
        }
        try expectShape(outputs.shape(0), x.shape)
        guard attrs.to == .bool, x.dtype != .bool else { return [Tensor(dtype: attrs.to, shape: x.shape, storage: x.storage)] }
        let y = try outputs.make(0)
        let src = UnsafePointer(x.raw.assumingMemoryBound(to: UInt8.self)), dst = y.raw.assumingMemoryBound(to: UInt8.self)
        parallelFor(x.count, grain: 1 << 16) { r in for i in r { dst[i] = src[i] == 0 ? 0 : 1 } }
        return [y]
    }
}

extension CPUKernelFactory {
    func visit(_ a: BitCast, _ _: Node, _ _: Graph) -> HostKernel {
        BitCastKernel(a)
    }
}
