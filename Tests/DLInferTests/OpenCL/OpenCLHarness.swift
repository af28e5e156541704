import DLInferCore
import DLInferCPU
import DLInferOpenCL
import XCTest

/// Differential checks of OpenCL kernels against the CPU backend: a one-node graph runs on both, the outputs must
/// agree within rtol 1e-3 / atol 1e-4, and the node must really have been placed on OpenCL.
/// Without an OpenCL device the checks are skipped, unless DLINFER_REQUIRE_OPENCL=1 (CI) makes that a failure.
/// DLINFER_TEST_PRECISION=fp16 runs the checks with float32 tensors stored as half on the device, so that the half
/// variant of every kernel is built and checked. Both sides then get the float32 operands rounded to half, as the
/// device stores them, so only the rounding of results and of intermediate tensors separates them: within rtol 4e-3,
/// atol 2e-3 of the output's largest magnitude (at least 1), and a result beyond half's range must be saturated.
class OpenCLTestCase: XCTestCase {
    private var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
    let halfStorage = ProcessInfo.processInfo.environment["DLINFER_TEST_PRECISION"] == "fp16"

    /// The first OpenCL device (DLINFER_DEVICE=opencl:... picks another), or a skip/failure when there is none.
    func openCLDevice() throws -> CLDeviceDescription {
        var devices = OpenCL.devices
        if let env = ProcessInfo.processInfo.environment["DLINFER_DEVICE"]?.lowercased(), env.hasPrefix("opencl:") {
            let sel = String(env.dropFirst(7))
            devices = devices.filter { Int(sel) == $0.index || $0.searchText.contains(sel) }
        }
        if let d = devices.first { return d }
        let why = OpenCL.unavailableReason ?? "no OpenCL device matches DLINFER_DEVICE"
        if ProcessInfo.processInfo.environment["DLINFER_REQUIRE_OPENCL"] == "1" {
            XCTFail("OpenCL is required (DLINFER_REQUIRE_OPENCL=1) but unavailable: \(why)")
        }
        throw XCTSkip("no OpenCL device: \(why)")
    }

    /// Uniform values in [-1, 1) from a fixed-seed generator (reproducible failures).
    func random(_ shape: [Int], scale: Float = 1) -> Tensor {
        let values = (0..<shape.elementCount).map { _ -> Float in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return scale * (Float(seed >> 40) / Float(1 << 24) * 2 - 1)
        }
        return Tensor(values, shape: shape)
    }

    /// A one-node graph over `operands` (graph inputs, constants, or nil where an optional input is omitted).
    func graph(_ op: Op, _ operands: [(Tensor, constant: Bool)?], outputs: Int = 1) throws -> (Graph, [Tensor]) {
        try OneNode.graph(op, operands, outputs: outputs)
    }

    /// Runs `op` on the CPU and on OpenCL and compares every output.
    func check(_ op: Op, _ operands: [(Tensor, constant: Bool)?], outputs: Int = 1, rtol: Float = 1e-3, atol: Float = 1e-4,
               _ what: String = "", file: StaticString = #filePath, line: UInt = #line) throws {
        let device = try openCLDevice()
        let operands = halfStorage ? operands.map { $0.map { (roundedToHalf($0.0), $0.constant) } } : operands
        let (g, feeds) = try graph(op, operands, outputs: outputs)
        let want = try Session(graph: g, host: CPUBackend()).run(feeds)
        let cl = try OpenCLBackend(device: device, weighTransfers: false, halfStorage: halfStorage)
        let session = try Session(graph: g, host: CPUBackend(), device: cl)
        let label = "\(op.name) \(what)"
        XCTAssertEqual(session.placements[0].backend, "opencl", "\(label) was not placed on OpenCL: \(session.placements[0].reason ?? "")", file: file, line: line)
        // Twice: the second run reuses pooled buffers and the cached plan.
        for run in 0..<2 {
            let got = try session.run(feeds)
            for (k, (gt, wt)) in zip(got, want).enumerated() {
                assertClose(gt, wt, rtol: rtol, atol: atol, "\(label) output \(k) run \(run)", file: file, line: line)
            }
        }
    }

    /// A float32 tensor's values rounded to half, as half storage holds them (finite values saturated); other
    /// tensors as they are.
    func roundedToHalf(_ t: Tensor) -> Tensor {
        guard t.dtype == .float32 else { return t }
        let values = t.floats.map { v -> Float in Half(v.isFinite ? min(max(v, -65504), 65504) : v).float }
        return Tensor(values, shape: t.shape)
    }

    /// The CPU result against the device's. Not the shared `assertClose`: results other than float32 must agree bit
    /// for bit here (NaN payloads and signed zeros included), and half storage widens the tolerances and accepts
    /// saturation.
    func assertClose(_ got: Tensor, _ want: Tensor, rtol: Float, atol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.shape, want.shape, what, file: file, line: line)
        XCTAssertEqual(got.dtype, want.dtype, what, file: file, line: line)
        guard got.shape == want.shape, got.dtype == want.dtype else { return }
        guard got.dtype == .float32 else {
            // Other types (masks, indices, data moved as bits) must agree bit for bit.
            if memcmp(got.raw, want.raw, want.byteCount) != 0 {
                XCTFail("\(what): the \(want.dtype) \(want.shape) results differ", file: file, line: line)
            }
            return
        }
        let g = got.floats, w = want.floats
        var (rtol, atol) = (rtol, atol)
        if halfStorage {
            let largest = w.reduce(Float(1)) { $1.isFinite ? max($0, abs($1)) : $0 }
            (rtol, atol) = (max(rtol, 4e-3), max(atol, 2e-3 * largest))
        }
        for i in 0..<w.count {
            if halfStorage, w[i].isFinite, abs(w[i]) > 65504, g[i] == (w[i] < 0 ? -65504 : 65504) { continue }
            // Equal infinities (an empty max window) and NaN against NaN agree; the tolerance test cannot say so.
            if g[i] == w[i] || (g[i].isNaN && w[i].isNaN) { continue }
            if !(abs(g[i] - w[i]) <= atol + rtol * abs(w[i])) {
                XCTFail("\(what): element \(i) of \(want.shape) is \(g[i]), expected \(w[i])", file: file, line: line)
                return
            }
        }
    }
}
