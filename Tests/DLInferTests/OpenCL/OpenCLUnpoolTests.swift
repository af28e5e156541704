import DLInferCore
import XCTest

/// MaxPool's Indices output (both storage orders, ties, NaN, windows in the padding) and MaxUnpool (repeated
/// indices, where the later element wins; output_shape constant or given at run time) on OpenCL against the CPU,
/// and out-of-range indices rejected with a DLInferError.
final class OpenCLUnpoolTests: OpenCLTestCase {
    /// Values in few levels (ties in most windows), with NaNs.
    private func tied(_ shape: [Int]) -> Tensor {
        var v = random(shape).array(Float.self).map { ($0 * 3).rounded() }
        for i in stride(from: 5, to: v.count, by: 37) { v[i] = .nan }
        return Tensor(v, shape: shape)
    }

    func testMaxPoolIndices() throws {
        let cases: [([Int], [Int], [Int]?, [Int]?, [Int]?, Bool)] = [
            ([2, 5, 11, 13], [3, 3], [2, 2], nil, [1, 1, 1, 1], false),
            ([2, 5, 11, 13], [3, 3], [2, 2], nil, [1, 1, 1, 1], true),
            ([2, 3, 12, 9], [3, 2], nil, [2, 3], [1, 1, 2, 2], false),
            ([3, 4, 17], [4], [3], nil, [1, 2], true),
            ([2, 3, 5, 6, 7], [2, 3, 2], [2, 2, 1], [1, 2, 3], [1, 0, 1, 0, 1, 1], false),
            ([1, 2, 3, 3], [2, 2], [3, 3], nil, [2, 2, 2, 2], false),  // windows wholly in the padding
            ([1, 1, 1, 1], [1, 1], nil, nil, nil, false),
        ]
        for (shape, kernel, strides, dilations, pads, ceil) in cases {
            let win = try Window(kernel: kernel, strides: strides, dilations: dilations, pads: pads, autoPad: .notSet, ceilMode: ceil)
            for columnMajor in [false, true] {
                try check(.pool(Pool(.max(columnMajorIndices: columnMajor), window: win)), [(tied(shape), false)], outputs: 2,
                          "\(shape) k\(kernel) column-major \(columnMajor)")
            }
        }
    }

    /// `count` indices into `total` positions, many repeated (the later element of X must win).
    private func indices(_ shape: [Int], total: Int) -> Tensor {
        let r = random(shape).array(Float.self)
        return Tensor(r.enumerated().map { i, v in Int64(i % 3 == 0 ? (i * 7) % total : Int((v + 1) / 2 * Float(total)) % total) },
                      shape: shape)
    }

    func testMaxUnpool() throws {
        let cases: [([Int], [Int], [Int]?, [Int]?, [Int])] = [
            ([2, 3, 4, 5], [2, 2], [2, 2], nil, [2, 3, 8, 10]),
            ([2, 3, 4, 5], [3, 3], [2, 2], [1, 1, 1, 1], [2, 3, 7, 9]),
            ([1, 2, 33], [2], [2], nil, [1, 2, 66]),
            ([1, 2, 3, 4, 5], [2, 2, 2], [2, 2, 2], nil, [1, 2, 6, 8, 10]),
        ]
        for (shape, kernel, strides, pads, unpooled) in cases {
            let win = try Window(kernel: kernel, strides: strides, dilations: nil, pads: pads, autoPad: .notSet)
            let op = Op.maxUnpool(MaxUnpool(window: win))
            let x = random(shape), i = indices(shape, total: unpooled.reduce(1, *))
            try check(op, [(x, false), (i, false)], "\(shape) k\(kernel)")
            let larger = unpooled.map { $0 + 1 }
            let target = Tensor(larger.map(Int64.init), shape: [larger.count])
            try check(op, [(x, false), (i, false), (target, true)], "\(shape) k\(kernel) output_shape \(larger)")
            try check(op, [(x, false), (i, false), (target, false)], "\(shape) k\(kernel) run-time output_shape")
        }
    }

    func testMaxUnpoolRejectsIndicesOutOfRange() throws {
        let win = try Window(kernel: [2, 2], strides: [2, 2], dilations: nil, pads: nil, autoPad: .notSet)
        for bad in [Int64(2 * 3 * 8 * 10), -1, .max] {
            var v = indices([2, 3, 4, 5], total: 480).array(Int64.self)
            v[37] = bad
            try expectRejected(.maxUnpool(MaxUnpool(window: win)), [(random([2, 3, 4, 5]), false), (Tensor(v, shape: [2, 3, 4, 5]), false)],
                               "index \(bad)")
        }
    }
}
