import CDLInferKernels
import Foundation
import XCTest

/// The C kernels that convolution calls directly, for every instruction set this CPU can run (the model-level tests
/// only reach the fastest one): the depthwise 3x3 plane kernel, the recurrent gates' sigmoid and tanh, max
/// pooling's rows, and the micro-kernels' bias-and-clamp epilogue, against references written here.
final class CKernelTests: XCTestCase {
    var kernelSets: [dl_sgemm_ukernel] {
        var count: Int32 = 0
        let table = dl_sgemm_ukernels(&count)!
        return (0..<Int(count)).map { table[$0] }
    }

    /// Values in [-1, 1] from a fixed sequence.
    func values(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(s >> 41) % 2001 - 1000) / 1000
        }
    }

    func testDepthwise3x3OfEveryKernelSet() {
        // (ih, iw, ph, pw, sh, sw, multiplier): output widths 1 to 33 cross the vector tails of 4, 8 and 16 lanes.
        let shapes = [(1, 1, 1, 1, 1, 1, 1), (5, 3, 1, 1, 1, 1, 1), (7, 7, 1, 1, 1, 1, 1), (6, 8, 0, 0, 1, 1, 2),
                      (9, 9, 1, 1, 1, 1, 1), (4, 15, 1, 1, 1, 1, 1), (3, 16, 1, 1, 1, 1, 1), (8, 17, 1, 1, 1, 1, 1),
                      (5, 33, 1, 2, 1, 1, 1), (14, 14, 1, 1, 2, 2, 1), (7, 7, 0, 0, 2, 2, 1), (11, 35, 1, 1, 2, 2, 1),
                      (10, 64, 1, 1, 3, 2, 1), (13, 31, 2, 0, 1, 2, 3), (6, 40, 0, 1, 2, 1, 1)]
        for set in kernelSets {
            for (i, (ih, iw, ph, pw, sh, sw, mult)) in shapes.enumerated() {
                let channels = 3, m = channels * mult
                let oh = (ih + 2 * ph - 3) / sh + 1, ow = (iw + 2 * pw - 3) / sw + 1
                var x = values(channels * ih * iw, seed: UInt64(i + 1))
                if i % 3 == 0 { x[x.count / 2] = .nan }
                let w = values(m * 9, seed: UInt64(100 + i)), bias = values(m, seed: UInt64(200 + i))
                let clamp = i % 2 == 0, (lo, hi): (Float, Float) = (-0.6, 0.7)
                // Planes 1 ..< m - 1 only (when there are three or more): the others must stay as they were.
                let planes = m >= 3 ? 1..<(m - 1) : 0..<m
                let sentinel: Float = 12345
                var y = [Float](repeating: sentinel, count: m * oh * ow)
                x.withUnsafeBufferPointer { xp in
                    w.withUnsafeBufferPointer { wp in
                        bias.withUnsafeBufferPointer { bp in
                            y.withUnsafeMutableBufferPointer { yp in
                                var g = dl_dwconv3x3_args(x: xp.baseAddress, w: wp.baseAddress, bias: i % 4 == 3 ? nil : bp.baseAddress,
                                                          y: yp.baseAddress, multiplier: Int64(mult), ih: Int64(ih),
                                                          iw: Int64(iw), ph: Int64(ph), pw: Int64(pw), sh: Int64(sh),
                                                          sw: Int64(sw), oh: Int64(oh), ow: Int64(ow), clamp: clamp ? 1 : 0,
                                                          lo: lo, hi: hi)
                                let n = Int(dl_dwconv3x3_scratch(&g))
                                let scratch = UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64)
                                defer { scratch.deallocate() }
                                set.dwconv3x3(&g, Int64(planes.lowerBound), Int64(planes.upperBound),
                                              scratch.bindMemory(to: Float.self, capacity: n))
                            }
                        }
                    }
                }
                let name = "\(String(cString: set.name)) shape \(i)"
                for c in 0..<m {
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            let got = y[(c * oh + oy) * ow + ox]
                            guard planes.contains(c) else { XCTAssertEqual(got, sentinel, "\(name): plane \(c) written"); continue }
                            var want = i % 4 == 3 ? 0 : Double(bias[c])
                            for a in 0..<3 {
                                for b in 0..<3 {
                                    let iy = oy * sh + a - ph, ix = ox * sw + b - pw
                                    guard iy >= 0, iy < ih, ix >= 0, ix < iw else { continue }
                                    want += Double(w[c * 9 + a * 3 + b]) * Double(x[(c / mult * ih + iy) * iw + ix])
                                }
                            }
                            if clamp { want = Swift.min(Swift.max(want, Double(lo)), Double(hi)) }
                            if want.isNaN {
                                XCTAssert(got.isNaN, "\(name): [\(c), \(oy), \(ox)] is \(got), expected NaN")
                            } else {
                                XCTAssertEqual(Double(got), want, accuracy: 1e-5, "\(name): [\(c), \(oy), \(ox)]")
                            }
                        }
                    }
                }
            }
        }
    }

    /// The recurrent gates' sigmoid and tanh against Foundation's (in Double): across tanh's series/exponential
    /// switch at 0.25, saturation, infinities, NaN, and lengths ending in every tail size.
    func testSigmoidAndTanhOfEveryKernelSet() {
        for set in kernelSets {
            for n in [1, 3, 8, 15, 16, 17, 40] {
                var x: [Float] = (0..<n).map { i -> Float in
                    let a = Float(i % 11) * 1.37, b = Float(i) * 0.013
                    return a - 7.1 + b
                }
                if n > 5 { x[1] = .infinity; x[2] = -.infinity; x[3] = 0.2499; x[4] = -0.2501; x[5] = -95 }
                if n > 7 { x[6] = .nan; x[7] = 1e-6 }
                var s = [Float](repeating: 0, count: n), t = [Float](repeating: 0, count: n)
                set.sigmoid(Int64(n), x, &s)
                set.tanh(Int64(n), x, &t)
                let name = "\(String(cString: set.name)) n \(n)"
                for j in 0..<n {
                    if x[j].isNaN { XCTAssert(s[j].isNaN && t[j].isNaN, "\(name): NaN"); continue }
                    let v = Double(x[j])
                    let sig: Double = 1 / (1 + Foundation.exp(-v)), th: Double = Foundation.tanh(v)
                    XCTAssertEqual(Double(s[j]), sig, accuracy: 4e-7 * sig + 1e-37, "\(name): sigmoid(\(x[j]))")
                    XCTAssertEqual(Double(t[j]), th, accuracy: Swift.max(1e-7, 4e-7 * Swift.abs(th)), "\(name): tanh(\(x[j]))")
                }
            }
        }
    }

    /// Max pooling's row kernel: strides 1 and 2, interiors shorter and longer than a vector (with the overlapping
    /// last one), NaN that never wins, and signed zeros where the first of equal values stays.
    func testMaxPoolRowOfEveryKernelSet() {
        for set in kernelSets {
            for stride in [1, 2] {
                for (o0, o1) in [(0, 1), (1, 7), (0, 16), (2, 19), (1, 40)] {
                    let offsets: [Int64] = [0, 1, 2], width = Swift.max(7, o1 * stride + 2)
                    var data = (0..<3).map { values(width, seed: UInt64(stride * 100 + o1 * 3 + $0)) }
                    data[1][3] = .nan
                    data[0][4] = -0.0
                    data[2][4] = 0.0
                    data[0][5] = 2; data[0][6] = 2; data[1][5] = 2
                    var out = [Float](repeating: 99, count: o1 + 1)
                    let ptrs = data.map { row -> UnsafeMutablePointer<Float> in
                        let p = UnsafeMutablePointer<Float>.allocate(capacity: row.count)
                        p.initialize(from: row, count: row.count)
                        return p
                    }
                    defer { ptrs.forEach { $0.deallocate() } }
                    let rows: [UnsafePointer<Float>?] = ptrs.map { UnsafePointer($0) }
                    set.maxpool_row(&out, Int64(o0), Int64(o1), rows, 3, offsets, 3, Int64(stride))
                    let name = "\(String(cString: set.name)) stride \(stride) \(o0)..<\(o1)"
                    for o in 0...o1 {
                        guard o >= o0, o < o1 else { XCTAssertEqual(out[o], 99, "\(name): output \(o) written"); continue }
                        var want = -Float.infinity
                        for r in 0..<3 { for t in offsets { let v = data[r][Int(t) + o * stride]; want = v > want ? v : want } }
                        XCTAssertEqual(out[o].bitPattern, want.bitPattern, "\(name): output \(o) is \(out[o]), expected \(want)")
                    }
                }
            }
        }
    }

    func testMicroKernelEpilogueOfEveryKernelSet() {
        for set in kernelSets {
            let mrMax = Int(set.mr), nrMax = Int(set.nr), kc = 37
            for (mr, nr) in [(1, 1), (mrMax, nrMax), (mrMax - 1, nrMax / 2 + 1), (2, nrMax - 3)] {
                for (beta, indirect) in [(Float(0), false), (1, true), (1, false), (0, true)] {
                    // Packed panels: step p holds MR values of A and NR of B; the indirect form reads B's step p at
                    // offsets[p] (here the packed panel backwards, so that the offsets matter).
                    let a = values(kc * mrMax, seed: UInt64(mr * 7 + nr)), b = values(kc * nrMax, seed: UInt64(nr * 5 + mr))
                    let offsets = (0..<kc).map { Int64((kc - 1 - $0) * nrMax) }
                    let bias = values(mr, seed: 9).map { $0 * 4 }
                    let ldc = nrMax + 3
                    var c = values(mr * ldc, seed: 11)
                    c[0] = .nan
                    let before = c
                    let (lo, hi): (Float, Float) = (-1.5, 2)
                    bias.withUnsafeBufferPointer { bp in
                        var ep = dl_epilogue(bias: bp.baseAddress, clamp: 1, lo: lo, hi: hi)
                        if indirect {
                            set.indirect(Int64(kc), a, b, offsets, &c, Int64(ldc), Int64(mr), Int64(nr), 1, beta, &ep)
                        } else {
                            set.kernel(Int64(kc), a, b, &c, Int64(ldc), Int64(mr), Int64(nr), 1, beta, &ep)
                        }
                    }
                    let name = "\(String(cString: set.name)) \(mr)x\(nr) beta \(beta) indirect \(indirect)"
                    for i in 0..<mr {
                        for j in 0..<ldc {
                            let got = c[i * ldc + j]
                            guard j < nr else { XCTAssertEqual(got, before[i * ldc + j], "\(name): [\(i), \(j)] written"); continue }
                            var want = (beta == 0 ? 0 : Double(beta) * Double(before[i * ldc + j])) + Double(bias[i])
                            for p in 0..<kc {
                                let bj = indirect ? Int(offsets[p]) + j : p * nrMax + j
                                want += Double(a[p * mrMax + i]) * Double(b[bj])
                            }
                            want = Swift.min(Swift.max(want, Double(lo)), Double(hi))
                            if beta != 0, before[i * ldc + j].isNaN {
                                XCTAssert(got.isNaN, "\(name): NaN at [\(i), \(j)] clamped to \(got)")
                            } else {
                                XCTAssertEqual(Double(got), want, accuracy: 1e-4, "\(name): [\(i), \(j)]")
                            }
                        }
                    }
                }
            }
        }
    }
}
