import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// ConstantOfShape and Expand (shapes given at run time, broadcasting that keeps the input's dims), and malformed
/// shapes rejected at load or at run time.
final class FillTests: XCTestCase {
    func testConstantOfShapeAndExpand() throws {
        var b = ModelBuilder(opset: 21)
        b.input("s", .int64, [.fixed(0)])
        b.input("x", .int16, [.fixed(3), .fixed(1)])
        b.input("t", .int64, [.fixed(3)])
        b.node("ConstantOfShape", ["s"], ["scalar"], [attr("value", Tensor([Int64(7)], shape: [1]))])
        b.node("ConstantOfShape", ["t"], ["zeros"])
        b.node("Expand", ["x", "t"], ["e"])
        b.output("scalar", .int64); b.output("zeros", .float32); b.output("e", .int16)
        let x = Tensor([Int16(1), 2, 3], shape: [3, 1])
        // [2, 1, 6]: the input's 3 survives the asked-for 1.
        let outs = try b.run([try! Tensor(dtype: .int64, shape: [0]), x, Tensor([Int64(2), 1, 6], shape: [3])])
        XCTAssertEqual(outs[0].shape, [])
        XCTAssertEqual(outs[0].array(Int64.self), [7])
        XCTAssertEqual(outs[1].shape, [2, 1, 6])
        XCTAssertEqual(outs[1].array(Float.self), [Float](repeating: 0, count: 12))
        XCTAssertEqual(outs[2].shape, [2, 3, 6])
        XCTAssertEqual(outs[2].array(Int16.self), (0..<36).map { Int16(($0 / 6) % 3 + 1) })
    }

    func testMalformedExpandAndConstantOfShapeAreRejected() throws {
        assertRefusedAtLoad([
            ("Expand", OneNode.loadError("Expand", opset: 13, [patterned(.float32, [3, 2]), TestData.int64([3, 3])], constant: [1])),
        ])
        var b = ModelBuilder(opset: 13)
        b.input("s", .int64, [.fixed(2)])
        b.node("ConstantOfShape", ["s"], ["y"])
        b.output("y", .float32)
        XCTAssertThrowsError(try InferenceSession(model: b.load()).run([Tensor([Int64(2), -1], shape: [2])]))
    }
}
