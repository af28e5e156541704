import DLInferCore
import DLInferCPU
import DLInferOpenCL
import XCTest

/// ArgMax/ArgMin, CumSum/CumProd, Tile and DepthToSpace/SpaceToDepth on OpenCL against the CPU (int64 indices and
/// integer results bit for bit): every axis (negative ones too), rows shorter and longer than a work-group, ties and
/// NaN, every element type the kernels take, and bad run-time values rejected with a DLInferError.
final class OpenCLSelectScanLayoutTests: OpenCLTestCase {
    private func i64(_ v: [Int]) -> Tensor { Tensor(v.map(Int64.init), shape: [v.count]) }

    /// Pseudo-random values of `dtype` in few distinct levels (ties everywhere), with NaN and ±inf among floats.
    private func values(_ dtype: DType, _ shape: [Int], levels: Float = 7, specials: Bool = true) -> Tensor {
        let f = random(shape).array(Float.self).map { ($0 * levels).rounded() }
        switch dtype {
        case .int8: return Tensor(f.map { Int8($0) }, shape: shape)
        case .int16: return Tensor(f.map { Int16($0) * 1000 }, shape: shape)
        case .int32: return Tensor(f.map { Int32($0) * 100_000_000 }, shape: shape)
        case .int64: return Tensor(f.map { Int64($0) * 3_000_000_017 }, shape: shape)
        case .uint8: return Tensor(f.map { UInt8($0 + levels) * 10 }, shape: shape)
        case .uint16: return Tensor(f.map { UInt16($0 + levels) * 4000 }, shape: shape)
        case .uint32: return Tensor(f.map { UInt32($0 + levels) * 300_000_000 }, shape: shape)
        case .uint64: return Tensor(f.map { UInt64($0 + levels) << 60 | UInt64($0 + levels) }, shape: shape)
        case .bool: return Tensor(f.map { $0 > 0 }, shape: shape)
        case .float16: return Tensor(f.map { Half($0 / 4) }, shape: shape)
        default:
            var v = f.map { $0 / 4 }
            if specials && v.count > 16 {
                for (i, s) in [Float.nan, .infinity, -.infinity, -0.0, .nan].enumerated() { v[(i * 7919) % v.count] = s }
            }
            return Tensor(v, shape: shape)
        }
    }

    func testArgMaxArgMin() throws {
        // [7, 300]: rows longer than a work-group; [1031]: one row; [5, 1]: a single candidate; [3, 37, 40]: columns.
        let cases: [([Int], [Int])] = [([3, 37, 40], [0, 1, 2, -1, -2]), ([7, 300], [-1, 0]), ([1031], [0]), ([5, 1], [1, 0]),
                                       ([2, 3, 1, 33], [2, 3])]
        for (shape, axes) in cases {
            let x = values(.float32, shape)
            for axis in axes {
                for min in [false, true] {
                    for last in [false, true] {
                        for keep in [true, false] {
                            try check(.argMax(ArgMax(axis: axis, keepDims: keep, selectLastIndex: last, min: min)), [(x, false)],
                                      "\(shape) axis \(axis) last \(last) keep \(keep)")
                        }
                    }
                }
            }
        }
        // Rows that are all NaN, NaN against inf, and -0 against +0.
        let special = Tensor([Float.nan, .nan, .nan, .nan, 1, .infinity, .nan, .infinity, 0, -0.0, 0, -0.0, -.infinity, -.infinity, 2, 2],
                             shape: [4, 4])
        for axis in [0, 1] {
            for min in [false, true] {
                for last in [false, true] {
                    try check(.argMax(ArgMax(axis: axis, keepDims: true, selectLastIndex: last, min: min)), [(special, false)],
                              "specials axis \(axis) last \(last)")
                }
            }
        }
        for dtype in [DType.int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64] {
            for shape in [[4, 45], [3, 5, 7]] {
                let x = values(dtype, shape)
                for min in [false, true] {
                    for last in [false, true] {
                        try check(.argMax(ArgMax(axis: 1, keepDims: false, selectLastIndex: last, min: min)), [(x, false)],
                                  "\(dtype) \(shape) last \(last)")
                    }
                }
            }
        }
    }

