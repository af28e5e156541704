import DLInferCore

/// One matrix operand of a GEMM: buffer, element offset, leading dimension, per-batch stride (0 = shared), transposed.
struct GemmOperand {
    var tensor: DeviceTensor
    var offset = 0
    var ld: Int
    var batchStride = 0
    var transposed = false

    /// The kernels' arguments for an input operand: buffer, offset, leading dimension, batch stride, transposed.
    var args: [CLArg] { [.buffer(tensor), .int(offset), .int(ld), .int(batchStride), .flag(transposed)] }
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

/// How one product runs: the GEMV kernel (M tiny; `swapped`: N was the tiny one, so C^T = op(B)^T op(A)^T runs),
/// or the tiled kernel with one parameter set.
enum GemmPath: Equatable {
    case gemv(rows: Int, swapped: Bool)
    case tiled(GemmTiling)
}

/// The GEMM every matrix product goes through (Gemm, MatMul, 1x1 convolution, recurrent projections):
/// C = act(alpha * op(A) * op(B) + beta * bias), batched. Any sizes, transposes, offsets, leading dimensions and
/// batch strides (0: one matrix for the whole batch); C is written in place, no scratch buffers.
final class CLGemm {
    private let q: CLQueue
    let config: GemmConfig
    /// GEMV work-groups: gemvLanes work-items along B's contiguous dimension times gemvSplit.
    static let gemvLanes = 32
    /// The largest work-group tile side a tiling may have.
    static let maxTile = 256
    private let gemvSplit: Int
    /// Tilings that failed to build or launch here (see `tiledKernel`).
    private var unusable = Set<GemmTiling>()

    convenience init(_ q: CLQueue) throws { self.init(q, config: try GemmConfig.forDevice(q.ctx.device)) }

    init(_ q: CLQueue, config: GemmConfig) {
        self.q = q
        self.config = config
        gemvSplit = max(1, min(8, q.ctx.device.maxWorkGroupSize / CLGemm.gemvLanes))
    }

    func enqueue(m: Int, n: Int, k kk: Int, batch: Int = 1, alpha: Float = 1, a: GemmOperand, b: GemmOperand,
                 c: GemmOperand, bias: GemmBias? = nil, activation: Activation? = nil) throws {
        try enqueue(config.path(m: m, n: n, batch: batch), m: m, n: n, k: kk, batch: batch, alpha: alpha, a: a, b: b, c: c,
                    bias: bias, activation: activation)
    }

