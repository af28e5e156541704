import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// Runs real networks end to end against onnxruntime's outputs: the fixtures in Tests/Fixtures/models (written by
/// tools/make_model_fixtures.py; README.md there lists each architecture and its ops) and the bundled digits example.
/// Every output of every data set must match with rtol 1e-3, atol 1e-4. DLINFER_DEVICE picks the device.
final class WholeModelTests: XCTestCase {
    static let rtol = 1e-3, atol = 1e-4
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let fixturesDir = repoRoot.appendingPathComponent("Tests/Fixtures/models").path
    /// Fixture folders with a test below; testEveryFixtureIsTested keeps this in step with the folder.
    static let tested = ["resnet_basic", "mobilenet_v2", "squeezenet1_1", "bilstm_classifier", "gru_regressor", "crnn",
                         "keras_digits_mlp", "keras_digits_cnn", "keras_sentiment", "keras_gru_forecaster",
                         "char_rnn", "crnn_ctc", "segmentation",
                         "mobilenet_v3_small", "mobilenet_v3_small_dynamo", "convnext_tiny_cfg", "vit_tiny", "vit_tiny_dynamo",
                         "vit_tiny_opset23", "swin_tiny_cfg", "efficientnet_fp16", "lraspp_small", "video_resnet_small",
                         "ssdlite_small", "fasterrcnn_small", "yolov8_tiny", "yolov8_tiny_nms", "bert_tiny", "distilbert_tiny",
                         "gpt2_tiny", "transformer_encoder", "transformer_encoder_dynamo",
                         "resnet_qdq", "convnet_dynamic"]

    func testResNetBasic() { check("resnet_basic") }
    func testMobileNetV2() { check("mobilenet_v2") }
    func testSqueezeNet11() { check("squeezenet1_1") }
    func testBiLSTMClassifier() { check("bilstm_classifier") }
    func testGRURegressor() { check("gru_regressor") }
    func testCRNN() { check("crnn") }
    // Built in Keras and exported with tf2onnx (tools/make_keras_models.py, KERAS.md there).
    func testKerasDigitsMLP() { check("keras_digits_mlp") }
    func testKerasDigitsCNN() { check("keras_digits_cnn") }
    func testKerasSentiment() { check("keras_sentiment") }
    func testKerasGRUForecaster() { check("keras_gru_forecaster") }
    // Written by tools/make_torch_user_models.py: trained char-RNN (state in and out) and CRNN, seeded segmenter.
    func testCharRNN() { check("char_rnn") }
    func testCRNNCTC() { check("crnn_ctc") }
    func testSegmentation() { check("segmentation") }
    // Written by tools/make_coverage_fixtures.py: the model families of today's exporters (torchvision, Ultralytics,
    // Hugging Face, PyTorch's own TransformerEncoder), TorchScript and dynamo exports, opsets 17 to 23.
    func testMobileNetV3Small() { check("mobilenet_v3_small") }
    func testMobileNetV3SmallDynamo() { check("mobilenet_v3_small_dynamo") }
    func testConvNeXt() { check("convnext_tiny_cfg") }
    func testViT() { check("vit_tiny") }
    func testViTDynamo() { check("vit_tiny_dynamo") }
    func testViTOpset23Attention() { check("vit_tiny_opset23") }
    func testSwin() { check("swin_tiny_cfg") }
    func testEfficientNetFloat16() { check("efficientnet_fp16") }
    func testLRASPPSegmentation() { check("lraspp_small") }
    func testVideoResNet() { check("video_resnet_small") }
    func testSSDLiteWithNMS() { check("ssdlite_small") }
    func testFasterRCNN() { check("fasterrcnn_small") }
    func testYOLOv8() { check("yolov8_tiny") }
    func testYOLOv8WithNMS() { check("yolov8_tiny_nms") }
    func testBERT() { check("bert_tiny") }
    func testDistilBERT() { check("distilbert_tiny") }
    func testGPT2() { check("gpt2_tiny") }
    func testTransformerEncoder() { check("transformer_encoder") }
    func testTransformerEncoderDynamo() { check("transformer_encoder_dynamo") }
    // Quantized with onnxruntime's quantization tool (tools/make_quantized_fixtures.py); the references are
    // onnxruntime's unoptimized runs. convnet_dynamic's integer products are exact and its float steps elementwise,
    // so any difference is a bug. resnet_qdq's float Conv and Gemm sum in another order than onnxruntime's and could
    // in principle move a value across a rounding boundary (one step of a scale); on these inputs they match
    // exactly on the CPU and on OpenCL, and exactness is what catches a wrong rounding mode in QuantizeLinear.
    func testResNetQDQ() { check("resnet_qdq", rtol: 0, atol: 0) }
    func testConvNetDynamic() { check("convnet_dynamic", rtol: 0, atol: 0) }

