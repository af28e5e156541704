import DLInferCore

let gemmImporters: [String: OpImporter] = [
    "Gemm": { c in
        var g = Gemm(alpha: try c.float("alpha", default: 1), beta: try c.float("beta", default: 1),
                     transA: try c.int("transA", default: 0) != 0, transB: try c.int("transB", default: 0) != 0)
        // `broadcast` left opset 7 (broadcasting became unconditional); old exporters still write it.
        if let broadcast = try c.int("broadcast") { g.requireFullC = broadcast == 0 }
        if c.opset < 11, c.inputCount < 3 || c.inputs[2] == nil {
            throw DLInferError.model("input C is required before opset 11")
        }
        return .gemm(g)
    },
    "MatMul": { _ in .matMul(MatMul()) },
    "MatMulInteger": { _ in .matMulInteger(MatMulInteger()) },
    "Einsum": { c in
        guard let equation = try c.string("equation") else { throw DLInferError.model("attribute 'equation' is required") }
        return .einsum(try Einsum(equation: equation))
    },
]
