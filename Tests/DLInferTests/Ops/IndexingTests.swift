import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// The indexing ops (NonZero, Compress, GatherElements, GatherND, ScatterElements, ScatterND) where the ONNX node tests
/// do not reach: sizes that take the parallel paths, every element type, negative and out-of-range indices (rejected
/// with an error, never read), older opset forms, data-dependent shapes flowing through a chain of nodes across runs
/// of one session, and the byte-generic data-movement ops on every type with empty dims; each against a naive
/// reference written here.
final class IndexingTests: XCTestCase {
    // MARK: Data-dependent shapes through a chain

    /// x -> NonZero -> Gather(x) gives the non-zero values; Shape(NonZero) -> Slice -> TopK(x, that k) gives the k
    /// largest: each run decides new shapes, which the nodes after them pick up, in one session reused with other
    /// values and other input shapes.
    func testDataDependentShapesFlowThroughAChain() throws {
        var b = ModelBuilder(opset: 21)
        b.input("x", .float32, [.symbol("n")])
        b.constant("one", Tensor([Int64(1)], shape: [1]))
        b.constant("two", Tensor([Int64(2)], shape: [1]))
        b.node("NonZero", ["x"], ["nz"])
        b.node("Gather", ["x", "nz"], ["picked"], [attr("axis", 0)])
        b.node("Shape", ["nz"], ["nzShape"])
        b.node("Slice", ["nzShape", "one", "two"], ["k"])
        b.node("TopK", ["x", "k"], ["top", "where"])
        b.node("Add", ["top", "top"], ["twice"])
        b.output("picked", .float32); b.output("twice", .float32); b.output("where", .int64)
        let session = try InferenceSession(model: b.load())
        for v: [Float] in [[0, 3, 0, -1, 2, 0], [5, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0], [4, 1, 2, 3, 9, 8, 7, 0, 6], [0, 0, 2]] {
            let out = try session.run([Tensor(v, shape: [v.count])])
            let nonZero = v.filter { $0 != 0 }
            XCTAssertEqual(out[0].shape, [1, nonZero.count], "\(v)")
            XCTAssertEqual(out[0].array(Float.self), nonZero, "\(v)")
            let (top, at) = naiveTopK(v, [v.count], axis: 0, k: nonZero.count, largest: true)
            XCTAssertEqual(out[1].array(Float.self), top.map { $0 * 2 }, "\(v)")
            XCTAssertEqual(out[2].array(Int64.self), at, "\(v)")
        }
    }

    // MARK: NonZero, Compress

    func testNonZeroEveryTypeAndLargeInput() throws {
        for dtype in DType.numeric {
            let x = patterned(dtype, [3, 4, 5])
            // Zero a few elements (and make one float a negative zero, which still counts as zero).
            for k in stride(from: 0, to: x.byteCount, by: 3 * dtype.byteSize) { memset(x.raw + k, 0, dtype.byteSize) }
            if dtype.isFloatingPoint {
                let p = x.raw + 7 * dtype.byteSize
                memset(p, 0, dtype.byteSize)
                p.storeBytes(of: 0x80, toByteOffset: dtype.byteSize - 1, as: UInt8.self)
            }
            let y = try OneNode.run("NonZero", opset: 21, [x], outputs: [.int64])[0]
            let size = dtype.byteSize
            let nz = (0..<x.count).filter { i in
                // The "fnuz" 8-bit floats have no -0 (0x80 is their NaN); E8M0 has no zero at all (0 is 2^-127).
                switch dtype {
                case .float8e4m3fnuz, .float8e5m2fnuz: return x.raw.load(fromByteOffset: i, as: UInt8.self) != 0
                case .float8e8m0: return true
                default: break
                }
                return (0..<size).contains { b in
                    let byte = x.raw.load(fromByteOffset: i * size + b, as: UInt8.self)
                    return (dtype.isFloatingPoint && b == size - 1 ? byte & 0x7F : byte) != 0
                }
            }
            XCTAssertEqual(y.shape, [3, nz.count], "\(dtype)")
            let coordinates = [nz.map { $0 / 20 }, nz.map { $0 / 5 % 4 }, nz.map { $0 % 5 }]
            XCTAssertEqual(y.array(Int64.self), coordinates.flatMap { $0.map { Int64($0) } }, "\(dtype)")
        }
        let big = TestData.ints(300_001, seed: 9, range: 0..<3).map { Int8($0) }
        let y = try OneNode.run("NonZero", opset: 21, [Tensor(big, shape: [big.count])], outputs: [.int64])[0]
        XCTAssertEqual(y.array(Int64.self), big.indices.filter { big[$0] != 0 }.map { Int64($0) })
        let scalar = try OneNode.run("NonZero", opset: 21, [Tensor.scalar(Float(2))], outputs: [.int64])[0]
        XCTAssertEqual(scalar.shape, [1, 1])
    }

