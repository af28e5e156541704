import DLInferCore
import XCTest

/// Softmax/LogSoftmax and ReduceSum/Mean/Max on OpenCL against the CPU: both opset semantics, every axis (negative
/// too), rows shorter and longer than a work-group, strided groups, NaN and infinities, split long reductions,
/// empty sets and no-op axes.
final class OpenCLSoftmaxReduceTests: OpenCLTestCase {
    private func i64(_ v: [Int]) -> Tensor { Tensor(v.map { Int64($0) }, shape: [v.count]) }

    func testSoftmaxEveryAxisBothOpsets() throws {
        let x = random([2, 3, 5, 7], scale: 5)
        for log in [false, true] {
            for flattenTail in [false, true] {
                for axis in -4...(flattenTail ? 4 : 3) {
                    try check(.softmax(Softmax(axis: axis, log: log, flattenTail: flattenTail)), [(x, false)],
                              "log \(log) flatten \(flattenTail) axis \(axis)")
                }
            }
        }
    }

    func testSoftmaxRowLengthsAndEdgeValues() throws {
        for log in [false, true] {
            for shape in [[1], [1, 1], [7, 13], [4, 31], [4, 32], [3, 1000], [2, 4099], [5, 256], [0, 3], [3, 0], [257, 2]] {
                try check(.softmax(Softmax(axis: -1, log: log, flattenTail: false)), [(random(shape, scale: 20), false)], "\(shape)")
            }
            try check(.softmax(Softmax(axis: 1, log: log, flattenTail: false)), [(random([3, 300, 2]), false)], "long strided")
            // Rows with a NaN, +inf, -inf, and all -inf; along axis 1 they are work-group rows, along 0 columns.
            var v = random([4, 40]).array(Float.self)
            v[1] = .nan
            v[48] = .infinity
            v[93] = -.infinity
            for i in 120..<160 { v[i] = -Float.infinity }
            for axis in [0, 1] {
                try check(.softmax(Softmax(axis: axis, log: log, flattenTail: false)), [(Tensor(v, shape: [4, 40]), false)], "NaN/inf axis \(axis)")
            }
        }
    }

    /// Every reduction with an OpenCL kernel (ReduceLogSumExp runs on the CPU).
    private let deviceReductions = Reduce.Kind.allCases.filter { $0 != .logSumExp }

    func testReduceEveryAxisSet() throws {
        let x = random([3, 4, 5, 6], scale: 3)
        let sets: [[Int]] = [[0], [1], [2], [3], [-1], [-4, 2], [0, 2], [1, 3], [0, 1, 2], [1, 2, 3], [0, 3], [0, 1, 2, 3]]
        for kind in deviceReductions {
            for keepDims in [false, true] {
                for axes in sets {
                    try check(.reduce(Reduce(kind, keepDims: keepDims, noopWithEmptyAxes: false)), [(x, false), (i64(axes), true)],
                              "\(kind) keep \(keepDims) axes \(axes)")
                }
                try check(.reduce(Reduce(kind, keepDims: keepDims, noopWithEmptyAxes: false)), [(x, false)], "\(kind) all axes")
                try check(.reduce(Reduce(kind, keepDims: keepDims, noopWithEmptyAxes: false)), [(x, false), (i64([1, 2]), false)],
                          "\(kind) axes given per run")
            }
        }
    }

    func testReduceRowColumnAndSplitStages() throws {
        // Rows of a work-group and short rows of a work-item, a global reduction, long rows with few of them, and long
        // columns with few of them (the split stages), size-1 reduced dims.
        let cases: [([Int], [Int])] = [([6, 40], [1]), ([4, 7, 9], [1, 2]), ([40, 31], [1]), ([100_003], [0]),
                                       ([3, 20_000], [1]), ([20_000, 3], [0]), ([7, 5000, 2], [0, 2]), ([2, 9000, 3], [1]),
                                       ([1, 1, 1], [0, 2]), ([5, 1, 4], [1])]
        for kind in deviceReductions {
            for (shape, axes) in cases {
                try check(.reduce(Reduce(kind, keepDims: true, noopWithEmptyAxes: false)), [(random(shape), false), (i64(axes), true)],
                          rtol: 2e-3, "\(kind) \(shape) axes \(axes)")
            }
        }
    }

    func testReduceEmptySetsNoopAndNaN() throws {
        for kind in deviceReductions {
            let r = Reduce(kind, keepDims: false, noopWithEmptyAxes: true)
            try check(.reduce(r), [(random([3, 4]), false), (i64([]), true)], "\(kind) noop")
            try check(.reduce(r), [(random([3, 0, 4]), false), (i64([1]), true)], "\(kind) empty set")
            try check(.reduce(r), [(random([3, 0, 4]), false), (i64([0]), true)], "\(kind) empty output")
            var v = random([3, 50]).array(Float.self)
            v[2] = .nan
            v[57] = .infinity
            v[111] = -.infinity
            for axis in [0, 1] {
                try check(.reduce(r), [(Tensor(v, shape: [3, 50]), false), (i64([axis]), true)], "\(kind) NaN/inf axis \(axis)")
            }
            try check(.reduce(r), [(Tensor(v, shape: [30, 5]), false), (i64([1]), true)], "\(kind) NaN/inf short rows")
        }
        try check(.reduce(Reduce(.sum, keepDims: true, noopWithEmptyAxes: false)), [(random([3, 4]), false), (i64([]), true)], "empty axes reduce all")
        let rank9 = random([2, 1, 3, 2, 1, 2, 3, 1, 2])
        try check(.reduce(Reduce(.mean, keepDims: false, noopWithEmptyAxes: false)), [(rank9, false), (i64([0, 3, 6, -1]), true)], "rank 9")
        try check(.softmax(Softmax(axis: 2, log: false, flattenTail: false)), [(rank9, false)], "rank 9")
    }
}
