import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// FuseAttention on each form of decomposed attention in Tests/Fixtures/attention (tools/make_attention_fixtures.py,
/// with onnxruntime's outputs of the unfused graph), and on the transformer fixtures the exporters wrote.
/// DLINFER_DEVICE picks the device (the fused node runs on the CPU either way).
final class AttentionFusionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// Per case, how many FusedAttention nodes the pass must make.
    static let cases = ["bert_guarded": 1, "causal_nan": 1, "vit": 1, "hf_div": 1, "broadcast": 1, "bmm_opset11": 1,
                        "query_broadcast": 1, "key_broadcast": 1, "self_attention": 1, "probs_is_output": 0]

    func testEachFormFusesAndMatchesOnnxRuntime() throws {
        let dir = Self.root.appendingPathComponent("attention")
        let present = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(Set(present), Set(Self.cases.keys), "fixture folders and the expected counts differ")
        for (name, fused) in Self.cases.sorted(by: { $0.key < $1.key }) {
            let d = dir.appendingPathComponent(name)
            let model = try Model.load(path: d.appendingPathComponent("model.onnx").path)
            let counts = Dictionary(uniqueKeysWithValues: model.opCounts)
            XCTAssertEqual(counts["FusedAttention"] ?? 0, fused, "\(name): fused nodes")
            if fused > 0 {
                XCTAssertNil(counts["Softmax"], "\(name): the Softmax should be inside the fused node")
                XCTAssertNil(counts["Transpose"], "\(name): every Transpose should be folded into the fused node's reads")
            }
            let inputs = try read(d, "input"), want = try read(d, "output")
            let got = try InferenceSession(model: model).run(inputs)
            XCTAssertEqual(got.count, want.count, name)
            for (k, (g, w)) in zip(got, want).enumerated() {
                XCTAssertNil(compare(g, w, rtol: 1e-5, atol: 1e-6), "\(name) output \(k)")
            }
        }
    }

    func testExportedTransformersFuseEveryAttention() throws {
        let models = ["bert_tiny", "distilbert_tiny", "gpt2_tiny", "vit_tiny", "vit_tiny_dynamo", "swin_tiny_cfg",
                      "transformer_encoder", "transformer_encoder_dynamo"]
        for name in models {
            let path = Self.root.appendingPathComponent("models/\(name)/model.onnx").path
            let counts = Dictionary(uniqueKeysWithValues: try Model.load(path: path).opCounts)
            XCTAssertEqual(counts["FusedAttention"], 2, "\(name): both attention layers should fuse")
            XCTAssertNil(counts["Softmax"], "\(name): a Softmax was left unfused")
        }
    }

    func testDisablingThePassKeepsTheGraphAsWritten() throws {
        setenv("DLINFER_DISABLE_PASSES", "fuse-attention, fuse-activations", 1)
        defer { unsetenv("DLINFER_DISABLE_PASSES") }
        let names = PassManager.standard().map(\.name)
        XCTAssertFalse(names.contains("fuse-attention"))
        XCTAssertFalse(names.contains("fuse-activations"))
        XCTAssertTrue(names.contains("compute-precision"), "precision is not optional")
        let d = Self.root.appendingPathComponent("attention/bert_guarded")
        let model = try Model.load(path: d.appendingPathComponent("model.onnx").path)
        let counts = Dictionary(uniqueKeysWithValues: model.opCounts)
        XCTAssertNil(counts["FusedAttention"])
        XCTAssertEqual(counts["Softmax"], 1)
        let got = try InferenceSession(model: model).run(try read(d, "input"))
        XCTAssertNil(compare(got[0], try read(d, "output")[0], rtol: 1e-5, atol: 1e-6))
    }

    private func read(_ dir: URL, _ kind: String) throws -> [Tensor] {
        var out = [Tensor]()
        while let data = FileManager.default.contents(atPath: dir.appendingPathComponent("\(kind)_\(out.count).pb").path) {
            out.append(try ONNXTensorFile.read([UInt8](data)).tensor)
        }
        return out
    }
}
