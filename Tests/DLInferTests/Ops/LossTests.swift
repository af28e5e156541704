import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss against a naive reference: every reduction with and without
/// weights and ignore_index, k = 0, 1, 3 extra dims, int32 targets, float64, the log_prob output, all-ignored means,
/// and out-of-range targets rejected.
final class LossTests: XCTestCase {
    func testEveryReductionWeightAndIgnoreIndexAgainstNaive() throws {
        for shape in [[5, 4], [3, 5, 7], [2, 3, 4, 2, 3]] {
            let classes = shape[1]
            let x = values(shape, seed: shape.count)
            let targetShape = [shape[0]] + shape.dropFirst(2)
            let targets = (0..<targetShape.elementCount).map { Int64(($0 * 7 + 3) % classes) }
            let weight = Tensor((0..<classes).map { Float($0 + 1) / 4 }, shape: [classes])
            for softmax in [false, true] {
                for reduction in ["none", "sum", "mean"] {
                    for w in [nil, weight] {
                        for ignore in [nil, 1, -100] {
                            let (y, logProb) = try loss(softmax: softmax, x, Tensor(targets, shape: targetShape), w, reduction: reduction, ignore: ignore)
                            let (want, wantLog) = naiveLoss(softmax: softmax, x, targets, w?.array(Float.self), reduction: reduction, ignore: ignore)
                            let what = "\(softmax ? "SCE" : "NLL") \(shape) \(reduction) weight \(w != nil) ignore \(String(describing: ignore))"
                            XCTAssertEqual(y.shape, reduction == "none" ? targetShape : [], what)
                            assertClose(y, want, shape: reduction == "none" ? targetShape : [], rtol: 1e-5, atol: 1e-5, what)
                            if softmax { assertClose(logProb!, wantLog, shape: shape, rtol: 1e-5, atol: 1e-5, what + " log_prob") }
                        }
                    }
                }
            }
        }
    }

    func testInt32TargetsFloat64AndBigBatches() throws {
        let x = values([4000, 6], seed: 3)
        let targets = (0..<4000).map { Int32($0 % 6) }
        let (y, _) = try loss(softmax: true, x, Tensor(targets, shape: [4000]), nil, reduction: "none", ignore: 2)
        assertClose(y, naiveLoss(softmax: true, x, targets.map(Int64.init), nil, reduction: "none", ignore: 2).0, shape: [4000],
                    rtol: 1e-5, atol: 1e-5, "int32")

        let d = Tensor(values([3, 4, 5], seed: 4).array(Float.self).map(Double.init), shape: [3, 4, 5])
        let t = Tensor((0..<15).map { Int64($0 % 4) }, shape: [3, 5])
        let (yd, _) = try loss(softmax: false, d, t, nil, reduction: "mean", ignore: nil)
        XCTAssertEqual(yd.dtype, .float64)
        let want = (0..<15).map { s -> Double in -d.array(Double.self)[(s / 5) * 20 + (s % 4) * 5 + s % 5] }.reduce(0, +) / 15
        XCTAssertEqual(yd.array(Double.self)[0], want, accuracy: 1e-12)
    }

    func testEverySampleIgnoredGivesNaNMean() throws {
        let x = values([2, 3], seed: 1)
        let (y, _) = try loss(softmax: false, x, Tensor([Int64(1), 1], shape: [2]), nil, reduction: "mean", ignore: 1)
        XCTAssertTrue(y.array(Float.self)[0].isNaN)
        let (s, _) = try loss(softmax: false, x, Tensor([Int64(1), 1], shape: [2]), nil, reduction: "sum", ignore: 1)
        XCTAssertEqual(s.array(Float.self), [0])
    }

    func testOutOfRangeTargetsAndBadShapesAreRejected() {
        let x = values([2, 3], seed: 1)
        for bad in [Int64(3), -1] {
            XCTAssertThrowsError(try loss(softmax: false, x, Tensor([0, bad], shape: [2]), nil, reduction: "mean", ignore: nil)) { e in
                XCTAssertTrue("\(e)".contains("target"), "\(e)")
            }
            XCTAssertThrowsError(try loss(softmax: true, x, Tensor([0, bad], shape: [2]), nil, reduction: "none", ignore: 7))
        }
        XCTAssertThrowsError(try loss(softmax: false, x, Tensor([Int64(0), 1, 2], shape: [3]), nil, reduction: "mean", ignore: nil))
        XCTAssertThrowsError(try loss(softmax: false, x, Tensor([Int64(0), 1], shape: [2]), Tensor([Float(1), 2], shape: [2]), reduction: "mean", ignore: nil))
        XCTAssertThrowsError(try loss(softmax: false, x, Tensor([Int64(0), 1], shape: [2]), nil, reduction: "max", ignore: nil))
    }

    private func loss(softmax: Bool, _ x: Tensor, _ target: Tensor, _ weight: Tensor?, reduction: String,
                      ignore: Int?) throws -> (Tensor, Tensor?) {
        var attrs = [attr("reduction", reduction)]
        if let ignore { attrs.append(attr("ignore_index", ignore)) }
        let out = try OneNode.run(softmax ? "SoftmaxCrossEntropyLoss" : "NegativeLogLikelihoodLoss", opset: softmax ? 13 : 22,
                                  [x, target, weight], attrs: attrs, outputs: softmax ? [x.dtype, x.dtype] : [x.dtype])
        return (out[0], softmax ? out[1] : nil)
    }
}

private func values(_ shape: [Int], seed: Int) -> Tensor {
    var state = UInt64(seed) &* 6364136223846793005 &+ 1442695040888963407
    return Tensor((0..<shape.elementCount).map { _ -> Float in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * 3
    }, shape: shape)
}

/// The losses per the spec (log-softmax over axis 1 for SCE), reduced, and the log-softmax.
private func naiveLoss(softmax: Bool, _ x: Tensor, _ targets: [Int64], _ weight: [Float]?, reduction: String,
                       ignore: Int?) -> ([Double], [Double]) {
    let v = x.array(Float.self).map(Double.init), n = x.shape[0], c = x.shape[1], inner = x.shape.dropFirst(2).reduce(1, *)
    var logp = v
    if softmax {
        for b in 0..<n {
            for d in 0..<inner {
                let idx = (0..<c).map { (b * c + $0) * inner + d }
                let lse = log(idx.map { exp(v[$0]) }.reduce(0, +))
                for i in idx { logp[i] = v[i] - lse }
            }
        }
    }
    var losses = [Double](), weights = [Double]()
    for s in 0..<targets.count {
        let t = Int(targets[s])
        if t == ignore { losses.append(0); weights.append(0); continue }
        let w = weight.map { Double($0[t]) } ?? 1
        losses.append(-logp[((s / inner) * c + t) * inner + s % inner] * w)
        weights.append(w)
    }
    switch reduction {
    case "none": return (losses, logp)
    case "sum": return ([losses.reduce(0, +)], logp)
    default: return ([losses.reduce(0, +) / weights.reduce(0, +)], logp)
    }
}
