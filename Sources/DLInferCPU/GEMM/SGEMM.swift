import CDLInferKernels
import DLInferCore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major, with op(X) = Xᵀ when trans is set.
/// `lda`, `ldb`, `ldc` are the row strides (in elements) of A, B and C as stored.
/// With beta == 0, C is written without being read (it may hold garbage or NaN).
public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                  a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    sgemm(m: m, n: n, k: k, alpha: alpha, a: .matrix(a, ld: lda, transposed: transA),
          b: .matrix(b, ld: ldb, transposed: transB), beta: beta, c: c, ldc: ldc)
}

/// One side of a product: a row-major matrix (with row stride `ld`, used transposed when `transposed`), or an
/// operand packed once ahead of time (a constant weight).
public enum SGEMMOperand {
    case matrix(UnsafePointer<Float>, ld: Int, transposed: Bool)
    case packed(PackedMatrix)
}

/// C[m×n] = activation(alpha · op(A) · op(B) + beta · C + bias), row-major with row stride `ldc`.
/// A packed operand must have been packed for this product's shape (left: m x k, right: k x n); when both are packed,
/// with the same kernel. With beta == 0, C is not read. `maxThreads` caps the threads (1 when the caller is already
/// parallel); `kernel` picks a micro-kernel for unpacked operands (tests; packed operands bring their own).
public func sgemm(m: Int, n: Int, k: Int, alpha: Float = 1, a: SGEMMOperand, b: SGEMMOperand, beta: Float = 0,
                  c: UnsafeMutablePointer<Float>, ldc: Int, bias: SGEMMBias = .none, activation: Activation? = nil,
                  maxThreads: Int? = nil, kernel: SGEMMKernel? = nil) {
    guard m > 0, n > 0 else { return }
    let epilogue = Epilogue(bias: bias, activation: activation)
    let threads = max(1, maxThreads ?? Threads.count)
    if k == 0 || alpha == 0 {
        // No product to form (BLAS convention: alpha == 0 does not read A or B).
        parallelFor(m, grain: max(1, 16384 / n, (m + threads - 1) / threads)) { rows in
            for i in rows {
                let row = c + i * ldc
                for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
                epilogue.apply(row, ldc, row: i, col: 0, rows: 1, cols: n)
            }
        }
        return
    }
    if m == 1, case .matrix(let ap, let lda, let ta) = a, case .matrix(let bp, let ldb, let tb) = b {
        // y[n] = op(B)ᵀ · a: op(B)ᵀ is B itself when transB.
        withContiguous(ap, stride: ta ? lda : 1, count: k) { v in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { y in
                gemv(rows: n, k: k, bp, ldx: ldb, transposed: !tb, v, y.baseAddress!, threads: threads, kernel: kernel ?? .preferred)
                finishVector(y.baseAddress!, count: n, alpha: alpha, beta: beta, c, inc: 1, epilogue: epilogue, isColumn: false)
            }
        }
        return
    }
    if n == 1, case .matrix(let ap, let lda, let ta) = a, case .matrix(let bp, let ldb, let tb) = b {
        withContiguous(bp, stride: tb ? 1 : ldb, count: k) { v in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: m) { y in
                gemv(rows: m, k: k, ap, ldx: lda, transposed: ta, v, y.baseAddress!, threads: threads, kernel: kernel ?? .preferred)
                finishVector(y.baseAddress!, count: m, alpha: alpha, beta: beta, c, inc: ldc, epilogue: epilogue, isColumn: true)
            }
        }
        return
    }
    if m == 1, case .matrix(let ap, let lda, let ta) = a, case .packed(let pb) = b {
        precondition(pb.side == .right && pb.rows == k && pb.cols == n, "packed B does not match the product's shape")
        withContiguous(ap, stride: ta ? lda : 1, count: k) { v in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: pb.paddedExtent) { y in
                gemvPacked(pb, v, y.baseAddress!, threads: threads)
                finishVector(y.baseAddress!, count: n, alpha: alpha, beta: beta, c, inc: 1, epilogue: epilogue, isColumn: false)
            }
        }
        return
    }

    var kern = (kernel ?? .preferred).forMatrices
    if case .packed(let pa) = a {
        precondition(pa.side == .left && pa.rows == m && pa.cols == k, "packed A does not match the product's shape")
        kern = pa.kernel
    }
    if case .packed(let pb) = b {
        precondition(pb.side == .right && pb.rows == k && pb.cols == n, "packed B does not match the product's shape")
        if case .packed(let pa) = a { precondition(pa.kernel == pb.kernel, "operands packed for different kernels") }
        kern = pb.kernel
    }
    let driver = BlockedProduct(m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c, ldc: ldc,
                                epilogue: epilogue, kernel: kern)
    let (tm, tn) = driver.partition(threads: threads)
    // When every thread would pack all of one operand for its own part of C, the threads pack it once together
    // (a parallel region more, each thread packing 1/threads of it), then share it. Without the scratch memory for
    // it, each thread packs its own as usual.
    func shared(_ side: PackedMatrix.Side, _ p: UnsafePointer<Float>, ld: Int, transposed: Bool) -> Bool {
        let rows = side == .left ? m : k, cols = side == .left ? k : n
        let done = try? Scratch.withFloats(PackedMatrix.floats(side, rows: rows, cols: cols, kernel: kern)) { storage in
            let packed = SGEMMOperand.packed(PackedMatrix(side, rows: rows, cols: cols, p, ld: ld, transposed: transposed,
                                                          kernel: kern, into: storage, grain: 8192))
            sgemm(m: m, n: n, k: k, alpha: alpha, a: side == .left ? packed : a, b: side == .left ? b : packed,
                  beta: beta, c: c, ldc: ldc, bias: bias, activation: activation, maxThreads: threads)
            return true
        }
        return done == true
    }
    if tm == 1, tn > 1, case .matrix(let p, let ld, let t) = a, m * k <= sharedPackingLimit,
       shared(.left, p, ld: ld, transposed: t) { return }
    if tn == 1, tm > 1, case .matrix(let p, let ld, let t) = b, n * k <= sharedPackingLimit,
       shared(.right, p, ld: ld, transposed: t) { return }
    let mp = (m + kern.mr - 1) / kern.mr, np = (n + kern.nr - 1) / kern.nr
    if tm == 1, tn > 1, case .packed = a, np >= 2 * tn {
        // With A packed, narrower columns cost a thread no more packing: four tasks a thread, taken one at a time,
        // so that the threads end together (a thread woken late, or slowed by the other's memory traffic, left the
        // first one waiting for it at the end).
        let tasks = Swift.min(np, 4 * tn)
        parallelTasks(tasks, threads: threads) { t in
            let c0 = np * t / tasks * kern.nr, c1 = min(n, np * (t + 1) / tasks * kern.nr)
            if c0 < c1 { driver.run(rows: 0..<m, cols: c0..<c1) }
        }
        return
    }
    parallelFor(tm * tn) { tasks in
        for t in tasks {
            let i = t / tn, j = t % tn
            let r0 = mp * i / tm * kern.mr, r1 = min(m, mp * (i + 1) / tm * kern.mr)
            let c0 = np * j / tn * kern.nr, c1 = min(n, np * (j + 1) / tn * kern.nr)
            if r0 < r1, c0 < c1 { driver.run(rows: r0..<r1, cols: c0..<c1) }
        }
    }
}

