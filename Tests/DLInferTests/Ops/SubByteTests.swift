import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// The 2- and 4-bit types (int4, uint4, float4e2m1, int2, uint2) against references written here from ONNX's
/// definitions (two's complement in the low bits; float4e2m1's formula and rounding to nearest even): packed
/// initializers and TensorProtos, DequantizeLinear of blocked weights, QuantizeLinear, Cast both ways, and inputs
/// whose unused high bits are set.
final class SubByteTests: XCTestCase {
    private static let types: [DType] = [.int4, .uint4, .int2, .uint2, .float4e2m1]

    private static func width(_ t: DType) -> Int { t == .int2 || t == .uint2 ? 2 : 4 }

    /// The value of a stored byte: its low bits only.
    private static func value(_ b: UInt8, _ t: DType) -> Double {
        let w = width(t), low = Int(b) & (1 << w - 1)
        switch t {
        case .int4, .int2: return Double(low >= 1 << (w - 1) ? low - (1 << w) : low)
        case .float4e2m1:
            // (-1)^S * 2^(E - 1) * (1 + M / 2), or (-1)^S * M / 2 when E == 0.
            let e = (low >> 1) & 3, m = Double(low & 1)
            let magnitude = e == 0 ? m / 2 : pow(2, Double(e - 1)) * (1 + m / 2)
            return low & 8 != 0 ? -magnitude : magnitude
        default: return Double(low)
        }
    }

    /// float4e2m1's code for x: the nearest value, a tie to the even code, beyond ±6 (and ±infinity) saturated; NaN
    /// to a zero of the other sign (what onnx's node tests expect).
    private static func float4Code(_ x: Float) -> UInt8 {
        let sign: UInt8 = x.sign == .minus ? 8 : 0
        if x.isNaN { return sign ^ 8 }
        let a = Double(abs(x))
        if a > 6 { return sign | 7 }
        var best = 0
        for c in 1..<8 {
            let d = abs(value(UInt8(c), .float4e2m1) - a), bestD = abs(value(UInt8(best), .float4e2m1) - a)
            if d < bestD || (d == bestD && c % 2 == 0) { best = c }
        }
        return sign | UInt8(best)
    }

    private func tensor(_ t: DType, _ bytes: [UInt8], shape: [Int]? = nil) -> Tensor {
        let x = try! Tensor(dtype: t, shape: shape ?? [bytes.count])
        for (i, b) in bytes.enumerated() { x.raw.storeBytes(of: b, toByteOffset: i, as: UInt8.self) }
        return x
    }

    private func cast(_ x: Tensor, to: DType) throws -> Tensor {
        try OneNode.run("Cast", opset: 25, [x], attrs: [attr("to", Int(to.rawValue))], outputs: [to])[0]
    }

    func testBlockedDequantizationOfPackedWeights() throws {
        // 37 x 5 weights (an odd count: the packed data ends part-way through a byte), blocks of 16 along axis 0.
        let shape = [37, 5], blocks = 3
        let scale = TestData.tensor([blocks, 5], seed: 1, 0.01, 0.5)
        let ss = scale.array(Float.self)
        for (k, t) in Self.types.enumerated() {
            let codes = TestData.integers(37 * 5, seed: 10 + k, 0, (1 << Self.width(t)) - 1).map { UInt8($0) }
            let zeroCodes = t == .float4e2m1 ? [UInt8](repeating: 0, count: blocks * 5)
                : TestData.integers(blocks * 5, seed: 20 + k, 0, (1 << Self.width(t)) - 1).map { UInt8($0) }
            let want = codes.indices.map { i -> Float in
                let z = (i / 5 / 16) * 5 + i % 5
                return Float(Self.value(codes[i], t) - Self.value(zeroCodes[z], t)) * ss[z]
            }
            let zero = tensor(t, zeroCodes, shape: [blocks, 5])
            let attrs = [attr("axis", 0), attr("block_size", 16)]
            // The weights as an initializer (packed in the model), then fed at run time with their high bits set.
            let packed = try OneNode.run("DequantizeLinear", opset: 25, [tensor(t, codes, shape: shape), scale, zero],
                                         constant: [0, 1, 2], attrs: attrs)[0]
            XCTAssertEqual(packed.array(Float.self), want, "\(t) from an initializer")
            let high = UInt8(0xFF) << UInt8(Self.width(t))
            let fed = try OneNode.run("DequantizeLinear", opset: 25, [tensor(t, codes.map { $0 | high }, shape: shape), scale, zero],
                                      constant: [1, 2], attrs: attrs)[0]
            XCTAssertEqual(fed.array(Float.self), want, "\(t) fed with high bits set")
        }
    }

