import DLInferCore
import DLInferONNX
import DLInferEngine
import Foundation
import XCTest

/// What the ONNX node tests miss for the shape/data-movement ops: the fast paths at awkward sizes and every element
/// size against naive references written here, legacy opsets' attribute forms, symbolic dims, and bad input that must
/// be rejected with an error rather than a crash.
final class TensorOpsTests: XCTestCase {

    // MARK: Transpose

    func testTransposeMatchesNaiveForEveryElementSize() throws {
        let cases: [([Int], [Int]?)] = [
            ([3, 67, 131], [0, 2, 1]),          // batched 2-D transpose: tiles
            ([2, 19, 33, 17], [0, 2, 3, 1]),    // NCHW -> NHWC
            ([2, 33, 17, 19], [0, 3, 1, 2]),    // NHWC -> NCHW
            ([4, 1, 5, 1, 3], [4, 2, 0, 3, 1]), // size-1 dims
            ([5, 6, 7, 8], [1, 0, 2, 3]),       // innermost dim stays: row copies
            ([7, 300, 2], [2, 1, 0]),
            ([129, 257], [1, 0]),
            ([2, 3, 4], nil),                   // default: reversed
            ([3, 1, 4], [1, 0, 2]),             // moves only a size-1 dim: a view
        ]
        for dtype in [DType.int8, .int16, .float32, .int64] {
            for (shape, perm) in cases {
                var b = ModelBuilder(opset: 21)
                b.input("x", dtype, shape.map { .fixed($0) })
                b.node("Transpose", ["x"], ["y"], perm.map { [attr("perm", $0)] } ?? [])
                b.output("y", dtype)
                let x = patterned(dtype, shape)
                let y = try b.run([x])[0]
                let p = perm ?? Array((0..<shape.count).reversed())
                let want = naive(x, outShape: p.map { shape[$0] }) { o in
                    var i = [Int](repeating: 0, count: shape.count)
                    for (k, d) in p.enumerated() { i[d] = o[k] }
                    return i
                }
                XCTAssertEqual(y.shape, want.shape, "\(dtype) \(shape) \(String(describing: perm))")
                XCTAssertEqual(bytes(y), bytes(want), "\(dtype) \(shape) \(String(describing: perm))")
            }
        }
    }

    // MARK: Slice

    func testSliceMatchesNaive() throws {
        let big = Int(Int64.max), small = Int(Int64.min)
        let shape = [6, 7, 9]
        // (starts, ends, axes, steps)
        let cases: [([Int], [Int], [Int]?, [Int]?)] = [
            ([1, 2], [5, 6], nil, nil),
            ([0], [big], [2], [2]),                       // step on the innermost dim
            ([-1], [small], [1], [-1]),                   // full reverse
            ([big, -100], [small, 100], [0, 2], [-2, 3]), // clamped from both sides
            ([4, 1, 8], [1, 6, -10], [-3, 1, -1], [-1, 2, -3]),
            ([2], [2], [0], nil),                         // empty
            ([0, 0], [big, 3], [0, 1], nil),              // whole outer dims: row copies
            ([-100], [3], [2], [big]),                    // a huge step picks one element
        ]
        for dtype in [DType.uint8, .float16, .int32, .float64] {
            for (starts, ends, axes, steps) in cases {
                var b = ModelBuilder(opset: 13)
                b.input("x", dtype, shape.map { .fixed($0) })
                b.constant("starts", int64(starts))
                b.constant("ends", int64(ends))
                var ins = ["x", "starts", "ends"]
                if let axes { b.constant("axes", int64(axes)); ins.append("axes") }
                if let steps {
                    if axes == nil { ins.append("") }
                    b.constant("steps", int64(steps)); ins.append("steps")
                }
                b.node("Slice", ins, ["y"])
                b.output("y", dtype)
                let x = patterned(dtype, shape)
                let y = try b.run([x])[0]
                // Per axis, the selected indices, by walking as numpy does.
                var picks = shape.map { Array(0..<$0) }
                for (k, a) in (axes ?? Array(0..<starts.count)).enumerated() {
                    let ax = a < 0 ? a + shape.count : a, n = shape[ax], step = steps?[k] ?? 1
                    picks[ax] = walk(n: n, start: starts[k], end: ends[k], step: step)
                }
                let want = naive(x, outShape: picks.map(\.count)) { o in o.enumerated().map { picks[$0][$1] } }
                let label = "\(dtype) \(starts) \(ends) \(String(describing: axes)) \(String(describing: steps))"
                XCTAssertEqual(y.shape, want.shape, label)
                XCTAssertEqual(bytes(y), bytes(want), label)
            }
        }
    }