/// Floats of an operand that all threads of a product share once packed (4 MiB): beyond it, packing is a small part
/// of the work, and the copy would not stay in cache anyway.
private let sharedPackingLimit = 1 << 20

/// Calls `body` with `count` values that are `stride` apart as a contiguous buffer (copying only when strided).
private func withContiguous<R>(_ p: UnsafePointer<Float>, stride: Int, count: Int,
                               _ body: (UnsafePointer<Float>) -> R) -> R {
    if stride == 1 || count == 1 { return body(p) }
    return withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { t in
        for i in 0..<count { t[i] = p[i * stride] }
        return body(t.baseAddress!)
    }
}

/// The GotoBLAS/BLIS loop nest over one rectangle of C (one per thread, so threads never wait on each other): the A
/// block (mc x kc) is packed once per k block, the B block (kc x nc) once per A block and k block; then each A panel
/// stays in L1 while the micro-kernel sweeps the B panels past it.
private struct BlockedProduct {
    let m: Int, n: Int, k: Int
    let alpha: Float
    let a: SGEMMOperand, b: SGEMMOperand
    let beta: Float
    let c: UnsafeMutablePointer<Float>
    let ldc: Int
    let epilogue: Epilogue
    let kernel: SGEMMKernel

    /// Splits C into tm x tn rectangles (whole panels) for up to `threads` threads, minimising each thread's
    /// multiply-adds plus packing (a packed element costs about what 16 multiply-adds do).
    func partition(threads: Int) -> (Int, Int) {
        let mr = kernel.mr, nr = kernel.nr
        let mp = (m + mr - 1) / mr, np = (n + nr - 1) / nr
        // Below ~2^18 multiply-adds per thread, waking threads costs more than it saves.
        // Parenthesised: in Swift `>>` binds tighter than `*`.
        let useful = max(1, min(threads, (m * n * k) >> 18))
        if useful == 1 { return (1, 1) }
        var packsA = true, packsB = true
        if case .packed = a { packsA = false }
        if case .packed = b { packsB = false }
        var best = (1, 1), bestCost = Double.infinity
        for tm in 1...useful {
            let tn = useful / tm
            guard tm <= mp, tn <= np else { continue }
            let rows = (mp + tm - 1) / tm * mr, cols = (np + tn - 1) / tn * nr
            var cost = Double(rows) * Double(cols) * Double(k)
            if packsA { cost += 16 * Double(rows) * Double(k) }
            if packsB { cost += 16 * Double(cols) * Double(k) * Double((rows + kernel.mc - 1) / kernel.mc) }
            if cost < bestCost { bestCost = cost; best = (tm, tn) }
        }
        return best
    }

