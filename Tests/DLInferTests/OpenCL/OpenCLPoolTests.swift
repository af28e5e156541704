import DLInferCore
import XCTest

/// MaxPool / AveragePool over 1 to 3 spatial axes with every window attribute (ceil mode, dilations, explicit,
/// asymmetric and automatic pads, count_include_pad), and the global pools, against the CPU.
final class OpenCLPoolTests: OpenCLTestCase {
    private func pool(_ kind: Pool.Kind, _ shape: [Int], kernel: [Int], strides: [Int]? = nil, dilations: [Int]? = nil,
                      pads: [Int]? = nil, autoPad: AutoPad = .notSet, ceil: Bool = false, line: UInt = #line) throws {
        let win = try Window(kernel: kernel, strides: strides, dilations: dilations, pads: pads, autoPad: autoPad, ceilMode: ceil)
        try check(.pool(Pool(kind, window: win)), [(random(shape, scale: 3), false)],
                  "\(shape) k\(kernel) s\(strides ?? []) d\(dilations ?? []) p\(pads ?? []) \(autoPad.rawValue) ceil \(ceil)", line: line)
    }

    func testWindows() throws {
        let kinds: [Pool.Kind] = [.max(columnMajorIndices: false), .average(countIncludePad: false), .average(countIncludePad: true)]
        for kind in kinds {
            for n in [1, 3] {
                try pool(kind, [n, 5, 11, 13], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1])
                try pool(kind, [n, 5, 11, 13], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil: true)
            }
            try pool(kind, [2, 3, 12, 9], kernel: [2, 3], strides: [3, 2], pads: [0, 2, 1, 0], ceil: true)
            try pool(kind, [2, 3, 12, 9], kernel: [3, 2], dilations: [2, 3], pads: [1, 1, 2, 2])
            try pool(kind, [1, 7, 10, 10], kernel: [3, 3], strides: [3, 3], autoPad: .sameUpper)
            try pool(kind, [1, 7, 10, 9], kernel: [4, 2], strides: [2, 2], autoPad: .sameLower)
            try pool(kind, [1, 7, 10, 9], kernel: [4, 2], autoPad: .valid)
            try pool(kind, [3, 4, 17], kernel: [4], strides: [3], pads: [1, 2], ceil: true)
            try pool(kind, [2, 3, 5, 6, 7], kernel: [2, 3, 2], strides: [2, 2, 1], dilations: [1, 2, 3], pads: [1, 0, 1, 0, 1, 1])
            try pool(kind, [1, 2, 1, 1], kernel: [1, 1])
            // Windows wholly in the padding: the CPU's -inf (max) and 0/0 (average without the padding).
            try pool(kind, [1, 2, 3, 3], kernel: [2, 2], strides: [3, 3], pads: [2, 2, 2, 2])
        }
    }

    func testMaxPoolIgnoresNaN() throws {
        var v = random([1, 2, 6, 6]).array(Float.self)
        v[0] = .nan; v[7] = .nan; v[40] = .nan
        let win = try Window(kernel: [2, 2], strides: [2, 2], dilations: nil, pads: nil, autoPad: .notSet)
        try check(.pool(Pool(.max(columnMajorIndices: false), window: win)), [(Tensor(v, shape: [1, 2, 6, 6]), false)], "NaN")
    }

    func testGlobalPools() throws {
        for kind in [GlobalPool.Kind.average, .max] {
            for shape in [[1, 1, 1, 1], [3, 5, 7, 7], [1, 3, 50, 50], [2, 4, 300], [2, 3, 2, 3, 4], [1, 2, 0, 3]] {
                try check(.globalPool(GlobalPool(kind)), [(random(shape, scale: 3), false)], "\(kind) \(shape)")
            }
            var v = random([2, 3, 9, 9]).array(Float.self)
            v[100] = .nan
            try check(.globalPool(GlobalPool(kind)), [(Tensor(v, shape: [2, 3, 9, 9]), false)], "\(kind) NaN")
        }
    }
}