    func testLegacySliceAttributesOpset9() throws {
        var b = ModelBuilder(opset: 9)
        b.input("x", .float32, [.fixed(3), .fixed(4)])
        b.node("Slice", ["x"], ["y"], [attr("starts", [1, -3]), attr("ends", [100, -1]), attr("axes", [0, 1])])
        b.output("y", .float32)
        let y = try b.run([Tensor((0..<12).map { Float($0) }, shape: [3, 4])])[0]
        XCTAssertEqual(y.shape, [2, 2])
        XCTAssertEqual(y.array(Float.self), [5, 6, 9, 10])
    }

    // MARK: Concat and Split

    func testConcatAndSplitLargeTinyAndEmptyParts() throws {
        // Large blocks (cut into pieces across threads), one-element blocks (typed moves) and an empty part.
        let cases: [([[Int]], Int)] = [
            ([[1, 20_000], [2, 20_000]], 0),
            ([[1000, 1], [1000, 2], [1000, 0]], 1),
            ([[2, 3, 5], [2, 4, 5]], -2),
        ]
        for dtype in [DType.bool, .uint16, .float32, .int64] {
            for (shapes, axis) in cases {
                let rank = shapes[0].count, a = axis < 0 ? axis + rank : axis
                var b = ModelBuilder(opset: 13)
                for (k, s) in shapes.enumerated() { b.input("x\(k)", dtype, s.map { .fixed($0) }) }
                b.node("Concat", shapes.indices.map { "x\($0)" }, ["y"], [attr("axis", axis)])
                b.constant("split", int64(shapes.map { $0[a] }))
                b.node("Split", ["y", "split"], shapes.indices.map { "p\($0)" }, [attr("axis", axis)])
                b.output("y", dtype)
                for k in shapes.indices { b.output("p\(k)", dtype) }
                let xs = shapes.enumerated().map { k, s in patterned(dtype, s, seed: k) }
                let outs = try b.run(xs)
                var outShape = shapes[0]
                outShape[a] = shapes.map { $0[a] }.reduce(0, +)
                let offsets = shapes.map { $0[a] }.reduce(into: [0]) { $0.append($0.last! + $1) }
                let want = naive(xs[0], outShape: outShape, sources: xs) { o in
                    let k = shapes.indices.first { o[a] < offsets[$0 + 1] }!
                    var i = o
                    i[a] -= offsets[k]
                    return (k, i)
                }
                XCTAssertEqual(bytes(outs[0]), bytes(want), "Concat \(dtype) \(shapes) axis \(axis)")
                for k in shapes.indices {
                    XCTAssertEqual(outs[1 + k].shape, shapes[k])
                    XCTAssertEqual(bytes(outs[1 + k]), bytes(xs[k]), "Split \(dtype) \(shapes) part \(k)")
                }
            }
        }
    }

