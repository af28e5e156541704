/// Output dims and per-input element strides for a broadcast, with adjacent dims merged where every input
/// broadcasts them alike; padded on the left to the rank-8 `int8` arguments of `broadcast_offset` in common.cl.
struct BroadcastLayout {
    let dims: [Int]
    let strides: [[Int]]

    init(output: [Int], inputs: [[Int]]) {
        let rank = output.count
        // Element strides of each input in output coordinates (0 where size 1 is broadcast).
        let per = inputs.map { shape -> [Int] in
            let s = Array(repeating: 1, count: rank - shape.count) + shape
            var strides = Array(repeating: 0, count: rank), acc = 1
            for d in stride(from: rank - 1, through: 0, by: -1) {
                strides[d] = s[d] == 1 && output[d] != 1 ? 0 : acc
                acc *= s[d]
            }
            return strides
        }
        (dims, strides) = mergeDims(output, strides: per)
    }

    /// Whether the merged space still fits the kernels' 8 dims.
    var fits: Bool { dims.count <= 8 }

    static func pad(_ v: [Int], with fill: Int) -> [Int] { Array(repeating: fill, count: 8 - v.count) + v }
    var dimsArg: CLArg { .int8(BroadcastLayout.pad(dims, with: 1)) }
    func stridesArg(_ k: Int) -> CLArg { .int8(BroadcastLayout.pad(strides[k], with: 0)) }
}

/// `dims` with its size-1 dims dropped and each pair of neighbours merged into one where every stride array steps
/// through both alike (the outer stride is the inner one times the inner size), outermost first. Indexing the merged
/// space with the merged strides reaches the same elements with fewer divisions.
func mergeDims(_ dims: [Int], strides: [[Int]]) -> (dims: [Int], strides: [[Int]]) {
    var outDims = [Int](), outStrides = strides.map { _ in [Int]() }
    for d in dims.indices where dims[d] != 1 {
        if let last = outDims.last, strides.indices.allSatisfy({ outStrides[$0].last! == strides[$0][d] * dims[d] }) {
            outDims[outDims.count - 1] = last * dims[d]
            for j in strides.indices { outStrides[j][outStrides[j].count - 1] = strides[j][d] }
        } else {
            outDims.append(dims[d])
            for j in strides.indices { outStrides[j].append(strides[j][d]) }
        }
    }
    return (outDims, outStrides)
}
