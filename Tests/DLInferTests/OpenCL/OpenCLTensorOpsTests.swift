import DLInferCore
import DLInferCPU
import DLInferOpenCL
import XCTest

/// Data movement on OpenCL against the CPU: Concat, Split, Slice, Transpose, Expand, Pad and Gather at awkward
/// sizes, every axis (negative too), 1-element and zero-size dims, constant and non-constant operands, and the
/// copy paths (contiguous buffer copy, row copy, strided kernel, tiled transposition).
final class OpenCLTensorOpsTests: OpenCLTestCase {
    private func i64(_ v: [Int]) -> Tensor { Tensor(v.map { Int64($0) }, shape: [v.count]) }

    func testConcatEveryAxisAndInputCount() throws {
        let base = [3, 5, 1, 7]
        for axis in -4..<4 {
            let a = axis < 0 ? axis + 4 : axis
            for count in 1...4 {
                let parts = (0..<count).map { k -> (Tensor, constant: Bool)? in
                    var s = base
                    s[a] = [2, 1, 3, 0][k]
                    return (random(s), k == 1)
                }
                try check(.concat(Concat(axis: axis)), parts, "axis \(axis), \(count) inputs")
            }
        }
        try check(.concat(Concat(axis: 0)), [(random([1000]), false), (random([17]), false)], "1-D")
        try check(.concat(Concat(axis: 1)), [(random([2, 0, 3]), false), (random([2, 0, 3]), false)], "all empty")
    }

    func testSplitEqualGivenAndUnevenParts() throws {
        let x = random([4, 6, 10])
        for axis in -3..<3 {
            let dim = x.shape[axis < 0 ? axis + 3 : axis]
            try check(.split(Split(axis: axis, outputs: 2)), [(x, false)], outputs: 2, "equal halves axis \(axis)")
            try check(.split(Split(axis: axis, outputs: 3)), [(x, false), (i64([1, 0, dim - 1]), true)], outputs: 3, "given sizes axis \(axis)")
            try check(.split(Split(axis: axis, outputs: 4, unevenLast: true)), [(x, false)], outputs: 4, "uneven axis \(axis)")
        }
        try check(.split(Split(axis: 0, outputs: 1)), [(random([5, 3]), false)], outputs: 1, "one output")
    }

    func testSliceStepsClampsAndAxes() throws {
        let x = random([5, 7, 4, 9])
        let cases: [(starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?)] = [
            ([1], [4], [1], nil),
            ([0, 0], [5, 9], [0, 3], [2, 3]),
            ([-1], [-10], [3], [-1]),
            ([4, 6], [-100, 0], [-4, 1], [-2, -3]),
            ([1, -2, 0, 2], [3, 100, 4, 8], nil, [1, 1, 1, 5]),
            ([2], [2], [2], nil),
            ([0], [Int(Int32.max)], [0], [1]),
            ([3], [4], [3], [100]),
            ([8], [0], [3], [-Int(Int64.max)]),
        ]
        for (k, c) in cases.enumerated() {
            for constant in [true, false] {
                var ops: [(Tensor, constant: Bool)?] = [(x, false), (i64(c.starts), constant), (i64(c.ends), constant)]
                ops.append(c.axes.map { (i64($0), constant) })
                if let steps = c.steps { ops.append((i64(steps), constant)) }
                try check(.slice(Slice()), ops, "case \(k) constant \(constant)")
            }
        }
        let starts = Tensor([Int32(1), -3], shape: [2]), ends = Tensor([Int32(3), 7], shape: [2])
        try check(.slice(Slice()), [(random([4, 6]), false), (starts, true), (ends, true)], "int32 parameters")
    }

    func testTransposeEveryPermutationOfRank3And4() throws {
        let x3 = random([3, 5, 7]), x4 = random([2, 3, 5, 7])
        for perm in permutations(3) { try check(.transpose(Transpose(perm: perm)), [(x3, false)], "\(perm)") }
        for perm in permutations(4) { try check(.transpose(Transpose(perm: perm)), [(x4, true)], "\(perm)") }
        try check(.transpose(Transpose()), [(x4, false)], "reversed by default")
    }

