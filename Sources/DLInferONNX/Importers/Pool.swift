import DLInferCore

let poolImporters: [String: OpImporter] = [
    "MaxPool": { c in
        // Opset 8 added storage_order and the Indices output; opset 10 ceil_mode and dilations; 12 int8/uint8.
        // Attributes newer than the model's opset are left unread, so the load fails naming them.
        let maxOutputs = c.opset >= 8 ? 2 : 1
        guard (1...maxOutputs).contains(c.outputCount) else {
            throw DLInferError.model("MaxPool (opset \(c.opset)) has at most \(maxOutputs) outputs, the node declares \(c.outputCount)")
        }
        var columnMajor = false
        if c.opset >= 8 {
            let order = try c.int("storage_order", default: 0)
            guard order == 0 || order == 1 else { throw c.unsupported("storage_order", "\(order) is not 0 (row major) or 1 (column major)") }
            columnMajor = order == 1
        }
        return .pool(Pool(.max(columnMajorIndices: columnMajor), window: try poolWindow(c, dilationsSince: 10)))
    },
    "AveragePool": { c in
        // count_include_pad exists from opset 7, ceil_mode from 10, dilations from 19.
        try requireSingleOutput(c)
        let include = try c.int("count_include_pad", default: 0)
        guard include == 0 || include == 1 else { throw c.unsupported("count_include_pad", "\(include) is not 0 or 1") }
        return .pool(Pool(.average(countIncludePad: include == 1), window: try poolWindow(c, dilationsSince: 19)))
    },
    "LpPool": { c in
        // Opset 2 made p an int (dlinfer's oldest, opset 7, sees version 2); opset 18 added ceil_mode and dilations.
        try requireSingleOutput(c)
        return .pool(Pool(.lp(p: try lpNorm(c)), window: try poolWindow(c, dilationsSince: 18, ceilSince: 18)))
    },
    "GlobalMaxPool": { c in try requireSingleOutput(c); return .globalPool(GlobalPool(.max)) },
    "GlobalAveragePool": { c in try requireSingleOutput(c); return .globalPool(GlobalPool(.average)) },
    "GlobalLpPool": { c in try requireSingleOutput(c); return .globalPool(GlobalPool(.lp(p: try lpNorm(c)))) },
    "MaxUnpool": { c in
        try requireOpset(c, 9)
        try requireSingleOutput(c)
        guard (2...3).contains(c.inputCount) else { throw DLInferError.model("takes 2 or 3 inputs, got \(c.inputCount)") }
        guard let kernel = try c.ints("kernel_shape") else { throw DLInferError.model("attribute 'kernel_shape' is required") }
        let window = try Window(kernel: kernel, strides: try c.ints("strides"), dilations: nil, pads: try c.ints("pads"), autoPad: .notSet)
        return .maxUnpool(MaxUnpool(window: window))
    },
    "Col2Im": { c in
        try requireOpset(c, 18)
        try requireSingleOutput(c)
        guard c.inputCount == 3 else { throw DLInferError.model("takes 3 inputs, got \(c.inputCount)") }
        return .col2Im(Col2Im(strides: try c.ints("strides"), dilations: try c.ints("dilations"), pads: try c.ints("pads")))
    },
]

/// LpPool's and GlobalLpPool's p (default 2); below 1 it is no norm.
private func lpNorm(_ c: NodeContext) throws -> Int {
    let p = try c.int("p", default: 2)
    guard p >= 1 else { throw c.unsupported("p", "\(p) (the norm needs p >= 1)") }
    return p
}

private func poolWindow(_ c: NodeContext, dilationsSince: Int, ceilSince: Int = 10) throws -> Window {
    guard let kernel = try c.ints("kernel_shape") else { throw DLInferError.model("attribute 'kernel_shape' is required") }
    var ceil = false
    if c.opset >= ceilSince {
        let v = try c.int("ceil_mode", default: 0)
        guard v == 0 || v == 1 else { throw c.unsupported("ceil_mode", "\(v) is not 0 or 1") }
        ceil = v == 1
    }
    let dilations = c.opset >= dilationsSince ? try c.ints("dilations") : nil
    let window = try Window(kernel: kernel, strides: try c.ints("strides"), dilations: dilations, pads: try c.ints("pads"),
                            autoPad: try autoPad(c), ceilMode: ceil)
    return window
}
