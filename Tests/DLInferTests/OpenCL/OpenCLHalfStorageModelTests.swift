import DLInferCore
import DLInferEngine
import DLInferOpenCL
import XCTest

/// precision=fp16 end to end: every whole-model fixture runs on OpenCL with float32 tensors stored as half and is
/// compared with onnxruntime's float32 outputs. Classifiers must pick the same class for every row of every data
/// set; no model may produce a NaN where onnxruntime has none; every output's error relative to its largest
/// magnitude is printed (the figures in benchmarks/RESULTS.md) and must stay below 5%, except detections, whose
/// count may change where a score sits at a threshold (printed, not failed). A dynamically quantized model is refused
/// (its int32 accumulators exceed half's range).
final class OpenCLHalfStorageModelTests: XCTestCase {
    /// Fixtures whose first output is class scores over the last axis.
    static let classifiers: Set<String> = [
        "resnet_basic", "mobilenet_v2", "squeezenet1_1", "bilstm_classifier", "keras_digits_mlp", "keras_digits_cnn",
        "keras_sentiment", "resnet_qdq", "mobilenet_v3_small", "mobilenet_v3_small_dynamo", "convnext_tiny_cfg", "vit_tiny",
        "vit_tiny_dynamo", "vit_tiny_opset23", "swin_tiny_cfg", "efficientnet_fp16", "video_resnet_small",
    ]
    /// Fixtures whose outputs are a variable number of detections after non-maximum suppression.
    static let detectors: Set<String> = ["ssdlite_small", "fasterrcnn_small", "yolov8_tiny_nms"]

    func testEveryFixtureInHalfStorage() throws {
        guard OpenCL.devices.first != nil else {
            if ProcessInfo.processInfo.environment["DLINFER_REQUIRE_OPENCL"] == "1" {
                XCTFail("OpenCL is required (DLINFER_REQUIRE_OPENCL=1) but unavailable: \(OpenCL.unavailableReason ?? "")")
            }
            throw XCTSkip("no OpenCL device")
        }
        var options = SessionOptions()
        options.device = ProcessInfo.processInfo.environment["DLINFER_DEVICE"].flatMap { $0.hasPrefix("opencl") ? $0 : nil } ?? "opencl"
        options.precision = .fp16
        let dynamic = WholeModelTests.fixturesDir + "/convnet_dynamic/model.onnx"
        XCTAssertThrowsError(try InferenceSession(model: Model.load(path: dynamic), options: options)) { e in
            XCTAssertTrue("\(e)".contains("MatMulInteger") || "\(e)".contains("ConvInteger"), "\(e)")
        }
        for name in WholeModelTests.tested where name != "convnet_dynamic" {
            let dir = WholeModelTests.fixturesDir + "/" + name
            let session = try InferenceSession(model: Model.load(path: dir + "/model.onnx"), options: options)
            let sets = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("test_data_set_") }.sorted()
            var worst = [Double](), top1 = (same: 0, rows: 0), notes = [String]()
            for set in sets {
                let inputs = try WholeModelTests.readTensors(dir + "/" + set, "input")
                let expected = try WholeModelTests.readTensors(dir + "/" + set, "output")
                let outs = try session.run(inputs)
                for (k, (got, want)) in zip(outs, expected).enumerated() {
                    let what = "\(name) \(set) output \(k)"
                    if worst.count <= k { worst.append(0) }
                    guard got.shape == want.shape else {
                        if Self.detectors.contains(name) { notes.append("\(what): \(got.shape) vs \(want.shape)"); continue }
                        XCTFail("\(what): shape \(got.shape), onnxruntime \(want.shape)")
                        continue
                    }
                    guard want.dtype.isFloatingPoint, got.dtype == want.dtype else { continue }
                    let g = (got.doubleValues() ?? []).map { Float($0) }, w = (want.doubleValues() ?? []).map { Float($0) }
                    for i in 0..<w.count where g[i].isNaN && !w[i].isNaN {
                        XCTFail("\(what): element \(i) is NaN, onnxruntime \(w[i])")
                        break
                    }
                    let scale = w.reduce(Float(0)) { $1.isFinite ? max($0, abs($1)) : $0 }
                    var err: Float = 0
                    for i in 0..<w.count where w[i].isFinite { err = max(err, abs(g[i] - w[i])) }
                    worst[k] = max(worst[k], scale > 0 ? Double(err / scale) : Double(err))
                    if k == 0, Self.classifiers.contains(name), let classes = w.count > 0 ? want.shape.last : nil {
                        for r in 0..<(w.count / classes) {
                            let row = r * classes..<(r + 1) * classes
                            let a = row.max { g[$0] < g[$1] }!, b = row.max { w[$0] < w[$1] }!
                            top1.rows += 1
                            if a == b { top1.same += 1 } else { XCTFail("\(what) row \(r): class \(a - row.lowerBound), onnxruntime \(b - row.lowerBound)") }
                        }
                    }
                }
            }
            for (k, e) in worst.enumerated() where e > 0.05 && !Self.detectors.contains(name) {
                XCTFail("\(name) output \(k): error \(e) of the largest magnitude exceeds 5%")
            }
            let errors = worst.map { String(format: "%.2e", $0) }.joined(separator: ", ")
            print("fp16 \(name): max error / max |output| per output: \(errors)"
                  + (top1.rows > 0 ? "; top-1 \(top1.same)/\(top1.rows) as onnxruntime" : "")
                  + (notes.isEmpty ? "" : "; detections differ: " + notes.joined(separator: "; ")))
        }
    }
}
