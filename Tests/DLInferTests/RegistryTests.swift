import DLInferCore
import DLInferEngine
import DLInferONNX
import DLInferOpenCL
import Foundation
import XCTest

/// The importer's table is the one list of supported ops: what `dlinfer ops` prints, the conformance scope and the
/// README's list follow it, and these tests fail when they drift apart.
final class RegistryTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testEveryRegisteredOpExistsInONNX() {
        XCTAssertEqual(ONNXOpRegistry.unknownToONNX, [], "registered ops the pinned onnx release does not define")
    }

    func testOpsCommandListsTheRegistry() {
        XCTAssertEqual(SupportedOps.list.map(\.name), ONNXOpRegistry.ops.map(\.name))
        XCTAssertTrue(SupportedOps.list.allSatisfy { $0.opsets.upperBound == ONNXImporter.supportedOpsets.upperBound })
    }

    func testOpenCLKernelListNamesRegisteredOps() {
        let registered = Set(ONNXOpRegistry.ops.map(\.name))
        XCTAssertEqual(OpenCLBackend.kernelOps.subtracting(registered), [], "OpenCL kernels listed for ops the importer lacks")
    }

    /// README.md lists the supported ops between `<!-- ops -->` and `<!-- /ops -->`, comma-separated.
    func testReadmeListsExactlyTheRegisteredOps() throws {
        let readme = try String(contentsOfFile: Self.repoRoot.appendingPathComponent("README.md").path, encoding: .utf8)
        guard let start = readme.range(of: "<!-- ops -->"), let end = readme.range(of: "<!-- /ops -->") else {
            return XCTFail("README.md has no <!-- ops --> ... <!-- /ops --> block")
        }
        let listed = readme[start.upperBound..<end.lowerBound]
            .split(whereSeparator: { $0 == "," || $0.isWhitespace || $0 == "." }).map(String.init).filter { !$0.isEmpty }
        let registered = ONNXOpRegistry.ops.map(\.name)
        XCTAssertEqual(Set(listed).subtracting(registered).sorted(), [], "README lists ops the importer does not register")
        XCTAssertEqual(Set(registered).subtracting(listed).sorted(), [], "README misses registered ops")
        XCTAssertEqual(listed, listed.sorted(), "README's op list is not in alphabetical order")
    }
}
