import DLInferCore

/// Places the nodes that may run on either side (masks and index math) so that a run moves the fewest tensors between
/// host and device, given the nodes whose side is fixed. The session moves a value at most once each way per run:
/// one download however many host readers it has, one upload however many device readers. So the cost is counted
/// per value, and the best placement is a minimum s-t cut (device side s, host side t) of a network with, for each
/// value that crosses at a cost:
/// - a download gadget: producer → d (capacity 1), d → each host-side reader (infinite), d → t (infinite) when some
///   reader reads it on the host whatever its side (a host input slot, or a graph output): cut exactly when the
///   producer is on the device and some reader is on the host;
/// - an upload gadget: each device-slot reader → u (infinite), u → producer (capacity 1): cut exactly when the
///   producer is on the host (or is a graph input) and some reader is on the device.
/// Among the placements with the fewest transfers, the one with the most nodes on the device is taken. Graph inputs
/// are on the host and outputs read there, or both on the device for a body a device kernel runs (`resident`).
struct TransferCut {
    private var capacity: [[Int: Int]] = []
    private static let unbounded = Int.max / 4

    private mutating func node() -> Int { capacity.append([:]); return capacity.count - 1 }
    private mutating func edge(_ a: Int, _ b: Int, _ c: Int) {
        capacity[a][b, default: 0] += c
        if capacity[b][a] == nil { capacity[b][a] = 0 }
    }

    /// The graph nodes (indices) to run on the host. `side[i]`: true for a node fixed on the device, false for one
    /// fixed on the host, nil for one free to go either way. `free(v)`: values that cost nothing to move (constants,
    /// values folded once per plan). `hostSlots(i)`: input slots node i reads on the host even on the device.
    /// `ignores(i)`: nodes that read only their inputs' shapes (Shape, Size), which cost nothing either way.
    static func hostNodes(_ graph: Graph, side: [Bool?], free: (ValueID) -> Bool, hostSlots: (Int) -> Set<Int>,
                          ignores: (Int) -> Bool, resident: Bool) -> Set<Int> {
        var net = TransferCut()
        let s = net.node(), t = net.node()
        let base = graph.nodes.indices.map { _ in net.node() }
        for (i, fixed) in side.enumerated() {
            if let fixed { fixed ? net.edge(s, base[i], unbounded) : net.edge(base[i], t, unbounded) }
        }
        let producers = graph.producers(), consumers = graph.consumers(), outputs = Set(graph.outputs)
        for v in graph.values.indices where !free(v) {
            let p = producers[v].map { base[$0] } ?? (resident ? s : t)
            var hostReaders = outputs.contains(v) && !resident ? [t] : [], deviceReaders = outputs.contains(v) && resident ? [s] : []
            for c in Set(consumers[v] ?? []) where !ignores(c) {
                let slots = Set(graph.nodes[c].inputs.indices.filter { graph.nodes[c].inputs[$0] == v })
                if !slots.isSubset(of: hostSlots(c)) { deviceReaders.append(base[c]) }
                hostReaders.append(slots.isDisjoint(with: hostSlots(c)) ? base[c] : t)
            }
            if p != t, !hostReaders.isEmpty {
                let d = net.node()
                net.edge(p, d, 1)
                for r in hostReaders { net.edge(d, r, unbounded) }
            }
            if !deviceReaders.isEmpty {
                let u = net.node()
                net.edge(u, p, 1)
                for r in deviceReaders { net.edge(r, u, unbounded) }
            }
        }
        net.maxFlow(s, t)
        let host = net.reaching(t)
        return Set(graph.nodes.indices.filter { side[$0] == nil && host.contains(base[$0]) })
    }

    /// Augments along shortest paths until none is left (Edmonds-Karp); capacities become residual capacities.
    private mutating func maxFlow(_ s: Int, _ t: Int) {
        while true {
            var from = [Int](repeating: -1, count: capacity.count)
            from[s] = s
            var queue = [s], head = 0
            while head < queue.count, from[t] < 0 {
                let a = queue[head]; head += 1
                for (b, c) in capacity[a] where c > 0 && from[b] < 0 { from[b] = a; queue.append(b) }
            }
            guard from[t] >= 0 else { return }
            var bottleneck = TransferCut.unbounded, b = t
            while b != s { bottleneck = min(bottleneck, capacity[from[b]][b]!); b = from[b] }
            b = t
            while b != s {
                capacity[from[b]][b]! -= bottleneck
                capacity[b][from[b]]! += bottleneck
                b = from[b]
            }
        }
    }

    /// The nodes with a residual path to `t`: the host side of the cut that leaves the device side largest.
    private func reaching(_ t: Int) -> Set<Int> {
        var seen: Set<Int> = [t], queue = [t], head = 0
        while head < queue.count {
            let b = queue[head]; head += 1
            for (a, _) in capacity[b] where !seen.contains(a) && capacity[a][b]! > 0 { seen.insert(a); queue.append(a) }
        }
        return seen
    }
}
