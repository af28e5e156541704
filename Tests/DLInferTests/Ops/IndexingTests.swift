import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// The indexing, ordering and layout ops (TopK, Unique, NonZero, Compress, GatherElements, GatherND, ScatterElements,
/// ScatterND, Range, Tile, OneHot, EyeLike, Trilu, DepthToSpace/SpaceToDepth, ReverseSequence, CenterCropPad, Size)
/// where the ONNX node tests do not reach: sizes that take the parallel and heap paths, NaN, ties, every integer
/// type, negative and out-of-range indices (rejected with an error, never read), older opset forms, data-dependent
/// shapes flowing through a chain of nodes across runs of one session; each against a naive reference written here.
final class IndexingTests: XCTestCase {

    // MARK: TopK

    func testTopKMatchesNaiveOnEveryPath() throws {
        // k = 1 (a scan), small k (a heap), large k (a full sort); innermost and strided axes; many ties.
        for (shape, axis) in [([7, 1000], 1), ([3, 500, 4], 1), ([600, 3], 0)] {
            let x = randomFloats(shape, seed: shape[0], levels: 50)
            let n = shape[axis]
            for k in [0, 1, 5, 17, n / 2, n] {
                for largest in [1, 0] {
                    let (v, i) = try topK(x, k: k, axis: axis, largest: largest)
                    let (wv, wi) = naiveTopK(x.array(Float.self), shape, axis: axis, k: k, largest: largest == 1)
                    XCTAssertEqual(i.array(Int64.self), wi, "\(shape) axis \(axis) k \(k) largest \(largest)")
                    XCTAssertEqual(v.array(Float.self), wv, "\(shape) axis \(axis) k \(k) largest \(largest)")
                }
            }
        }
    }

    func testTopKOrdersNaNAboveEverythingAndTiesByIndex() throws {
        let x = Tensor([1, .nan, 3, .nan, -.infinity, .infinity, 2, 3] as [Float], shape: [8])
        var (v, i) = try topK(x, k: 5, axis: 0, largest: 1)
        XCTAssertEqual(i.array(Int64.self), [1, 3, 5, 2, 7])
        XCTAssertTrue(v.floats[0].isNaN && v.floats[1].isNaN)
        (v, i) = try topK(x, k: 4, axis: 0, largest: 0)
        XCTAssertEqual(i.array(Int64.self), [4, 0, 6, 2])
        XCTAssertEqual(v.array(Float.self), [-.infinity, 1, 2, 3])
    }

    func testTopKIntegerTypesAndHalfFloats() throws {
        let values: [Int] = [5, -3, 200, 7, 7, 0, 255, -128, 7]
        for dtype in DType.integers {
            let stored: [Int] = values.map { v in dtype.isSigned || v >= 0 ? v : v + 256 }
            let x = typedTensor(stored, dtype)
            let (_, i) = try topK(x, k: 4, axis: 0, largest: 1)
            let keys: [Int] = (0..<x.count).map { x.integerValue(at: $0) }
            let order: [Int] = (0..<keys.count).sorted { (p: Int, q: Int) -> Bool in keys[p] != keys[q] ? keys[p] > keys[q] : p < q }
            XCTAssertEqual(i.array(Int64.self), order.prefix(4).map { Int64($0) }, "\(dtype)")
        }
        // float16 goes through float32 and comes back unchanged.
        let h = try! Tensor(dtype: .float16, shape: [5])
        for (k, f) in [1.5, -2, 65504, 0.25, -65504].enumerated() { h.buffer(Half.self)[k] = Half(Float(f)) }
        let (v, i) = try topK(h, k: 3, axis: 0, largest: 0)
        XCTAssertEqual(i.array(Int64.self), [4, 1, 3])
        XCTAssertEqual(v.buffer(Half.self).map(\.float), [-65504, -2, 0.25])
    }

