import DLInferCore
import XCTest

/// Tensors that are not float32 on the device, against the CPU bit for bit: data movement of every element size
/// (int64, int8, bool, float16), Where, the comparisons (NaN, ±0, infinities, int64 values float32 cannot hold),
/// And/Or/Xor/Not, and Cast between float32, int32, int64 and bool at the edges (NaN, ±inf, out-of-range values).
final class OpenCLTypedOpsTests: OpenCLTestCase {
    private func i64(_ v: [Int]) -> Tensor { Tensor(v.map(Int64.init), shape: [v.count]) }

    /// The same `count` pseudo-random values as each test type.
    private func typed(_ dtype: DType, _ shape: [Int]) -> Tensor {
        let f = random(shape, scale: 1000).array(Float.self)
        switch dtype {
        case .int64: return Tensor(f.map { Int64($0) * 3_000_000_017 }, shape: shape)
        case .int8: return Tensor(f.map { Int8(truncatingIfNeeded: Int($0)) }, shape: shape)
        case .bool: return Tensor(f.map { $0 > 0 }, shape: shape)
        case .float16: return Tensor(f.map { Half($0 / 10) }, shape: shape)
        default: return Tensor(f, shape: shape)
        }
    }

    func testDataMovementOfEveryElementSize() throws {
        for dtype in [DType.int64, .int8, .bool, .float16] {
            let x = typed(dtype, [3, 37, 40]), what = "\(dtype)"
            // Tile path (the source's contiguous dim moves) and the strided kernel.
            try check(.transpose(Transpose(perm: [0, 2, 1])), [(x, false)], what)
            try check(.transpose(Transpose(perm: [2, 0, 1])), [(x, false)], what)
            try check(.concat(Concat(axis: 1)), [(x, false), (typed(dtype, [3, 5, 40]), false)], what)
            try check(.split(Split(axis: 2, outputs: 2)), [(x, false)], outputs: 2, what)
            try check(.slice(Slice()), [(x, false), (i64([30, 1]), true), (i64([2, 39]), true), (i64([1, 2]), true),
                                        (i64([-2, 3]), true)], what)
            try check(.expand(Expand()), [(typed(dtype, [3, 1, 40]), false), (i64([2, 3, 4, 40]), true)], what)
            try check(.gather(Gather(axis: 1)), [(x, false), (i64([5, -1, 0, 36]), true)], what)
            try check(.reshape(Reshape(allowZero: false)), [(x, false), (i64([-1, 40]), true)], what)
        }
    }

    func testWhere() throws {
        let cond = typed(.bool, [4, 1, 9])
        for dtype in [DType.float32, .int64, .bool, .float16] {
            try check(.select(Where()), [(cond, false), (typed(dtype, [4, 6, 9]), false), (typed(dtype, [9]), false)],
                      "\(dtype)")
        }
    }

    func testComparisons() throws {
        let specials: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 1, -1, 3.5]
        let a = Tensor(specials.flatMap { x in specials.map { _ in x } }, shape: [8, 8])
        let b = Tensor(specials.flatMap { _ in specials }, shape: [8, 8])
        let big: [Int64] = [Int64(1) << 53, (Int64(1) << 53) + 1, -5, .max, .min, 0]
        for kind in [Compare.Kind.equal, .less, .lessOrEqual, .greater, .greaterOrEqual] {
            try check(.compare(Compare(kind)), [(a, false), (b, false)], "\(kind) float specials")
            try check(.compare(Compare(kind)), [(random([3, 1, 5]), false), (random([4, 1]), false)], "\(kind) broadcast")
            try check(.compare(Compare(kind)), [(Tensor(big, shape: [6, 1]), false), (Tensor(big, shape: [6]), false)],
                      "\(kind) int64")
            try check(.compare(Compare(kind)), [(Tensor(big.map { Int32(truncatingIfNeeded: $0) }, shape: [6]), false),
                                               (Tensor([Int32](repeating: -5, count: 6), shape: [6]), false)], "\(kind) int32")
        }
        try check(.compare(Compare(.equal)), [(typed(.bool, [5, 7]), false), (typed(.bool, [7]), false)], "bool Equal")
    }

    func testLogic() throws {
        for kind in [Logic.Kind.and, .or, .xor] {
            try check(.logic(Logic(kind)), [(typed(.bool, [3, 1, 33]), false), (typed(.bool, [4, 33]), false)], "\(kind)")
        }
        try check(.unaryMath(UnaryMath(.not)), [(typed(.bool, [1031]), false)], "Not")
    }

    func testCastEdges() throws {
        let floats = Tensor([Float.nan, .infinity, -.infinity, 3e9, -3e9, 2.7, -2.7, -0.0, 0.5, 1e20, 16_777_216],
                            shape: [11])
        let ints: [Int64] = [(1 << 53) + 1, (1 << 32) + 5, -1, .max, .min, 0, 7]
        let cases: [(Tensor, DType)] = [
            (floats, .int32), (floats, .int64), (floats, .bool),
            (Tensor(ints, shape: [7]), .float32), (Tensor(ints, shape: [7]), .int32), (Tensor(ints, shape: [7]), .bool),
            (Tensor(ints.map { Int32(truncatingIfNeeded: $0) }, shape: [7]), .int64),
            (Tensor(ints.map { Int32(truncatingIfNeeded: $0) }, shape: [7]), .float32),
            (typed(.bool, [9]), .float32), (typed(.bool, [9]), .int64), (typed(.bool, [9]), .int32),
        ]
        for (x, to) in cases {
            try check(.cast(Cast(to: to)), [(x, false)], "\(x.dtype) to \(to)")
        }
    }
}
