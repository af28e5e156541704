import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// Concat and Split with large, one-element and empty parts on several element types, Split's legacy attribute,
/// equal parts and num_outputs forms, and malformed nodes rejected.
final class ConcatSplitTests: XCTestCase {
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
                b.constant("split", TestData.int64(shapes.map { $0[a] }))
                b.node("Split", ["y", "split"], shapes.indices.map { "p\($0)" }, [attr("axis", axis)])
                b.output("y", dtype)
                for k in shapes.indices { b.output("p\(k)", dtype) }
                let xs = shapes.enumerated().map { k, s in patterned(dtype, s, seed: k) }
                let outs = try b.run(xs)
                var outShape = shapes[0]
                outShape[a] = shapes.map { $0[a] }.reduce(0, +)
                let offsets = shapes.map { $0[a] }.reduce(into: [0]) { $0.append($0.last! + $1) }
                let want = movedElements(xs[0], outShape: outShape, sources: xs) { o in
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

    /// Concats of branches on one image, whose producers write their outputs straight into the Concat's output
    /// (`ConcatPlacement`): elementwise ops, a Reshape that returns a view of its input (copied after all), a nested
    /// Concat, and an input that is also a graph output (not placed). The same session then runs the shapes with two
    /// images, where the inputs are not contiguous in the output, and one image again: every run against values
    /// computed here.
    func testConcatOfBranchesWrittenInPlace() throws {
        var b = ModelBuilder(opset: 13)
        b.input("x", .float32, [.symbol("n"), .fixed(3), .fixed(4), .fixed(5)])
        b.node("Neg", ["x"], ["a"])
        b.node("Relu", ["x"], ["r"])
        b.node("Reshape", ["r", "shape"], ["v"])
        b.node("Abs", ["x"], ["d"])
        b.node("Concat", ["a", "v"], ["inner"], [attr("axis", 1)])
        b.node("Sigmoid", ["x"], ["a2"])
        b.node("Concat", ["inner", "d", "a2"], ["y"], [attr("axis", -3)])
        b.constant("shape", TestData.int64([-1, 3, 4, 5]))
        b.output("y", .float32)
        b.output("d", .float32)
        let session = try InferenceSession(model: b.load())
        for n in [1, 2, 1] {
            let x = TestData.floats([n, 3, 4, 5], seed: 40 + n)
            let outs = try session.run([x])
            let xs = x.array(Float.self), plane = 3 * 4 * 5
            var want = [Float]()
            for i in 0..<n {
                let xi = xs[i * plane..<(i + 1) * plane]
                want += xi.map { -$0 } + xi.map { Swift.max($0, 0) } + xi.map { Swift.abs($0) }
                want += xi.map { 1 / (1 + expf(-$0)) }
            }
            XCTAssertEqual(outs[0].shape, [n, 12, 4, 5])
            assertClose(outs[0], want.map { Double($0) }, shape: [n, 12, 4, 5], rtol: 1e-6, atol: 1e-6, "y, \(n) images")
            XCTAssertEqual(outs[1].array(Float.self), xs.map { Swift.abs($0) }, "d, \(n) images")
        }
    }

    func testDenseBlockConcatsShareTheLastOnesOutput() throws {
        // DenseNet's pattern: each layer reads the Concat of the block's input and every earlier layer's output, and
        // the block ends with the Concat of them all. With `tap`, the block's input is also read by a node that is
        // no Concat (the family cannot hold it, and every Concat copies).
        for tap in [false, true] {
            var b = ModelBuilder(opset: 13)
            b.input("x", .float32, [.symbol("n"), .fixed(2), .fixed(3), .fixed(4)])
            b.node("Relu", ["x"], ["x0"])
            b.node("Concat", ["x0"], ["c1"], [attr("axis", 1)])
            b.node("Sigmoid", ["c1"], ["y1"])
            b.node("Concat", ["x0", "y1"], ["c2"], [attr("axis", 1)])
            b.node("Neg", ["c2"], ["y2"])
            b.node("Concat", ["x0", "y1", "y2"], ["y"], [attr("axis", -3)])
            b.node("Abs", ["c2"], ["c2abs"])
            b.output("y", .float32)
            b.output("c2abs", .float32)
            if tap {
                b.node("Exp", ["x0"], ["e"])
                b.output("e", .float32)
            }
            let session = try InferenceSession(model: b.load())
            for n in [1, 2, 1] {
                let x = TestData.floats([n, 2, 3, 4], seed: 50 + n)
                let outs = try session.run([x])
                let xs = x.array(Float.self), plane = 2 * 3 * 4
                var want = [Float](), c2abs = [Float]()
                for i in 0..<n {
                    let x0 = xs[i * plane..<(i + 1) * plane].map { Swift.max($0, 0) }
                    let y1 = x0.map { 1 / (1 + expf(-$0)) }, y2 = (x0 + y1).map { -$0 }
                    want += x0 + y1 + y2
                    c2abs += (x0 + y1).map { Swift.abs($0) }
                }
                let label = "\(n) images, tap \(tap)"
                XCTAssertEqual(outs[0].shape, [n, 8, 3, 4], label)
                assertClose(outs[0], want.map { Double($0) }, shape: [n, 8, 3, 4], rtol: 1e-6, atol: 1e-6, "y, " + label)
                assertClose(outs[1], c2abs.map { Double($0) }, shape: [n, 4, 3, 4], rtol: 1e-6, atol: 1e-6, "|c2|, " + label)
                if tap {
                    let e = xs.map { expf(Swift.max($0, 0)) }
                    assertClose(outs[2], e.map { Double($0) }, shape: [n, 2, 3, 4], rtol: 1e-6, atol: 1e-6, "e, " + label)
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

    func testMalformedConcatAndSplitAreRejected() {
        let x = patterned(.float32, [2, 3])
        assertRefusedAtLoad([
            ("Concat ranks", OneNode.loadError("Concat", opset: 13, [x, patterned(.float32, [2])], attrs: [attr("axis", 0)])),
            ("Concat dims", OneNode.loadError("Concat", opset: 13, [x, patterned(.float32, [2, 4])], attrs: [attr("axis", 0)])),
            ("Concat axis", OneNode.loadError("Concat", opset: 13, [x, patterned(.float32, [2, 3])], attrs: [attr("axis", 2)])),
            ("Split sum", OneNode.loadError("Split", opset: 13, [patterned(.float32, [5]), TestData.int64([2, 2])], constant: [1])),
        ])
    }
}
