import DLInferCore

/// Runs `f(element, scale index)` over every element of x in parallel, writing y (see `QuantizationLayout`).
@inline(__always)
private func mapQuantized<X, Y>(_ x: UnsafePointer<X>, _ y: UnsafeMutablePointer<Y>, _ layout: QuantizationLayout,
                                _ f: (X, Int) -> Y) {
    let inner = layout.inner, rows = layout.outer * layout.axisLength
    guard inner > 0, rows > 0 else { return }
    if layout.kind == .perTensor {
        parallelFor(inner, grain: 1 << 14) { r in for i in r { y[i] = f(x[i], 0) } }
        return
    }
    parallelFor(rows, grain: Swift.max(1, (1 << 14) / inner)) { r in
        for row in r {
            let (base, step) = layout.scaleIndex(row: row)
            let xr = x + row * inner, yr = y + row * inner
            if step == 0 {
                for j in 0..<inner { yr[j] = f(xr[j], base) }
            } else {
                for j in 0..<inner { yr[j] = f(xr[j], base + j) }
            }
        }
    }
}

/// `v` rounded to `precision` (float32, float16 or bfloat16), as a float32.
@inline(__always)
private func rounded(_ v: Float, to precision: DType) -> Float {
    switch precision {
    case .float16: return Half(v).float
    case .bfloat16: return BFloat16(v).float
    default: return v
    }
}

/// The value of each byte of an 8- or 4-bit float type; nil for the other types.
private func floatCodes(_ t: DType) -> [Float]? {
    t.float8Format?.table ?? (t == .float4e2m1 ? SubByte.table(t) : nil)
}

/// The zero point's values (0 when absent); for 8- and 4-bit floats, checks that they are all 0.
private func zeroPoints(_ zero: Tensor?, count: Int, _ op: String) throws -> [Int] {
    guard let zero else { return [Int](repeating: 0, count: count) }
    if let table = floatCodes(zero.dtype) {
        let bytes = zero.raw.assumingMemoryBound(to: UInt8.self)
        for i in 0..<zero.count where table[Int(bytes[i])] != 0 {
            throw DLInferError.invalid("\(op): a \(zero.dtype) zero point must be 0, got \(table[Int(bytes[i])])")
        }
        return [Int](repeating: 0, count: count)
    }
    return (0..<zero.count).map { zero.integerValue(at: $0) }
}

/// QuantizeLinear's and DequantizeLinear's x, scale and optional zero point, and how scale and zero point map onto x.
private func quantizationOperands(_ inputs: [Tensor?], axis: Int, blockSize: Int) throws
    -> (x: Tensor, scale: Tensor, zero: Tensor?, layout: QuantizationLayout) {
    let x = inputs[0]!, scale = inputs[1]!, zero = inputs.count > 2 ? inputs[2] : nil
    return (x, scale, zero, try QuantizationLayout(x: x.shape, scale: scale.shape, zeroPoint: zero?.shape, axis: axis,
                                                   blockSize: blockSize))
}

