import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// TopK and Unique where the ONNX node tests do not reach: k = 1 (a scan), small k (a heap) and large k (a sort) on
/// innermost and strided axes, NaN above everything, ties by index, every integer type and float16, opset 1's
/// attribute, Unique with NaN, signed zeros and an axis, feeding later nodes across runs; against naive references.
final class SortingTests: XCTestCase {
    // MARK: TopK

    func testTopKMatchesNaiveOnEveryPath() throws {
        // k = 1 (a scan), small k (a heap), large k (a full sort); innermost and strided axes; many ties.
        for (shape, axis) in [([7, 1000], 1), ([3, 500, 4], 1), ([600, 3], 0)] {
            let x = TestData.floats(shape, seed: shape[0], levels: 50)
            let n = shape[axis]
            for k in [0, 1, 5, 17, n / 2, n] {
                for largest in [1, 0] {
                    let (v, i) = try topK(x, k: k, axis: axis, largest: largest)
                    let (wv, wi) = naiveTopK(x.array(Float.self), shape, axis: axis, k: k, largest: largest == 1)
                    XCTAssertEqual(i.array(Int64.self), wi, "\(shape) axis \(axis) k \(k) largest \(largest)")
                    XCTAssertEqual(v.array(Float.self), wv, "\(shape) axis \(axis) k \(k) largest \(largest)")
                }
            }
        }
    }

    func testTopKOrdersNaNAboveEverythingAndTiesByIndex() throws {
        let x = Tensor([1, .nan, 3, .nan, -.infinity, .infinity, 2, 3] as [Float], shape: [8])
        var (v, i) = try topK(x, k: 5, axis: 0, largest: 1)
        XCTAssertEqual(i.array(Int64.self), [1, 3, 5, 2, 7])
        XCTAssertTrue(v.floats[0].isNaN && v.floats[1].isNaN)
        (v, i) = try topK(x, k: 4, axis: 0, largest: 0)
        XCTAssertEqual(i.array(Int64.self), [4, 0, 6, 2])
        XCTAssertEqual(v.array(Float.self), [-.infinity, 1, 2, 3])
    }

    func testTopKIntegerTypesAndHalfFloats() throws {
        let values: [Int] = [5, -3, 200, 7, 7, 0, 255, -128, 7]
        for dtype in DType.integers {
            let stored: [Int] = values.map { v in dtype.isSigned || v >= 0 ? v : v + 256 }
            let x = TestData.typed(stored, dtype)
            let (_, i) = try topK(x, k: 4, axis: 0, largest: 1)
            let keys: [Int] = (0..<x.count).map { x.integerValue(at: $0) }
            let order: [Int] = (0..<keys.count).sorted { (p: Int, q: Int) -> Bool in keys[p] != keys[q] ? keys[p] > keys[q] : p < q }
            XCTAssertEqual(i.array(Int64.self), order.prefix(4).map { Int64($0) }, "\(dtype)")
        }
        // float16 goes through float32 and comes back unchanged.
        let h = try! Tensor(dtype: .float16, shape: [5])
        for (k, f) in [1.5, -2, 65504, 0.25, -65504].enumerated() { h.buffer(Half.self)[k] = Half(Float(f)) }
        let (v, i) = try topK(h, k: 3, axis: 0, largest: 0)
        XCTAssertEqual(i.array(Int64.self), [4, 1, 3])
        XCTAssertEqual(v.buffer(Half.self).map(\.float), [-65504, -2, 0.25])
    }

    func testTopKOpset1AttributeAndBadK() throws {
        var b = ModelBuilder(opset: 9)
        b.input("x", .float32, [.fixed(2), .fixed(4)])
        b.node("TopK", ["x"], ["v", "i"], [attr("k", 2)])
        b.output("v", .float32); b.output("i", .int64)
        let out = try b.run([Tensor([1, 4, 2, 3, 8, 5, 7, 6] as [Float], shape: [2, 4])])
        XCTAssertEqual(out[0].array(Float.self), [4, 3, 8, 7])
        XCTAssertEqual(out[1].array(Int64.self), [1, 3, 0, 2])
        let x = TestData.floats([3, 4], seed: 1)
        XCTAssertThrowsError(try topK(x, k: 5, axis: 1, largest: 1))
        XCTAssertThrowsError(try topK(x, k: -1, axis: 1, largest: 1))
        XCTAssertThrowsError(try topK(x, k: 1, axis: 2, largest: 1))
    }

    // MARK: Unique

    func testUniqueFeedsLaterNodesAcrossRuns() throws {
        var b = ModelBuilder(opset: 21)
        b.input("x", .int32, [.symbol("n")])
        b.node("Unique", ["x"], ["y", "", "inverse", "counts"])
        b.node("Gather", ["y", "inverse"], ["back"], [attr("axis", 0)])
        b.node("Size", ["y"], ["u"])
        b.output("back", .int32); b.output("counts", .int64); b.output("u", .int64)
        let session = try InferenceSession(model: b.load())
        for v: [Int32] in [[3, 1, 3, 2], [7, 7, 7], [5, -1, 0, 5, -1, 9, 0]] {
            let out = try session.run([Tensor(v, shape: [v.count])])
            XCTAssertEqual(out[0].array(Int32.self), v, "Y[inverse] gives X back")
            let distinct = Set(v).sorted()
            XCTAssertEqual(out[1].array(Int64.self), distinct.map { d in Int64(v.filter { $0 == d }.count) })
            XCTAssertEqual(out[2].array(Int64.self), [Int64(distinct.count)])
        }
    }