    func testCompressConditionShorterOrLongerThanTheAxis() throws {
        let x = Tensor((0..<12).map { Float($0) }, shape: [3, 4])
        let cases: [(Int?, [Bool], [Float], [Int])] = [
            (0, [false, true], [4, 5, 6, 7], [1, 4]),
            (1, [true, false, true, true, true, true], [0, 2, 3, 4, 6, 7, 8, 10, 11], [3, 3]),
            (-1, [], [], [3, 0]),
            (nil, [false, false, true, false, true] + [Bool](repeating: true, count: 20), [2, 4] + (5..<12).map { Float($0) }, [9]),
        ]
        for (axis, cond, want, shape) in cases {
            for constant in [false, true] {
                let y = try OneNode.run("Compress", opset: 21, [x, boolTensor(cond)], constant: constant ? [1] : [],
                                        attrs: axis.map { [attr("axis", $0)] } ?? [], outputs: [.float32])[0]
                XCTAssertEqual(y.shape, shape, "axis \(String(describing: axis)) \(cond)")
                XCTAssertEqual(y.array(Float.self), want, "axis \(String(describing: axis)) \(cond)")
            }
        }
        XCTAssertThrowsError(try OneNode.run("Compress", opset: 21, [x, boolTensor([true])], attrs: [attr("axis", 2)], outputs: [.float32]))
    }

    // MARK: Gather and scatter by element, by tuple

    func testGatherElementsAndScatterElementsMatchNaive() throws {
        let shape = [5, 6, 70]
        let data = TestData.floats(shape, seed: 4)
        for axis in [0, 1, 2, -1] {
            let a = (axis + 3) % 3
            var ishape = shape
            ishape[a] = 9
            ishape[(a + 1) % 3] -= 1  // smaller than data along another axis
            let raw = TestData.ints(ishape.elementCount, seed: axis + 10, range: -shape[a]..<shape[a])
            for dtype in [DType.int64, .int32] {
                let indices = TestData.typed(raw, dtype).reshaped(ishape)
                let y = try OneNode.run("GatherElements", opset: 21, [data, indices], attrs: [attr("axis", axis)], outputs: [.float32])[0]
                XCTAssertEqual(y.array(Float.self), naiveElements(ishape, shape, a, raw).map { data.floats[$0] }, "axis \(axis)")
            }
            let updates = TestData.floats(ishape, seed: 5)
            for reduction in ["none", "add", "mul", "max", "min"] {
                let y = try OneNode.run("ScatterElements", opset: 18, [data, TestData.typed(raw, .int64).reshaped(ishape), updates],
                                        attrs: [attr("axis", axis), attr("reduction", reduction)], outputs: [.float32])[0]
                var want = data.array(Float.self)
                for (k, at) in naiveElements(ishape, shape, a, raw).enumerated() {
                    want[at] = combine(reduction, want[at], updates.floats[k])
                }
                XCTAssertEqual(y.array(Float.self), want, "axis \(axis) \(reduction)")
            }
        }
        // The deprecated Scatter of opsets 9-10, on int8 data.
        var b = ModelBuilder(opset: 10)
        b.input("d", .int8, [.fixed(2), .fixed(3)]); b.input("i", .int64, [.fixed(1), .fixed(2)]); b.input("u", .int8, [.fixed(1), .fixed(2)])
        b.node("Scatter", ["d", "i", "u"], ["y"], [attr("axis", 1)])
        b.output("y", .int8)
        let y = try b.run([Tensor([1, 2, 3, 4, 5, 6] as [Int8], shape: [2, 3]), Tensor([2, -3] as [Int64], shape: [1, 2]),
                           Tensor([-7, -8] as [Int8], shape: [1, 2])])[0]
        XCTAssertEqual(y.array(Int8.self), [-8, 2, -7, 4, 5, 6])
    }

