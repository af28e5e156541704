/// The 8-bit float encodings ONNX defines (opset 19's four, opset 24's E8M0), one byte per element: sign, exponent,
/// mantissa, held as raw bits in tensors.
///
/// | format   | exponent bias | largest finite | infinity | NaN               | -0  |
/// |----------|---------------|----------------|----------|-------------------|-----|
/// | e4m3fn   | 7             | 448            | none     | S.1111.111        | yes |
/// | e4m3fnuz | 8             | 240            | none     | 0x80 only         | no  |
/// | e5m2     | 15            | 57344          | S.11111.00 | S.11111.(non-0) | yes |
/// | e5m2fnuz | 16            | 57344          | none     | 0x80 only         | no  |
/// | e8m0     | 127 (no sign, no mantissa: 2^(e-127)) | 2^127 | none | 0xFF | no zero at all |
///
/// Decoding is exact into float32. Encoding (`encode`) follows ONNX Cast (opset 19 and 24) and onnx's reference
/// (`onnx.numpy_helper.saturate_cast`, `to_float8e8m0`) bit for bit: see there.
public enum Float8Format: Sendable, CaseIterable {
    case e4m3fn, e4m3fnuz, e5m2, e5m2fnuz, e8m0

    /// How a value between two powers of two becomes one of them in E8M0 (ONNX Cast's `round_mode`, opset 24).
    public enum RoundMode: String, Sendable, CaseIterable {
        case up, down, nearest
    }

    /// The float32 value of every code, for decoding by table lookup.
    public var table: [Float] {
        switch self {
        case .e4m3fn: return Float8Format.tables[0]
        case .e4m3fnuz: return Float8Format.tables[1]
        case .e5m2: return Float8Format.tables[2]
        case .e5m2fnuz: return Float8Format.tables[3]
        case .e8m0: return Float8Format.tables[4]
        }
    }
    private static let tables: [[Float]] = allCases.map { f in (0..<256).map { f.value(UInt8($0)) } }

    /// The value of `bits` (what `table` holds).
    public func decode(_ bits: UInt8) -> Float { table[Int(bits)] }

    private var mantissaBits: Int { self == .e4m3fn || self == .e4m3fnuz ? 3 : 2 }
    private var bias: Int {
        switch self {
        case .e4m3fn: return 7
        case .e4m3fnuz: return 8
        case .e5m2: return 15
        case .e5m2fnuz: return 16
        case .e8m0: return 127
        }
    }
    /// The largest finite magnitude's code.
    private var maxCode: UInt32 {
        switch self {
        case .e4m3fn: return 0x7E
        case .e5m2: return 0x7B
        case .e4m3fnuz, .e5m2fnuz: return 0x7F
        case .e8m0: return 0xFE
        }
    }
    private var unsignedZero: Bool { self == .e4m3fnuz || self == .e5m2fnuz }

    private func value(_ b: UInt8) -> Float {
        if self == .e8m0 { return b == 0xFF ? .nan : Float(sign: .plus, exponent: Int(b) - 127, significand: 1) }
        let negative = b & 0x80 != 0
        let m = mantissaBits, e = Int(b & 0x7F) >> m, f = Int(b) & (1 << m - 1)
        switch self {
        case .e4m3fn where b & 0x7F == 0x7F: return negative ? -.nan : .nan
        case .e4m3fnuz where b == 0x80, .e5m2fnuz where b == 0x80: return .nan
        case .e5m2 where e == 31: return f == 0 ? (negative ? -.infinity : .infinity) : (negative ? -.nan : .nan)
        default: break
        }
        // Subnormals (e = 0) have no implicit leading 1 and the exponent of e = 1.
        let significand = e == 0 ? f : (1 << m) + f
        let v = Float(significand) * Float(sign: .plus, exponent: Swift.max(e, 1) - bias - m, significand: 1)
        return negative ? -v : v
    }

