import CDLInferKernels
import Foundation
import XCTest

/// The C kernels that convolution calls directly, for every instruction set this CPU can run (the model-level tests
/// only reach the fastest one): the depthwise 3x3 plane kernel, Winograd's transforms, the recurrent gates' sigmoid
/// and tanh, max pooling's rows, the micro-kernels' bias-and-clamp epilogue, the packing of operands into panels and
/// the transpose of pixel rows into planes, against references written here.
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

    /// Every panel width of every kernel set (and odd ones), with the rows, the steps or neither along memory: row
    /// counts that end part-way through a panel and through a group of eight, step counts that end part-way through
    /// a group of eight, and padding lanes that must come out zero over memory that held NaN.
    func testPackingOfEveryKernelSet() {
        for set in kernelSets {
            for width in [4, 5, 6, 8, 12, 16, 32] {
                for (rows, kc) in [(1, 1), (3, 7), (6, 8), (13, 17), (37, 9), (64, 33)] {
                    for (rs, ks) in [(1, rows + 3), (kc + 2, 1), (2, 2 * rows + 1)] {
                        let x = values((rows - 1) * rs + (kc - 1) * ks + 1, seed: UInt64(rows * 100 + kc + width))
                        let panels = (rows + width - 1) / width
                        var got = [Float](repeating: .nan, count: panels * width * kc)
                        x.withUnsafeBufferPointer { xp in
                            got.withUnsafeMutableBufferPointer { gp in
                                set.pack(gp.baseAddress!, xp.baseAddress!, Int64(rs), Int64(ks), Int64(rows), Int64(kc),
                                         Int64(width))
                            }
                        }
                        for (i, v) in got.enumerated() {
                            let panel = i / (width * kc), p = i / width % kc, r = panel * width + i % width
                            let want = r < rows ? x[r * rs + p * ks] : 0
                            guard v == want else {
                                XCTFail("\(String(cString: set.name)) width \(width), \(rows) x \(kc), strides (\(rs), \(ks)): row \(r) step \(p) is \(v), not \(want)")
                                return
                            }
                        }
                    }
                }
            }
        }
    }

    func testDepthwise3x3OfEveryKernelSet() {
        // (ih, iw, ph, pw, sh, sw, multiplier): output widths 1 to 40 cross the vector tails of 4, 8 and 16 lanes;
        // the planes are small enough to be copied several ahead or large enough (40x40) to be copied row by row;
        // rows of up to 7 at stride 1 pair up in 16 lanes (1x1, 5x3, 7x7, 6x8, 3x7); at stride 2 across, rows split
        // by column parity start on either parity (pw 0 or 1) and may end in right padding (7x7, pw 1). Output planes
        // of 8 to 64 values go in blocks of 16 (or 8) channels, the 35 planes computed leaving some over.
        let shapes = [(1, 1, 1, 1, 1, 1, 1), (5, 3, 1, 1, 1, 1, 1), (7, 7, 1, 1, 1, 1, 1), (6, 8, 0, 0, 1, 1, 2),
                      (9, 9, 1, 1, 1, 1, 1), (4, 15, 1, 1, 1, 1, 1), (3, 16, 1, 1, 1, 1, 1), (8, 17, 1, 1, 1, 1, 1),
                      (5, 33, 1, 2, 1, 1, 1), (14, 14, 1, 1, 2, 2, 1), (7, 7, 0, 0, 2, 2, 1), (11, 35, 1, 1, 2, 2, 1),
                      (10, 64, 1, 1, 3, 2, 1), (13, 31, 2, 0, 1, 2, 3), (6, 40, 0, 1, 2, 1, 1), (40, 40, 1, 1, 1, 1, 1),
                      (3, 7, 2, 1, 1, 1, 1), (7, 7, 1, 1, 2, 2, 2)]
        for set in kernelSets {
            for (i, (ih, iw, ph, pw, sh, sw, mult)) in shapes.enumerated() {
                let channels = 37, m = channels * mult
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

    /// 2-D max and average pooling: windows 3x3, 2x2 and others, strides 1 and 2 across (any down; MaxPool three
    /// across at stride 2 takes the two-pass path straight from the input, wide rows included), padding on either side and windows past the input (ceil mode),
    /// rows narrower and wider than a vector, windows inside the input (read in place), planes small enough to be
    /// copied several ahead or large enough to be copied a part at a time, planes skipped, and planes whose rows are
    /// narrower than 8 in channel blocks (36 planes computed: blocks of 16 or 8 and planes left over). MaxPool:
    /// NaN never wins, and of equal values (signed zeros) the first in row-major order stays. AveragePool: the sum of
    /// the taps inside the input, from 0 in row-major order, over each output's own divisor; NaN spreads.
    func testPool2DOfEveryKernelSet() {
        // (ih, iw, ph, pw, kh, kw, sh, sw, oh, ow)
        let shapes = [(14, 14, 1, 1, 3, 3, 1, 1, 14, 14), (7, 7, 1, 1, 3, 3, 1, 1, 7, 7), (28, 28, 0, 0, 3, 3, 2, 2, 14, 14),
                      (9, 40, 1, 1, 3, 3, 2, 2, 5, 20), (1, 37, 0, 2, 1, 5, 1, 1, 1, 37), (6, 19, 0, 0, 2, 2, 2, 2, 3, 10),
                      (5, 33, 2, 1, 4, 3, 3, 1, 2, 33), (3, 3, 1, 1, 3, 3, 2, 2, 2, 2), (11, 50, 1, 0, 3, 1, 1, 2, 11, 25),
                      (28, 28, 0, 0, 2, 2, 2, 2, 14, 14), (7, 9, 1, 1, 2, 2, 2, 2, 5, 6), (10, 23, 1, 0, 2, 3, 3, 2, 4, 11),
                      (7, 61, 1, 1, 3, 3, 2, 2, 4, 31), (8, 40, 0, 0, 2, 2, 2, 2, 4, 20), (5, 20, 0, 0, 3, 3, 1, 1, 3, 18),
                      (40, 40, 1, 1, 3, 3, 1, 1, 40, 40), (14, 48, 0, 0, 3, 3, 2, 2, 7, 24), (16, 90, 1, 1, 3, 3, 2, 2, 8, 45),
                      (14, 14, 0, 0, 2, 2, 2, 2, 7, 7), (14, 14, 0, 0, 3, 3, 2, 2, 7, 7), (4, 12, 0, 1, 1, 3, 1, 2, 4, 6)]
        for set in kernelSets {
            for (i, (ih, iw, ph, pw, kh, kw, sh, sw, oh, ow)) in shapes.enumerated() {
                for average in [false, true] {
                    let planes = 37
                    var x = values(planes * ih * iw, seed: UInt64(600 + i)).map { ($0 * 8).rounded() / 8 }
                    x[ih * iw + iw / 2] = .nan
                    x[(planes - 1) * ih * iw] = .nan
                    for k in stride(from: 0, to: x.count, by: 7) where x[k] == 0 { x[k] = -0.0 }
                    let divisor = (0..<oh * ow + 16).map { Float(1 + ($0 * 5) % 9) }
                    let sentinel: Float = 12345
                    var y = [Float](repeating: sentinel, count: planes * oh * ow)
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in
                            divisor.withUnsafeBufferPointer { dp in
                                var g = dl_pool2d_args(x: xp.baseAddress, y: yp.baseAddress, divisor: average ? dp.baseAddress : nil,
                                                       ih: Int64(ih), iw: Int64(iw), ph: Int64(ph), pw: Int64(pw), kh: Int64(kh),
                                                       kw: Int64(kw), sh: Int64(sh), sw: Int64(sw), oh: Int64(oh), ow: Int64(ow))
                                let n = Int(dl_pool2d_scratch(&g))
                                let scratch = UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64)
                                defer { scratch.deallocate() }
                                set.pool2d(&g, 1, Int64(planes), scratch.bindMemory(to: Float.self, capacity: n))
                            }
                        }
                    }
                    let name = "\(String(cString: set.name)) shape \(i) \(average ? "average" : "max")"
                    for c in 0..<planes {
                        for oy in 0..<oh {
                            for ox in 0..<ow {
                                let got = y[(c * oh + oy) * ow + ox]
                                guard c > 0 else { XCTAssertEqual(got, sentinel, "\(name): plane 0 written"); continue }
                                var want: Float = average ? 0 : -.infinity
                                for a in 0..<kh {
                                    for b in 0..<kw {
                                        let iy = oy * sh + a - ph, ix = ox * sw + b - pw
                                        guard iy >= 0, iy < ih, ix >= 0, ix < iw else { continue }
                                        let v = x[(c * ih + iy) * iw + ix]
                                        want = average ? want + v : (v > want ? v : want)
                                    }
                                }
                                if average { want /= divisor[oy * ow + ox] }
                                XCTAssert(got.bitPattern == want.bitPattern || (got.isNaN && want.isNaN),
                                          "\(name): [\(c), \(oy), \(ox)] is \(got), expected \(want)")
                            }
                        }
                    }
                }
            }
        }
    }

    func testMicroKernelEpilogueOfEveryKernelSet() {
        for set in kernelSets {
            let mrMax = Int(set.mr), nrMax = Int(set.nr), kc = 37
            for (mr, nr) in [(1, 1), (mrMax, nrMax), (mrMax - 1, nrMax / 2 + 1), (2, nrMax - 3)] {
                for (beta, indirect, residual) in [(Float(0), false, false), (1, true, true), (1, false, false), (0, true, false),
                                                   (0, false, true)] {
                    // Packed panels: step p holds MR values of A and NR of B; the indirect form reads B's step p at
                    // offsets[p] (here the packed panel backwards, so that the offsets matter).
                    let a = values(kc * mrMax, seed: UInt64(mr * 7 + nr)), b = values(kc * nrMax, seed: UInt64(nr * 5 + mr))
                    let offsets = (0..<kc).map { Int64((kc - 1 - $0) * nrMax) }
                    let bias = values(mr, seed: 9).map { $0 * 4 }
                    let ldc = nrMax + 3
                    // The residual is laid out as C, found from the tile's place in C (here C starts one row earlier).
                    let res = values((mr + 1) * ldc, seed: 13)
                    var c = values((mr + 1) * ldc, seed: 11)
                    c[ldc] = .nan
                    let before = c
                    let (lo, hi): (Float, Float) = (-1.5, 2)
                    bias.withUnsafeBufferPointer { bp in
                        res.withUnsafeBufferPointer { rp in
                            c.withUnsafeMutableBufferPointer { cb in
                                let origin = cb.baseAddress!, tile = origin + ldc
                                var ep = dl_epilogue(bias: bp.baseAddress, clamp: 1, lo: lo, hi: hi,
                                                     residual: residual ? rp.baseAddress : nil, origin: origin)
                                if indirect {
                                    set.indirect(Int64(kc), a, b, offsets, tile, Int64(ldc), Int64(mr), Int64(nr), 1, beta, &ep)
                                } else {
                                    set.kernel(Int64(kc), a, b, tile, Int64(ldc), Int64(mr), Int64(nr), 1, beta, &ep)
                                }
                            }
                        }
                    }
                    c.removeFirst(ldc)
                    let name = "\(String(cString: set.name)) \(mr)x\(nr) beta \(beta) indirect \(indirect) residual \(residual)"
                    for i in 0..<mr {
                        for j in 0..<ldc {
                            let got = c[i * ldc + j], old = before[(i + 1) * ldc + j]
                            guard j < nr else { XCTAssertEqual(got, old, "\(name): [\(i), \(j)] written"); continue }
                            var want = (beta == 0 ? 0 : Double(beta) * Double(old)) + Double(bias[i])
                            if residual { want += Double(res[(i + 1) * ldc + j]) }
                            for p in 0..<kc {
                                let bj = indirect ? Int(offsets[p]) + j : p * nrMax + j
                                want += Double(a[p * mrMax + i]) * Double(b[bj])
                            }
                            want = Swift.min(Swift.max(want, Double(lo)), Double(hi))
                            if beta != 0, old.isNaN {
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

    /// Winograd F(4x4, 3x3)'s matrices (Lavin & Gray): V = Bᵀ d B for a 6x6 input patch d, Y = Aᵀ M A for 4x4
    /// outputs. Terms with a zero coefficient are left out, as a transform does, so a NaN reaches only what it feeds.
    /// Values are compared by the harness's `assertClose` rule (NaN only where NaN is expected).
    static let bt: [[Double]] = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                                 [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
    static let at: [[Double]] = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]

    /// Σ_a Σ_b l[i][a] p[a][b] l[j][b] over the nonzero coefficients.
    func sandwich(_ l: [[Double]], _ p: (Int, Int) -> Double, _ i: Int, _ j: Int) -> Double {
        var s = 0.0
        for a in 0..<6 where l[i][a] != 0 { for b in 0..<6 where l[j][b] != 0 { s += l[i][a] * p(a, b) * l[j][b] } }
        return s
    }

    /// (height, width, padTop, padLeft, tilesW, tilesH, t0, tc): chunks that start and end inside a tile row, rows
    /// narrower than a vector, more than eight tiles to a row, tiles reaching past the plane on every side.
    static let winogradShapes = [(16, 16, 1, 1, 4, 4, 0, 16), (19, 23, 1, 1, 6, 5, 3, 20), (7, 5, 0, 0, 1, 2, 0, 2),
                                 (40, 37, 2, 0, 10, 10, 5, 64), (9, 33, 1, 2, 9, 3, 0, 27), (14, 14, 1, 1, 4, 4, 6, 5)]

    func testWinogradInputTransformOfEveryKernelSet() {
        for set in kernelSets {
            for (i, (h, w, pt, pl, tilesW, _, t0, tc)) in Self.winogradShapes.enumerated() {
                let channels = 3, ld = channels * tc
                var x = values(channels * h * w, seed: UInt64(300 + i))
                if i % 2 == 1 { x[h * w + w + 2] = .nan }
                let sentinel: Float = 12345
                var v = [Float](repeating: sentinel, count: 36 * ld)
                x.withUnsafeBufferPointer { xp in
                    v.withUnsafeMutableBufferPointer { vp in
                        var g = dl_winograd_input_args(x: xp.baseAddress, v: vp.baseAddress, height: Int64(h), width: Int64(w),
                                                       pad_top: Int64(pt), pad_left: Int64(pl), tiles_w: Int64(tilesW),
                                                       t0: Int64(t0), tc: Int64(tc), ld: Int64(ld))
                        var scratch = [Float](repeating: .nan, count: Int(dl_winograd_input_scratch(&g)))
                        set.winograd_input(&g, 1, Int64(channels), &scratch)
                    }
                }
                let name = "\(String(cString: set.name)) shape \(i)"
                for xi in 0..<36 {
                    for c in 0..<channels {
                        for t in 0..<tc {
                            let got = v[xi * ld + c * tc + t]
                            guard c > 0 else { XCTAssertEqual(got, sentinel, "\(name): channel 0 written"); continue }
                            let top = (t0 + t) / tilesW * 4 - pt, left = (t0 + t) % tilesW * 4 - pl
                            let want = sandwich(Self.bt, { a, b in
                                let r = top + a, col = left + b
                                return r >= 0 && r < h && col >= 0 && col < w ? Double(x[(c * h + r) * w + col]) : 0
                            }, xi / 6, xi % 6)
                            assertClose(Double(got), want, rtol: 1e-5, atol: 1e-5, "\(name): V[\(xi)][\(c)][\(t)]")
                        }
                    }
                }
            }
        }
    }

    /// Both layouts of M: channels x tiles, and tiles x channels (rows `ldt` apart, wider than the channels), the
    /// latter over a whole vector of eight channels and a partial one.
    func testWinogradOutputTransformOfEveryKernelSet() {
        for set in kernelSets {
            for (i, (h, w, _, _, tilesW, _, t0, tc)) in Self.winogradShapes.enumerated() {
                for tileRows in [false, true] {
                    let planes = tileRows ? 11 : 3, ldt = tileRows ? planes + 2 : 0, ld = tileRows ? tc * ldt : planes * tc
                    func at(_ xi: Int, _ o: Int, _ t: Int) -> Int { tileRows ? xi * ld + t * ldt + o : xi * ld + o * tc + t }
                    let clamp = i % 2 == 0, (lo, hi): (Float, Float) = (-3, 4)
                    var m = values(36 * ld, seed: UInt64(400 + i)).map { $0 * 2 }
                    if i == 1 { m[at(7, 1, 2 % tc)] = .nan }
                    let bias = values(planes, seed: UInt64(500 + i))
                    let res = values(planes * h * w, seed: UInt64(600 + i)), residual = i % 3 != 0
                    let sentinel: Float = 12345
                    var y = [Float](repeating: sentinel, count: planes * h * w)
                    bias.withUnsafeBufferPointer { bp in
                        m.withUnsafeBufferPointer { mp in
                            res.withUnsafeBufferPointer { rp in
                                y.withUnsafeMutableBufferPointer { yp in
                                    var g = dl_winograd_output_args(m: mp.baseAddress, y: yp.baseAddress,
                                                                    bias: i == 3 ? nil : bp.baseAddress,
                                                                    residual: residual ? rp.baseAddress : nil,
                                                                    height: Int64(h), width: Int64(w),
                                                                    tiles_w: Int64(tilesW), t0: Int64(t0), tc: Int64(tc),
                                                                    ld: Int64(ld), ldt: Int64(ldt), clamp: clamp ? 1 : 0,
                                                                    lo: lo, hi: hi)
                                    set.winograd_output(&g, 1, Int64(planes))
                                }
                            }
                        }
                    }
                    let name = "\(String(cString: set.name)) shape \(i)\(tileRows ? " tiles x channels" : "")"
                    for o in 0..<planes {
                        for r in 0..<h {
                            for col in 0..<w {
                                let got = y[(o * h + r) * w + col]
                                let tile = r / 4 * tilesW + col / 4
                                guard o > 0, col / 4 < tilesW, tile >= t0, tile < t0 + tc else {
                                    XCTAssertEqual(got, sentinel, "\(name): [\(o), \(r), \(col)] written"); continue
                                }
                                var want = sandwich(Self.at, { a, b in Double(m[at(a * 6 + b, o, tile - t0)]) }, r % 4, col % 4)
                                want += i == 3 ? 0 : Double(bias[o])
                                if residual { want += Double(res[(o * h + r) * w + col]) }
                                if clamp, !want.isNaN { want = Swift.min(Swift.max(want, Double(lo)), Double(hi)) }
                                assertClose(Double(got), want, rtol: 1e-5, atol: 1e-5, "\(name): y[\(o), \(r), \(col)]")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Yᵀ into planes for channel ranges that start past 0 and end part-way through a block of eight (or hold fewer
    /// than eight), pixel counts below, at and past eight (a last block that overlaps the one before), with and
    /// without bias and clamp, a NaN that must stay NaN, and channels outside the range left untouched.
    func testTransposeOutOfEveryKernelSet() {
        for set in kernelSets {
            for (i, (pixels, channels, c0, c1)) in [(1, 3, 0, 3), (7, 9, 1, 8), (8, 16, 0, 16), (49, 21, 2, 21),
                                                    (13, 40, 5, 37), (196, 8, 0, 8)].enumerated() {
                let ld = channels + i % 2 * 3, clamp = i % 2 == 1, withBias = i != 2, (lo, hi): (Float, Float) = (-0.25, 0.5)
                var yt = values(pixels * ld, seed: UInt64(700 + i))
                yt[(pixels - 1) * ld + c1 - 1] = .nan
                let bias = values(channels, seed: UInt64(800 + i))
                let sentinel: Float = 12345
                var y = [Float](repeating: sentinel, count: channels * pixels)
                yt.withUnsafeBufferPointer { tp in
                    bias.withUnsafeBufferPointer { bp in
                        y.withUnsafeMutableBufferPointer { yp in
                            var g = dl_transpose_out_args(yt: tp.baseAddress, y: yp.baseAddress,
                                                          bias: withBias ? bp.baseAddress : nil, ld: Int64(ld),
                                                          pixels: Int64(pixels), clamp: clamp ? 1 : 0, lo: lo, hi: hi)
                            set.transpose_out(&g, Int64(c0), Int64(c1))
                        }
                    }
                }
                let name = "\(String(cString: set.name)) case \(i)"
                for c in 0..<channels {
                    for p in 0..<pixels {
                        let got = y[c * pixels + p]
                        guard c >= c0, c < c1 else { XCTAssertEqual(got, sentinel, "\(name): [\(c), \(p)] written"); continue }
                        var want = yt[p * ld + c] + (withBias ? bias[c] : 0)
                        if clamp, !want.isNaN { want = Swift.min(Swift.max(want, lo), hi) }
                        XCTAssert(got == want || got.isNaN && want.isNaN, "\(name): y[\(c), \(p)] is \(got), not \(want)")
                    }
                }
            }
        }
    }
}
