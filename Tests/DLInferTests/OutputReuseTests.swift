import DLInferCore
import DLInferEngine
import Foundation
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

    /// Buffers shrinking by three each step, so that none can serve the next request (a free buffer serves requests
    /// down to half its size): one run holds 27 + 9 + 9 + 3 + 3 MB in turn against a peak of 36 MB live, and the
    /// pool must keep them all for the next run rather than map them afresh every time.
    func testSteadyRunsAllocateNothing() throws {
        let n = 1 << 18
        var b = ModelBuilder(opset: 18)
        b.input("x", .float32, [.fixed(3), .fixed(3), .fixed(3), .fixed(n)])
        b.constant("axis", Tensor([Int64(0)], shape: [1]))
        b.node("Exp", ["x"], ["a1"])
        b.node("ReduceSum", ["a1", "axis"], ["b1"], [attr("keepdims", 0)])
        b.node("Exp", ["b1"], ["a2"])
        b.node("ReduceSum", ["a2", "axis"], ["b2"], [attr("keepdims", 0)])
        b.node("Exp", ["b2"], ["a3"])
        b.node("ReduceSum", ["a3", "axis"], ["y"], [attr("keepdims", 0)])
        b.output("y", .float32)
        var cpu = SessionOptions()
        cpu.device = "cpu"
        let session = try InferenceSession(model: b.load(), options: cpu)
        let x = Tensor([Float](repeating: -4, count: 27 * n), shape: [3, 3, 3, n])
        let expected = 3 * exp(3 * exp(3 * exp(-4.0)))
        var allocated = [Int]()
        for _ in 0..<4 {
            let y = try session.run([x])[0]
            XCTAssertEqual(y.shape, [n])
            assertClose(y, [Double](repeating: expected, count: n), shape: [n], rtol: 1e-5, atol: 1e-5)
            allocated.append(session.lastRunAllocatedBytes)
        }
        XCTAssertGreaterThan(allocated[0], 36 << 20, "the first run allocates every buffer")
        XCTAssertEqual(allocated[2...], [0, 0], "\(allocated)")
    }
}
