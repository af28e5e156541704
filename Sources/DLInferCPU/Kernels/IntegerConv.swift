import DLInferCore

/// ConvInteger and QLinearConv: per image and group, an int32 im2col of x less its zero point (padding is 0 there),
/// then an int32 GEMM with the weights less theirs, parallel over output channels and tiles of output pixels, with
/// the bias (QLinearConv) as the accumulators' start. The sums are exact in int32 (wrapping on overflow, as the spec
/// allows): a float GEMM would round them once K exceeds 2^24 / 255^2, i.e. 258 taps. ConvInteger stores the sums;
/// QLinearConv requantizes them per output channel.
final class IntegerConvKernel: Kernel {
    let conv: Conv
    let requantize: Bool
    /// Output pixels per GEMM task: their accumulators stay in registers and L1.
    private let tile = 256

    init(_ conv: Conv, requantize: Bool) { self.conv = conv; self.requantize = requantize }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let op = requantize ? "QLinearConv" : "ConvInteger"
        let x = inputs[0]!, w = inputs[requantize ? 3 : 1]!
        let xZero = inputs.count > 2 ? inputs[2] : nil, wZero = requantize ? inputs[5] : (inputs.count > 3 ? inputs[3] : nil)
        guard x.rank >= 3, w.rank == x.rank else {
            throw DLInferError.shape("\(op): x \(x.shape) and w \(w.shape) must have the same rank, 3 or more")
        }
        let n = x.shape[0], c = x.shape[1], m = w.shape[0], group = conv.group, cg = w.shape[1]
        guard cg * group == c, m % group == 0 else {
            throw DLInferError.shape("\(op): x has \(c) channels and w \(w.shape) with group \(group) does not match")
        }
        let inner = Array(x.shape[2...]), kernel = Array(w.shape[2...])
        let window = try conv.window(weightSpatial: kernel)
        let (out, padBegin) = try window.resolve(inner)
        try expectShape(outputs.shape(0), [n, m] + out)
        let y = try outputs.make(0)

        if let z = xZero, z.count != 1 { throw DLInferError.shape("\(op): x_zero_point must be a single value, got shape \(z.shape)") }
        let xz = Int32(xZero.map { $0.integerValue(at: 0) } ?? 0)
        let wz = try perChannel(wZero, m, "w_zero_point", op).map { $0.integerValue(at: $1) }
        var bias = [Int32](repeating: 0, count: m), multipliers = [Float]()
        if requantize {
            for k in [1, 6, 7] where inputs[k]!.count != 1 {
                throw DLInferError.shape("\(op): \(["", "x_scale", "", "", "", "", "y_scale", "y_zero_point"][k]) must be a single value, got shape \(inputs[k]!.shape)")
            }
            if inputs.count > 8, let b = inputs[8] {
                guard b.rank == 1, b.count == m else { throw DLInferError.shape("\(op): B must hold \(m) values, got shape \(b.shape)") }
                bias = Array(b.buffer(Int32.self))
            }
            let xs = inputs[1]!.pointer(Float.self)[0], ys = inputs[6]!.pointer(Float.self)[0]
            multipliers = try perChannel(inputs[4]!, m, "w_scale", op).map { t, i in (xs * t.pointer(Float.self)[i]) / ys }
        }

