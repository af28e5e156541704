/// Concats whose inputs are written straight into their output: every input is made on the host by another node
/// (not a Concat) and of a shape the plan knows, and the dims before the axis are all 1, so that each input is one
/// contiguous run of the output. Each producer's kernel then writes its output into its place in the Concat's
/// output, which exists from the first producer's step on, and the Concat has nothing left to copy (squeezenet's and
/// googlenet's branches: one copy of every joined value less, and the inputs and the output are no longer held at
/// once).
///
/// An input may also be read by other Concats whose inputs are the first ones of this Concat's, in the same order: a
/// family, whose largest Concat (the root) holds the rest's outputs at its start. DenseNet's layers each join the
/// block's input and every earlier layer's output, and the block ends with the Concat of them all: every layer's
/// output is written once into that last output, and each layer's Concat is its start (no copies where there were
/// as many as the block has layers).
struct ConcatPlacement {
    /// Node `concat`'s output (a family's root) from byte `offset` on is this node's output `output`.
    struct Slice {
        let output: Int, concat: Int, offset: Int
    }
    /// A Concat whose inputs are all placed: its output is the start of its family root's output (all of it for the
    /// root). The family's last Concat to run lets go of the root's output, which the values hold from then
    /// on.
    struct Member {
        let root: Int, releases: Bool
    }
    /// Per node (arrays, read on every step of every run): its outputs placed in a Concat's output, and whether it is
    /// a Concat whose inputs are all placed.
    var slices: [[Slice]]
    var members: [Member?]

    init(nodes: Int) {
        slices = .init(repeating: [], count: nodes)
        members = .init(repeating: nil, count: nodes)
    }
}

extension Session {
    func placeConcats(_ steps: [Step], types: [ValueType], outputShapes: [[[Int]?]?]) -> ConcatPlacement {
        // The nodes reading each value; -1 for a graph output.
        var readers = [[Int]](repeating: [], count: graph.values.count)
        for (i, node) in graph.nodes.enumerated() { for case let v? in node.inputs { readers[v].append(i) } }
        for v in graph.outputs { readers[v].append(-1) }
        var producer = [ValueID: (node: Int, output: Int)](), order = [Int: Int]()
        for case .node(let i) in steps {
            order[i] = order.count
            for (k, o) in graph.nodes[i].outputs.enumerated() { if let o { producer[o] = (i, k) } }
        }
        // Concats on the host whose output shape the plan knows, with only 1s before the axis: their inputs and axis.
        var candidates = [Int: (inputs: [ValueID], axis: Int)]()
        for case .node(let i) in steps {
            let node = graph.nodes[i]
            guard let concat = node.op.attributes as? Concat, !kernels[i].onDevice, node.outputs.first != nil,
                  let shape = outputShapes[i]?.first ?? nil, let axis = try? normalizeAxis(concat.axis, rank: shape.count),
                  shape[..<axis].allSatisfy({ $0 == 1 }), node.inputs.allSatisfy({ $0 != nil }) else { continue }
            candidates[i] = (node.inputs.map { $0! }, axis)
        }
        var placement = ConcatPlacement(nodes: graph.nodes.count)
        var taken = Set<Int>()
        // Roots first: the Concats with the most inputs.
        for root in candidates.keys.sorted(by: { (candidates[$0]!.inputs.count, $0) > (candidates[$1]!.inputs.count, $1) })
        where !taken.contains(root) {
            let (inputs, axis) = candidates[root]!
            let dtype = types[graph.nodes[root].outputs[0]!].dtype
            guard Set(inputs).count == inputs.count else { continue }
            // Every reader of every input must be a Concat of the family.
            var family: Set<Int> = [root]
            let closed = inputs.allSatisfy { v in
                readers[v].allSatisfy { r in
                    if family.contains(r) { return true }
                    guard !taken.contains(r), let c = candidates[r], c.axis == axis, c.inputs.count <= inputs.count,
                          c.inputs[...] == inputs[..<c.inputs.count] else { return false }
                    family.insert(r)
                    return true
                }
            }
            guard closed else { continue }
            var offset = 0, slices = [(node: Int, slice: ConcatPlacement.Slice)]()
            for v in inputs {
                guard let (p, k) = producer[v], !kernels[p].onDevice, !(graph.nodes[p].op.attributes is Concat),
                      types[v].dtype == dtype, let s = outputShapes[p]?[k] else { break }
                slices.append((p, .init(output: k, concat: root, offset: offset)))
                offset += s.elementCount * dtype.byteSize
            }
            guard slices.count == inputs.count, offset > 0,
                  offset == outputShapes[root]![0]!.elementCount * dtype.byteSize else { continue }
            for (p, s) in slices { placement.slices[p].append(s) }
            let last = family.max { order[$0]! < order[$1]! }!
            for c in family { placement.members[c] = .init(root: root, releases: c == last) }
            taken.formUnion(family)
        }
        return placement
    }
}
