import DLInferCore

let padImporters: [String: OpImporter] = [
    "Pad": { c in
        let name = try c.string("mode", default: "constant")
        guard let mode = Pad.Mode(rawValue: name), mode != .wrap || c.opset >= 19 else {
            throw c.unsupported("mode", "'\(name)' is not a Pad mode at opset \(c.opset) (constant, reflect, edge\(c.opset >= 19 ? ", wrap" : ""))")
        }
        if c.opset < 11 {
            // Opsets 2-10: pads and the fill value are attributes.
            guard c.inputCount == 1 else { throw DLInferError.model("takes one input at opset \(c.opset), got \(c.inputCount)") }
            guard let pads = try c.ints("pads") else { throw DLInferError.model("attribute 'pads' is required") }
            c.setConstantInput(1, Tensor(pads.map { Int64($0) }, shape: [pads.count]), role: "pads")
            return .pad(Pad(mode: mode, value: Double(try c.float("value", default: 0))))
        }
        let most = c.opset >= 18 ? 4 : 3
        guard c.inputCount <= most else { throw DLInferError.model("takes at most \(most) inputs at opset \(c.opset), got \(c.inputCount)") }
        return .pad(Pad(mode: mode))
    },
]
