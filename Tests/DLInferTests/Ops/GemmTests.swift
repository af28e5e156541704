import DLInferCore
import DLInferCPU
import XCTest

/// Gemm and MatMul paths the ONNX node tests do not reach (constant weights packed at load, every shape of C,
/// numpy batch broadcasting with 1-D operands, fused activations, symbolic batch dims, integer and float64 MatMul)
/// against naive references, MatMulInteger with per-row and per-column zero points, and malformed inputs rejected
/// with a message.
final class GemmTests: XCTestCase {
    var seed: UInt64 = 42

    func random(_ shape: [Int]) -> Tensor {
        let values = (0..<shape.elementCount).map { _ -> Float in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(seed >> 41) % 2001 - 1000) / 1000
        }
        return Tensor(values, shape: shape)
    }

    /// Runs one node on the CPU backend alone (the kernels as the backend makes them, no engine passes); `declared`
    /// overrides an input's type.
    func run(_ op: Op, _ operands: [(Tensor, constant: Bool)?], declared: [Int: ValueType] = [:]) throws -> Tensor {
        let (g, feeds) = try OneNode.graph(op, operands, declared: declared)
        return try Session(graph: g, host: CPUBackend()).run(feeds)[0]
    }

    func testGemmEveryShapeOfC() throws {
        let (m, n, k) = (5, 37, 19)
        let cShapes: [[Int]?] = [nil, [], [1], [n], [1, n], [m, 1], [m, n], [1, 1]]
        for transA in [false, true] {
            for transB in [false, true] {
                for (ci, cShape) in cShapes.enumerated() {
                    for constantB in [false, true] {
                        let a = random(transA ? [k, m] : [m, k]), b = random(transB ? [n, k] : [k, n])
                        let c = cShape.map { random($0) }
                        let alpha: Float = ci % 2 == 0 ? 1 : 0.5, beta: Float = ci % 3 == 0 ? 1 : -2
                        var attrs = Gemm(alpha: alpha, beta: beta, transA: transA, transB: transB)
                        attrs.activation = ci == 4 ? .relu : (ci == 5 ? .tanh : nil)
                        let got = try run(.gemm(attrs), [(a, false), (b, constantB)] + (c.map { [($0, constant: ci % 2 == 1)] } ?? []))
                        var want = [Double](repeating: 0, count: m * n)
                        let av = a.floats, bv = b.floats
                        for i in 0..<m {
                            for j in 0..<n {
                                var s = 0.0
                                for p in 0..<k {
                                    s += Double(transA ? av[p * m + i] : av[i * k + p]) * Double(transB ? bv[j * k + p] : bv[p * n + j])
                                }
                                var v = Double(alpha) * s
                                if let c, let cs = cShape {
                                    let ri = cs.count == 2 && cs[0] != 1 ? i : 0
                                    let cj = cs.count >= 1 && cs[cs.count - 1] != 1 ? j : 0
                                    v += Double(beta) * Double(c.floats[ri * (cs.last.map { $0 == 1 ? 1 : n } ?? 1) + cj])
                                }
                                if let act = attrs.activation { v = Double(act.apply(Float(v))) }
                                want[i * n + j] = v
                            }
                        }
                        assertClose(got, want, shape: [m, n], rtol: 1e-4, atol: 1e-4,
                                    "transA=\(transA) transB=\(transB) C=\(String(describing: cShape)) constB=\(constantB)")
                    }
                }
            }
        }
    }

    /// numpy matmul reference: broadcast batch dims, 1-D operands promoted then squeezed.
    func referenceMatMul(_ a: Tensor, _ b: Tensor) -> ([Double], [Int]) {
        let sa = a.rank == 1 ? [1] + a.shape : a.shape, sb = b.rank == 1 ? b.shape + [1] : b.shape
        let m = sa[sa.count - 2], k = sa[sa.count - 1], n = sb[sb.count - 1]
        let batch = try! broadcastShapes([Array(sa.dropLast(2)), Array(sb.dropLast(2))])
        var out = [Double]()
        let ba = Array(sa.dropLast(2)), bb = Array(sb.dropLast(2))
        for flat in 0..<batch.elementCount {
            var idx = [Int](repeating: 0, count: batch.count), r = flat
            for d in stride(from: batch.count - 1, through: 0, by: -1) { idx[d] = r % batch[d]; r /= batch[d] }
            func offset(_ dims: [Int]) -> Int {
                var o = 0
                for (d, size) in dims.enumerated() { o = o * size + (size == 1 ? 0 : idx[batch.count - dims.count + d]) }
                return o
            }
            let oa = offset(ba) * m * k, ob = offset(bb) * k * n
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for p in 0..<k { s += Double(a.floats[oa + i * k + p]) * Double(b.floats[ob + p * n + j]) }
                    out.append(s)
                }
            }
        }
        var shape = batch
        if a.rank >= 2 { shape.append(m) }
        if b.rank >= 2 { shape.append(n) }
        return (out, shape)
    }

    func testMatMulBroadcastingAndVectors() throws {
        let cases: [([Int], [Int])] = [
            ([7], [7, 5]), ([6, 7], [7]), ([7], [7]), ([2, 3, 6, 7], [7, 40]), ([6, 7], [2, 7, 40]),
            ([2, 1, 6, 7], [3, 7, 5]), ([1, 6, 7], [4, 7, 33]), ([3, 7], [2, 4, 7, 3]), ([7], [3, 7, 5]), ([3, 6, 7], [7]),
            ([40, 30], [30, 50]), ([2, 0, 7], [7, 5]), ([6, 0], [0, 5]), ([64, 9, 17], [64, 17, 9]),
        ]
        for (i, (sa, sb)) in cases.enumerated() {
            for constant in [0, 1, 2] {
                let a = random(sa), b = random(sb)
                var attrs = MatMul()
                attrs.activation = i % 3 == 0 ? .sigmoid : nil
                let got = try run(.matMul(attrs), [(a, constant == 1), (b, constant == 2)])
                var (want, shape) = referenceMatMul(a, b)
                if let act = attrs.activation { want = want.map { Double(act.apply(Float($0))) } }
                assertClose(got, want, shape: shape, rtol: 1e-4, atol: 1e-4, "A\(sa) B\(sb) constant=\(constant)")
            }
        }
    }

    func testSymbolicBatchDim() throws {
        let a = random([3, 19]), w = random([19, 8])
        let got = try run(.matMul(MatMul()), [(a, false), (w, true)], declared: [0: ValueType(.float32, [.symbol("batch"), .fixed(19)])])
        let (want, shape) = referenceMatMul(a, w)
        assertClose(got, want, shape: shape, rtol: 1e-4, atol: 1e-4, "symbolic batch")
        let g = try run(.gemm(Gemm(transB: true)), [(a, false), (random([8, 19]), true), (random([8]), true)],
                        declared: [0: ValueType(.float32, [.symbol("batch"), .fixed(19)])])
        XCTAssertEqual(g.shape, [3, 8])
    }

    func testMalformedInputsAreRejected() {
        func rejects(_ op: Op, _ operands: [(Tensor, constant: Bool)?], _ kind: DLInferError.Kind, _ what: String) {
            do {
                _ = try run(op, operands)
                XCTFail("\(what) was accepted")
            } catch let e as DLInferError {
                XCTAssertEqual(e.kind, kind, "\(what): \(e.message)")
                XCTAssertFalse(e.message.isEmpty)
            } catch { XCTFail("\(what): \(error)") }
        }
        let f = { (s: [Int]) in (self.random(s), constant: false) }
        rejects(.gemm(Gemm()), [f([2, 3]), f([4, 5])], .shape, "Gemm inner dims differ")
        rejects(.gemm(Gemm()), [f([2, 3, 1]), f([3, 5])], .shape, "Gemm rank-3 A")
        rejects(.gemm(Gemm()), [f([2, 3]), f([3, 5]), f([3, 5])], .shape, "Gemm C not broadcastable")
        rejects(.gemm(Gemm(requireFullC: true)), [f([2, 3]), f([3, 5]), f([5])], .shape, "Gemm broadcast=0 with vector C")
        rejects(.gemm(Gemm()), [(Tensor([Int64](repeating: 1, count: 6), shape: [2, 3]), false), f([3, 5])], .unsupported, "Gemm int64")
        rejects(.matMul(MatMul()), [f([2, 3]), f([4, 5])], .shape, "MatMul inner dims differ")
        rejects(.matMul(MatMul()), [f([2, 2, 3]), f([3, 3, 5])], .shape, "MatMul batch dims differ")
        rejects(.matMul(MatMul()), [(Tensor.scalar(Float(1)), false), f([1, 5])], .shape, "MatMul scalar")
        rejects(.matMul(MatMul()), [(Tensor([Double](repeating: 1, count: 6), shape: [2, 3]), false), f([3, 5])], .unsupported, "MatMul of float64 by float32")
    }

    // MARK: MatMul on integers and float64, MatMulInteger

    func testIntegerAndFloat64MatMulWithBroadcastAndVectors() throws {
        let shapes: [([Int], [Int])] = [([2, 1, 3, 4], [5, 4, 6]), ([4], [4, 3]), ([3, 4], [4]), ([4], [4]), ([2, 3, 4], [2, 4, 5]), ([3, 0], [0, 2])]
        for dtype in [DType.int32, .int64, .uint32, .uint64, .float64] {
            for (sa, sb) in shapes {
                let a = TestData.smallValues(dtype, sa, seed: 3), b = TestData.smallValues(dtype, sb, seed: 4)
                let y = try OneNode.run("MatMul", opset: 13, [a, b], outputs: [dtype])[0]
                // numpy: vectors become [1, K] / [K, 1] and lose that dim.
                let l = sa.count == 1 ? "k" : String("zyx".suffix(sa.count - 2)) + "mk"
                let r = sb.count == 1 ? "k" : String("zyx".suffix(sb.count - 2)) + "kn"
                let batch = String("zyx".suffix(max(0, max(sa.count, sb.count) - 2)))
                let eq = "\(l),\(r)->\(batch)\(sa.count == 1 ? "" : "m")\(sb.count == 1 ? "" : "n")"
                let (want, wantShape) = try einsumReference(eq, [a, b])
                XCTAssertEqual(y.shape, wantShape, "\(dtype) \(sa) \(sb)")
                assertClose(y, want, dtype: dtype, shape: wantShape, rtol: 1e-4, atol: 1e-4, "\(dtype) \(sa) \(sb)")
            }
        }
        XCTAssertEqual(try OneNode.run(.matMul(MatMul()), [Tensor([UInt32.max, 2], shape: [1, 2]),
                                                           Tensor([UInt32(2), 1], shape: [2, 1])]).array(UInt32.self),
                       [UInt32.max &* 2 &+ 2], "wraps")
    }

    func testMatMulIntegerZeroPoints() throws {
        let a = Tensor((0..<12).map { UInt8($0 * 21) }, shape: [3, 4])
        let b = Tensor((0..<8).map { Int8($0 * 30 - 100) }, shape: [4, 2])
        for (za, zb) in [(nil, nil), (Tensor.scalar(UInt8(7)), nil), (Tensor([UInt8(1), 2, 3], shape: [3]), Tensor([Int8(-4), 5], shape: [2])),
                         (Tensor([UInt8(9), 8, 7], shape: [3, 1]), Tensor([Int8(3)], shape: [1]))] as [(Tensor?, Tensor?)] {
            let y = try OneNode.run("MatMulInteger", opset: 10, [a, b, za, zb], constant: [2, 3], outputs: [.int32])[0]
            var want = [Int32]()
            for i in 0..<3 {
                for j in 0..<2 {
                    let zai = za.map { Int32($0.count == 1 ? $0.array(UInt8.self)[0] : $0.array(UInt8.self)[i]) } ?? 0
                    let zbj = zb.map { Int32($0.count == 1 ? $0.array(Int8.self)[0] : $0.array(Int8.self)[j]) } ?? 0
                    want.append((0..<4).map { p in (Int32(a.array(UInt8.self)[i * 4 + p]) - zai) * (Int32(b.array(Int8.self)[p * 2 + j]) - zbj) }.reduce(0, +))
                }
            }
            XCTAssertEqual(y.array(Int32.self), want, "\(String(describing: za?.shape)) \(String(describing: zb?.shape))")
        }
        XCTAssertThrowsError(try OneNode.run(.matMulInteger(MatMulInteger()), [a, b, Tensor([UInt8(1), 2], shape: [2])]), "2 zero points for 3 rows")
    }
}
