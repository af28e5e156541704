import DLInferCore
import DLInferCPU
import DLInferOpenCL
import XCTest

/// The detectors' ops on the device against the CPU, bit for bit: NonZero (every element size, -0, NaN, empty and
/// scalar inputs), NonMaxSuppression (both box formats, swapped corners, tied and NaN scores, zero-area boxes,
/// thresholds at the edges, more boxes than a work-group), Gather and GatherND with indices computed on the device
/// (negative ones, batch dims), RoiAlign, integer arithmetic (wrapping, truncating division); and the faults a kernel raises
/// for bad data: the run fails with a message, and the next run of the same session works.
final class OpenCLDetectionTests: OpenCLTestCase {
    private func i64(_ v: [Int], _ shape: [Int]? = nil) -> Tensor { Tensor(v.map(Int64.init), shape: shape ?? [v.count]) }

    /// Mostly zeros, with the float specials among the rest.
    private func sparse(_ dtype: DType, _ shape: [Int]) -> Tensor {
        let f = random(shape).array(Float.self).enumerated().map { i, v -> Float in
            if v < 0.6 { return i % 7 == 0 ? -0.0 : 0 }
            return [Float.nan, .infinity, -1, v][i % 4]
        }
        switch dtype {
        case .int64: return Tensor(f.map { $0.isNaN || $0.isInfinite ? 5 : Int64($0 * 9) }, shape: shape)
        case .int8: return Tensor(f.map { $0.isNaN || $0.isInfinite ? -3 : Int8($0 * 9) }, shape: shape)
        case .bool: return Tensor(f.map { $0 != 0 }, shape: shape)
        case .float16: return Tensor(f.map { Half($0) }, shape: shape)
        default: return Tensor(f, shape: shape)
        }
    }

    func testNonZero() throws {
        for dtype in [DType.float32, .int64, .int8, .bool, .float16] {
            for shape in [[3, 37, 40], [1031], [2, 1, 3, 1, 5], [0, 4], []] {
                try check(.nonZero(NonZero()), [(sparse(dtype, shape), false)], "\(dtype) \(shape)")
            }
        }
        // More elements than one chunk per work-item up to the chunk limit, none and all of them non-zero.
        try check(.nonZero(NonZero()), [(sparse(.float32, [9, 100_003]), false)], "large")
        try check(.nonZero(NonZero()), [(Tensor([Float](repeating: -0.0, count: 700), shape: [7, 100]), false)], "all -0")
        try check(.nonZero(NonZero()), [(Tensor([Int64](repeating: 2, count: 700), shape: [700]), false)], "all set")
    }

    /// Boxes around a few centres so that many overlap, some with zero area, NaN corners, corners in either order.
    private func boxes(_ batches: Int, _ n: Int, centered: Bool) -> Tensor {
        let r = random([batches, n, 4]).array(Float.self)
        var v = [Float]()
        for i in 0..<(batches * n) {
            let cx = Float(i % 5) * 0.3 + r[4 * i] * 0.1, cy = Float(i % 3) * 0.4 + r[4 * i + 1] * 0.1
            var w = abs(r[4 * i + 2]) * 0.5, h = abs(r[4 * i + 3]) * 0.5
            if i % 11 == 0 { w = 0 }
            if i % 13 == 0 { h = -h }
            if i % 19 == 5 { w = .nan }
            if centered { v += [cx, cy, w, h] } else if i % 2 == 0 {
                v += [cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2]
            } else {
                v += [cy + h / 2, cx + w / 2, cy - h / 2, cx - w / 2]
            }
        }
        return Tensor(v, shape: [batches, n, 4])
    }

    /// Scores in tenths (many ties), some NaN.
    private func scores(_ batches: Int, _ classes: Int, _ n: Int) -> Tensor {
        let v = random([batches, classes, n]).array(Float.self).enumerated().map { i, x -> Float in
            i % 17 == 3 ? .nan : (x * 5).rounded() / 10
        }
        return Tensor(v, shape: [batches, classes, n])
    }

