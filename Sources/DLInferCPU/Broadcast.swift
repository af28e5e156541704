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

/// One output row of a broadcast two-input op: `count` elements, each input advancing by its step per element (1, or
/// 0 where it is broadcast).
struct BroadcastRow<A, B, O> {
    let a: UnsafePointer<A>, aStep: Int
    let b: UnsafePointer<B>, bStep: Int
    let out: UnsafeMutablePointer<O>
    let count: Int

    /// out[j] = f(a[j·aStep], b[j·bStep]), one loop per step pattern so that the common ones vectorise.
    @inline(__always)
    func apply(_ f: (A, B) -> O) {
        switch (aStep, bStep) {
        case (1, 1): for j in 0..<count { out[j] = f(a[j], b[j]) }
        case (1, 0): let y = b[0]; for j in 0..<count { out[j] = f(a[j], y) }
        case (0, 1): let x = a[0]; for j in 0..<count { out[j] = f(x, b[j]) }
        default: let v = f(a[0], b[0]); for j in 0..<count { out[j] = v }
        }
    }
}

/// Walks the numpy broadcast of two inputs into `out` (of the broadcast shape) row by row, in parallel, handing each
/// row to `body`. Kernels apply their element function inside `body` (`row.apply { ... }`, after any switch over the
/// op), where the compiler sees it and inlines it into the row loop: a function captured by the parallel closure
/// would instead be called indirectly for every element.
@inline(__always)
func forEachBroadcastRow<A, B, O>(_ a: UnsafePointer<A>, _ aShape: [Int], _ b: UnsafePointer<B>, _ bShape: [Int],
                                  _ out: UnsafeMutablePointer<O>, _ outShape: [Int], plan: BroadcastPlan? = nil,
                                  _ body: (BroadcastRow<A, B, O>) -> Void) {
    let p = plan ?? BroadcastPlan(output: outShape, inputs: [aShape, bShape])
    let inner = p.inner, sa = p.innerStrides[0], sb = p.innerStrides[1]
    // Rows too few to share among the threads are cut into pieces of 8K+ elements: two same-shaped tensors make one
    // row, and a residual Add would otherwise run on one thread.
    let pieces = p.rows >= Threads.count ? 1 : max(1, min(Threads.count, inner / 8192))
    if pieces > 1 {
        parallelFor(p.rows * pieces) { range in
            for job in range {
                let row = job / pieces, lo = inner * (job % pieces) / pieces, hi = inner * (job % pieces + 1) / pieces
                body(BroadcastRow(a: a + p.offset(0, row: row) + lo * sa, aStep: sa,
                                  b: b + p.offset(1, row: row) + lo * sb, bStep: sb, out: out + row * inner + lo,
                                  count: hi - lo))
            }
        }
        return
    }
    parallelFor(p.rows, grain: max(1, 16384 / max(inner, 1))) { range in
        for row in range {
            body(BroadcastRow(a: a + p.offset(0, row: row), aStep: sa, b: b + p.offset(1, row: row), bStep: sb,
                              out: out + row * inner, count: inner))
        }
    }
}

/// Applies `f` elementwise over two broadcast inputs into `out` (of the broadcast shape), in parallel over rows. `f`
/// is called indirectly per element: for costly functions (pow); hot kernels use `forEachBroadcastRow`.
func broadcastBinary<A, B, O>(_ a: UnsafePointer<A>, _ aShape: [Int], _ b: UnsafePointer<B>, _ bShape: [Int],
                              _ out: UnsafeMutablePointer<O>, _ outShape: [Int], _ f: (A, B) -> O) {
    forEachBroadcastRow(a, aShape, b, bShape, out, outShape) { $0.apply(f) }
}

/// Runs `body` on contiguous chunks of 0..<n in parallel (at least `grain` elements each) as (start, count). Unary
/// kernels switch over their op inside `body` and `map` each chunk there, so the element function is inlined.
@inline(__always)
func forEachChunk(_ n: Int, grain: Int = 16384, _ body: (_ start: Int, _ count: Int) -> Void) {
    parallelFor(n, grain: grain) { r in body(r.lowerBound, r.count) }
}

/// dst[i] = f(src[i]) for i < n, serially (within a chunk of `forEachChunk`).
@inline(__always)
func map<S, D>(_ n: Int, _ src: UnsafePointer<S>, _ dst: UnsafeMutablePointer<D>, _ f: (S) -> D) {
    for i in 0..<n { dst[i] = f(src[i]) }
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
