import DLInferCore

let signalImporters: [String: OpImporter] = [
    "DFT": { c in
        let inverse = try c.zeroOrOne("inverse", default: 0), onesided = try c.zeroOrOne("onesided", default: 0)
        guard c.opset >= 20 else {
            guard c.inputCount <= 2 else { throw DLInferError.model("DFT-17 takes at most 2 inputs, got \(c.inputCount)") }
            return .dft(DFT(inverse: inverse, onesided: onesided, axisAttribute: try c.int("axis", default: 1)))
        }
        return .dft(DFT(inverse: inverse, onesided: onesided, axisAttribute: nil))
    },
    "STFT": { c in .stft(STFT(onesided: try c.zeroOrOne("onesided", default: 1))) },
    "HannWindow": { c in try cosineWindow(c, .hann) },
    "HammingWindow": { c in try cosineWindow(c, .hamming) },
    "BlackmanWindow": { c in try cosineWindow(c, .blackman) },
    "MelWeightMatrix": { c in .melWeightMatrix(MelWeightMatrix(dtype: try outputDataType(c))) },
]

private func cosineWindow(_ c: NodeContext, _ kind: CosineWindow.Kind) throws -> Op {
    .cosineWindow(CosineWindow(kind, periodic: try c.zeroOrOne("periodic", default: 1), dtype: try outputDataType(c)))
}

/// `output_datatype` (default float32): any numeric type but bool.
private func outputDataType(_ c: NodeContext) throws -> DType {
    let code = try c.int("output_datatype", default: Int(DType.float32.rawValue))
    guard let t = DType(rawValue: Int32(truncatingIfNeeded: code)), CosineWindow.dtypes.contains(t) else {
        throw c.unsupported("output_datatype", "\(onnxTypeName(code)) is not supported")
    }
    return t
}
