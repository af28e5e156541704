import CDLInferKernels
#if canImport(Glibc)
import Glibc
#endif

/// One instruction set's kernels from the C target (picked by cpuid): the register-blocked SGEMM micro-kernel, the
/// cache blocking that suits it, the matrix-vector kernels, the softmax exponential, erf, sigmoid, tanh, the
/// depthwise 3x3 plane, 2-D max pooling, Winograd's transforms and the packing of operands into panels.
/// Packed operands are laid out for one kernel; a `PackedMatrix` remembers which.
public struct SGEMMKernel: @unchecked Sendable, Equatable {
    /// This set's entry in the C target's table (static, so valid for the process's life). A pointer and three
    /// blocking sizes, so that passing a kernel copies four words: with the entry's fifteen fields and name held
    /// here, every product copied them and retained the name (5 % of a small Winograd layer's time in memcpy).
    private let entry: UnsafePointer<dl_sgemm_ukernel>
    public var name: String { String(cString: entry.pointee.name) }
    /// Tile height (rows of A per panel) and width (columns of B per panel).
    public var mr: Int { Int(entry.pointee.mr) }
    public var nr: Int { Int(entry.pointee.nr) }
    /// Depth of one k block: an A panel (mr x kc) stays in L1 while B panels stream past it.
    private(set) var kc: Int
    /// Columns of one packed B block (kc x nc, streamed past the A panel); a multiple of nr.
    private(set) var nc: Int
    /// Rows of one packed A block; a multiple of mr. B is packed again for each A block, so this is large.
    private(set) var mc: Int
    var function: dl_sgemm_ukernel_fn { entry.pointee.kernel }
    var indirectFunction: dl_sgemm_indirect_fn { entry.pointee.indirect }
    var rows: dl_sgemv_rows_fn { entry.pointee.gemv_rows }
    var dots: dl_sgemv_dots_fn { entry.pointee.gemv_dots }
    var packedRow: dl_sgemv_packed_fn { entry.pointee.gemv_packed }
    var expSum: dl_exp_sum_fn { entry.pointee.exp_sum }
    var erfRow: dl_map_fn { entry.pointee.erf }
    var sigmoidRow: dl_map_fn { entry.pointee.sigmoid }
    var tanhRow: dl_map_fn { entry.pointee.tanh }
    var pool2D: dl_pool2d_fn { entry.pointee.pool2d }
    var depthwisePlane: dl_dwconv3x3_fn { entry.pointee.dwconv3x3 }
    var winogradInput: dl_winograd_input_fn { entry.pointee.winograd_input }
    var winogradOutput: dl_winograd_output_fn { entry.pointee.winograd_output }
    var pack: dl_pack_fn { entry.pointee.pack }
    var transposeOut: dl_transpose_out_fn { entry.pointee.transpose_out }

    /// Operands packed for one kernel suit another only with the same panels and k blocks.
    public static func == (l: SGEMMKernel, r: SGEMMKernel) -> Bool { l.entry == r.entry && l.kc == r.kc }

    /// Every kernel this CPU can run, fastest first.
    public static let available: [SGEMMKernel] = {
        var count: Int32 = 0
        let table = dl_sgemm_ukernels(&count)!
        return (0..<Int(count)).map { i in
            let mr = Int(table[i].mr), nr = Int(table[i].nr)
            // Measured on Zen 4 (32 KiB L1d, 1 MiB L2) at 1024^3 and at conv/dense shapes: a deep k block (the A
            // panel, 24 KiB, still fits L1) and a wide B block (2 MiB, streamed from L3) beat L2-sized B blocks.
            return SGEMMKernel(entry: table + i, kc: 512, nc: (1024 / nr) * nr, mc: (768 / mr) * mr)
        }
    }()

    /// The same kernels blocked for a product that packs both of its operands as it goes (neither was packed
    /// ahead, as weights are). On Intel, whose L3 feeds a core more slowly than Zen 4's, with k blocks of 256, a B
    /// block of half the L2 and A blocks of 3072 rows: on Sapphire Rapids (48 KiB L1d, 2 MiB L2), `sgemm.py` at n =
    /// 1024 / 2048, 1 thread, read 0.86 / 0.85 of OpenBLAS with the blocking above and 0.97 / 0.97 this way (nc 2048:
    /// 0.84 at 2048; A blocks of 768 rows, so that B is packed four times as often: 0.94 / 0.93); at 2 threads
    /// 0.80-0.83 -> 0.89-0.95. Weights keep the blocking above: with this one densenet121 ran 2 % slower at 2 threads
    /// (in its convolutions' k blocks), the other models the same.
    var forMatrices: SGEMMKernel {
        guard let b = Self.matrixBlocking else { return self }
        var k = self
        k.kc = b.kc
        k.nc = max(8, b.nc / nr) * nr
        k.mc = b.mc / mr * mr
        return k
    }

