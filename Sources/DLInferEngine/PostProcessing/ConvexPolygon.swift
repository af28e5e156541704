import DLInferCore
import Glibc

/// A convex polygon with its vertices in positive (shoelace) order, for the overlap of rotated boxes. Double
/// arithmetic: box coordinates are float32, so differences and products of them are exact or nearly so.
struct ConvexPolygon {
    var points: [SIMD2<Double>]
    let area: Double

    /// `points` in order around the polygon, either direction; the caller has checked convexity.
    init(_ points: [SIMD2<Double>]) {
        let signed = ConvexPolygon.signedArea(points)
        self.points = signed < 0 ? points.reversed() : points
        area = abs(signed)
    }

    /// A w x h rectangle about (cx, cy) turned `degrees` counter-clockwise as seen in an image whose y axis points
    /// down: detectron2's rotated box, whose first corner (cx, cy) + (w/2 cos a + h/2 sin a, h/2 cos a - w/2 sin a)
    /// is the bottom-right one at angle 0.
    static func rotatedRectangle(cx: Double, cy: Double, w: Double, h: Double, degrees: Double) -> ConvexPolygon {
        let a = degrees * .pi / 180
        let c = SIMD2(cx, cy)
        let u = SIMD2(cos(a), -sin(a)) * (w / 2), v = SIMD2(sin(a), cos(a)) * (h / 2)
        return ConvexPolygon([c + u + v, c + u - v, c - u - v, c - u + v])
    }

    /// The quadrilateral of 8 floats x1, y1, ..., x4, y4, or nil when its corners do not go around a convex shape
    /// (turns of both signs: a bow tie or a dent). Collinear corners are allowed, so degenerate boxes pass.
    static func quad(_ q: UnsafePointer<Float>) -> ConvexPolygon? {
        let p = (0..<4).map { SIMD2(Double(q[2 * $0]), Double(q[2 * $0 + 1])) }
        var positive = false, negative = false
        for k in 0..<4 {
            let turn = cross(p[(k + 1) % 4] - p[k], p[(k + 2) % 4] - p[(k + 1) % 4])
            if turn > 0 { positive = true } else if turn < 0 { negative = true }
        }
        return positive && negative ? nil : ConvexPolygon(p)
    }

    static func signedArea(_ p: [SIMD2<Double>]) -> Double {
        var twice = 0.0
        for k in p.indices { twice += cross(p[k], p[(k + 1) % p.count]) }
        return twice / 2
    }

    /// The area both polygons cover: `self` clipped by each edge of `other` (Sutherland-Hodgman, exact for convex
    /// polygons). 0 when either has no area, since a degenerate polygon has no inside to clip by.
    func intersectionArea(_ other: ConvexPolygon) -> Double {
        guard area > 0, other.area > 0 else { return 0 }
        var clipped = points
        for k in other.points.indices where !clipped.isEmpty {
            let a = other.points[k], edge = other.points[(k + 1) % other.points.count] - a
            let input = clipped
            clipped.removeAll(keepingCapacity: true)
            for i in input.indices {
                let p = input[i], q = input[(i + 1) % input.count]
                let sp = cross(edge, p - a), sq = cross(edge, q - a)
                if sp >= 0 { clipped.append(p) }
                if (sp >= 0) != (sq >= 0) { clipped.append(p + (q - p) * (sp / (sp - sq))) }
            }
        }
        return clipped.count < 3 ? 0 : max(0, ConvexPolygon.signedArea(clipped))
    }

    /// Intersection over union; 0 when the union has no area.
    func iou(_ other: ConvexPolygon) -> Double {
        let inter = intersectionArea(other)
        let union = area + other.area - inter
        return union > 0 ? inter / union : 0
    }
}

@inline(__always)
func cross(_ a: SIMD2<Double>, _ b: SIMD2<Double>) -> Double { a.x * b.y - a.y * b.x }
