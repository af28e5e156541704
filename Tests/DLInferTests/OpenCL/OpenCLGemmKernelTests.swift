import DLInferCore
@testable import DLInferOpenCL
import XCTest

/// CLGemm itself against a double-precision reference, each path forced: every tiling of every device profile
/// (so parameter sets for GPUs we cannot run here at least compile and compute the right thing on this device),
/// the GEMV kernel at each row count, both ways round; sizes around every tile edge, all transposes, offsets and
/// leading dimensions that do and do not allow vector loads, batches with shared (stride 0) operands, every bias
/// shape, alpha/beta, activations. C is surrounded by sentinels that must survive.
final class OpenCLGemmKernelTests: OpenCLTestCase {
    enum BiasKind: CaseIterable { case none, scalar, row, column, full, batched }

    struct Case: CustomStringConvertible {
        var m: Int, n: Int, k: Int
        var batch = 1
        var transA = false, transB = false
        var sharedA = false, sharedB = false
        /// Extra elements in every leading dimension and offset: odd values defeat vector loads and stores.
        var pad = 0
        var bias = BiasKind.none
        var alpha: Float = 1, beta: Float = 1
        var activation: Activation? = nil

        var description: String {
            "\(m)x\(n)x\(k) batch \(batch) tA \(transA) tB \(transB) shared \(sharedA)/\(sharedB) pad \(pad) bias \(bias) "
                + "alpha \(alpha) beta \(beta) act \(activation.map { "\($0)" } ?? "none")"
        }
    }

    private var queue: CLQueue?

    private func q() throws -> CLQueue {
        if let queue { return queue }
        let made = try CLQueue(try CLDeviceContext.forDevice(try openCLDevice()))
        queue = made
        return made
    }

    /// Runs `c` along `path` (the automatic one when nil) and compares with the reference.
    func check(_ c: Case, _ path: GemmPath?, config: GemmConfig? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let q = try q()
        let gemm = try config.map { CLGemm(q, config: $0) } ?? CLGemm(q)
        // Stored operands: A is m x k (k x m transposed), B k x n (n x k transposed).
        let (ra, ca) = c.transA ? (c.k, c.m) : (c.m, c.k), (rb, cb) = c.transB ? (c.n, c.k) : (c.k, c.n)
        let lda = ca + c.pad, ldb = cb + c.pad, ldc = c.n + c.pad
        let sA = c.sharedA ? 0 : ra * lda, sB = c.sharedB ? 0 : rb * ldb, sC = c.m * ldc
        let a = random([c.pad + (c.sharedA ? 1 : c.batch) * ra * lda]).array(Float.self)
        let b = random([c.pad + (c.sharedB ? 1 : c.batch) * rb * ldb]).array(Float.self)
        let sentinel: Float = 12345
        let cInit = [Float](repeating: sentinel, count: c.pad + c.batch * sC + 3)
        let (biasCount, rs, cs, bs): (Int, Int, Int, Int) = switch c.bias {
        case .none: (1, 0, 0, 0)
        case .scalar: (1, 0, 0, 0)
        case .row: (c.m, 1, 0, 0)
        case .column: (c.n, 0, 1, 0)
        case .full: (c.m * c.n, c.n, 1, 0)
        case .batched: (c.batch * c.m * c.n, c.n, 1, c.m * c.n)
        }
        let biasValues = random([c.pad + biasCount]).array(Float.self)

        let da = try q.upload(Tensor(a, shape: [a.count])), db = try q.upload(Tensor(b, shape: [b.count]))
        let dc = try q.upload(Tensor(cInit, shape: [cInit.count])), dbias = try q.upload(Tensor(biasValues, shape: [biasValues.count]))
        let bias = c.bias == .none ? nil
            : GemmBias(tensor: dbias, offset: c.pad, rowStride: rs, colStride: cs, batchStride: bs, beta: c.beta)
        let opA = GemmOperand(tensor: da, offset: c.pad, ld: lda, batchStride: sA, transposed: c.transA)
        let opB = GemmOperand(tensor: db, offset: c.pad, ld: ldb, batchStride: sB, transposed: c.transB)
        let opC = GemmOperand(tensor: dc, offset: c.pad, ld: ldc, batchStride: sC)
        let chosen = path ?? gemm.config.path(m: c.m, n: c.n, batch: c.batch)
        try gemm.enqueue(chosen, m: c.m, n: c.n, k: c.k, batch: c.batch, alpha: c.alpha, a: opA, b: opB, c: opC,
                         bias: bias, activation: c.activation)
        let got = try q.download(dc)

        var want = cInit
        for bi in 0..<c.batch {
            for i in 0..<c.m {
                for j in 0..<c.n {
                    var s = 0.0
                    for p in 0..<c.k {
                        let av = a[c.pad + bi * sA + (c.transA ? p * lda + i : i * lda + p)]
                        let bv = b[c.pad + bi * sB + (c.transB ? j * ldb + p : p * ldb + j)]
                        s += Double(av) * Double(bv)
                    }
                    var v = Float(s) * c.alpha
                    if c.bias != .none { v += c.beta * biasValues[c.pad + bi * bs + i * rs + j * cs] }
                    want[c.pad + bi * sC + i * ldc + j] = c.activation?.apply(v) ?? v
                }
            }
        }
        assertClose(got, Tensor(want, shape: [want.count]), rtol: 1e-3, atol: 1e-4,
                    "\(chosen) \(c)", file: file, line: line)
    }