    func testArgMaxRejectsAnEmptyAxisAtRunTime() throws {
        let device = try openCLDevice()
        let g = Graph()
        let x = g.addValue("x", ValueType(.float32, [.fixed(2), .symbol("n")]))
        let y = g.addValue("y", ValueType(.int64, nil))
        g.inputs = [x]
        g.nodes.append(Node(name: "n", op: .argMax(ArgMax(axis: 1, keepDims: true, selectLastIndex: false)), inputs: [x], outputs: [y]))
        g.outputs = [y]
        try g.inferTypes()
        let session = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: device, weighTransfers: false))
        XCTAssertEqual(session.placements[0].backend, "opencl")
        XCTAssertThrowsError(try session.run([try Tensor(dtype: .float32, shape: [2, 0])])) { XCTAssert($0 is DLInferError, "\($0)") }
        XCTAssertEqual(try session.run([Tensor([Float(1), 3, 2, 5, 4, 0], shape: [2, 3])])[0].array(Int64.self), [1, 0])
    }

    func testCumSumCumProd() throws {
        // [1031] and [2, 3000]: rows scanned by a work-group each, in several tiles; the values (quarters) sum exactly
        // in any order.
        for (shape, axes) in [([3, 37, 40], [0, 1, 2, -1, -3]), ([1031], [0]), ([2, 3000], [1]), ([6, 1], [1, 0]), ([0, 4], [1])] {
            let x = values(.float32, shape, levels: 1000)
            let near1 = Tensor(random(shape, scale: 0.05).array(Float.self).map { 1 + $0 }, shape: shape)
            for axis in axes {
                for exclusive in [false, true] {
                    for reverse in [false, true] {
                        let what = "\(shape) axis \(axis) exclusive \(exclusive) reverse \(reverse)"
                        try check(.cumulative(Cumulative(.sum, exclusive: exclusive, reverse: reverse)),
                                  [(x, false), (i64([axis]), true)], rtol: 1e-5, atol: 1e-3, what)
                        try check(.cumulative(Cumulative(.prod, exclusive: exclusive, reverse: reverse)),
                                  [(near1, false), (Tensor([Int32(axis)], shape: []), true)], rtol: 1e-4, atol: 1e-5, what)
                    }
                }
            }
        }
        // NaN and infinities flow through the running values as on the CPU.
        try check(.cumulative(Cumulative(.sum)), [(values(.float32, [3, 40]), false), (i64([1]), true)], "specials")
        try check(.cumulative(Cumulative(.prod, reverse: true)), [(values(.float32, [3, 40]), false), (i64([-1]), true)], "specials")
        // Integers wrap as on the CPU (bit for bit), the axis a run-time input.
        for dtype in [DType.int32, .int64, .uint32, .uint64] {
            let x = values(dtype, [5, 300])
            for kind in [Cumulative.Kind.sum, .prod] {
                try check(.cumulative(Cumulative(kind, exclusive: true)), [(x, false), (Tensor([Int64(-1)], shape: []), false)],
                          "\(dtype) \(kind)")
                try check(.cumulative(Cumulative(kind, reverse: true)), [(x, false), (Tensor([Int64(0)], shape: []), false)],
                          "\(dtype) \(kind)")
            }
        }
    }

    func testCumSumRejectsABadRunTimeAxis() throws {
        for axis in [2, -3] {
            try expectRejected(.cumulative(Cumulative(.sum)), [(random([3, 4]), false), (i64([axis]), false)], "axis \(axis)")
        }
        try expectRejected(.cumulative(Cumulative(.sum)), [(random([3, 4]), false), (i64([0, 1]), false)], "two axes")
    }

    func testTile() throws {
        let cases: [([Int], [Int])] = [([3, 1, 5], [2, 4, 1]), ([7], [3]), ([2, 3], [1, 1]), ([2, 3], [0, 2]),
                                       ([2, 1, 3, 33], [2, 3, 1, 2]), ([1, 1], [37, 41]), ([0, 3], [2, 2])]
        for dtype in [DType.float32, .int64, .int8, .bool, .float16, .uint16] {
            for (shape, repeats) in cases {
                let x = values(dtype, shape)
                try check(.tile(Tile()), [(x, false), (i64(repeats), true)], "\(dtype) \(shape) x \(repeats)")
            }
        }
        // Repeats known only at run time.
        try check(.tile(Tile()), [(values(.float32, [4, 5]), false), (i64([3, 2]), false)], "run-time repeats")
    }

    func testTileRejectsBadRepeats() throws {
        try expectRejected(.tile(Tile()), [(random([2, 3]), false), (i64([2, -1]), false)], "negative")
        try expectRejected(.tile(Tile()), [(random([2, 3]), false), (i64([2]), false)], "too few")
    }

    func testDepthToSpaceSpaceToDepth() throws {
        for dtype in [DType.float32, .int64, .uint8, .float16] {
            for b in [1, 2, 3] {
                for mode in [SpaceDepth.Mode.dcr, .crd] {
                    let what = "\(dtype) blocksize \(b) \(mode)"
                    try check(.spaceDepth(SpaceDepth(.depthToSpace, blocksize: b, mode: mode)),
                              [(values(dtype, [2, 5 * b * b, 7, 3]), false)], what)
                    try check(.spaceDepth(SpaceDepth(.spaceToDepth, blocksize: b, mode: mode)),
                              [(values(dtype, [2, 5, 7 * b, 3 * b]), false)], what)
                }
            }
        }
        try check(.spaceDepth(SpaceDepth(.depthToSpace, blocksize: 2)), [(values(.float32, [1, 4, 1, 1]), false)], "one pixel")
    }

    func testTopK() throws {
        // [7, 300] and [3, 37, 40]: rows sorted in local memory; [2, 5000]: rows too long for it (one reduction per
        // result); [1031] k = n; strided rows (axis not last); k = 0 and k = 1.
        let cases: [([Int], Int, [Int])] = [([3, 37, 40], 1, [5, 37, 1]), ([3, 37, 40], -1, [40, 0]), ([3, 37, 40], 0, [2]),
                                            ([7, 300], -1, [10, 300]), ([2, 5000], 1, [3, 130]), ([1031], 0, [1031, 17]),
                                            ([2, 3000, 3], 1, [4])]
        for (shape, axis, ks) in cases {
            let x = values(.float32, shape, levels: 50)
            for k in ks {
                for largest in [true, false] {
                    try check(.topK(TopK(axis: axis, largest: largest, sorted: k % 2 == 0)), [(x, false), (i64([k]), true)],
                              outputs: 2, "\(shape) axis \(axis) k \(k) largest \(largest)")
                }
            }
        }
        // Whole rows of NaN, infinities and signed zeros.
        let special = Tensor([Float.nan, 1, .nan, .infinity, -.infinity, 0, -0.0, .nan, 0, -0.0, 2, .infinity], shape: [2, 6])
        for largest in [true, false] {
            for k in [1, 4, 6] {
                try check(.topK(TopK(axis: 1, largest: largest)), [(special, false), (i64([k]), true)], outputs: 2,
                          "specials k \(k) largest \(largest)")
            }
        }
        for dtype in [DType.int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64] {
            for (shape, k) in [([4, 45], 7), ([2, 4100], 5)] {
                for largest in [true, false] {
                    try check(.topK(TopK(axis: 1, largest: largest)), [(values(dtype, shape), false), (i64([k]), true)],
                              outputs: 2, "\(dtype) \(shape) k \(k) largest \(largest)")
                }
            }
        }
        // k known only at run time.
        try check(.topK(TopK()), [(values(.float32, [5, 33]), false), (Tensor([Int64(6)], shape: [1]), false)], outputs: 2,
                  "run-time k")
    }

    func testTopKRejectsABadRunTimeK() throws {
        for k in [34, -1] {
            try expectRejected(.topK(TopK()), [(random([5, 33]), false), (i64([k]), false)], "k \(k)")
        }
    }
}

extension OpenCLTestCase {
    /// `op` placed on OpenCL must fail with a DLInferError on these inputs (not crash, not answer).
    func expectRejected(_ op: Op, _ operands: [(Tensor, constant: Bool)?], _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let device = try openCLDevice()
        let (g, feeds) = try graph(op, operands)
        let session = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: device, weighTransfers: false))
        XCTAssertEqual(session.placements[0].backend, "opencl", what, file: file, line: line)
        XCTAssertThrowsError(try session.run(feeds), what, file: file, line: line) { e in
            XCTAssert(e is DLInferError, "\(what): \(e)", file: file, line: line)
        }
    }
}
