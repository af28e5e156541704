import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// RoiAlign, in parallel over (ROI, channel). The bilinear sample positions of one ROI are separable: each row of
/// samples shares its y corners and weights, each column its x ones, so a ROI's tables hold (output size x grid)
/// entries per axis, built once per ROI in each worker, and the per-channel loops only multiply and add. The
/// arithmetic is onnxruntime's, in float32 and in its order.
final class RoiAlignKernel: Kernel {
    let attrs: RoiAlign
    init(_ a: RoiAlign) { attrs = a }

    /// Samples along one axis of one ROI: the two neighbouring pixels and their weights, or invalid.
    struct AxisSample { var low = 0, high = 0, l: Float = 0, h: Float = 0, valid = false }

    /// Samples per ROI and channel, and per axis (output size x grid), beyond which a ROI is refused: a real one
    /// needs well under a million, and a ROI far off the image could otherwise ask for years of work.
    static let sampleLimit = 1 << 30, axisLimit = 1 << 22

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, rois = inputs[1]!, batch = inputs[2]!
        guard x.rank == 4, rois.rank == 2, rois.shape[1] == 4, batch.shape == [rois.shape[0]] else {
            throw DLInferError.shape("X \(x.shape), rois \(rois.shape) and batch_indices \(batch.shape) must be [N, C, H, W], [R, 4] and [R]")
        }
        let (n, c, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let r = rois.shape[0], (oh, ow) = (attrs.outputHeight, attrs.outputWidth)
        let bp = batch.pointer(Int64.self)
        for i in 0..<r where !(bp[i] >= 0 && bp[i] < Int64(n)) {
            throw DLInferError.invalid("batch_indices[\(i)] = \(bp[i]) is outside the batch of \(n)")
        }
        let y = try outputs.make(0, zeroed: true)
        try expectShape(y.shape, [r, c, oh, ow])
        guard y.count > 0, height * width > 0 else { return [y] }
        // Each ROI's sampling grid, checked before any work.
        var grids = [(h: Int, w: Int)]()
        let rp = rois.pointer(Float.self)
        for i in 0..<r {
            let g = grid(rp + 4 * i)
            if g.h > 0 && g.w > 0 {
                let limit = RoiAlignKernel.axisLimit
                guard g.h <= limit / oh, g.w <= limit / ow, (g.h * oh) * (g.w * ow) <= RoiAlignKernel.sampleLimit else {
                    throw DLInferError.invalid("ROI \(i) asks for \(g.h) x \(g.w) samples per output bin; too many to take")
                }
            }
            grids.append(g)
        }
        let xp = UnsafePointer(x.pointer(Float.self)), yp = y.pointer(Float.self)
        let plane = height * width, bins = oh * ow
        let perItem = Swift.max(1, grids.map { $0.h * $0.w }.max() ?? 1) * bins
        parallelFor(r * c, grain: Swift.max(1, 16384 / perItem)) { range in
            var ys = [AxisSample](), xs = [AxisSample]()
            var current = -1
            for item in range {
                let roi = item / c, channel = item % c, g = grids[roi]
                guard g.h > 0, g.w > 0 else { continue }
                if roi != current {
                    current = roi
                    self.tables(rp + 4 * roi, g, height, width, &ys, &xs)
                }
                let src = xp + (Int(bp[roi]) * c + channel) * plane
                let dst = yp + item * bins
                let count = Float(g.h * g.w)
                for ph in 0..<oh {
                    for pw in 0..<ow {
                        var acc: Float = 0
                        var first = true
                        for iy in 0..<g.h {
                            let sy = ys[ph * g.h + iy]
                            for ix in 0..<g.w {
                                let sx = xs[pw * g.w + ix]
                                guard sy.valid && sx.valid else {
                                    // onnxruntime weighs such a sample 0: it adds nothing, and takes part in max as 0.
                                    if attrs.mode == .max { acc = first || acc < 0 ? 0 : acc; first = false }
                                    continue
                                }
                                let w1 = sy.h * sx.h, w2 = sy.h * sx.l, w3 = sy.l * sx.h, w4 = sy.l * sx.l
                                let v1 = src[sy.low * width + sx.low], v2 = src[sy.low * width + sx.high]
                                let v3 = src[sy.high * width + sx.low], v4 = src[sy.high * width + sx.high]
                                if attrs.mode == .avg {
                                    acc += w1 * v1 + w2 * v2 + w3 * v3 + w4 * v4
                                } else {
                                    let val = cppMax(cppMax(cppMax(w1 * v1, w2 * v2), w3 * v3), w4 * v4)
                                    acc = first ? val : cppMax(acc, val)
                                    first = false
                                }
                            }
                        }
                        dst[ph * ow + pw] = attrs.mode == .avg ? acc / count : acc
                    }
                }
            }
        }
        return [y]
    }

    /// The ROI's box in input coordinates: start and size per axis.
    private func box(_ roi: UnsafePointer<Float>) -> (y: Float, x: Float, h: Float, w: Float) {
        let offset: Float = attrs.halfPixel ? 0.5 : 0, s = attrs.spatialScale
        let x0 = roi[0] * s - offset, y0 = roi[1] * s - offset, x1 = roi[2] * s - offset, y1 = roi[3] * s - offset
        var w = x1 - x0, h = y1 - y0
        if !attrs.halfPixel {
            // Malformed ROIs become 1 x 1 (std::max keeps a NaN).
            w = w < 1 ? 1 : w
            h = h < 1 ? 1 : h
        }
        return (y0, x0, h, w)
    }