    /// The variations each size runs through: transposes, alignment, batching, bias, scaling and activation.
    func variants(m: Int, n: Int, k: Int) -> [Case] {
        var out = [Case]()
        for (i, (tA, tB)) in [(false, false), (false, true), (true, false), (true, true)].enumerated() {
            out.append(Case(m: m, n: n, k: k, transA: tA, transB: tB, bias: [.none, .column, .row, .full][i]))
        }
        out.append(Case(m: m, n: n, k: k, pad: 1, bias: .scalar, alpha: 0.5, beta: -2, activation: .relu))
        out.append(Case(m: m, n: n, k: k, batch: 3, transB: true, sharedA: true, pad: 4, bias: .batched, activation: .tanh))
        out.append(Case(m: m, n: n, k: k, batch: 2, transA: true, sharedB: true, pad: 3, bias: .column,
                        activation: .leakyRelu(alpha: 0.1)))
        return out
    }

    func testEveryTilingOfEveryProfile() throws {
        let device = try openCLDevice()
        var seen = Set<GemmTiling>()
        for name in GemmConfig.profiles.keys.sorted() {
            for t in GemmConfig.profiles[name]! where seen.insert(t).inserted {
                XCTAssertNil(t.problem, "\(name) \(t)")
                guard t.workGroupSize <= device.maxWorkGroupSize, UInt64(t.localBytes) <= device.localMemory else { continue }
                let config = GemmConfig(tilings: [t], minWorkGroups: 1)
                // Interior tiles only (vector loads where aligned), once with several K blocks; edges on every side
                // with a partial last K block, with aligned then with odd leading dimensions.
                for (m, n, k) in [(t.mwg, t.nwg, t.kwg), (2 * t.mwg, 2 * t.nwg, 3 * t.kwg),
                                  (t.mwg + 16, 2 * t.nwg - 8, 2 * t.kwg + 8), (2 * t.mwg + 3, t.nwg + 5, 2 * t.kwg + 1)] {
                    for c in variants(m: m, n: n, k: k) { try check(c, .tiled(t), config: config) }
                }
            }
        }
    }

    func testTiledOddShapes() throws {
        let t = GemmConfig.small
        let config = GemmConfig(tilings: [t], minWorkGroups: 1)
        for (m, n, k) in [(9, 9, 1), (1, 40, 7), (40, 1, 7), (33, 31, 0), (31, 33, 17), (64, 32, 15), (100, 3, 50)] {
            for c in variants(m: m, n: n, k: k) { try check(c, .tiled(t), config: config) }
        }
    }

