import DLInferCore
import DLInferEngine
import XCTest

/// A session takes back the memory of the last run's outputs for the next run once the caller has let go of them:
/// outputs the caller still holds must never be written over.
final class OutputReuseTests: XCTestCase {
    func testOutputsTheCallerKeepsAreNeverReused() throws {
        let n = 300_000  // 1.2 MB: mapped storage, the case reuse is for
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.fixed(n)])
        b.node("Relu", ["x"], ["y"])
        b.output("y", .float32)
        var cpu = SessionOptions()
        cpu.device = "cpu"
        let session = try InferenceSession(model: b.load(), options: cpu)
        let inputs = (0..<4).map { TestData.tensor([n], seed: 20 + $0) }
        func relu(_ t: Tensor) -> [Float] { t.array(Float.self).map { Swift.max($0, 0) } }

        let kept = try session.run([inputs[0]])[0]
        _ = try session.run([inputs[1]])  // dropped: its memory may serve the next run
        let next = try session.run([inputs[2]])[0]
        _ = try session.run([inputs[3]])
        XCTAssertEqual(kept.array(Float.self), relu(inputs[0]), "an output kept across three runs")
        XCTAssertEqual(next.array(Float.self), relu(inputs[2]), "an output kept across one run")
        XCTAssertEqual(session.lastOutputs[0].array(Float.self), relu(inputs[3]))
    }
}