    /// `enqueue` along a given path (tests force each one).
    func enqueue(_ path: GemmPath, m: Int, n: Int, k kk: Int, batch: Int, alpha: Float, a: GemmOperand, b: GemmOperand,
                 c: GemmOperand, bias: GemmBias?, activation: Activation?) throws {
        guard m > 0, n > 0, batch > 0 else { return }
        try CLGemm.checkIndexRange(a, rows: a.transposed ? kk : m, cols: a.transposed ? m : kk, batch: batch, "A")
        try CLGemm.checkIndexRange(b, rows: b.transposed ? n : kk, cols: b.transposed ? kk : n, batch: batch, "B")
        try CLGemm.checkIndexRange(c, rows: m, cols: n, batch: batch, "C")
        // The arguments after the operands and the bias: the product's sizes, its scalars and the activation.
        let act = CLActivation(activation)
        func product(m: Int, n: Int) -> [CLArg] { [.int(m), .int(n), .int(kk), .float(alpha), .float(bias?.beta ?? 0)] + act.args }
        switch path {
        case .tiled(let preferred):
            let (t, k) = try tiledKernel(preferred)
            // Vector loads along the operand's contiguous dimension need every row start aligned to the width.
            let vecA = CLGemm.aligned(a, a.transposed ? t.vwm : t.vwk), vecB = CLGemm.aligned(b, b.transposed ? t.vwk : t.vwn)
            try q.launch(k, global: [(n + t.nwg - 1) / t.nwg * t.ndimc, (m + t.mwg - 1) / t.mwg * t.mdimc, batch],
                         local: [t.ndimc, t.mdimc, 1],
                         a.args + [.flag(vecA)] + b.args + [.flag(vecB)]
                         + [.buffer(c.tensor), .int(c.offset), .int(c.ld), .int(c.batchStride), .flag(CLGemm.aligned(c, t.vwn))]
                         + biasArgs(bias, swapped: false, c) + product(m: m, n: n))
        case .gemv(let rows, let swapped):
            let k = try gemvKernel(rows: rows)
            let lanes = CLGemm.gemvLanes
            // C^T = op(B)^T op(A)^T: B flipped plays A, A flipped plays B, and C is written through swapped strides.
            var (pa, pb, pm, pn) = (a, b, m, n)
            if swapped {
                (pa, pb, pm, pn) = (b, a, n, m)
                pa.transposed.toggle(); pb.transposed.toggle()
            }
            let cols = pb.transposed ? gemvSplit : lanes
            try q.launch(k, global: [(pn + cols - 1) / cols * lanes, (pm + rows - 1) / rows * gemvSplit, batch],
                         local: [lanes, gemvSplit, 1],
                         pa.args + pb.args
                         + [.buffer(c.tensor), .int(c.offset), .int(swapped ? 1 : c.ld), .int(swapped ? c.ld : 1), .int(c.batchStride)]
                         + biasArgs(bias, swapped: swapped, c) + product(m: pm, n: pn))
        }
    }

    /// The tiled kernel for `preferred`, else for the next smaller tiling of the configuration that this device can
    /// build and launch: a compiler may refuse a big register tile, or allow fewer work-items than it needs.
    private func tiledKernel(_ preferred: GemmTiling) throws -> (GemmTiling, CLKernel) {
        let candidates = [preferred] + (config.tilings.firstIndex(of: preferred).map { config.tilings[($0 + 1)...] } ?? [])
        var failure: Error? = nil
        for t in candidates where !unusable.contains(t) {
            do {
                let k = try q.kernel("gemm", "gemm_tiled", defines: t.defines)
                if k.maxWorkGroupSize >= t.workGroupSize { return (t, k) }
                failure = DLInferError(.device, "GEMM tiling \(t) needs work-groups of \(t.workGroupSize); the compiled kernel allows \(k.maxWorkGroupSize) on \(q.ctx.device.name)")
            } catch {
                failure = error
            }
            unusable.insert(t)
        }
        throw failure ?? DLInferError(.device, "no GEMM tiling from \(preferred) down can run on \(q.ctx.device.name)")
    }

    private func gemvKernel(rows: Int) throws -> CLKernel {
        let k = try q.kernel("gemv", "gemv_f32", defines: "-DROWS=\(rows) -DLANES=\(CLGemm.gemvLanes) -DSPLIT=\(gemvSplit)")
        guard k.maxWorkGroupSize >= CLGemm.gemvLanes * gemvSplit else {
            throw DLInferError(.device, "the GEMV kernel needs work-groups of \(CLGemm.gemvLanes * gemvSplit); it allows \(k.maxWorkGroupSize) on \(q.ctx.device.name)")
        }
        return k
    }

    /// The bias arguments (strides swapped with C's when the product runs transposed); C's buffer stands in when
    /// there is no bias.
    private func biasArgs(_ bias: GemmBias?, swapped: Bool, _ c: GemmOperand) -> [CLArg] {
        guard let bias else { return [.buffer(c.tensor), .int(0), .int(0), .int(0), .int(0), .int(0)] }
        let (rs, cs) = swapped ? (bias.colStride, bias.rowStride) : (bias.rowStride, bias.colStride)
        return [.buffer(bias.tensor), .int(bias.offset), .int(rs), .int(cs), .int(bias.batchStride), .int(1)]
    }