    func testQuantizeSaturatesPerAxis() throws {
        let xs = TestData.uniform(3 * 41, seed: 3, -40, 40) + [.nan, 2.5, -2.5, 0.25, 0.75, .infinity, -.infinity]
        let n = xs.count / 3, x = Tensor(Array(xs.prefix(3 * n)), shape: [3, n])
        let scales: [Float] = [1, 2.5, 0.5]
        for t in Self.types {
            let range = 1 << Self.width(t)
            let zeroCodes: [UInt8] = t == .float4e2m1 ? [0, 0, 0] : [0, UInt8(range - 1), 1]
            let y = try OneNode.run("QuantizeLinear", opset: 25, [x, Tensor(scales, shape: [3]), tensor(t, zeroCodes)],
                                    constant: [1, 2], attrs: [attr("axis", 0)], outputs: [t])[0]
            let want = (0..<3 * n).map { i -> UInt8 in
                let q = x.array(Float.self)[i] / scales[i / n]
                if t == .float4e2m1 { return Self.float4Code(q) }
                let z = Float(Self.value(zeroCodes[i / n], t))
                let lo = t == .int4 || t == .int2 ? -Float(range / 2) : 0, hi = lo + Float(range - 1)
                let v = q.isNaN ? z : min(max(q.rounded(.toNearestOrEven) + z, lo), hi)
                return UInt8(Int(v) & (range - 1))
            }
            XCTAssertEqual(bytes(y), want, "\(t)")
        }
    }

    func testCastToSubByteTypes() throws {
        // Integers keep their low bits; floats truncate toward zero, and give 0 out of range.
        let ints = Tensor((-300...300).map { Int16($0) }, shape: [601])
        var floats: [Float] = stride(from: -9, through: 9, by: 0.125).map { Float($0) }
        floats += [.nan, -.nan, .infinity, -.infinity, 1e9, -1e-9, -0.0, 0.1, 5, 5.0001, 4.9999, 0.25, 0.75, 1.25, 1.75]
        let f = Tensor(floats, shape: [floats.count])
        for t in Self.types {
            let mask = (1 << Self.width(t)) - 1
            if t != .float4e2m1 {
                XCTAssertEqual(bytes(try cast(ints, to: t)), (-300...300).map { UInt8($0 & mask) }, "int16 -> \(t)")
            }
            let want = floats.map { v -> UInt8 in
                if t == .float4e2m1 { return Self.float4Code(v) }
                let r = v.rounded(.towardZero)
                let inRange = (0...mask).contains { Self.value(UInt8($0), t) == Double(r) }
                return inRange ? UInt8(Int(r) & mask) : 0
            }
            XCTAssertEqual(bytes(try cast(f, to: t)), want, "float32 -> \(t)")
        }
    }

