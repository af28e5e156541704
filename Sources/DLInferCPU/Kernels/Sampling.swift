import DLInferCore

/// GridSample, in parallel over output points. Each point's neighbours are worked out once, axis by axis (pixel
/// index and weight per tap, padding applied), then combined into (offset, weight) pairs that every channel reuses:
/// a channel costs one multiply-add per pair. Coordinates are float32, as in onnxruntime and the ONNX reference.
final class GridSampleKernel: Kernel {
    let attrs: GridSample
    init(_ a: GridSample) { attrs = a }

    /// Neighbour combinations per point beyond which the op is refused (cubic in 6-D; linear in 12-D).
    static let pairLimit = 4096

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, grid = inputs[1]!
        let r = x.rank - 2
        guard r >= 1, grid.rank == x.rank, grid.shape[0] == x.shape[0], grid.shape[x.rank - 1] == r else {
            throw DLInferError.shape("X \(x.shape) and grid \(grid.shape) must be [N, C, D1...Dr] and [N, O1...Or, r]")
        }
        let taps: Int
        switch attrs.mode {
        case .nearest: taps = 1
        case .linear: taps = 2
        case .cubic: taps = 4
        }
        var pairs = 1
        for _ in 0..<r { pairs *= taps; if pairs > GridSampleKernel.pairLimit { break } }
        guard pairs <= GridSampleKernel.pairLimit else {
            throw DLInferError.unsupported("\(attrs.mode.rawValue) sampling over \(r) spatial axes (\(taps)^\(r) neighbours per point)")
        }
        let (n, c) = (x.shape[0], x.shape[1]), dims = Array(x.shape[2...])
        let points = grid.shape[1..<(x.rank - 1)].reduce(1, *)
        let y = try outputs.make(0)
        try expectShape(y.shape, [n, c] + Array(grid.shape[1..<(x.rank - 1)]))
        guard y.count > 0 else { return [y] }
        guard dims.allSatisfy({ $0 > 0 }) else { throw DLInferError.shape("X \(x.shape) has an empty spatial axis to sample") }
        let plane = dims.elementCount, strides = dims.contiguousStrides
        let xp = UnsafePointer(x.pointer(Float.self)), gp = UnsafePointer(grid.pointer(Float.self)), yp = y.pointer(Float.self)
        let a = attrs
        parallelFor(n * points, grain: Swift.max(1, 2048 / (c * pairs))) { range in
            var index = [Int](repeating: 0, count: r * taps), weight = [Float](repeating: 0, count: r * taps)
            var count = [Int](repeating: 0, count: r), pick = [Int](repeating: 0, count: r)
            var offsets = [Int](), weights = [Float]()
            for item in range {
                let b = item / points, p = item % points
                let g = gp + item * r
                offsets.removeAll(keepingCapacity: true); weights.removeAll(keepingCapacity: true)
                var empty = false
                for axis in 0..<r {
                    // grid holds x (the innermost axis) first.
                    count[axis] = a.taps(g[r - 1 - axis], length: dims[axis], into: &index, &weight, at: axis * taps)
                    if count[axis] == 0 { empty = true }
                }
                if !empty {
                    // Every combination of one tap per axis: offset sum and weight product.
                    for axis in 0..<r { pick[axis] = 0 }
                    while true {
                        var off = 0, w: Float = 1
                        for axis in 0..<r { off += index[axis * taps + pick[axis]] * strides[axis]; w *= weight[axis * taps + pick[axis]] }
                        offsets.append(off); weights.append(w)
                        var axis = r - 1
                        while axis >= 0 { pick[axis] += 1; if pick[axis] < count[axis] { break }; pick[axis] = 0; axis -= 1 }
                        if axis < 0 { break }
                    }
                }
                for ch in 0..<c {
                    let src = xp + (b * c + ch) * plane
                    var acc: Float = 0
                    for k in 0..<offsets.count { acc += weights[k] * src[offsets[k]] }
                    yp[(b * c + ch) * points + p] = acc
                }
            }
        }
        return [y]
    }
}

