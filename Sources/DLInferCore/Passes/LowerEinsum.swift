/// Turns a float32 Einsum that is a batched matrix product into Transpose → MatMul → Transpose, so that it runs on
/// the GEMM kernels of every backend (OpenCL has no Einsum kernel): two operands, no ellipsis, no letter repeated in
/// an operand, and each letter one of: a batch letter (in both operands and the output, with the same known size or
/// named dimension in both), exactly one row letter (first operand and output), one column letter (second operand and output) and one
/// contracted letter (both operands, not the output). "bhqd,bhkd->bhqk" and "bij,bjk->bik" qualify; reductions
/// over a letter of one operand, outer products, diagonals and ellipses keep the Einsum kernel. Transposes that
/// would not move anything are left out.
public struct LowerEinsum: Pass {
    public init() {}
    public var name: String { "lower-einsum" }

    public func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool {
        var nodes = [Node](), changed = false
        for node in graph.nodes {
            guard case .einsum(let e) = node.op, let plan = Self.plan(e, node, graph) else { nodes.append(node); continue }
            changed = true
            let a = node.inputs[0]!, b = node.inputs[1]!, y = node.outputs[0]!
            func transposed(_ v: ValueID, _ perm: [Int], _ tag: String) -> ValueID {
                guard perm != Array(perm.indices) else { return v }
                let t = graph.addValue("\(node.name)/\(tag)", ValueType(.float32, nil))
                nodes.append(Node(name: "\(node.name)/\(tag)", op: .transpose(Transpose(perm: perm)), inputs: [v], outputs: [t]))
                return t
            }
            let lhs = transposed(a, plan.a, "lhs"), rhs = transposed(b, plan.b, "rhs")
            if plan.y == Array(plan.y.indices) {
                nodes.append(Node(name: node.name, op: .matMul(MatMul()), inputs: [lhs, rhs], outputs: [y]))
            } else {
                let product = graph.addValue("\(node.name)/product", ValueType(.float32, nil))
                nodes.append(Node(name: "\(node.name)/product", op: .matMul(MatMul()), inputs: [lhs, rhs], outputs: [product]))
                nodes.append(Node(name: node.name, op: .transpose(Transpose(perm: plan.y)), inputs: [product], outputs: [y]))
            }
        }
        graph.nodes = nodes
        return changed
    }

    /// The permutations that make the first operand [batch..., row, contracted], the second [batch...,
    /// contracted, column], and the product [batch..., row, column] into the output; nil when the node does not
    /// qualify.
    static func plan(_ e: Einsum, _ node: Node, _ graph: Graph) -> (a: [Int], b: [Int], y: [Int])? {
        guard e.operands.count == 2, node.inputs.count == 2, let a = node.inputs[0], let b = node.inputs[1],
              node.outputs.count == 1, node.outputs[0] != nil,
              graph.values[a].type.dtype == .float32, graph.values[b].type.dtype == .float32,
              let sa = graph.values[a].type.shape, let sb = graph.values[b].type.shape else { return nil }
        let la = e.operands[0], lb = e.operands[1], out = e.output
        let all = la + lb + out
        guard !all.contains(Einsum.ellipsis), Set(la).count == la.count, Set(lb).count == lb.count,
              sa.count == la.count, sb.count == lb.count else { return nil }
        let batch = out.filter { la.contains($0) && lb.contains($0) }
        let rows = out.filter { la.contains($0) && !lb.contains($0) }
        let cols = out.filter { lb.contains($0) && !la.contains($0) }
        let contracted = la.filter { lb.contains($0) && !out.contains($0) }
        guard rows.count == 1, cols.count == 1, contracted.count == 1,
              la.count == batch.count + 2, lb.count == batch.count + 2 else { return nil }
        // MatMul would broadcast a batch size of 1 against another; Einsum's letters must agree: the same known size,
        // or the same named dimension of the model.
        for l in batch {
            let x = sa[la.firstIndex(of: l)!], z = sb[lb.firstIndex(of: l)!]
            guard x == z, x != .unknown else { return nil }
        }
        let product = batch + rows + cols
        return (a: (batch + rows + contracted).map { la.firstIndex(of: $0)! },
                b: (batch + contracted + cols).map { lb.firstIndex(of: $0)! },
                y: out.map { product.firstIndex(of: $0)! })
    }
}
