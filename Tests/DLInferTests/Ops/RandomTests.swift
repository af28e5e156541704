import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// The random generators: seeded nodes against the values onnxruntime 1.23 (Linux) draws for the same models, run
/// after run; the distributions' moments and ranges over many draws; unseeded nodes differing between sessions and
/// runs; no draw frozen by constant folding; and bad attributes or inputs rejected.
final class RandomTests: XCTestCase {
    func testSeededDrawsMatchOnnxruntimeRunAfterRun() throws {
        let uniform = try session("RandomUniform", [attr("shape", [6]), attr("seed", Float(0)), attr("dtype", 1)], .float32)
        XCTAssertEqual(try uniform.run([])[0].array(Float.self).map(\.bitPattern),
                       [0x37034c00, 0x3e06b1d8, 0x3f416f5a, 0x3eead431, 0x3f08636f, 0x3e6036d6])
        XCTAssertEqual(try uniform.run([])[0].array(Float.self).map(\.bitPattern),
                       [0x3d40b1db, 0x3f2dca14, 0x3f2de65f, 0x3f6f4809, 0x3ec45a62, 0x3f04f879])

        let wide = try session("RandomUniform", [attr("shape", [5]), attr("seed", Float(5)), attr("dtype", 11), attr("low", Float(-2)),
                                                 attr("high", Float(3))], .float64)
        XCTAssertEqual(try wide.run([])[0].array(Double.self).map(\.bitPattern),
                       [0x3ff49d7831527778, 0xbfe11473f68b59e2, 0xbff86a944e777396, 0xbf9d1031170b9180, 0x3ff5e08d7396f21c])

        let normal = try session("RandomNormal", [attr("shape", [7]), attr("seed", Float(5)), attr("mean", Float(1.5)),
                                                  attr("scale", Float(2))], .float32)
        XCTAssertEqual(try normal.run([])[0].array(Float.self).map(\.bitPattern),
                       [0x3d5ecf80, 0x405c6a20, 0x3e0f4f38, 0x400331b5, 0x3ec6faa8, 0xbfa46d3e, 0x4098a3ee])
        // The odd element's partner is dropped at the end of a run (a fresh normal_distribution per run).
        XCTAssertEqual(try normal.run([])[0].array(Float.self).map(\.bitPattern),
                       [0x3fed805a, 0x4041d778, 0x3f625602, 0x3f59a505, 0x404a25ff, 0xbf8ca7f0, 0x3f4d1ddb])

        // A negative seed converts as onnxruntime's uint32_t cast does on x86-64.
        let normal64 = try session("RandomNormal", [attr("shape", [5]), attr("seed", Float(-3.7)), attr("dtype", 11)], .float64)
        XCTAssertEqual(try normal64.run([])[0].array(Double.self).map(\.bitPattern),
                       [0x3fbf39264e1e80f8, 0x3ff1639b514ce222, 0xbfe5e5b40632cfef, 0x3ff133f989a31a94, 0xbfa108b2625cb399])

        let like = try session("RandomNormalLike", [attr("seed", Float(123456789))], .float32, input: [2, 3])
        XCTAssertEqual(try like.run([Tensor([Float](repeating: 0, count: 6), shape: [2, 3])])[0].array(Float.self).map(\.bitPattern),
                       [0xbf20d618, 0xbf97e456, 0xbf8871f4, 0xbe9c67b0, 0xbdf5b232, 0xbf4f58b1])

        let logits = Tensor([0xc0135d8e, 0xbfce0210, 0xbf9a1bc8, 0xbf6a9207, 0xbeb69e19, 0xc0135d8e, 0xc0135d8e, 0xc0135d8e].map { Float(bitPattern: $0) },
                            shape: [2, 4])
        let multinomial = try session("Multinomial", [attr("seed", Float(7)), attr("sample_size", 8)], .int32, input: [2, 4])
        XCTAssertEqual(try multinomial.run([logits])[0].array(Int32.self), [3, 1, 2, 3, 2, 3, 1, 3, 0, 0, 2, 0, 0, 0, 3, 0])
        XCTAssertEqual(try multinomial.run([logits])[0].array(Int32.self), [2, 1, 1, 2, 3, 1, 2, 1, 0, 0, 3, 0, 0, 0, 0, 0])
    }

    func testSeededSessionsRepeatAndUnseededOnesDiffer() throws {
        let seeded = [attr("shape", [64]), attr("seed", Float(42))]
        let a = try session("RandomNormal", seeded, .float32), b = try session("RandomNormal", seeded, .float32)
        let first = try a.run([])[0].array(Float.self)
        XCTAssertEqual(first, try b.run([])[0].array(Float.self))
        XCTAssertNotEqual(first, try a.run([])[0].array(Float.self))

        let c = try session("RandomUniform", [attr("shape", [64])], .float32), d = try session("RandomUniform", [attr("shape", [64])], .float32)
        let fromC = try c.run([])[0].array(Float.self)
        XCTAssertNotEqual(fromC, try d.run([])[0].array(Float.self))
        XCTAssertNotEqual(fromC, try c.run([])[0].array(Float.self))
    }

