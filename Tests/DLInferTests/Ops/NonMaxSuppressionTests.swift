import DLInferCore
import XCTest

/// NonMaxSuppression against a direct reference written from the spec and onnxruntime's rules: score-threshold
/// filter, a stable descending sort by score (insertion sort here), greedy IoU suppression. Boxes on a coarse
/// integer grid give ties in scores, identical boxes, zero-area boxes and swapped corners.
final class NonMaxSuppressionTests: XCTestCase {

    func testRandomBoxesAgainstNaive() throws {
        let (n, c, b) = (3, 4, 40)
        // Corners from 0...8: about one box in nine is flat along an axis, half have their corners swapped.
        let corners = TestData.integers(n * b * 4, seed: 1, 0, 8).map(Float.init)
        let scores = TestData.integers(n * c * b, seed: 2, 1, 6).map { Float($0) / 10 }
        for center in [false, true] {
            let boxes = Tensor(center ? corners.enumerated().map { $0.offset % 4 >= 2 ? $0.element - 2 : $0.element } : corners,
                               shape: [n, b, 4])
            for iou in [Float(0), 0.25, 0.5, 1] {
                for threshold in [nil, Float(0.3)] {
                    for maxOutput in [nil, Int64(0), 1, 3, 1000] {
                        let got = try nms(boxes, Tensor(scores, shape: [n, c, b]), maxOutput, iou, threshold, center: center)
                        let want = naive(boxes, scores, n: n, c: c, b: b, maxOutput: Int(maxOutput ?? 0), iou: iou,
                                         threshold: threshold, center: center)
                        XCTAssertEqual(got, want, "center \(center), iou \(iou), score_threshold \(String(describing: threshold)), max \(String(describing: maxOutput))")
                    }
                }
            }
        }
    }

    func testThousandsOfBoxesAndNaNScores() throws {
        let (n, c, b) = (2, 3, 3000)
        var coords = TestData.uniform(n * b * 4, seed: 3, 0, 100)
        for i in stride(from: 0, to: coords.count, by: 4) { coords[i + 2] = coords[i] + coords[i + 2] / 10; coords[i + 3] = coords[i + 1] + coords[i + 3] / 10 }
        var scores = TestData.uniform(n * c * b, seed: 4, 0, 1)
        for i in stride(from: 7, to: scores.count, by: 97) { scores[i] = .nan }
        let boxes = Tensor(coords, shape: [n, b, 4])
        for (iou, threshold) in [(Float(0.5), Float?.none), (0.3, 0.2)] {
            let got = try nms(boxes, Tensor(scores, shape: [n, c, b]), 400, iou, threshold, center: false)
            let want = naive(boxes, scores, n: n, c: c, b: b, maxOutput: 400, iou: iou, threshold: threshold, center: false)
            XCTAssertGreaterThan(want.count, 600)
            XCTAssertEqual(got, want, "iou \(iou)")
        }
    }

    func testConstantParametersAndEmptyInputs() throws {
        let boxes = Tensor([Float](repeating: 0, count: 0), shape: [1, 0, 4]), scores = Tensor([Float](), shape: [1, 2, 0])
        let y = try OneNode.run("NonMaxSuppression", opset: 11, [boxes, scores, Tensor([Int64(5)], shape: [])], constant: [2], outputs: [.int64])[0]
        XCTAssertEqual(y.shape, [0, 3])
        // Identical boxes: only the first of equal scores survives any threshold below 1.
        let same = Tensor([Float](repeating: 0, count: 3).flatMap { _ in [0, 0, 1, 1] as [Float] }, shape: [1, 3, 4])
        let equal = Tensor([Float](repeating: 0.5, count: 3), shape: [1, 1, 3])
        let rows = try OneNode.run("NonMaxSuppression", opset: 10, [same, equal, Tensor([Int64(3)], shape: [1]), Tensor([Float(0.9)], shape: [1])],
                                   constant: [2, 3], outputs: [.int64])[0]
        XCTAssertEqual(rows.array(Int64.self), [0, 0, 0])
    }

