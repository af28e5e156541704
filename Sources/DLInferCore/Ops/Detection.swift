/// NonMaxSuppression (opsets 10 and 11), exactly as onnxruntime computes it. boxes is float32 [N, B, 4], scores
/// float32 [N, C, B]; the optional inputs max_output_boxes_per_class (int64), iou_threshold and score_threshold
/// (float32) are one-element tensors (scalars or [1]).
///
/// Per batch n and class c: the candidates are the boxes whose score is greater than score_threshold (every box
/// when it is absent; a NaN score never is one), visited by score descending, ties by box index ascending. A
/// candidate is selected unless its IoU with a box already selected for (n, c) is greater than iou_threshold; the
/// visit stops after max_output_boxes_per_class selections (absent, 0 or negative: none). The output is int64
/// [selected, 3] of (n, c, box) rows, batches then classes in order, each class in selection order.
///
/// center_point_box 0: a box is [y1, x1, y2, x2], any two opposite corners (each axis sorted to min and max);
/// 1: [x_center, y_center, width, height]. Two boxes overlap only when their intersection has positive width and
/// height; a box with zero or negative area (or a zero union) never suppresses nor is suppressed. iou_threshold must
/// lie in [0, 1]; absent it is 0. All arithmetic is float32, in onnxruntime's order, so ties at the threshold
/// resolve as there.
public struct NonMaxSuppression: OpAttributes {
    public var centerPointBox: Bool
    public init(centerPointBox: Bool = false) { self.centerPointBox = centerPointBox }
    public var opName: String { "NonMaxSuppression" }
    public var hasDataDependentShape: Bool { true }

    /// What a run reads besides the boxes and scores, after checking their shapes ([N, B, 4] and [N, C, B]):
    /// max_output_boxes_per_class (absent or negative: 0), iou_threshold (absent: 0; must lie in [0, 1]) and
    /// score_threshold (nil when absent), from the scalar inputs in slots 2-4.
    public static func parameters(boxes: [Int], scores: [Int], _ inputs: [Tensor?]) throws
        -> (maxOutput: Int64, iou: Float, threshold: Float?) {
        guard boxes.count == 3, boxes[2] == 4, scores.count == 3, boxes[0] == scores[0], boxes[1] == scores[2] else {
            throw DLInferError.shape("boxes \(boxes) and scores \(scores) must be [N, B, 4] and [N, C, B]")
        }
        func scalar(_ i: Int, _ role: String) throws -> Double? {
            guard i < inputs.count, let t = inputs[i] else { return nil }
            guard t.count == 1, let v = t.doubleValues() else { throw DLInferError.shape("\(role) must hold one value, has shape \(t.shape)") }
            return v[0]
        }
        // Read as int64 directly: a double would round counts past 2^53 (any huge count means "all").
        let maxOutput = try scalar(2, "max_output_boxes_per_class").map { _ in Swift.max(0, inputs[2]!.pointer(Int64.self)[0]) } ?? 0
        let iou = Float(try scalar(3, "iou_threshold") ?? 0)
        guard iou >= 0, iou <= 1 else { throw DLInferError.invalid("iou_threshold \(iou) must lie in [0, 1]") }
        return (maxOutput, iou, try scalar(4, "score_threshold").map(Float.init))
    }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let boxes = try inputs.required(0, "boxes"), scores = try inputs.required(1, "scores")
        try requireDType(boxes.type.dtype, [.float32], "boxes")
        try requireDType(scores.type.dtype, [.float32], "scores")
        if let m = inputs.optional(2) { try requireScalar(m, [.int64], "max_output_boxes_per_class") }
        if let t = inputs.optional(3) { try requireScalar(t, [.float32], "iou_threshold") }
        if let t = inputs.optional(4) { try requireScalar(t, [.float32], "score_threshold") }
        if let t = inputs.optional(3)?.value, let v = t.doubleValues()?.first, !(v >= 0 && v <= 1) {
            throw DLInferError.model("iou_threshold \(v) must lie in [0, 1]")
        }
        if let b = boxes.type.shape {
            guard b.count == 3 else { throw DLInferError.shape("boxes must have rank 3 [N, B, 4], got \(dimsText(b))") }
            if let four = b[2].value, four != 4 { throw DLInferError.shape("boxes must be [N, B, 4], got \(dimsText(b))") }
        }
        if let s = scores.type.shape, s.count != 3 {
            throw DLInferError.shape("scores must have rank 3 [N, C, B], got \(dimsText(s))")
        }
        if let b = boxes.type.shape, let s = scores.type.shape {
            for (x, y, what) in [(b[0], s[0], "batches"), (b[1], s[2], "boxes")] {
                if let x = x.value, let y = y.value, x != y {
                    throw DLInferError.shape("boxes \(dimsText(b)) and scores \(dimsText(s)) disagree on the number of \(what)")
                }
            }
        }
        return [ValueType(.int64, [.unknown, .fixed(3)])]
    }
}