    func testNonMaxSuppression() throws {
        for centered in [false, true] {
            for (batches, classes, n) in [(1, 1, 7), (2, 3, 50), (1, 2, 700)] {
                let b = boxes(batches, n, centered: centered), s = scores(batches, classes, n)
                for (maxOut, iou, threshold) in [(Int64(1000), Float(0.5), Float?.none), (3, 0.3, -0.2), (0, 0.5, nil),
                                                 (.max, 0, 0.1), (20, 1, 0.25)] {
                    var operands: [(Tensor, constant: Bool)?] = [(b, false), (s, false), (i64([Int(truncatingIfNeeded: maxOut)], []), true),
                                                                 (Tensor([iou], shape: []), true)]
                    if let threshold { operands.append((Tensor([threshold], shape: []), true)) }
                    try check(.nonMaxSuppression(NonMaxSuppression(centerPointBox: centered)), operands,
                              "centered \(centered) \(batches)x\(classes)x\(n) max \(maxOut) iou \(iou) threshold \(threshold.map { "\($0)" } ?? "none")")
                }
            }
        }
    }

    /// ROIs inside, across and far outside the image, reversed, empty and NaN; both modes and coordinate rules.
    func testRoiAlign() throws {
        let x = random([2, 3, 10, 12], scale: 4)
        let rois = Tensor([Float](arrayLiteral: 0, 0, 11, 9, 2.5, 1.2, 7.7, 8.1, -3, -2, 4, 3, 9, 8, 2, 1, 5, 5, 5, 5,
                                 -30, -30, -20, -20, 1, .nan, 4, 6, 0.2, 0.4, 25, 19), shape: [8, 4])
        let batch = i64([0, 1, 1, 0, 1, 0, 1, 0])
        for mode in [RoiAlign.Mode.avg, .max] {
            for halfPixel in [true, false] {
                for (ratio, scale) in [(0, Float(1)), (2, 0.5), (1, 2)] {
                    let a = RoiAlign(mode: mode, outputHeight: 3, outputWidth: 4, samplingRatio: ratio, spatialScale: scale,
                                     halfPixel: halfPixel)
                    try check(.roiAlign(a), [(x, false), (rois, false), (batch, false)], "\(mode) half \(halfPixel) ratio \(ratio) scale \(scale)")
                }
            }
        }
    }

    /// Indices that are graph inputs, so they live on the device.
    func testGatherAndGatherNDWithDeviceIndices() throws {
        let data = random([5, 6, 7])
        try check(.gather(Gather(axis: 1)), [(data, false), (i64([5, -1, 0, 3, -6, 2], [2, 3]), false)], "int64")
        try check(.gather(Gather(axis: 2)), [(sparse(.int64, [5, 6, 7]), false),
                                             (Tensor([Int32(6), -7, 0], shape: [3]), false)], "int32 indices, int64 data")
        try check(.gather(Gather(axis: 0)), [(sparse(.bool, [5, 6]), false), (i64([4], []), false)], "scalar index")
        try check(.gatherND(GatherND()), [(data, false), (i64([0, 1, 4, -1, -5, 0], [3, 2]), false)], "q 2")
        try check(.gatherND(GatherND()), [(data, false), (i64([1, 2, 3, -1, -1, -1], [2, 3]), false)], "q 3")
        try check(.gatherND(GatherND(batchDims: 1)), [(sparse(.int8, [5, 6, 7]), false),
                                                      (i64([1, 2, 3, 4, 5, 0, -1, -2, -3, -4], [5, 2, 1]), false)], "batch dims 1")
        try check(.gatherND(GatherND()), [(data, false), (i64([], [0, 1]), false)], "no tuples")
    }

    func testIntegerArithmetic() throws {
        let a64: [Int64] = [.max, .min, -7, 7, 0, 1 << 40, -1, 3]
        let b64: [Int64] = [1, -1, 2, -2, 5, 3, .min, -3]
        for kind in [Binary.Kind.add, .sub, .mul, .div] {
            try check(.binary(Binary(kind)), [(Tensor(a64, shape: [8, 1]), false), (Tensor(b64, shape: [8]), false)], "\(kind) int64")
            try check(.binary(Binary(kind)), [(Tensor(a64.map { Int32(truncatingIfNeeded: $0) }, shape: [2, 4]), false),
                                              (Tensor(b64.map { Int32(truncatingIfNeeded: $0) }.map { $0 == 0 ? .min : $0 }, shape: [2, 4]), false)],
                      "\(kind) int32")
        }
        for kind in [Variadic.Kind.sum, .max, .min] {
            try check(.variadic(Variadic(kind)), [(Tensor(a64, shape: [8]), false), (Tensor(b64, shape: [2, 1, 8]), false),
                                                  (Tensor([Int64(4), -4], shape: [2, 1, 1]), false)], "\(kind) int64")
            try check(.variadic(Variadic(kind)), [(Tensor(a64.map { Int32(truncatingIfNeeded: $0) }, shape: [8]), false)],
                      "\(kind) one input")
        }
    }

