import DLInferCore
import XCTest

/// GatherElements, ScatterElements (every reduction; repeated indices, where the CPU's order decides) and ScatterND
/// on OpenCL against the CPU: int32 and int64 indices with negative values, every element size, NaN in the
/// reductions, indices known only at run time, and indices out of range rejected with a DLInferError.
final class OpenCLIndexingTests: OpenCLTestCase {
    /// Indices in [-n, n) of `shape`, many repeated.
    private func indices(_ shape: [Int], axisSize n: Int, int32: Bool = false) -> Tensor {
        let v = random(shape).array(Float.self).map { Int64(($0 * Float(n)).rounded(.down)) }.map { max(-Int64(n), min(Int64(n) - 1, $0)) }
        return int32 ? Tensor(v.map { Int32($0) }, shape: shape) : Tensor(v, shape: shape)
    }

    /// Values of `dtype` (NaN and infinities among float32).
    private func values(_ dtype: DType, _ shape: [Int]) -> Tensor {
        let f = random(shape, scale: 100).array(Float.self)
        switch dtype {
        case .int64: return Tensor(f.map { Int64($0) * 3_000_000_017 }, shape: shape)
        case .int8: return Tensor(f.map { Int8($0) }, shape: shape)
        case .bool: return Tensor(f.map { $0 > 0 }, shape: shape)
        case .float16: return Tensor(f.map { Half($0) }, shape: shape)
        default:
            var v = f.map { ($0 / 10).rounded() }
            for (i, s) in [Float.nan, .infinity, -.infinity, -0.0].enumerated() where v.count > 20 { v[(i * 13 + 3) % v.count] = s }
            return Tensor(v, shape: shape)
        }
    }

    func testGatherElements() throws {
        let cases: [([Int], [Int], Int)] = [([3, 37, 40], [3, 37, 40], 1), ([3, 37, 40], [2, 50, 7], 1), ([3, 37, 40], [3, 5, 40], -1),
                                            ([3, 37, 40], [6, 1, 2], 0), ([5], [12], 0), ([4, 5], [0, 5], 0)]
        for dtype in [DType.float32, .int64, .int8, .bool, .float16] {
            for (shape, ishape, axis) in cases {
                let n = shape[axis < 0 ? axis + shape.count : axis]
                for int32 in [false, true] {
                    try check(.gatherElements(GatherElements(axis: axis)),
                              [(values(dtype, shape), false), (indices(ishape, axisSize: n, int32: int32), int32)],
                              "\(dtype) \(shape) indices \(ishape) axis \(axis)")
                }
            }
        }
    }

    func testScatterElements() throws {
        let cases: [([Int], [Int], Int)] = [([3, 37, 40], [3, 30, 40], 1), ([3, 37, 40], [2, 5, 33], -1), ([6, 4], [9, 4], 0), ([7], [20], 0)]
        for reduction in [ScatterReduction.none, .add, .mul, .max, .min] {
            for (shape, ishape, axis) in cases {
                let n = shape[axis < 0 ? axis + shape.count : axis]
                let op = Op.scatterElements(ScatterElements(axis: axis, reduction: reduction))
                try check(op, [(values(.float32, shape), false), (indices(ishape, axisSize: n), false), (values(.float32, ishape), false)],
                          rtol: 1e-5, atol: 1e-5, "\(reduction) \(shape) indices \(ishape) axis \(axis)")
            }
        }
        for dtype in [DType.int64, .int8, .bool, .float16] {
            try check(.scatterElements(ScatterElements(axis: 1, name: "Scatter")),
                      [(values(dtype, [4, 9]), false), (indices([4, 12], axisSize: 9, int32: true), true), (values(dtype, [4, 12]), false)],
                      "\(dtype)")
        }
    }

    func testScatterND() throws {
        // q = 1 (rows), 2 (slices), 3 (elements), with repeated tuples.
        let data = [5, 6, 7]
        for reduction in [ScatterReduction.none, .add, .mul, .max, .min] {
            for (ishape, ushape) in [([9, 1], [9, 6, 7]), ([4, 3, 2], [4, 3, 7]), ([40, 3], [40])] {
                let q = ishape.last!
                let flat = random(ishape).array(Float.self).enumerated().map { i, v in
                    let n = data[i % q]
                    return max(-Int64(n), min(Int64(n) - 1, Int64((v * Float(n)).rounded(.down))))
                }
                try check(.scatterND(ScatterND(reduction: reduction)),
                          [(values(.float32, data), false), (Tensor(flat, shape: ishape), false), (values(.float32, ushape), false)],
                          rtol: 1e-5, atol: 1e-5, "\(reduction) indices \(ishape)")
            }
        }
        for dtype in [DType.int64, .int8, .float16] {
            try check(.scatterND(ScatterND()), [(values(dtype, [4, 3]), false), (Tensor([Int64(1), -1, 1], shape: [3, 1]), true),
                                                (values(dtype, [3, 3]), false)], "\(dtype)")
        }
    }

    func testIndicesOutOfRangeAreRejected() throws {
        for bad in [Int64(9), -10] {
            var v = indices([4, 12], axisSize: 9).array(Int64.self)
            v[17] = bad
            let i = Tensor(v, shape: [4, 12])
            try expectRejected(.gatherElements(GatherElements(axis: 1)), [(random([4, 9]), false), (i, false)], "GatherElements \(bad)")
            try expectRejected(.scatterElements(ScatterElements(axis: 1, reduction: .add)),
                               [(random([4, 9]), false), (i, false), (random([4, 12]), false)], "ScatterElements \(bad)")
            try expectRejected(.scatterND(ScatterND()), [(random([9, 3]), false), (Tensor([2, bad, 0], shape: [3, 1]), false),
                                                         (random([3, 3]), false)], "ScatterND \(bad)")
        }
    }
}