    func testElementIndicesOutOfRangeAreRejected() {
        let data = TestData.floats([4, 5], seed: 1)
        for bad in [5, -6, Int(Int64.max), Int(Int64.min)] {
            var raw = [Int](repeating: 0, count: 8)
            raw[6] = bad
            let indices = TestData.typed(raw, .int64).reshaped([2, 4])
            XCTAssertThrowsError(try OneNode.run("GatherElements", opset: 21, [data, indices], attrs: [attr("axis", 1)], outputs: [.float32]))
            XCTAssertThrowsError(try OneNode.run("ScatterElements", opset: 21, [data, indices, TestData.floats([2, 4], seed: 2)],
                                                 attrs: [attr("axis", 1)], outputs: [.float32]))
            XCTAssertThrowsError(try OneNode.run("GatherND", opset: 21, [data, indices.reshaped([4, 2])], outputs: [.float32]))
            XCTAssertThrowsError(try OneNode.run("ScatterND", opset: 21, [data, indices.reshaped([4, 2]), TestData.floats([4], seed: 2)],
                                                 outputs: [.float32]))
        }
        // Indices larger than data outside the axis, and updates of the wrong shape.
        XCTAssertThrowsError(try OneNode.run("GatherElements", opset: 21, [data, TestData.typed([Int](repeating: 0, count: 6), .int64).reshaped([6, 1])],
                                             attrs: [attr("axis", 1)], outputs: [.float32]))
        XCTAssertThrowsError(try OneNode.run("ScatterND", opset: 21, [data, TestData.typed([1, 2], .int64).reshaped([1, 2]), TestData.floats([2], seed: 2)],
                                             outputs: [.float32]))
    }

    func testGatherNDAndScatterNDMatchNaive() throws {
        let shape = [3, 4, 5, 6]
        let data = TestData.floats(shape, seed: 6)
        let strides = shape.contiguousStrides
        for b in [0, 1, 2] {
            for q in 1...(shape.count - b) {
                let ishape = Array(shape[..<b]) + [7, q]
                let tuples = ishape.dropLast().reduce(1, *)
                var raw = [Int]()
                for t in 0..<tuples { for j in 0..<q { raw.append(TestData.ints(1, seed: t * 7 + j + b, range: -shape[b + j]..<shape[b + j])[0]) } }
                let y = try OneNode.run("GatherND", opset: 21, [data, TestData.typed(raw, .int64).reshaped(ishape)], attrs: [attr("batch_dims", b)],
                                        outputs: [.float32])[0]
                let slice = shape[(b + q)...].reduce(1, *)
                XCTAssertEqual(y.shape, Array(ishape.dropLast()) + Array(shape[(b + q)...]), "b \(b) q \(q)")
                var want = [Float]()
                for t in 0..<tuples {
                    var off = b == 0 ? 0 : (t / 7) * strides[b - 1]
                    for j in 0..<q { let v = raw[t * q + j]; off += (v < 0 ? v + shape[b + j] : v) * strides[b + j] }
                    want += (0..<slice).map { data.floats[off + $0] }
                }
                XCTAssertEqual(y.array(Float.self), want, "b \(b) q \(q)")
                guard b == 0 else { continue }
                let updates = TestData.floats(Array(ishape.dropLast()) + Array(shape[q...]), seed: q)
                for reduction in ["none", "add", "mul", "max", "min"] {
                    let s = try OneNode.run("ScatterND", opset: 18, [data, TestData.typed(raw, .int64).reshaped(ishape), updates],
                                            attrs: [attr("reduction", reduction)], outputs: [.float32])[0]
                    var expect = data.array(Float.self)
                    for t in 0..<tuples {
                        var off = 0
                        for j in 0..<q { let v = raw[t * q + j]; off += (v < 0 ? v + shape[j] : v) * strides[j] }
                        for e in 0..<slice { expect[off + e] = combine(reduction, expect[off + e], updates.floats[t * slice + e]) }
                    }
                    XCTAssertEqual(s.array(Float.self), expect, "q \(q) \(reduction)")
                }
            }
        }
        // batch_dims arrives in opset 12, reduction in 16 (max/min in 18).
        XCTAssertThrowsError(try OneNode.run("GatherND", opset: 11, [data, TestData.typed([0], .int64).reshaped([1, 1])], attrs: [attr("batch_dims", 0)],
                                             outputs: [.float32]))
        XCTAssertThrowsError(try OneNode.run("ScatterND", opset: 13, [data, TestData.typed([0], .int64).reshaped([1, 1]),
                                                                      TestData.floats([1, 4, 5, 6], seed: 1)],
                                             attrs: [attr("reduction", "add")], outputs: [.float32]))
        XCTAssertThrowsError(try OneNode.run("ScatterND", opset: 16, [data, TestData.typed([0], .int64).reshaped([1, 1]),
                                                                      TestData.floats([1, 4, 5, 6], seed: 1)],
                                             attrs: [attr("reduction", "max")], outputs: [.float32]))
    }

