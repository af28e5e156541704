import DLInferCore

/// MaxUnpool: one pass over X writing each element where its index says (any float type, moved as bytes). The
/// indices are all checked before anything is written. Sequential on purpose: two indices may name one position,
/// and the later element must win.
final class MaxUnpoolKernel: Kernel {
    let attrs: MaxUnpool
    init(_ a: MaxUnpool) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, indices = inputs[1]!
        guard indices.shape == x.shape else { throw DLInferError.shape("I \(indices.shape) must have the shape of X \(x.shape)") }
        let unpooled = try attrs.unpooledDims(x.shape.map { .fixed($0) }).map { $0.value! }
        let y = try outputs.make(0, zeroed: true)
        try expectShape(y.shape, inputs.count > 2 && inputs[2] != nil
            ? try attrs.outputShape(inputs[2]!.intValues() ?? [], unpooled: unpooled.map { .fixed($0) }) : unpooled)
        let total = unpooled.elementCount
        let ip = indices.pointer(Int64.self)
        for k in 0..<indices.count where !(ip[k] >= 0 && ip[k] < Int64(total)) {
            throw DLInferError.invalid("index \(ip[k]) is outside the unpooled shape \(unpooled) (\(total) elements)")
        }
        // Positions over the unpooled shape, moved into the (possibly larger) output shape.
        let outStrides = y.shape.contiguousStrides
        let same = y.shape == unpooled
        func position(_ i: Int) -> Int {
            if same { return i }
            var rem = i, pos = 0
            for a in stride(from: unpooled.count - 1, through: 0, by: -1) {
                pos += rem % unpooled[a] * outStrides[a]
                rem /= unpooled[a]
            }
            return pos
        }
        func scatter<T>(_: T.Type) {
            let src = x.raw.assumingMemoryBound(to: T.self), dst = y.raw.assumingMemoryBound(to: T.self)
            for k in 0..<x.count { dst[position(Int(ip[k]))] = src[k] }
        }
        switch x.dtype.byteSize {
        case 2: scatter(UInt16.self)
        case 4: scatter(UInt32.self)
        case 8: scatter(UInt64.self)
        default: throw DLInferError.unsupported("MaxUnpool on \(x.dtype)")
        }
        return [y]
    }
}

/// Col2Im: per (n, c) image plane, in parallel, adds every block value at its image position. Each axis's positions
/// (block position, kernel offset) -> image index are tabulated once, -1 where they fall in the padding.
final class Col2ImKernel: Kernel {
    let attrs: Col2Im
    init(_ a: Col2Im) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        guard let image = inputs[1]!.intValues(), let block = inputs[2]!.intValues() else {
            throw DLInferError.model("image_shape and block_shape must be int64")
        }
        let g = try attrs.geometry(image: image, block: block)
        guard x.rank == 3, x.shape[1] % g.blockSize == 0, x.shape[2] == g.positions else {
            throw DLInferError.shape("input \(x.shape) does not hold \(g.positions) blocks of \(g.blockSize) values per channel")
        }
        let channels = x.shape[1] / g.blockSize
        let y = try outputs.make(0, zeroed: true)
        try expectShape(y.shape, [x.shape[0], channels] + g.image)
        let rank = image.count, w = g.window
        // table[a][k * grid[a] + b]: the image index along axis a of kernel offset k at block position b, or -1.
        let table: [[Int]] = (0..<rank).map { a in
            var t = [Int]()
            for k in 0..<w.kernel[a] {
                for b in 0..<g.grid[a] {
                    let i = b * w.strides[a] - g.padBegin[a] + k * w.dilations[a]
                    t.append(i >= 0 && i < g.image[a] ? i : -1)
                }
            }
            return t
        }
        let imageStrides = g.image.contiguousStrides, kernelShape = w.kernel, grid = g.grid
        let plane = g.image.elementCount, blockSize = g.blockSize, positions = g.positions
        let src = x.pointer(Float.self), dst = y.pointer(Float.self)
        guard y.count > 0, x.count > 0 else { return [y] }
        parallelFor(x.shape[0] * channels, grain: Swift.max(1, 16384 / (blockSize * positions))) { r in
            var k = [Int](repeating: 0, count: rank), b = [Int](repeating: 0, count: rank)
            for p in r {
                let out = dst + p * plane
                for kk in 0..<blockSize {
                    var rem = kk
                    for a in stride(from: rank - 1, through: 0, by: -1) { k[a] = rem % kernelShape[a]; rem /= kernelShape[a] }
                    let column = src + (p * blockSize + kk) * positions
                    for a in 0..<rank { b[a] = 0 }
                    for l in 0..<positions {
                        var at = 0
                        for a in 0..<rank {
                            let i = table[a][k[a] * grid[a] + b[a]]
                            if i < 0 { at = -1; break }
                            at += i * imageStrides[a]
                        }
                        if at >= 0 { out[at] += column[l] }
                        var a = rank - 1
                        while a >= 0 { b[a] += 1; if b[a] < grid[a] { break }; b[a] = 0; a -= 1 }
                    }
                }
            }
        }
        return [y]
    }
}

extension CPUKernelFactory {
    func visit(_ a: MaxUnpool, _ _: Node, _ _: Graph) -> HostKernel {
        MaxUnpoolKernel(a)
    }

    func visit(_ a: Col2Im, _ _: Node, _ _: Graph) -> HostKernel {
        Col2ImKernel(a)
    }
}
