/// Concats whose inputs are written straight into their output: every input is made on the host by another node
/// (not a Concat), read by nothing else and of a shape the plan knows, and the dims before the axis are all 1, so
/// that each input is one contiguous run of the output. Each producer's kernel then writes its output into its place
/// in the Concat's output, which exists from the first producer's step on, and the Concat has nothing left to copy
/// (squeezenet's and googlenet's branches: one copy of every joined value less, and the inputs and the output are
/// no longer held at once).
struct ConcatPlacement {
    /// Node `concat`'s output from byte `offset` on is this node's output `output`.
    struct Slice {
        let output: Int, concat: Int, offset: Int
    }
    /// Per node (an array, read on every step of every run), its outputs placed in a Concat's output.
    var slices: [[Slice]]
    /// Per node, whether it is a Concat whose inputs are all placed.
    var isPlaced: [Bool]

    init(nodes: Int) {
        slices = .init(repeating: [], count: nodes)
        isPlaced = .init(repeating: false, count: nodes)
    }
}

extension Session {
    func placeConcats(_ steps: [Step], types: [ValueType], outputShapes: [[[Int]?]?]) -> ConcatPlacement {
        var readers = [Int](repeating: 0, count: graph.values.count)
        for node in graph.nodes { for case let v? in node.inputs { readers[v] += 1 } }
        for v in graph.outputs { readers[v] += 1 }
        var producer = [ValueID: (node: Int, output: Int)]()
        for case .node(let i) in steps {
            for (k, o) in graph.nodes[i].outputs.enumerated() { if let o { producer[o] = (i, k) } }
        }
        var placement = ConcatPlacement(nodes: graph.nodes.count)
        for case .node(let i) in steps {
            let node = graph.nodes[i]
            guard let concat = node.op.attributes as? Concat, !kernels[i].onDevice, let out = node.outputs.first ?? nil,
                  let shape = outputShapes[i]?.first ?? nil, let axis = try? normalizeAxis(concat.axis, rank: shape.count),
                  shape[..<axis].allSatisfy({ $0 == 1 }) else { continue }
            let dtype = types[out].dtype
            var offset = 0, slices = [(node: Int, slice: ConcatPlacement.Slice)]()
            for v in node.inputs {
                guard let v, readers[v] == 1, let (p, k) = producer[v], !kernels[p].onDevice,
                      !(graph.nodes[p].op.attributes is Concat), types[v].dtype == dtype,
                      let s = outputShapes[p]?[k] else { break }
                slices.append((p, .init(output: k, concat: i, offset: offset)))
                offset += s.elementCount * dtype.byteSize
            }
            guard slices.count == node.inputs.count, offset > 0, offset == shape.elementCount * dtype.byteSize else { continue }
            for (p, s) in slices { placement.slices[p].append(s) }
            placement.isPlaced[i] = true
        }
        return placement
    }
}