extension GridSample {
    /// Writes the taps of normalised coordinate `g` along an axis of `length` pixels (index, weight) at `at`; returns
    /// how many there are (taps outside the input under zeros padding are left out).
    @inline(__always)
    func taps(_ g: Float, length: Int, into index: inout [Int], _ weight: inout [Float], at: Int) -> Int {
        let n = Float(length)
        var v = alignCorners ? (g + 1) / 2 * (n - 1) : ((g + 1) * n - 1) / 2
        if mode == .nearest { v = v.rounded(.toNearestOrEven) }
        let lo: Float = alignCorners ? 0 : -0.5, hi: Float = alignCorners ? n - 1 : n - 0.5
        if v < lo || v > hi {
            switch padding {
            case .zeros: break
            case .border: v = Swift.min(Swift.max(v, 0), n - 1)
            case .reflection: v = gridReflect(v, lo, hi)
            }
        }
        // Far outside (zeros padding), or not a number: no tap reaches the input.
        guard v > -4, v < n + 4 else { return 0 }
        var k = 0
        func add(_ i: Int, _ w: Float) {
            let p: Int
            switch padding {
            case .zeros:
                guard i >= 0 && i < length else { return }
                p = i
            case .border: p = Swift.min(Swift.max(i, 0), length - 1)
            case .reflection: p = Swift.min(Swift.max(Int(gridReflect(Float(i), lo, hi)), 0), length - 1)
            }
            index[at + k] = p; weight[at + k] = w
            k += 1
        }
        switch mode {
        case .nearest:
            add(Int(v), 1)
        case .linear:
            let f = v.rounded(.down), t = v - f, i = Int(f)
            add(i, 1 - t); add(i + 1, t)
        case .cubic:
            let f = v.rounded(.down), t = v - f, i = Int(f)
            // Keys' kernel, a = -0.75, at distances 1 + t, t, 1 - t and 2 - t.
            let a: Float = -0.75
            let t1 = t + 1, t2 = 1 - t, t3 = 2 - t
            add(i - 1, ((a * t1 - 5 * a) * t1 + 8 * a) * t1 - 4 * a)
            add(i, ((a + 2) * t - (a + 3)) * t * t + 1)
            add(i + 1, ((a + 2) * t2 - (a + 3)) * t2 * t2 + 1)
            add(i + 2, ((a * t3 - 5 * a) * t3 + 8 * a) * t3 - 4 * a)
        }
        return k
    }
}

/// Reflects `x` about `lo` and `hi` until it lies between them (onnxruntime's GsReflect, without its integer
/// overflow for far-off values); a zero range gives `lo`, an infinite `x` NaN (which samples nothing).
@inline(__always)
func gridReflect(_ x: Float, _ lo: Float, _ hi: Float) -> Float {
    let range = hi - lo
    guard x < lo || x > hi else { return x }
    guard x.isFinite else { return .nan }
    guard range > 0 else { return lo }
    let d = x < lo ? lo - x : x - hi
    let q = (d / range).rounded(.towardZero), rest = d - q * range
    let even = q.truncatingRemainder(dividingBy: 2) == 0
    return x < lo ? (even ? lo + rest : hi - rest) : (even ? hi - rest : lo + rest)
}

/// AffineGrid: each batch's matrix applied to the evenly spaced positions, in double precision.
final class AffineGridKernel: Kernel {
    let attrs: AffineGrid
    init(_ a: AffineGrid) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let theta = inputs[0]!
        guard let size = inputs[1]!.intValues(), size.count == 4 || size.count == 5 else {
            throw DLInferError.shape("size must hold 4 or 5 int64 values")
        }
        let r = size.count - 2
        guard theta.shape == [size[0], r, r + 1] else {
            throw DLInferError.shape("theta \(theta.shape) must be [\(size[0]), \(r), \(r + 1)] for size \(size)")
        }
        let y = try outputs.make(0)
        let spatial = Array(size[2...])
        try expectShape(y.shape, [size[0]] + spatial + [r])
        guard y.count > 0 else { return [y] }
        // Positions per axis; the grid's coordinates are innermost axis first (x, y, z).
        let axes: [[Double]] = spatial.map { l in
            (0..<l).map { i in
                if attrs.alignCorners { return l > 1 ? -1 + 2 * Double(i) / Double(l - 1) : -1 }
                return -1 + Double(2 * i + 1) / Double(l)
            }
        }
        let tp = theta.pointer(Float.self), yp = y.pointer(Float.self)
        let points = spatial.elementCount, strides = spatial.contiguousStrides
        parallelFor(size[0] * points, grain: 4096) { range in
            var coord = [Double](repeating: 1, count: r + 1)
            for item in range {
                let b = item / points, p = item % points
                for k in 0..<r { let axis = r - 1 - k; coord[k] = axes[axis][p / strides[axis] % spatial[axis]] }
                let t = tp + b * r * (r + 1)
                for row in 0..<r {
                    var s = 0.0
                    for col in 0...r { s += Double(t[row * (r + 1) + col]) * coord[col] }
                    yp[item * r + row] = Float(s)
                }
            }
        }
        return [y]
    }
}

extension CPUKernelFactory {
    func visit(_ a: GridSample, _ _: Node, _ _: Graph) -> HostKernel {
        GridSampleKernel(a)
    }

    func visit(_ a: AffineGrid, _ _: Node, _ _: Graph) -> HostKernel {
        AffineGridKernel(a)
    }
}
