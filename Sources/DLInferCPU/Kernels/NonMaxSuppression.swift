import DLInferCore

/// NonMaxSuppression: every (batch, class) pair is independent and runs in parallel. Each batch's box extents and
/// areas are computed once (the same float32 values onnxruntime computes per comparison); a pair sorts its
/// candidates once and keeps each one unless it overlaps a box it already kept too much.
final class NonMaxSuppressionKernel: Kernel {
    let attrs: NonMaxSuppression
    init(_ a: NonMaxSuppression) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?] {
        let boxes = inputs[0]!, scores = inputs[1]!
        let (maxOutput, iou, threshold) = try NonMaxSuppression.parameters(boxes: boxes.shape, scores: scores.shape, inputs)
        let (batches, classes, count) = (scores.shape[0], scores.shape[1], scores.shape[2])
        guard maxOutput > 0, batches * classes * count > 0 else { return [try outputs.make(.int64, [0, 3])] }
        let limit = Int(Swift.min(maxOutput, Int64(count)))

        var extents = [BoxExtents]()
        for b in 0..<batches { extents.append(BoxExtents(boxes.pointer(Float.self) + b * count * 4, count, centered: attrs.centerPointBox)) }
        var selected = [[Int]](repeating: [], count: batches * classes)
        let sp = UnsafePointer(scores.pointer(Float.self))
        selected.withUnsafeMutableBufferPointer { out in
            parallelFor(batches * classes, grain: Swift.max(1, 4096 / count)) { r in
                var order = [Int]()
                for pair in r {
                    let s = sp + pair * count
                    order.removeAll(keepingCapacity: true)
                    for i in 0..<count where !s[i].isNaN && threshold.map({ s[i] > $0 }) ?? true { order.append(i) }
                    order.sort { a, b in s[a] > s[b] || (s[a] == s[b] && a < b) }
                    out[pair] = extents[pair / classes].greedy(order, limit: limit, iou: iou)
                }
            }
        }
        let total = selected.reduce(0) { $0 + $1.count }
        let y = try outputs.make(.int64, [total, 3])
        let yp = y.pointer(Int64.self)
        var k = 0
        for (pair, boxes) in selected.enumerated() {
            for box in boxes {
                yp[k] = Int64(pair / classes); yp[k + 1] = Int64(pair % classes); yp[k + 2] = Int64(box)
                k += 3
            }
        }
        return [y]
    }
}

/// One batch's boxes as min/max per axis and area, in onnxruntime's float32 arithmetic.
struct BoxExtents {
    var xMin: [Float], xMax: [Float], yMin: [Float], yMax: [Float], area: [Float]

    init(_ box: UnsafePointer<Float>, _ n: Int, centered: Bool) {
        (xMin, xMax, yMin, yMax, area) = ([], [], [], [], [])
        xMin.reserveCapacity(n); xMax.reserveCapacity(n); yMin.reserveCapacity(n); yMax.reserveCapacity(n); area.reserveCapacity(n)
        for i in 0..<n {
            let b = box + 4 * i
            var x0: Float, x1: Float, y0: Float, y1: Float
            if centered {
                let w = b[2] / 2, h = b[3] / 2
                (x0, x1, y0, y1) = (b[0] - w, b[0] + w, b[1] - h, b[1] + h)
            } else {
                // [y1, x1, y2, x2]: each axis's corners in either order.
                (x0, x1) = b[1] >= b[3] ? (b[3], b[1]) : (b[1], b[3])
                (y0, y1) = b[0] >= b[2] ? (b[2], b[0]) : (b[0], b[2])
            }
            xMin.append(x0); xMax.append(x1); yMin.append(y0); yMax.append(y1)
            area.append((x1 - x0) * (y1 - y0))
        }
    }

    /// Whether candidate `i` overlaps kept box `j` by more than `threshold` (onnxruntime's SuppressByIOU: its
    /// comparisons, in its order, with std::max/std::min's NaN behaviour).
    @inline(__always)
    func suppresses(_ i: Int, _ j: Int, _ threshold: Float) -> Bool {
        let ix0 = xMin[i] < xMin[j] ? xMin[j] : xMin[i], ix1 = xMax[j] < xMax[i] ? xMax[j] : xMax[i]
        if ix1 <= ix0 { return false }
        let iy0 = yMin[i] < yMin[j] ? yMin[j] : yMin[i], iy1 = yMax[j] < yMax[i] ? yMax[j] : yMax[i]
        if iy1 <= iy0 { return false }
        let intersection = (ix1 - ix0) * (iy1 - iy0)
        if intersection <= 0 { return false }
        let union = area[i] + area[j] - intersection
        if area[i] <= 0 || area[j] <= 0 || union <= 0 { return false }
        return intersection / union > threshold
    }

    /// Visits `order` keeping each box no kept box suppresses, until `limit` are kept.
    func greedy(_ order: [Int], limit: Int, iou: Float) -> [Int] {
        var kept = [Int]()
        for c in order {
            if kept.count >= limit { break }
            let i = c
            var keep = true
            for k in kept where suppresses(i, k, iou) { keep = false; break }
            if keep { kept.append(c) }
        }
        return kept
    }
}
