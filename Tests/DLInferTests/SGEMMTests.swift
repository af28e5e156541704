import DLInferCore
import DLInferCPU
import Foundation
import XCTest

/// sgemm against a naive double-precision reference: every transpose combination, alpha/beta, awkward and strided
/// shapes, packed operands, bias and activation epilogues, for every micro-kernel this CPU can run.
final class SGEMMTests: XCTestCase {
    struct Case {
        var m: Int, n: Int, k: Int
        var transA = false, transB = false
        var alpha: Float = 1, beta: Float = 0
        /// Extra elements at the end of each stored row (strided lda/ldb/ldc).
        var pad = 0
    }

    /// A stored matrix with its row stride, filled with values in [-1, 1].
    struct Matrix {
        var rows: Int, cols: Int, ld: Int
        var data: [Float]
        init(_ rows: Int, _ cols: Int, pad: Int, seed: inout UInt64) {
            self.rows = rows; self.cols = cols; ld = cols + pad
            data = (0..<max(rows * ld, 1)).map { _ in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int(seed >> 41) % 2001 - 1000) / 1000
            }
        }
        subscript(i: Int, j: Int) -> Float { data[i * ld + j] }
    }

    func reference(_ t: Case, _ a: Matrix, _ b: Matrix, _ c: Matrix, bias: SGEMMBias = .none,
                   biasValues: [Float] = [], activation: Activation? = nil) -> [Double] {
        var out = [Double](repeating: 0, count: t.m * t.n)
        for i in 0..<t.m {
            for j in 0..<t.n {
                var s = 0.0
                for p in 0..<t.k {
                    s += Double(t.transA ? a[p, i] : a[i, p]) * Double(t.transB ? b[j, p] : b[p, j])
                }
                var v = Double(t.alpha) * s + (t.beta == 0 ? 0 : Double(t.beta) * Double(c[i, j]))
                switch bias {
                case .none: break
                case .perRow: v += Double(biasValues[i])
                case .perColumn: v += Double(biasValues[j])
                }
                if let activation { v = Double(activation.apply(Float(v))) }
                out[i * t.n + j] = v
            }
        }
        return out
    }

    func check(_ got: Matrix, _ want: [Double], _ t: Case, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        // Float accumulation of k products of values <= 1: error grows with k.
        let tol = 2e-6 * Double(t.k + 4) * Double(max(1, abs(t.alpha))) + 1e-6
        var worst = 0.0
        for i in 0..<t.m { for j in 0..<t.n { worst = max(worst, abs(Double(got[i, j]) - want[i * t.n + j])) } }
        XCTAssertLessThanOrEqual(worst, tol, "\(what) m=\(t.m) n=\(t.n) k=\(t.k) transA=\(t.transA) transB=\(t.transB) alpha=\(t.alpha) beta=\(t.beta) pad=\(t.pad)", file: file, line: line)
        // Padding after each row of C must be untouched.
        if got.ld > got.cols {
            for i in 0..<t.m { for j in t.n..<got.ld { XCTAssertEqual(got.data[i * got.ld + j], -7, "wrote past row end", file: file, line: line); return } }
        }
    }

    /// Inputs for a case: A and B as stored, and C pre-filled (NaN where beta == 0, so reading it would show).
    func inputs(_ t: Case, seed: UInt64) -> (Matrix, Matrix, Matrix) {
        var s = seed
        let a = t.transA ? Matrix(t.k, t.m, pad: t.pad, seed: &s) : Matrix(t.m, t.k, pad: t.pad, seed: &s)
        let b = t.transB ? Matrix(t.n, t.k, pad: t.pad, seed: &s) : Matrix(t.k, t.n, pad: t.pad, seed: &s)
        var c = Matrix(t.m, t.n, pad: t.pad, seed: &s)
        for i in 0..<t.m {
            for j in 0..<c.ld { c.data[i * c.ld + j] = j >= t.n ? -7 : (t.beta == 0 ? .nan : c.data[i * c.ld + j]) }
        }
        return (a, b, c)
    }

    /// Runs one product with the given operand forms and returns C.
    func run(_ t: Case, _ a: Matrix, _ b: Matrix, _ c: Matrix, packA: Bool, packB: Bool, kernel: SGEMMKernel,
             bias: SGEMMBias = .none, activation: Activation? = nil, maxThreads: Int? = nil) -> Matrix {
        var out = c
        a.data.withUnsafeBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                out.data.withUnsafeMutableBufferPointer { cp in
                    let opA: SGEMMOperand = packA
                        ? .packed(PackedMatrix(.left, rows: t.m, cols: t.k, ap.baseAddress!, ld: a.ld, transposed: t.transA, kernel: kernel))
                        : .matrix(ap.baseAddress!, ld: a.ld, transposed: t.transA)
                    let opB: SGEMMOperand = packB
                        ? .packed(PackedMatrix(.right, rows: t.k, cols: t.n, bp.baseAddress!, ld: b.ld, transposed: t.transB, kernel: kernel))
                        : .matrix(bp.baseAddress!, ld: b.ld, transposed: t.transB)
                    sgemm(m: t.m, n: t.n, k: t.k, alpha: t.alpha, a: opA, b: opB, beta: t.beta, c: cp.baseAddress!,
                          ldc: c.ld, bias: bias, activation: activation, maxThreads: maxThreads, kernel: kernel)
                }
            }
        }
        return out
    }

    static let awkward = [(1, 1, 1), (3, 17, 31), (17, 3, 65), (31, 65, 17), (65, 127, 3), (127, 31, 257), (257, 65, 127),
                          (1, 257, 65), (65, 1, 257), (13, 33, 1), (12, 32, 384), (25, 64, 400)]

    func testTransposesAlphaBetaAwkwardSizes() {
        for kernel in SGEMMKernel.available {
            var seed: UInt64 = 1
            for (m, n, k) in Self.awkward {
                for transA in [false, true] {
                    for transB in [false, true] {
                        seed += 1
                        let (alpha, beta): (Float, Float) = [(1, 0), (0.5, 1), (-2, 0.25)][Int(seed % 3)]
                        let t = Case(m: m, n: n, k: k, transA: transA, transB: transB, alpha: alpha, beta: beta)
                        let (a, b, c) = inputs(t, seed: seed)
                        check(run(t, a, b, c, packA: false, packB: false, kernel: kernel), reference(t, a, b, c), t, kernel.name)
                    }
                }
            }
        }
    }

    func testStridedOperands() {
        for kernel in SGEMMKernel.available {
            for (i, (m, n, k)) in [(17, 33, 19), (1, 40, 9), (40, 1, 9), (7, 5, 300)].enumerated() {
                for transA in [false, true] {
                    for transB in [false, true] {
                        let t = Case(m: m, n: n, k: k, transA: transA, transB: transB, alpha: 1, beta: i % 2 == 0 ? 0 : 1, pad: 3 + i)
                        let (a, b, c) = inputs(t, seed: UInt64(100 + i))
                        check(run(t, a, b, c, packA: false, packB: false, kernel: kernel), reference(t, a, b, c), t, "strided \(kernel.name)")
                    }
                }
            }
        }
    }

    func testPackedOperandsWithEpilogues() {
        let activations: [Activation?] = [nil, .relu, .leakyRelu(alpha: 0.1), .sigmoid, .tanh, .clip(min: -0.5, max: 0.5),
                                          .hardSigmoid(alpha: 0.2, beta: 0.5), .elu(alpha: 1)]
        for kernel in SGEMMKernel.available {
            for (i, (m, n, k)) in [(1, 70, 33), (5, 1, 40), (29, 45, 390), (64, 100, 27), (3, 33, 800)].enumerated() {
                for (packA, packB) in [(true, false), (false, true), (true, true), (false, false)] {
                    let t = Case(m: m, n: n, k: k, transA: i % 2 == 1, transB: i % 3 == 1, alpha: 1, beta: i == 2 ? 1 : 0, pad: i % 2)
                    let (a, b, c) = inputs(t, seed: UInt64(200 + i))
                    let act = activations[(i * 4 + (packA ? 1 : 0) + (packB ? 2 : 0)) % activations.count]
                    let rowBias = (0..<m).map { Float($0 % 7) * 0.25 - 0.75 }
                    let colBias = (0..<n).map { Float($0 % 5) * 0.3 - 0.6 }
                    rowBias.withUnsafeBufferPointer { rb in
                        colBias.withUnsafeBufferPointer { cb in
                            for (bias, values) in [(SGEMMBias.none, [Float]()), (.perRow(rb.baseAddress!), rowBias),
                                                   (.perColumn(cb.baseAddress!), colBias)] {
                                let got = run(t, a, b, c, packA: packA, packB: packB, kernel: kernel, bias: bias, activation: act)
                                check(got, reference(t, a, b, c, bias: bias, biasValues: values, activation: act), t,
                                      "\(kernel.name) packA=\(packA) packB=\(packB) bias=\(bias) act=\(String(describing: act))")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Shapes that cross every blocking boundary (mc, kc, nc, the matrix-vector column chunks) and split across
    /// threads in both directions.
    func testBlockBoundariesAndThreadSplits() {
        for kernel in SGEMMKernel.available {
            for (i, (m, n, k)) in [(1550, 24, 20), (20, 40, 800), (24, 800, 20), (200, 300, 100), (2, 2000, 30),
                                   (1, 4500, 19), (3000, 1, 33), (1, 1100, 530)].enumerated() {
                let t = Case(m: m, n: n, k: k, transA: i == 1, transB: i == 2, alpha: 1, beta: i == 3 ? 0.5 : 0)
                let (a, b, c) = inputs(t, seed: UInt64(300 + i))
                let want = reference(t, a, b, c)
                for threads in [1, 3] {
                    check(run(t, a, b, c, packA: false, packB: false, kernel: kernel, maxThreads: threads), want, t, "\(kernel.name) threads=\(threads)")
                }
                check(run(t, a, b, c, packA: i % 2 == 0, packB: i % 2 == 1, kernel: kernel, maxThreads: 3), want, t, "\(kernel.name) packed")
            }
        }
    }

    /// A packed B larger than L2 (5.7 MB; the largest L2 of today's x86 cores is 2-4 MB, and B streams from half of
    /// it) against few rows of A: the sweep that takes each B panel 64 steps at a time past all A panels, with depths
    /// that end mid-step-block, C scaled by beta first and the epilogue on the last steps only.
    func testPackedBLargerThanL2() {
        for kernel in SGEMMKernel.available {
            let t = Case(m: 37, n: 1300, k: 1100, alpha: -1.5, beta: 0.5)
            let (a, b, c) = inputs(t, seed: 350)
            let rowBias = (0..<t.m).map { Float($0 % 7) * 0.25 - 0.75 }
            rowBias.withUnsafeBufferPointer { rb in
                let want = reference(t, a, b, c, bias: .perRow(rb.baseAddress!), biasValues: rowBias, activation: .relu)
                for (packA, threads) in [(false, 1), (true, 3)] {
                    let got = run(t, a, b, c, packA: packA, packB: true, kernel: kernel, bias: .perRow(rb.baseAddress!),
                                  activation: .relu, maxThreads: threads)
                    check(got, want, t, "\(kernel.name) packA=\(packA) threads=\(threads)")
                }
            }
        }
    }

    /// One row times a transposed B: the dot-product kernel, eight rows of B at a time, then four, then one, with
    /// depths that leave a partial vector (and none at all for k below the vector width).
    func testMatrixVectorDotProducts() {
        for kernel in SGEMMKernel.available {
            for (i, (n, k)) in [(3, 5), (12, 16), (13, 37), (1013, 37), (21, 1280)].enumerated() {
                let t = Case(m: 1, n: n, k: k, transA: false, transB: true, alpha: 1, beta: 0)
                let (a, b, c) = inputs(t, seed: UInt64(400 + i))
                check(run(t, a, b, c, packA: false, packB: false, kernel: kernel, maxThreads: 1), reference(t, a, b, c), t,
                      kernel.name)
            }
        }
    }

    func testEmptyDepthScalesC() {
        let bias: [Float] = [1, 2, 3]
        for beta: Float in [0, 2] {
            var c: [Float] = [1, -1, 2, -2, 3, -3]
            let dummy: [Float] = [0]
            dummy.withUnsafeBufferPointer { d in
                bias.withUnsafeBufferPointer { b in
                    sgemm(m: 2, n: 3, k: 0, a: .matrix(d.baseAddress!, ld: 1, transposed: false),
                          b: .matrix(d.baseAddress!, ld: 3, transposed: false), beta: beta, c: &c, ldc: 3,
                          bias: .perColumn(b.baseAddress!), activation: .relu)
                }
            }
            let want: [Float] = beta == 0 ? [1, 2, 3, 1, 2, 3] : [3, 0, 7, 0, 8, 0]
            XCTAssertEqual(c, want)
        }
    }

    func testLegacyEntryPoint() {
        let t = Case(m: 33, n: 47, k: 29, transA: true, transB: false, alpha: 1.5, beta: 0.5, pad: 2)
        let (a, b, c) = inputs(t, seed: 9)
        var out = c
        a.data.withUnsafeBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                sgemm(transA: true, transB: false, m: t.m, n: t.n, k: t.k, alpha: t.alpha, a: ap.baseAddress!, lda: a.ld,
                      b: bp.baseAddress!, ldb: b.ld, beta: t.beta, c: &out.data, ldc: out.ld)
            }
        }
        check(out, reference(t, a, b, c), t, "legacy")
    }

    /// The softmax exponential of every kernel set against Foundation's exp (in Double): values across the reduced
    /// range, the cut-off below -87.3, NaN, -inf, and lengths that end in every tail size.
    func testExpShiftedSumOfEveryKernel() {
        for kernel in SGEMMKernel.available {
            for n in [0, 1, 7, 15, 16, 17, 33, 100] {
                var x = (0..<n).map { i in Float(i % 13) * -7.31 + 2.5 }
                if n > 3 { x[1] = -.infinity; x[2] = -87.6; x[3] = -84.7 }
                let shift: Float = 2.5
                var y = [Float](repeating: 7, count: n)
                let sum = kernel.expShiftedSum(x, count: n, shift: shift, into: &y)
                var want = 0.0
                for j in 0..<n {
                    let d = x[j] - shift, e = d < -87.3 ? 0 : Foundation.exp(Double(d))
                    want += e
                    XCTAssertEqual(Double(y[j]), e, accuracy: 4 * Double(Float.ulpOfOne) * e, "\(kernel.name) n \(n) j \(j)")
                }
                XCTAssertEqual(Double(sum), want, accuracy: 1e-6 * max(want, 1), "\(kernel.name) n \(n) sum")
                XCTAssertEqual(kernel.expShiftedSum(x, count: n, shift: shift, into: nil), sum, "\(kernel.name): sum alone")
            }
            var nan: [Float] = [0, .nan, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -3]
            XCTAssert(kernel.expShiftedSum(nan, count: nan.count, shift: 0, into: &nan).isNaN, kernel.name)
            XCTAssert(nan[1].isNaN && nan[0] == 1 && !nan[2].isNaN, "\(kernel.name): NaN stays in its lane")
        }
    }

    /// The vector erf of every kernel set against Foundation's erf (in Double), over a sweep through and beyond the
    /// fitted range, with ±0, ±inf, NaN and every tail length.
    func testErfOfEveryKernel() {
        var x = stride(from: -6.0, through: 6.0, by: 0.0013).map { Float($0) }
        x += [0, -0.0, 1e-30, -1e-30, 1e-6, .infinity, -.infinity, 4, -4, 3.9999]
        for kernel in SGEMMKernel.available {
            for n in [x.count, 1, 5, 17, 31] {
                var y = [Float](repeating: 7, count: n)
                kernel.erf(x, count: n, into: &y)
                for j in 0..<n {
                    let want = Foundation.erf(Double(x[j]))
                    let ulp = Double(Float(want).ulp)
                    XCTAssert(abs(Double(y[j]) - want) <= 8 * ulp, "\(kernel.name): erf(\(x[j])) = \(y[j]), want \(want)")
                }
            }
            var nan: [Float] = [.nan, 1, .nan]
            kernel.erf(nan, count: 3, into: &nan)
            XCTAssert(nan[0].isNaN && nan[2].isNaN && abs(nan[1] - 0.84270079) < 1e-6, kernel.name)
            // Exactly ±1 from ±4 on, as libm gives (GELU(-inf) is then NaN, as the reference's).
            var edge: [Float] = [4, -4, .infinity, -.infinity, 100]
            kernel.erf(edge, count: 5, into: &edge)
            XCTAssertEqual(edge, [1, -1, 1, -1, 1], kernel.name)
        }
    }
}
