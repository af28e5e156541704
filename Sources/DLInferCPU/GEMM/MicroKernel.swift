import CDLInferKernels

/// One register-blocked SGEMM micro-kernel (from the C target, picked by cpuid) and the cache blocking that suits it.
/// Packed operands are laid out for one kernel; a `PackedMatrix` remembers which.
public struct SGEMMKernel: @unchecked Sendable, Equatable {
    public let name: String
    /// Tile height (rows of A per panel) and width (columns of B per panel).
    public let mr: Int
    public let nr: Int
    /// Depth of one k block: an A panel (mr x kc) stays in L1 while B panels stream past it.
    let kc: Int
    /// Columns of one packed B block (kc x nc, kept in L2); a multiple of nr.
    let nc: Int
    /// Rows of one packed A block; a multiple of mr. Large, so that each thread packs B about once.
    let mc: Int
    let function: dl_sgemm_ukernel_fn

    public static func == (l: SGEMMKernel, r: SGEMMKernel) -> Bool { l.name == r.name }

    /// Every kernel this CPU can run, fastest first.
    public static let available: [SGEMMKernel] = {
        var count: Int32 = 0
        let table = dl_sgemm_ukernels(&count)!
        return (0..<Int(count)).map { i in
            let k = table[i]
            let mr = Int(k.mr), nr = Int(k.nr)
            return SGEMMKernel(name: String(cString: k.name), mr: mr, nr: nr, kc: 384,
                               nc: (384 / nr) * nr, mc: (1536 / mr) * mr, function: k.kernel)
        }
    }()

    /// The kernel used unless a caller asks for another.
    public static let preferred: SGEMMKernel = available[0]

    /// C[mr' x nr'] = alpha * Ap * Bp + beta * C for packed panels of depth kc.
    @inline(__always)
    func callAsFunction(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                        _ ldc: Int, _ rows: Int, _ cols: Int, _ alpha: Float, _ beta: Float) {
        function(Int64(kc), a, b, c, Int64(ldc), Int64(rows), Int64(cols), alpha, beta)
    }
}
