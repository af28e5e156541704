import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// Gather on any axis with negative and scalar indices and several element sizes, against a naive reference; indices
/// out of range rejected at load or at run time, never read.
final class GatherTests: XCTestCase {
    func testGatherAnyAxisNegativeAndScalarIndices() throws {
        let shape = [3, 5, 4]
        for (axis, idx, ishape) in [(1, [-1, 0, 2, 4], [2, 2]), (0, [2], []), (-1, [3, -4, 1], [3]), (0, [0, 2, 1, 2], [4])] {
            for dtype in [DType.int8, .float16, .float32, .int64] {
                var b = ModelBuilder(opset: 13)
                b.input("x", dtype, shape.map { .fixed($0) })
                b.input("i", .int32, ishape.map { .fixed($0) })
                b.node("Gather", ["x", "i"], ["y"], [attr("axis", axis)])
                b.output("y", dtype)
                let x = patterned(dtype, shape)
                let y = try b.run([x, Tensor(idx.map { Int32($0) }, shape: ishape)])[0]
                let a = axis < 0 ? axis + 3 : axis
                let outShape = Array(shape[..<a]) + ishape + Array(shape[(a + 1)...])
                let want = movedElements(x, outShape: outShape) { o in
                    let flat = ishape.isEmpty ? 0 : o[a..<(a + ishape.count)].enumerated().reduce(0) { $0 * ishape[$1.offset] + $1.element }
                    let v = idx[flat]
                    return Array(o[..<a]) + [v < 0 ? v + shape[a] : v] + Array(o[(a + ishape.count)...])
                }
                XCTAssertEqual(y.shape, outShape)
                XCTAssertEqual(bytes(y), bytes(want), "axis \(axis) \(idx) \(dtype)")
            }
        }
    }

    func testGatherRejectsOutOfRangeIndices() throws {
        // Indices known at load: rejected at load.
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.fixed(4), .fixed(2)])
        b.constant("i", TestData.int64([0, 4]))
        b.node("Gather", ["x", "i"], ["y"])
        b.output("y", .float32)
        XCTAssertThrowsError(try b.load()) { XCTAssertTrue("\($0)".contains("index 4 is out of range"), "\($0)") }
        // Indices known at run time: the run fails, nothing is read.
        b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.fixed(4), .fixed(2)])
        b.input("i", .int64, [.fixed(2)])
        b.node("Gather", ["x", "i"], ["y"])
        b.output("y", .float32)
        let s = try InferenceSession(model: b.load())
        XCTAssertThrowsError(try s.run([patterned(.float32, [4, 2]), Tensor([Int64(1), -5], shape: [2])])) {
            XCTAssertTrue("\($0)".contains("index -5 is out of range"), "\($0)")
        }
    }

    func testGatherFromAScalarIsRejected() {
        assertRefusedAtLoad([
            ("Gather scalar data", OneNode.loadError("Gather", opset: 13, [patterned(.float32, []), TestData.int64([0])], constant: [1])),
        ])
    }
}