/// QuantizeLinear: the quotient in the division's precision, then rounding and saturation per y's type.
final class QuantizeLinearKernel: Kernel {
    let attrs: QuantizeLinear
    init(_ a: QuantizeLinear) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let (x, scale, zero, layout) = try quantizationOperands(inputs, axis: attrs.axis, blockSize: attrs.blockSize)
        let y = try outputs.make(0)
        let p = attrs.divisionType(scale: scale.dtype)
        let scales = scale.doubleValues()!.map { rounded(Float($0), to: p) }
        // y's zero points (8 and 16 bits) are exact as floats.
        let zeros = try zeroPoints(zero, count: scales.count, attrs.opName).map { Float($0) }
        try scales.withUnsafeBufferPointer { s in
            try zeros.withUnsafeBufferPointer { z in
                switch x.dtype {
                case .float32: try quantize(x, Float.self, y, layout, p, s.baseAddress!, z.baseAddress!) { $0 }
                case .float16: try quantize(x, Half.self, y, layout, p, s.baseAddress!, z.baseAddress!) { $0.float }
                case .bfloat16: try quantize(x, BFloat16.self, y, layout, p, s.baseAddress!, z.baseAddress!) { $0.float }
                case .int32: try quantize(x, Int32.self, y, layout, p, s.baseAddress!, z.baseAddress!) { Float($0) }
                default: throw DLInferError.unsupported("QuantizeLinear of \(x.dtype)")
                }
            }
        }
        return [y]
    }

    private func quantize<X>(_ x: Tensor, _: X.Type, _ y: Tensor, _ layout: QuantizationLayout, _ p: DType,
                             _ s: UnsafePointer<Float>, _ z: UnsafePointer<Float>, _ load: (X) -> Float) throws {
        let xp = UnsafePointer(x.raw.assumingMemoryBound(to: X.self))
        /// x / scale in precision p: x converted to p, the quotient rounded to p (a float32 division of two
        /// float16 or bfloat16 values, rounded once more, is their correctly rounded quotient).
        func quotient(_ v: X, _ k: Int) -> Float {
            p == .float32 ? load(v) / s[k] : rounded(rounded(load(v), to: p) / s[k], to: p)
        }
        /// Saturating to `lo...hi`, stored by `store`.
        func integer<Y>(_: Y.Type, lo: Float, hi: Float, _ store: (Int32) -> Y) {
            mapQuantized(xp, y.raw.assumingMemoryBound(to: Y.self), layout) { v, k in
                let r = quotient(v, k).rounded(.toNearestOrEven) + z[k]
                return store(Int32(r.isNaN ? z[k] : Swift.min(Swift.max(r, lo), hi)))
            }
        }
        func integer<Y: FixedWidthInteger>(_: Y.Type) {
            integer(Y.self, lo: Float(Y.min), hi: Float(Y.max)) { Y(truncatingIfNeeded: $0) }
        }
        switch y.dtype {
        case .int8: integer(Int8.self)
        case .uint8: integer(UInt8.self)
        case .int16: integer(Int16.self)
        case .uint16: integer(UInt16.self)
        case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz:
            let format = y.dtype.float8Format!, saturate = attrs.saturate
            mapQuantized(xp, y.raw.assumingMemoryBound(to: UInt8.self), layout) { v, k in
                format.encode(quotient(v, k), saturate: saturate)
            }
        case .int4, .uint4, .int2, .uint2:
            let t = y.dtype, r = SubByte.range(t)
            integer(UInt8.self, lo: Float(r.lowerBound), hi: Float(r.upperBound)) { SubByte.byte(wrapping: Int($0), t) }
        case .float4e2m1:
            mapQuantized(xp, y.raw.assumingMemoryBound(to: UInt8.self), layout) { v, k in SubByte.float4(quotient(v, k)) }
        default: throw DLInferError.unsupported("QuantizeLinear to \(y.dtype)")
        }
    }
}

/// DequantizeLinear: (x - zero point) exactly, times the scale in float32, rounded once to y's type. A 1-byte x with
/// a single scale goes through a 256-entry table of results.
final class DequantizeLinearKernel: Kernel {
    let attrs: DequantizeLinear
    init(_ a: DequantizeLinear) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let (x, scale, zero, layout) = try quantizationOperands(inputs, axis: attrs.axis, blockSize: attrs.blockSize)
        let y = try outputs.make(0)
        let scales = scale.doubleValues()!.map { Float($0) }
        let zeros = try zeroPoints(zero, count: scales.count, attrs.opName)
        switch y.dtype {
        case .float32: try dequantize(x, y, Float.self, layout, scales, zeros) { $0 }
        case .float16: try dequantize(x, y, Half.self, layout, scales, zeros) { Half($0) }
        case .bfloat16: try dequantize(x, y, BFloat16.self, layout, scales, zeros) { BFloat16($0) }
        default: throw DLInferError.unsupported("DequantizeLinear to \(y.dtype)")
        }
        return [y]
    }

    private func dequantize<Y>(_ x: Tensor, _ y: Tensor, _: Y.Type, _ layout: QuantizationLayout, _ scales: [Float],
                               _ zeros: [Int], _ store: (Float) -> Y) throws {
        let yp = y.raw.assumingMemoryBound(to: Y.self)
        func go<X>(_: X.Type, _ value: (X, Int) -> Float) {
            let xp = UnsafePointer(x.raw.assumingMemoryBound(to: X.self))
            scales.withUnsafeBufferPointer { s in
                zeros.withUnsafeBufferPointer { z in
                    let s = s.baseAddress!, z = z.baseAddress!
                    mapQuantized(xp, yp, layout) { v, k in store(value(v, z[k]) * s[k]) }
                }
            }
        }
        if layout.kind == .perTensor, x.dtype.byteSize == 1, x.count > 256 {
            // Every possible input byte's result, computed the same way, then looked up.
            let codes = floatCodes(x.dtype)
            let table = (0..<256).map { b -> Y in
                let d: Float
                if let codes { d = codes[b] } else if SubByte.bits(x.dtype) != nil {
                    d = Float(SubByte.integer(UInt8(b), x.dtype) - zeros[0])
                } else {
                    d = Float((x.dtype == .int8 ? Int(Int8(truncatingIfNeeded: b)) : b) - zeros[0])
                }
                return store(d * scales[0])
            }
            let xp = UnsafePointer(x.raw.assumingMemoryBound(to: UInt8.self))
            table.withUnsafeBufferPointer { t in
                let t = t.baseAddress!
                parallelFor(x.count, grain: 1 << 15) { r in for i in r { yp[i] = t[Int(xp[i])] } }
            }
            return
        }
        switch x.dtype {
        // The difference is exact in Int (64 bits), and rounded once to float32 (only int32's can need it).
        case .int8: go(Int8.self) { Float(Int($0) - $1) }
        case .uint8: go(UInt8.self) { Float(Int($0) - $1) }
        case .int16: go(Int16.self) { Float(Int($0) - $1) }
        case .uint16: go(UInt16.self) { Float(Int($0) - $1) }
        case .int32: go(Int32.self) { Float(Int($0) - $1) }
        case .int4, .uint4, .int2, .uint2:
            let read = SubByte.IntegerReader(x.dtype)
            go(UInt8.self) { Float(read($0) - $1) }
        case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float4e2m1:
            floatCodes(x.dtype)!.withUnsafeBufferPointer { t in
                let t = t.baseAddress!
                go(UInt8.self) { v, _ in t[Int(v)] }
            }
        default: throw DLInferError.unsupported("DequantizeLinear of \(x.dtype)")
        }
    }
}

