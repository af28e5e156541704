import DLInferCore

let recurrentImporters: [String: OpImporter] = [
    "LSTM": { c in try recurrent(c, .lstm) },
    "GRU": { c in try recurrent(c, .gru) },
    "RNN": { c in try recurrent(c, .rnn) },
]

private func recurrent(_ c: NodeContext, _ kind: Recurrent.Kind) throws -> Op {
    let dirName = try c.string("direction", default: "forward")
    guard let direction = Recurrent.Direction(rawValue: dirName) else {
        throw c.unsupported("direction", "'\(dirName)' is not one of forward, reverse, bidirectional")
    }
    var a = Recurrent(kind: kind, direction: direction)
    guard c.inputCount <= a.maxInputs, c.outputCount <= a.maxOutputs else {
        throw DLInferError.model("\(kind.rawValue) has at most \(a.maxInputs) inputs and \(a.maxOutputs) outputs; the node has \(c.inputCount) and \(c.outputCount)")
    }
    a.hiddenSize = try c.int("hidden_size")
    a.clip = try c.float("clip")
    if kind == .lstm { a.inputForget = try c.int("input_forget", default: 0) != 0 }
    if kind == .gru { a.linearBeforeReset = try c.int("linear_before_reset", default: 0) != 0 }
    if c.opset >= 14 {
        let layout = try c.int("layout", default: 0)
        guard layout == 0 || layout == 1 else { throw c.unsupported("layout", "\(layout) is neither 0 nor 1") }
        a.batchFirst = layout == 1
    } else if c.has("layout") {
        throw DLInferError.model("attribute 'layout' exists only from opset 14; the model imports opset \(c.opset)")
    }
    if let names = try c.strings("activations") {
        let perDir = a.activationsPerDirection, want = perDir * a.numDirections
        guard names.count == want else {
            throw DLInferError.model("activations lists \(names.count) functions; \(kind.rawValue) \(direction.rawValue) takes \(want)")
        }
        let list = try activations(names, alphas: try c.floats("activation_alpha") ?? [], betas: try c.floats("activation_beta") ?? [], c)
        a.activations = (0..<a.numDirections).map { Array(list[$0 * perDir..<($0 + 1) * perDir]) }
    } else if c.has("activation_alpha") || c.has("activation_beta") {
        throw DLInferError.model("activation_alpha/activation_beta are given without activations")
    }
    return .recurrent(a)
}

/// Turns the names into functions. As in onnxruntime, alpha and beta values are taken in order by the functions that
/// use them; a function left without one gets the default of the ONNX operator of that name.
private func activations(_ names: [String], alphas: [Float], betas: [Float], _ c: NodeContext) throws -> [Recurrent.Activation] {
    var ai = alphas.makeIterator(), bi = betas.makeIterator()
    var usedAlphas = 0, usedBetas = 0
    func alpha(_ d: Float?, _ name: String) throws -> Float {
        usedAlphas += 1
        if let v = ai.next() { return v }
        guard let d else { throw c.unsupported("activation_alpha", "\(name) has no default alpha; give one") }
        return d
    }
    func beta(_ d: Float?, _ name: String) throws -> Float {
        usedBetas += 1
        if let v = bi.next() { return v }
        guard let d else { throw c.unsupported("activation_beta", "\(name) has no default beta; give one") }
        return d
    }
    let out: [Recurrent.Activation] = try names.map { name in
        switch name.lowercased() {
        case "sigmoid": return .sigmoid
        case "tanh": return .tanh
        case "relu": return .relu
        case "softsign": return .softsign
        case "softplus": return .softplus
        case "leakyrelu": return .leakyRelu(alpha: try alpha(0.01, name))
        case "thresholdedrelu": return .thresholdedRelu(alpha: try alpha(1, name))
        case "hardsigmoid": return .hardSigmoid(alpha: try alpha(0.2, name), beta: try beta(0.5, name))
        // The (since removed) ScaledTanh operator had no defaults; Affine's were alpha 1, beta 0.
        case "scaledtanh": return .scaledTanh(alpha: try alpha(nil, name), beta: try beta(nil, name))
        case "affine": return .affine(alpha: try alpha(1, name), beta: try beta(0, name))
        case "elu": return .elu(alpha: try alpha(1, name))
        default:
            throw c.unsupported("activations", "'\(name)' is not one of Sigmoid, Tanh, Relu, LeakyRelu, ThresholdedRelu, HardSigmoid, ScaledTanh, Affine, Elu, Softsign, Softplus")
        }
    }
    // Surplus values mean the model pairs them with the functions some other way; refuse rather than guess.
    if alphas.count > usedAlphas {
        throw c.unsupported("activation_alpha", "\(alphas.count) values given but the activations take only \(usedAlphas)")
    }
    if betas.count > usedBetas {
        throw c.unsupported("activation_beta", "\(betas.count) values given but the activations take only \(usedBetas)")
    }
    return out
}
