/// Axis-aligned boxes as min/max per axis and area, and the greedy suppression over them that both the
/// NonMaxSuppression op and the library's NMS function run. The arithmetic is float32 in onnxruntime's order, which
/// is also torchvision's for well-formed boxes, so ties at the IoU threshold resolve as in both.
public struct BoxExtents {
    /// How the four floats of a box are laid out.
    public enum Layout: Sendable {
        /// [y1, x1, y2, x2], any two opposite corners (ONNX NonMaxSuppression's center_point_box 0).
        case yxCorners
        /// [x1, y1, x2, y2], any two opposite corners (torchvision).
        case xyCorners
        /// [x_center, y_center, width, height].
        case center
    }

    public var xMin: [Float], xMax: [Float], yMin: [Float], yMax: [Float], area: [Float]

    public init(_ box: UnsafePointer<Float>, _ n: Int, layout: Layout) {
        (xMin, xMax, yMin, yMax, area) = ([], [], [], [], [])
        xMin.reserveCapacity(n); xMax.reserveCapacity(n); yMin.reserveCapacity(n); yMax.reserveCapacity(n); area.reserveCapacity(n)
        for i in 0..<n {
            let b = box + 4 * i
            var x0: Float, x1: Float, y0: Float, y1: Float
            switch layout {
            case .center:
                let w = b[2] / 2, h = b[3] / 2
                (x0, x1, y0, y1) = (b[0] - w, b[0] + w, b[1] - h, b[1] + h)
            case .yxCorners:
                (x0, x1) = b[1] >= b[3] ? (b[3], b[1]) : (b[1], b[3])
                (y0, y1) = b[0] >= b[2] ? (b[2], b[0]) : (b[0], b[2])
            case .xyCorners:
                (x0, x1) = b[0] >= b[2] ? (b[2], b[0]) : (b[0], b[2])
                (y0, y1) = b[1] >= b[3] ? (b[3], b[1]) : (b[1], b[3])
            }
            xMin.append(x0); xMax.append(x1); yMin.append(y0); yMax.append(y1)
            area.append((x1 - x0) * (y1 - y0))
        }
    }

    /// Whether candidate `i` overlaps kept box `j` by more than `threshold` (onnxruntime's SuppressByIOU: its
    /// comparisons, in its order, with std::max/std::min's NaN behaviour). Boxes that do not overlap with positive
    /// width and height, and boxes of zero area, never suppress.
    @inline(__always)
    public func suppresses(_ i: Int, _ j: Int, _ threshold: Float) -> Bool {
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
    public func greedy(_ order: [Int], limit: Int, iou: Float) -> [Int] {
        var kept = [Int]()
        for i in order {
            if kept.count >= limit { break }
            if !kept.contains(where: { suppresses(i, $0, iou) }) { kept.append(i) }
        }
        return kept
    }
}
