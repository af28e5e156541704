import DLInferCore

let normalizationImporters: [String: OpImporter] = [
    "BatchNormalization": { c in
        // Opsets 7-13 declare training outputs as (mean, var, saved_mean, saved_var); 14+ as running_mean/var with
        // training_mode.
        let training = c.opset >= 14 ? try c.zeroOrOne("training_mode", default: 0) : false
        guard c.outputCount == 1 || (training && c.outputCount <= 3) else {
            throw DLInferError.unsupported(c.opset >= 14
                ? "BatchNormalization with training_mode = 0 declares \(c.outputCount) outputs; only Y exists in inference"
                : "BatchNormalization with training outputs before opset 14 (\(c.outputCount) outputs declared) is not supported; only the inference form (output Y alone) is")
        }
        var spatial = true
        if c.opset < 9 {
            let v = try c.int("spatial", default: 1)
            guard v == 0 || v == 1 else { throw c.unsupported("spatial", "\(v) is not 0 or 1") }
            spatial = v == 1
        }
        // momentum only updates the running statistics of the training form.
        let momentum = try c.float("momentum", default: 0.9)
        return .batchNorm(BatchNorm(epsilon: try c.float("epsilon", default: 1e-5), spatial: spatial, training: training,
                                    momentum: momentum))
    },
    "LayerNormalization": { c in
        let stash = try stashType(c)
        guard stash == .float32 else { throw c.unsupported("stash_type", "\(stash) (Mean and InvStdDev are float32 or bfloat16; dlinfer computes in float32)") }
        return .layerNorm(LayerNorm(axis: try c.int("axis", default: -1), epsilon: try c.float("epsilon", default: 1e-5), stash: stash))
    },
    "RMSNormalization": { c in
        .layerNorm(LayerNorm(axis: try c.int("axis", default: -1), epsilon: try c.float("epsilon", default: 1e-5),
                             stash: try stashType(c), rms: true))
    },
    "GroupNormalization": { c in
        guard let groups = try c.int("num_groups") else { throw DLInferError.model("attribute 'num_groups' is required") }
        // Opset 18 has one scale and bias per group and no stash_type; 21 one per channel.
        return .groupNorm(GroupNorm(groups: groups, epsilon: try c.float("epsilon", default: 1e-5),
                                    stash: c.opset >= 21 ? try stashType(c) : .float32, paramsPerGroup: c.opset < 21))
    },
    "InstanceNormalization": { c in
        .groupNorm(GroupNorm(groups: nil, epsilon: try c.float("epsilon", default: 1e-5)))
    },
    "MeanVarianceNormalization": { c in
        .meanVarianceNorm(MeanVarianceNorm(axes: try c.ints("axes") ?? [0, 2, 3]))
    },
    "LpNormalization": { c in
        let p = try c.int("p", default: 2)
        guard p == 1 || p == 2 else { throw c.unsupported("p", "\(p); only 1 and 2 are defined") }
        return .lpNorm(LpNorm(axis: try c.int("axis", default: -1), p: p))
    },
    "LRN": { c in
        try requireSingleOutput(c)
        guard let size = try c.int("size") else { throw DLInferError.model("attribute 'size' is required") }
        return .lrn(LRN(size: size, alpha: try c.float("alpha", default: 1e-4), beta: try c.float("beta", default: 0.75),
                        bias: try c.float("bias", default: 1)))
    },
]

/// stash_type: the type stage one computes in (ONNX's element type codes; float32 by default).
private func stashType(_ c: NodeContext) throws -> DType {
    let v = try c.int("stash_type", default: 1)
    switch v {
    case 1: return .float32
    case 11: return .float64
    default: throw c.unsupported("stash_type", "\(v) (float32 = 1 and float64 = 11 are supported)")
    }
}
