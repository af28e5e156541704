// Matrix-vector products (m == 1 or n == 1 with unpacked operands): memory-bound, so they skip packing, which would
// cost as much as the product itself, and stream the matrix once.

/// y[i] = Σ_p x[i * ldx + p] · v[p] for i in `range` (rows of a row-major matrix against a vector).
@inline(__always)
func dotRows(_ x: UnsafePointer<Float>, _ ldx: Int, _ v: UnsafePointer<Float>, _ k: Int,
             _ y: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
    for i in range {
        let r = x + i * ldx
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
        var p = 0
        while p + 16 <= k {
            s0 += load8(r + p) * load8(v + p)
            s1 += load8(r + p + 8) * load8(v + p + 8)
            p += 16
        }
        var s = (s0 + s1).sum()
        while p < k { s += r[p] * v[p]; p += 1 }
        y[i] = s
    }
}

/// y[j] = Σ_p v[p] · x[p * ldx + j] for j in `range` (a vector against the rows of a row-major matrix).
@inline(__always)
func axpyRows(_ x: UnsafePointer<Float>, _ ldx: Int, _ v: UnsafePointer<Float>, _ k: Int,
              _ y: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
    // Column chunks small enough that y stays in L1 while the rows of x stream past.
    var j0 = range.lowerBound
    while j0 < range.upperBound {
        let w = min(1024, range.upperBound - j0)
        let yp = y + j0
        for j in 0..<w { yp[j] = 0 }
        var p = 0
        while p + 4 <= k {
            let x0 = x + p * ldx + j0, x1 = x0 + ldx, x2 = x1 + ldx, x3 = x2 + ldx
            let v0 = v[p], v1 = v[p + 1], v2 = v[p + 2], v3 = v[p + 3]
            for j in 0..<w { yp[j] += v0 * x0[j] + v1 * x1[j] + v2 * x2[j] + v3 * x3[j] }
            p += 4
        }
        while p < k {
            let xr = x + p * ldx + j0, vp = v[p]
            for j in 0..<w { yp[j] += vp * xr[j] }
            p += 1
        }
        j0 += w
    }
}

@inline(__always)
private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// C (count values with stride `inc`) = alpha · y + beta · C, then the epilogue (C is one row or one column).
func finishVector(_ y: UnsafePointer<Float>, count: Int, alpha: Float, beta: Float, _ c: UnsafeMutablePointer<Float>,
                  inc: Int, epilogue: Epilogue, isColumn: Bool) {
    for i in 0..<count {
        let old = beta == 0 ? 0 : beta * c[i * inc]
        c[i * inc] = alpha * y[i] + old
    }
    if epilogue.isEmpty { return }
    if isColumn {
        for i in 0..<count { epilogue.apply(c + i * inc, inc, row: i, col: 0, rows: 1, cols: 1) }
    } else {
        epilogue.apply(c, inc, row: 0, col: 0, rows: 1, cols: count)
    }
}

/// The product when one side is a single row or column: y = op(X) · v with op(X) [rows x k] stored row-major with
/// stride ldx (transposed when `transposed`), v contiguous. Runs in parallel over y.
func gemv(rows: Int, k: Int, _ x: UnsafePointer<Float>, ldx: Int, transposed: Bool, _ v: UnsafePointer<Float>,
          _ y: UnsafeMutablePointer<Float>, threads: Int) {
    let chunks = max(1, min(threads, rows * k / 32768, rows / 64))
    let grain = (rows + chunks - 1) / chunks
    parallelFor(rows, grain: grain) { range in
        if transposed { axpyRows(x, ldx, v, k, y, range) } else { dotRows(x, ldx, v, k, y, range) }
    }
}