    func testInvalidInputsAreRejected() {
        let boxes = TestData.tensor([1, 5, 4], seed: 5), scores = TestData.tensor([1, 2, 5], seed: 6)
        let run = { (inputs: [Tensor?], constant: Set<Int>) in
            try OneNode.run("NonMaxSuppression", opset: 11, inputs, constant: constant, outputs: [.int64])
        }
        XCTAssertThrowsError(try run([boxes, scores, nil, Tensor([Float(1.5)], shape: [1])], [3]), "iou_threshold above 1 (constant)")
        XCTAssertThrowsError(try run([boxes, scores, nil, Tensor([Float(-0.1)], shape: [1])], []), "iou_threshold below 0 (at run time)")
        XCTAssertThrowsError(try run([boxes, scores, Tensor([Int64(1), 2], shape: [2])], []), "two max_output values")
        XCTAssertThrowsError(try run([TestData.tensor([1, 5, 3], seed: 7), scores], []), "boxes not [N, B, 4]")
        XCTAssertThrowsError(try run([boxes, TestData.tensor([1, 2, 4], seed: 8)], []), "scores for another number of boxes")
        XCTAssertThrowsError(try OneNode.run("NonMaxSuppression", opset: 11, [boxes, scores], attrs: [attr("center_point_box", 2)],
                                             outputs: [.int64]))
    }

    // MARK: helpers

    private func nms(_ boxes: Tensor, _ scores: Tensor, _ maxOutput: Int64?, _ iou: Float, _ threshold: Float?,
                     center: Bool) throws -> [[Int]] {
        let y = try OneNode.run("NonMaxSuppression", opset: 11,
                                [boxes, scores, maxOutput.map { Tensor([$0], shape: [1]) }, Tensor([iou], shape: [1]),
                           threshold.map { Tensor([$0], shape: []) }],
                                attrs: center ? [attr("center_point_box", 1)] : [], outputs: [.int64])[0]
        XCTAssertEqual(y.rank, 2)
        let v = y.array(Int64.self).map(Int.init)
        return stride(from: 0, to: v.count, by: 3).map { Array(v[$0..<($0 + 3)]) }
    }

    private func naive(_ boxes: Tensor, _ scores: [Float], n: Int, c: Int, b: Int, maxOutput: Int, iou: Float,
                       threshold: Float?, center: Bool) -> [[Int]] {
        let v = boxes.array(Float.self)
        func extent(_ batch: Int, _ i: Int) -> (x0: Float, y0: Float, x1: Float, y1: Float) {
            let p = (batch * b + i) * 4
            if center { return (v[p] - v[p + 2] / 2, v[p + 1] - v[p + 3] / 2, v[p] + v[p + 2] / 2, v[p + 1] + v[p + 3] / 2) }
            return (min(v[p + 1], v[p + 3]), min(v[p], v[p + 2]), max(v[p + 1], v[p + 3]), max(v[p], v[p + 2]))
        }
        var out = [[Int]]()
        for batch in 0..<n {
            for cls in 0..<c {
                let s = Array(scores[((batch * c + cls) * b)..<((batch * c + cls + 1) * b)])
                var order = [Int]()
                for i in 0..<b where !s[i].isNaN && (threshold == nil || s[i] > threshold!) {
                    // Insertion after every candidate scoring at least as high keeps equal scores in index order.
                    var at = order.count
                    while at > 0 && s[order[at - 1]] < s[i] { at -= 1 }
                    order.insert(i, at: at)
                }
                var kept = [Int]()
                for i in order where kept.count < maxOutput {
                    let a = extent(batch, i)
                    let suppressed = kept.contains { k in
                        let o = extent(batch, k)
                        let w = min(a.x1, o.x1) - max(a.x0, o.x0), h = min(a.y1, o.y1) - max(a.y0, o.y0)
                        let areaA = (a.x1 - a.x0) * (a.y1 - a.y0), areaO = (o.x1 - o.x0) * (o.y1 - o.y0)
                        guard w > 0, h > 0, areaA > 0, areaO > 0 else { return false }
                        return w * h / (areaA + areaO - w * h) > iou
                    }
                    if !suppressed { kept.append(i) }
                }
                out += kept.map { [batch, cls, $0] }
            }
        }
        return out
    }
}
