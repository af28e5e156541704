import DLInferCore

let convImporters: [String: OpImporter] = [
    // Opsets 1 and 11 have the same attributes (11 only clarified kernel_shape inference and auto_pad wording).
    "Conv": { c in
        try requireSingleOutput(c)
        return .conv(Conv(kernelShape: try c.ints("kernel_shape"), strides: try c.ints("strides"),
                          dilations: try c.ints("dilations"), pads: try c.ints("pads"), autoPad: try autoPad(c),
                          group: try c.int("group", default: 1)))
    },
    "ConvTranspose": { c in
        try requireSingleOutput(c)
        var outputShape = try c.ints("output_shape")
        // Some exporters write the full N x C x D1... shape; the spec wants only the spatial part.
        if let os = outputShape, let rank = c.inputType(0)?.rank ?? c.inputType(1)?.rank, os.count == rank, rank > 2 {
            outputShape = Array(os[2...])
        }
        return .convTranspose(ConvTranspose(
            kernelShape: try c.ints("kernel_shape"), strides: try c.ints("strides"), dilations: try c.ints("dilations"),
            pads: try c.ints("pads"), autoPad: try autoPad(c), group: try c.int("group", default: 1),
            outputPadding: try c.ints("output_padding"), outputShape: outputShape))
    },
]

/// The `auto_pad` attribute (default NOTSET).
func autoPad(_ c: NodeContext) throws -> AutoPad {
    let s = try c.string("auto_pad", default: "NOTSET")
    guard let p = AutoPad(rawValue: s) else {
        throw c.unsupported("auto_pad", "'\(s)' is not one of \(AutoPad.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return p
}

/// The spatial ops have exactly one output (MaxPool's Indices is handled by its importer).
func requireSingleOutput(_ c: NodeContext) throws {
    guard c.outputCount == 1 else { throw DLInferError.model("\(c.opType) has 1 output, the node declares \(c.outputCount)") }
}