    func testSplitLegacyAttributeEqualPartsAndNumOutputs() throws {
        let x = Tensor((0..<14).map { Int32($0) }, shape: [2, 7])
        // Opset 11: sizes as an attribute.
        var b = ModelBuilder(opset: 11)
        b.input("x", .int32, [.fixed(2), .fixed(7)])
        b.node("Split", ["x"], ["a", "b"], [attr("axis", 1), attr("split", [3, 4])])
        b.output("a", .int32); b.output("b", .int32)
        var outs = try b.run([x])
        XCTAssertEqual(outs[0].array(Int32.self), [0, 1, 2, 7, 8, 9])
        XCTAssertEqual(outs[1].array(Int32.self), [3, 4, 5, 6, 10, 11, 12, 13])
        // Opset 13 without sizes: equal parts, which 7 does not allow.
        b = ModelBuilder(opset: 13)
        b.input("x", .int32, [.fixed(2), .fixed(7)])
        b.node("Split", ["x"], ["a", "b"], [attr("axis", -1)])
        b.output("a", .int32); b.output("b", .int32)
        XCTAssertThrowsError(try b.load()) { XCTAssertTrue("\($0)".contains("equal parts"), "\($0)") }
        // An empty `split` input counts as none (as in onnxruntime).
        b = ModelBuilder(opset: 13)
        b.input("x", .int32, [.fixed(7), .fixed(2)])
        b.constant("none", try! Tensor(dtype: .int64, shape: [0]))
        b.node("Split", ["x", "none"], ["a", "b"], [attr("axis", 1)])
        b.output("a", .int32); b.output("b", .int32)
        outs = try b.run([x.reshaped([7, 2])])
        XCTAssertEqual(outs.map(\.shape), [[7, 1], [7, 1]])
        XCTAssertEqual(outs[1].array(Int32.self), [1, 3, 5, 7, 9, 11, 13])
        // Opset 18 num_outputs: ceil(7/3) = 3, 3, then the last takes 1.
        b = ModelBuilder(opset: 18)
        b.input("x", .int32, [.fixed(2), .fixed(7)])
        b.node("Split", ["x"], ["a", "b", "c"], [attr("axis", 1), attr("num_outputs", 3)])
        b.output("a", .int32); b.output("b", .int32); b.output("c", .int32)
        outs = try b.run([x])
        XCTAssertEqual(outs.map(\.shape), [[2, 3], [2, 3], [2, 1]])
        XCTAssertEqual(outs[2].array(Int32.self), [6, 13])
        // num_outputs must match the outputs.
        b = ModelBuilder(opset: 18)
        b.input("x", .int32, [.fixed(2), .fixed(7)])
        b.node("Split", ["x"], ["a", "b"], [attr("axis", 1), attr("num_outputs", 3)])
        b.output("a", .int32); b.output("b", .int32)
        XCTAssertThrowsError(try b.load())
    }

    // MARK: Gather

    func testGatherAnyAxisNegativeAndScalarIndices() throws {
        let shape = [3, 5, 4]
        for (axis, idx, ishape) in [(1, [-1, 0, 2, 4], [2, 2]), (0, [2], []), (-1, [3, -4, 1], [3]), (0, [0, 2, 1, 2], [4])] {
            for dtype in [DType.int8, .float16, .float32, .int64] {
                var b = ModelBuilder(opset: 13)
                b.input("x", dtype, shape.map { .fixed($0) })
                b.input("i", .int32, ishape.map { .fixed($0) })
                b.node("Gather", ["x", "i"], ["y"], [attr("axis", axis)])
                b.output("y", dtype)
                let x = patterned(dtype, shape)
                let y = try b.run([x, Tensor(idx.map { Int32($0) }, shape: ishape)])[0]
                let a = axis < 0 ? axis + 3 : axis
                let outShape = Array(shape[..<a]) + ishape + Array(shape[(a + 1)...])
                let want = naive(x, outShape: outShape) { o in
                    let flat = ishape.isEmpty ? 0 : o[a..<(a + ishape.count)].enumerated().reduce(0) { $0 * ishape[$1.offset] + $1.element }
                    let v = idx[flat]
                    return Array(o[..<a]) + [v < 0 ? v + shape[a] : v] + Array(o[(a + ishape.count)...])
                }
                XCTAssertEqual(y.shape, outShape)
                XCTAssertEqual(bytes(y), bytes(want), "axis \(axis) \(idx) \(dtype)")
            }
        }
    }

