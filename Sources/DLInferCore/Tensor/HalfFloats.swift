/// IEEE 754 half precision held as its bits. The conversions use integer operations only (exact, round to nearest
/// even, no F16C or library call), so they vectorise.
@frozen
public struct Half: TensorElement, Sendable {
    public static var dtype: DType { .float16 }
    public var bits: UInt16

    @inlinable
    public init(bits: UInt16) { self.bits = bits }

    @inlinable @inline(__always)
    public init(_ f: Float) {
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

    @inlinable @inline(__always)
    public var float: Float {
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

/// bfloat16 (the top half of a float32) held as its bits: widening is a shift, narrowing rounds to nearest even and
/// keeps NaN a (quiet) NaN.
@frozen
public struct BFloat16: TensorElement, Sendable {
    public static var dtype: DType { .bfloat16 }
    public var bits: UInt16

    @inlinable
    public init(bits: UInt16) { self.bits = bits }

    @inlinable @inline(__always)
    public init(_ f: Float) {
        let x = f.bitPattern
        if f.isNaN {
            bits = UInt16(truncatingIfNeeded: x >> 16) | 0x0040
        } else {
            let odd = (x >> 16) & 1
            bits = UInt16(truncatingIfNeeded: (x &+ 0x7FFF &+ odd) >> 16)
        }
    }

    @inlinable @inline(__always)
    public var float: Float { Float(bitPattern: UInt32(bits) << 16) }
}
