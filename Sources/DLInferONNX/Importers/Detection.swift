import DLInferCore

let detectionImporters: [String: OpImporter] = [
    "NonMaxSuppression": { c in
        try requireOpset(c, 10)
        try requireSingleOutput(c)
        guard (2...5).contains(c.inputCount) else { throw DLInferError.model("takes 2 to 5 inputs, got \(c.inputCount)") }
        let box = try c.int("center_point_box", default: 0)
        guard box == 0 || box == 1 else { throw c.unsupported("center_point_box", "\(box) is not 0 (corners) or 1 (center and size)") }
        return .nonMaxSuppression(NonMaxSuppression(centerPointBox: box == 1))
    },
    "RoiAlign": { c in
        // Opset 16 added coordinate_transformation_mode; opset 10 behaves as output_half_pixel.
        try requireOpset(c, 10)
        try requireSingleOutput(c)
        guard c.inputCount == 3 else { throw DLInferError.model("takes 3 inputs, got \(c.inputCount)") }
        let m = try c.string("mode", default: "avg")
        guard let mode = RoiAlign.Mode(rawValue: m) else { throw c.unsupported("mode", "'\(m)' is not avg or max") }
        var halfPixel = false
        if c.opset >= 16 {
            let t = try c.string("coordinate_transformation_mode", default: "half_pixel")
            guard t == "half_pixel" || t == "output_half_pixel" else {
                throw c.unsupported("coordinate_transformation_mode", "'\(t)' is not half_pixel or output_half_pixel")
            }
            halfPixel = t == "half_pixel"
        }
        let h = try c.int("output_height", default: 1), w = try c.int("output_width", default: 1)
        guard h >= 1, w >= 1, h <= Window.limit, w <= Window.limit else {
            throw DLInferError.model("output_height \(h) and output_width \(w) must lie in 1...\(Window.limit)")
        }
        let ratio = try c.int("sampling_ratio", default: 0)
        guard ratio >= 0, ratio <= Window.limit else { throw c.unsupported("sampling_ratio", "\(ratio) is not in 0...\(Window.limit)") }
        let scale = try c.float("spatial_scale", default: 1)
        guard scale.isFinite else { throw c.unsupported("spatial_scale", "\(scale) is not finite") }
        return .roiAlign(RoiAlign(mode: mode, outputHeight: h, outputWidth: w, samplingRatio: ratio, spatialScale: scale,
                                  halfPixel: halfPixel))
    },
    "MaxRoiPool": { c in
        try requireSingleOutput(c)
        guard c.inputCount == 2 else { throw DLInferError.model("takes 2 inputs, got \(c.inputCount)") }
        guard let shape = try c.ints("pooled_shape") else { throw DLInferError.model("attribute 'pooled_shape' is required") }
        guard shape.count == 2, shape.allSatisfy({ $0 >= 1 && $0 <= Window.limit }) else {
            throw DLInferError.model("pooled_shape \(shape) must be two sizes in 1...\(Window.limit)")
        }
        let scale = try c.float("spatial_scale", default: 1)
        guard scale.isFinite else { throw c.unsupported("spatial_scale", "\(scale) is not finite") }
        return .maxRoiPool(MaxRoiPool(pooledShape: shape, spatialScale: scale))
    },
]

/// Ops newer than dlinfer's oldest opset: a model of an older opset cannot use them.
func requireOpset(_ c: NodeContext, _ since: Int) throws {
    guard c.opset >= since else {
        throw DLInferError.model("\(c.opType) exists from opset \(since); the model imports opset \(c.opset)")
    }
}