    func testTransposeTilesAndViews() throws {
        // Last-two swap with a batch, NCHW -> NHWC, a single large plane, and planes thinner than a tile.
        try check(.transpose(Transpose(perm: [0, 2, 1])), [(random([3, 67, 129]), false)], "batched swap")
        try check(.transpose(Transpose(perm: [0, 2, 3, 1])), [(random([2, 19, 11, 13]), false)], "NCHW -> NHWC")
        try check(.transpose(Transpose(perm: [1, 0])), [(random([300, 70]), false)], "2-D")
        try check(.transpose(Transpose(perm: [1, 0])), [(random([1, 70]), false)], "row to column (a view)")
        try check(.transpose(Transpose(perm: [2, 1, 0])), [(random([33, 1, 2]), false)], "thin plane")
        try check(.transpose(Transpose(perm: [1, 0, 2])), [(random([0, 4, 3]), false)], "empty")
        try check(.transpose(Transpose(perm: [])), [(Tensor.scalar(Float(3)), false)], "scalar")
    }

    func testExpandBroadcasts() throws {
        let cases: [([Int], [Int])] = [([3, 1], [3, 4]), ([1], [2, 3, 5]), ([4, 1, 6], [2, 1, 3, 1]), ([5], [1]),
                                       ([2, 3], [2, 3]), ([1, 7], [0, 7]), ([3, 1, 1], [3, 33, 17])]
        for (s, shape) in cases {
            for constant in [true, false] {
                try check(.expand(Expand()), [(random(s), false), (i64(shape), constant)], "\(s) to \(shape) constant \(constant)")
            }
        }
    }

    func testPadEveryModeWithCropsAndLongPads() throws {
        let x = random([2, 3, 5])
        let pads: [[Int]] = [[0, 1, 2, 0, 3, 1], [1, 0, 0, 1, 2, 7], [0, -1, -2, 0, 1, 2], [0, 0, 0, 0, 0, 0],
                             [0, 2, 11, 0, 3, 13]]
        for mode in [Pad.Mode.constant, .reflect, .edge, .wrap] {
            for (k, p) in pads.enumerated() {
                try check(.pad(Pad(mode: mode)), [(x, false), (i64(p), k % 2 == 0)], "\(mode) pads \(p)")
            }
        }
        try check(.pad(Pad(mode: .constant, value: 2.5)), [(x, false), (i64([1, 1, 1, 1, 1, 1]), true)], "attribute value")
        try check(.pad(Pad(mode: .constant)), [(x, false), (i64([0, 1, 0, 2]), true), (Tensor.scalar(Float(-4)), true),
                                               (Tensor([Int64(-1), 0], shape: [2]), true)], "value and negative axes")
        try check(.pad(Pad(mode: .reflect)), [(random([1, 1, 1]), false), (i64([0, 0, 2, 0, 0, 3]), true)], "reflect one element")
        try check(.pad(Pad(mode: .constant)), [(x, false), (i64([0, 0, -3, 0, 0, 2]), true)], "constant over a cropped-away axis")
        try check(.pad(Pad(mode: .edge)), [(random([1, 4, 1, 3, 2, 1, 2, 3]), false), (i64([1, 0, 0, 1, 0, 0, 0, 1] + [0, 1, 0, 0, 1, 0, 0, 0]), true)], "rank 8")
    }

    func testGatherAxesNegativeScalarAndNonConstantIndices() throws {
        let x = random([6, 5, 4])
        for axis in -3..<3 {
            let n = x.shape[axis < 0 ? axis + 3 : axis]
            let idx = Tensor([Int64(0), Int64(n - 1), -1, Int64(-n), 2].map { $0 }, shape: [5])
            try check(.gather(Gather(axis: axis)), [(x, false), (idx, true)], "axis \(axis) constant")
            try check(.gather(Gather(axis: axis)), [(x, true), (idx.reshaped([1, 5]), false)], "axis \(axis) input")
            try check(.gather(Gather(axis: axis)), [(x, false), (Tensor.scalar(Int32(-2)), true)], "axis \(axis) scalar")
        }
        // The embedding lookup: a constant table, token ids given per run.
        let ids = Tensor((0..<14).map { Int64($0 * 37 % 1000) }, shape: [2, 7])
        try check(.gather(Gather(axis: 0)), [(random([1000, 33]), true), (ids, false)], "embedding")
        try check(.gather(Gather(axis: 1)), [(x, false), (Tensor([Int64](), shape: [0]), false)], "no indices")
    }

