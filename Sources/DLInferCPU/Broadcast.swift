import DLInferCore
/// Iteration plan for numpy broadcasting: the output is walked row by row (all dims but a collapsed innermost one);
/// each input has an element offset per row and an innermost stride of 0 (broadcast) or 1.
struct BroadcastPlan {
    let count: Int
    let inner: Int
    let rows: Int
    let innerStrides: [Int]
    private let outerShape: [Int]
    private let outerStrides: [[Int]]

    init(output: [Int], inputs: [[Int]]) {
        count = output.elementCount
        let rank = output.count
        // Align every input to the output's rank; broadcast dims get stride 0.
        var strides = inputs.map { shape -> [Int] in
            let padded = [Int](repeating: 1, count: rank - shape.count) + shape
            let cs = padded.contiguousStrides
            return (0..<rank).map { padded[$0] == 1 && output[$0] != 1 ? 0 : cs[$0] }
        }
        var shape = output
        // Collapse adjacent dims that every input walks the same way (both contiguous, or both broadcast).
        var i = shape.count - 1
        while i > 0 {
            let mergeable = strides.allSatisfy { s in s[i - 1] == s[i] * shape[i] }
            if mergeable {
                shape[i - 1] *= shape[i]
                shape.remove(at: i)
                for k in strides.indices { strides[k].remove(at: i - 1) }
            }
            i -= 1
        }
        if shape.isEmpty { shape = [1]; strides = strides.map { _ in [1] } }
        inner = shape.last!
        innerStrides = strides.map { $0.last! }
        outerShape = Array(shape.dropLast())
        outerStrides = strides.map { Array($0.dropLast()) }
        rows = inner == 0 ? 0 : count / inner
    }

    /// Element offset of input `k` at the start of output row `row`.
    @inline(__always)
    func offset(_ k: Int, row: Int) -> Int {
        var r = row, off = 0
        let st = outerStrides[k]
        var d = outerShape.count - 1
        while d >= 0 {
            let n = outerShape[d]
            off += (r % n) * st[d]
            r /= n
            d -= 1
        }
        return off
    }
}

/// Applies `f` elementwise over two broadcast inputs into `out` (of the broadcast shape), in parallel over rows.
@inline(__always)
func broadcastBinary<A, B, O>(_ a: UnsafePointer<A>, _ aShape: [Int], _ b: UnsafePointer<B>, _ bShape: [Int],
                              _ out: UnsafeMutablePointer<O>, _ outShape: [Int], _ f: (A, B) -> O) {
    let p = BroadcastPlan(output: outShape, inputs: [aShape, bShape])
    let inner = p.inner, sa = p.innerStrides[0], sb = p.innerStrides[1]
    parallelFor(p.rows, grain: max(1, 16384 / max(inner, 1))) { range in
        for row in range {
            let pa = a + p.offset(0, row: row), pb = b + p.offset(1, row: row), po = out + row * inner
            switch (sa, sb) {
            case (1, 1): for j in 0..<inner { po[j] = f(pa[j], pb[j]) }
            case (1, 0): let y = pb[0]; for j in 0..<inner { po[j] = f(pa[j], y) }
            case (0, 1): let x = pa[0]; for j in 0..<inner { po[j] = f(x, pb[j]) }
            default: let v = f(pa[0], pb[0]); for j in 0..<inner { po[j] = v }
            }
        }
    }
}

/// Copies `src` broadcast to `outShape` (Expand, and the first operand of variadic ops).
func broadcastCopy(_ src: Tensor, to out: Tensor) {
    let p = BroadcastPlan(output: out.shape, inputs: [src.shape])
    let esz = src.dtype.byteSize, inner = p.inner, s = p.innerStrides[0]
    let sp = src.raw, op = out.raw
    parallelFor(p.rows, grain: max(1, 16384 / max(inner, 1))) { range in
        for row in range {
            let from = sp + p.offset(0, row: row) * esz, to = op + row * inner * esz
            if s == 1 { to.copyMemory(from: from, byteCount: inner * esz) }
            else { for j in 0..<inner { (to + j * esz).copyMemory(from: from, byteCount: esz) } }
        }
    }
}
