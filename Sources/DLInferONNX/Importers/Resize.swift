import DLInferCore

let resizeImporters: [String: OpImporter] = [
    "Resize": { c in
        var r = Resize()
        r.mode = try mode(c, allowed: c.opset >= 11 ? [.nearest, .linear, .cubic] : [.nearest, .linear])
        guard c.opset >= 11 else {
            // Resize-10: inputs (X, scales), asymmetric coordinates, no other attributes.
            try legacy(c, &r, scalesAt: 1)
            return .resize(r)
        }
        let ct = try c.string("coordinate_transformation_mode", default: "half_pixel")
        guard let transform = Resize.CoordinateTransform(rawValue: ct) else {
            throw c.unsupported("coordinate_transformation_mode", "unknown value '\(ct)'")
        }
        if transform == .halfPixelSymmetric && c.opset < 19 {
            throw c.unsupported("coordinate_transformation_mode", "half_pixel_symmetric needs opset 19, the model has \(c.opset)")
        }
        r.coordinateTransform = transform
        let nm = try c.string("nearest_mode", default: "round_prefer_floor")
        guard let nearest = Resize.NearestMode(rawValue: nm), nearest != .legacy else {
            throw c.unsupported("nearest_mode", "unknown value '\(nm)'")
        }
        r.nearestMode = nearest
        r.cubicCoeffA = Double(try c.float("cubic_coeff_a", default: -0.75))
        r.excludeOutside = try c.int("exclude_outside", default: 0) != 0
        r.extrapolationValue = try c.float("extrapolation_value", default: 0)
        if c.opset >= 18 {
            r.antialias = try c.int("antialias", default: 0) != 0
            r.axes = try c.ints("axes")
            let p = try c.string("keep_aspect_ratio_policy", default: "stretch")
            guard let policy = Resize.AspectRatioPolicy(rawValue: p) else {
                throw c.unsupported("keep_aspect_ratio_policy", "unknown value '\(p)'")
            }
            r.aspectRatioPolicy = policy
        }
        if r.mode == .nearest && r.antialias {
            throw c.unsupported("antialias", "antialiasing applies to linear and cubic modes, not nearest")
        }
        if r.mode == .nearest && r.excludeOutside {
            throw c.unsupported("exclude_outside", "1 with nearest mode (undefined where the nearest pixel is outside)")
        }
        guard c.inputCount >= 1, c.inputCount <= 4 else { throw DLInferError.model("takes 1 to 4 inputs, got \(c.inputCount)") }
        return .resize(r)
    },
    "Upsample": { c in
        guard c.opset <= 9 else {
            throw DLInferError.unsupported("Upsample is deprecated since opset 10 and this model uses opset \(c.opset); use Resize")
        }
        var r = Resize(opName: "Upsample")
        r.mode = try mode(c, allowed: [.nearest, .linear])
        r.upsampleOnly = true
        if c.opset < 9 {
            // Upsample-7: the scales are an attribute.
            guard c.inputCount == 1 else { throw DLInferError.model("takes one input at opset \(c.opset), got \(c.inputCount)") }
            guard let scales = try c.floats("scales") else { throw DLInferError.model("attribute 'scales' is required") }
            c.setConstantInput(1, Tensor(scales, shape: [scales.count]), role: "scales")
        }
        try legacy(c, &r, scalesAt: 1)
        return .resize(r)
    },
]

private func mode(_ c: NodeContext, allowed: [Resize.Mode]) throws -> Resize.Mode {
    let name = try c.string("mode", default: "nearest")
    guard let m = Resize.Mode(rawValue: name), allowed.contains(m) else {
        throw c.unsupported("mode", "'\(name)' is not one of \(allowed.map(\.rawValue).joined(separator: ", ")) at opset \(c.opset)")
    }
    return m
}

/// Upsample and Resize-10 take (X, scales); they move to Resize's (X, roi, scales) layout.
private func legacy(_ c: NodeContext, _ r: inout Resize, scalesAt i: Int) throws {
    guard c.inputCount == 2, let x = c.inputs[0], let scales = c.inputs[i] else {
        throw DLInferError.model("needs the inputs X and scales")
    }
    c.inputs = [x, nil, scales]
    r.coordinateTransform = .asymmetric
    r.nearestMode = .legacy
}