    /// kc, nc and mc (before rounding to panels) for `forMatrices`; nil off Intel.
    private static let matrixBlocking: (kc: Int, nc: Int, mc: Int)? = {
        guard dl_cpu_is_intel() != 0 else { return nil }
        let kc = 256
        return (kc, l2Bytes.map { min(1024, $0 / 2 / (kc * 4)) } ?? 1024, 3072)
    }()

    /// Bytes of this CPU's L1 data cache and L2 per core; nil where the system does not say.
    static let l1Bytes = cacheBytes(_SC_LEVEL1_DCACHE_SIZE)
    static let l2Bytes = cacheBytes(_SC_LEVEL2_CACHE_SIZE)

    private static func cacheBytes(_ name: Int) -> Int? {
        let bytes = sysconf(Int32(name))
        return bytes > 0 ? bytes : nil
    }

    /// The kernel set used unless a caller asks for another: the fastest, or the one `DLINFER_CPU_KERNELS` names
    /// when this CPU has it (to compare sets, or to test the narrower ones on a wider CPU).
    public static let preferred: SGEMMKernel = {
        guard let s = getenv("DLINFER_CPU_KERNELS") else { return available[0] }
        let name = String(cString: s)
        return available.first { $0.name == name } ?? available[0]
    }()

    /// y[j] = exp(x[j] - shift) for j < count, returning their sum (y may be x, or nil to only sum): a softmax row's
    /// exponentials after subtracting its maximum. Below -87.3 a value gives 0, NaN stays NaN; elsewhere within 2 ulp
    /// of expf.
    @inline(__always)
    public func expShiftedSum(_ x: UnsafePointer<Float>, count: Int, shift: Float, into y: UnsafeMutablePointer<Float>?) -> Float {
        expSum(Int64(count), x, shift, y)
    }

    /// y[j] = sigmoid(x[j]) for j < count (y may be x): within a few ulp, NaN stays NaN.
    @inline(__always)
    func sigmoid(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        sigmoidRow(Int64(count), x, y)
    }

    /// y[j] = tanh(x[j]) for j < count (y may be x): within a few ulp (absolute error below 1e-7), NaN stays NaN.
    @inline(__always)
    func tanh(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        tanhRow(Int64(count), x, y)
    }

    /// y[j] = erf(x[j]) for j < count (y may be x): within 6 ulp, NaN stays NaN.
    @inline(__always)
    public func erf(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        erfRow(Int64(count), x, y)
    }

    /// Output planes c0 ..< c1 of a depthwise 3x3 convolution of one image (see dl_dwconv3x3_args), with
    /// dl_dwconv3x3_scratch(args) floats of scratch, aligned on 64 bytes.
    @inline(__always)
    func depthwise3x3(_ args: inout dl_dwconv3x3_args, planes: Range<Int>, scratch: UnsafeMutablePointer<Float>) {
        depthwisePlane(&args, Int64(planes.lowerBound), Int64(planes.upperBound), scratch)
    }

    /// C[mr' x nr'] = alpha * Ap * Bp + beta * C for packed panels of depth kc, then `epilogue` (bias per row of the
    /// tile, clamp) when given.
    @inline(__always)
    func callAsFunction(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                        _ ldc: Int, _ rows: Int, _ cols: Int, _ alpha: Float, _ beta: Float,
                        epilogue: UnsafePointer<dl_epilogue>? = nil) {
        function(Int64(kc), a, b, c, Int64(ldc), Int64(rows), Int64(cols), alpha, beta, epilogue)
    }

    /// The same with B read in place: step p's nr floats start at b + offsets[p]; all nr must be readable even when
    /// `cols` < nr (the extra columns are computed and dropped).
    @inline(__always)
    func indirect(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ offsets: UnsafePointer<Int64>,
                  _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ rows: Int, _ cols: Int, beta: Float,
                  epilogue: UnsafePointer<dl_epilogue>?) {
        indirectFunction(Int64(kc), a, b, offsets, c, Int64(ldc), Int64(rows), Int64(cols), 1, beta, epilogue)
    }
}