    func testEveryFixtureIsTested() throws {
        let present = try FileManager.default.contentsOfDirectory(atPath: Self.fixturesDir)
            .filter { FileManager.default.fileExists(atPath: Self.fixturesDir + "/" + $0 + "/model.onnx") }
        let untested = Set(present).subtracting(Self.tested), missing = Set(Self.tested).subtracting(present)
        XCTAssert(untested.isEmpty, "fixtures without a test (add them to WholeModelTests): \(untested.sorted())")
        XCTAssert(missing.isEmpty, "fixtures tested but absent from \(Self.fixturesDir): \(missing.sorted())")
    }

    /// The example model users meet first: logits for the 360 held-out digits (one batch, then one image at a time
    /// for a few, so the dynamic batch is re-planned) against onnxruntime's, and the accuracy README.md states.
    func testDigitsExample() throws {
        let root = Self.repoRoot.path
        let images = try readNpy(root + "/examples/data/digits_test_images.npy")
        let labels = try readNpy(root + "/examples/data/digits_test_labels.npy")
        let want = try readNpy(root + "/examples/data/digits_test_logits_onnxruntime.npy")
        guard let session = load(root + "/examples/models/digits_cnn.onnx", label: "digits_cnn",
                                 ops: "Conv Flatten Gemm MaxPool Relu") else { return }
        let n = images.shape[0]
        let logits: Tensor
        do { logits = try session.run([images])[0] } catch {
            return XCTFail("digits_cnn: run failed: \(error)")
        }
        if let why = compare(logits, want, rtol: Self.rtol, atol: Self.atol) {
            XCTFail("digits_cnn batch \(n): \(why)")
        }
        guard logits.shape == [n, 10] else { return }
        let l = logits.floats, y = labels.buffer(Int64.self)
        var correct = 0
        for i in 0..<n {
            var best = 0
            for c in 1..<10 where l[i * 10 + c] > l[i * 10 + best] { best = c }
            if Int64(best) == y[i] { correct += 1 }
        }
        print("digits_cnn: accuracy \(correct)/\(n)")
        XCTAssertGreaterThanOrEqual(correct, 354, "digits_cnn: onnxruntime gets 355/\(n)")
        for i in [0, 1, n - 1] {
            let one = try! Tensor(dtype: .float32, shape: [1, 1, 8, 8])
            one.raw.copyMemory(from: images.raw + i * 64 * 4, byteCount: 64 * 4)
            let ref = try! Tensor(dtype: .float32, shape: [1, 10])
            ref.raw.copyMemory(from: want.raw + i * 10 * 4, byteCount: 10 * 4)
            do {
                if let why = compare(try session.run([one])[0], ref, rtol: Self.rtol, atol: Self.atol) {
                    XCTFail("digits_cnn image \(i) alone: \(why)")
                }
            } catch { XCTFail("digits_cnn image \(i) alone: run failed: \(error)") }
        }
    }

    // MARK: - helpers

