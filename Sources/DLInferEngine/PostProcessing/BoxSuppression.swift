import DLInferCore

/// How the floats of one box are laid out for `BoxSuppression` (the values of dlinfer.h's DLINFER_BOX_*).
public enum BoxFormat: Int32, Sendable {
    /// x1, y1, x2, y2: two opposite corners, in either order.
    case corners = 0
    /// cx, cy, w, h.
    case center = 1
    /// cx, cy, w, h, angle in degrees counter-clockwise as seen in the image (detectron2's rotated boxes).
    case centerAngle = 2
    /// x1, y1, ..., x4, y4: a convex quadrilateral, its corners in order around it.
    case quad = 3

    public var floatsPerBox: Int {
        switch self {
        case .corners, .center: return 4
        case .centerAngle: return 5
        case .quad: return 8
        }
    }
}

/// Greedy non-maximum suppression of detections, as torchvision's `nms` (one class) and `batched_nms` (per class).
public enum BoxSuppression {
    /// The indices of the boxes kept, by falling score (ties: lower index first). The candidates are the boxes whose
    /// score is above `scoreThreshold`; each is kept unless a box already kept of its class overlaps it with an IoU
    /// above `iouThreshold`, until `maxOutputs` are kept (nil: no limit). Axis-aligned boxes use the float32
    /// arithmetic of the NonMaxSuppression op (torchvision's for well-formed boxes); rotated ones the exact area of
    /// the polygons' intersection.
    public static func select(boxes: UnsafePointer<Float>?, scores: UnsafeBufferPointer<Float>,
                              classes: UnsafePointer<Int64>?, format: BoxFormat, iouThreshold: Float,
                              scoreThreshold: Float, maxOutputs: Int?) throws -> [Int] {
        guard iouThreshold >= 0, iouThreshold <= 1 else {
            throw DLInferError.invalid("iou_threshold \(iouThreshold) must lie in [0, 1]")
        }
        guard !scoreThreshold.isNaN else { throw DLInferError.invalid("score_threshold is NaN") }
        if let i = scores.firstIndex(where: \.isNaN) { throw DLInferError.invalid("the score of box \(i) is NaN") }
        let s = scores
        let visitingOrder = { (a: Int, b: Int) in s[a] > s[b] || (s[a] == s[b] && a < b) }
        let order = s.indices.filter { s[$0] > scoreThreshold }.sorted(by: visitingOrder)
        guard let boxes, !order.isEmpty, maxOutputs != 0 else { return [] }

        let width = format.floatsPerBox
        for i in order where !(0..<width).allSatisfy({ boxes[i * width + $0].isFinite }) {
            throw DLInferError.invalid("box \(i) has a coordinate that is not finite")
        }
        let suppresses = try overlapTest(boxes, count: s.count, candidates: order, format: format, iou: iouThreshold)

        // Classes never suppress each other, so each class's visit is independent; merging the kept boxes by score
        // gives the order and the cut at maxOutputs that one visit over all classes would.
        var groups: [Int64: [Int]] = [:]
        for i in order { groups[classes?[i] ?? 0, default: []].append(i) }
        let limit = maxOutputs ?? order.count
        var kept = [Int]()
        for group in groups.values {
            var mine = [Int]()
            for i in group where mine.count < limit && !mine.contains(where: { suppresses(i, $0) }) { mine.append(i) }
            kept += mine
        }
        kept.sort(by: visitingOrder)
        return Array(kept.prefix(limit))
    }

    /// Whether a candidate overlaps a kept box by more than `iou`.
    private static func overlapTest(_ boxes: UnsafePointer<Float>, count: Int, candidates: [Int], format: BoxFormat,
                                    iou: Float) throws -> (Int, Int) -> Bool {
        switch format {
        case .corners, .center:
            let extents = BoxExtents(boxes, count, layout: format == .center ? .center : .xyCorners)
            return { extents.suppresses($0, $1, iou) }
        case .centerAngle, .quad:
            var polygons = [ConvexPolygon?](repeating: nil, count: count)
            for i in candidates {
                let b = boxes + i * format.floatsPerBox
                if format == .quad {
                    guard let q = ConvexPolygon.quad(b) else {
                        throw DLInferError.invalid("box \(i) is not a convex quadrilateral (its corners must go around it in order)")
                    }
                    polygons[i] = q
                } else {
                    polygons[i] = .rotatedRectangle(cx: Double(b[0]), cy: Double(b[1]), w: Double(b[2]), h: Double(b[3]),
                                                    degrees: Double(b[4]))
                }
            }
            return { polygons[$0]!.iou(polygons[$1]!) > Double(iou) }
        }
    }
}
