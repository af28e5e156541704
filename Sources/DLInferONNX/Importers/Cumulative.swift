import DLInferCore

let cumulativeImporters: [String: OpImporter] = [
    "CumSum": { c in try cumulative(c, .sum) },
    "CumProd": { c in try cumulative(c, .prod) },
]

private func cumulative(_ c: NodeContext, _ kind: Cumulative.Kind) throws -> Op {
    .cumulative(Cumulative(kind, exclusive: try c.zeroOrOne("exclusive", default: 0), reverse: try c.zeroOrOne("reverse", default: 0)))
}
