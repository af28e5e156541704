import DLInferCore
import DLInferEngine
import XCTest

/// Pad in every mode with crops, long pads and the opset-18 axes input, on other element types, against numpy's
/// np.pad written here; and malformed pads rejected with an error instead of trapping.
final class PadTests: XCTestCase {
    func testPadEveryModeAgainstNaive() throws {
        let shape = [2, 3, 4, 5]
        let x = TestData.random(shape, seed: 6)
        let padSets: [[Int]] = [[0, 1, 2, 3, 1, 0, 4, 2], [0, 0, 9, 11, 0, 0, 7, 13], [1, -1, 2, -2, 0, 2, -1, 3], [0, 0, -4, 0, 0, 0, 4, -5]]
        for mode in [Pad.Mode.constant, .reflect, .edge, .wrap] {
            for pads in padSets {
                let cropsAll = zip(shape, (0..<4).map { (pads[$0], pads[4 + $0]) }).contains { n, p in n + min(p.0, 0) + min(p.1, 0) == 0 }
                let value = Tensor.scalar(Float(-2.5))
                if mode != .constant && cropsAll {
                    XCTAssertThrowsError(try OneNode.run(.pad(Pad(mode: mode)), [x, TestData.int64(pads), value], constant: [1]), "\(mode) \(pads)")
                    continue
                }
                let y = try OneNode.run(.pad(Pad(mode: mode)), [x, TestData.int64(pads), value], constant: [1])
                let (want, wantShape) = naivePad(x.array(Float.self), shape, pads, mode, fill: -2.5)
                XCTAssertEqual(y.shape, wantShape, "\(mode) \(pads)")
                XCTAssertEqual(y.array(Float.self), want, "\(mode) \(pads)")
            }
        }
    }

    func testPadAxesInputAndOtherElementTypes() throws {
        let ints = Tensor((0..<12).map { Int64($0) }, shape: [3, 4])
        // Opset 18 axes: only the last axis, padded (1, 2) and filled with 7.
        let y = try OneNode.run(.pad(Pad(mode: .constant)), [ints, TestData.int64([1, 2]), Tensor.scalar(Int64(7)), TestData.int64([-1])], constant: [1, 3])
        XCTAssertEqual(y.shape, [3, 7])
        XCTAssertEqual(y.array(Int64.self), [7, 0, 1, 2, 3, 7, 7, 7, 4, 5, 6, 7, 7, 7, 7, 8, 9, 10, 11, 7, 7])
        let bools = Tensor([true, false, false], shape: [3])
        XCTAssertEqual(try OneNode.run(.pad(Pad(mode: .edge)), [bools, TestData.int64([2, 1])], constant: [1]).array(Bool.self),
                       [true, true, true, false, false, false])
        // The pre-opset-11 fill value travels in the attribute.
        let legacy = try OneNode.run(.pad(Pad(mode: .constant, value: 1.5)), [Tensor([Float(0)], shape: [1]), TestData.int64([1, 1])], constant: [1])
        XCTAssertEqual(legacy.array(Float.self), [1.5, 0, 1.5])
    }

    func testPadRejectsMalformedPads() {
        let x = TestData.random([2, 3], seed: 7)
        let op = Op.pad(Pad(mode: .constant))
        XCTAssertThrowsError(try OneNode.run(op, [x, TestData.int64([1, 1, 1])], constant: [1]), "wrong count")
        XCTAssertThrowsError(try OneNode.run(op, [x, TestData.int64([0, -3, 0, -1])], constant: [1]), "crops more than the axis")
        XCTAssertThrowsError(try OneNode.run(op, [x, TestData.int64([0, 1 << 50, 0, 0])], constant: [1]), "absurd pad")
        XCTAssertThrowsError(try OneNode.run(op, [x, TestData.int64([0, 0, 0, 0]), Tensor.scalar(Int64(1))], constant: [1]), "fill of another type")
        XCTAssertThrowsError(try OneNode.run(op, [x, TestData.int64([1, 0]), nil, TestData.int64([2])], constant: [1, 3]), "axis out of range")
    }
}

/// numpy's np.pad, after cropping negative pads; reflection bounces step by step (independent of the kernel's formula).
private func naivePad(_ v: [Float], _ shape: [Int], _ pads: [Int], _ mode: Pad.Mode, fill: Float) -> ([Float], [Int]) {
    let rank = shape.count
    let begins = (0..<rank).map { pads[$0] }, ends = (0..<rank).map { pads[rank + $0] }
    let outShape = (0..<rank).map { shape[$0] + begins[$0] + ends[$0] }
    let strides = shape.contiguousStrides
    var out = [Float]()
    for flat in 0..<outShape.elementCount {
        var rem = flat, src = 0, constant = false
        for a in stride(from: rank - 1, through: 0, by: -1) {
            let o = rem % outShape[a]
            rem /= outShape[a]
            let start = max(-begins[a], 0), kept = shape[a] + min(begins[a], 0) + min(ends[a], 0)
            var j = o - max(begins[a], 0)
            if j < 0 || j >= kept {
                switch mode {
                case .constant: constant = true
                case .edge: j = j < 0 ? 0 : kept - 1
                case .wrap: while j < 0 { j += kept }; while j >= kept { j -= kept }
                case .reflect:
                    while j < 0 || j >= kept {
                        if kept == 1 { j = 0 } else if j < 0 { j = -j } else { j = 2 * (kept - 1) - j }
                    }
                }
            }
            src += (start + j) * strides[a]
        }
        out.append(constant ? fill : v[src])
    }
    return (out, outShape)
}
