import DLInferCore

func makeTileKernel(_ a: Tile, _ node: Node, _ graph: Graph) throws -> HostKernel { TileKernel() }
func makeSpaceDepthKernel(_ a: SpaceDepth, _ node: Node, _ graph: Graph) throws -> HostKernel { SpaceDepthKernel(a) }
func makeTriluKernel(_ a: Trilu, _ node: Node, _ graph: Graph) throws -> HostKernel { TriluKernel(a) }
func makeReverseSequenceKernel(_ a: ReverseSequence, _ node: Node, _ graph: Graph) throws -> HostKernel { ReverseSequenceKernel(a) }
func makeCenterCropPadKernel(_ a: CenterCropPad, _ node: Node, _ graph: Graph) throws -> HostKernel { CenterCropPadKernel(a) }

/// A strided copy: each output axis d of size r*n is read as (repeat, i) with source strides (0, stride_d).
final class TileKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        guard let repeats = inputs[1]!.intValues() else { throw DLInferError.model("repeats must be int64") }
        try Tile.check(repeats, rank: x.rank)
        try expectShape(outputs.shape(0), zip(x.shape, repeats).map { $0 * $1 })
        let y = try outputs.make(0)
        let strides = x.shape.contiguousStrides
        var shape = [Int](), src = [Int]()
        for d in 0..<x.rank { shape += [repeats[d], x.shape[d]]; src += [0, strides[d]] }
        stridedCopy(src: x.raw, offset: 0, strides: src, shape: shape, dst: y.raw, elementSize: x.dtype.byteSize)
        return [y]
    }
}

/// DepthToSpace/SpaceToDepth as the 6-D transpose `SpaceDepth.transposition` describes.
final class SpaceDepthKernel: Kernel {
    let attrs: SpaceDepth
    init(_ a: SpaceDepth) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        let want = try attrs.inferTypes([TypedInput(x)])[0].fixedShape!
        try expectShape(outputs.shape(0), want)
        let y = try outputs.make(0)
        let (shape, perm) = attrs.transposition(x.shape)
        let strides = shape.contiguousStrides
        stridedCopy(src: x.raw, offset: 0, strides: perm.map { strides[$0] }, shape: perm.map { shape[$0] }, dst: y.raw,
                    elementSize: x.dtype.byteSize)
        return [y]
    }
}

/// Row by row: the kept part of each matrix row is one contiguous run, the rest is zeroed.
final class TriluKernel: Kernel {
    let attrs: Trilu
    init(_ a: Trilu) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        guard x.rank >= 2 else { throw DLInferError.shape("Trilu needs an input of rank 2 or more, got shape \(x.shape)") }
        var k = 0
        if inputs.count > 1, let kt = inputs[1] {
            guard kt.count == 1 else { throw DLInferError.shape("k must be a scalar, got shape \(kt.shape)") }
            k = kt.integerScalar()
        }
        try expectShape(outputs.shape(0), x.shape)
        let y = try outputs.make(0)
        let n = x.shape[x.rank - 2], m = x.shape[x.rank - 1], size = x.dtype.byteSize
        if y.count == 0 { return [y] }
        // Beyond these bounds every row keeps all or nothing (and i + k cannot overflow).
        k = Swift.max(-n - 1, Swift.min(m + 1, k))
        let upper = attrs.upper, src = x.raw, dst = y.raw
        parallelFor(y.count / m, grain: Swift.max(1, (1 << 15) / (m * size))) { r in
            for row in r {
                let i = row % n
                // Columns [lo, hi) are kept.
                let lo = upper ? Swift.min(m, Swift.max(0, i + k)) : 0
                let hi = upper ? m : Swift.min(m, Swift.max(0, i + k + 1))
                let s = src + row * m * size, d = dst + row * m * size
                d.initializeMemory(as: UInt8.self, repeating: 0, count: lo * size)
                if hi > lo { (d + lo * size).copyMemory(from: s + lo * size, byteCount: (hi - lo) * size) }
                (d + hi * size).initializeMemory(as: UInt8.self, repeating: 0, count: (m - hi) * size)
            }
        }
        return [y]
    }
}

/// Every (time, batch) block of the trailing dims is copied from its source time step.
final class ReverseSequenceKernel: Kernel {
    let attrs: ReverseSequence
    init(_ a: ReverseSequence) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, lensT = inputs[1]!
        guard x.rank >= 2 else { throw DLInferError.shape("ReverseSequence needs an input of rank 2 or more, got shape \(x.shape)") }
        let steps = x.shape[attrs.timeAxis], batch = x.shape[attrs.batchAxis]
        guard lensT.rank == 1, lensT.count == batch else {
            throw DLInferError.shape("sequence_lens has shape \(lensT.shape) for a batch of \(batch)")
        }
        let lens = (0..<batch).map { lensT.integerValue(at: $0) }
        if let bad = lens.first(where: { $0 < 0 || $0 > steps }) {
            throw DLInferError.invalid("sequence length \(bad) is outside [0, \(steps)]")
        }
        try expectShape(outputs.shape(0), x.shape)
        let y = try outputs.make(0)
        let bytes = x.shape[2...].reduce(1, *) * x.dtype.byteSize
        let timeMajor = attrs.timeAxis == 0
        gatherBlocks(count: steps * batch, bytes: bytes, src: x.raw, dst: y.raw) { block in
            let t = timeMajor ? block / batch : block % steps, b = timeMajor ? block % batch : block / steps
            let from = t < lens[b] ? lens[b] - 1 - t : t
            return timeMajor ? from * batch + b : b * steps + from
        }
        return [y]
    }
}

/// A constant Pad with the widths that crop or pad each axis around its centre.
final class CenterCropPadKernel: Kernel {
    let attrs: CenterCropPad
    private let pad = PadKernel(Pad(mode: .constant))
    init(_ a: CenterCropPad) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        guard let target = inputs[1]!.intValues(), inputs[1]!.rank == 1 else {
            throw DLInferError.shape("shape must be a 1-D int32 or int64 tensor")
        }
        let widths = try attrs.padWidths(x.shape, target)
        let pads = Tensor(widths.map { Int64($0.begin) } + widths.map { Int64($0.end) }, shape: [2 * widths.count])
        try expectShape(outputs.shape(0), zip(x.shape, widths).map { $0 + $1.begin + $1.end })
        return try pad.run([x, pads], outputs)
    }
}

final class SizeKernel: Kernel {
    let attrs: SizeOf
    init(_ a: SizeOf) { attrs = a }
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        [attrs.evaluate(inputShape: inputs[0]!.shape)]
    }
}

extension CPUKernelFactory {
    func visit(_ a: SpaceDepth, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeSpaceDepthKernel(a, node, graph)
    }

    func visit(_ a: Trilu, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeTriluKernel(a, node, graph)
    }

    func visit(_ a: ReverseSequence, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeReverseSequenceKernel(a, node, graph)
    }

    func visit(_ a: SizeOf, _ _: Node, _ _: Graph) -> HostKernel {
        SizeKernel(a)
    }

    func visit(_ a: Tile, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeTileKernel(a, node, graph)
    }

    func visit(_ a: CenterCropPad, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeCenterCropPadKernel(a, node, graph)
    }
}