    func testCastFromSubByteTypesReadsOnlyTheLowBits() throws {
        let all = (0...255).map { UInt8($0) }
        for t in Self.types {
            let x = tensor(t, all)
            let values = all.map { Self.value($0, t) }
            XCTAssertEqual(try cast(x, to: .float32).array(Float.self).map(Double.init), values, "\(t) -> float32")
            XCTAssertEqual(try cast(x, to: .float16).array(Half.self).map { Double($0.float) }, values, "\(t) -> float16")
            if t != .float4e2m1 {
                XCTAssertEqual(try cast(x, to: .int8).array(Int8.self).map(Double.init), values, "\(t) -> int8")
            }
            // To another 4- or 2-bit integer type: the value's low bits of the target's width.
            let other: DType = t == .int4 ? .uint4 : t == .uint4 ? .int4 : t == .int2 ? .uint2 : t == .uint2 ? .int2 : .int4
            let mask = (1 << Self.width(other)) - 1
            let want = values.map { v -> UInt8 in
                t == .float4e2m1 ? (Self.value(UInt8(Int(v.rounded(.towardZero)) & mask), other) == v.rounded(.towardZero)
                                    ? UInt8(Int(v.rounded(.towardZero)) & mask) : 0)
                    : UInt8(Int(v) & mask)
            }
            XCTAssertEqual(bytes(try cast(x, to: other)), want, "\(t) -> \(other)")
        }
    }

    func testPackedExternalData() throws {
        // 7 uint4 weights (4 packed bytes) at offset 3 of an external file, dequantized.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dlinfer-subbyte-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let codes: [UInt8] = [1, 15, 0, 7, 8, 14, 3]
        let packed = stride(from: 0, to: codes.count, by: 2).map { i in codes[i] | (i + 1 < codes.count ? codes[i + 1] << 4 : 0) }
        try Data([9, 9, 9] + packed).write(to: URL(fileURLWithPath: dir + "/w.bin"))
        var w = Onnx_TensorProto()
        w.name = "w"; w.dataType = DType.uint4.rawValue; w.dims = [7]; w.dataLocation = .external
        for (k, v) in [("location", "w.bin"), ("offset", "3"), ("length", "4")] {
            var e = Onnx_StringStringEntryProto()
            e.key = k; e.value = v
            w.externalData.append(e)
        }
        var b = ModelBuilder(opset: 21)
        b.graph.initializer.append(w)
        b.constant("s", Tensor.scalar(Float(0.5)))
        b.node("DequantizeLinear", ["w", "s"], ["y"])
        b.output("y", .float32)
        try b.serialized().write(to: URL(fileURLWithPath: dir + "/model.onnx"))
        let y = try InferenceSession(model: Model.load(path: dir + "/model.onnx")).run([])[0]
        XCTAssertEqual(y.array(Float.self), codes.map { Float(Self.value($0, .uint4)) * 0.5 })
    }

    func testTensorProtoForms() throws {
        // int32_data holds one packed byte per value; raw_data and int32_data must hold exactly the packed size.
        var p = Onnx_TensorProto()
        p.name = "w"; p.dataType = DType.int4.rawValue; p.dims = [5]
        p.int32Data = [0x9F, 0x7A, 0x08]
        let t = try ONNXTensorFile.read(try p.serializedBytes()).tensor
        XCTAssertEqual(t.dtype, .int4)
        XCTAssertEqual(bytes(t).map { Self.value($0, .int4) }, [-1, -7, -6, 7, -8])
        p.int32Data = [0x9F, 0x7A]
        XCTAssertThrowsError(try ONNXTensorFile.read(try p.serializedBytes())) { e in
            XCTAssertTrue("\(e)".contains("int32_data has 2 values"), "\(e)")
        }
        p.int32Data = []
        p.dataType = DType.uint2.rawValue; p.dims = [3, 3]
        p.rawData = Data([0b1110_0100, 0b0001_1011, 0b11])
        XCTAssertEqual(bytes(try ONNXTensorFile.read(try p.serializedBytes()).tensor), [0, 1, 2, 3, 3, 2, 1, 0, 3])
        p.rawData = Data([0, 0, 0, 0])
        XCTAssertThrowsError(try ONNXTensorFile.read(try p.serializedBytes())) { e in
            XCTAssertTrue("\(e)".contains("raw_data has 4 bytes"), "\(e)")
        }
    }
}
