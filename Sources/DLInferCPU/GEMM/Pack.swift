import CDLInferKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Packed layout (GotoBLAS/BLIS): an operand is cut into k blocks of depth kc; each block into panels of `width`
// (mr rows of A, or nr columns of B); a panel stores, for each k step, its `width` values contiguously, zero-padded
// past the matrix edge. The micro-kernel then reads both operands strictly sequentially.

/// Packs rows `0..<rows` (in the panel direction) and k steps `0..<kc` of X, where X(r, p) = src[r * rs + p * ks],
/// into consecutive panels of `width`.
@inline(__always)
func packPanels(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, rowStride rs: Int, kStride ks: Int,
                rows: Int, kc: Int, width w: Int) {
    panelPacker(dst, src, Int64(rs), Int64(ks), Int64(rows), Int64(kc), Int64(w))
}

/// The packing of the widest instruction set this CPU has, whichever kernel set reads the panels: their layout
/// depends on the width alone. In C, for its vectors: Swift's SIMD types compile to SSE2 here.
private let panelPacker = SGEMMKernel.available[0].pack

/// A matrix operand packed once (typically a constant weight at kernel creation) for `sgemm`: as the left operand
/// op(A) [m x k] (Conv's weights [Cout x K]) or the right operand op(B) [k x n] (Gemm/MatMul/RNN weights).
public final class PackedMatrix: @unchecked Sendable {
    public enum Side: Sendable { case left, right }
    public let side: Side
    /// Shape of the operand as used in the product: m x k (left) or k x n (right).
    public let rows: Int
    public let cols: Int
    public let kernel: SGEMMKernel
    let data: UnsafeMutablePointer<Float>
    /// Whether `data` is this matrix's own (else the caller's, which outlives it).
    private let ownsData: Bool
    /// The panel-direction extent (m or n) rounded up to whole panels.
    let paddedExtent: Int

    /// Packs op(X), where X is stored row-major with row stride `ld` and op(X) = Xᵀ if `transposed`, into memory of
    /// its own, or into `storage` (`floats(...)` of them, kept alive by the caller while the matrix is used).
    /// `grain`: floats packed per task at least (a few tasks per thread for an operand packed on every run).
    public convenience init(_ side: Side, rows: Int, cols: Int, _ x: UnsafePointer<Float>, ld: Int, transposed: Bool,
                            kernel: SGEMMKernel = .preferred, into storage: UnsafeMutablePointer<Float>? = nil,
                            grain: Int = 65536) {
        precondition(rows >= 0 && cols >= 0, "negative matrix size")
        self.init(side, rows: rows, cols: cols, kernel: kernel,
                  data: storage ?? allocateFloats(Self.floats(side, rows: rows, cols: cols, kernel: kernel)),
                  ownsData: storage == nil)
        let extent = self.extent, depth = self.depth, w = side == .left ? kernel.mr : kernel.nr
        // Element (r, p) of op(X), r in the panel direction and p in depth, is x[r * rs + p * ks].
        let panelDirectionContiguous = (side == .left) == transposed
        let rs = panelDirectionContiguous ? 1 : ld, ks = panelDirectionContiguous ? ld : 1
        let kc = kernel.kc, blocks = (depth + kc - 1) / kc, padded = paddedExtent, panels = padded / w
        let data = data
        parallelFor(blocks * panels, grain: max(1, grain / max(1, w * kc))) { range in
            var t = range.lowerBound
            while t < range.upperBound {
                let kb = t / panels, panel = t % panels
                // Where rows lie along memory, the range's panels of this block in one call, which reads each
                // source line once for all of them: panel by panel, Xᵀ of 960 channels at 7x7 (pixelRowsConv)
                // read each line five times, and packing took 17 % of that layer's time.
                let count = rs == 1 ? min(range.upperBound - t, panels - panel) : 1
                let k0 = kb * kc, kcur = min(kc, depth - k0), r0 = panel * w
                packPanels(data + k0 * padded + r0 * kcur, x + r0 * rs + k0 * ks, rowStride: rs, kStride: ks,
                           rows: min(count * w, extent - r0), kc: kcur, width: w)
                t += count
            }
        }
    }

    /// An operand whose panels the caller has written into `storage` (`floats(...)` of them, in the layout above, kept
    /// alive by the caller while the matrix is used).
    convenience init(_ side: Side, rows: Int, cols: Int, kernel: SGEMMKernel,
                     packedAt storage: UnsafeMutablePointer<Float>) {
        self.init(side, rows: rows, cols: cols, kernel: kernel, data: storage, ownsData: false)
    }

    private init(_ side: Side, rows: Int, cols: Int, kernel: SGEMMKernel, data: UnsafeMutablePointer<Float>,
                 ownsData: Bool) {
        self.side = side; self.rows = rows; self.cols = cols; self.kernel = kernel
        let w = side == .left ? kernel.mr : kernel.nr
        paddedExtent = ((side == .left ? rows : cols) + w - 1) / w * w
        self.data = data
        self.ownsData = ownsData
    }

    deinit { if ownsData { free(data) } }

    /// Floats `init(into:)` packs an operand of this side and shape into.
    static func floats(_ side: Side, rows: Int, cols: Int, kernel: SGEMMKernel) -> Int {
        let w = side == .left ? kernel.mr : kernel.nr
        return side == .left ? (rows + w - 1) / w * w * cols : (cols + w - 1) / w * w * rows
    }

    var extent: Int { side == .left ? rows : cols }
    var depth: Int { side == .left ? cols : rows }

    /// The panels of the k block starting at `k0` (depth `kcur`), from panel-direction index `start` (a panel boundary).
    @inline(__always)
    func block(k k0: Int, depth kcur: Int, from start: Int) -> UnsafePointer<Float> {
        UnsafePointer(data + k0 * paddedExtent + start * kcur)
    }
}

/// 64-byte aligned memory for `count` floats (at least one cache line), released with `free`.
func allocateFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    var p: UnsafeMutableRawPointer? = nil
    // Not a precondition: -Ounchecked would assume it true without calling posix_memalign.
    if posix_memalign(&p, 64, max(count, 16) * 4) != 0 || p == nil { fatalError("dlinfer: out of memory (\(count * 4) bytes)") }
    return p!.bindMemory(to: Float.self, capacity: max(count, 16))
}