    func testGemvEveryRowCountBothWays() throws {
        for rows in [1, 2, 4, 8] {
            for tiny in Set([max(1, rows / 2 + 1), rows]) {
                for (k, wide) in [(1, 1), (37, 70), (300, 45)] {
                    for c in variants(m: tiny, n: wide, k: k) { try check(c, .gemv(rows: rows, swapped: false)) }
                    for c in variants(m: wide, n: tiny, k: k) { try check(c, .gemv(rows: rows, swapped: true)) }
                }
            }
        }
    }

    /// The automatic choice on this device, across the GEMV limit and the tile edges of its tilings.
    func testAutomaticPathsAroundEdges() throws {
        for (m, n, k) in [(8, 100, 20), (9, 100, 20), (100, 8, 20), (100, 9, 20), (31, 33, 16), (63, 65, 17),
                          (64, 64, 64), (65, 129, 33), (130, 70, 3)] {
            for c in variants(m: m, n: n, k: k) { try check(c, nil) }
        }
    }

    func testPathChoice() {
        let big = GemmConfig.profiles["nvidia"]!
        let h100 = GemmConfig(tilings: big, minWorkGroups: 132)
        XCTAssertEqual(h100.path(m: 1, n: 1000, batch: 1), .gemv(rows: 1, swapped: false))
        XCTAssertEqual(h100.path(m: 1000, n: 3, batch: 1), .gemv(rows: 4, swapped: true))
        XCTAssertEqual(h100.path(m: 8, n: 8, batch: 1), .gemv(rows: 8, swapped: false))
        XCTAssertEqual(h100.path(m: 4096, n: 4096, batch: 1), .tiled(big[0]))
        XCTAssertEqual(h100.path(m: 2048, n: 2048, batch: 1), .tiled(big[0]))
        // 64 big tiles would leave half of 132 compute units idle.
        XCTAssertEqual(h100.path(m: 1024, n: 1024, batch: 1), .tiled(big[1]))
        XCTAssertEqual(h100.path(m: 1024, n: 1024, batch: 4), .tiled(big[0]))
        // Mostly edge: 130 rows would fill two 128-row tiles.
        XCTAssertEqual(h100.path(m: 130, n: 4096, batch: 8), .tiled(big[2]))
        XCTAssertEqual(h100.path(m: 20, n: 20, batch: 1), .tiled(big[2]))
    }

    func testIndexRangeBeyondInt32IsRefused() throws {
        let q = try q()
        let t = try q.allocate(.float32, [16])
        let big = GemmOperand(tensor: t, ld: 1 << 29), small = GemmOperand(tensor: t, ld: 4)
        XCTAssertThrowsError(try CLGemm(q).enqueue(m: 4, n: 4, k: 4, a: big, b: small, c: small)) {
            XCTAssertEqual(($0 as? DLInferError)?.kind, .unsupported)
        }
    }

    func testTilingOverrides() throws {
        let base = GemmConfig.profiles["nvidia"]![0]
        let t = try GemmTiling(parsing: "MWG=64, NWG=32,MDIMC=16,NDIMC=8,VWN=4,STRN=1", base: base)
        XCTAssertEqual(t, GemmTiling(mwg: 64, nwg: 32, kwg: 16, mdimc: 16, ndimc: 8, vwm: 4, vwn: 4, strn: true))
        XCTAssertThrowsError(try GemmTiling(parsing: "MWG=100", base: base))
        XCTAssertThrowsError(try GemmTiling(parsing: "TILE=4", base: base))
        XCTAssertThrowsError(try GemmTiling(parsing: "MWG", base: base))
        // Strided register tiles on this device too (no profile uses them yet).
        let config = GemmConfig(tilings: [t], minWorkGroups: 1)
        for c in variants(m: 2 * t.mwg + 1, n: t.nwg + 3, k: 40) { try check(c, .tiled(t), config: config) }
    }
}
