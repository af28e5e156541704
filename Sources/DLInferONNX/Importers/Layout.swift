import DLInferCore

let layoutImporters: [String: OpImporter] = [
    "Tile": { _ in .tile(Tile()) },
    "DepthToSpace": { c in
        // `mode` arrives in opset 11; before, the order is DCR.
        .spaceDepth(SpaceDepth(.depthToSpace, blocksize: try blocksize(c), mode: c.opset >= 11 ? try mode(c) : .dcr))
    },
    "SpaceToDepth": { c in
        .spaceDepth(SpaceDepth(.spaceToDepth, blocksize: try blocksize(c), mode: c.opset >= 28 ? try mode(c) : .dcr))
    },
    "Trilu": { c in .trilu(Trilu(upper: try c.int("upper", default: 1) != 0)) },
    "ReverseSequence": { c in
        .reverseSequence(ReverseSequence(batchAxis: try c.int("batch_axis", default: 1), timeAxis: try c.int("time_axis", default: 0)))
    },
    "CenterCropPad": { c in .centerCropPad(CenterCropPad(axes: try c.ints("axes"))) },
    "Size": { _ in .size(SizeOf()) },
]

private func blocksize(_ c: NodeContext) throws -> Int {
    guard let b = try c.int("blocksize") else { throw DLInferError.model("attribute 'blocksize' is required") }
    return b
}

private func mode(_ c: NodeContext) throws -> SpaceDepth.Mode {
    let m = try c.string("mode", default: "DCR")
    guard let mode = SpaceDepth.Mode(rawValue: m) else { throw c.unsupported("mode", "'\(m)' (supported: DCR, CRD)") }
    return mode
}