    func testGatherRejectsOutOfRangeIndicesAtRunTime() throws {
        let device = try openCLDevice()
        let (g, _) = try graph(.gather(Gather(axis: 0)), [(random([4, 3]), true), (i64([1]), false)])
        let session = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: device, weighTransfers: false))
        XCTAssertEqual(session.placements[0].backend, "opencl")
        XCTAssertThrowsError(try session.run([i64([4])])) { XCTAssertTrue("\($0)".contains("out of range"), "\($0)") }
        // Copied out while each tensor is held: a pointer into a temporary outlives its storage.
        let negative = try session.run([i64([-4])])[0], zero = try session.run([i64([0])])[0]
        XCTAssertEqual(negative.array(Float.self), zero.array(Float.self))
    }

    /// The shape and Range's scalars are graph inputs, so that the plan cannot fold the node away.
    func testConstantOfShapeAndRange() throws {
        let values: [Tensor] = [.scalar(Float(1.5)), .scalar(Int64.min + 3), .scalar(true), .scalar(Half(-2.5)), .scalar(Int8(-7))]
        for value in values {
            for shape in [[2, 3, 5], [3, 0], []] {
                try check(.constantOfShape(ConstantOfShape(value: value.reshaped([1]))), [(i64(shape).reshaped([shape.count]), false)],
                          "\(value.dtype) \(shape)")
            }
        }
        let floats: [(Float, Float, Float)] = [(0.1, 1.0, 0.3), (5, -3, -0.7), (1e7, 1e7 + 40, 3), (0, 0, 1)]
        for (s, l, d) in floats {
            try check(.range(Arange()), [(.scalar(s), false), (.scalar(l), false), (.scalar(d), false)], "float32 \(s) \(l) \(d)")
        }
        for (s, l, d) in [(Int64(1) << 40, (Int64(1) << 40) + 100, Int64(7)), (10, 0, -3), (-5, 10, 3)] {
            try check(.range(Arange()), [(.scalar(s), false), (.scalar(l), false), (.scalar(d), false)], "int64 \(s) \(l) \(d)")
            try check(.range(Arange()), [(.scalar(Int32(truncatingIfNeeded: s)), false), (.scalar(Int32(truncatingIfNeeded: l)), false),
                                         (.scalar(Int32(truncatingIfNeeded: d)), false)], "int32 \(s) \(l) \(d)")
        }
    }

    func testRankAboveEight() throws {
        // Concat and Split merge to at most two dims, so any rank runs on OpenCL; the per-dim kernels decline.
        let shape = [1, 2, 1, 2, 3, 2, 1, 2, 3]
        try check(.concat(Concat(axis: 4)), [(random(shape), false), (random(shape), true)], "rank 9")
        try check(.split(Split(axis: -1, outputs: 3)), [(random(shape), false)], outputs: 3, "rank 9")
        let device = try openCLDevice()
        let (g, feeds) = try graph(.transpose(Transpose()), [(random(shape), false)])
        let session = try Session(graph: g, host: CPUBackend(), device: try OpenCLBackend(device: device))
        XCTAssertEqual(session.placements[0].backend, "cpu")
        XCTAssertTrue(session.placements[0].reason?.contains("rank 9") == true, session.placements[0].reason ?? "")
        XCTAssertEqual(try session.run(feeds)[0].shape, shape.reversed())
    }

    private func permutations(_ n: Int) -> [[Int]] {
        guard n > 1 else { return [[0]] }
        return permutations(n - 1).flatMap { p in (0...p.count).map { i in var q = p; q.insert(n - 1, at: i); return q } }
    }
}
