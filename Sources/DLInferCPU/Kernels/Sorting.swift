import DLInferCore

func makeTopKKernel(_ a: TopK, _ node: Node, _ graph: Graph) throws -> HostKernel { TopKKernel(a) }
func makeUniqueKernel(_ a: Unique, _ node: Node, _ graph: Graph) throws -> HostKernel { UniqueKernel(a) }

/// The total order TopK and Unique use: NaN above everything (NaNs equal), -0 equal to +0.
protocol TotalOrder: TensorElement {
    static func less(_ a: Self, _ b: Self) -> Bool
    static func same(_ a: Self, _ b: Self) -> Bool
}

extension TotalOrder where Self: BinaryFloatingPoint {
    @inline(__always) static func less(_ a: Self, _ b: Self) -> Bool { a < b || (b.isNaN && !a.isNaN) }
    @inline(__always) static func same(_ a: Self, _ b: Self) -> Bool { a == b || (a.isNaN && b.isNaN) }
}

extension TotalOrder where Self: FixedWidthInteger {
    @inline(__always) static func less(_ a: Self, _ b: Self) -> Bool { a < b }
    @inline(__always) static func same(_ a: Self, _ b: Self) -> Bool { a == b }
}

extension Float: TotalOrder {}
extension Double: TotalOrder {}
extension Int8: TotalOrder {}
extension Int16: TotalOrder {}
extension Int32: TotalOrder {}
extension Int64: TotalOrder {}
extension UInt8: TotalOrder {}
extension UInt16: TotalOrder {}
extension UInt32: TotalOrder {}
extension UInt64: TotalOrder {}
extension Bool: TotalOrder {
    static func less(_ a: Bool, _ b: Bool) -> Bool { !a && b }
    static func same(_ a: Bool, _ b: Bool) -> Bool { a == b }
}

/// Calls `body` with the Swift type of `dtype`'s elements, for the ordered types.
private func withOrderedType(_ dtype: DType, _ op: String, _ body: (any TotalOrder.Type) throws -> Void) throws {
    switch dtype {
    case .float32: try body(Float.self)
    case .float64: try body(Double.self)
    case .int8: try body(Int8.self)
    case .int16: try body(Int16.self)
    case .int32: try body(Int32.self)
    case .int64: try body(Int64.self)
    case .uint8: try body(UInt8.self)
    case .uint16: try body(UInt16.self)
    case .uint32: try body(UInt32.self)
    case .uint64: try body(UInt64.self)
    case .bool: try body(Bool.self)
    default: throw DLInferError.unsupported("\(op) on \(dtype)")
    }
}

/// Each row along the axis (gathered into a buffer when strided) is reduced to its k best positions: one scan for
/// k = 1, a heap of k entries when k is small against the row, else a sort of all positions; the k are then sorted.
final class TopKKernel: Kernel {
    let attrs: TopK
    init(_ a: TopK) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        guard inputs[1]!.count == 1 else { throw DLInferError.shape("K must have one element, got shape \(inputs[1]!.shape)") }
        let a = try attrs.normalizedAxis(rank: x.rank), n = x.shape[a]
        let k = try TopK.k(inputs[1]!, axisSize: n)
        var shape = x.shape
        shape[a] = k
        for o in 0..<2 where outputs.wanted(o) { try expectShape(outputs.shape(o), shape) }
        let values = try outputs.make(x.dtype, shape), indices = try outputs.make(.int64, shape)
        if values.count > 0 {
            let outer = x.shape[..<a].reduce(1, *), inner = x.shape[(a + 1)...].reduce(1, *)
            try withOrderedType(x.dtype, "TopK") { t in
                func go<T: TotalOrder>(_: T.Type) {
                    select(x.pointer(T.self), values.pointer(T.self), indices.pointer(Int64.self), outer, n, inner, k)
                }
                go(t)
            }
        }
        return [outputs.wanted(0) ? values : nil, outputs.wanted(1) ? indices : nil]
    }

    private func select<T: TotalOrder>(_ src: UnsafeMutablePointer<T>, _ values: UnsafeMutablePointer<T>,
                                       _ indices: UnsafeMutablePointer<Int64>, _ outer: Int, _ n: Int, _ inner: Int, _ k: Int) {
        let largest = attrs.largest
        let useHeap = k < n && (k <= 16 || k * 8 <= n)
        parallelFor(outer * inner, grain: Swift.max(1, 16384 / n)) { r in
            withUnsafeTemporaryAllocation(of: T.self, capacity: inner == 1 ? 0 : n) { buffer in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: useHeap ? k : n) { order in
                let pos = order.baseAddress!
                for row in r {
                    let o = row / inner, i = row % inner
                    let v: UnsafePointer<T>
                    if inner == 1 { v = UnsafePointer(src + o * n) } else {
                        let s = src + o * n * inner + i
                        for j in 0..<n { buffer[j] = s[j * inner] }
                        v = UnsafePointer(buffer.baseAddress!)
                    }
                    // p ranks before q: a better value, or the same value at a lower position.
                    @inline(__always) func better(_ p: Int, _ q: Int) -> Bool {
                        let a = v[p], b = v[q]
                        if T.same(a, b) { return p < q }
                        return largest ? T.less(b, a) : T.less(a, b)
                    }
                    if k == 1 {
                        var best = 0
                        for j in 1..<n where better(j, best) { best = j }
                        pos[0] = best
                    } else if useHeap {
                        for j in 0..<k { pos[j] = j }
                        // A heap whose root is the worst of the k kept so far.
                        func siftDown(_ start: Int) {
                            var p = start
                            while true {
                                var w = p
                                let l = 2 * p + 1, rr = l + 1
                                if l < k, better(pos[w], pos[l]) { w = l }
                                if rr < k, better(pos[w], pos[rr]) { w = rr }
                                if w == p { return }
                                order.swapAt(p, w)
                                p = w
                            }
                        }
                        for j in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(j) }
                        for j in k..<n where better(j, pos[0]) { pos[0] = j; siftDown(0) }
                        var heap = UnsafeMutableBufferPointer(start: pos, count: k)
                        heap.sort(by: better)
                    } else {
                        for j in 0..<n { pos[j] = j }
                        var all = UnsafeMutableBufferPointer(start: pos, count: n)
                        all.sort(by: better)
                    }
                    for t in 0..<k {
                        let at = (o * k + t) * inner + i
                        values[at] = v[pos[t]]
                        indices[at] = Int64(pos[t])
                    }
                }
            }
            }
        }
    }
}

