import DLInferCore

let quantizeImporters: [String: OpImporter] = [
    "QuantizeLinear": { c in
        let q = quantizationAttributes(c)
        let saturate = c.opset >= 19 ? try c.zeroOrOne("saturate", default: 1) : true
        let blockSize = c.opset >= 21 ? try blockSizeAttribute(c) : 0
        let outputType = c.opset >= 21 ? try dtypeAttribute(c, "output_dtype") : nil
        var precision: DType? = nil
        if c.opset >= 23, let p = try dtypeAttribute(c, "precision") {
            guard [.float32, .float16, .bfloat16].contains(p) else {
                throw c.unsupported("precision", "\(p) is not one of float32, float16, bfloat16")
            }
            precision = p
        }
        return .quantizeLinear(QuantizeLinear(axis: try q.axis(), blockSize: blockSize, saturate: saturate,
                                              outputType: outputType, precision: precision, types: q.quantizeTypes))
    },
    "DequantizeLinear": { c in
        let q = quantizationAttributes(c)
        let blockSize = c.opset >= 21 ? try blockSizeAttribute(c) : 0
        let outputType = c.opset >= 23 ? try dtypeAttribute(c, "output_dtype") : nil
        return .dequantizeLinear(DequantizeLinear(axis: try q.axis(), blockSize: blockSize, outputType: outputType,
                                                  types: q.dequantizeTypes))
    },
    "DynamicQuantizeLinear": { _ in .dynamicQuantizeLinear(DynamicQuantizeLinear()) },
    "QLinearMatMul": { _ in .qLinearMatMul(QLinearMatMul()) },
    "QLinearConv": { c in .qLinearConv(QLinearConv(try convAttributes(c))) },
    "ConvInteger": { c in .convInteger(ConvInteger(try convAttributes(c))) },
]

/// The element types QuantizeLinear and DequantizeLinear take at the model's opset (those dlinfer has: the 6-bit
/// floats of opset 28 are not among them).
private struct QuantizationVersion {
    let c: NodeContext

    /// `axis` (opset 13; before, a single scale, so any axis does).
    func axis() throws -> Int { c.opset >= 13 ? try c.int("axis", default: 1) : 1 }

    private var floats: [DType] { c.opset >= 19 ? [.float32, .float16, .bfloat16] : [.float32] }
    private var float8s: [DType] { c.opset >= 19 ? [.float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz] : [] }
    private var int16s: [DType] { c.opset >= 21 ? [.int16, .uint16] : [] }
    private var e8m0: [DType] { c.opset >= 24 ? [.float8e8m0] : [] }
    /// int4 and uint4 (opset 21), float4e2m1 (23), int2 and uint2 (25).
    private var subByte: [DType] {
        (c.opset >= 21 ? [.int4, .uint4] : []) + (c.opset >= 23 ? [.float4e2m1] : []) + (c.opset >= 25 ? [.int2, .uint2] : [])
    }

    var quantizeTypes: QuantizationTypes {
        // Opsets 19 and 21 allow int32 scales (one type for x and y_scale); 23 keeps them.
        QuantizationTypes(values: floats + [.int32], scales: floats + (c.opset >= 19 ? [.int32] : []) + e8m0,
                          results: [.int8, .uint8] + int16s + float8s + subByte)
    }

    var dequantizeTypes: QuantizationTypes {
        QuantizationTypes(values: [.int8, .uint8] + int16s + [.int32] + float8s + subByte, scales: floats + e8m0,
                          results: floats)
    }
}

private func quantizationAttributes(_ c: NodeContext) -> QuantizationVersion { QuantizationVersion(c: c) }

/// `block_size` (opset 21): 0 (not blocked) or positive.
private func blockSizeAttribute(_ c: NodeContext) throws -> Int {
    let b = try c.int("block_size", default: 0)
    guard b >= 0 else { throw DLInferError.model("attribute 'block_size' must be >= 0, got \(b)") }
    return b
}

/// An element type attribute (`output_dtype`, `precision`): nil when absent or 0 (the spec's "not given").
private func dtypeAttribute(_ c: NodeContext, _ name: String) throws -> DType? {
    let code = try c.int(name, default: 0)
    if code == 0 { return nil }
    guard let t = DType(rawValue: Int32(truncatingIfNeeded: code)), t != .string else {
        throw c.unsupported(name, "\(onnxTypeName(code)) is not supported")
    }
    return t
}

/// Conv's attributes, for the integer convolutions (opset 10, the same as Conv-1's).
private func convAttributes(_ c: NodeContext) throws -> Conv {
    try requireSingleOutput(c)
    return Conv(kernelShape: try c.ints("kernel_shape"), strides: try c.ints("strides"), dilations: try c.ints("dilations"),
                pads: try c.ints("pads"), autoPad: try autoPad(c), group: try c.int("group", default: 1))
}
