import DLInferCore

func makeCastKernel(_ a: Cast, _ node: Node, _ graph: Graph) throws -> Kernel { CastKernel(a) }

/// Converts element by element, in parallel; a cast to the input's own type returns the input.
final class CastKernel: Kernel {
    let to: DType
    init(_ a: Cast) { to = a.to }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let x = inputs[0]!
        try expectShape(outputs.shape(0), x.shape)
        if x.dtype == to { return [x] }
        let y = outputs.make(0)
        switch x.dtype {
        case .float32: convert(x, Float.self, y)
        case .float64: convert(x, Double.self, y)
        case .float16: convert(x, Half.self, y)
        case .int8: convert(x, Int8.self, y)
        case .int16: convert(x, Int16.self, y)
        case .int32: convert(x, Int32.self, y)
        case .int64: convert(x, Int64.self, y)
        case .uint8: convert(x, UInt8.self, y)
        case .uint16: convert(x, UInt16.self, y)
        case .uint32: convert(x, UInt32.self, y)
        case .uint64: convert(x, UInt64.self, y)
        case .bool: convert(x, Bool.self, y)
        case .string: throw DLInferError.unsupported("Cast from string")
        }
        return [y]
    }

    private func convert<S: CastSource>(_ x: Tensor, _: S.Type, _ y: Tensor) {
        switch to {
        case .float32: map(x, y) { (s: S) -> Float in s.castFloat }
        case .float64: map(x, y) { (s: S) -> Double in s.castDouble }
        case .float16: map(x, y) { (s: S) -> Half in s.castHalf }
        case .int8: map(x, y) { (s: S) -> Int8 in s.castInteger() }
        case .int16: map(x, y) { (s: S) -> Int16 in s.castInteger() }
        case .int32: map(x, y) { (s: S) -> Int32 in s.castInteger() }
        case .int64: map(x, y) { (s: S) -> Int64 in s.castInteger() }
        case .uint8: map(x, y) { (s: S) -> UInt8 in s.castInteger() }
        case .uint16: map(x, y) { (s: S) -> UInt16 in s.castInteger() }
        case .uint32: map(x, y) { (s: S) -> UInt32 in s.castInteger() }
        case .uint64: map(x, y) { (s: S) -> UInt64 in s.castInteger() }
        case .bool: map(x, y) { (s: S) -> Bool in s.castBool }
        case .string: break  // rejected by the type rule
        }
    }

    @inline(__always)
    private func map<S, D>(_ x: Tensor, _ y: Tensor, _ f: (S) -> D) {
        let src = UnsafePointer(x.raw.assumingMemoryBound(to: S.self)), dst = y.raw.assumingMemoryBound(to: D.self)
        parallelFor(x.count, grain: 1 << 14) { r in for i in r { dst[i] = f(src[i]) } }
    }
}

/// An element Cast reads: each conversion is done directly from the source type, so it is rounded once.
protocol CastSource {
    var castFloat: Float { get }
    var castDouble: Double { get }
    var castHalf: Half { get }
    var castBool: Bool { get }
    func castInteger<D: FixedWidthInteger>() -> D
}

/// Truncation toward zero, saturating at the target's range, NaN -> 0. Every float, double and half is exact as a
/// double, and the final conversion goes through a concrete Int64/UInt64 one (the generic initialiser is slow).
@inline(__always)
func saturatingInteger<D: FixedWidthInteger>(_ x: Double) -> D {
    if x.isNaN { return 0 }
    // The bounds as exact powers of two (D.max itself may not be representable).
    let limit = Double(sign: .plus, exponent: D.bitWidth - (D.isSigned ? 1 : 0), significand: 1)
    if x >= limit { return D.max }
    if x <= (D.isSigned ? -limit : 0) { return D.min }
    return D.isSigned ? D(truncatingIfNeeded: Int64(x)) : D(truncatingIfNeeded: UInt64(x))
}

extension Float: CastSource {
    var castFloat: Float { self }
    var castDouble: Double { Double(self) }
    var castHalf: Half { Half(self) }
    var castBool: Bool { self != 0 }
    func castInteger<D: FixedWidthInteger>() -> D { saturatingInteger(Double(self)) }
}