    func testTopKOpset1AttributeAndBadK() throws {
        var b = ModelBuilder(opset: 9)
        b.input("x", .float32, [.fixed(2), .fixed(4)])
        b.node("TopK", ["x"], ["v", "i"], [attr("k", 2)])
        b.output("v", .float32); b.output("i", .int64)
        let out = try b.run([Tensor([1, 4, 2, 3, 8, 5, 7, 6] as [Float], shape: [2, 4])])
        XCTAssertEqual(out[0].array(Float.self), [4, 3, 8, 7])
        XCTAssertEqual(out[1].array(Int64.self), [1, 3, 0, 2])
        let x = randomFloats([3, 4], seed: 1)
        XCTAssertThrowsError(try topK(x, k: 5, axis: 1, largest: 1))
        XCTAssertThrowsError(try topK(x, k: -1, axis: 1, largest: 1))
        XCTAssertThrowsError(try topK(x, k: 1, axis: 2, largest: 1))
    }

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

    func testUniqueFeedsLaterNodesAcrossRuns() throws {
        var b = ModelBuilder(opset: 21)
        b.input("x", .int32, [.symbol("n")])
        b.node("Unique", ["x"], ["y", "", "inverse", "counts"])
        b.node("Gather", ["y", "inverse"], ["back"], [attr("axis", 0)])
        b.node("Size", ["y"], ["u"])
        b.output("back", .int32); b.output("counts", .int64); b.output("u", .int64)
        let session = try InferenceSession(model: b.load())
        for v: [Int32] in [[3, 1, 3, 2], [7, 7, 7], [5, -1, 0, 5, -1, 9, 0]] {
            let out = try session.run([Tensor(v, shape: [v.count])])
            XCTAssertEqual(out[0].array(Int32.self), v, "Y[inverse] gives X back")
            let distinct = Set(v).sorted()
            XCTAssertEqual(out[1].array(Int64.self), distinct.map { d in Int64(v.filter { $0 == d }.count) })
            XCTAssertEqual(out[2].array(Int64.self), [Int64(distinct.count)])
        }
    }

    // MARK: Unique

