import DLInferCore
import DLInferCPU
import DLInferOpenCL
import XCTest

/// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear on OpenCL against references computed here from the
/// ONNX definitions: per tensor, per axis and per block, every integer type, ties (rounding half to even),
/// saturation, NaN and infinities, zero points absent, constant or computed, scales constant or computed. Integer
/// results must agree exactly; under DLINFER_TEST_PRECISION=fp16 float inputs are first rounded to half (as the
/// device stores them) and float results are expected rounded to half.
final class OpenCLQuantizeTests: OpenCLTestCase {
    private let quantized: [DType] = [.int8, .uint8, .int16, .uint16]

    private func quantizeOp(axis: Int = 1, blockSize: Int = 0, outputType: DType? = nil, precision: DType? = nil) -> Op {
        .quantizeLinear(QuantizeLinear(axis: axis, blockSize: blockSize, outputType: outputType, precision: precision,
                                       types: QuantizationTypes(values: [.float32, .int32, .float16], scales: [.float32, .float16],
                                                                results: quantized + DType.float8s)))
    }

    private func dequantizeOp(axis: Int = 1, blockSize: Int = 0) -> Op {
        .dequantizeLinear(DequantizeLinear(axis: axis, blockSize: blockSize,
                                           types: QuantizationTypes(values: quantized + [.int32] + DType.float8s,
                                                                    scales: [.float32], results: [.float32])))
    }