    func testGatherRejectsOutOfRangeIndices() throws {
        // Indices known at load: rejected at load.
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.fixed(4), .fixed(2)])
        b.constant("i", int64([0, 4]))
        b.node("Gather", ["x", "i"], ["y"])
        b.output("y", .float32)
        XCTAssertThrowsError(try b.load()) { XCTAssertTrue("\($0)".contains("index 4 is out of range"), "\($0)") }
        // Indices known at run time: the run fails, nothing is read.
        b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.fixed(4), .fixed(2)])
        b.input("i", .int64, [.fixed(2)])
        b.node("Gather", ["x", "i"], ["y"])
        b.output("y", .float32)
        let s = try InferenceSession(model: b.load())
        XCTAssertThrowsError(try s.run([patterned(.float32, [4, 2]), Tensor([Int64(1), -5], shape: [2])])) {
            XCTAssertTrue("\($0)".contains("index -5 is out of range"), "\($0)")
        }
    }

    // MARK: Cast

    func testCastFloat16RoundsToNearestEven() throws {
        // Every finite half, ascending, as the reference's candidates.
        let halves = (0..<0x7C00).map { halfValue(UInt16($0)) }
        var values: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, 1e6, -1e6, .infinity, -.infinity, 5.9604645e-8,
                               2.9802322e-8, 2.9802326e-8, 1e-10, 6.1035156e-5, 6.1e-5, .leastNormalMagnitude]
        for i in stride(from: 0, to: halves.count - 1, by: 37) {
            values.append(Float((halves[i] + halves[i + 1]) / 2))  // exact ties
            values.append(Float(halves[i]).nextUp)
            values.append(-Float(halves[i + 1]).nextDown)
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5000 { values.append(Float(bitPattern: UInt32.random(in: 0..<0x7F80_0000, using: &rng)) * (Bool.random() ? 1 : -1)) }
        var b = ModelBuilder(opset: 21)
        b.input("x", .float32, [.symbol("n")])
        b.node("Cast", ["x"], ["y"], [attr("to", Int(DType.float16.rawValue))])
        b.output("y", .float16)
        let got = halfBits(try b.run([Tensor(values, shape: [values.count])])[0])
        for (k, v) in values.enumerated() {
            XCTAssertEqual(got[k], referenceHalf(Double(v), halves), "float \(v)")
        }
        // NaN stays NaN.
        let n = halfBits(try b.run([Tensor([Float.nan], shape: [1])])[0])[0]
        XCTAssertTrue(n & 0x7C00 == 0x7C00 && n & 0x03FF != 0, String(n, radix: 16))

        // From double, just off the ties: rounding to float first would land on the tie and round the wrong way.
        var doubles: [Double] = [65519.999999, 65520, 1e300, -1e-300, 2.9802322387695312e-8 * (1 + 1e-12)]
        for i in stride(from: 0, to: halves.count - 1, by: 53) {
            let tie = (halves[i] + halves[i + 1]) / 2
            doubles += [tie, tie * (1 + 1e-12), tie * (1 - 1e-12), -tie * (1 + 1e-13)]
        }
        b = ModelBuilder(opset: 21)
        b.input("x", .float64, [.symbol("n")])
        b.node("Cast", ["x"], ["y"], [attr("to", Int(DType.float16.rawValue))])
        b.output("y", .float16)
        let fromDouble = halfBits(try b.run([Tensor(doubles, shape: [doubles.count])])[0])
        for (k, v) in doubles.enumerated() {
            XCTAssertEqual(fromDouble[k], referenceHalf(v, halves), "double \(v)")
        }
    }

    func testCastFromFloat16DecodesEveryBitPattern() throws {
        let x = try! Tensor(dtype: .float16, shape: [65536])
        for i in 0..<65536 { x.raw.storeBytes(of: UInt16(i), toByteOffset: 2 * i, as: UInt16.self) }
        var b = ModelBuilder(opset: 13)
        b.input("x", .float16, [.fixed(65536)])
        b.node("Cast", ["x"], ["y"], [attr("to", Int(DType.float64.rawValue))])
        b.node("Cast", ["x"], ["f"], [attr("to", Int(DType.float32.rawValue))])
        b.output("y", .float64)
        b.output("f", .float32)
        let outs = try b.run([x])
        let y = outs[0].array(Double.self), f = outs[1].array(Float.self)
        for i in 0..<65536 {
            let want = halfValue(UInt16(i))
            if want.isNaN {
                XCTAssertTrue(y[i].isNaN && f[i].isNaN)
            } else {
                XCTAssertEqual(y[i], want, "half 0x\(String(i, radix: 16))")
                XCTAssertEqual(Double(f[i]), want, "half 0x\(String(i, radix: 16))")
                XCTAssertEqual(f[i].sign, want.sign)
            }
        }
    }

    func testCastIntegerAndBoolRules() throws {
        func cast(_ x: Tensor, _ to: DType) throws -> Tensor {
            var b = ModelBuilder(opset: 13)
            b.input("x", x.dtype, x.shape.map { .fixed($0) })
            b.node("Cast", ["x"], ["y"], [attr("to", Int(to.rawValue))])
            b.output("y", to)
            return try b.run([x])[0]
        }
        let f = Tensor([Float(2.9), -2.9, .nan, 1e10, -1e10, 0.5, -0.0, .infinity], shape: [8])
        XCTAssertEqual(try cast(f, .int32).array(Int32.self), [2, -2, 0, .max, .min, 0, 0, .max])
        XCTAssertEqual(try cast(f, .uint8).array(UInt8.self), [2, 0, 0, 255, 0, 0, 0, 255])
        XCTAssertEqual(try cast(f, .int64).array(Int64.self), [2, -2, 0, 10_000_000_000, -10_000_000_000, 0, 0, .max])
        XCTAssertEqual(try cast(f, .bool).array(Bool.self), [true, true, true, true, true, true, false, true])
        let i = Tensor([Int64(300), -1, 16_777_217, Int64.max], shape: [4])
        XCTAssertEqual(try cast(i, .int8).array(Int8.self), [44, -1, 1, -1])
        XCTAssertEqual(try cast(i, .uint16).array(UInt16.self), [300, 65535, 1, 65535])
        XCTAssertEqual(try cast(i, .float32).array(Float.self), [300, -1, 16_777_216, 9.223372e18])
        XCTAssertEqual(try cast(i, .float64).array(Double.self), [300, -1, 16_777_217, 9.223372036854775807e18])
        let t = Tensor([true, false], shape: [2])
        XCTAssertEqual(try cast(t, .float32).array(Float.self), [1, 0])
        XCTAssertEqual(try cast(t, .int64).array(Int64.self), [1, 0])
        XCTAssertEqual(try cast(Tensor([Double(1) + 1e-12], shape: [1]), .float32).array(Float.self), [1])
    }

    func testCastRejectsUnsupportedTargets() throws {
        for (code, name) in [(8, "string"), (22, "int4"), (23, "float4e2m1")] {
            var b = ModelBuilder(opset: 21)
            b.input("x", .float32, [.fixed(2)])
            b.node("Cast", ["x"], ["y"], [attr("to", code)])
            b.output("y", .float32)
            XCTAssertThrowsError(try b.load()) { XCTAssertTrue("\($0)".contains("casting to \(name)"), "\($0)") }
        }
        // saturate exists from opset 19 only.
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.fixed(2)])
        b.node("Cast", ["x"], ["y"], [attr("to", 1), attr("saturate", 0)])
        b.output("y", .float32)
        XCTAssertThrowsError(try b.load()) { XCTAssertTrue("\($0)".contains("saturate"), "\($0)") }
    }

    // MARK: Reshape family, symbolic dims and shape chains

    func testReshapeFamilyKeepsSymbolicBatch() throws {
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.symbol("batch"), .fixed(3), .fixed(4)])
        b.constant("s1", int64([-1, 12]))
        b.constant("s2", int64([0, 2, -1]))
        b.constant("ax", int64([1, -1]))
        b.node("Reshape", ["x", "s1"], ["r1"])
        b.node("Reshape", ["x", "s2"], ["r2"])
        b.node("Flatten", ["x"], ["f"], [attr("axis", -1)])
        b.node("Unsqueeze", ["x", "ax"], ["u"])
        b.node("Squeeze", ["u", "ax"], ["sq"])
        for o in ["r1", "r2", "f", "u", "sq"] { b.output(o, .float32) }
        let m = try b.load()
        XCTAssertEqual(m.outputs.map { $0.type.shape.map(dimsString) ?? "*" },
                       ["[batch,12]", "[batch,2,6]", "[?,4]", "[batch,1,3,4,1]", "[batch,3,4]"])
        let x = patterned(.float32, [5, 3, 4])
        let outs = try InferenceSession(model: m).run([x])
        XCTAssertEqual(outs.map(\.shape), [[5, 12], [5, 2, 6], [15, 4], [5, 1, 3, 4, 1], [5, 3, 4]])
        for o in outs { XCTAssertEqual(bytes(o), bytes(x)) }
    }

    func testReshapeOfSymbolicInputIsCheckedAtRunTime() throws {
        // 3 * batch elements into rows of 2: fine for an even batch, which load cannot know.
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.symbol("batch"), .fixed(3)])
        b.constant("s", int64([-1, 2]))
        b.node("Reshape", ["x", "s"], ["y"])
        b.output("y", .float32)
        let s = try InferenceSession(model: b.load())
        XCTAssertEqual(try s.run([patterned(.float32, [4, 3])])[0].shape, [6, 2])
        XCTAssertThrowsError(try s.run([patterned(.float32, [3, 3])])) { XCTAssertTrue("\($0)".contains("do not divide"), "\($0)") }
    }

    func testShapeGatherConcatReshapeChainFoldsPerBatch() throws {
        // The PyTorch export of x.view(x.size(0), -1).
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.symbol("batch"), .fixed(3), .fixed(4)])
        b.constant("zero", Tensor.scalar(Int64(0)))
        b.constant("axes", int64([0]))
        b.constant("minus1", int64([-1]))
        b.node("Shape", ["x"], ["shape"])
        b.node("Gather", ["shape", "zero"], ["n"])
        b.node("Unsqueeze", ["n", "axes"], ["n1"])
        b.node("Concat", ["n1", "minus1"], ["target"], [attr("axis", 0)])
        b.node("Reshape", ["x", "target"], ["y"])
        b.output("y", .float32)
        let s = try InferenceSession(model: b.load())
        for batch in [2, 5, 2] {
            let x = patterned(.float32, [batch, 3, 4])
            let y = try s.run([x])[0]
            XCTAssertEqual(y.shape, [batch, 12])
            XCTAssertEqual(bytes(y), bytes(x))
        }
    }

    func testReshapeZeroCopyMinusOneAndAllowZero() throws {
        func reshape(_ shape: [Int], _ spec: [Int], opset: Int = 14, allowZero: Bool? = nil) throws -> [Int] {
            var b = ModelBuilder(opset: opset)
            b.input("x", .float32, shape.map { .fixed($0) })
            b.constant("s", int64(spec))
            b.node("Reshape", ["x", "s"], ["y"], allowZero.map { [attr("allowzero", $0 ? 1 : 0)] } ?? [])
            b.output("y", .float32)
            return try b.run([patterned(.float32, shape)])[0].shape
        }
        XCTAssertEqual(try reshape([2, 3, 4], [0, -1]), [2, 12])
        XCTAssertEqual(try reshape([2, 3, 4], [-1, 0, 2]), [4, 3, 2])
        XCTAssertEqual(try reshape([0, 3, 4], [3, 4, 0], allowZero: true), [3, 4, 0])
        XCTAssertEqual(try reshape([0, 3, 4], [0, -1]), [0, 12])
        XCTAssertThrowsError(try reshape([0, 3, 4], [-1, 0], allowZero: true))  // -1 with a literal 0
        XCTAssertThrowsError(try reshape([2, 3, 4], [5, -1]))
        XCTAssertThrowsError(try reshape([2, 3, 4], [-1, -1]))
        XCTAssertThrowsError(try reshape([2, 3, 4], [2, 3, 5]))
        XCTAssertThrowsError(try reshape([2, 3], [0, 0, 6]))                    // copies a dim the input lacks
        XCTAssertThrowsError(try reshape([2, 3], [6], opset: 13, allowZero: false)) { // allowzero arrived in 14
            XCTAssertTrue("\($0)".contains("allowzero"), "\($0)")
        }
    }

    func testLegacySqueezeUnsqueezeAttributes() throws {
        var b = ModelBuilder(opset: 11)
        b.input("x", .int64, [.fixed(3), .fixed(1), .fixed(2), .fixed(1)])
        b.node("Squeeze", ["x"], ["all"])
        b.node("Squeeze", ["x"], ["one"], [attr("axes", [-1])])
        b.node("Unsqueeze", ["x"], ["u"], [attr("axes", [0, 5])])
        for o in ["all", "one", "u"] { b.output(o, .int64) }
        let outs = try b.run([patterned(.int64, [3, 1, 2, 1])])
        XCTAssertEqual(outs.map(\.shape), [[3, 2], [3, 1, 2], [1, 3, 1, 2, 1, 1]])
        // Opset 13: axes as an input, where an empty list squeezes every size-1 dim.
        b = ModelBuilder(opset: 13)
        b.input("x", .int64, [.fixed(3), .fixed(1), .fixed(2), .fixed(1)])
        b.constant("none", try! Tensor(dtype: .int64, shape: [0]))
        b.node("Squeeze", ["x", "none"], ["all"])
        b.output("all", .int64)
        XCTAssertEqual(try b.run([patterned(.int64, [3, 1, 2, 1])])[0].shape, [3, 2])
        // Unsqueeze needs its axes before opset 13; Squeeze refuses a dim that is not 1.
        b = ModelBuilder(opset: 11)
        b.input("x", .int64, [.fixed(3), .fixed(1)])
        b.node("Unsqueeze", ["x"], ["u"])
        b.output("u", .int64)
        XCTAssertThrowsError(try b.load())
        b = ModelBuilder(opset: 11)
        b.input("x", .int64, [.fixed(3), .fixed(1)])
        b.node("Squeeze", ["x"], ["s"], [attr("axes", [0])])
        b.output("s", .int64)
        XCTAssertThrowsError(try b.load()) { XCTAssertTrue("\($0)".contains("not 1"), "\($0)") }
    }

    // MARK: ConstantOfShape and Expand

    func testConstantOfShapeAndExpand() throws {
        var b = ModelBuilder(opset: 21)
        b.input("s", .int64, [.fixed(0)])
        b.input("x", .int16, [.fixed(3), .fixed(1)])
        b.input("t", .int64, [.fixed(3)])
        b.node("ConstantOfShape", ["s"], ["scalar"], [attr("value", Tensor([Int64(7)], shape: [1]))])
        b.node("ConstantOfShape", ["t"], ["zeros"])
        b.node("Expand", ["x", "t"], ["e"])
        b.output("scalar", .int64); b.output("zeros", .float32); b.output("e", .int16)
        let x = Tensor([Int16(1), 2, 3], shape: [3, 1])
        // [2, 1, 6]: the input's 3 survives the asked-for 1.
        let outs = try b.run([try! Tensor(dtype: .int64, shape: [0]), x, Tensor([Int64(2), 1, 6], shape: [3])])
        XCTAssertEqual(outs[0].shape, [])
        XCTAssertEqual(outs[0].array(Int64.self), [7])
        XCTAssertEqual(outs[1].shape, [2, 1, 6])
        XCTAssertEqual(outs[1].array(Float.self), [Float](repeating: 0, count: 12))
        XCTAssertEqual(outs[2].shape, [2, 3, 6])
        XCTAssertEqual(outs[2].array(Int16.self), (0..<36).map { Int16(($0 / 6) % 3 + 1) })
    }

    // MARK: bad models

    func testMalformedModelsAreRejectedWithMessages() throws {
        func load(_ op: String, _ shape: [Int], _ consts: [(String, Tensor)], _ attrs: [Onnx_AttributeProto] = [],
                  extra: [Int]? = nil) -> String? {
            let fed = [patterned(.float32, shape)] + (extra.map { [patterned(.float32, $0)] } ?? [])
            let m = OneNode.model(op, opset: 13, fed + consts.map(\.1), constant: Set(fed.count..<(fed.count + consts.count)), attrs: attrs)
            do { _ = try m.model.load(); return nil } catch { return "\(error)" }
        }
        let bad: [(String, String?)] = [
            ("Transpose perm", load("Transpose", [2, 3], [], [attr("perm", [0, 0])])),
            ("Transpose rank", load("Transpose", [2, 3], [], [attr("perm", [1, 0, 2])])),
            ("Concat ranks", load("Concat", [2, 3], [], [attr("axis", 0)], extra: [2])),
            ("Concat dims", load("Concat", [2, 3], [], [attr("axis", 0)], extra: [2, 4])),
            ("Concat axis", load("Concat", [2, 3], [], [attr("axis", 2)], extra: [2, 3])),
            ("Unsqueeze repeat", load("Unsqueeze", [2, 3], [("a", int64([0, -4]))])),
            ("Squeeze range", load("Squeeze", [2, 1], [("a", int64([2]))])),
            ("Slice step 0", load("Slice", [4], [("s", int64([0])), ("e", int64([2])), ("a", int64([0])), ("p", int64([0]))])),
            ("Slice lengths", load("Slice", [4], [("s", int64([0, 1])), ("e", int64([2]))])),
            ("Expand", load("Expand", [3, 2], [("s", int64([3, 3]))])),
            ("Flatten axis", load("Flatten", [3, 2], [], [attr("axis", 3)])),
            ("Gather scalar data", load("Gather", [], [("i", int64([0]))])),
            ("Split sum", load("Split", [5], [("s", int64([2, 2]))])),
            ("Reshape shape type", load("Reshape", [4], [("s", Tensor([Float(4)], shape: [1]))])),
        ]
        for (what, message) in bad {
            XCTAssertNotNil(message, "\(what) was accepted")
            XCTAssertFalse(message?.isEmpty ?? false, what)
        }
        var b = ModelBuilder(opset: 13)
        b.input("s", .int64, [.fixed(2)])
        b.node("ConstantOfShape", ["s"], ["y"])
        b.output("y", .float32)
        XCTAssertThrowsError(try InferenceSession(model: b.load()).run([Tensor([Int64(2), -1], shape: [2])]))
    }

    func testDataDependentShapeMismatchFailsTheRunNotTheProcess() throws {
        // Reshape's target is fixed when the plan is made, but its input's size depends on data only seen in the run.
        var b = ModelBuilder(opset: 13)
        b.input("s", .int64, [.fixed(2)])
        b.constant("target", int64([2, 3]))
        b.node("ConstantOfShape", ["s"], ["c"])
        b.node("Reshape", ["c", "target"], ["y"])
        b.output("y", .float32)
        let s = try InferenceSession(model: b.load())
        XCTAssertEqual(try s.run([Tensor([Int64(3), 2], shape: [2])])[0].shape, [2, 3])
        XCTAssertThrowsError(try s.run([Tensor([Int64(7), 1], shape: [2])])) { XCTAssertTrue("\($0)".contains("cannot view"), "\($0)") }
    }
}

