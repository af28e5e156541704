import DLInferCore
import DLInferEngine
import XCTest

/// Resize paths the ONNX node tests leave out (the 2x nearest fast path on NCHW, row reuse, 1/2/8-byte elements,
/// separable passes over outer axes, 5-D, antialiasing at real downscales), each against a direct per-element
/// reference written here (every output element computed on its own from the ONNX formulas, no separable passes),
/// plus inputs that must be rejected.
final class ResizeTests: XCTestCase {

    func testNearestUpsampleFastPathsAgainstNaive() throws {
        let x = TestData.random([2, 3, 7, 9], seed: 11)
        for factor in [2, 3] {
            var r = Resize()
            if factor == 3 { r.coordinateTransform = .asymmetric; r.nearestMode = .floor }
            let y = try OneNode.run(.resize(r), [x, nil, scales([1, 1, Float(factor), Float(factor)])], constant: [2])
            XCTAssertEqual(y.shape, [2, 3, 7 * factor, 9 * factor])
            let want = naiveNearest(x.array(Float.self), x.shape, y.shape) { o, n, m in o * n / m }
            assertClose(y, want, shape: [2, 3, 7 * factor, 9 * factor], rtol: 0, atol: 0, "\(factor)x")
        }
    }

    func testNearestOtherElementSizes() throws {
        var r = Resize()
        r.coordinateTransform = .asymmetric
        r.nearestMode = .floor
        let shape = [2, 5, 3]
        let outShape = [2, 10, 4]
        // Output index o samples floor(o * n / m) along each axis (exact in single precision for these sizes).
        let pick: (Int, Int, Int) -> Int = { o, n, m in o * n / m }
        let ints = Tensor((0..<30).map { Int64($0 * 3 - 40) }, shape: shape)
        let yi = try OneNode.run(.resize(r), [ints, nil, nil, sizes(outShape)], constant: [3])
        assertClose(yi, Tensor(naiveNearest(ints.array(Int64.self), shape, outShape, pick), shape: outShape), rtol: 0, atol: 0, "int64")
        let bytes = Tensor((0..<30).map { UInt8($0 * 7 % 256) }, shape: shape)
        let yb = try OneNode.run(.resize(r), [bytes, nil, nil, sizes(outShape)], constant: [3])
        assertClose(yb, Tensor(naiveNearest(bytes.array(UInt8.self), shape, outShape, pick), shape: outShape), rtol: 0, atol: 0, "uint8")
        let halves = Tensor((0..<30).map { UInt16($0 * 1111) }, shape: shape)
        let yh = try OneNode.run(.resize(r), [Tensor(dtype: .float16, shape: shape, storage: halves.storage), nil, nil, sizes(outShape)],
                                 constant: [3])
        XCTAssertEqual(yh.dtype, .float16)
        assertClose(Tensor(dtype: .uint16, shape: yh.shape, storage: yh.storage),
                    Tensor(naiveNearest(halves.array(UInt16.self), shape, outShape, pick), shape: outShape), rtol: 0, atol: 0, "float16")
    }

    func testLinearSeparablePassesAgainstNaive() throws {
        // Resizes an outer axis (pass over whole rows), a middle one and the innermost one, up and down.
        let x = TestData.random([3, 4, 13, 17], seed: 12)
        for transform in [Resize.CoordinateTransform.halfPixel, .alignCorners, .asymmetric, .pytorchHalfPixel] {
            var r = Resize()
            r.mode = .linear
            r.coordinateTransform = transform
            let out = [5, 4, 29, 8]
            let y = try OneNode.run(.resize(r), [x, nil, nil, sizes(out)], constant: [3])
            let want = naiveInterpolate(x, out, kernel: linearKernel) { _, o, n, m in
                let s = Double(m) / Double(n), o = Double(o)
                switch transform {
                case .alignCorners: return m > 1 ? o * Double(n - 1) / Double(m - 1) : 0
                case .asymmetric: return o / s
                case .pytorchHalfPixel: return m > 1 ? (o + 0.5) / s - 0.5 : 0
                default: return (o + 0.5) / s - 0.5
                }
            }
            assertClose(y, want, shape: out, rtol: 1e-4, atol: 1e-5, "\(transform)")
        }
    }

    func testLinearFiveDimensionsWithScales() throws {
        let x = TestData.random([2, 3, 4, 5, 6], seed: 13)
        var r = Resize()
        r.mode = .linear
        let y = try OneNode.run(.resize(r), [x, nil, scales([1.5, 1, 2, 0.5, 1.25])], constant: [2])
        XCTAssertEqual(y.shape, [3, 3, 8, 2, 7])
        // The given scale, not m / n, drives the transform.
        let factors = [1.5, 1, 2, 0.5, 1.25]
        let want = naiveInterpolate(x, y.shape, kernel: linearKernel) { a, o, _, _ in (Double(o) + 0.5) / factors[a] - 0.5 }
        assertClose(y, want, shape: [3, 3, 8, 2, 7], rtol: 1e-4, atol: 1e-5, "5-D")
    }

