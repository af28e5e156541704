import DLInferCore
import DLInferCPU
import DLInferOpenCL
import XCTest

/// MatMulInteger and ConvInteger on OpenCL against naive references written here: int8 and uint8 operands in every
/// pairing, zero points absent, scalar, per row / column / output channel, computed or constant, batch broadcasting,
/// 1-D operands, Conv geometry (1-D to 3-D, pads, strides, dilations, groups, auto_pad), and int32 sums that wrap.
final class OpenCLQuantizeIntegerTests: OpenCLTestCase {
    private var state: UInt64 = 0x2545_F491_4F6C_DD1D

    /// Pseudo-random values over the whole range of `dtype` (int8 or uint8).
    private func values(_ count: Int, _ dtype: DType) -> [Int] {
        (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let byte = Int(state >> 56)
            return dtype == .int8 ? byte - 128 : byte
        }
    }

    private func tensor(_ v: [Int], _ dtype: DType, _ shape: [Int]) -> Tensor {
        dtype == .int8 ? Tensor(v.map { Int8($0) }, shape: shape) : Tensor(v.map { UInt8($0) }, shape: shape)
    }

    private func run(_ op: Op, _ operands: [(Tensor, constant: Bool)?], _ what: String, file: StaticString = #filePath,
                     line: UInt = #line) throws -> [Int32] {
        let (g, feeds) = try graph(op, operands)
        let session = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: try openCLDevice(), weighTransfers: false,
                                                                         halfStorage: halfStorage))
        XCTAssertEqual(session.placements[0].backend, "opencl", "\(what): \(session.placements[0].reason ?? "")", file: file, line: line)
        _ = try session.run(feeds)
        let y = try session.run(feeds)[0]
        XCTAssertEqual(y.dtype, .int32, what, file: file, line: line)
        return y.array(Int32.self)
    }

    private func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        for d in stride(from: shape.count - 2, through: 0, by: -1) { s[d] = s[d + 1] * shape[d + 1] }
        return s
    }

    /// The flat index in a tensor of `shape`, broadcast (right-aligned, size-1 dims repeated) to coordinates `c`.
    private func index(_ c: [Int], in shape: [Int]) -> Int {
        let lead = c.count - shape.count, s = strides(shape)
        return shape.indices.reduce(0) { $0 + (shape[$1] == 1 ? 0 : c[lead + $1] * s[$1]) }
    }

    /// numpy matmul of (A - za) and (B - zb) with wrapping int32 sums. A's 1-D zero point of several values is per
    /// row; zero points otherwise broadcast against their operand.
    private func matMulReference(_ a: [Int], _ aShape: [Int], _ b: [Int], _ bShape: [Int], za: ([Int], [Int])?,
                                 zb: ([Int], [Int])?) -> (values: [Int32], shape: [Int]) {
        let a2 = aShape.count == 1 ? [1] + aShape : aShape, b2 = bShape.count == 1 ? bShape + [1] : bShape
        let m = a2[a2.count - 2], k = a2[a2.count - 1], n = b2[b2.count - 1]
        let ab = Array(a2.dropLast(2)), bb = Array(b2.dropLast(2)), rank = max(ab.count, bb.count)
        let batch = (0..<rank).map { d -> Int in
            let x = d - (rank - ab.count) >= 0 ? ab[d - (rank - ab.count)] : 1, y = d - (rank - bb.count) >= 0 ? bb[d - (rank - bb.count)] : 1
            return max(x, y)
        }
        let zaShape = za.map { $0.1.count == 1 && $0.0.count > 1 ? [$0.0.count, 1] : $0.1 }
        var out = [Int32]()
        for bi in 0..<batch.reduce(1, *) {
            var bc = [Int](repeating: 0, count: rank), rest = bi
            for d in stride(from: rank - 1, through: 0, by: -1) { bc[d] = rest % batch[d]; rest /= batch[d] }
            for i in 0..<m {
                for j in 0..<n {
                    var acc: Int32 = 0
                    for p in 0..<k {
                        // Coordinates in the original (1-D or not) operand shapes.
                        let ac = aShape.count == 1 ? [p] : bc + [i, p], bcoords = bShape.count == 1 ? [p] : bc + [p, j]
                        var va = a[index(ac, in: aShape)], vb = b[index(bcoords, in: bShape)]
                        if let (z, _) = za { va -= z.count == 1 ? z[0] : z[index(ac, in: zaShape!)] }
                        if let (z, s) = zb { vb -= z.count == 1 ? z[0] : z[index(bcoords, in: s)] }
                        acc = acc &+ Int32(va * vb)
                    }
                    out.append(acc)
                }
            }
        }
        let shape = batch + (aShape.count == 1 ? [] : [m]) + (bShape.count == 1 ? [] : [n])
        return (out, shape)
    }

    func testMatMulInteger() throws {
        // (A shape, B shape, A zero point shape, B zero point shape)
        let cases: [([Int], [Int], [Int]?, [Int]?)] = [
            ([7, 13], [13, 5], [], []), ([7, 13], [13, 5], nil, nil), ([7, 13], [13, 5], [7], [5]), ([7, 13], [13, 5], [1], nil),
            ([2, 1, 3, 4], [5, 4, 6], [2, 1, 3, 1], [5, 1, 6]), ([2, 1, 3, 4], [5, 4, 6], [3], [6]),
            ([4], [2, 4, 3], [], [3]), ([3, 4], [4], [3], []), ([17], [17], nil, []), ([1, 33, 70], [70, 31], [33], [31]),
            ([3, 0], [0, 2], [], []),
            ([2, 3, 4], [4, 5], [2, 3, 1], [4, 5]),  // b's zero point varies along K: broadcast as the CPU does
        ]
        for (aShape, bShape, zaShape, zbShape) in cases {
            for (ta, tb) in [(DType.uint8, DType.int8), (.int8, .int8), (.uint8, .uint8), (.int8, .uint8)] {
                let a = values(aShape.reduce(1, *), ta), b = values(bShape.reduce(1, *), tb)
                let za = zaShape.map { (values(max(1, $0.reduce(1, *)), ta), $0) }
                let zb = zbShape.map { (values(max(1, $0.reduce(1, *)), tb), $0) }
                let want = matMulReference(a, aShape, b, bShape, za: za, zb: zb)
                for constant in [false, true] {
                    let what = "A \(ta) \(aShape) B \(tb) \(bShape) zero points \(zaShape.map { "\($0)" } ?? "none") \(zbShape.map { "\($0)" } ?? "none") \(constant ? "constant" : "computed") B"
                    let got = try run(.matMulInteger(MatMulInteger()), [
                        (tensor(a, ta, aShape), false), (tensor(b, tb, bShape), constant),
                        za.map { (tensor($0.0, ta, $0.1), false) }, zb.map { (tensor($0.0, tb, $0.1), constant) },
                    ], what)
                    XCTAssertEqual(got, want.values, what)
                }
            }
        }
    }

    /// 255 * 255 * 40000 exceeds int32: the sum wraps, as on the CPU.
    func testMatMulIntegerWraps() throws {
        let k = 40_000
        let a = [Int](repeating: 255, count: k), b = [Int](repeating: 255, count: k)
        let want = matMulReference(a, [1, k], b, [k, 1], za: nil, zb: nil)
        XCTAssertEqual(want.values[0], Int32(truncatingIfNeeded: 255 * 255 * k))
        let got = try run(.matMulInteger(MatMulInteger()), [(tensor(a, .uint8, [1, k]), false), (tensor(b, .uint8, [k, 1]), false)], "wrap")
        XCTAssertEqual(got, want.values)
    }

    /// Direct convolution of (x - xz) and (w - wz[m]) with explicit leading pads.
    private func convReference(_ x: [Int], _ xShape: [Int], _ w: [Int], _ wShape: [Int], xz: Int, wz: [Int], group: Int,
                               strides s: [Int], dilations d: [Int], padBegin: [Int], out: [Int]) -> [Int32] {
        let n = xShape[0], c = xShape[1], m = wShape[0], cg = wShape[1], spatial = Array(xShape[2...]), kernel = Array(wShape[2...])
        let rank = spatial.count, taps = kernel.reduce(1, *), pixels = out.reduce(1, *)
        var y = [Int32]()
        for image in 0..<n {
            for o in 0..<m {
                let g = o / (m / group)
                for p in 0..<pixels {
                    var oc = [Int](repeating: 0, count: rank), rest = p
                    for a in stride(from: rank - 1, through: 0, by: -1) { oc[a] = rest % out[a]; rest /= out[a] }
                    var acc: Int32 = 0
                    for ci in 0..<cg {
                        for t in 0..<taps {
                            var kc = [Int](repeating: 0, count: rank), r = t
                            for a in stride(from: rank - 1, through: 0, by: -1) { kc[a] = r % kernel[a]; r /= kernel[a] }
                            let ic = (0..<rank).map { oc[$0] * s[$0] + kc[$0] * d[$0] - padBegin[$0] }
                            guard ic.indices.allSatisfy({ ic[$0] >= 0 && ic[$0] < spatial[$0] }) else { continue }
                            let xi = ic.indices.reduce((image * c + g * cg + ci)) { $0 * spatial[$1] + ic[$1] }
                            let wi = kc.indices.reduce(o * cg + ci) { $0 * kernel[$1] + kc[$1] }
                            acc = acc &+ Int32((x[xi] - xz) * (w[wi] - wz[wz.count == 1 ? 0 : o]))
                        }
                    }
                    y.append(acc)
                }
            }
        }
        return y
    }

    func testConvInteger() throws {
        // (x shape, w shape, group, strides, dilations, pads (begin + end), per-channel w zero point)
        let cases: [([Int], [Int], Int, [Int], [Int], [Int], Bool)] = [
            ([2, 3, 11, 13], [5, 3, 3, 3], 1, [1, 1], [1, 1], [1, 1, 1, 1], true),
            ([1, 4, 9, 10], [6, 2, 3, 2], 2, [2, 3], [1, 1], [0, 1, 2, 0], false),
            ([1, 6, 8, 8], [6, 1, 3, 3], 6, [1, 1], [2, 2], [2, 2, 2, 2], true),
            ([2, 3, 17], [4, 3, 4], 1, [2], [3], [1, 2], true),
            ([1, 2, 5, 6, 7], [3, 2, 2, 3, 2], 1, [1, 2, 1], [2, 1, 1], [0, 1, 1, 1, 0, 0], true),
            ([1, 1, 4, 4], [1, 1, 1, 1], 1, [1, 1], [1, 1], [0, 0, 0, 0], false),
        ]
        for (xShape, wShape, group, s, d, pads, perChannel) in cases {
            let rank = xShape.count - 2
            let spatial = Array(xShape[2...]), kernel = Array(wShape[2...])
            let out = (0..<rank).map { a -> Int in
                let extent: Int = (kernel[a] - 1) * d[a] + 1, padded: Int = spatial[a] + pads[a] + pads[rank + a]
                return (padded - extent) / s[a] + 1
            }
            let conv = Conv(strides: s, dilations: d, pads: pads, group: group)
            for (tx, tw) in [(DType.uint8, DType.int8), (.uint8, .uint8), (.int8, .int8)] {
                let x = values(xShape.reduce(1, *), tx), w = values(wShape.reduce(1, *), tw)
                let xz = values(1, tx)[0], wz = values(perChannel ? wShape[0] : 1, tw)
                let want = convReference(x, xShape, w, wShape, xz: xz, wz: wz, group: group, strides: s, dilations: d,
                                         padBegin: Array(pads[..<rank]), out: out)
                let noZero = convReference(x, xShape, w, wShape, xz: 0, wz: [0], group: group, strides: s, dilations: d,
                                           padBegin: Array(pads[..<rank]), out: out)
                for constant in [false, true] {
                    let what = "x \(tx) \(xShape) w \(tw) \(wShape) group \(group) \(constant ? "constant" : "computed") w"
                    let got = try run(.convInteger(ConvInteger(conv)), [
                        (tensor(x, tx, xShape), false), (tensor(w, tw, wShape), constant), (tensor([xz], tx, []), false),
                        (tensor(wz, tw, perChannel ? [wShape[0]] : [1]), constant),
                    ], what)
                    XCTAssertEqual(got, want, what)
                    XCTAssertEqual(try run(.convInteger(ConvInteger(conv)), [(tensor(x, tx, xShape), false), (tensor(w, tw, wShape), constant)],
                                           what + " no zero points"), noZero, what + " no zero points")
                }
            }
        }
    }

    /// SAME_UPPER: the padding total split with the extra one at the end.
    func testConvIntegerAutoPad() throws {
        let xShape = [1, 2, 7, 8], wShape = [3, 2, 3, 4], s = [2, 3]
        let x = values(112, .uint8), w = values(72, .int8)
        let spatial = [7, 8], kernel = [3, 4]
        let out = (0..<2).map { a -> Int in (spatial[a] + s[a] - 1) / s[a] }
        let begin = (0..<2).map { a -> Int in
            let total: Int = (out[a] - 1) * s[a] + kernel[a] - spatial[a]
            return max(0, total) / 2
        }
        let want = convReference(x, xShape, w, wShape, xz: 3, wz: [-2], group: 1, strides: s, dilations: [1, 1], padBegin: begin, out: out)
        let got = try run(.convInteger(ConvInteger(Conv(strides: s, autoPad: .sameUpper))), [
            (tensor(x, .uint8, xShape), false), (tensor(w, .int8, wShape), true), (tensor([3], .uint8, []), false),
            (tensor([-2], .int8, []), true),
        ], "SAME_UPPER")
        XCTAssertEqual(got, want)
    }
}
