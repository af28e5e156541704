import DLInferCore

let normalizationImporters: [String: OpImporter] = [
    "BatchNormalization": { c in
        // Opsets 7-13 declare the training outputs (mean, var, saved_mean, saved_var); 14+ running_mean/var with
        // training_mode. dlinfer runs the inference form only.
        guard c.outputCount == 1 else {
            throw DLInferError.unsupported("BatchNormalization with training outputs (\(c.outputCount) outputs declared) is not supported; only the inference form (output Y alone) is")
        }
        if c.opset >= 14, try c.int("training_mode", default: 0) != 0 {
            throw c.unsupported("training_mode", "1 (statistics of the batch) is not supported; only inference")
        }
        var spatial = true
        if c.opset < 9 {
            let v = try c.int("spatial", default: 1)
            guard v == 0 || v == 1 else { throw c.unsupported("spatial", "\(v) is not 0 or 1") }
            spatial = v == 1
        }
        // momentum only updates running statistics during training.
        _ = try c.float("momentum")
        return .batchNorm(BatchNorm(epsilon: try c.float("epsilon", default: 1e-5), spatial: spatial))
    },
    "LRN": { c in
        try requireSingleOutput(c)
        guard let size = try c.int("size") else { throw DLInferError.model("attribute 'size' is required") }
        return .lrn(LRN(size: size, alpha: try c.float("alpha", default: 1e-4), beta: try c.float("beta", default: 0.75),
                        bias: try c.float("bias", default: 1)))
    },
]
