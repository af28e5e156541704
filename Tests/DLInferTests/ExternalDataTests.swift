import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// Weights stored in an external file (ONNX external data, two tensors at different offsets of one file), against
/// onnxruntime's output; and the errors when that file cannot be used. Fixture: tools/make_external_data_fixture.py.
final class ExternalDataTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/external_data").path

    private func tensor(_ name: String) throws -> Tensor {
        let data = try XCTUnwrap(FileManager.default.contents(atPath: Self.dir + "/test_data_set_0/" + name + ".pb"))
        return try ONNXTensorFile.read([UInt8](data)).tensor
    }

    func testWeightsFromExternalFileMatchOnnxRuntime() throws {
        let session = try InferenceSession(model: Model.load(path: Self.dir + "/model.onnx"))
        let y = try session.run([tensor("input_0")])
        XCTAssertNil(compare(y[0], try tensor("output_0"), rtol: 1e-5, atol: 1e-6))
    }

    func testBufferLoadExplainsThatExternalDataNeedsAPath() throws {
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: Self.dir + "/model.onnx"))
        XCTAssertThrowsError(try Model.load(data: bytes)) { e in
            XCTAssertEqual((e as? DLInferError)?.kind, .invalidArgument)
            XCTAssert("\(e)".contains("weights.bin"), "\(e)")
        }
    }

    func testMissingOrShortExternalFileIsAnError() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("dlinfer-ext-\(getpid())").path
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try FileManager.default.copyItem(atPath: Self.dir + "/model.onnx", toPath: tmp + "/model.onnx")
        XCTAssertThrowsError(try Model.load(path: tmp + "/model.onnx")) { e in
            XCTAssertEqual((e as? DLInferError)?.kind, .notFound)
        }
        try Data(repeating: 0, count: 100).write(to: URL(fileURLWithPath: tmp + "/weights.bin"))
        XCTAssertThrowsError(try Model.load(path: tmp + "/model.onnx")) { e in
            XCTAssertEqual((e as? DLInferError)?.kind, .io, "\(e)")
        }
    }
}
