import DLInferCore

let elementwiseImporters: [String: OpImporter] = [
    "Relu": { _ in .unary(Unary(.activation(.relu))) },
    "Sigmoid": { _ in .unary(Unary(.activation(.sigmoid))) },
    "Tanh": { _ in .unary(Unary(.activation(.tanh))) },
    "Exp": { _ in .unary(Unary(.exp)) },
    "Sqrt": { _ in .unary(Unary(.sqrt)) },
    "LeakyRelu": { c in .unary(Unary(.activation(.leakyRelu(alpha: try c.float("alpha", default: 0.01))))) },
    "HardSigmoid": { c in
        .unary(Unary(.activation(.hardSigmoid(alpha: try c.float("alpha", default: 0.2), beta: try c.float("beta", default: 0.5)))))
    },
    "Elu": { c in .unary(Unary(.activation(.elu(alpha: try c.float("alpha", default: 1))))) },
    "Clip": { c in
        if c.opset < 11 {
            // Opsets 6-10 give the bounds as attributes; later ones as optional inputs.
            let lo = try c.float("min", default: -.greatestFiniteMagnitude), hi = try c.float("max", default: .greatestFiniteMagnitude)
            c.setConstantInput(1, .scalar(lo), role: "min")
            c.setConstantInput(2, .scalar(hi), role: "max")
        }
        return .clip(Clip())
    },
    "Add": { c in try binary(c, .add) },
    "Sub": { c in try binary(c, .sub) },
    "Mul": { c in try binary(c, .mul) },
    "Div": { c in try binary(c, .div) },
    "Pow": { c in try binary(c, .pow) },
    "Sum": { _ in .variadic(Variadic(.sum)) },
    "Max": { _ in .variadic(Variadic(.max)) },
    "Min": { _ in .variadic(Variadic(.min)) },
    "Mean": { _ in .variadic(Variadic(.mean)) },
    "Identity": { _ in .identity(Identity()) },
    "Dropout": { c in
        if c.opset < 12 {
            // Opsets 7-11 carry `ratio` as an attribute; at inference it does not change the output.
            _ = try c.float("ratio")
        } else {
            _ = try c.int("seed")
        }
        return .dropout(Dropout())
    },
    "Shape": { c in .shape(ShapeOf(start: try c.int("start", default: 0), end: try c.int("end"))) },
]

private func binary(_ c: NodeContext, _ kind: Binary.Kind) throws -> Op {
    // Opset < 7 had `broadcast`/`axis` attributes; we import from opset 7, where broadcasting is numpy's.
    .binary(Binary(kind))
}