    /// `x` rounded to the nearest code, ties to even (E4M3/E5M2 formats). Out of range (after rounding) and
    /// infinities: the largest finite value of the same sign when `saturate`; otherwise infinity for e5m2 and NaN for
    /// the others (signed for e4m3fn). NaN stays NaN (signed where the format has signed NaNs); -0 and negative
    /// values that round to 0 are 0 in the "fnuz" formats, which have no -0. E8M0 (`encodeE8M0`) uses round mode up.
    @inline(__always)
    public func encode(_ x: Float, saturate: Bool) -> UInt8 {
        if self == .e8m0 { return Float8Format.encodeE8M0(x, saturate: saturate, roundMode: .up) }
        let bits = x.bitPattern
        let sign = UInt8(truncatingIfNeeded: bits >> 24) & 0x80
        let a = bits & 0x7FFF_FFFF
        if a > 0x7F80_0000 {
            switch self {
            case .e4m3fn: return sign | 0x7F
            case .e5m2: return sign | 0x7E
            default: return 0x80
            }
        }
        let m = mantissaBits, bias = bias
        var magnitude = UInt32.max  // infinity: beyond every code
        if a < 0x7F80_0000 {
            if Int(a >> 23) - 127 + bias >= 1 {
                // A normal number in the target: rebias the exponent and round the dropped mantissa bits to nearest
                // even; a carry may run into the exponent (and past the largest code).
                let shift = UInt32(23 - m)
                let odd = (a >> shift) & 1
                magnitude = ((a &+ (1 << (shift - 1)) &- 1 &+ odd) >> shift) &- (UInt32(127 - bias) << UInt32(m))
            } else {
                // Subnormal in the target: count units of the smallest subnormal (an exact power-of-two scaling),
                // rounded to nearest even; 2^m units is the smallest normal number, whose code is 2^m too.
                let units = Float(bitPattern: a) * Float(sign: .plus, exponent: bias - 1 + m, significand: 1)
                magnitude = UInt32(units.rounded(.toNearestOrEven))
            }
        }
        if magnitude > maxCode {
            if saturate { return sign | UInt8(maxCode) }
            switch self {
            case .e4m3fn: return sign | 0x7F
            case .e5m2: return sign | 0x7C
            default: return 0x80
            }
        }
        if magnitude == 0 && unsignedZero { return 0 }
        return sign | UInt8(magnitude)
    }

    /// E8M0 from float32 as onnx's reference `to_float8e8m0` does it: the sign is ignored, NaN and ±infinity give
    /// NaN (0xFF), zero gives code 0 (2^-127). `up` rounds any value that is not a power of two up, `down` truncates
    /// to the power of two below, `nearest` rounds up from 1.5 x 2^e (ties up; below 2^-126 only above it). With
    /// `saturate`, rounding never goes past the largest value 2^127; without, it gives NaN.
    @inline(__always)
    public static func encodeE8M0(_ x: Float, saturate: Bool, roundMode: RoundMode) -> UInt8 {
        let bits = x.bitPattern
        let exponent = (bits >> 23) & 0xFF
        if exponent == 0xFF { return 0xFF }
        let up: Bool
        switch roundMode {
        case .up: up = bits & 0x7F_FFFF != 0
        case .down: up = false
        case .nearest:
            let guardBit = bits & 0x40_0000 != 0, round = bits & 0x20_0000 != 0, sticky = bits & 0x1F_FFFF != 0
            up = guardBit && (round || sticky || exponent > 0)
        }
        if up && !(saturate && exponent == 0xFE) { return UInt8(truncatingIfNeeded: exponent + 1) }
        return UInt8(truncatingIfNeeded: exponent)
    }

    /// `encode`, with E8M0's round mode.
    @inline(__always)
    public func encode(_ x: Float, saturate: Bool, roundMode: RoundMode) -> UInt8 {
        self == .e8m0 ? Float8Format.encodeE8M0(x, saturate: saturate, roundMode: roundMode) : encode(x, saturate: saturate)
    }
}
