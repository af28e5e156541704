import DLInferCore
import XCTest

/// Resize and Upsample on OpenCL against the CPU: every mode, coordinate transform and nearest rounding, up and down
/// at sizes that are not multiples of each other, antialiasing, exclude_outside, axes, aspect-ratio policies,
/// tf_crop_and_resize extrapolation, identity and empty outputs, constant and per-run scales; one, two (the fused
/// pass, adjacent or not) and more resized axes (separable passes).
final class OpenCLResizeTests: OpenCLTestCase {
    private func scales(_ v: [Float]) -> Tensor { Tensor(v, shape: [v.count]) }
    private func sizes(_ v: [Int]) -> Tensor { Tensor(v.map { Int64($0) }, shape: [v.count]) }

    private let transforms: [Resize.CoordinateTransform] = [.halfPixel, .halfPixelSymmetric, .pytorchHalfPixel, .alignCorners,
                                                            .asymmetric, .tfHalfPixelForNN]

    func testNearestEveryRoundingAndTransform() throws {
        let x = random([2, 3, 7, 9])
        for rounding in [Resize.NearestMode.roundPreferFloor, .roundPreferCeil, .floor, .ceil] {
            for transform in transforms {
                var r = Resize()
                r.nearestMode = rounding
                r.coordinateTransform = transform
                try check(.resize(r), [(x, false), nil, (scales([1, 1, 2, 3]), true)], "\(rounding) \(transform) up")
                try check(.resize(r), [(x, false), nil, nil, (sizes([2, 2, 4, 5]), true)], "\(rounding) \(transform) down")
                try check(.resize(r), [(x, false), nil, (scales([1, 1, 0.6, 1.7]), false)], "\(rounding) \(transform) per-run scales")
            }
        }
    }

    func testLegacyUpsampleAndResize10() throws {
        var up = Resize(opName: "Upsample")
        up.nearestMode = .legacy
        up.coordinateTransform = .asymmetric
        up.upsampleOnly = true
        try check(.resize(up), [(random([1, 2, 5, 3]), false), nil, (scales([1, 1, 2, 3]), true)], "Upsample nearest")
        var down = Resize()
        down.nearestMode = .legacy
        down.coordinateTransform = .asymmetric
        try check(.resize(down), [(random([1, 2, 9, 8]), false), nil, (scales([1, 1, 0.5, 0.4]), true)], "Resize-10 down")
        var linear = up
        linear.mode = .linear
        try check(.resize(linear), [(random([2, 3, 4]), false), nil, (scales([1, 2.5, 2]), true)], "Upsample linear")
    }

    func testLinearAndCubicEveryTransform() throws {
        let x = random([2, 3, 6, 11])
        for mode in [Resize.Mode.linear, .cubic] {
            for transform in transforms where transform != .tfHalfPixelForNN {
                var r = Resize()
                r.mode = mode
                r.coordinateTransform = transform
                try check(.resize(r), [(x, false), nil, (scales([1, 1, 2, 1.5]), true)], "\(mode) \(transform) up")
                try check(.resize(r), [(x, false), nil, nil, (sizes([2, 3, 4, 5]), true)], "\(mode) \(transform) down")
                try check(.resize(r), [(x, false), nil, nil, (sizes([3, 2, 13, 1]), true)], "\(mode) \(transform) outer axes")
                try check(.resize(r), [(x, false), nil, nil, (sizes([3, 3, 4, 11]), true)], "\(mode) \(transform) axes 0 and 2")
            }
        }
    }

    func testCubicOptionsAntialiasAndFiveDimensions() throws {
        var cubic = Resize()
        cubic.mode = .cubic
        cubic.cubicCoeffA = -0.5
        cubic.excludeOutside = true
        try check(.resize(cubic), [(random([1, 2, 9, 11]), false), nil, nil, (sizes([1, 2, 14, 7]), true)], "exclude_outside")
        for mode in [Resize.Mode.linear, .cubic] {
            var r = Resize()
            r.mode = mode
            r.antialias = true
            try check(.resize(r), [(random([1, 1, 40, 31]), false), nil, nil, (sizes([1, 1, 9, 12]), true)], "antialias \(mode)")
            try check(.resize(r), [(random([2, 3, 4, 5, 6]), false), nil, (scales([1.5, 1, 2, 0.5, 1.25]), true)], "5-D \(mode)")
        }
    }

    func testAxesAndAspectRatioPolicies() throws {
        let x = random([2, 3, 10, 7])
        for mode in [Resize.Mode.nearest, .linear] {
            for policy in [Resize.AspectRatioPolicy.stretch, .notLarger, .notSmaller] {
                var r = Resize()
                r.mode = mode
                r.axes = [3, 2]
                r.aspectRatioPolicy = policy
                try check(.resize(r), [(x, false), nil, nil, (sizes([5, 13]), true)], "\(mode) \(policy)")
            }
            var r = Resize()
            r.mode = mode
            r.axes = [-1]
            try check(.resize(r), [(x, false), nil, (scales([3]), true)], "\(mode) last axis only")
        }
    }

    func testCropAndResizeExtrapolates() throws {
        let x = random([1, 2, 6, 7])
        for mode in [Resize.Mode.nearest, .linear, .cubic] {
            var r = Resize()
            r.mode = mode
            r.coordinateTransform = .tfCropAndResize
            r.extrapolationValue = 9
            r.axes = [2, 3]
            let roi = Tensor([-0.2, 0.1, 0.8, 1.4] as [Float], shape: [4])
            try check(.resize(r), [(x, false), (roi, true), nil, (sizes([5, 8]), true)], "\(mode)")
            try check(.resize(r), [(x, false), (roi, false), nil, (sizes([1, 8]), true)], "\(mode) one row, per-run roi")
        }
    }

    func testIdentityAndEmpty() throws {
        for mode in [Resize.Mode.nearest, .linear] {
            var r = Resize()
            r.mode = mode
            try check(.resize(r), [(random([2, 3, 4]), false), nil, (scales([1, 1, 1]), true)], "\(mode) scale 1")
            try check(.resize(r), [(random([2, 0, 4]), false), nil, (scales([1, 2, 2]), true)], "\(mode) empty input")
            try check(.resize(r), [(random([2, 3, 4]), false), nil, (scales([1, 0.2, 2]), true)], "\(mode) empty output")
        }
    }
}