/// DynamicQuantizeLinear: the range in one parallel pass, then QuantizeLinear's arithmetic.
final class DynamicQuantizeLinearKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        let y = try outputs.make(0), yScale = try outputs.make(1), yZero = try outputs.make(2)
        let xp = UnsafePointer(x.pointer(Float.self)), n = x.count
        // Per-chunk minima and maxima (NaN skipped: it compares false), combined after.
        let chunk = 1 << 16, chunks = (n + chunk - 1) / chunk
        var lows = [Float](repeating: 0, count: chunks), highs = [Float](repeating: 0, count: chunks)
        lows.withUnsafeMutableBufferPointer { lo in
            highs.withUnsafeMutableBufferPointer { hi in
                let lo = lo.baseAddress!, hi = hi.baseAddress!
                parallelFor(chunks) { r in
                    for c in r {
                        var a: Float = 0, b: Float = 0
                        for i in c * chunk..<Swift.min(n, (c + 1) * chunk) {
                            let v = xp[i]
                            if v < a { a = v }
                            if v > b { b = v }
                        }
                        lo[c] = a; hi[c] = b
                    }
                }
            }
        }
        let lo = lows.min() ?? 0, hi = highs.max() ?? 0
        let scale: Float = hi == lo ? 1 : (hi - lo) / 255
        let initial = 0 - lo / scale  // NaN only when x holds an infinity
        let zero = initial.isNaN ? 0 : Swift.min(Swift.max(initial, 0), 255).rounded(.toNearestOrEven)
        yScale.pointer(Float.self)[0] = scale
        yZero.pointer(UInt8.self)[0] = UInt8(zero)
        let yp = y.pointer(UInt8.self)
        parallelFor(n, grain: 1 << 14) { r in
            for i in r {
                let q = (xp[i] / scale).rounded(.toNearestOrEven) + zero
                yp[i] = UInt8(truncatingIfNeeded: Int32(q.isNaN ? zero : Swift.min(Swift.max(q, 0), 255)))
            }
        }
        return [y, yScale, yZero]
    }
}

extension CPUKernelFactory {
    func visit(_ a: QuantizeLinear, _ _: Node, _ _: Graph) -> HostKernel {
        QuantizeLinearKernel(a)
    }

    func visit(_ a: DequantizeLinear, _ _: Node, _ _: Graph) -> HostKernel {
        DequantizeLinearKernel(a)
    }

    func visit(_ _: DynamicQuantizeLinear, _ _: Node, _ _: Graph) -> HostKernel {
        DynamicQuantizeLinearKernel()
    }
}