// MARK: - references and helpers

/// The selected indices of `0..<n` for one Slice axis, walked one by one with numpy's clamping.
private func walk(n: Int, start: Int, end: Int, step: Int) -> [Int] {
    var s = start < 0 ? Swift.max(start, -n) + n : start, e = end < 0 ? Swift.max(end, -n - 1) + n : end
    if step > 0 { s = Swift.min(s, n); e = Swift.min(e, n) } else { s = Swift.min(s, n - 1); e = Swift.min(e, n - 1) }
    var out = [Int](), i = s
    while step > 0 ? i < e : i > e {
        out.append(i)
        let (next, o) = i.addingReportingOverflow(step)
        if o { break }
        i = next
    }
    return out
}

/// Value of a half-precision bit pattern, decoded from the IEEE 754 definition.
private func halfValue(_ h: UInt16) -> Double {
    let sign: Double = h & 0x8000 != 0 ? -1 : 1, e = Int(h >> 10 & 0x1F), m = Double(h & 0x3FF)
    if e == 0x1F { return m == 0 ? sign * .infinity : .nan }
    if e == 0 { return sign * m * 0x1p-24 }
    return sign * (1 + m / 1024) * Double(sign: .plus, exponent: e - 15, significand: 1)
}

/// The half nearest to `v` (ties to the even pattern), found among every finite half; beyond the largest half by more
/// than half an ulp (2^4 past 65504), infinity.
private func referenceHalf(_ v: Double, _ halves: [Double]) -> UInt16 {
    let sign: UInt16 = v.sign == .minus ? 0x8000 : 0, a = abs(v)
    if a >= 65520 { return sign | 0x7C00 }
    var lo = 0, hi = halves.count - 1
    while hi - lo > 1 { let mid = (lo + hi) / 2; if halves[mid] <= a { lo = mid } else { hi = mid } }
    let dl = a - halves[lo], dh = halves[hi] - a
    let pick = dl < dh ? lo : dh < dl ? hi : (lo % 2 == 0 ? lo : hi)
    return sign | UInt16(pick)
}