    /// The B-panel-outer sweep of a block for a B read from L3 or memory: the first A panel to reach each B step
    /// waited on memory while the others, reading it from L1, left memory idle. Each B panel is taken 64 steps at a
    /// time past all A panels, and each tile asks for its share of the B steps 256 ahead, so that B streams in
    /// evenly while the micro-kernel works. Five 512-channel 3x3 layers at 7x7 (pixels as rows, 9 MiB of weights
    /// each), 1 thread: 12.3 -> 9.9 ms; resnet18 26.4 -> 24.3 ms (1 thread), 12.9 -> 12.0 (2). Steps of 64 cost
    /// about 10 % where B stays in L2 between runs (one such layer alone), hence only for a B larger than half of L2:
    /// in a model, the other layers' weights and activations evict such a B before the next run (mobilenet_v2's 7x7
    /// layers with 1.2-1.6 MiB of weights on a 2 MiB L2: 6-10 % faster in the model, the model about 1 % at 1 thread).
    private func streamed(rows mcur: Int, cols ncur: Int, depth kcur: Int, b bBlock: UnsafePointer<Float>,
                          _ tile: (Int, Int, Int, Int) -> Void) {
        let mr = kernel.mr, nr = kernel.nr, step = 64, ahead = 4 * step
        let share = step * nr / ((mcur + mr - 1) / mr), end = bBlock + ncur * kcur
        for jr in stride(from: 0, to: ncur, by: nr) {
            for ks in stride(from: 0, to: kcur, by: step) {
                // B step s of panel jr is at bBlock + jr * kcur + s * nr: panels follow each other in a block.
                let next = bBlock + jr * kcur + (ks + ahead) * nr
                for ir in stride(from: 0, to: mcur, by: mr) {
                    let p = next + ir / mr * share
                    if p + share <= end { dl_prefetch_l2(p, Int64(share * 4)) }
                    tile(ir, jr, ks, min(step, kcur - ks))
                }
            }
        }
    }

