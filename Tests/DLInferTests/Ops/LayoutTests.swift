import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// Tile, Trilu, DepthToSpace/SpaceToDepth, ReverseSequence, CenterCropPad and Size against naive references on several
/// element types; older opset forms and bad inputs rejected.
final class LayoutTests: XCTestCase {
    func testTileAndTriluMatchNaive() throws {
        for dtype in [DType.uint8, .float16, .int64] {
            let x = patterned(dtype, [3, 1, 70])
            for repeats in [[2, 3, 1], [1, 1, 4], [0, 2, 2]] {
                let y = try OneNode.run("Tile", opset: 21, [x, TestData.typed(repeats, .int64)], constant: [1], outputs: [dtype])[0]
                XCTAssertEqual(y.shape, zip(x.shape, repeats).map { $0 * $1 })
                XCTAssertEqual(bytes(y), movedBytes(x, y.shape) { o in zip(o, x.shape).map { $0 % $1 } }, "\(dtype) \(repeats)")
            }
        }
        XCTAssertThrowsError(try OneNode.run("Tile", opset: 21, [patterned(.float32, [2]), TestData.typed([-1], .int64)], outputs: [.float32]))
        XCTAssertThrowsError(try OneNode.run("Tile", opset: 21, [patterned(.float32, [2]), TestData.typed([2, 2], .int64)], outputs: [.float32]))

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
            let want = movedBytes(x, y.shape) { o in
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
        let y = try OneNode.run("ReverseSequence", opset: 21, [x, TestData.typed(lens, .int64)], outputs: [.uint32])[0]
        XCTAssertEqual(bytes(y), movedBytes(x, x.shape) { o in [o[0] < lens[o[1]] ? lens[o[1]] - 1 - o[0] : o[0], o[1], o[2]] })
        let xt = patterned(.uint32, [3, 4, 2])
        let yt = try OneNode.run("ReverseSequence", opset: 21, [xt, TestData.typed(lens, .int64)], attrs: [attr("batch_axis", 0), attr("time_axis", 1)],
                                 outputs: [.uint32])[0]
        XCTAssertEqual(bytes(yt), movedBytes(xt, xt.shape) { o in [o[0], o[1] < lens[o[0]] ? lens[o[0]] - 1 - o[1] : o[1], o[2]] })
        XCTAssertThrowsError(try OneNode.run("ReverseSequence", opset: 21, [x, TestData.typed([5, 0, 0], .int64)], outputs: [.uint32]))
        XCTAssertThrowsError(try OneNode.run("ReverseSequence", opset: 21, [x, TestData.typed([-1, 0, 0], .int64)], outputs: [.uint32]))
        XCTAssertThrowsError(try OneNode.run("ReverseSequence", opset: 21, [x, TestData.typed([1, 1], .int64)], outputs: [.uint32]))

        let image = patterned(.bfloat16, [5, 6, 3])
        for (axes, target) in [([0, 1], [2, 9]), ([-3, -2], [8, 3]), ([1], [6]), ([2, 0], [1, 5])] {
            let y = try OneNode.run("CenterCropPad", opset: 18, [image, TestData.typed(target, .int32)], attrs: [attr("axes", axes)],
                                    outputs: [.bfloat16])[0]
            var shape = image.shape, shift = [0, 0, 0]
            for (a, t) in zip(axes.map { ($0 + 3) % 3 }, target) {
                shape[a] = t
                shift[a] = (image.shape[a] - t).signum() * (abs(image.shape[a] - t) / 2)  // crop start, or minus pad start
            }
            XCTAssertEqual(y.shape, shape)
            let zero = try! Tensor(dtype: .bfloat16, shape: [1])
            XCTAssertEqual(bytes(y), movedBytes(image, shape, fill: zero) { o in
                let i = zip(o, shift).map { $0 + $1 }
                return zip(i, image.shape).allSatisfy { $0 >= 0 && $0 < $1 } ? i : nil
            }, "\(axes) \(target)")
        }
        XCTAssertThrowsError(try OneNode.run("CenterCropPad", opset: 18, [image, TestData.typed([-1], .int64)], attrs: [attr("axes", [0])],
                                             outputs: [.bfloat16]))
        XCTAssertThrowsError(try OneNode.run("CenterCropPad", opset: 18, [image, TestData.typed([1, 2], .int64)], attrs: [attr("axes", [0, -3])],
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
}