/// Sorts the positions (elements, or slices along the axis) by value, with ties by position; runs of equal values
/// are the groups, each represented by its first (lowest) position.
final class UniqueKernel: Kernel {
    let attrs: Unique
    init(_ a: Unique) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        let axis = try attrs.normalizedAxis(rank: x.rank)
        // Positions are slices of `inner` elements repeated over `outer` (one element each without an axis).
        var (outer, m, inner) = (1, x.count, 1)
        if let a = axis { (outer, m, inner) = (x.shape[..<a].reduce(1, *), x.shape[a], x.shape[(a + 1)...].reduce(1, *)) }
        var groupOf = [Int](repeating: 0, count: m)
        var first = [Int](), counts = [Int]()
        try withOrderedType(x.dtype, "Unique") { t in
            func go<T: TotalOrder>(_: T.Type) {
                (first, counts) = group(x.pointer(T.self), outer, m, inner, &groupOf)
            }
            go(t)
        }
        let u = first.count
        if !attrs.sorted {
            // Groups in order of first occurrence.
            let order = first.indices.sorted { first[$0] < first[$1] }
            var rank = [Int](repeating: 0, count: u)
            for (r, g) in order.enumerated() { rank[g] = r }
            first = order.map { first[$0] }
            counts = order.map { counts[$0] }
            for j in 0..<m { groupOf[j] = rank[groupOf[j]] }
        }
        var yShape = [u]
        if let axis { yShape = x.shape; yShape[axis] = u }
        for (o, want) in [(0, yShape), (1, [u]), (2, [m]), (3, [u])] where outputs.wanted(o) {
            let t = outputs.types[o]!
            guard t.rank == want.count, zip(t.shape!, want).allSatisfy({ $0.value == nil || $0.value == $1 }) else {
                throw DLInferError.shape("output \(o) has shape \(want), \(t) was inferred")
            }
        }
        var outs = [Tensor?](repeating: nil, count: 4)
        if outputs.wanted(0) {
            let y = try outputs.make(x.dtype, yShape)
            let f = first
            gatherBlocks(count: outer * u, bytes: inner * x.dtype.byteSize, src: x.raw, dst: y.raw) { i in
                (i / u) * m + f[i % u]
            }
            outs[0] = y
        }
        for (o, list) in [(1, first), (2, groupOf), (3, counts)] where outputs.wanted(o) {
            outs[o] = Tensor(list.map { Int64($0) }, shape: [list.count])
        }
        return outs
    }

    /// Fills `groupOf` (position -> group) and returns each group's first position and size, groups in sorted order.
    private func group<T: TotalOrder>(_ src: UnsafeMutablePointer<T>, _ outer: Int, _ m: Int, _ inner: Int,
                                      _ groupOf: inout [Int]) -> (first: [Int], counts: [Int]) {
        // -1, 0, 1 as the slice at position p sorts before, with, or after the one at q.
        func compare(_ p: Int, _ q: Int) -> Int {
            for o in 0..<outer {
                let a = src + (o * m + p) * inner, b = src + (o * m + q) * inner
                for i in 0..<inner where !T.same(a[i], b[i]) { return T.less(a[i], b[i]) ? -1 : 1 }
            }
            return 0
        }
        var order = Array(0..<m)
        order.sort { p, q in
            let c = compare(p, q)
            return c < 0 || (c == 0 && p < q)
        }
        var first = [Int](), counts = [Int]()
        for (t, p) in order.enumerated() {
            if t == 0 || compare(order[t - 1], p) != 0 { first.append(p); counts.append(0) }
            counts[counts.count - 1] += 1
            groupOf[p] = first.count - 1
        }
        return (first, counts)
    }
}

extension CPUKernelFactory {
    func visit(_ a: TopK, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeTopKKernel(a, node, graph)
    }

    func visit(_ a: Unique, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeUniqueKernel(a, node, graph)
    }
}
