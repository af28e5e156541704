import DLInferCore

/// ConvTranspose over 1 to 3 spatial axes as GEMM + col2im: per group, col = Wᵀ (M/group·taps x C/group) times
/// X (C/group x input pixels), batched over a chunk of images; then conv.cl's convtranspose_col2im gathers every
/// output element from the column entries whose taps land on it, starting from the bias. W is read in place (the
/// GEMM takes it transposed), so constant and computed weights run alike.
final class ConvTransposeCL: Kernel {
    private let a: ConvTranspose, q: CLQueue, gemm: CLGemm, gather: CLKernel
    init(_ a: ConvTranspose, _ q: CLQueue) throws {
        self.a = a
        self.q = q
        gemm = try CLGemm(q)
        gather = try q.kernel("conv", "convtranspose_col2im")
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0], w = inputs[1]
        let bias = inputs.has(2) ? inputs[2] : nil
        let y = try q.allocate(.float32, outputs.shape(0))
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(x.shape, w.shape, y.shape)
        let kernel = Array(w.shape[2...])
        let (out, padBegin) = try a.resolve(input: Array(x.shape[2...]), weightSpatial: kernel)
        let (win, _) = try a.validated(weightSpatial: kernel)
        let inDims = cubic(Array(x.shape[2...]), 1), outDims = cubic(out, 1), taps = cubic(kernel, 1)
        let batch = x.shape[0], channels = x.shape[1], groups = a.group
        let cg = channels / groups, mg = w.shape[1], m = mg * groups
        let inPlane = inDims.reduce(1, *), outPlane = outDims.reduce(1, *), rows = mg * taps.reduce(1, *)
        let perImage = groups * rows * inPlane
        guard perImage <= Int(Int32.max) else {
            throw DLInferError(.unsupported, "ConvTranspose's column matrix of \(perImage) elements per image exceeds the 32-bit indexing of the OpenCL kernels")
        }
        let chunk = max(1, min(batch, columnBufferFloats / max(perImage, 1)))
        let col = try q.allocate(.float32, [chunk * perImage])
        let biasArgs: [CLArg] = bias.map { [.buffer($0), .int(1)] } ?? [.buffer(y), .int(0)]
        let geometry = WindowArgs(input: Array(x.shape[2...]), output: out, window: win, padBegin: padBegin)
        for b0 in stride(from: 0, to: batch, by: chunk) {
            let nb = min(chunk, batch - b0)
            for g in 0..<groups {
                try gemm.enqueue(m: rows, n: inPlane, k: cg, batch: nb,
                                 a: GemmOperand(tensor: w, offset: g * cg * rows, ld: rows, transposed: true),
                                 b: GemmOperand(tensor: x, offset: (b0 * channels + g * cg) * inPlane, ld: inPlane,
                                                batchStride: channels * inPlane),
                                 c: GemmOperand(tensor: col, offset: g * rows * inPlane, ld: inPlane, batchStride: perImage))
            }
            let total = nb * m * outPlane
            try q.launch1D(gather, total, [.buffer(col)] + biasArgs + [.buffer(y), .int(b0 * m * outPlane), .int(total),
                                                                       .int(m), .int(mg), .int(groups)] + geometry.args)
        }
        // The queue is in order: whoever gets this buffer from the pool next runs after the gathers.
        q.recycle(col.buffer)
        return [y]
    }
}

/// Most floats the column buffer of a ConvTranspose or a 3-D Conv may hold (128 MiB): a larger batch runs in chunks
/// of images through one buffer.
let columnBufferFloats = 1 << 25

/// Spatial values of a 1- to 3-D window as 3-D ones, with leading axes of `fill`.
func cubic(_ v: [Int], _ fill: Int) -> [Int] { Array(repeating: fill, count: max(0, 3 - v.count)) + v }
