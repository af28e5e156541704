import DLInferCore

func makeCastKernel(_ a: Cast, _ node: Node, _ graph: Graph) throws -> HostKernel { CastKernel(a) }

/// CastLike is Cast to the type its output was given (the second input's).
func makeCastLikeKernel(_ a: CastLike, _ node: Node, _ graph: Graph) throws -> HostKernel {
    guard let y = node.outputs.first ?? nil else { throw DLInferError.model("CastLike has no output") }
    return CastKernel(a.cast(to: graph.values[y].type.dtype))
}

/// Converts element by element, in parallel; a cast to the input's own type returns the input.
final class CastKernel: Kernel {
    let attrs: Cast
    var to: DType { attrs.to }
    init(_ a: Cast) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        try expectShape(outputs.shape(0), x.shape)
        if x.dtype == to { return [x] }
        let y = try outputs.make(0)
        switch x.dtype {
        case .float32: convert(x, Float.self, y) { $0 }
        case .float64: convert(x, Double.self, y) { $0 }
        case .float16: convert(x, Half.self, y) { $0 }
        case .bfloat16: convert(x, BFloat16.self, y) { $0 }
        case .int8: convert(x, Int8.self, y) { $0 }
        case .int16: convert(x, Int16.self, y) { $0 }
        case .int32: convert(x, Int32.self, y) { $0 }
        case .int64: convert(x, Int64.self, y) { $0 }
        case .uint8: convert(x, UInt8.self, y) { $0 }
        case .uint16: convert(x, UInt16.self, y) { $0 }
        case .uint32: convert(x, UInt32.self, y) { $0 }
        case .uint64: convert(x, UInt64.self, y) { $0 }
        case .bool: convert(x, Bool.self, y) { $0 }
        case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0:
            // Decoded exactly into float32, which then converts like any float.
            x.dtype.float8Format!.table.withUnsafeBufferPointer { t in
                let table = t.baseAddress!
                convert(x, UInt8.self, y) { table[Int($0)] }
            }
        case .int4, .uint4, .int2, .uint2:
            // Their values (-8...15) convert as int8 values do.
            let read = SubByte.IntegerReader(x.dtype)
            convert(x, UInt8.self, y) { Int8(truncatingIfNeeded: read($0)) }
        case .float4e2m1:
            SubByte.table(.float4e2m1).withUnsafeBufferPointer { t in
                let table = t.baseAddress!
                convert(x, UInt8.self, y) { table[Int($0)] }
            }
        case .string: throw DLInferError.unsupported("Cast from string")
        }
        return [y]
    }

    /// Reads elements of type `S` and converts each `load`ed value `V` to the target type.
    private func convert<S, V: CastSource>(_ x: Tensor, _: S.Type, _ y: Tensor, _ load: (S) -> V) {
        switch to {
        case .float32: map(x, y) { (s: S) -> Float in load(s).castFloat }
        case .float64: map(x, y) { (s: S) -> Double in load(s).castDouble }
        case .float16: map(x, y) { (s: S) -> Half in load(s).castHalf }
        case .bfloat16: map(x, y) { (s: S) -> BFloat16 in load(s).castBFloat16 }
        case .int8: map(x, y) { (s: S) -> Int8 in load(s).castInteger() }
        case .int16: map(x, y) { (s: S) -> Int16 in load(s).castInteger() }
        case .int32: map(x, y) { (s: S) -> Int32 in load(s).castInteger() }
        case .int64: map(x, y) { (s: S) -> Int64 in load(s).castInteger() }
        case .uint8: map(x, y) { (s: S) -> UInt8 in load(s).castInteger() }
        case .uint16: map(x, y) { (s: S) -> UInt16 in load(s).castInteger() }
        case .uint32: map(x, y) { (s: S) -> UInt32 in load(s).castInteger() }
        case .uint64: map(x, y) { (s: S) -> UInt64 in load(s).castInteger() }
        case .bool: map(x, y) { (s: S) -> Bool in load(s).castBool }
        case .float8e8m0:
            let saturate = attrs.saturate, mode = attrs.roundMode
            map(x, y) { (s: S) -> UInt8 in Float8Format.encodeE8M0(load(s).castNearestFloat, saturate: saturate, roundMode: mode) }
        case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz:
            let format = to.float8Format!, saturate = attrs.saturate
            map(x, y) { (s: S) -> UInt8 in format.encode(load(s).castOddFloat, saturate: saturate) }
        case .int4, .uint4, .int2, .uint2:
            let t = to
            map(x, y) { (s: S) -> UInt8 in load(s).castSubByte(t) }
        case .float4e2m1: map(x, y) { (s: S) -> UInt8 in SubByte.float4(load(s).castOddFloat) }
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
    var castBFloat16: BFloat16 { get }
    var castBool: Bool { get }
    func castInteger<D: FixedWidthInteger>() -> D
    /// The stored byte of the value as a 2- or 4-bit integer type (`SubByte`).
    func castSubByte(_ t: DType) -> UInt8
    /// The value as a float32 rounded to nearest even (what float8e8m0's encoding starts from).
    var castNearestFloat: Float { get }
    /// The value as a float32 from which rounding to an 8-bit float (or any type of at most 11 significant bits) is
    /// the same as rounding the value itself: exact, or rounded to odd.
    var castOddFloat: Float { get }
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
    var castNearestFloat: Float { self }
    var castOddFloat: Float { self }
    var castFloat: Float { self }
    var castDouble: Double { Double(self) }
    var castHalf: Half { Half(self) }
    var castBFloat16: BFloat16 { BFloat16(self) }
    var castBool: Bool { self != 0 }
    func castInteger<D: FixedWidthInteger>() -> D { saturatingInteger(Double(self)) }
    func castSubByte(_ t: DType) -> UInt8 { SubByte.byte(truncating: Double(self), t) }
}

extension Double: CastSource {
    var castFloat: Float { Float(self) }
    var castNearestFloat: Float { Float(self) }
    var castOddFloat: Float { roundedToOddFloat }
    var castDouble: Double { self }
    var castHalf: Half { Half(roundedToOddFloat) }
    var castBFloat16: BFloat16 { BFloat16(roundedToOddFloat) }
    /// Rounded to float "to odd" (toward zero, then the last bit set if anything was lost): float keeps more than twice
    /// the precision of half and bfloat16, so their rounding to nearest even from it equals rounding the double directly.
    private var roundedToOddFloat: Float {
        var f = Float(self)
        if Double(f) != self, !isNaN, f.isFinite {
            if Swift.abs(Double(f)) > Swift.abs(self) { f = Float(bitPattern: f.bitPattern - 1) }
            f = Float(bitPattern: f.bitPattern | 1)
        }
        return f
    }
    var castBool: Bool { self != 0 }
    func castInteger<D: FixedWidthInteger>() -> D { saturatingInteger(self) }
    func castSubByte(_ t: DType) -> UInt8 { SubByte.byte(truncating: self, t) }
}

extension Half: CastSource {
    var castNearestFloat: Float { float }
    var castOddFloat: Float { float }
    var castFloat: Float { float }
    var castDouble: Double { Double(float) }
    var castHalf: Half { self }
    var castBFloat16: BFloat16 { BFloat16(float) }
    var castBool: Bool { bits & 0x7FFF != 0 }
    func castInteger<D: FixedWidthInteger>() -> D { saturatingInteger(Double(float)) }
    func castSubByte(_ t: DType) -> UInt8 { SubByte.byte(truncating: Double(float), t) }
}

extension BFloat16: CastSource {
    var castNearestFloat: Float { float }
    var castOddFloat: Float { float }
    var castFloat: Float { float }
    var castDouble: Double { Double(float) }
    var castHalf: Half { Half(float) }
    var castBFloat16: BFloat16 { self }
    var castBool: Bool { bits & 0x7FFF != 0 }
    func castInteger<D: FixedWidthInteger>() -> D { saturatingInteger(Double(float)) }
    func castSubByte(_ t: DType) -> UInt8 { SubByte.byte(truncating: Double(float), t) }
}

extension Bool: CastSource {
    var castNearestFloat: Float { self ? 1 : 0 }
    var castOddFloat: Float { self ? 1 : 0 }
    var castFloat: Float { self ? 1 : 0 }
    var castDouble: Double { self ? 1 : 0 }
    var castHalf: Half { Half(bits: self ? 0x3C00 : 0) }
    var castBFloat16: BFloat16 { BFloat16(bits: self ? 0x3F80 : 0) }
    var castBool: Bool { self }
    func castInteger<D: FixedWidthInteger>() -> D { self ? 1 : 0 }
    func castSubByte(_ t: DType) -> UInt8 { self ? 1 : 0 }
}

/// Integers convert to floats rounding to nearest and wrap into narrower integers.
protocol IntegerCastSource: CastSource, FixedWidthInteger {}
extension IntegerCastSource {
    var castFloat: Float { Float(self) }
    var castNearestFloat: Float { Float(self) }
    var castOddFloat: Float { Double(self).castOddFloat }
    var castDouble: Double { Double(self) }
    // Exact through float: integers below 2^24 are exact floats, and larger ones are beyond half's range either way.
    var castHalf: Half { Half(Float(self)) }
    // Through double and a float rounded to odd, so that it is rounded once (exact for integers below 2^53).
    var castBFloat16: BFloat16 { Double(self).castBFloat16 }
    var castBool: Bool { self != 0 }
    func castInteger<D: FixedWidthInteger>() -> D { D(truncatingIfNeeded: self) }
    func castSubByte(_ t: DType) -> UInt8 { SubByte.byte(wrapping: Int(truncatingIfNeeded: self), t) }
}
extension Int8: IntegerCastSource {}
extension Int16: IntegerCastSource {}
extension Int32: IntegerCastSource {}
extension Int64: IntegerCastSource {}
extension UInt8: IntegerCastSource {}
extension UInt16: IntegerCastSource {}
extension UInt32: IntegerCastSource {}
extension UInt64: IntegerCastSource {}

extension CPUKernelFactory {
    func visit(_ a: Cast, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeCastKernel(a, node, graph)
    }

    func visit(_ a: CastLike, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeCastLikeKernel(a, node, graph)
    }
}
