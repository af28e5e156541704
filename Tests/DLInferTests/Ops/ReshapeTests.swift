import DLInferCore
import DLInferONNX
import DLInferEngine
import Foundation
import XCTest

/// Reshape, Flatten, Squeeze and Unsqueeze: symbolic batch dims through the shape chain of PyTorch exports, 0 and -1
/// and allowzero, legacy attribute forms, and bad shapes rejected at load or at run time rather than crashing.
final class ReshapeTests: XCTestCase {
    // MARK: Reshape family, symbolic dims and shape chains

    func testReshapeFamilyKeepsSymbolicBatch() throws {
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.symbol("batch"), .fixed(3), .fixed(4)])
        b.constant("s1", TestData.int64([-1, 12]))
        b.constant("s2", TestData.int64([0, 2, -1]))
        b.constant("ax", TestData.int64([1, -1]))
        b.node("Reshape", ["x", "s1"], ["r1"])
        b.node("Reshape", ["x", "s2"], ["r2"])
        b.node("Flatten", ["x"], ["f"], [attr("axis", -1)])
        b.node("Unsqueeze", ["x", "ax"], ["u"])
        b.node("Squeeze", ["u", "ax"], ["sq"])
        for o in ["r1", "r2", "f", "u", "sq"] { b.output(o, .float32) }
        let m = try b.load()
        XCTAssertEqual(m.outputs.map { $0.type.shape.map(dimsString) ?? "*" },
                       ["[batch,12]", "[batch,2,6]", "[?,4]", "[batch,1,3,4,1]", "[batch,3,4]"])
        let x = patterned(.float32, [5, 3, 4])
        let outs = try InferenceSession(model: m).run([x])
        XCTAssertEqual(outs.map(\.shape), [[5, 12], [5, 2, 6], [15, 4], [5, 1, 3, 4, 1], [5, 3, 4]])
        for o in outs { XCTAssertEqual(bytes(o), bytes(x)) }
    }

    func testReshapeOfSymbolicInputIsCheckedAtRunTime() throws {
        // 3 * batch elements into rows of 2: fine for an even batch, which load cannot know.
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.symbol("batch"), .fixed(3)])
        b.constant("s", TestData.int64([-1, 2]))
        b.node("Reshape", ["x", "s"], ["y"])
        b.output("y", .float32)
        let s = try InferenceSession(model: b.load())
        XCTAssertEqual(try s.run([patterned(.float32, [4, 3])])[0].shape, [6, 2])
        XCTAssertThrowsError(try s.run([patterned(.float32, [3, 3])])) { XCTAssertTrue("\($0)".contains("do not divide"), "\($0)") }
    }

    func testShapeGatherConcatReshapeChainFoldsPerBatch() throws {
        // The PyTorch export of x.view(x.size(0), -1).
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.symbol("batch"), .fixed(3), .fixed(4)])
        b.constant("zero", Tensor.scalar(Int64(0)))
        b.constant("axes", TestData.int64([0]))
        b.constant("minus1", TestData.int64([-1]))
        b.node("Shape", ["x"], ["shape"])
        b.node("Gather", ["shape", "zero"], ["n"])
        b.node("Unsqueeze", ["n", "axes"], ["n1"])
        b.node("Concat", ["n1", "minus1"], ["target"], [attr("axis", 0)])
        b.node("Reshape", ["x", "target"], ["y"])
        b.output("y", .float32)
        let s = try InferenceSession(model: b.load())
        for batch in [2, 5, 2] {
            let x = patterned(.float32, [batch, 3, 4])
            let y = try s.run([x])[0]
            XCTAssertEqual(y.shape, [batch, 12])
            XCTAssertEqual(bytes(y), bytes(x))
        }
    }

    func testReshapeZeroCopyMinusOneAndAllowZero() throws {
        func reshape(_ shape: [Int], _ spec: [Int], opset: Int = 14, allowZero: Bool? = nil) throws -> [Int] {
            var b = ModelBuilder(opset: opset)
            b.input("x", .float32, shape.map { .fixed($0) })
            b.constant("s", TestData.int64(spec))
            b.node("Reshape", ["x", "s"], ["y"], allowZero.map { [attr("allowzero", $0 ? 1 : 0)] } ?? [])
            b.output("y", .float32)
            return try b.run([patterned(.float32, shape)])[0].shape
        }
        XCTAssertEqual(try reshape([2, 3, 4], [0, -1]), [2, 12])
        XCTAssertEqual(try reshape([2, 3, 4], [-1, 0, 2]), [4, 3, 2])
        XCTAssertEqual(try reshape([0, 3, 4], [3, 4, 0], allowZero: true), [3, 4, 0])
        XCTAssertEqual(try reshape([0, 3, 4], [0, -1]), [0, 12])
        XCTAssertThrowsError(try reshape([0, 3, 4], [-1, 0], allowZero: true))  // -1 with a literal 0
        XCTAssertThrowsError(try reshape([2, 3, 4], [5, -1]))
        XCTAssertThrowsError(try reshape([2, 3, 4], [-1, -1]))
        XCTAssertThrowsError(try reshape([2, 3, 4], [2, 3, 5]))
        XCTAssertThrowsError(try reshape([2, 3], [0, 0, 6]))                    // copies a dim the input lacks
        XCTAssertThrowsError(try reshape([2, 3], [6], opset: 13, allowZero: false)) { // allowzero arrived in 14
            XCTAssertTrue("\($0)".contains("allowzero"), "\($0)")
        }
    }

    func testLegacySqueezeUnsqueezeAttributes() throws {
        var b = ModelBuilder(opset: 11)
        b.input("x", .int64, [.fixed(3), .fixed(1), .fixed(2), .fixed(1)])
        b.node("Squeeze", ["x"], ["all"])
        b.node("Squeeze", ["x"], ["one"], [attr("axes", [-1])])
        b.node("Unsqueeze", ["x"], ["u"], [attr("axes", [0, 5])])
        for o in ["all", "one", "u"] { b.output(o, .int64) }
        let outs = try b.run([patterned(.int64, [3, 1, 2, 1])])
        XCTAssertEqual(outs.map(\.shape), [[3, 2], [3, 1, 2], [1, 3, 1, 2, 1, 1]])
        // Opset 13: axes as an input, where an empty list squeezes every size-1 dim.
        b = ModelBuilder(opset: 13)
        b.input("x", .int64, [.fixed(3), .fixed(1), .fixed(2), .fixed(1)])
        b.constant("none", try! Tensor(dtype: .int64, shape: [0]))
        b.node("Squeeze", ["x", "none"], ["all"])
        b.output("all", .int64)
        XCTAssertEqual(try b.run([patterned(.int64, [3, 1, 2, 1])])[0].shape, [3, 2])
        // Unsqueeze needs its axes before opset 13; Squeeze refuses a dim that is not 1.
        b = ModelBuilder(opset: 11)
        b.input("x", .int64, [.fixed(3), .fixed(1)])
        b.node("Unsqueeze", ["x"], ["u"])
        b.output("u", .int64)
        XCTAssertThrowsError(try b.load())
        b = ModelBuilder(opset: 11)
        b.input("x", .int64, [.fixed(3), .fixed(1)])
        b.node("Squeeze", ["x"], ["s"], [attr("axes", [0])])
        b.output("s", .int64)
        XCTAssertThrowsError(try b.load()) { XCTAssertTrue("\($0)".contains("not 1"), "\($0)") }
    }

    func testDataDependentShapeMismatchFailsTheRunNotTheProcess() throws {
        // Reshape's target is fixed when the plan is made, but its input's size depends on data only seen in the run.
        var b = ModelBuilder(opset: 13)
        b.input("s", .int64, [.fixed(2)])
        b.constant("target", TestData.int64([2, 3]))
        b.node("ConstantOfShape", ["s"], ["c"])
        b.node("Reshape", ["c", "target"], ["y"])
        b.output("y", .float32)
        let s = try InferenceSession(model: b.load())
        XCTAssertEqual(try s.run([Tensor([Int64(3), 2], shape: [2])])[0].shape, [2, 3])
        XCTAssertThrowsError(try s.run([Tensor([Int64(7), 1], shape: [2])])) { XCTAssertTrue("\($0)".contains("cannot view"), "\($0)") }
    }

    func testMalformedReshapeFamilyIsRejected() {
        assertRefusedAtLoad([
            ("Unsqueeze repeat", OneNode.loadError("Unsqueeze", opset: 13, [patterned(.float32, [2, 3]), TestData.int64([0, -4])], constant: [1])),
            ("Squeeze range", OneNode.loadError("Squeeze", opset: 13, [patterned(.float32, [2, 1]), TestData.int64([2])], constant: [1])),
            ("Flatten axis", OneNode.loadError("Flatten", opset: 13, [patterned(.float32, [3, 2])], attrs: [attr("axis", 3)])),
            ("Reshape shape type", OneNode.loadError("Reshape", opset: 13, [patterned(.float32, [4]), Tensor([Float(4)], shape: [1])],
                                                     constant: [1])),
        ])
    }
}

// MARK: helpers

private func dimsString(_ d: [Dim]) -> String { "[\(d.map(\.description).joined(separator: ","))]" }
