import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// Range, OneHot and EyeLike on every type they take: lengths from the float formula, constant and run-time inputs,
/// indices of every kind and axis, diagonals off the middle; and bad inputs rejected.
final class GeneratorsTests: XCTestCase {
    func testRangeTypesAndLengths() throws {
        func range<T: TensorElement>(_ s: T, _ l: T, _ d: T, constant: Bool, opset: Int = 21, stash: Int? = nil) throws -> Tensor {
            try OneNode.run("Range", opset: opset, [Tensor.scalar(s), Tensor.scalar(l), Tensor.scalar(d)], constant: constant ? [0, 1, 2] : [],
                            attrs: stash.map { [attr("stash_type", $0)] } ?? [], outputs: [T.dtype])[0]
        }
        for constant in [false, true] {
            XCTAssertEqual(try range(Int16(10), 4, -2, constant: constant).array(Int16.self), [10, 8, 6])
            XCTAssertEqual(try range(Int32(3), 9, 3, constant: constant).array(Int32.self), [3, 6])
            XCTAssertEqual(try range(Int64.min, Int64.min + 5, 2, constant: constant).array(Int64.self), [Int64.min, Int64.min + 2, Int64.min + 4])
            XCTAssertEqual(try range(Int64(5), 5, 1, constant: constant).count, 0)
            XCTAssertEqual(try range(Int64(5), 9, -1, constant: constant).count, 0)
            XCTAssertEqual(try range(Float(1), 2, 0.25, constant: constant).array(Float.self), [1, 1.25, 1.5, 1.75])
            XCTAssertEqual(try range(Double(0), -1, -0.3, constant: constant).array(Double.self), [0, -0.3, -0.6, -0.8999999999999999])
            XCTAssertThrowsError(try range(Int32(0), 5, 0, constant: constant))
            XCTAssertThrowsError(try range(Float(0), .infinity, 1, constant: constant))
            XCTAssertThrowsError(try range(Float(0), 1, .nan, constant: constant))
            XCTAssertThrowsError(try range(Int64.min, Int64.max, 1, constant: constant))
        }
        // float16 at opset 27 computes in float32 (the default stash type) or float64, rounding each element once.
        let n = 3000
        for stash in [1, 11] {
            let y = try range(Half(2048), Half(2048 + Float(n)), Half(1), constant: false, opset: 27, stash: stash)
            XCTAssertEqual(y.shape, [n])
            XCTAssertEqual(y.buffer(Half.self).map(\.float), (0..<n).map { Half(Float(2048 + $0)).float })
        }
        XCTAssertThrowsError(try range(Half(0), Half(1), Half(0.5), constant: false, opset: 27, stash: 10))
    }

    func testOneHotIndicesOfEveryKindAndAxis() throws {
        let indices = Tensor([2, -1, 5, -4, 0, 1.9, -3.7] as [Float], shape: [7])
        let values = Tensor([Int8(-1), 9], shape: [2])
        for depth: Float in [4, 4.8] {
            for axis in [0, -1, 1, -2] {
                let y = try OneNode.run("OneHot", opset: 21, [indices, Tensor.scalar(depth), values], attrs: [attr("axis", axis)],
                                        outputs: [.int8])[0]
                let hot = [2, 3, nil, 0, 0, 1, 1]  // -4 wraps to 0; 5 is out of range; floats truncate
                let last = axis == -1 || axis == 1
                XCTAssertEqual(y.shape, last ? [7, 4] : [4, 7])
                var want = [Int8](repeating: -1, count: 28)
                for (i, h) in hot.enumerated() { if let h { want[last ? i * 4 + h : h * 7 + i] = 9 } }
                XCTAssertEqual(y.array(Int8.self), want, "depth \(depth) axis \(axis)")
            }
        }
        XCTAssertThrowsError(try OneNode.run("OneHot", opset: 21, [indices, Tensor.scalar(Int64(0)), values], outputs: [.int8]))
        XCTAssertThrowsError(try OneNode.run("OneHot", opset: 21, [indices, Tensor.scalar(Float.nan), values], outputs: [.int8]))
        XCTAssertThrowsError(try OneNode.run("OneHot", opset: 21, [indices, Tensor.scalar(Int64(3)), values], attrs: [attr("axis", 3)],
                                             outputs: [.int8]))
    }

    func testEyeLikeTypesAndDiagonals() throws {
        for dtype in [DType.bfloat16, .bool, .uint16, .float64] {
            for k in [0, 2, -1, 9, Int(Int64.min)] {
                let y = try OneNode.run("EyeLike", opset: 21, [patterned(.int32, [3, 4])], attrs: [attr("dtype", Int(dtype.rawValue)), attr("k", k)],
                                        outputs: [dtype])[0]
                let one = try! Tensor(dtype: dtype, shape: [1])
                storeOne(one)
                var want = [UInt8](repeating: 0, count: y.byteCount)
                for i in 0..<3 where i + k >= 0 && i + k < 4 {
                    for b in 0..<dtype.byteSize { want[(i * 4 + i + k) * dtype.byteSize + b] = bytes(one)[b] }
                }
                XCTAssertEqual(bytes(y), want, "\(dtype) k \(k)")
            }
        }
        XCTAssertThrowsError(try OneNode.run("EyeLike", opset: 21, [patterned(.float32, [3])], outputs: [.float32]))
    }
}

/// Writes 1 of the tensor's type into its first element.
private func storeOne(_ t: Tensor) {
    switch t.dtype {
    case .float32: t.raw.storeBytes(of: Float(1), as: Float.self)
    case .float64: t.raw.storeBytes(of: Double(1), as: Double.self)
    case .float16: t.raw.storeBytes(of: UInt16(0x3C00), as: UInt16.self)
    case .bfloat16: t.raw.storeBytes(of: UInt16(0x3F80), as: UInt16.self)
    default: t.raw.storeBytes(of: UInt8(1), as: UInt8.self)
    }
}