    /// Samples per bin along each axis (0 when the ROI has no size, or its size is NaN).
    private func grid(_ roi: UnsafePointer<Float>) -> (h: Int, w: Int) {
        let b = box(roi)
        func axis(_ size: Float, _ out: Int) -> Int {
            if attrs.samplingRatio > 0 { return attrs.samplingRatio }
            let v = (size / Float(out)).rounded(.up)
            guard v >= 1 else { return 0 }
            return v < Float(RoiAlignKernel.axisLimit) ? Int(v) : RoiAlignKernel.axisLimit + 1
        }
        return (axis(b.h, attrs.outputHeight), axis(b.w, attrs.outputWidth))
    }

    private func tables(_ roi: UnsafePointer<Float>, _ g: (h: Int, w: Int), _ height: Int, _ width: Int,
                        _ ys: inout [AxisSample], _ xs: inout [AxisSample]) {
        let b = box(roi)
        func fill(_ t: inout [AxisSample], start: Float, size: Float, out: Int, grid: Int, length: Int) {
            t.removeAll(keepingCapacity: true)
            let bin = size / Float(out)
            for p in 0..<out {
                for i in 0..<grid {
                    var v = start + Float(p) * bin + (Float(i) + 0.5) * bin / Float(grid)
                    var s = AxisSample()
                    if v >= -1 && v <= Float(length) {
                        if v <= 0 { v = 0 }
                        s.low = Int(v)
                        if s.low >= length - 1 {
                            s.low = length - 1; s.high = length - 1; v = Float(s.low)
                        } else {
                            s.high = s.low + 1
                        }
                        s.l = v - Float(s.low)
                        s.h = 1 - s.l
                        s.valid = true
                    }
                    t.append(s)
                }
            }
        }
        fill(&ys, start: b.y, size: b.h, out: attrs.outputHeight, grid: g.h, length: height)
        fill(&xs, start: b.x, size: b.w, out: attrs.outputWidth, grid: g.w, length: width)
    }
}

/// std::max: the first argument unless it is less than the second (so a NaN first argument is kept).
@inline(__always)
func cppMax(_ a: Float, _ b: Float) -> Float { a < b ? b : a }

/// MaxRoiPool, in parallel over (ROI, channel), with onnxruntime's integer bin arithmetic.
final class MaxRoiPoolKernel: Kernel {
    let attrs: MaxRoiPool
    init(_ a: MaxRoiPool) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, rois = inputs[1]!
        guard x.rank == 4, rois.rank == 2, rois.shape[1] == 5 else {
            throw DLInferError.shape("X \(x.shape) and rois \(rois.shape) must be [N, C, H, W] and [R, 5]")
        }
        let (n, c, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let r = rois.shape[0], (ph, pw) = (attrs.pooledShape[0], attrs.pooledShape[1])
        let y = try outputs.make(0)
        try expectShape(y.shape, [r, c, ph, pw])
        let rp = rois.pointer(Float.self)
        // Per ROI: batch, start row and column, bin sizes.
        var geometry = [(batch: Int, y: Int, x: Int, binH: Float, binW: Float)]()
        for i in 0..<r {
            let roi = rp + 5 * i
            guard roi[0] > -1, roi[0] < Float(n) else {
                throw DLInferError.invalid("ROI \(i) names batch \(roi[0]), outside the batch of \(n)")
            }
            // Rounded half away from zero; clipped far outside the image, which changes no bin (all clip to it).
            func corner(_ v: Float) -> Int {
                let s = (v * attrs.spatialScale).rounded(.toNearestOrAwayFromZero)
                return s.isNaN ? 0 : Int(Swift.min(Swift.max(s, -Float(1 << 30)), Float(1 << 30)))
            }
            let (x0, y0, x1, y1) = (corner(roi[1]), corner(roi[2]), corner(roi[3]), corner(roi[4]))
            let h = Swift.max(y1 - y0 + 1, 1), w = Swift.max(x1 - x0 + 1, 1)
            geometry.append((Int(roi[0]), y0, x0, Float(h) / Float(ph), Float(w) / Float(pw)))
        }
        let xp = UnsafePointer(x.pointer(Float.self)), yp = y.pointer(Float.self)
        let plane = height * width
        parallelFor(r * c, grain: Swift.max(1, 4096 / Swift.max(1, ph * pw))) { range in
            for item in range {
                let g = geometry[item / c]
                let src = xp + (g.batch * c + item % c) * plane, dst = yp + item * ph * pw
                for i in 0..<ph {
                    let h0 = Swift.min(Swift.max(Int((Float(i) * g.binH).rounded(.down)) + g.y, 0), height)
                    let h1 = Swift.min(Swift.max(Int((Float(i + 1) * g.binH).rounded(.up)) + g.y, 0), height)
                    for j in 0..<pw {
                        let w0 = Swift.min(Swift.max(Int((Float(j) * g.binW).rounded(.down)) + g.x, 0), width)
                        let w1 = Swift.min(Swift.max(Int((Float(j + 1) * g.binW).rounded(.up)) + g.x, 0), width)
                        guard h1 > h0, w1 > w0 else { dst[i * pw + j] = 0; continue }
                        var m = -Float.greatestFiniteMagnitude
                        for row in h0..<h1 { for col in w0..<w1 where src[row * width + col] > m { m = src[row * width + col] } }
                        dst[i * pw + j] = m
                    }
                }
            }
        }
        return [y]
    }
}

extension CPUKernelFactory {
    func visit(_ a: RoiAlign, _ _: Node, _ _: Graph) -> HostKernel {
        RoiAlignKernel(a)
    }

    func visit(_ a: MaxRoiPool, _ _: Node, _ _: Graph) -> HostKernel {
        MaxRoiPoolKernel(a)
    }
}