    func testCubicExcludeOutsideAgainstNaive() throws {
        let x = TestData.random([1, 2, 9, 11], seed: 14)
        var r = Resize()
        r.mode = .cubic
        r.cubicCoeffA = -0.5
        r.excludeOutside = true
        let out = [1, 2, 14, 7]
        let y = try OneNode.run(.resize(r), [x, nil, nil, sizes(out)], constant: [3])
        let want = naiveInterpolate(x, out, kernel: { cubicKernel($0, a: -0.5) }, excludeOutside: true) { _, o, n, m in
            (Double(o) + 0.5) / (Double(m) / Double(n)) - 0.5
        }
        assertClose(y, want, shape: out, rtol: 1e-4, atol: 1e-5, "cubic")
    }

    func testAntialiasedDownscaleAgainstNaive() throws {
        let x = TestData.random([1, 1, 40, 31], seed: 15)
        for mode in [Resize.Mode.linear, .cubic] {
            var r = Resize()
            r.mode = mode
            r.antialias = true
            let out = [1, 1, 9, 12]
            let y = try OneNode.run(.resize(r), [x, nil, nil, sizes(out)], constant: [3])
            let kernel: (Double) -> Double = mode == .linear ? linearKernel : { cubicKernel($0, a: -0.75) }
            let want = naiveInterpolate(x, out, kernel: kernel, antialias: true) { _, o, n, m in
                (Double(o) + 0.5) / (Double(m) / Double(n)) - 0.5
            }
            assertClose(y, want, shape: out, rtol: 1e-4, atol: 1e-5, "antialias \(mode)")
        }
    }

    func testCropAndResizeExtrapolates() throws {
        let x = TestData.random([1, 2, 6, 7], seed: 16)
        var r = Resize()
        r.mode = .linear
        r.coordinateTransform = .tfCropAndResize
        r.extrapolationValue = 9
        r.axes = [2, 3]
        let roi = Tensor([-0.2, 0.1, 0.8, 1.4] as [Float], shape: [4])
        let out = [1, 2, 5, 8]
        let y = try OneNode.run(.resize(r), [x, roi, nil, sizes([5, 8])], constant: [1, 3])
        let box = [(0.0, 1.0), (0.0, 1.0), (-0.2, 0.8), (0.1, 1.4)]
        let want = naiveInterpolate(x, out, kernel: linearKernel, extrapolation: 9) { a, o, n, m in
            let (s, e) = box[a]
            return m > 1 ? s * Double(n - 1) + Double(o) * (e - s) * Double(n - 1) / Double(m - 1) : 0.5 * (s + e) * Double(n - 1)
        }
        assertClose(y, want, shape: out, rtol: 1e-4, atol: 1e-5, "tf_crop_and_resize")
    }

    func testScaleOneIsAView() throws {
        let x = TestData.random([2, 3, 4], seed: 17)
        var r = Resize()
        r.mode = .linear
        let y = try OneNode.run(.resize(r), [x, nil, scales([1, 1, 1])], constant: [2])
        assertClose(y, x, rtol: 0, atol: 0, "scale 1")
    }

    func testSymbolicBatchSurvivesTypeInference() throws {
        let batch = Dim.symbol("batch")
        let x = TypedInput(type: ValueType(.float32, [batch, .fixed(3), .fixed(8), .fixed(10)]), value: nil)
        var r = Resize()
        r.mode = .linear
        XCTAssertEqual(try r.inferTypes([x, nil, TypedInput(scales([1, 1, 2, 0.5]))]),
                       [ValueType(.float32, [batch, .fixed(3), .fixed(16), .fixed(5)])])
        XCTAssertEqual(try r.inferTypes([x, nil, nil, TypedInput(sizes([2, 3, 4, 4]))]),
                       [ValueType(.float32, [.fixed(2), .fixed(3), .fixed(4), .fixed(4)])])
        let dynamic = TypedInput(type: ValueType(.float32, fixed: [4]), value: nil)
        XCTAssertEqual(try r.inferTypes([x, nil, dynamic]), [ValueType(.float32, [.unknown, .unknown, .unknown, .unknown])])
    }

