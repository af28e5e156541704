import DLInferCore
import DLInferEngine
import DLInferONNX
import XCTest

/// Slice with steps, clamps, reversals, empty and huge steps on several element types against numpy's walk written
/// here, opset 9's attribute form, and malformed starts/ends/steps rejected.
final class SliceTests: XCTestCase {
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
                b.constant("starts", TestData.int64(starts))
                b.constant("ends", TestData.int64(ends))
                var ins = ["x", "starts", "ends"]
                if let axes { b.constant("axes", TestData.int64(axes)); ins.append("axes") }
                if let steps {
                    if axes == nil { ins.append("") }
                    b.constant("steps", TestData.int64(steps)); ins.append("steps")
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
                let want = movedElements(x, outShape: picks.map(\.count)) { o in o.enumerated().map { picks[$0][$1] } }
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

    func testMalformedSliceIsRejected() {
        let x = patterned(.float32, [4])
        assertRefusedAtLoad([
            ("Slice step 0", OneNode.loadError("Slice", opset: 13, [x] + [[0], [2], [0], [0]].map(TestData.int64), constant: [1, 2, 3, 4])),
            ("Slice lengths", OneNode.loadError("Slice", opset: 13, [x, TestData.int64([0, 1]), TestData.int64([2])], constant: [1, 2])),
        ])
    }
}

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