/// The expected output of a pure data-movement op: element `o` comes from element `source(o)` of `x`.
private func naive(_ x: Tensor, outShape: [Int], _ source: ([Int]) -> [Int]) -> Tensor {
    naive(x, outShape: outShape, sources: [x]) { (0, source($0)) }
}

private func naive(_ x: Tensor, outShape: [Int], sources: [Tensor], _ source: ([Int]) -> (Int, [Int])) -> Tensor {
    let y = try! Tensor(dtype: x.dtype, shape: outShape), esz = x.dtype.byteSize
    for flat in 0..<y.count {
        var o = [Int](repeating: 0, count: outShape.count), r = flat
        for d in outShape.indices.reversed() { o[d] = r % outShape[d]; r /= outShape[d] }
        let (k, i) = source(o)
        let src = sources[k]
        let at = zip(i, src.shape).reduce(0) { $0 * $1.1 + $1.0 }
        (y.raw + flat * esz).copyMemory(from: src.raw + at * esz, byteCount: esz)
    }
    return y
}

private func halfBits(_ t: Tensor) -> [UInt16] { Array(UnsafeBufferPointer(start: t.raw.assumingMemoryBound(to: UInt16.self), count: t.count)) }
private func int64(_ v: [Int]) -> Tensor { Tensor(v.map { Int64($0) }, shape: [v.count]) }
private func dimsString(_ d: [Dim]) -> String { "[\(d.map(\.description).joined(separator: ","))]" }