        let taps = kernel.elementCount, k = cg * taps, pixels = out.elementCount, mg = m / group
        // The weights less their zero points, [M, K] as int32.
        let weights = try outputs.make(.int32, [m, k])
        let wp = weights.pointer(Int32.self)
        func widen<W: BinaryInteger & TensorElement>(_: W.Type) {
            let src = w.pointer(W.self)
            for o in 0..<m { for j in 0..<k { wp[o * k + j] = Int32(src[o * k + j]) - Int32(wz[o]) } }
        }
        if w.dtype == .int8 { widen(Int8.self) } else { widen(UInt8.self) }
        let columns = try outputs.make(.int32, [k, pixels])
        let cols = columns.pointer(Int32.self)
        let geometry = ColumnGeometry(input: inner, output: out, kernel: kernel, strides: window.strides,
                                      dilations: window.dilations, padBegin: padBegin)
        let tiles = (pixels + tile - 1) / tile, plane = inner.elementCount
        for image in 0..<n {
            for g in 0..<group {
                let channels = image * c + g * cg
                if x.dtype == .int8 {
                    geometry.fill(cols, rows: k, taps: taps, x.pointer(Int8.self) + channels * plane, plane, zero: xz)
                } else {
                    geometry.fill(cols, rows: k, taps: taps, x.pointer(UInt8.self) + channels * plane, plane, zero: xz)
                }
                parallelFor(mg * tiles) { r in
                    withUnsafeTemporaryAllocation(of: Int32.self, capacity: self.tile) { accBuffer in
                        let acc = accBuffer.baseAddress!
                        for task in r {
                            let o = g * mg + task / tiles, p0 = (task % tiles) * self.tile
                            let len = Swift.min(self.tile, pixels - p0)
                            for j in 0..<len { acc[j] = bias[o] }
                            let wrow = wp + o * k
                            for q in 0..<k {
                                let v = wrow[q]
                                if v == 0 { continue }
                                let crow = cols + q * pixels + p0
                                for j in 0..<len { acc[j] &+= v &* crow[j] }
                            }
                            self.store(acc, len, y, (image * m + o) * pixels + p0, multiplier: requantize ? multipliers[o] : 0, inputs)
                        }
                    }
                }
            }
        }
        return [y]
    }

    /// Writes `len` accumulators at element `at` of y: as they are (ConvInteger), or requantized with y's zero point.
    @inline(__always)
    private func store(_ acc: UnsafeMutablePointer<Int32>, _ len: Int, _ y: Tensor, _ at: Int, multiplier: Float,
                       _ inputs: [Tensor?]) {
        guard requantize else {
            (y.pointer(Int32.self) + at).update(from: acc, count: len)
            return
        }
        let zero = Double(inputs[7]!.integerValue(at: 0)), mul = Double(multiplier)
        func go<Y: FixedWidthInteger & TensorElement>(_: Y.Type) {
            let yp = y.pointer(Y.self) + at, lo = Double(Y.min), hi = Double(Y.max)
            for j in 0..<len {
                let v = (Double(acc[j]) * mul).rounded(.toNearestOrEven) + zero
                yp[j] = Y(truncatingIfNeeded: Int32(v.isNaN ? zero : Swift.min(Swift.max(v, lo), hi)))
            }
        }
        if y.dtype == .int8 { go(Int8.self) } else { go(UInt8.self) }
    }

    /// A per-channel parameter as (tensor, index) per output channel: a single value, or one per channel.
    private func perChannel(_ t: Tensor?, _ m: Int, _ role: String, _ op: String) throws -> [(Tensor, Int)] {
        guard let t else { return Array(repeating: (Tensor.scalar(Int32(0)), 0), count: m) }
        if t.count == 1 { return Array(repeating: (t, 0), count: m) }
        guard t.rank == 1, t.count == m else {
            throw DLInferError.shape("\(op): \(role) must be a single value or one per output channel (\(m)), got shape \(t.shape)")
        }
        return (0..<m).map { (t, $0) }
    }
}

/// Where each im2col entry of a convolution reads: row (channel, tap), column (output pixel).
private struct ColumnGeometry {
    let input: [Int], output: [Int], kernel: [Int], strides: [Int], dilations: [Int], padBegin: [Int]

    /// Fills `rows` x pixels int32 columns from the channels at `x` (`plane` elements each), less `zero`, 0 in the
    /// padding; rows in parallel.
    func fill<X: BinaryInteger>(_ cols: UnsafeMutablePointer<Int32>, rows: Int, taps: Int, _ x: UnsafePointer<X>,
                                _ plane: Int, zero: Int32) {
        let rank = input.count, pixels = output.elementCount, last = output[rank - 1]
        let inStrides = input.contiguousStrides
        parallelFor(rows) { r in
            var idx = [Int](repeating: 0, count: rank)
            for row in r {
                let channel = row / taps
                var rest = row % taps
                // Per axis, the input coordinate each output index reads for this tap (-1: padding).
                var coords = [[Int]](repeating: [], count: rank)
                for d in stride(from: rank - 1, through: 0, by: -1) {
                    let t = rest % kernel[d]
                    rest /= kernel[d]
                    let offset = t * dilations[d] - padBegin[d]
                    coords[d] = (0..<output[d]).map { o in
                        let i = o * strides[d] + offset
                        return i >= 0 && i < input[d] ? i : -1
                    }
                }
                let src = x + channel * plane, dst = cols + row * pixels
                for d in 0..<rank { idx[d] = 0 }
                var p = 0
                while p < pixels {
                    var base = 0, valid = true
                    for d in 0..<(rank - 1) {
                        let i = coords[d][idx[d]]
                        if i < 0 { valid = false; break }
                        base += i * inStrides[d]
                    }
                    let lastCoords = coords[rank - 1]
                    if valid {
                        for j in 0..<last {
                            let i = lastCoords[j]
                            dst[p + j] = i < 0 ? 0 : Int32(truncatingIfNeeded: src[base + i]) - zero
                        }
                    } else {
                        for j in 0..<last { dst[p + j] = 0 }
                    }
                    p += last
                    var d = rank - 2
                    while d >= 0 {
                        idx[d] += 1
                        if idx[d] < output[d] { break }
                        idx[d] = 0
                        d -= 1
                    }
                }
            }
        }
    }
}

extension CPUKernelFactory {
    func visit(_ a: ConvInteger, _ _: Node, _ _: Graph) -> HostKernel {
        IntegerConvKernel(a.conv, requantize: false)
    }

    func visit(_ a: QLinearConv, _ _: Node, _ _: Graph) -> HostKernel {
        IntegerConvKernel(a.conv, requantize: true)
    }
}
