import DLInferCore
import DLInferONNX
import XCTest

/// Inputs, one-node models and comparisons for the vision ops' tests (detection, sampling, pooling).
enum VisionHarness {
    /// Deterministic uniform floats in [lo, hi).
    static func uniform(_ count: Int, seed: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        var state = UInt64(seed) &* 0x9E3779B97F4A7C15 &+ 0x632BE59BD9B4E019
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return lo + (hi - lo) * Float(state >> 40) / Float(1 << 24)
        }
    }

    static func tensor(_ shape: [Int], seed: Int, _ lo: Float = -1, _ hi: Float = 1) -> Tensor {
        Tensor(uniform(shape.elementCount, seed: seed, lo, hi), shape: shape)
    }

    /// Deterministic integers in lo...hi.
    static func integers(_ count: Int, seed: Int, _ lo: Int, _ hi: Int) -> [Int] {
        uniform(count, seed: seed, 0, 1).map { lo + Swift.min(hi - lo, Int($0 * Float(hi - lo + 1))) }
    }

    /// Runs one `op` node at `opset` through the importer and a CPU session. Inputs are named x0, x1, ...; nil
    /// leaves an optional input out; those in `constant` become initializers, the rest are fed at run time.
    static func run(_ op: String, opset: Int, _ inputs: [Tensor?], constant: Set<Int> = [],
                    attrs: [Onnx_AttributeProto] = [], outputs: [DType] = [.float32]) throws -> [Tensor] {
        var m = ModelBuilder(opset: opset)
        var names = [String](), feeds = [Tensor]()
        for (i, t) in inputs.enumerated() {
            guard let t else { names.append(""); continue }
            names.append("x\(i)")
            if constant.contains(i) { m.constant("x\(i)", t) } else {
                m.input("x\(i)", t.dtype, t.shape.map { .fixed($0) })
                feeds.append(t)
            }
        }
        let outs = outputs.indices.map { "y\($0)" }
        m.node(op, names, outs, attrs)
        for (name, dtype) in zip(outs, outputs) { m.output(name, dtype) }
        return try m.run(feeds)
    }

    static func assertClose(_ got: Tensor, _ want: [Float], rtol: Float = 1e-5, atol: Float = 1e-6, _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        let g = got.array(Float.self)
        guard g.count == want.count else {
            XCTFail("\(what): \(g.count) elements, expected \(want.count)", file: file, line: line)
            return
        }
        for (i, (a, b)) in zip(g, want).enumerated() where !(abs(a - b) <= atol + rtol * abs(b)) && !(a.isNaN && b.isNaN) {
            XCTFail("\(what): element \(i) is \(a), expected \(b)", file: file, line: line)
            return
        }
    }
}