    /// Whether every row of every batch of `o` starts on a multiple of `width` elements (buffers themselves are
    /// aligned far beyond any vector).
    private static func aligned(_ o: GemmOperand, _ width: Int) -> Bool {
        o.offset % width == 0 && o.ld % width == 0 && o.batchStride % width == 0
    }

    /// The kernels index with 32-bit ints, edge tiles included (up to a tile past the last row and column).
    private static func checkIndexRange(_ o: GemmOperand, rows: Int, cols: Int, batch: Int, _ what: String) throws {
        let last = o.offset + (batch - 1) * o.batchStride + (rows + maxTile) * o.ld + cols + maxTile
        guard last <= Int(Int32.max) else {
            throw DLInferError(.unsupported, "GEMM operand \(what) spans \(last) elements; OpenCL kernels index with 32-bit ints")
        }
    }
}

/// Gemm: Y = act(alpha * A' * B' + beta * C).
final class GemmCL: Kernel {
    private let a: Gemm, q: CLQueue, gemm: CLGemm
    init(_ a: Gemm, _ q: CLQueue) throws { self.a = a; self.q = q; gemm = try CLGemm(q) }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
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
final class MatMulCL: Kernel {
    private let a: MatMul, q: CLQueue, gemm: CLGemm
    init(_ a: MatMul, _ q: CLQueue) throws { self.a = a; self.q = q; gemm = try CLGemm(q) }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0], w = inputs[1]
        let y = try q.allocate(.float32, outputs.shape(0))
        let p = outputs.prepared { Batches(x.shape, w.shape) }
        let (m, k, n, inner) = (p.m, p.k, p.n, p.inner)
        for o in 0..<p.outer {
            // Offsets of this outer batch index (row-major over the merged dims but the last).
            var rem = o, offA = 0, offB = 0
            for d in stride(from: p.outerDims.count - 1, through: 0, by: -1) {
                let idx = rem % p.outerDims[d]; rem /= p.outerDims[d]
                offA += idx * p.strideA[d]; offB += idx * p.strideB[d]
            }
            try gemm.enqueue(m: m, n: n, k: k, batch: inner,
                             a: GemmOperand(tensor: x, offset: offA, ld: k, batchStride: p.strideA.last ?? 0),
                             b: GemmOperand(tensor: w, offset: offB, ld: n, batchStride: p.strideB.last ?? 0),
                             c: GemmOperand(tensor: y, offset: o * inner * m * n, ld: n, batchStride: m * n),
                             activation: a.activation)
        }
        return [y]
    }

    /// The product's sizes and its batch dims merged where they broadcast alike, prepared once per plan.
    private struct Batches {
        let m: Int, k: Int, n: Int
        /// Element strides of each operand per merged batch dim (the layout counts in matrices).
        let strideA: [Int], strideB: [Int]
        /// Matrices per launch (the last merged dim), launches, and the merged dims but the last.
        let inner: Int, outer: Int, outerDims: [Int]

        init(_ x: [Int], _ w: [Int]) {
            let sa = x.count == 1 ? [1, x[0]] : x
            let sb = w.count == 1 ? [w[0], 1] : w
            let (m, k, n) = (sa[sa.count - 2], sa[sa.count - 1], sb[sb.count - 1])
            (self.m, self.k, self.n) = (m, k, n)
            let batchA = Array(sa.dropLast(2)), batchB = Array(sb.dropLast(2))
            let r = max(batchA.count, batchB.count)
            let pa = Array(repeating: 1, count: r - batchA.count) + batchA, pb = Array(repeating: 1, count: r - batchB.count) + batchB
            let layout = BroadcastLayout(output: zip(pa, pb).map { $0 == 1 ? $1 : $0 }, inputs: [pa, pb])
            strideA = layout.strides[0].map { $0 * m * k }
            strideB = layout.strides[1].map { $0 * k * n }
            inner = layout.dims.last ?? 1
            outer = layout.dims.dropLast().reduce(1, *)
            outerDims = Array(layout.dims.dropLast())
        }
    }
}