    /// The data-movement ops that existed before (byte-generic) on every element type, with an empty dim.
    func testShapeOpsOnEveryTypeWithEmptyDims() throws {
        for dtype in DType.numeric {
            let x = patterned(dtype, [3, 0, 2]), y = patterned(dtype, [3, 4, 2])
            var b = ModelBuilder(opset: 21)
            b.input("x", dtype, [.fixed(3), .fixed(0), .fixed(2)]); b.input("y", dtype, [.fixed(3), .fixed(4), .fixed(2)])
            for (name, v) in [("i", [2, 0]), ("s", [0, 1]), ("e", [3, 3]), ("a", [0, 1]), ("shape", [2, 3, 0, 2]),
                              ("pads", [0, 1, 0, 0, 1, 0]), ("sp", [1, 2]), ("u", [0]), ("rs", [0, -1])] {
                b.constant(name, TestData.typed(v, .int64))
            }
            b.node("Concat", ["x", "y"], ["cat"], [attr("axis", 1)])
            b.node("Gather", ["cat", "i"], ["g"], [attr("axis", 0)])
            b.node("Slice", ["g", "s", "e", "a"], ["sl"])
            b.node("Transpose", ["sl"], ["t"], [attr("perm", [2, 0, 1])])
            b.node("Expand", ["x", "shape"], ["ex"])
            b.node("Pad", ["x", "pads"], ["p"])
            b.node("Split", ["cat", "sp"], ["s0", "s1"], [attr("axis", 0)])
            b.node("Flatten", ["s1"], ["f"], [attr("axis", 2)])
            b.node("Shape", ["ex"], ["sh"])
            b.node("Unsqueeze", ["x", "u"], ["un"])
            b.node("Squeeze", ["un", "u"], ["sq"])
            b.node("Reshape", ["sq", "rs"], ["r"])
            for o in ["t", "ex", "p", "f", "r"] { b.output(o, dtype) }
            b.output("sh", .int64)
            let out = try b.run([x, y])
            // x has no elements: the concat is y.
            XCTAssertEqual(out[0].shape, [2, 2, 2], "\(dtype)")
            XCTAssertEqual(bytes(out[0]), movedBytes(y, [2, 2, 2]) { o in [[2, 0][o[1]], o[2] + 1, o[0]] }, "\(dtype)")
            XCTAssertEqual(out[1].shape, [2, 3, 0, 2])
            XCTAssertEqual(out[2].shape, [3, 2, 2])
            XCTAssertEqual(bytes(out[2]), [UInt8](repeating: 0, count: 12 * dtype.byteSize), "\(dtype)")
            XCTAssertEqual(out[3].shape, [8, 2])
            XCTAssertEqual(bytes(out[3]), Array(bytes(y)[(8 * dtype.byteSize)...]), "\(dtype)")
            XCTAssertEqual(out[4].shape, [3, 0])
            XCTAssertEqual(out[5].array(Int64.self), [2, 3, 0, 2])
        }
    }
}

// MARK: Helpers

/// For indices of shape `ishape` (values `raw`, possibly negative) along axis `a` of data of shape `shape`: the flat
/// data position of each index element.
private func naiveElements(_ ishape: [Int], _ shape: [Int], _ a: Int, _ raw: [Int]) -> [Int] {
    let strides = shape.contiguousStrides
    return raw.indices.map { flat in
        var rem = flat, off = 0
        for d in ishape.indices.reversed() {
            var c = rem % ishape[d]
            rem /= ishape[d]
            if d == a { c = raw[flat] < 0 ? raw[flat] + shape[a] : raw[flat] }
            off += c * strides[d]
        }
        return off
    }
}

private func combine(_ reduction: String, _ a: Float, _ b: Float) -> Float {
    switch reduction {
    case "add": return a + b
    case "mul": return a * b
    case "max": return a.isNaN || b.isNaN ? .nan : max(a, b)
    case "min": return a.isNaN || b.isNaN ? .nan : min(a, b)
    default: return b
    }
}

private func boolTensor(_ v: [Bool]) -> Tensor {
    let t = try! Tensor(dtype: .bool, shape: [v.count])
    for (k, b) in v.enumerated() { t.raw.storeBytes(of: b, toByteOffset: k, as: Bool.self) }
    return t
}