    /// Runs the one-node graph on OpenCL (twice: the second run reuses the plan and pooled buffers), checking that it
    /// was placed there, and returns the outputs with the fed operands.
    private func runOnDevice(_ op: Op, _ operands: [(Tensor, constant: Bool)?], outputs: Int = 1, _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) throws -> [Tensor] {
        let (g, feeds) = try graph(op, operands, outputs: outputs)
        let session = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: try openCLDevice(), weighTransfers: false,
                                                                         halfStorage: halfStorage))
        XCTAssertEqual(session.placements[0].backend, "opencl", "\(what): \(session.placements[0].reason ?? "")",
                       file: file, line: line)
        let first = try session.run(feeds)
        let second = try session.run(feeds)
        for (a, b) in zip(first, second) where memcmp(a.raw, b.raw, a.byteCount) != 0 {
            XCTFail("\(what): the second run differs from the first", file: file, line: line)
        }
        return second
    }

    /// A float32 tensor as the device holds it (rounded to half under fp16 storage).
    private func stored(_ t: Tensor) -> Tensor { halfStorage ? roundedToHalf(t) : t }

    /// An integer tensor of `dtype` with the given values.
    private func integers(_ v: [Int], _ dtype: DType, _ shape: [Int]) -> Tensor {
        switch dtype {
        case .int8: return Tensor(v.map { Int8(truncatingIfNeeded: $0) }, shape: shape)
        case .uint8: return Tensor(v.map { UInt8(truncatingIfNeeded: $0) }, shape: shape)
        case .int16: return Tensor(v.map { Int16(truncatingIfNeeded: $0) }, shape: shape)
        case .uint16: return Tensor(v.map { UInt16(truncatingIfNeeded: $0) }, shape: shape)
        default: return Tensor(v.map { Int32(truncatingIfNeeded: $0) }, shape: shape)
        }
    }

    /// The values of an integer tensor.
    private func ints(_ t: Tensor) -> [Int] {
        switch t.dtype {
        case .int8: return t.array(Int8.self).map(Int.init)
        case .uint8: return t.array(UInt8.self).map(Int.init)
        case .int16: return t.array(Int16.self).map(Int.init)
        case .uint16: return t.array(UInt16.self).map(Int.init)
        default: return t.intValues() ?? []
        }
    }

    private func range(_ t: DType) -> (Int, Int) {
        switch t {
        case .int8: return (-128, 127)
        case .uint8: return (0, 255)
        case .int16: return (-32768, 32767)
        default: return (0, 65535)
        }
    }

    /// For each element of a tensor of `shape`, the flat index of its scale: 0 per tensor (a single scale), its index
    /// along `axis` per axis, and the element of the blocked scale tensor (`axis` divided by `blockSize`) per block.
    private func scaleIndices(_ shape: [Int], scaleCount: Int, axis: Int, blockSize: Int) -> [Int] {
        let n = shape.reduce(1, *)
        guard scaleCount > 1 else { return [Int](repeating: 0, count: n) }
        let a = axis < 0 ? axis + shape.count : axis
        var scaleShape = shape
        scaleShape[a] = blockSize == 0 ? shape[a] : (shape[a] + blockSize - 1) / blockSize
        return (0..<n).map { i in
            var coords = [Int](repeating: 0, count: shape.count), rest = i
            for d in stride(from: shape.count - 1, through: 0, by: -1) { coords[d] = rest % shape[d]; rest /= shape[d] }
            if blockSize == 0 { return coords[a] }
            coords[a] /= blockSize
            return coords.indices.reduce(0) { $0 * scaleShape[$1] + coords[$1] }
        }
    }

    /// ONNX QuantizeLinear: saturate(round_half_even(x / scale) + zero point), NaN giving the zero point.
    private func quantized(_ x: [Float], _ scale: [Float], _ zero: [Int]?, _ index: [Int], _ t: DType) -> [Int] {
        let (lo, hi) = range(t)
        return x.indices.map { i in
            let k = index[i], z = zero?[k] ?? 0
            let q = (x[i] / scale[k]).rounded(.toNearestOrEven)
            if q.isNaN { return z }
            return Int(min(max(q + Float(z), Float(lo)), Float(hi)))
        }
    }

    /// Checks QuantizeLinear of `x` (float32, or int32) with every combination of constant and computed scale and
    /// zero point (and no zero point: uint8, or `outputType`).
    private func checkQuantize(_ x: Tensor, scale: [Float], scaleShape: [Int], zero: [Int]?, _ t: DType, axis: Int = 1,
                               blockSize: Int = 0, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let xs = x.dtype == .float32 ? stored(x) : x
        let s = stored(Tensor(scale, shape: scaleShape))
        let xv = xs.dtype == .float32 ? xs.array(Float.self) : ints(xs).map { Float($0) }
        let index = scaleIndices(x.shape, scaleCount: scale.count, axis: axis, blockSize: blockSize)
        let want = quantized(xv, s.array(Float.self), zero, index, t)
        for constant in [true, false] {
            let zp: (Tensor, constant: Bool)? = zero.map { (integers($0, t, scaleShape), constant) }
            let op = quantizeOp(axis: axis, blockSize: blockSize, outputType: zero == nil ? t : nil)
            let label = "\(what) \(t) \(constant ? "constant" : "computed") parameters"
            let got = try runOnDevice(op, [(xs, false), (s, constant), zp], label, file: file, line: line)[0]
            XCTAssertEqual(got.dtype, t, label, file: file, line: line)
            XCTAssertEqual(got.shape, x.shape, label, file: file, line: line)
            let y = ints(got)
            if let bad = want.indices.first(where: { y[$0] != want[$0] }) {
                XCTFail("\(label): element \(bad) (x = \(xv[bad])) is \(y[bad]), expected \(want[bad])",
                        file: file, line: line)
            }
        }
    }

    func testQuantizePerTensorEveryType() throws {
        let x = random([3, 37, 41], scale: 300)
        for t in quantized {
            let (lo, hi) = range(t)
            try checkQuantize(x, scale: [0.7], scaleShape: [], zero: [(lo + hi) / 2 + 3], t, "per tensor")
            try checkQuantize(x, scale: [1.3], scaleShape: [1], zero: nil, t, "per tensor, no zero point")
        }
    }

    /// Quotients halfway between integers (they round to the even one), x/s = k + 0.5 for every sign, and quotients
    /// that only round to a tie once the division is rounded to float32.
    func testQuantizeTiesRoundHalfToEven() throws {
        let halves = (-12...12).map { Float($0) + 0.5 }
        for t in [DType.int8, .uint8] {
            let zero = t == .int8 ? 0 : 128
            for s: Float in [2, 0.5, 0.25, 3] {
                let x = Tensor(halves.map { $0 * s }, shape: [halves.count])
                try checkQuantize(x, scale: [s], scaleShape: [], zero: [zero], t, "ties scale \(s)")
            }
            // x = (k + 0.5) * s rounded to float32: the float32 quotient is often exactly k + 0.5 (or its neighbour).
            for s: Float in [0.1, 0.3, 0.0117, 1.0 / 3, 0.007843138] {
                let x = Tensor((0..<500).map { Float($0 - 250) / 2 * s }, shape: [500])
                try checkQuantize(x, scale: [s], scaleShape: [], zero: [zero], t, "near ties scale \(s)")
            }
        }
    }

    func testQuantizeSaturationNaNAndInfinity() throws {
        let specials: [Float] = [.nan, .infinity, -.infinity, 1e30, -1e30, 3e9, -3e9, 127.5, 128.5, -128.5, -129.5, 255.5,
                                 256.5, 65535.5, -32768.5, 0, -0.0, 1e-30]
        for t in quantized {
            let (lo, hi) = range(t)
            let x = Tensor(specials, shape: [specials.count])
            try checkQuantize(x, scale: [1], scaleShape: [], zero: [lo == 0 ? 7 : -7], t, "specials")
            try checkQuantize(x, scale: [0.001], scaleShape: [], zero: [hi], t, "specials, zero point at the top")
            // NaN, +inf and -inf scales: quotients NaN, 0 or ±inf.
            try checkQuantize(Tensor([Float](arrayLiteral: 1, -2, 0, .nan, .infinity), shape: [5]), scale: [.infinity], scaleShape: [],
                              zero: [lo], t, "infinite scale")
            try checkQuantize(Tensor([Float](arrayLiteral: 1, -2, 0, .nan, .infinity), shape: [5]), scale: [0], scaleShape: [],
                              zero: [lo == 0 ? 9 : -9], t, "zero scale")
        }
    }

    func testQuantizePerAxisAndBlocked() throws {
        let x = random([3, 10, 7], scale: 40)
        let cases: [(axis: Int, blockSize: Int, scaleShape: [Int])] = [
            (1, 0, [10]), (0, 0, [3]), (-1, 0, [7]), (2, 0, [7]),
            (1, 4, [3, 3, 7]), (1, 3, [3, 4, 7]), (0, 2, [2, 10, 7]), (-1, 5, [3, 10, 2]), (2, 7, [3, 10, 1]), (1, 10, [3, 1, 7]),
        ]
        for (axis, block, shape) in cases {
            let count = shape.reduce(1, *)
            let scale = (0..<count).map { 0.05 + Float($0 % 13) * 0.37 }
            for t in [DType.int8, .uint8, .int16] {
                let (lo, hi) = range(t)
                let zero = (0..<count).map { lo + ($0 * 37) % (hi - lo + 1) }
                try checkQuantize(x, scale: scale, scaleShape: shape, zero: zero, t, axis: axis, blockSize: block,
                                  "axis \(axis) block \(block)")
            }
        }
    }

    func testQuantizeInt32Input() throws {
        let values: [Int32] = [0, 1, -1, 7, -7, 1 << 24 + 1, -(1 << 25) - 3, .max, .min, 1000, 2_000_001]
        let x = Tensor(values, shape: [values.count])
        try checkQuantize(x, scale: [2], scaleShape: [], zero: [3], .int8, "int32 x")
        try checkQuantize(x, scale: [100], scaleShape: [], zero: [1000], .uint16, "int32 x")
    }

    func testQuantizeEmptyAndScalar() throws {
        try checkQuantize(Tensor([Float](), shape: [0, 4]), scale: [1, 2, 3, 4], scaleShape: [4], zero: [1, 2, 3, 4], .int8,
                          axis: 1, "empty")
        try checkQuantize(Tensor([Float(-3.5)], shape: []), scale: [0.5], scaleShape: [], zero: [5], .uint8, "scalar")
    }

    /// ONNX DequantizeLinear: (x - zero point) * scale in float32, the difference exact.
    private func checkDequantize(_ x: [Int], _ t: DType, shape: [Int], scale: [Float], scaleShape: [Int], zero: [Int]?,
                                 axis: Int = 1, blockSize: Int = 0, _ what: String, file: StaticString = #filePath,
                                 line: UInt = #line) throws {
        let s = stored(Tensor(scale, shape: scaleShape)), sv = s.array(Float.self)
        let index = scaleIndices(shape, scaleCount: scale.count, axis: axis, blockSize: blockSize)
        let want = stored(Tensor(x.indices.map { i in Float(x[i] - (zero?[index[i]] ?? 0)) * sv[index[i]] }, shape: shape))
        for constant in [true, false] {
            let label = "\(what) \(t) \(constant ? "constant" : "computed") parameters"
            let zp: (Tensor, constant: Bool)? = zero.map { (integers($0, t, scaleShape), constant) }
            let got = try runOnDevice(dequantizeOp(axis: axis, blockSize: blockSize),
                                      [(integers(x, t, shape), false), (s, constant), zp], label, file: file, line: line)[0]
            XCTAssertEqual(got.dtype, .float32, label, file: file, line: line)
            XCTAssertEqual(got.shape, shape, label, file: file, line: line)
            let g = got.array(Float.self), w = want.array(Float.self)
            if let bad = w.indices.first(where: { g[$0] != w[$0] && !(g[$0].isNaN && w[$0].isNaN) }) {
                XCTFail("\(label): element \(bad) (x = \(x[bad])) is \(g[bad]), expected \(w[bad])", file: file, line: line)
            }
        }
    }

    func testDequantizeEveryTypeAndLayout() throws {
        let shape = [3, 10, 7], n = 210
        let cases: [(axis: Int, blockSize: Int, scaleShape: [Int])] = [
            (1, 0, []), (1, 0, [1]), (1, 0, [10]), (0, 0, [3]), (-1, 0, [7]), (1, 4, [3, 3, 7]), (0, 2, [2, 10, 7]), (2, 3, [3, 10, 3]),
        ]
        for t in quantized {
            let (lo, hi) = range(t)
            let x = (0..<n).map { i in i < 4 ? [lo, hi, lo + 1, hi - 1][i] : lo + (i * 7919) % (hi - lo + 1) }
            for (axis, block, scaleShape) in cases {
                let count = scaleShape.reduce(1, *)
                let scale = (0..<count).map { 0.013 + Float($0 % 11) * 0.71 }
                let zero = (0..<count).map { hi - ($0 * 53) % (hi - lo + 1) }
                try checkDequantize(x, t, shape: shape, scale: scale, scaleShape: scaleShape, zero: zero, axis: axis,
                                    blockSize: block, "axis \(axis) block \(block) scale \(scaleShape)")
            }
            try checkDequantize(x, t, shape: shape, scale: [0.25], scaleShape: [], zero: nil, "no zero point")
        }
    }

    /// int32 x (a quantized bias): differences beyond int32's range are exact before the rounding to float32.
    func testDequantizeInt32() throws {
        let x = [Int(Int32.max), Int(Int32.min), 0, 1, -1, 16_777_217, -16_777_219, 123_456_789]
        try checkDequantize(x, .int32, shape: [8], scale: [0.001], scaleShape: [], zero: [-5], "int32 past the range")
        try checkDequantize(x, .int32, shape: [2, 4], scale: [0.5, 3], scaleShape: [2], zero: [Int(Int32.max), Int(Int32.min)],
                            axis: 0, "int32 per axis")
        try checkDequantize(x, .int32, shape: [8], scale: [.infinity], scaleShape: [], zero: nil, "int32 infinite scale")
    }

    /// ONNX DynamicQuantizeLinear (onnxruntime's scale 1 for an all-zero range): y, y_scale, y_zero_point.
    private func checkDynamic(_ values: [Float], shape: [Int], _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let x = stored(Tensor(values, shape: shape)), xv = x.array(Float.self)
        var lo: Float = 0, hi: Float = 0
        for v in xv where !v.isNaN { lo = min(lo, v); hi = max(hi, v) }
        let scale: Float = hi == lo ? 1 : (hi - lo) / 255
        let initial = 0 - lo / scale
        let zero = initial.isNaN ? 0 : min(max(initial, 0), 255).rounded(.toNearestOrEven)
        let want = xv.map { v -> Int in
            let q = (v / scale).rounded(.toNearestOrEven) + zero
            return Int(q.isNaN ? zero : min(max(q, 0), 255))
        }
        let got = try runOnDevice(.dynamicQuantizeLinear(DynamicQuantizeLinear()), [(x, false)], outputs: 3, what,
                                  file: file, line: line)
        let gotScale = got[1].array(Float.self)[0], wantScale = stored(Tensor([scale], shape: [])).array(Float.self)[0]
        XCTAssertEqual(gotScale, wantScale, "\(what): y_scale", file: file, line: line)
        XCTAssertEqual(ints(got[2]), [Int(zero)], "\(what): y_zero_point", file: file, line: line)
        XCTAssertEqual(got[0].shape, shape, what, file: file, line: line)
        let y = ints(got[0])
        if let bad = want.indices.first(where: { y[$0] != want[$0] }) {
            XCTFail("\(what): element \(bad) (x = \(xv[bad])) is \(y[bad]), expected \(want[bad])", file: file, line: line)
        }
    }

    func testDynamicQuantize() throws {
        try checkDynamic(random([2, 3, 37, 41]).array(Float.self).map { $0 * 7 + 1 }, shape: [2, 3, 37, 41], "mixed signs")
        try checkDynamic(random([100_003]).array(Float.self), shape: [100_003], "many work-groups")
        try checkDynamic(random([5, 13]).array(Float.self).map { abs($0) + 0.5 }, shape: [5, 13], "all positive (0 in the range)")
        try checkDynamic(random([5, 13]).array(Float.self).map { -abs($0) - 0.5 }, shape: [5, 13], "all negative")
        try checkDynamic([Float](repeating: 0, count: 17), shape: [17], "all zeros: scale 1")
        try checkDynamic([], shape: [0, 3], "empty")
        try checkDynamic([3], shape: [], "scalar")
        try checkDynamic([1, .nan, -2, 0.5, .nan, 254, -1], shape: [7], "NaN skipped in the range, quantized to the zero point")
        try checkDynamic([1, .infinity, -2, 0.5], shape: [4], "+inf")
        try checkDynamic([1, -.infinity, -2, 0.5], shape: [4], "-inf")
        // x/scale halfway between integers: 0..255 spaced by scale/2.
        try checkDynamic((0...510).map { Float($0) / 2 }, shape: [511], "ties")
        try checkDynamic((0...510).map { Float($0) / 2 - 100 }, shape: [511], "ties with a zero point")
    }

    /// What the kernels do not take stays on the CPU, with the reason.
    func testCPUPlacements() throws {
        let device = try openCLDevice()
        let x = random([4, 5])
        let cases: [(Op, [(Tensor, constant: Bool)?], String)] = [
            (quantizeOp(outputType: .float8e4m3fn), [(x, false), (Tensor([Float(0.5)], shape: []), true)], "8-bit floats"),
            (quantizeOp(precision: .float16), [(x, false), (Tensor([Float(0.5)], shape: []), true)], "dividing in float16"),
        ]
        for (op, operands, reason) in cases {
            let (g, _) = try graph(op, operands)
            let session = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: device, weighTransfers: false))
            XCTAssertEqual(session.placements[0].backend, "cpu", reason)
            XCTAssert(session.placements[0].reason?.contains(reason) == true, "\(reason): \(session.placements[0].reason ?? "")")
        }
    }
}
