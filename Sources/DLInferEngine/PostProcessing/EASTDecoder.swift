import DLInferCore
import Glibc

/// Decodes the maps of an EAST text detector (a score map and RBOX geometry per cell) into rotated boxes.
public enum EASTDecoder {
    /// One box per cell whose score is above `threshold`, in row-major cell order: the quadrilateral (top-left,
    /// top-right, bottom-right, bottom-left, clockwise as seen in the image) and the cell's score. Cell (y, x) stands
    /// for the point (x * scale, y * scale); its geometry channels are the distances from that point to the box's
    /// top, right, bottom and left edges and the box's angle in radians, counter-clockwise as seen in the image
    /// (the convention of OpenCV's EAST sample and of detectron2's rotated boxes).
    public static func decode(score: UnsafePointer<Float>, geometry g: UnsafePointer<Float>, height: Int, width: Int,
                              scale: Float, threshold: Float) throws -> (quads: [Float], scores: [Float]) {
        guard scale.isFinite, scale > 0 else { throw DLInferError.invalid("scale \(scale) must be finite and positive") }
        guard !threshold.isNaN else { throw DLInferError.invalid("score_threshold is NaN") }
        let plane = height * width
        var quads = [Float](), scores = [Float]()
        for cell in 0..<plane {
            let s = score[cell]
            guard !s.isNaN else { throw DLInferError.invalid("the score of cell (\(cell / width), \(cell % width)) is NaN") }
            guard s > threshold else { continue }
            let (top, right, bottom, left, angle) = (g[cell], g[plane + cell], g[2 * plane + cell], g[3 * plane + cell], g[4 * plane + cell])
            guard top.isFinite, right.isFinite, bottom.isFinite, left.isFinite, angle.isFinite else {
                throw DLInferError.invalid("the geometry of cell (\(cell / width), \(cell % width)) is not finite")
            }
            let (c, sn) = (cos(Double(angle)), sin(Double(angle)))
            let px = Double(cell % width) * Double(scale), py = Double(cell / width) * Double(scale)
            // The corners relative to the point in the box's own frame, turned into the image's.
            for (u, v) in [(-Double(left), -Double(top)), (Double(right), -Double(top)), (Double(right), Double(bottom)),
                           (-Double(left), Double(bottom))] {
                quads.append(Float(px + u * c + v * sn))
                quads.append(Float(py - u * sn + v * c))
            }
            scores.append(s)
        }
        return (quads, scores)
    }
}