extension Double: CastSource {
    var castFloat: Float { Float(self) }
    var castDouble: Double { self }
    /// Rounded to float "to odd" first (toward zero, then the last bit set if anything was lost): float keeps more than
    /// twice half's precision, so the final rounding to nearest even is then the same as rounding the double directly.
    var castHalf: Half {
        var f = Float(self)
        if Double(f) != self, !isNaN {
            if Swift.abs(Double(f)) > Swift.abs(self) { f = Float(bitPattern: f.bitPattern - 1) }
            f = Float(bitPattern: f.bitPattern | 1)
        }
        return Half(f)
    }
    var castBool: Bool { self != 0 }
    func castInteger<D: FixedWidthInteger>() -> D { saturatingInteger(self) }
}

extension Half: CastSource {
    var castFloat: Float { float }
    var castDouble: Double { Double(float) }
    var castHalf: Half { self }
    var castBool: Bool { bits & 0x7FFF != 0 }
    func castInteger<D: FixedWidthInteger>() -> D { saturatingInteger(Double(float)) }
}

extension Bool: CastSource {
    var castFloat: Float { self ? 1 : 0 }
    var castDouble: Double { self ? 1 : 0 }
    var castHalf: Half { Half(bits: self ? 0x3C00 : 0) }
    var castBool: Bool { self }
    func castInteger<D: FixedWidthInteger>() -> D { self ? 1 : 0 }
}

/// Integers convert to floats rounding to nearest and wrap into narrower integers.
protocol IntegerCastSource: CastSource, FixedWidthInteger {}
extension IntegerCastSource {
    var castFloat: Float { Float(self) }
    var castDouble: Double { Double(self) }
    // Exact through float: integers below 2^24 are exact floats, and larger ones are beyond half's range either way.
    var castHalf: Half { Half(Float(self)) }
    var castBool: Bool { self != 0 }
    func castInteger<D: FixedWidthInteger>() -> D { D(truncatingIfNeeded: self) }
}
extension Int8: IntegerCastSource {}
extension Int16: IntegerCastSource {}
extension Int32: IntegerCastSource {}
extension Int64: IntegerCastSource {}
extension UInt8: IntegerCastSource {}
extension UInt16: IntegerCastSource {}
extension UInt32: IntegerCastSource {}
extension UInt64: IntegerCastSource {}

/// IEEE 754 half precision held as its bits. The conversions use integer operations only (exact, round to nearest
/// even, no F16C or library call), so they vectorise.
struct Half {
    var bits: UInt16

    init(bits: UInt16) { self.bits = bits }

    @inline(__always)
    init(_ f: Float) {
        var x = f.bitPattern
        let sign = UInt16(truncatingIfNeeded: (x >> 16) & 0x8000)
        x &= 0x7FFF_FFFF
        if x >= 0x4780_0000 {
            // >= 65536 (or inf/NaN): inf, or a quiet NaN keeping the top of the payload.
            bits = sign | (x > 0x7F80_0000 ? 0x7E00 | UInt16(truncatingIfNeeded: (x >> 13) & 0x3FF) : 0x7C00)
        } else if x < 0x3880_0000 {
            // Below 2^-14: a half subnormal or zero. Adding 0.5 lines the 10 result bits up at the bottom of the
            // float's mantissa, and the float addition rounds them to nearest even.
            bits = sign | UInt16(truncatingIfNeeded: (Float(bitPattern: x) + 0.5).bitPattern - 0x3F00_0000)
        } else {
            // Rebias the exponent and round the 13 dropped bits to nearest even; a carry may reach infinity.
            let odd = (x >> 13) & 1
            bits = sign | UInt16(truncatingIfNeeded: (x &+ 0xC800_0FFF &+ odd) >> 13)
        }
    }

    @inline(__always)
    var float: Float {
        let h = UInt32(bits)
        var x = (h & 0x7FFF) << 13
        let exponent = x & 0x0F80_0000
        x &+= 0x3800_0000
        if exponent == 0x0F80_0000 {
            x &+= 0x3800_0000  // inf / NaN
        } else if exponent == 0 {
            // Subnormal or zero: scale through a float subtraction, which is exact here.
            x &+= 0x0080_0000
            x = (Float(bitPattern: x) - Float(bitPattern: 0x3880_0000)).bitPattern
        }
        return Float(bitPattern: x | (h & 0x8000) << 16)
    }
}
