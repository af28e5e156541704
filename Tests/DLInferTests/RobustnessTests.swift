import DLInferCore
import DLInferEngine
import Foundation
import XCTest

/// Malformed models that once crashed dlinfer (found by tools/fuzz_models.py, written by
/// tools/make_robustness_fixtures.py): each must now be refused with a `DLInferError`, never a trap.
final class RobustnessTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/robustness").path

    /// Loads the fixture (from its path and from memory) and runs it if it loads; one of the two must throw a
    /// `DLInferError` whose message contains `expected`.
    private func assertRefused(_ name: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = "\(Self.fixtures)/\(name).onnx"
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path), "missing fixture \(path)", file: file, line: line)
        for load in [{ try Model.load(path: path) }, { try Model.load(data: data) }] {
            do {
                let model = try load()
                let session = try InferenceSession(model: model)
                let inputs = model.inputs.map { v in try! Tensor(dtype: v.type.dtype, shape: v.type.fixedShape ?? []) }
                _ = try session.run(Dictionary(uniqueKeysWithValues: zip(model.inputs.map(\.name), inputs)))
                XCTFail("\(name): loaded and ran", file: file, line: line)
            } catch let e as DLInferError {
                XCTAssertTrue(e.message.contains(expected), "\(name): \(e.message)", file: file, line: line)
            }
        }
    }

    func testDuplicateGraphOutput() throws { try assertRefused("duplicate_graph_output", "listed twice") }

    /// A node that names no output (here a Concat of constants, which constant folding would run) is dropped: the
    /// model loads and its one real node runs.
    func testNodeWithoutOutputsIsDropped() throws {
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.fixed(3)])
        b.constant("a", Tensor([Float(1), 2], shape: [2]))
        b.node("Concat", ["a", "a"], [], [attr("axis", 0)])
        b.node("Concat", ["a", "a"], [""], [attr("axis", 0)])
        b.node("Relu", ["x"], ["y"])
        b.output("y", .float32)
        let model = try b.load()
        let y = try InferenceSession(model: model).run([Tensor([Float(-1), 0, 2], shape: [3])])[0]
        XCTAssertEqual(y.array(Float.self), [0, 0, 2])
    }
    func testNodeWithMoreOutputsThanItsOp() throws { try assertRefused("extra_node_output", "the node declares 2") }
    func testValueDefinedTwice() throws { try assertRefused("value_defined_twice", "already defined") }
    func testInitializerDimsLargerThanRawData() throws { try assertRefused("huge_initializer_raw", "raw_data has 4 bytes") }
    func testInitializerDimsLargerThanTypedData() throws { try assertRefused("huge_initializer_typed", "float_data has 2 values") }
}
