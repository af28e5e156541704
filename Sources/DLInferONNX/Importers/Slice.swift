import DLInferCore

let sliceImporters: [String: OpImporter] = [
    "Slice": { c in
        if c.opset < 10 {
            // Opsets 1-9: starts, ends and axes are attributes (no steps); later ones take them as inputs.
            guard let starts = try c.ints("starts"), let ends = try c.ints("ends") else {
                throw DLInferError.model("attributes 'starts' and 'ends' are required before opset 10")
            }
            c.setConstantInput(1, int64Vector(starts), role: "starts")
            c.setConstantInput(2, int64Vector(ends), role: "ends")
            // An empty list means the default, as for an omitted one.
            if let axes = try c.ints("axes"), !axes.isEmpty { c.setConstantInput(3, int64Vector(axes), role: "axes") }
        }
        return .slice(Slice())
    },
]
