import DLInferCore

let samplingImporters: [String: OpImporter] = [
    "GridSample": { c in
        // Opset 16: bilinear/bicubic on 4-D inputs; opset 20 renamed them linear/cubic and allowed any rank.
        try requireOpset(c, 16)
        try requireSingleOutput(c)
        guard c.inputCount == 2 else { throw DLInferError.model("takes 2 inputs, got \(c.inputCount)") }
        let names: [String: GridSample.Mode] = c.opset >= 20
            ? ["linear": .linear, "nearest": .nearest, "cubic": .cubic]
            : ["bilinear": .linear, "nearest": .nearest, "bicubic": .cubic]
        let m = try c.string("mode", default: c.opset >= 20 ? "linear" : "bilinear")
        guard let mode = names[m] else {
            throw c.unsupported("mode", "'\(m)' is not one of \(names.keys.sorted().joined(separator: ", ")) at opset \(c.opset)")
        }
        let p = try c.string("padding_mode", default: "zeros")
        guard let padding = GridSample.Padding(rawValue: p) else {
            throw c.unsupported("padding_mode", "'\(p)' is not zeros, border or reflection")
        }
        let align = try c.int("align_corners", default: 0)
        guard align == 0 || align == 1 else { throw c.unsupported("align_corners", "\(align) is not 0 or 1") }
        return .gridSample(GridSample(mode: mode, padding: padding, alignCorners: align == 1, spatialRank: c.opset >= 20 ? nil : 2))
    },
    "AffineGrid": { c in
        try requireOpset(c, 20)
        try requireSingleOutput(c)
        guard c.inputCount == 2 else { throw DLInferError.model("takes 2 inputs, got \(c.inputCount)") }
        let align = try c.int("align_corners", default: 0)
        guard align == 0 || align == 1 else { throw c.unsupported("align_corners", "\(align) is not 0 or 1") }
        return .affineGrid(AffineGrid(alignCorners: align == 1))
    },
]