    func testDrawsOfAConstantInputAreNotFoldedAway() throws {
        var m = ModelBuilder(opset: 22)
        m.constant("p", Tensor([Float](repeating: 0.5, count: 256), shape: [256]))
        m.constant("x", Tensor([Float](repeating: 0, count: 256), shape: [256]))
        m.node("Bernoulli", ["p"], ["b"])
        m.node("RandomUniformLike", ["x"], ["u"])
        m.output("b", .float32)
        m.output("u", .float32)
        let s = try InferenceSession(model: m.load())
        let one = try s.run([]), two = try s.run([])
        XCTAssertNotEqual(one[0].array(Float.self), two[0].array(Float.self))
        XCTAssertNotEqual(one[1].array(Float.self), two[1].array(Float.self))
    }

    func testDistributions() throws {
        let n = 200_000
        let normal = try session("RandomNormal", [attr("shape", [n]), attr("mean", Float(-1)), attr("scale", Float(3)), attr("dtype", 11)], .float64)
        let v = try normal.run([])[0].array(Double.self)
        let mean = v.reduce(0, +) / Double(n), sd = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)).squareRoot()
        XCTAssertEqual(mean, -1, accuracy: 0.03)
        XCTAssertEqual(sd, 3, accuracy: 0.03)
        XCTAssertEqual(Double(v.filter { abs($0 + 1) < 3 }.count) / Double(n), 0.6827, accuracy: 0.005)

        for dtype in [DType.float16, .bfloat16, .float32] {
            let uniform = try session("RandomUniform", [attr("shape", [n]), attr("low", Float(2)), attr("high", Float(5)),
                                                        attr("dtype", Int(dtype.rawValue))], dtype, opset: 22)
            let y = try uniform.run([])[0]
            let u: [Float] = dtype == .float16 ? y.buffer(Half.self).map(\.float) : dtype == .bfloat16 ? y.buffer(BFloat16.self).map(\.float) : y.array(Float.self)
            XCTAssertTrue(u.allSatisfy { $0 >= 2 && $0 <= 5 }, "\(dtype)")
            XCTAssertEqual(Double(u.reduce(0, +)) / Double(n), 3.5, accuracy: 0.02, "\(dtype)")
        }

        let p = Tensor((0..<n).map { Double($0 % 5) / 4 }, shape: [n])
        let bernoulli = try session("Bernoulli", [attr("dtype", Int(DType.int64.rawValue))], .int64, input: [n], inputType: .float64)
        let draws = try bernoulli.run([p])[0].array(Int64.self)
        for k in 0..<5 {
            let picked = stride(from: k, to: n, by: 5).map { draws[$0] }
            XCTAssertEqual(Double(picked.reduce(0, +)) / Double(picked.count), Double(k) / 4, accuracy: 0.01, "p \(Double(k) / 4)")
        }

        let probabilities = [0.5, 0.0, 0.3, 0.2]
        let logits = Tensor(probabilities.map { Float(log($0)) } + [0, 0, 0, 0], shape: [2, 4])
        let multinomial = try session("Multinomial", [attr("sample_size", 50_000), attr("dtype", 7)], .int64, input: [2, 4])
        let samples = try multinomial.run([logits])[0].array(Int64.self)
        for c in 0..<4 {
            XCTAssertEqual(Double(samples[..<50_000].filter { $0 == c }.count) / 50_000, probabilities[c], accuracy: 0.01)
            XCTAssertEqual(Double(samples[50_000...].filter { $0 == c }.count) / 50_000, 0.25, accuracy: 0.01)
        }
    }

    func testBadAttributesAndInputsAreRejected() throws {
        // A Like op of an integer input needs a dtype; bfloat16 only from opset 22.
        XCTAssertThrowsError(try session("RandomNormalLike", [], .float32, input: [3], inputType: .int32))
        XCTAssertNoThrow(try session("RandomNormalLike", [attr("dtype", 1)], .float32, input: [3], inputType: .int32))
        XCTAssertThrowsError(try session("RandomUniform", [attr("shape", [3]), attr("dtype", 16)], .bfloat16, opset: 21))
        XCTAssertThrowsError(try session("RandomUniform", [attr("shape", [3]), attr("dtype", 6)], .int32))
        XCTAssertThrowsError(try session("RandomUniform", [attr("shape", [-1])], .float32))
        XCTAssertThrowsError(try session("RandomUniform", [], .float32))
        XCTAssertThrowsError(try session("Multinomial", [attr("sample_size", 0)], .int32, input: [1, 3]))
        XCTAssertThrowsError(try session("Multinomial", [attr("dtype", 1)], .float32, input: [1, 3]))
        let multinomial = try session("Multinomial", [], .int32, input: [2, 2])
        XCTAssertThrowsError(try multinomial.run([Tensor([Float(0), 0, -.infinity, .nan], shape: [2, 2])])) { e in
            XCTAssertTrue("\(e)".contains("row 1"), "\(e)")
        }
    }

    private func session(_ op: String, _ attrs: [Onnx_AttributeProto], _ out: DType, input: [Int]? = nil, inputType: DType = .float32,
                         opset: Int = 17) throws -> InferenceSession {
        // The input's values come at run time: a zero tensor only declares its type.
        let x = try input.map { [try Tensor(dtype: inputType, shape: $0)] } ?? []
        return try InferenceSession(model: OneNode.model(op, opset: opset, x, attrs: attrs, outputs: [out]).model.load())
    }
}
