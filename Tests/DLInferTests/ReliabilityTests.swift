import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// What a hostile model file or input must not do to the host: kill it with a huge declared shape or allocation,
/// exhaust memory through an empty input or ever-changing shapes, read files outside the model's folder, or hang on
/// a FIFO. Each case once broke dlinfer; each must now end in a `DLInferError` (or a correct result), fast.
final class ReliabilityTests: XCTestCase {
    private func time<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        let start = Date()
        let r = try body()
        return (r, Date().timeIntervalSince(start))
    }

    private func assertRefused(_ b: ModelBuilder, _ expected: String, inputs: [Tensor]? = nil, kind: DLInferError.Kind? = nil,
                               file: StaticString = #filePath, line: UInt = #line) {
        let (_, seconds) = time {
            do {
                let model = try b.load()
                guard let inputs else { return XCTFail("loaded", file: file, line: line) }
                _ = try InferenceSession(model: model).run(inputs)
                XCTFail("ran", file: file, line: line)
            } catch let e as DLInferError {
                XCTAssertTrue(e.message.contains(expected), e.message, file: file, line: line)
                if let kind { XCTAssertEqual(e.kind, kind, e.message, file: file, line: line) }
            } catch { XCTFail("\(error)", file: file, line: line) }
        }
        XCTAssertLessThan(seconds, 2, "took \(seconds) s", file: file, line: line)
    }

    /// A graph input that feeds a shape argument, declared as a vector of 2^31, 2^62 or 10^8 dims: the model is tiny,
    /// the type rules would build a shape of that many dims.
    func testHugeDeclaredShapeVectorsAreRefusedAtLoad() {
        for n in [1 << 31, 1 << 62, 100_000_000] {
            for op in ["Reshape", "Expand", "Unsqueeze", "ConstantOfShape"] {
                var b = ModelBuilder(opset: 21)
                b.input("x", .float32, [.fixed(2)])
                b.input("s", .int64, [.fixed(n)])
                if op == "ConstantOfShape" { b.node(op, ["s"], ["y"]) } else { b.node(op, ["x", "s"], ["y"]) }
                b.output("y", .float32)
                assertRefused(b, "maximum rank 64")
            }
        }
    }

    func testRankAbove64IsRefused() {
        var b = ModelBuilder(opset: 21)
        b.input("x", .float32, (0..<65).map { _ in .fixed(1) })
        b.node("Relu", ["x"], ["y"])
        b.output("y", .float32)
        assertRefused(b, "maximum rank 64")
        // Reached by a node: Unsqueeze to rank 65.
        var u = ModelBuilder(opset: 21)
        u.input("x", .float32, (0..<60).map { _ in .fixed(1) })
        u.constant("axes", Tensor((0..<5).map { Int64($0) }, shape: [5]))
        u.node("Unsqueeze", ["x", "axes"], ["y"])
        u.output("y", .float32)
        assertRefused(u, "maximum rank 64")
    }

    /// ConstantOfShape([4, 2^30]) -> Exp: 16 GiB twice, from a model of a few hundred bytes. Not folded into the
    /// model at load; refused before the run allocates anything, by the plan's peak against max_memory.
    func testHugeConstantOfShapeIsAnOutOfMemoryError() {
        var b = ModelBuilder(opset: 21)
        b.constant("shape", Tensor([Int64(4), 1 << 30], shape: [2]))
        b.input("x", .float32, [.fixed(1)])
        b.node("ConstantOfShape", ["shape"], ["c"])
        b.node("Exp", ["c"], ["e"])
        b.node("Add", ["e", "x"], ["y"])
        b.output("y", .float32)
        assertRefused(b, "memory limit", inputs: [Tensor([Float(1)], shape: [1])], kind: .outOfMemory)
    }

    /// max_memory is honoured: a model that fits in the default fails under a limit smaller than its peak.
    func testMaxMemoryOption() throws {
        var b = ModelBuilder(opset: 21)
        b.input("x", .float32, [.symbol("n")])
        b.node("Exp", ["x"], ["a"])
        b.node("Exp", ["a"], ["y"])
        b.output("y", .float32)
        var options = SessionOptions()
        try options.set("max_memory", "1M")
        let session = try InferenceSession(model: b.load(), options: options)
        XCTAssertEqual(try session.run([Tensor([Float](repeating: 0, count: 1000), shape: [1000])])[0].count, 1000)
        XCTAssertThrowsError(try session.run([Tensor([Float](repeating: 0, count: 1 << 20), shape: [1 << 20])])) {
            XCTAssertEqual(($0 as? DLInferError)?.kind, .outOfMemory, "\($0)")
        }
        // The session stays usable.
        XCTAssertEqual(try session.run([Tensor([Float](repeating: 0, count: 10), shape: [10])])[0].count, 10)
        XCTAssertThrowsError(try options.set("max_memory", "lots"))
        XCTAssertThrowsError(try options.set("plan_cache", "0"))
    }

    /// An input with a zero dim and huge other dims: every output is empty, and nothing is sized from the other dims.
    func testZeroElementInputAllocatesNothing() throws {
        var b = ModelBuilder(opset: 21)
        b.input("x", .float32, [.symbol("n"), .fixed(1), .fixed(32), .symbol("w")])
        b.node("MaxPool", ["x"], ["p"], [attr("kernel_shape", [2, 2]), attr("strides", [2, 2])])
        b.node("Relu", ["p"], ["y"])
        b.output("y", .float32)
        let session = try InferenceSession(model: b.load())
        let x = try Tensor(dtype: .float32, shape: [0, 1, 32, 1 << 31])
        let (y, seconds) = try time { try session.run([x])[0] }
        XCTAssertEqual(y.shape, [0, 1, 16, 1 << 30])
        XCTAssertLessThan(seconds, 1)
    }

    /// Ever-changing input shapes: the plans kept and the pool's free bytes stay bounded.
    func testVaryingShapesKeepMemoryBounded() throws {
        var b = ModelBuilder(opset: 21)
        b.input("x", .float32, [.fixed(1), .symbol("w")])
        b.node("Exp", ["x"], ["a"])
        b.node("Sqrt", ["a"], ["c"])
        b.node("Exp", ["c"], ["y"])
        b.output("y", .float32)
        var options = SessionOptions()
        try options.set("plan_cache", "4")
        let session = try InferenceSession(model: b.load(), options: options)
        var inUse = [Int]()
        for i in 0..<400 {
            let w = 1000 + (i * 7919) % 30_000
            _ = try session.run([Tensor([Float](repeating: 0.5, count: w), shape: [1, w])])
            if i >= 100 { inUse.append(session.memoryInUse) }
        }
        // The free buffers kept follow the current plan's peak; nothing piles up run after run.
        XCTAssertLessThanOrEqual(inUse.max()!, 32 << 20 + 4 * 4 * 31_000, "\(inUse.max()!)")
        XCTAssertEqual(session.cachedPlans, 4)
    }

    // MARK: external data

    private let fm = FileManager.default
    private static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/external_data").path

    private func scratchDir(_ name: String) throws -> String {
        let d = fm.temporaryDirectory.appendingPathComponent("dlinfer-rel-\(name)-\(getpid())").path
        try? fm.removeItem(atPath: d)
        try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { [d] in try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    private func assertLoadFails(_ path: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        let start = Date()
        XCTAssertThrowsError(try Model.load(path: path), file: file, line: line) {
            XCTAssertTrue("\($0)".contains(expected), "\($0)", file: file, line: line)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, file: file, line: line)
    }

    func testExternalDataLinkOutsideTheModelFolderIsRefused() throws {
        let d = try scratchDir("link")
        try fm.copyItem(atPath: Self.fixture + "/model.onnx", toPath: d + "/model.onnx")
        try fm.createSymbolicLink(atPath: d + "/weights.bin", withDestinationPath: "/etc/passwd")
        assertLoadFails(d + "/model.onnx", "outside the model's folder")
        // A directory on the way that links out.
        let outside = try scratchDir("outside")
        try fm.copyItem(atPath: Self.fixture + "/weights.bin", toPath: outside + "/weights.bin")
        let nested = try scratchDir("nested")
        try fm.createSymbolicLink(atPath: nested + "/data", withDestinationPath: outside)
        var m = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: Self.fixture + "/model.onnx")))
        for i in m.graph.initializer.indices {
            for j in m.graph.initializer[i].externalData.indices where m.graph.initializer[i].externalData[j].key == "location" {
                m.graph.initializer[i].externalData[j].value = "data/weights.bin"
            }
        }
        try m.serializedData().write(to: URL(fileURLWithPath: nested + "/model.onnx"))
        assertLoadFails(nested + "/model.onnx", "outside the model's folder")
    }

    /// Hugging Face's cache: the model and its data are both links into one blobs folder.
    func testModelAndDataLinkedIntoOneFolderLoad() throws {
        let root = try scratchDir("hf")
        try fm.createDirectory(atPath: root + "/blobs", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/snapshots/rev", withIntermediateDirectories: true)
        try fm.copyItem(atPath: Self.fixture + "/model.onnx", toPath: root + "/blobs/aaa")
        try fm.copyItem(atPath: Self.fixture + "/weights.bin", toPath: root + "/blobs/bbb")
        try fm.createSymbolicLink(atPath: root + "/snapshots/rev/model.onnx", withDestinationPath: "../../blobs/aaa")
        try fm.createSymbolicLink(atPath: root + "/snapshots/rev/weights.bin", withDestinationPath: "../../blobs/bbb")
        XCTAssertNoThrow(try Model.load(path: root + "/snapshots/rev/model.onnx"))
    }

    func testExternalDataFIFOAndDirectoryAreRefusedWithoutBlocking() throws {
        let d = try scratchDir("fifo")
        try fm.copyItem(atPath: Self.fixture + "/model.onnx", toPath: d + "/model.onnx")
        XCTAssertEqual(mkfifo(d + "/weights.bin", 0o600), 0)
        assertLoadFails(d + "/model.onnx", "not a regular file")
        try fm.removeItem(atPath: d + "/weights.bin")
        try fm.createDirectory(atPath: d + "/weights.bin", withIntermediateDirectories: false)
        assertLoadFails(d + "/model.onnx", "not a regular file")
        // The model file itself as a FIFO.
        XCTAssertEqual(mkfifo(d + "/fifo.onnx", 0o600), 0)
        assertLoadFails(d + "/fifo.onnx", "not a regular file")
    }

    /// A 64 GiB sparse data file matching a 64 GiB initializer: the size check passes; the allocation must fail as
    /// an error, not abort.
    func testHugeSparseExternalDataIsAnError() throws {
        let d = try scratchDir("sparse")
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var o = Onnx_OperatorSetIdProto(); o.version = 21
        m.opsetImport = [o]
        var w = Onnx_TensorProto()
        w.name = "w"; w.dataType = DType.float32.rawValue; w.dims = [16, 1 << 30]; w.dataLocation = .external
        var loc = Onnx_StringStringEntryProto(); loc.key = "location"; loc.value = "big.bin"
        w.externalData = [loc]
        m.graph.initializer = [w]
        var n = Onnx_NodeProto(); n.opType = "Relu"; n.input = ["w"]; n.output = ["y"]
        m.graph.node = [n]
        var out = Onnx_ValueInfoProto(); out.name = "y"
        m.graph.output = [out]
        try m.serializedData().write(to: URL(fileURLWithPath: d + "/model.onnx"))
        XCTAssertTrue(fm.createFile(atPath: d + "/big.bin", contents: nil))
        XCTAssertEqual(truncate(d + "/big.bin", off_t(64) << 30), 0)
        assertLoadFails(d + "/model.onnx", "memory")
    }
}
