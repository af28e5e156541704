import DLInferCore
import DLInferCPU
import DLInferEngine
import DLInferONNX
@testable import DLInferOpenCL
import Foundation
import XCTest

/// The OpenCL runtime around the kernels: embedded sources in sync with kernels/*.cl, the CPU fallback with its
/// transfers (forced with the deny list), device errors that leave the session usable, and device selection.
final class OpenCLRuntimeTests: OpenCLTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Fails while Sources/DLInferOpenCL/EmbeddedKernels.swift is stale: run `make kernels` after editing a .cl file.
    func testEmbeddedKernelsMatchSources() throws {
        let dir = Self.repoRoot.appendingPathComponent("kernels").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".cl") }
        XCTAssertEqual(Set(files.map { String($0.dropLast(3)) }), Set(EmbeddedKernels.sources.keys),
                       "kernels/*.cl and the embedded set differ: run `make kernels`")
        for f in files {
            var text = try String(contentsOfFile: dir + "/" + f, encoding: .utf8)
            while text.hasSuffix("\n") { text.removeLast() }
            XCTAssertEqual(EmbeddedKernels.sources[String(f.dropLast(3))], text, "kernels/\(f) changed: run `make kernels`")
        }
    }

    /// MatMul -> Relu -> Add with Relu denied: the Relu runs on the CPU, its plan downloads its input and uploads its
    /// output as steps of their own, and the result still matches the CPU backend.
    func testDenyListForcesFallbackWithTransfers() throws {
        let device = try openCLDevice()
        let g = Graph()
        let x = g.addValue("x", ValueType(.float32, [.fixed(3), .fixed(5)]))
        g.inputs = [x]
        let w = g.addConstant("w", random([5, 4])), b = g.addConstant("b", random([4]))
        let m = g.addValue("m", ValueType(.float32, nil)), r = g.addValue("r", ValueType(.float32, nil))
        let y = g.addValue("y", ValueType(.float32, nil))
        g.nodes = [Node(name: "mm", op: .matMul(MatMul()), inputs: [x, w], outputs: [m]),
                   Node(name: "act", op: .unary(Unary(.activation(.relu))), inputs: [m], outputs: [r]),
                   Node(name: "add", op: .binary(Binary(.add)), inputs: [r, b], outputs: [y])]
        g.outputs = [y, m]
        try g.inferTypes()
        let feeds = [random([3, 5])]
        let want = try Session(graph: g, host: CPUBackend()).run(feeds)
        let session = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: device, denyOps: "Relu|Sigmoid"))
        XCTAssertEqual(session.placements.map(\.backend), ["opencl", "cpu", "opencl"])
        XCTAssert(session.placements[1].reason?.contains("DLINFER_OPENCL_DENY") == true, "\(session.placements[1])")
        // The plan's transfer steps: x up for the MatMul, m down once for the Relu (and as an output), r up for the
        // Add, y down as an output; the weights are uploaded once per session, not per run.
        let steps: [Session.Transfers.Move] = [
            .init(value: "x", toDevice: true, shape: [3, 5], bytes: 60, reader: "MatMul node 'mm'"),
            .init(value: "m", toDevice: false, shape: [3, 4], bytes: 48, reader: "Relu node 'act'"),
            .init(value: "r", toDevice: true, shape: [3, 4], bytes: 48, reader: "Add node 'add'"),
            .init(value: "y", toDevice: false, shape: [3, 4], bytes: 48, reader: nil)]
        for _ in 0..<2 {
            let got = try session.run(feeds)
            for (g, w) in zip(got, want) { assertClose(g, w, rtol: 1e-4, atol: 1e-5, "deny-list chain") }
            XCTAssertEqual(session.lastTransfers.moves, steps)
            XCTAssertEqual([session.lastTransfers.uploads, session.lastTransfers.downloads], [2, 2])
            XCTAssertEqual([session.lastTransfers.uploadBytes, session.lastTransfers.downloadBytes], [108, 96])
        }
        XCTAssertThrowsError(try OpenCLBackend(device: device, denyOps: "Conv(")) { e in
            XCTAssertEqual((e as? DLInferError)?.kind, .invalidArgument)
        }
    }

    /// A whole network with every second kind of op denied: many CPU <-> device transfers, same answers.
    func testWholeModelWithDeniedOps() throws {
        let device = try openCLDevice()
        let dir = Self.repoRoot.appendingPathComponent("Tests/Fixtures/models/resnet_basic").path
        let model = try Model.load(path: dir + "/model.onnx")
        let session = try Session(graph: model.graph, host: CPUBackend(), device: try OpenCLBackend(device: device, denyOps: "Add|MaxPool|Gemm"))
        XCTAssert(session.placements.contains { $0.backend == "cpu" } && session.placements.contains { $0.backend == "opencl" })
        for set in ["test_data_set_0", "test_data_set_1"] {
            let input = try ONNXTensorFile.read([UInt8](Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(set)/input_0.pb")))).tensor
            let want = try ONNXTensorFile.read([UInt8](Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(set)/output_0.pb")))).tensor
            let got = try session.run([input])[0]
            assertClose(got, want, rtol: 1e-3, atol: 1e-4, "resnet_basic \(set) with Add|MaxPool|Gemm on the CPU")
        }
    }

    /// An output larger than the device allows fails with DLINFER_ERR_OUT_OF_MEMORY naming the tensor, and the same
    /// session then runs normally.
    func testDeviceAllocationFailureLeavesSessionUsable() throws {
        let device = try openCLDevice()
        let g = Graph()
        let a = g.addValue("a", ValueType(.float32, [.symbol("n"), .fixed(1)]))
        let b = g.addValue("b", ValueType(.float32, [.fixed(1), .symbol("m")]))
        let c = g.addValue("c", ValueType(.float32, nil))
        g.inputs = [a, b]
        g.nodes = [Node(name: "outer", op: .binary(Binary(.add)), inputs: [a, b], outputs: [c])]
        g.outputs = [c]
        try g.inferTypes()
        let session = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: device))
        // n * m floats just over the device's largest buffer (and far beyond 32-bit indexing).
        let m = 1 << 12
        let n = Int(device.maxAllocation / UInt64(4 * m)) + 1
        XCTAssertThrowsError(try session.run([try! Tensor(dtype: .float32, shape: [n, 1]), try! Tensor(dtype: .float32, shape: [1, m])])) { e in
            let err = e as? DLInferError
            XCTAssert(err?.kind == .outOfMemory || err?.kind == .unsupported, "\(e)")
            XCTAssert(err?.message.contains("outer") == true, "\(e)")
        }
        let small = try session.run([Tensor([Float(1), 2], shape: [2, 1]), Tensor([Float(10), 20, 30], shape: [1, 3])])[0]
        XCTAssertEqual(small.array(Float.self), [11, 21, 31, 12, 22, 32])
    }

    /// `opencl`, `opencl:N` and `opencl:NAME` pick devices; an unknown one is an error naming what exists, or the
    /// CPU with a note when fallback is allowed.
    func testDeviceSelection() throws {
        let device = try openCLDevice()
        let model = try Model.load(path: Self.repoRoot.appendingPathComponent("examples/models/digits_cnn.onnx").path)
        var requests = ["opencl", "opencl:\(device.index)", "opencl:\(device.name.split(separator: " ")[0].lowercased())"]
        if device.platformVendor.lowercased().contains("pocl") { requests.append("opencl:PoCL") }
        for request in requests {
            var o = SessionOptions()
            o.device = request
            let s = try InferenceSession(model: model, options: o)
            XCTAssertEqual(s.deviceInfo.kind, .opencl, request)
            XCTAssert(s.deviceName.hasPrefix("opencl:"), s.deviceName)
        }
        var o = SessionOptions()
        o.device = "opencl:no-such-gpu"
        XCTAssertThrowsError(try InferenceSession(model: model, options: o)) { e in
            let err = e as? DLInferError
            XCTAssertEqual(err?.kind, .deviceUnavailable)
            XCTAssert(err?.message.contains("no-such-gpu") == true && err?.message.contains("available: cpu") == true, "\(e)")
        }
        o.fallbackToCPU = true
        let s = try InferenceSession(model: model, options: o)
        XCTAssertEqual(s.deviceInfo.kind, .cpu)
        XCTAssert(s.deviceNote?.contains("no-such-gpu") == true)
    }

    /// Sessions on one device from several threads at once (shared context and programs, a queue each) compute what
    /// a single session does.
    func testConcurrentSessionsOnOneDevice() throws {
        let device = try openCLDevice()
        let dir = Self.repoRoot.appendingPathComponent("Tests/Fixtures/models/resnet_basic").path
        let model = try Model.load(path: dir + "/model.onnx")
        let input = try ONNXTensorFile.read([UInt8](Data(contentsOf: URL(fileURLWithPath: "\(dir)/test_data_set_1/input_0.pb")))).tensor
        let want = try ONNXTensorFile.read([UInt8](Data(contentsOf: URL(fileURLWithPath: "\(dir)/test_data_set_1/output_0.pb")))).tensor
        let results = UnsafeMutableBufferPointer<Tensor?>.allocate(capacity: 4)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            guard let s = try? Session(graph: model.graph, host: CPUBackend(), device: try OpenCLBackend(device: device)) else { return }
            for _ in 0..<3 { results[i] = try? s.run([input])[0] }
        }
        for (i, got) in results.enumerated() {
            guard let got else { XCTFail("thread \(i) failed"); continue }
            assertClose(got, want, rtol: 1e-3, atol: 1e-4, "thread \(i)")
        }
    }

    /// Shapes that keep changing (a new size every run) do not grow the pools without bound: past the budget, the
    /// free buffers of sizes no longer in use go back to the driver / the allocator.
    func testBuffersPoolsStayWithinBudget() throws {
        let q = try CLQueue(try CLDeviceContext.forDevice(try openCLDevice()), poolBudget: 1 << 20)
        let host = TensorPool(memory: MemoryBudget(limit: .max), budget: 1 << 20)
        for size in 0..<64 {
            let n = 25_000 + size  // 100 KB and a bit, a new size each time
            let t = try q.allocate(.float32, [n])
            q.recycle(t.buffer)
            host.give(try host.take(4 * n))
            XCTAssertLessThanOrEqual(q.freeBytes, (1 << 20) + 4 * n)
            XCTAssertLessThanOrEqual(host.freeBytes, (1 << 20) + 4 * n)
        }
        // A size seen again is still reused.
        let a = try q.allocate(.float32, [7]); q.recycle(a.buffer)
        let b = try q.allocate(.float32, [7])
        XCTAssert(a.buffer === b.buffer)
    }

    /// A cancel from another thread stops a run whose kernels are already queued on the device: the session waits
    /// for the device every few nodes and checks the flag, so the run ends long before its work is done.
    func testCancelStopsAQueuedRun() throws {
        let device = try openCLDevice()
        // 96 chained 192x192 MatMuls: seconds of work on PoCL, all of it queued at once without the waits.
        let g = Graph()
        var x = g.addValue("x", ValueType(.float32, fixed: [192, 192]))
        g.inputs = [x]
        let w = g.addConstant("w", random([192, 192], scale: 0.07))
        for i in 0..<96 {
            let y = g.addValue("h\(i)", ValueType(.float32, fixed: [192, 192]))
            g.nodes.append(Node(name: "m\(i)", op: .matMul(MatMul()), inputs: [x, w], outputs: [y]))
            x = y
        }
        g.outputs = [x]
        try g.inferTypes()
        let session = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: device))
        let input = random([192, 192])
        var start = Date()
        _ = try session.run([input])
        let full = Date().timeIntervalSince(start)
        start = Date()
        let delay = full / 10
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { session.cancel() }
        XCTAssertThrowsError(try session.run([input])) { XCTAssertEqual(($0 as? DLInferError)?.kind, .cancelled, "\($0)") }
        let stopped = Date().timeIntervalSince(start)
        XCTAssertLessThan(stopped, delay + full / 2, "a full run takes \(full) s; the cancelled one ended after \(stopped) s")
        // The session stays usable.
        XCTAssertEqual(try session.run([input])[0].shape, [192, 192])
    }
}