/// RoiAlign (opsets 10, 16 and 22), as onnxruntime and the ONNX reference compute it. X is [N, C, H, W], rois
/// [R, 4] of (x1, y1, x2, y2) in input coordinates (scaled by spatial_scale), batch_indices int64 [R]; Y is
/// [R, C, output_height, output_width].
///
/// Each ROI is shifted by -0.5 with half_pixel (opset 16's default) and not with output_half_pixel (opset 10's only
/// behaviour, which also widens ROIs narrower than 1 to 1). Each output bin averages (avg) or maximises (max) a grid
/// of sampling_ratio x sampling_ratio bilinear samples (sampling_ratio 0: ceil(roi size / output size) per axis, so
/// a ROI of no or negative size gives 0). A sample more than one pixel outside the image (y < -1, y > H, x < -1 or
/// x > W, or NaN) counts as 0; otherwise coordinates are clamped to the image. max mode takes, per sample, the
/// largest of the four weighted corner terms w_i * x_i (not the interpolated value), as onnxruntime does and the
/// node tests expect. A batch index outside [0, N) is an error.
public struct RoiAlign: OpAttributes {
    public enum Mode: String, Sendable { case avg, max }
    public var mode: Mode
    public var outputHeight: Int
    public var outputWidth: Int
    public var samplingRatio: Int
    public var spatialScale: Float
    public var halfPixel: Bool
    public init(mode: Mode = .avg, outputHeight: Int = 1, outputWidth: Int = 1, samplingRatio: Int = 0,
                spatialScale: Float = 1, halfPixel: Bool = true) {
        self.mode = mode; self.outputHeight = outputHeight; self.outputWidth = outputWidth
        self.samplingRatio = samplingRatio; self.spatialScale = spatialScale; self.halfPixel = halfPixel
    }
    public var opName: String { "RoiAlign" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X"), rois = try inputs.required(1, "rois"), b = try inputs.required(2, "batch_indices")
        try requireDType(x.type.dtype, [.float32], "X")
        try requireDType(rois.type.dtype, [.float32], "rois")
        try requireDType(b.type.dtype, [.int64], "batch_indices")
        let r = try roiCount(rois, b, columns: 4)
        guard let xs = x.type.shape else { return [ValueType(x.type.dtype, [r, .unknown, .fixed(outputHeight), .fixed(outputWidth)])] }
        guard xs.count == 4 else { throw DLInferError.shape("X must have rank 4 [N, C, H, W], got \(dimsText(xs))") }
        return [ValueType(x.type.dtype, [r, xs[1], .fixed(outputHeight), .fixed(outputWidth)])]
    }
}

/// MaxRoiPool (opsets 1 and 22), as onnxruntime computes it. X is [N, C, H, W], rois [R, 5] of (batch index, x1,
/// y1, x2, y2); Y is [R, C, pooled_h, pooled_w]. Each ROI's corners are scaled by spatial_scale and rounded (half
/// away from zero); the ROI spans round(x2) - round(x1) + 1 pixels per axis (at least 1), and output bin (i, j)
/// takes the maximum over rows floor(i * h / ph) ..< ceil((i + 1) * h / ph) (offset by the ROI's start, clipped to
/// the image), likewise for columns; an empty bin gives 0. NaN never wins. The batch index is truncated to an
/// integer and must lie in [0, N).
public struct MaxRoiPool: OpAttributes {
    public var pooledShape: [Int]
    public var spatialScale: Float
    public init(pooledShape: [Int], spatialScale: Float = 1) { self.pooledShape = pooledShape; self.spatialScale = spatialScale }
    public var opName: String { "MaxRoiPool" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X"), rois = try inputs.required(1, "rois")
        try requireDType(x.type.dtype, [.float32], "X")
        try requireDType(rois.type.dtype, [.float32], "rois")
        let r = try roiCount(rois, nil, columns: 5)
        let (ph, pw) = (Dim.fixed(pooledShape[0]), Dim.fixed(pooledShape[1]))
        guard let xs = x.type.shape else { return [ValueType(x.type.dtype, [r, .unknown, ph, pw])] }
        guard xs.count == 4 else { throw DLInferError.shape("X must have rank 4 [N, C, H, W], got \(dimsText(xs))") }
        return [ValueType(x.type.dtype, [r, xs[1], ph, pw])]
    }
}

/// The number of ROIs of a [R, columns] rois input (and an [R] batch_indices input), checked for agreement.
private func roiCount(_ rois: TypedInput, _ batch: TypedInput?, columns: Int) throws -> Dim {
    var r = Dim.unknown
    if let s = rois.type.shape {
        guard s.count == 2, s[1].value ?? columns == columns else {
            throw DLInferError.shape("rois must be [num_rois, \(columns)], got \(dimsText(s))")
        }
        r = s[0]
    }
    if let batch, let s = batch.type.shape {
        guard s.count == 1 else { throw DLInferError.shape("batch_indices must be 1-D, got \(dimsText(s))") }
        if let a = r.value, let b = s[0].value, a != b {
            throw DLInferError.shape("rois has \(a) rows but batch_indices \(b) values")
        }
        if r.value == nil { r = s[0] }
    }
    return r
}

/// A one-element input (a scalar or a 1-element vector) of one of `dtypes`.
func requireScalar(_ t: TypedInput, _ dtypes: [DType], _ role: String) throws {
    guard dtypes.contains(t.type.dtype) else {
        throw DLInferError.unsupported("\(role) has element type \(t.type.dtype); supported: \(dtypes.map(\.description).joined(separator: ", "))")
    }
    if let s = t.type.fixedShape, s.elementCount != 1 {
        throw DLInferError.shape("\(role) must hold one value, has shape \(s)")
    }
}