    private func check(_ name: String, rtol: Double = rtol, atol: Double = atol) {
        let dir = Self.fixturesDir + "/" + name
        let ops = (try? String(contentsOfFile: dir + "/ops.txt", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown: no ops.txt"
        guard let session = load(dir + "/model.onnx", label: name, ops: ops) else { return }
        let sets = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasPrefix("test_data_set_") }.sorted()
        XCTAssertGreaterThanOrEqual(sets.count, 2, "\(name): expected at least two data sets in \(dir)")
        for set in sets {
            do {
                let inputs = try Self.readTensors(dir + "/" + set, "input")
                let expected = try Self.readTensors(dir + "/" + set, "output")
                let shapes = inputs.map { "\($0.shape)" }.joined(separator: ", ")
                let outs = try session.run(inputs)
                XCTAssertEqual(outs.count, expected.count, "\(name) \(set): output count")
                if set == sets.first, session.deviceInfo.kind != .cpu {
                    let t = session.lastRunTransfers
                    print("\(name) on \(session.deviceName): \(session.cpuNodeCount) of \(session.placements.count) nodes "
                          + "on the CPU; per run \(t.uploads) uploads, \(t.downloads) downloads, \(t.sizeReads) size reads "
                          + "(\(inputs.count) inputs, \(outs.count) outputs)")
                    // Whole models stay on the device: each input crosses once, each output once (size reads aside).
                    XCTAssertLessThanOrEqual(t.uploads, inputs.count, "\(name): uploads \(t.moves.filter(\.toDevice).map(\.value))")
                    XCTAssertLessThanOrEqual(t.downloads, outs.count, "\(name): downloads \(t.moves.filter { !$0.toDevice }.map(\.value))")
                }
                for (k, (got, want)) in zip(outs, expected).enumerated() {
                    // Half-precision outputs are compared at half precision's own resolution (2^-10 relative).
                    let (r, a) = [.float16, .bfloat16].contains(want.dtype) ? (1e-2, 1e-2) : (rtol, atol)
                    if let why = compare(got, want, rtol: r, atol: a) {
                        XCTFail("\(name) \(set) (inputs \(shapes)) output \(k) '\(session.model.outputs[k].name)': \(why)")
                    }
                }
            } catch {
                XCTFail("\(name) \(set): run failed: \(error)")
            }
        }
    }

    /// The session, or nil after recording why the model could not be loaded (with its op list, to see what is missing).
    private func load(_ path: String, label: String, ops: String) -> InferenceSession? {
        do {
            return try InferenceSession(model: Model.load(path: path))
        } catch {
            XCTFail("\(label): rejected at load: \(error) (model ops: \(ops))")
            return nil
        }
    }

    /// The `kind` (input/output) tensors of a data set folder, in order.
    static func readTensors(_ dir: String, _ kind: String) throws -> [Tensor] {
        var out = [Tensor]()
        while let data = FileManager.default.contents(atPath: "\(dir)/\(kind)_\(out.count).pb") {
            out.append(try ONNXTensorFile.read([UInt8](data)).tensor)
        }
        if out.isEmpty { throw DLInferError.invalid("no \(kind)_0.pb in \(dir)") }
        return out
    }

    /// Reads the .npy files the example ships (little-endian float32 or int64, C order); anything else is an error.
    private func readNpy(_ path: String) throws -> Tensor {
        guard let data = FileManager.default.contents(atPath: path) else { throw DLInferError(.notFound, "cannot read \(path)") }
        let b = [UInt8](data)
        guard b.count > 10, b[0] == 0x93, Array(b[1...5]) == Array("NUMPY".utf8) else {
            throw DLInferError.invalid("\(path) is not a .npy file")
        }
        let (headerLen, start) = b[6] == 1 ? (Int(b[8]) | Int(b[9]) << 8, 10)
            : (Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24, 12)
        guard start + headerLen <= b.count else { throw DLInferError.invalid("\(path): truncated header") }
        let header = String(decoding: b[start..<(start + headerLen)], as: UTF8.self)
        guard !header.contains("'fortran_order': True") else { throw DLInferError.invalid("\(path): Fortran order") }
        let dtype: DType
        if header.contains("'descr': '<f4'") { dtype = .float32 } else if header.contains("'descr': '<i8'") { dtype = .int64 } else {
            throw DLInferError.invalid("\(path): only <f4 and <i8 are read: \(header)")
        }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw DLInferError.invalid("\(path): no shape in \(header)")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let t = try! Tensor(dtype: dtype, shape: shape)
        let body = start + headerLen
        guard b.count - body == t.byteCount else {
            throw DLInferError.invalid("\(path): \(b.count - body) data bytes, \(t.byteCount) expected for \(shape)")
        }
        b.withUnsafeBytes { t.raw.copyMemory(from: $0.baseAddress! + body, byteCount: t.byteCount) }
        return t
    }
}
