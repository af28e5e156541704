/// Output dims and per-input element strides for a broadcast, with adjacent dims merged where every input
/// broadcasts them alike; padded on the left to the rank-8 `int8` arguments of `broadcast_offset` in common.cl.
struct BroadcastLayout {
    let dims: [Int]
    let strides: [[Int]]

    init(output: [Int], inputs: [[Int]]) {
        let rank = output.count
        // Element strides of each input in output coordinates (0 where size 1 is broadcast).
        var per = inputs.map { shape -> [Int] in
            let s = Array(repeating: 1, count: rank - shape.count) + shape
            var strides = Array(repeating: 0, count: rank), acc = 1
            for d in stride(from: rank - 1, through: 0, by: -1) {
                strides[d] = s[d] == 1 && output[d] != 1 ? 0 : acc
                acc *= s[d]
            }
            return strides
        }
        var dims = [Int](), merged = per.map { _ in [Int]() }
        for d in 0..<rank where output[d] != 1 {
            if let last = dims.last, per.indices.allSatisfy({ merged[$0].last! == per[$0][d] * output[d] }) {
                dims[dims.count - 1] = last * output[d]
                for j in per.indices { merged[j][merged[j].count - 1] = per[j][d] }
            } else {
                dims.append(output[d])
                for j in per.indices { merged[j].append(per[j][d]) }
            }
        }
        per = merged
        self.dims = dims
        self.strides = per
    }

    /// Whether the merged space still fits the kernels' 8 dims.
    var fits: Bool { dims.count <= 8 }

    static func pad(_ v: [Int], with fill: Int) -> [Int] { Array(repeating: fill, count: 8 - v.count) + v }
    var dimsArg: CLArg { .int8(BroadcastLayout.pad(dims, with: 1)) }
    func stridesArg(_ k: Int) -> CLArg { .int8(BroadcastLayout.pad(strides[k], with: 0)) }
}
