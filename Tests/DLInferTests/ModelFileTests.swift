import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// Weights are copied out of the model's bytes in chunks, each chunk's memory given back as it goes: every weight
/// must still arrive intact, from a file and from memory, whatever its offset in the file.
final class ModelFileTests: XCTestCase {
    func testLargeWeightsArriveIntactFromFileAndMemory() throws {
        let n = 3_000_001  // 12 MB: two copy chunks and a part, starting at no particular alignment
        let w1 = TestData.tensor([n], seed: 11), w2 = TestData.tensor([7], seed: 12), k = TestData.tensor([7], seed: 13)
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.fixed(n)])
        b.constant("w1", w1)
        b.constant("w2", w2)
        b.node("Constant", [], ["k"], [attr("value", k)])
        b.node("Add", ["x", "w1"], ["y"])
        b.node("Mul", ["k", "w2"], ["z"])
        b.output("y", .float32)
        b.output("z", .float32)
        let data = try b.serialized()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dlinfer-weights-\(getpid()).onnx").path
        try data.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }

        let x = TestData.tensor([n], seed: 14)
        let wantY = zip(x.array(Float.self), w1.array(Float.self)).map { $0 + $1 }
        let wantZ = zip(k.array(Float.self), w2.array(Float.self)).map { $0 * $1 }
        var cpu = SessionOptions()
        cpu.device = "cpu"
        for (what, model) in [("file", try Model.load(path: path)), ("memory", try Model.load(data: data))] {
            let out = try InferenceSession(model: model, options: cpu).run([x])
            XCTAssertEqual(out[0].array(Float.self), wantY, "y from \(what)")
            XCTAssertEqual(out[1].array(Float.self), wantZ, "z from \(what)")
        }
    }
}
