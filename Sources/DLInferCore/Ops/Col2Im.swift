/// Col2Im (opset 18): the inverse of im2col. The input [N, C * prod(block_shape), L] holds one column per sliding
/// block position (L of them, row-major over the grid of positions), each column the block's values channel-major,
/// then row-major over the block. Every value is added into a zero image [N, C, image_shape...] at
/// `position * stride - padBegin + offset * dilation` per axis, so overlapping blocks sum and values that fall in the
/// padding are dropped. L must be the number of block positions, the product over axes of
/// `(image + padBegin + padEnd - dilation * (block - 1) - 1) / stride + 1`. image_shape and block_shape are int64
/// vectors of one length, the number of spatial axes (any, at least 1).
public struct Col2Im: OpAttributes {
    public var strides: [Int]?
    public var dilations: [Int]?
    public var pads: [Int]?
    public init(strides: [Int]? = nil, dilations: [Int]? = nil, pads: [Int]? = nil) {
        self.strides = strides; self.dilations = dilations; self.pads = pads
    }
    public var opName: String { "Col2Im" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        try requireDType(x.type.dtype, [.float32], "input")
        let image = try inputs.required(1, "image_shape").intVector("image_shape")
        let block = try inputs.required(2, "block_shape").intVector("block_shape")
        let axes = image?.count ?? block?.count ?? inputs[1]?.vectorLength ?? inputs[2]?.vectorLength
        if let r = x.type.rank, r != 3 { throw DLInferError.shape("input must have rank 3 (N, C x block, L), got \(r)") }
        guard let axes else { return [ValueType(x.type.dtype, nil)] }
        let n = x.type.shape?[0] ?? .unknown
        guard let image, let block else { return [ValueType(x.type.dtype, [n, .unknown] + Array(repeating: .unknown, count: axes))] }
        let g = try geometry(image: image, block: block)
        var c = Dim.unknown
        if let shape = x.type.shape {
            if let k = shape[1].value {
                guard k % g.blockSize == 0 else {
                    throw DLInferError.shape("input's dim 1 (\(k)) is not a multiple of the block size \(g.blockSize)")
                }
                c = .fixed(k / g.blockSize)
            }
            if let l = shape[2].value, l != g.positions {
                throw DLInferError.shape("input has \(l) columns; the blocks fit at \(g.positions) positions")
            }
        }
        return [ValueType(x.type.dtype, [n, c] + image.map { .fixed($0) })]
    }

    /// The blocks' geometry for one image and block shape.
    public struct Geometry: Sendable {
        public var window: Window
        public var image: [Int]
        /// Block positions per axis.
        public var grid: [Int]
        public var padBegin: [Int]
        public var blockSize: Int { window.kernel.reduce(1, *) }
        public var positions: Int { grid.reduce(1, *) }
    }

    public func geometry(image: [Int], block: [Int]) throws -> Geometry {
        guard !image.isEmpty, image.count == block.count else {
            throw DLInferError.shape("image_shape \(image) and block_shape \(block) must have one value per spatial axis")
        }
        let image = try checkedShape(image)
        guard image.allSatisfy({ $0 < 1 << 40 }) else { throw DLInferError.shape("image_shape \(image) is too large") }
        _ = try checkedShape(block)
        let window = try Window(kernel: block, strides: strides, dilations: dilations, pads: pads, autoPad: .notSet)
        var grid = [Int]()
        for a in image.indices {
            let n = try window.axis(a, input: image[a]).output
            guard n >= 1 else { throw DLInferError.shape("axis \(a): no block fits") }
            grid.append(n)
        }
        _ = try checkedShape(grid + block)
        return Geometry(window: window, image: image, grid: grid, padBegin: Array(window.pads[..<block.count]))
    }
}