    func run(rows: Range<Int>, cols: Range<Int>) {
        let mr = kernel.mr, nr = kernel.nr, kc = kernel.kc
        // A packed B (weights) larger than half of L2 comes from L3 or memory on every run (`streamed` below).
        var streamsB = false
        if case .packed(let pb) = b { streamsB = pb.rows * pb.cols * 8 > SGEMMKernel.l2Bytes ?? 1 << 20 }
        let scratch = GemmScratch.take()
        defer { GemmScratch.give(scratch) }
        var ic = rows.lowerBound
        while ic < rows.upperBound {
            let mcur = min(kernel.mc, rows.upperBound - ic)
            var pc = 0
            while pc < k {
                let kcur = min(kc, k - pc)
                let aBlock: UnsafePointer<Float>
                switch a {
                case .packed(let pa): aBlock = pa.block(k: pc, depth: kcur, from: ic)
                case .matrix(let p, let ld, let t):
                    packPanels(scratch.a, p + (t ? pc * ld + ic : ic * ld + pc), rowStride: t ? 1 : ld,
                               kStride: t ? ld : 1, rows: mcur, kc: kcur, width: mr)
                    aBlock = UnsafePointer(scratch.a)
                }
                let betaNow = pc == 0 ? beta : 1
                let last = pc + kcur == k && !epilogue.isEmpty
                var jc = cols.lowerBound
                while jc < cols.upperBound {
                    let ncur = min(kernel.nc, cols.upperBound - jc)
                    let bBlock: UnsafePointer<Float>
                    switch b {
                    case .packed(let pb): bBlock = pb.block(k: pc, depth: kcur, from: jc)
                    case .matrix(let p, let ld, let t):
                        packPanels(scratch.b, p + (t ? jc * ld + pc : pc * ld + jc), rowStride: t ? ld : 1,
                                   kStride: t ? 1 : ld, rows: ncur, kc: kcur, width: nr)
                        bBlock = UnsafePointer(scratch.b)
                    }
                    // Steps ks ..< ks + depth of the tile at (ir, jr).
                    func tile(_ ir: Int, _ jr: Int, _ ks: Int, _ depth: Int) {
                        let rowsNow = min(mr, mcur - ir), colsNow = min(nr, ncur - jr)
                        let ap = aBlock + ir * kcur + ks * mr, bp = bBlock + jr * kcur + ks * nr
                        let cp = c + (ic + ir) * ldc + jc + jr, beta = ks == 0 ? betaNow : 1
                        let lastNow = last && ks + depth == kcur
                        if lastNow, var ep = epilogue.inKernel(row: ic + ir) {
                            kernel(depth, ap, bp, cp, ldc, rowsNow, colsNow, alpha, beta, epilogue: &ep)
                        } else {
                            kernel(depth, ap, bp, cp, ldc, rowsNow, colsNow, alpha, beta)
                            if lastNow {
                                epilogue.apply(cp, ldc, row: ic + ir, col: jc + jr, rows: rowsNow, cols: colsNow)
                            }
                        }
                    }
                    // An A panel stays in L1 while the B block streams past it; but when the A block is small
                    // enough for L2 (few rows, e.g. a convolution's pixels against its weights), each B panel stays
                    // instead and the A panels pass it, so that a large B block is read once rather than once per
                    // A panel (a 512-channel 3x3 layer at 7x7 through pixelRowsConv: 2.46 -> 2.40 ms, one thread).
                    if mcur * kcur <= 1 << 15 {
                        if streamsB {
                            streamed(rows: mcur, cols: ncur, depth: kcur, b: bBlock, tile)
                        } else {
                            for jr in stride(from: 0, to: ncur, by: nr) {
                                for ir in stride(from: 0, to: mcur, by: mr) { tile(ir, jr, 0, kcur) }
                            }
                        }
                    } else {
                        for ir in stride(from: 0, to: mcur, by: mr) {
                            for jr in stride(from: 0, to: ncur, by: nr) { tile(ir, jr, 0, kcur) }
                        }
                    }
                    jc += ncur
                }
                pc += kcur
            }
            ic += mcur
        }
    }
}

/// Per-thread packing buffers, recycled across calls so that steady-state products allocate nothing.
private final class GemmScratch: @unchecked Sendable {
    let a: UnsafeMutablePointer<Float>
    let b: UnsafeMutablePointer<Float>

    private init() {
        let kernels = SGEMMKernel.available.flatMap { [$0, $0.forMatrices] }
        let aCount = kernels.map { $0.mc * $0.kc }.max()!
        let bCount = kernels.map { $0.kc * $0.nc }.max()!
        a = allocateFloats(aCount + bCount)
        b = a + aCount
    }

    private static let free = Mutex<[GemmScratch]>([])
    static func take() -> GemmScratch {
        let s = free.withLock { list -> GemmScratch? in list.popLast() }
        return s ?? GemmScratch()
    }
    static func give(_ s: GemmScratch) { free.withLock { list in list.append(s) } }
}
