/// The 2- and 4-bit element types: int4 and uint4 (opset 21), float4e2m1 (opset 23: sign, 2 exponent bits with
/// bias 1, 1 mantissa bit; values 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives; no infinity or NaN), int2 and
/// uint2 (opset 25).
///
/// ONNX stores them packed, the first element in the lowest bits of the first byte. dlinfer unpacks them where they
/// come in from a model or a TensorProto and holds one element per byte, in its low bits (the packed bits: two's
/// complement for int4 and int2, the code for float4e2m1) with the others zero, as ml_dtypes (numpy's int4,
/// float4_e2m1fn, ...) does. Readers take only an element's own low bits (`table`, `integer`), so any byte a host
/// hands in reads as some element.
public enum SubByte {
    /// Bits per element; nil for the other types.
    public static func bits(_ t: DType) -> Int? {
        switch t {
        case .uint4, .int4, .float4e2m1: return 4
        case .uint2, .int2: return 2
        default: return nil
        }
    }

    /// Bytes of `count` packed elements.
    public static func packedBytes(_ t: DType, count: Int) -> Int {
        let perByte = 8 / bits(t)!
        return count / perByte + (count % perByte == 0 ? 0 : 1)
    }

    /// The range of an integer type's values.
    public static func range(_ t: DType) -> ClosedRange<Int> {
        switch t {
        case .int4: return -8...7
        case .uint4: return 0...15
        case .int2: return -2...1
        case .uint2: return 0...3
        default: preconditionFailure("\(t) is not a 2- or 4-bit integer type")
        }
    }

    /// Reads stored bytes of one integer type as their values: the low bits, sign-extended for int4 and int2. Made
    /// once per tensor, so that a loop over its elements does no per-element type dispatch.
    public struct IntegerReader {
        private let shift: UInt8, signed: Bool
        public init(_ t: DType) {
            shift = UInt8(8 - SubByte.bits(t)!)
            signed = t == .int4 || t == .int2
        }
        @inline(__always)
        public func callAsFunction(_ byte: UInt8) -> Int {
            signed ? Int(Int8(bitPattern: byte << shift) >> shift) : Int((byte << shift) >> shift)
        }
    }

    /// The integer a stored byte of integer type `t` holds (`IntegerReader`).
    @inline(__always)
    public static func integer(_ byte: UInt8, _ t: DType) -> Int { IntegerReader(t)(byte) }

    /// The stored byte of `v` as integer type `t`: its low bits (ONNX Cast between integers: "discard higher bits
    /// and reinterpret").
    @inline(__always)
    public static func byte(wrapping v: Int, _ t: DType) -> UInt8 {
        UInt8(truncatingIfNeeded: v & (1 << bits(t)! - 1))
    }

    /// The float32 value of every byte for type `t` (integers exactly; float4e2m1 decoded), by table lookup.
    public static func table(_ t: DType) -> [Float] {
        switch t {
        case .int4: return tables[0]
        case .uint4: return tables[1]
        case .int2: return tables[2]
        case .uint2: return tables[3]
        case .float4e2m1: return tables[4]
        default: preconditionFailure("\(t) is not a 2- or 4-bit type")
        }
    }
    private static let tables: [[Float]] = [DType.int4, .uint4, .int2, .uint2].map { t in
        (0..<256).map { Float(integer(UInt8($0), t)) }
    } + [(0..<256).map { float4Values[$0 & 15] }]

    /// float4e2m1's values by code.
    static let float4Values: [Float] = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6]

    /// float4e2m1's code for `x`, rounded to nearest even and saturating at ±6 (±infinity too), as onnx's float4
    /// note says. NaN has no code: onnx's node tests (from ml_dtypes) expect a zero of the opposite sign, which the
    /// note's "NaN -> 6" would contradict, so the tests' rule is kept.
    public static func float4(_ x: Float) -> UInt8 {
        let sign: UInt8 = x.sign == .minus ? 8 : 0
        if x.isNaN { return sign ^ 8 }
        let a = abs(x)
        // Codes 0...7 in order of value; between two neighbours the nearer one, a tie to the even code.
        var code = 0
        while code < 7 {
            let lo = float4Values[code], hi = float4Values[code + 1], mid = (lo + hi) / 2
            if a < mid || (a == mid && code % 2 == 0) { break }
            code += 1
        }
        return sign | UInt8(code)
    }

    /// Cast from a float to integer type `t`: truncated toward zero; NaN, infinities and values out of the type's
    /// range (which ONNX leaves undefined) give 0, as onnx's reference (ml_dtypes) and its node tests do.
    @inline(__always)
    public static func byte(truncating x: Double, _ t: DType) -> UInt8 {
        let r = range(t), v = x.rounded(.towardZero)
        guard v >= Double(r.lowerBound), v <= Double(r.upperBound) else { return 0 }
        return byte(wrapping: Int(v), t)
    }

    /// Unpacks `count` elements of type `t` from `packed` (`packedBytes` of them) into one byte each. `dst` may be
    /// `packed` itself: the last element is unpacked first, and element i's packed byte lies at or before i.
    public static func unpack(_ packed: UnsafePointer<UInt8>, count: Int, _ t: DType, into dst: UnsafeMutablePointer<UInt8>) {
        let width = bits(t)!, perByte = 8 / width, mask = UInt8(1 << width - 1)
        for i in stride(from: count - 1, through: 0, by: -1) {
            dst[i] = packed[i / perByte] >> UInt8(i % perByte * width) & mask
        }
    }
}
