import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// BitCast between every pair of same-sized types (the bytes unchanged, float16 included), bool outputs normalised,
/// and size mismatches rejected.
final class BitCastTests: XCTestCase {
    func testBitCastKeepsTheBytesBetweenEverySameSizedPair() throws {
        let types = DType.numeric.filter { $0 != .bool }
        for from in types {
            for to in types where to.byteSize == from.byteSize {
                let x = patterned(from, [3, 5], seed: Int(from.rawValue))
                let y = try bitCast(x, to: to)
                XCTAssertEqual(y.dtype, to)
                XCTAssertEqual(y.shape, [3, 5])
                XCTAssertEqual(bytes(y), bytes(x), "\(from) -> \(to)")
            }
        }
        // NaN payloads and -0 survive (no float conversion on the way, float16 included).
        let h = Tensor([UInt16(0x7E01), 0x8000, 0x3C00], shape: [3])
        XCTAssertEqual(bytes(try bitCast(try bitCast(h, to: .float16), to: .uint16)), bytes(h))
        XCTAssertEqual(try bitCast(Tensor([Float(-0.0), 1], shape: [2]), to: .int32).array(Int32.self), [Int32(bitPattern: 0x8000_0000), 0x3F80_0000])
    }

    func testBitCastToBoolNormalisesAndMismatchesAreRejected() throws {
        XCTAssertEqual(bytes(try bitCast(Tensor([UInt8(0), 1, 7, 255], shape: [4]), to: .bool)), [0, 1, 1, 1])
        XCTAssertEqual(try bitCast(Tensor([true, false], shape: [2]), to: .int8).array(Int8.self), [1, 0])
        XCTAssertThrowsError(try bitCast(Tensor([Float(1)], shape: [1]), to: .float64))
        XCTAssertThrowsError(try bitCast(Tensor([Int64(1)], shape: [1]), to: .int32))
    }

    private func bitCast(_ x: Tensor, to: DType) throws -> Tensor {
        try OneNode.run("BitCast", opset: 26, [x], attrs: [attr("to", Int(to.rawValue))], outputs: [to])[0]
    }
}