    func testUniqueMatchesNaiveWithNaNSignedZeroAndAxis() throws {
        let x = Tensor([.nan, 1, .nan, 0, -0.0, 1, -3] as [Float], shape: [7])
        for sorted in [1, 0] {
            let out = try OneNode.run("Unique", opset: 21, [x], attrs: [attr("sorted", sorted)], outputs: [.float32, .int64, .int64, .int64])
            let first: [Int] = sorted == 1 ? [6, 3, 1, 0] : [0, 1, 3, 6]
            XCTAssertEqual(bytes(out[0]), bytes(Tensor(first.map { x.floats[$0] }, shape: [4])), "sorted \(sorted)")
            XCTAssertEqual(out[1].array(Int64.self), first.map { Int64($0) })
            let group = sorted == 1 ? [3, 2, 3, 1, 1, 2, 0] : [0, 1, 0, 2, 2, 1, 3]
            XCTAssertEqual(out[2].array(Int64.self), group.map { Int64($0) })
            XCTAssertEqual(out[3].array(Int64.self), first.indices.map { g in Int64(group.filter { $0 == g }.count) })
        }
        // Slices along axis 1 of [2, 5, 2]; columns 0 and 3 are equal, as are 1 and 4.
        let v: [Int64] = [1, 2, 0, 1, 5, 5, 1, 2, 0, 1,
                          3, 3, 3, 3, 0, 0, 3, 3, 3, 3]
        for axis in [1, -2] {
            let out = try OneNode.run("Unique", opset: 21, [Tensor(v, shape: [2, 5, 2])], attrs: [attr("axis", axis)],
                                      outputs: [.int64, .int64, .int64, .int64])
            // Slices: 0 = [1,2 | 3,3], 1 = [0,1 | 3,3], 2 = [5,5 | 0,0], 3 = 0, 4 = 1. Sorted: 1, 0, 2.
            XCTAssertEqual(out[0].shape, [2, 3, 2])
            XCTAssertEqual(out[0].array(Int64.self), [0, 1, 1, 2, 5, 5, 3, 3, 3, 3, 0, 0])
            XCTAssertEqual(out[1].array(Int64.self), [1, 0, 2])
            XCTAssertEqual(out[2].array(Int64.self), [1, 0, 2, 1, 0])
            XCTAssertEqual(out[3].array(Int64.self), [2, 2, 1])
        }
        let many = randomInts(100_000, seed: 3, range: 0..<977).map { Int32($0) }
        let out = try OneNode.run("Unique", opset: 21, [Tensor(many, shape: [many.count])], outputs: [.int32, .int64, .int64, .int64])
        XCTAssertEqual(out[0].array(Int32.self), Set(many).sorted())
        XCTAssertEqual(out[1].array(Int64.self), Set(many).sorted().map { d in Int64(many.firstIndex(of: d)!) })
        XCTAssertThrowsError(try OneNode.run("Unique", opset: 21, [Tensor([1, 2] as [Float], shape: [2])], attrs: [attr("axis", 1)],
                                             outputs: [.float32]))
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
        let big = randomInts(300_001, seed: 9, range: 0..<3).map { Int8($0) }
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
        let data = randomFloats(shape, seed: 4)
        for axis in [0, 1, 2, -1] {
            let a = (axis + 3) % 3
            var ishape = shape
            ishape[a] = 9
            ishape[(a + 1) % 3] -= 1  // smaller than data along another axis
            let raw = randomInts(ishape.elementCount, seed: axis + 10, range: -shape[a]..<shape[a])
            for dtype in [DType.int64, .int32] {
                let indices = typedTensor(raw, dtype).reshaped(ishape)
                let y = try OneNode.run("GatherElements", opset: 21, [data, indices], attrs: [attr("axis", axis)], outputs: [.float32])[0]
                XCTAssertEqual(y.array(Float.self), naiveElements(ishape, shape, a, raw).map { data.floats[$0] }, "axis \(axis)")
            }
            let updates = randomFloats(ishape, seed: 5)
            for reduction in ["none", "add", "mul", "max", "min"] {
                let y = try OneNode.run("ScatterElements", opset: 18, [data, typedTensor(raw, .int64).reshaped(ishape), updates],
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
        let data = randomFloats([4, 5], seed: 1)
        for bad in [5, -6, Int(Int64.max), Int(Int64.min)] {
            var raw = [Int](repeating: 0, count: 8)
            raw[6] = bad
            let indices = typedTensor(raw, .int64).reshaped([2, 4])
            XCTAssertThrowsError(try OneNode.run("GatherElements", opset: 21, [data, indices], attrs: [attr("axis", 1)], outputs: [.float32]))
            XCTAssertThrowsError(try OneNode.run("ScatterElements", opset: 21, [data, indices, randomFloats([2, 4], seed: 2)],
                                                 attrs: [attr("axis", 1)], outputs: [.float32]))
            XCTAssertThrowsError(try OneNode.run("GatherND", opset: 21, [data, indices.reshaped([4, 2])], outputs: [.float32]))
            XCTAssertThrowsError(try OneNode.run("ScatterND", opset: 21, [data, indices.reshaped([4, 2]), randomFloats([4], seed: 2)],
                                                 outputs: [.float32]))
        }
        // Indices larger than data outside the axis, and updates of the wrong shape.
        XCTAssertThrowsError(try OneNode.run("GatherElements", opset: 21, [data, typedTensor([Int](repeating: 0, count: 6), .int64).reshaped([6, 1])],
                                             attrs: [attr("axis", 1)], outputs: [.float32]))
        XCTAssertThrowsError(try OneNode.run("ScatterND", opset: 21, [data, typedTensor([1, 2], .int64).reshaped([1, 2]), randomFloats([2], seed: 2)],
                                             outputs: [.float32]))
    }

    func testGatherNDAndScatterNDMatchNaive() throws {
        let shape = [3, 4, 5, 6]
        let data = randomFloats(shape, seed: 6)
        let strides = shape.contiguousStrides
        for b in [0, 1, 2] {
            for q in 1...(shape.count - b) {
                let ishape = Array(shape[..<b]) + [7, q]
                let tuples = ishape.dropLast().reduce(1, *)
                var raw = [Int]()
                for t in 0..<tuples { for j in 0..<q { raw.append(randomInts(1, seed: t * 7 + j + b, range: -shape[b + j]..<shape[b + j])[0]) } }
                let y = try OneNode.run("GatherND", opset: 21, [data, typedTensor(raw, .int64).reshaped(ishape)], attrs: [attr("batch_dims", b)],
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
                let updates = randomFloats(Array(ishape.dropLast()) + Array(shape[q...]), seed: q)
                for reduction in ["none", "add", "mul", "max", "min"] {
                    let s = try OneNode.run("ScatterND", opset: 18, [data, typedTensor(raw, .int64).reshaped(ishape), updates],
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
        XCTAssertThrowsError(try OneNode.run("GatherND", opset: 11, [data, typedTensor([0], .int64).reshaped([1, 1])], attrs: [attr("batch_dims", 0)],
                                             outputs: [.float32]))
        XCTAssertThrowsError(try OneNode.run("ScatterND", opset: 13, [data, typedTensor([0], .int64).reshaped([1, 1]),
                                                                      randomFloats([1, 4, 5, 6], seed: 1)],
                                             attrs: [attr("reduction", "add")], outputs: [.float32]))
        XCTAssertThrowsError(try OneNode.run("ScatterND", opset: 16, [data, typedTensor([0], .int64).reshaped([1, 1]),
                                                                      randomFloats([1, 4, 5, 6], seed: 1)],
                                             attrs: [attr("reduction", "max")], outputs: [.float32]))
    }

    // MARK: Generators

    func testRangeTypesAndLengths() throws {
        func range<T: TensorElement>(_ s: T, _ l: T, _ d: T, constant: Bool, opset: Int = 21, stash: Int? = nil) throws -> Tensor {
            try OneNode.run("Range", opset: opset, [Tensor.scalar(s), Tensor.scalar(l), Tensor.scalar(d)], constant: constant ? [0, 1, 2] : [],
                            attrs: stash.map { [attr("stash_type", $0)] } ?? [], outputs: [T.dtype])[0]
        }
        for constant in [false, true] {
            XCTAssertEqual(try range(Int16(10), 4, -2, constant: constant).array(Int16.self), [10, 8, 6])
            XCTAssertEqual(try range(Int32(3), 9, 3, constant: constant).array(Int32.self), [3, 6])
            XCTAssertEqual(try range(Int64.min, Int64.min + 5, 2, constant: constant).array(Int64.self), [Int64.min, Int64.min + 2, Int64.min + 4])
            XCTAssertEqual(try range(Int64(5), 5, 1, constant: constant).count, 0)
            XCTAssertEqual(try range(Int64(5), 9, -1, constant: constant).count, 0)
            XCTAssertEqual(try range(Float(1), 2, 0.25, constant: constant).array(Float.self), [1, 1.25, 1.5, 1.75])
            XCTAssertEqual(try range(Double(0), -1, -0.3, constant: constant).array(Double.self), [0, -0.3, -0.6, -0.8999999999999999])
            XCTAssertThrowsError(try range(Int32(0), 5, 0, constant: constant))
            XCTAssertThrowsError(try range(Float(0), .infinity, 1, constant: constant))
            XCTAssertThrowsError(try range(Float(0), 1, .nan, constant: constant))
            XCTAssertThrowsError(try range(Int64.min, Int64.max, 1, constant: constant))
        }
        // float16 at opset 27 computes in float32 (the default stash type) or float64, rounding each element once.
        let n = 3000
        for stash in [1, 11] {
            let y = try range(Half(2048), Half(2048 + Float(n)), Half(1), constant: false, opset: 27, stash: stash)
            XCTAssertEqual(y.shape, [n])
            XCTAssertEqual(y.buffer(Half.self).map(\.float), (0..<n).map { Half(Float(2048 + $0)).float })
        }
        XCTAssertThrowsError(try range(Half(0), Half(1), Half(0.5), constant: false, opset: 27, stash: 10))
    }

    func testOneHotIndicesOfEveryKindAndAxis() throws {
        let indices = Tensor([2, -1, 5, -4, 0, 1.9, -3.7] as [Float], shape: [7])
        let values = Tensor([Int8(-1), 9], shape: [2])
        for depth: Float in [4, 4.8] {
            for axis in [0, -1, 1, -2] {
                let y = try OneNode.run("OneHot", opset: 21, [indices, Tensor.scalar(depth), values], attrs: [attr("axis", axis)],
                                        outputs: [.int8])[0]
                let hot = [2, 3, nil, 0, 0, 1, 1]  // -4 wraps to 0; 5 is out of range; floats truncate
                let last = axis == -1 || axis == 1
                XCTAssertEqual(y.shape, last ? [7, 4] : [4, 7])
                var want = [Int8](repeating: -1, count: 28)
                for (i, h) in hot.enumerated() { if let h { want[last ? i * 4 + h : h * 7 + i] = 9 } }
                XCTAssertEqual(y.array(Int8.self), want, "depth \(depth) axis \(axis)")
            }
        }
        XCTAssertThrowsError(try OneNode.run("OneHot", opset: 21, [indices, Tensor.scalar(Int64(0)), values], outputs: [.int8]))
        XCTAssertThrowsError(try OneNode.run("OneHot", opset: 21, [indices, Tensor.scalar(Float.nan), values], outputs: [.int8]))
        XCTAssertThrowsError(try OneNode.run("OneHot", opset: 21, [indices, Tensor.scalar(Int64(3)), values], attrs: [attr("axis", 3)],
                                             outputs: [.int8]))
    }

    func testEyeLikeTypesAndDiagonals() throws {
        for dtype in [DType.bfloat16, .bool, .uint16, .float64] {
            for k in [0, 2, -1, 9, Int(Int64.min)] {
                let y = try OneNode.run("EyeLike", opset: 21, [patterned(.int32, [3, 4])], attrs: [attr("dtype", Int(dtype.rawValue)), attr("k", k)],
                                        outputs: [dtype])[0]
                let one = try! Tensor(dtype: dtype, shape: [1])
                storeOne(one)
                var want = [UInt8](repeating: 0, count: y.byteCount)
                for i in 0..<3 where i + k >= 0 && i + k < 4 {
                    for b in 0..<dtype.byteSize { want[(i * 4 + i + k) * dtype.byteSize + b] = bytes(one)[b] }
                }
                XCTAssertEqual(bytes(y), want, "\(dtype) k \(k)")
            }
        }
        XCTAssertThrowsError(try OneNode.run("EyeLike", opset: 21, [patterned(.float32, [3])], outputs: [.float32]))
    }

    // MARK: Layout

    func testTileAndTriluMatchNaive() throws {
        for dtype in [DType.uint8, .float16, .int64] {
            let x = patterned(dtype, [3, 1, 70])
            for repeats in [[2, 3, 1], [1, 1, 4], [0, 2, 2]] {
                let y = try OneNode.run("Tile", opset: 21, [x, typedTensor(repeats, .int64)], constant: [1], outputs: [dtype])[0]
                XCTAssertEqual(y.shape, zip(x.shape, repeats).map { $0 * $1 })
                XCTAssertEqual(bytes(y), naiveBytes(x, y.shape) { o in zip(o, x.shape).map { $0 % $1 } }, "\(dtype) \(repeats)")
            }
        }
        XCTAssertThrowsError(try OneNode.run("Tile", opset: 21, [patterned(.float32, [2]), typedTensor([-1], .int64)], outputs: [.float32]))
        XCTAssertThrowsError(try OneNode.run("Tile", opset: 21, [patterned(.float32, [2]), typedTensor([2, 2], .int64)], outputs: [.float32]))

        let x = patterned(.int16, [2, 5, 300])
        for upper in [1, 0] {
            for k in [0, 3, -2, 400, -400, Int(Int64.max), Int(Int64.min)] {
                let y = try OneNode.run("Trilu", opset: 21, [x, Tensor.scalar(Int64(k))], attrs: [attr("upper", upper)], outputs: [.int16])[0]
                let v = x.array(Int16.self)
                let want = v.indices.map { e -> Int16 in
                    let i = e / 300 % 5, j = e % 300
                    let keep = upper == 1 ? j - i >= k : j - i <= k
                    return keep ? v[e] : 0
                }
                XCTAssertEqual(y.array(Int16.self), want, "upper \(upper) k \(k)")
            }
        }
        XCTAssertThrowsError(try OneNode.run("Trilu", opset: 21, [patterned(.float32, [4])], outputs: [.float32]))
    }

    func testDepthToSpaceAndSpaceToDepthInvertEachOther() throws {
        let x = patterned(.float32, [2, 8, 3, 5])
        for mode in ["DCR", "CRD"] {
            let y = try OneNode.run("DepthToSpace", opset: 28, [x], attrs: [attr("blocksize", 2), attr("mode", mode)], outputs: [.float32])[0]
            XCTAssertEqual(y.shape, [2, 2, 6, 10])
            // The spec's formulas, element by element.
            let want = naiveBytes(x, y.shape) { o in
                let (n, c, h, w) = (o[0], o[1], o[2], o[3]), (bh, bw) = (h % 2, w % 2)
                let depth = mode == "DCR" ? (bh * 2 + bw) * 2 + c : c * 4 + bh * 2 + bw
                return [n, depth, h / 2, w / 2]
            }
            XCTAssertEqual(bytes(y), want, mode)
            let back = try OneNode.run("SpaceToDepth", opset: 28, [y], attrs: [attr("blocksize", 2), attr("mode", mode)], outputs: [.float32])[0]
            XCTAssertEqual(bytes(back), bytes(x), mode)
        }
        // `mode` is an attribute of SpaceToDepth only from opset 28, of DepthToSpace from opset 11 (DCR before).
        XCTAssertThrowsError(try OneNode.run("SpaceToDepth", opset: 21, [x], attrs: [attr("blocksize", 2), attr("mode", "CRD")], outputs: [.float32]))
        XCTAssertThrowsError(try OneNode.run("DepthToSpace", opset: 9, [x], attrs: [attr("blocksize", 2), attr("mode", "DCR")], outputs: [.float32]))
        let old = try OneNode.run("DepthToSpace", opset: 9, [x], attrs: [attr("blocksize", 2)], outputs: [.float32])[0]
        XCTAssertEqual(bytes(old), bytes(try OneNode.run("DepthToSpace", opset: 21, [x], attrs: [attr("blocksize", 2), attr("mode", "DCR")],
                                                         outputs: [.float32])[0]))
        XCTAssertThrowsError(try OneNode.run("DepthToSpace", opset: 21, [x], attrs: [attr("blocksize", 2), attr("mode", "RCD")], outputs: [.float32]))
        XCTAssertThrowsError(try OneNode.run("DepthToSpace", opset: 21, [patterned(.float32, [1, 6, 2, 2])], attrs: [attr("blocksize", 2)],
                                             outputs: [.float32]))
        XCTAssertThrowsError(try OneNode.run("SpaceToDepth", opset: 21, [patterned(.float32, [1, 1, 3, 2])], attrs: [attr("blocksize", 2)],
                                             outputs: [.float32]))
    }

    func testReverseSequenceAndCenterCropPad() throws {
        let x = patterned(.uint32, [4, 3, 2])
        let lens = [4, 0, 2]
        let y = try OneNode.run("ReverseSequence", opset: 21, [x, typedTensor(lens, .int64)], outputs: [.uint32])[0]
        XCTAssertEqual(bytes(y), naiveBytes(x, x.shape) { o in [o[0] < lens[o[1]] ? lens[o[1]] - 1 - o[0] : o[0], o[1], o[2]] })
        let xt = patterned(.uint32, [3, 4, 2])
        let yt = try OneNode.run("ReverseSequence", opset: 21, [xt, typedTensor(lens, .int64)], attrs: [attr("batch_axis", 0), attr("time_axis", 1)],
                                 outputs: [.uint32])[0]
        XCTAssertEqual(bytes(yt), naiveBytes(xt, xt.shape) { o in [o[0], o[1] < lens[o[0]] ? lens[o[0]] - 1 - o[1] : o[1], o[2]] })
        XCTAssertThrowsError(try OneNode.run("ReverseSequence", opset: 21, [x, typedTensor([5, 0, 0], .int64)], outputs: [.uint32]))
        XCTAssertThrowsError(try OneNode.run("ReverseSequence", opset: 21, [x, typedTensor([-1, 0, 0], .int64)], outputs: [.uint32]))
        XCTAssertThrowsError(try OneNode.run("ReverseSequence", opset: 21, [x, typedTensor([1, 1], .int64)], outputs: [.uint32]))

        let image = patterned(.bfloat16, [5, 6, 3])
        for (axes, target) in [([0, 1], [2, 9]), ([-3, -2], [8, 3]), ([1], [6]), ([2, 0], [1, 5])] {
            let y = try OneNode.run("CenterCropPad", opset: 18, [image, typedTensor(target, .int32)], attrs: [attr("axes", axes)],
                                    outputs: [.bfloat16])[0]
            var shape = image.shape, shift = [0, 0, 0]
            for (a, t) in zip(axes.map { ($0 + 3) % 3 }, target) {
                shape[a] = t
                shift[a] = (image.shape[a] - t).signum() * (abs(image.shape[a] - t) / 2)  // crop start, or minus pad start
            }
            XCTAssertEqual(y.shape, shape)
            let zero = try! Tensor(dtype: .bfloat16, shape: [1])
            XCTAssertEqual(bytes(y), naiveBytes(image, shape, fill: zero) { o in
                let i = zip(o, shift).map { $0 + $1 }
                return zip(i, image.shape).allSatisfy { $0 >= 0 && $0 < $1 } ? i : nil
            }, "\(axes) \(target)")
        }
        XCTAssertThrowsError(try OneNode.run("CenterCropPad", opset: 18, [image, typedTensor([-1], .int64)], attrs: [attr("axes", [0])],
                                             outputs: [.bfloat16]))
        XCTAssertThrowsError(try OneNode.run("CenterCropPad", opset: 18, [image, typedTensor([1, 2], .int64)], attrs: [attr("axes", [0, -3])],
                                             outputs: [.bfloat16]))
    }

    func testSizeFoldsForKnownShapesAndRunsForSymbolicOnes() throws {
        for symbolic in [false, true] {
            var b = ModelBuilder(opset: 21)
            b.input("x", .bool, symbolic ? [.symbol("n"), .fixed(3)] : [.fixed(4), .fixed(3)])
            b.node("Size", ["x"], ["s"])
            b.node("Add", ["s", "s"], ["y"])
            b.output("y", .int64)
            let model = try b.load()
            XCTAssertEqual(model.graph.nodes.map(\.op.name), symbolic ? ["Size", "Add"] : ["Add"], "Size of a known shape is a constant")
            XCTAssertEqual(try InferenceSession(model: model).run([patterned(.bool, [4, 3])])[0].array(Int64.self), [24])
        }
    }

    /// The data-movement ops that existed before (byte-generic) on every element type, with an empty dim.
    func testShapeOpsOnEveryTypeWithEmptyDims() throws {
        for dtype in DType.numeric {
            let x = patterned(dtype, [3, 0, 2]), y = patterned(dtype, [3, 4, 2])
            var b = ModelBuilder(opset: 21)
            b.input("x", dtype, [.fixed(3), .fixed(0), .fixed(2)]); b.input("y", dtype, [.fixed(3), .fixed(4), .fixed(2)])
            for (name, v) in [("i", [2, 0]), ("s", [0, 1]), ("e", [3, 3]), ("a", [0, 1]), ("shape", [2, 3, 0, 2]),
                              ("pads", [0, 1, 0, 0, 1, 0]), ("sp", [1, 2]), ("u", [0]), ("rs", [0, -1])] {
                b.constant(name, typedTensor(v, .int64))
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
            XCTAssertEqual(bytes(out[0]), naiveBytes(y, [2, 2, 2]) { o in [[2, 0][o[1]], o[2] + 1, o[0]] }, "\(dtype)")
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

private func topK(_ x: Tensor, k: Int, axis: Int, largest: Int) throws -> (Tensor, Tensor) {
    let out = try OneNode.run("TopK", opset: 21, [x, Tensor([Int64(k)], shape: [1])], attrs: [attr("axis", axis), attr("largest", largest)],
                              outputs: [x.dtype, .int64])
    return (out[0], out[1])
}

/// Values and positions of the k best along `axis`, NaN above everything, ties by position.
private func naiveTopK(_ v: [Float], _ shape: [Int], axis: Int, k: Int, largest: Bool) -> ([Float], [Int64]) {
    let outer = shape[..<axis].reduce(1, *), n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
    func before(_ a: Float, _ b: Float) -> Bool {
        if a.isNaN || b.isNaN { return largest ? (a.isNaN && !b.isNaN) : (b.isNaN && !a.isNaN) }
        return largest ? a > b : a < b
    }
    var values = [Float](repeating: 0, count: outer * k * inner), positions = [Int64](repeating: 0, count: outer * k * inner)
    for o in 0..<outer {
        for i in 0..<inner {
            let row = (0..<n).map { v[(o * n + $0) * inner + i] }
            let order = (0..<n).sorted { p, q in
                let same = row[p] == row[q] || (row[p].isNaN && row[q].isNaN)
                return same ? p < q : before(row[p], row[q])
            }
            for t in 0..<k {
                values[(o * k + t) * inner + i] = row[order[t]]
                positions[(o * k + t) * inner + i] = Int64(order[t])
            }
        }
    }
    return (values, positions)
}

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

/// The bytes of a tensor of `shape` whose element at output coordinates o is x's element at `source(o)` (or
/// `fill`'s first element, zero bytes by default, where it is nil).
private func naiveBytes(_ x: Tensor, _ shape: [Int], fill: Tensor? = nil, _ source: ([Int]) -> [Int]?) -> [UInt8] {
    let size = x.dtype.byteSize
    var out = [UInt8]()
    for flat in 0..<shape.elementCount {
        var o = [Int](repeating: 0, count: shape.count), r = flat
        for d in shape.indices.reversed() { o[d] = r % shape[d]; r /= shape[d] }
        guard let i = source(o) else { out += fill.map { Array(bytes($0).prefix(size)) } ?? [UInt8](repeating: 0, count: size); continue }
        let at = zip(i, x.shape).reduce(0) { $0 * $1.1 + $1.0 }
        out += (0..<size).map { x.raw.load(fromByteOffset: at * size + $0, as: UInt8.self) }
    }
    return out
}

/// Deterministic floats in [-1, 1), or with `levels`, one of that many values (for ties).
private func randomFloats(_ shape: [Int], seed: Int, levels: Int? = nil) -> Tensor {
    var state = UInt64(seed) &* 6364136223846793005 &+ 1442695040888963407
    let v = (0..<shape.elementCount).map { _ -> Float in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let u = Float(state >> 40) / Float(1 << 24)
        return levels.map { Float(Int(u * Float($0))) } ?? u * 2 - 1
    }
    return Tensor(v, shape: shape)
}

private func randomInts(_ n: Int, seed: Int, range: Range<Int>) -> [Int] {
    var state = UInt64(bitPattern: Int64(seed)) &* 6364136223846793005 &+ 1442695040888963407
    return (0..<n).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return range.lowerBound + Int((state >> 33) % UInt64(range.count))
    }
}

/// An integer tensor of `dtype` (1-D) with these values.
private func typedTensor(_ v: [Int], _ dtype: DType) -> Tensor {
    let t = try! Tensor(dtype: dtype, shape: [v.count])
    for (k, x) in v.enumerated() {
        let p = t.raw + k * dtype.byteSize
        switch dtype.byteSize {
        case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: x), as: UInt8.self)
        case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: x), as: UInt16.self)
        case 4: p.storeBytes(of: UInt32(truncatingIfNeeded: x), as: UInt32.self)
        default: p.storeBytes(of: UInt64(truncatingIfNeeded: x), as: UInt64.self)
        }
    }
    return t
}

private func boolTensor(_ v: [Bool]) -> Tensor {
    let t = try! Tensor(dtype: .bool, shape: [v.count])
    for (k, b) in v.enumerated() { t.raw.storeBytes(of: b, toByteOffset: k, as: Bool.self) }
    return t
}

/// Writes 1 of the tensor's type into its first element.
private func storeOne(_ t: Tensor) {
    switch t.dtype {
    case .float32: t.raw.storeBytes(of: Float(1), as: Float.self)
    case .float64: t.raw.storeBytes(of: Double(1), as: Double.self)
    case .float16: t.raw.storeBytes(of: UInt16(0x3C00), as: UInt16.self)
    case .bfloat16: t.raw.storeBytes(of: UInt16(0x3F80), as: UInt16.self)
    default: t.raw.storeBytes(of: UInt8(1), as: UInt8.self)
    }
}

private extension DType {
    var isSigned: Bool { [.int8, .int16, .int32, .int64].contains(self) }
}
