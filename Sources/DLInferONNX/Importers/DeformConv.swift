import DLInferCore

let deformConvImporters: [String: OpImporter] = [
    "DeformConv": { c in
        try requireOpset(c, 19)
        try requireSingleOutput(c)
        guard (3...5).contains(c.inputCount) else { throw DLInferError.model("takes 3 to 5 inputs, got \(c.inputCount)") }
        let group = try c.int("group", default: 1), offsetGroup = try c.int("offset_group", default: 1)
        guard group >= 1, offsetGroup >= 1 else { throw DLInferError.model("group \(group) and offset_group \(offsetGroup) must be >= 1") }
        return .deformConv(DeformConv(kernelShape: try c.ints("kernel_shape"), strides: try c.ints("strides"),
                                      dilations: try c.ints("dilations"), pads: try c.ints("pads"), group: group,
                                      offsetGroup: offsetGroup))
    },
]