    func testRejectsMalformedResize() {
        let x = TestData.random([1, 1, 4, 4], seed: 18)
        var linear = Resize()
        linear.mode = .linear
        let nearest = Op.resize(Resize())
        XCTAssertThrowsError(try OneNode.run(nearest, [x, nil, scales([1, 1, 2, 2]), sizes([1, 1, 8, 8])], constant: [2, 3]), "both")
        XCTAssertThrowsError(try OneNode.run(nearest, [x, nil, scales([]), sizes([])], constant: [2, 3]), "neither")
        XCTAssertThrowsError(try OneNode.run(nearest, [x, nil, scales([1, 1, 0, 2])], constant: [2]), "zero scale")
        XCTAssertThrowsError(try OneNode.run(nearest, [x, nil, scales([1, 1, .nan, 2])], constant: [2]), "NaN scale")
        XCTAssertThrowsError(try OneNode.run(nearest, [x, nil, scales([1, 2, 2])], constant: [2]), "scale count")
        XCTAssertThrowsError(try OneNode.run(nearest, [x, nil, nil, sizes([1, 1, -2, 4])], constant: [3]), "negative size")
        XCTAssertThrowsError(try OneNode.run(nearest, [x, nil, scales([1, 1, 1e30, 1])], constant: [2]), "absurd scale")
        XCTAssertThrowsError(try OneNode.run(nearest, [x, nil, scales([1, 1, 0, 2])]), "checked at run time too")
        XCTAssertThrowsError(try OneNode.run(.resize(linear), [Tensor([Int32](repeating: 1, count: 4), shape: [2, 2]), nil, scales([2, 2])],
                                             constant: [2]))
        var crop = linear
        crop.coordinateTransform = .tfCropAndResize
        XCTAssertThrowsError(try OneNode.run(.resize(crop), [x, nil, scales([1, 1, 2, 2])], constant: [2]), "roi missing")
        XCTAssertThrowsError(try OneNode.run(.resize(crop), [x, Tensor([0, 1] as [Float], shape: [2]), scales([1, 1, 2, 2])],
                                             constant: [1, 2]), "roi length")
        var up = Resize(opName: "Upsample")
        up.upsampleOnly = true
        XCTAssertThrowsError(try OneNode.run(.resize(up), [x, nil, scales([1, 1, 0.5, 1])], constant: [2]), "Upsample below 1")
    }
}

// MARK: references

private func scales(_ v: [Float]) -> Tensor { Tensor(v, shape: [v.count]) }
private func sizes(_ v: [Int]) -> Tensor { Tensor(v.map { Int64($0) }, shape: [v.count]) }

private func linearKernel(_ d: Double) -> Double { max(0, 1 - abs(d)) }

private func cubicKernel(_ d: Double, a: Double) -> Double {
    let d = abs(d)
    if d <= 1 { return (a + 2) * d * d * d - (a + 3) * d * d + 1 }
    if d < 2 { return a * d * d * d - 5 * a * d * d + 8 * a * d - 4 * a }
    return 0
}

/// Nearest: output element = input at `pick(o, n, m)` along every axis.
private func naiveNearest<T>(_ v: [T], _ shape: [Int], _ outShape: [Int], _ pick: (Int, Int, Int) -> Int) -> [T] {
    let strides = shape.contiguousStrides
    return (0..<outShape.elementCount).map { flat in
        var rem = flat, src = 0
        for a in stride(from: shape.count - 1, through: 0, by: -1) {
            let o = rem % outShape[a]
            rem /= outShape[a]
            src += min(pick(o, shape[a], outShape[a]), shape[a] - 1) * strides[a]
        }
        return v[src]
    }
}

/// Every output element on its own: along each axis, every input index (and the edge-replicated ones beyond, as
/// far as the filter reaches) weighted by `kernel(distance * filterScale)`, the weights normalised where ONNX says so.
/// `coordinate(axis, o, n, m)` maps output index `o` of an axis resized from `n` to `m`.
private func naiveInterpolate(_ x: Tensor, _ outShape: [Int], kernel: (Double) -> Double, excludeOutside: Bool = false,
                              antialias: Bool = false, extrapolation: Float? = nil,
                              coordinate: (Int, Int, Int, Int) -> Double) -> [Double] {
    let shape = x.shape, rank = shape.count, v = x.array(Float.self).map(Double.init)
    // Per axis and output index: (input index, weight) pairs, or nil outside a crop box.
    var perAxis = [[[(Int, Double)]?]]()
    for a in 0..<rank {
        let n = shape[a], m = outShape[a]
        let coords = (0..<m).map { coordinate(a, $0, n, m) }
        let filterScale = antialias ? min(1, Double(m) / Double(n)) : 1
        perAxis.append(coords.enumerated().map { o, c -> [(Int, Double)]? in
            if n == m && c == Double(o) { return [(o, 1)] }
            if extrapolation != nil && (c < 0 || c > Double(n - 1)) { return nil }
            var taps = [(Int, Double)]()
            for i in (Int(c) - 3 * n - 4)...(Int(c) + 3 * n + 4) {
                var w = kernel((Double(i) - c) * filterScale)
                if excludeOutside && (i < 0 || i >= n) { w = 0 }
                if w != 0 { taps.append((min(max(i, 0), n - 1), w)) }
            }
            if antialias || excludeOutside {
                let total = taps.reduce(0) { $0 + $1.1 }
                taps = taps.map { ($0.0, $0.1 / total) }
            }
            return taps
        })
    }
    let strides = shape.contiguousStrides
    return (0..<outShape.elementCount).map { flat -> Double in
        var rem = flat
        var idx = [Int](repeating: 0, count: rank)
        for a in stride(from: rank - 1, through: 0, by: -1) { idx[a] = rem % outShape[a]; rem /= outShape[a] }
        var terms: [(Int, Double)] = [(0, 1)]
        for a in 0..<rank {
            guard let taps = perAxis[a][idx[a]] else { return Double(extrapolation!) }
            terms = terms.flatMap { t in taps.map { (t.0 + $0.0 * strides[a], t.1 * $0.1) } }
        }
        return terms.reduce(0) { $0 + $1.1 * v[$1.0] }
    }
}
