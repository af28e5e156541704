/// The smallest rectangle around a set of grid points. One of its sides lies along an edge of the convex hull, so
/// trying each edge's direction finds it (what rotating calipers do). The areas are compared exactly, as fractions of
/// integers, because on a grid two directions often give exactly the same area: that tie goes to the rectangle turned
/// least from the axes (OpenCV's minAreaRect, which CRAFT uses, meets the axis-aligned direction first).
enum MinimumAreaRectangle {
    /// Its four corners in order around it.
    static func corners(of points: [SIMD2<Int>]) -> [SIMD2<Double>] {
        let hull = convexHull(points)
        guard hull.count > 1 else {
            let p = hull.first ?? .zero
            return [SIMD2<Double>](repeating: SIMD2(Double(p.x), Double(p.y)), count: 4)
        }
        // Per edge direction e (turned by quarter turns into [0, 90 degrees): the same rectangle), the extents of
        // the hull along e and across it, each |e| times too long, so area = along * across / |e|^2.
        var best: (e: SIMD2<Int>, along: ClosedRange<Int>, across: ClosedRange<Int>)?
        for k in hull.indices {
            var e = hull[(k + 1) % hull.count] &- hull[k]
            while !(e.x > 0 && e.y >= 0) { e = SIMD2(e.y, -e.x) }
            var (a0, a1, c0, c1) = (Int.max, Int.min, Int.max, Int.min)
            for p in hull {
                let along = p.x * e.x + p.y * e.y, across = p.y * e.x - p.x * e.y
                (a0, a1, c0, c1) = (min(a0, along), max(a1, along), min(c0, across), max(c1, across))
            }
            guard let b = best else { best = (e, a0...a1, c0...c1); continue }
            // area(e) < area(b) <=> (a1 - a0)(c1 - c0) |b|^2 < (along_b)(across_b) |e|^2, in 128 bits.
            let mine = Int128((a1 - a0)) * Int128(c1 - c0) * Int128(b.e.x * b.e.x + b.e.y * b.e.y)
            let theirs = Int128(b.along.count - 1) * Int128(b.across.count - 1) * Int128(e.x * e.x + e.y * e.y)
            let turnedLess = b.e.x * e.y - b.e.y * e.x < 0
            if mine < theirs || (mine == theirs && turnedLess) { best = (e, a0...a1, c0...c1) }
        }
        let b = best!
        let e = SIMD2(Double(b.e.x), Double(b.e.y)), n = (e * e).sum()
        let u = e / n, v = SIMD2(-e.y, e.x) / n
        let (a0, a1) = (Double(b.along.lowerBound), Double(b.along.upperBound))
        let (c0, c1) = (Double(b.across.lowerBound), Double(b.across.upperBound))
        // A point with p.e = a and cross(e, p) = c is (a e + c (-e.y, e.x)) / |e|^2.
        return [u * a0 + v * c0, u * a1 + v * c0, u * a1 + v * c1, u * a0 + v * c1]
    }

    /// Andrew's monotone chain in exact integer arithmetic; collinear points dropped, so a line of points gives its
    /// two ends.
    static func convexHull(_ points: [SIMD2<Int>]) -> [SIMD2<Int>] {
        let sorted = points.sorted { $0.x < $1.x || ($0.x == $1.x && $0.y < $1.y) }
        guard sorted.count > 2 else { return sorted.count == 2 && sorted[0] == sorted[1] ? [sorted[0]] : sorted }
        func turn(_ a: SIMD2<Int>, _ b: SIMD2<Int>, _ c: SIMD2<Int>) -> Int {
            (b.x - a.x) * (c.y - b.y) - (b.y - a.y) * (c.x - b.x)
        }
        var hull = [SIMD2<Int>]()
        for pass in 0..<2 {
            let start = hull.count
            for p in pass == 0 ? sorted : sorted.reversed() {
                while hull.count >= start + 2, turn(hull[hull.count - 2], hull[hull.count - 1], p) <= 0 { hull.removeLast() }
                hull.append(p)
            }
            hull.removeLast()
        }
        return hull
    }
}