    func testUniqueMatchesNaiveWithNaNSignedZeroAndAxis() throws {
        let x = Tensor([.nan, 1, .nan, 0, -0.0, 1, -3] as [Float], shape: [7])
        for sorted in [1, 0] {
            let out = try OneNode.run("Unique", opset: 21, [x], attrs: [attr("sorted", sorted)], outputs: [.float32, .int64, .int64, .int64])
            let first: [Int] = sorted == 1 ? [6, 3, 1, 0] : [0, 1, 3, 6]
            XCTAssertEqual(bytes(out[0]), bytes(Tensor(first.map { x.floats[$0] }, shape: [4])), "sorted \(sorted)")
            XCTAssertEqual(out[1].array(Int64.self), first.map { Int64($0) })
            let group = sorted == 1 ? [3, 2, 3, 1, 1, 2, 0] : [0, 1, 0, 2, 2, 1, 3]
            XCTAssertEqual(out[2].array(Int64.self), group.map { Int64($0) })
            XCTAssertEqual(out[3].array(Int64.self), first.indices.map { g in Int64(group.filter { $0 == g }.count) })
        }
        // Slices along axis 1 of [2, 5, 2]; columns 0 and 3 are equal, as are 1 and 4.
        let v: [Int64] = [1, 2, 0, 1, 5, 5, 1, 2, 0, 1,
                          3, 3, 3, 3, 0, 0, 3, 3, 3, 3]
        for axis in [1, -2] {
            let out = try OneNode.run("Unique", opset: 21, [Tensor(v, shape: [2, 5, 2])], attrs: [attr("axis", axis)],
                                      outputs: [.int64, .int64, .int64, .int64])
            // Slices: 0 = [1,2 | 3,3], 1 = [0,1 | 3,3], 2 = [5,5 | 0,0], 3 = 0, 4 = 1. Sorted: 1, 0, 2.
            XCTAssertEqual(out[0].shape, [2, 3, 2])
            XCTAssertEqual(out[0].array(Int64.self), [0, 1, 1, 2, 5, 5, 3, 3, 3, 3, 0, 0])
            XCTAssertEqual(out[1].array(Int64.self), [1, 0, 2])
            XCTAssertEqual(out[2].array(Int64.self), [1, 0, 2, 1, 0])
            XCTAssertEqual(out[3].array(Int64.self), [2, 2, 1])
        }
        let many = TestData.ints(100_000, seed: 3, range: 0..<977).map { Int32($0) }
        let out = try OneNode.run("Unique", opset: 21, [Tensor(many, shape: [many.count])], outputs: [.int32, .int64, .int64, .int64])
        XCTAssertEqual(out[0].array(Int32.self), Set(many).sorted())
        XCTAssertEqual(out[1].array(Int64.self), Set(many).sorted().map { d in Int64(many.firstIndex(of: d)!) })
        XCTAssertThrowsError(try OneNode.run("Unique", opset: 21, [Tensor([1, 2] as [Float], shape: [2])], attrs: [attr("axis", 1)],
                                             outputs: [.float32]))
    }
}

// MARK: helpers

private func topK(_ x: Tensor, k: Int, axis: Int, largest: Int) throws -> (Tensor, Tensor) {
    let out = try OneNode.run("TopK", opset: 21, [x, Tensor([Int64(k)], shape: [1])], attrs: [attr("axis", axis), attr("largest", largest)],
                              outputs: [x.dtype, .int64])
    return (out[0], out[1])
}

/// Values and positions of the k best along `axis`, NaN above everything, ties by position.
func naiveTopK(_ v: [Float], _ shape: [Int], axis: Int, k: Int, largest: Bool) -> ([Float], [Int64]) {
    let outer = shape[..<axis].reduce(1, *), n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
    func before(_ a: Float, _ b: Float) -> Bool {
        if a.isNaN || b.isNaN { return largest ? (a.isNaN && !b.isNaN) : (b.isNaN && !a.isNaN) }
        return largest ? a > b : a < b
    }
    var values = [Float](repeating: 0, count: outer * k * inner), positions = [Int64](repeating: 0, count: outer * k * inner)
    for o in 0..<outer {
        for i in 0..<inner {
            let row = (0..<n).map { v[(o * n + $0) * inner + i] }
            let order = (0..<n).sorted { p, q in
                let same = row[p] == row[q] || (row[p].isNaN && row[q].isNaN)
                return same ? p < q : before(row[p], row[q])
            }
            for t in 0..<k {
                values[(o * k + t) * inner + i] = row[order[t]]
                positions[(o * k + t) * inner + i] = Int64(order[t])
            }
        }
    }
    return (values, positions)
}

private extension DType {
    var isSigned: Bool { [.int8, .int16, .int32, .int64].contains(self) }
}
