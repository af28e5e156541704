import DLInferCore

/// One matrix operand of a GEMM: buffer, element offset, leading dimension, per-batch stride (0 = shared), transposed.
struct GemmOperand {
    var tensor: DeviceTensor
    var offset = 0
    var ld: Int
    var batchStride = 0
    var transposed = false
}

/// A bias added in the epilogue: element (i, j) of batch b is at offset + b*batchStride + i*rowStride + j*colStride.
struct GemmBias {
    var tensor: DeviceTensor
    var offset = 0
    var rowStride: Int
    var colStride: Int
    var batchStride = 0
    var beta: Float = 1
}

/// The GEMM every matrix product goes through (Gemm, MatMul, 1x1 convolution, recurrent projections):
/// C = act(alpha * op(A) * op(B) + beta * bias), batched.
final class CLGemm {
    private let q: CLQueue, k: CLKernel
    static let tile = 16

    init(_ q: CLQueue) throws {
        self.q = q
        k = try q.kernel("gemm", "gemm_f32", defines: "-DTILE=\(CLGemm.tile)")
    }

    func enqueue(m: Int, n: Int, k kk: Int, batch: Int = 1, alpha: Float = 1, a: GemmOperand, b: GemmOperand,
                 c: GemmOperand, bias: GemmBias? = nil, activation: Activation? = nil) throws {
        let act = CLActivation(activation)
        let t = CLGemm.tile
        let biasArgs: [CLArg] = bias.map {
            [.buffer($0.tensor), .int($0.offset), .int($0.rowStride), .int($0.colStride), .int($0.batchStride), .int(1)]
        } ?? [.buffer(c.tensor), .int(0), .int(0), .int(0), .int(0), .int(0)]
        try q.launch(k, global: [n, m, batch], local: [t, t, 1],
                     [.buffer(a.tensor), .int(a.offset), .int(a.ld), .int(a.batchStride), .int(a.transposed ? 1 : 0),
                      .buffer(b.tensor), .int(b.offset), .int(b.ld), .int(b.batchStride), .int(b.transposed ? 1 : 0),
                      .buffer(c.tensor), .int(c.offset), .int(c.ld), .int(c.batchStride)]
                     + biasArgs
                     + [.int(m), .int(n), .int(kk), .float(alpha), .float(bias?.beta ?? 0)] + act.args)
    }
}

/// Gemm: Y = act(alpha * A' * B' + beta * C).
final class GemmCL: DeviceKernel {
    private let a: Gemm, q: CLQueue, gemm: CLGemm
    init(_ a: Gemm, _ q: CLQueue) throws { self.a = a; self.q = q; gemm = try CLGemm(q) }

    func run(_ inputs: DeviceInputs, _ outputs: OutputTypes) throws -> [DeviceTensor?] {
        let x = inputs[0], w = inputs[1]
        let m = a.transA ? x.shape[1] : x.shape[0], k = a.transA ? x.shape[0] : x.shape[1]
        let n = a.transB ? w.shape[0] : w.shape[1]
        let y = try q.allocate(.float32, [m, n])
        var bias: GemmBias? = nil
        if inputs.has(2), a.beta != 0 {
            let c = inputs[2]
            // C broadcasts from the right: [N] or [1, N] per column, [M, 1] per row, [M, N] full, scalar everywhere.
            let dims = Array(repeating: 1, count: 2 - c.shape.count) + c.shape
            bias = GemmBias(tensor: c, rowStride: dims[0] == 1 ? 0 : dims[1], colStride: dims[1] == 1 ? 0 : 1, beta: a.beta)
        }
        try gemm.enqueue(m: m, n: n, k: k, alpha: a.alpha,
                         a: GemmOperand(tensor: x, ld: x.shape[1], transposed: a.transA),
                         b: GemmOperand(tensor: w, ld: w.shape[1], transposed: a.transB),
                         c: GemmOperand(tensor: y, ld: n), bias: bias, activation: a.activation)
        return [y]
    }
}

/// MatMul with numpy broadcasting of the batch dims: one launch when they merge into a single strided batch dim,
/// else one launch per outer batch index.
final class MatMulCL: DeviceKernel {
    private let a: MatMul, q: CLQueue, gemm: CLGemm
    init(_ a: MatMul, _ q: CLQueue) throws { self.a = a; self.q = q; gemm = try CLGemm(q) }

    func run(_ inputs: DeviceInputs, _ outputs: OutputTypes) throws -> [DeviceTensor?] {
        let x = inputs[0], w = inputs[1]
        let y = try q.allocate(.float32, outputs.shape(0))
        let sa = x.shape.count == 1 ? [1, x.shape[0]] : x.shape
        let sb = w.shape.count == 1 ? [w.shape[0], 1] : w.shape
        let m = sa[sa.count - 2], k = sa[sa.count - 1], n = sb[sb.count - 1]
        let batchA = Array(sa.dropLast(2)), batchB = Array(sb.dropLast(2))
        let r = max(batchA.count, batchB.count)
        let pa = Array(repeating: 1, count: r - batchA.count) + batchA, pb = Array(repeating: 1, count: r - batchB.count) + batchB
        let batchOut = zip(pa, pb).map { $0 == 1 ? $1 : $0 }
        let layout = BroadcastLayout(output: batchOut, inputs: [pa, pb])
        // Element strides of each operand per merged batch dim (the layout counts in matrices).
        let strideA = layout.strides[0].map { $0 * m * k }, strideB = layout.strides[1].map { $0 * k * n }
        let inner = layout.dims.last ?? 1
        let outer = layout.dims.dropLast().reduce(1, *)
        let outerDims = Array(layout.dims.dropLast())
        for o in 0..<outer {
            // Offsets of this outer batch index (row-major over the merged dims but the last).
            var rem = o, offA = 0, offB = 0
            for d in stride(from: outerDims.count - 1, through: 0, by: -1) {
                let idx = rem % outerDims[d]; rem /= outerDims[d]
                offA += idx * strideA[d]; offB += idx * strideB[d]
            }
            try gemm.enqueue(m: m, n: n, k: k, batch: inner,
                             a: GemmOperand(tensor: x, offset: offA, ld: k, batchStride: strideA.last ?? 0),
                             b: GemmOperand(tensor: w, offset: offB, ld: n, batchStride: strideB.last ?? 0),
                             c: GemmOperand(tensor: y, offset: o * inner * m * n, ld: n, batchStride: m * n),
                             activation: a.activation)
        }
        return [y]
    }
}
