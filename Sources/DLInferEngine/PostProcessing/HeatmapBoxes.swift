import DLInferCore
import Glibc

/// Word boxes from the character-region and affinity heatmaps of a CRAFT-style text detector, by the steps of CRAFT's
/// reference post-processing (`getDetBoxes_core`): threshold, 4-connected components, a dilation that grows with
/// the component's thinness, the minimum-area rectangle.
public enum HeatmapBoxes {
    public struct Thresholds: Sendable {
        public var text: Float, link: Float, low: Float
        public var minSize: Int
        public init(text: Float, link: Float, low: Float, minSize: Int) {
            (self.text, self.link, self.low, self.minSize) = (text, link, low, minSize)
        }
    }

    /// The boxes (8 floats each: a quadrilateral clockwise as seen in the image from the corner with the smallest
    /// x + y, ties to the smaller y) scaled by `scale`, and each component's peak region score, in the raster order
    /// of the components' first cells.
    public static func boxes(region: UnsafePointer<Float>, affinity: UnsafePointer<Float>?, height: Int, width: Int,
                             thresholds t: Thresholds, scale: Float) throws -> (quads: [Float], scores: [Float]) {
        guard !t.text.isNaN, !t.link.isNaN, !t.low.isNaN else { throw DLInferError.invalid("a threshold is NaN") }
        guard t.minSize >= 1 else { throw DLInferError.invalid("min_size \(t.minSize) must be at least 1") }
        guard scale.isFinite, scale > 0 else { throw DLInferError.invalid("scale \(scale) must be finite and positive") }
        let plane = height * width
        var text = [Bool](repeating: false, count: plane), link = text
        for i in 0..<plane {
            guard !region[i].isNaN else { throw DLInferError.invalid("region score \(i) is NaN") }
            text[i] = region[i] > t.low
            if let affinity {
                guard !affinity[i].isNaN else { throw DLInferError.invalid("affinity score \(i) is NaN") }
                link[i] = affinity[i] > t.link
            }
        }
        var seen = [Bool](repeating: false, count: plane)
        var quads = [Float](), scores = [Float]()
        var component = [Int](), stack = [Int]()
        for start in 0..<plane where !seen[start] && (text[start] || link[start]) {
            component.removeAll(keepingCapacity: true)
            seen[start] = true
            stack.append(start)
            while let i = stack.popLast() {
                component.append(i)
                let (y, x) = (i / width, i % width)
                for (ny, nx) in [(y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)]
                where ny >= 0 && ny < height && nx >= 0 && nx < width {
                    let j = ny * width + nx
                    if !seen[j] && (text[j] || link[j]) { seen[j] = true; stack.append(j) }
                }
            }
            guard component.count >= t.minSize else { continue }
            let peak = component.reduce(-Float.infinity) { max($0, region[$1]) }
            guard peak >= t.text else { continue }
            let points = dilatedOutline(component.filter { text[$0] }, of: component, height: height, width: width)
            // Only links and no region cell above low_text (possible when text < low): nothing to draw a box around.
            guard !points.isEmpty else { continue }
            quads += box(points).flatMap { [Float($0.x) * scale, Float($0.y) * scale] }
            scores.append(peak)
        }
        return (quads, scores)
    }

    /// The leftmost and rightmost cell (x, y) of each row of the component's text cells after CRAFT's dilation: a
    /// (1 + n) x (1 + n) square, n = int(2 sqrt(size * min(w, h) / (w * h))) for the component's cell count (size) and
    /// bounding box w x h, anchored as OpenCV's dilate anchors it, within the box grown by n (and by 1 at the far
    /// edges) clipped to the map. Those cells are all the convex hull needs.
    private static func dilatedOutline(_ cells: [Int], of component: [Int], height: Int, width: Int) -> [SIMD2<Int>] {
        var (x0, x1, y0, y1) = (width, -1, height, -1)
        for i in component { (x0, x1, y0, y1) = (min(x0, i % width), max(x1, i % width), min(y0, i / width), max(y1, i / width)) }
        let (w, h) = (x1 - x0 + 1, y1 - y0 + 1)
        let n = Int((Double(component.count * min(w, h)) / Double(w * h)).squareRoot() * 2)
        let (sx, ex, sy, ey) = (max(0, x0 - n), min(width, x1 + 1 + n + 1), max(0, y0 - n), min(height, y1 + 1 + n + 1))
        let (cw, ch) = (ex - sx, ey - sy)
        // OpenCV's dilate sets a cell when any source cell within [-a, n - a] of it on each axis is set, a = (1 + n) / 2.
        let a = (1 + n) / 2
        var rows = [Bool](repeating: false, count: cw * ch)
        for i in cells {
            let (y, x) = (i / width - sy, i % width - sx)
            for dx in max(0, x - (n - a))...min(cw - 1, x + a) { rows[y * cw + dx] = true }
        }
        var grown = [Bool](repeating: false, count: cw * ch)
        for x in 0..<cw {
            for y in 0..<ch where rows[y * cw + x] {
                for dy in max(0, y - (n - a))...min(ch - 1, y + a) { grown[dy * cw + x] = true }
            }
        }
        var points = [SIMD2<Int>]()
        for y in 0..<ch {
            let row = grown[(y * cw)..<((y + 1) * cw)]
            guard let first = row.firstIndex(of: true), let last = row.lastIndex(of: true) else { continue }
            points.append(SIMD2(first - y * cw + sx, y + sy))
            if last != first { points.append(SIMD2(last - y * cw + sx, y + sy)) }
        }
        return points
    }

    /// The minimum-area rectangle around the points, or their axis-aligned bounding box when the rectangle's sides
    /// differ by at most 10 % (CRAFT's guard against diamond-shaped boxes), as 4 corners in the documented order.
    private static func box(_ points: [SIMD2<Int>]) -> [SIMD2<Double>] {
        var corners = MinimumAreaRectangle.corners(of: points)
        let (w, h) = (distance(corners[0], corners[1]), distance(corners[1], corners[2]))
        if abs(1 - max(w, h) / (min(w, h) + 1e-5)) <= 0.1 {
            let lo = points.reduce(points[0]) { pointwiseMin($0, $1) }, hi = points.reduce(points[0]) { pointwiseMax($0, $1) }
            corners = [lo, SIMD2(hi.x, lo.y), hi, SIMD2(lo.x, hi.y)].map { SIMD2(Double($0.x), Double($0.y)) }
        }
        if ConvexPolygon.signedArea(corners) < 0 { corners.reverse() }
        let first = corners.indices.min { a, b in
            let (sa, sb) = (corners[a].x + corners[a].y, corners[b].x + corners[b].y)
            return sa < sb || (sa == sb && corners[a].y < corners[b].y)
        }!
        return Array(corners[first...] + corners[..<first])
    }

    private static func distance(_ a: SIMD2<Double>, _ b: SIMD2<Double>) -> Double {
        let d = a - b
        return (d * d).sum().squareRoot()
    }
}