    /// If on the device: the chosen branch runs on the same queue with the captured input where it is, so the run
    /// uploads X once and downloads Y once whichever branch it takes.
    func testIfRunsItsBranchOnTheDevice() throws {
        let device = try openCLDevice()
        func branch(_ op: Op) -> Body {
            let g = Graph()
            let x = g.addValue("x", ValueType(.float32, fixed: [3, 37]))
            let y = g.addValue("y", ValueType(.float32, nil))
            g.inputs = [x]
            g.nodes.append(Node(name: "b", op: op, inputs: [x], outputs: [y]))
            g.outputs = [y]
            return Body(graph: g, captures: [1])
        }
        let g = Graph()
        let cond = g.addValue("cond", ValueType(.bool, fixed: [])), x = g.addValue("x", ValueType(.float32, fixed: [3, 37]))
        let y = g.addValue("y", ValueType(.float32, nil))
        g.inputs = [cond, x]
        let op = Op.ifElse(If(then: branch(.unary(Unary(.activation(.sigmoid)))), else: branch(.unary(Unary(.exp)))))
        g.nodes.append(Node(name: "if", op: op, inputs: [cond, x], outputs: [y]))
        g.outputs = [y]
        try g.inferTypes()
        let cpu = CPUBackend()
        let session = try Session(graph: g, host: cpu, device: try OpenCLBackend(device: device, weighTransfers: false, host: cpu))
        XCTAssertEqual(session.placements[0].backend, "opencl", session.placements[0].reason ?? "")
        let reference = try Session(graph: g, host: CPUBackend())
        for c in [true, false] {
            let feeds = [Tensor.scalar(c), random([3, 37])]
            let got = try session.run(feeds), want = try reference.run(feeds)
            assertClose(got[0], want[0], rtol: 1e-3, atol: 1e-4, "If \(c)")
            XCTAssertEqual([session.lastTransfers.uploads, session.lastTransfers.downloads], [1, 1], "If \(c)")
        }
    }

    /// Bad data fails the run with a message and leaves the session usable.
    func testFaultsFailTheRunAndClear() throws {
        let device = try openCLDevice()
        let cases: [(Op, [Tensor], [Tensor], String)] = [
            (.gather(Gather(axis: 0)), [random([4, 3]), i64([1, 4])], [random([4, 3]), i64([1, -4])], "Gather or GatherND index"),
            (.gatherND(GatherND()), [random([4, 3]), i64([1, -5], [2, 1])], [random([4, 3]), i64([1, -4], [2, 1])], "Gather or GatherND index"),
            (.binary(Binary(.div)), [i64([6, 7]), i64([2, 0])], [i64([6, 7]), i64([2, -3])], "division by zero"),
            (.roiAlign(RoiAlign()), [random([2, 1, 4, 4]), random([1, 4]), i64([2])], [random([2, 1, 4, 4]), random([1, 4]), i64([1])],
             "RoiAlign batch index"),
        ]
        for (op, bad, good, message) in cases {
            let (g, _) = try graph(op, good.map { ($0, false) })
            let session = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: device, weighTransfers: false))
            XCTAssertEqual(session.placements[0].backend, "opencl", message)
            XCTAssertThrowsError(try session.run(bad), message) { e in
                XCTAssert("\(e)".contains(message), "\(message): \(e)")
            }
            let want = try Session(graph: g, host: CPUBackend()).run(good)
            let got = try session.run(good)
            assertClose(got[0], want[0], rtol: 0, atol: 0, "\(message) after a fault")
        }
    }

    /// NonZero and NMS read back one count each to size their outputs, and nothing else.
    func testSizeReads() throws {
        let device = try openCLDevice()
        let (g, feeds) = try graph(.nonZero(NonZero()), [(sparse(.float32, [3, 37, 40]), false)])
        let session = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: device, weighTransfers: false))
        _ = try session.run(feeds)
        let t = session.lastTransfers
        XCTAssertEqual([t.uploads, t.downloads, t.sizeReads], [1, 1, 1])
    }
}
