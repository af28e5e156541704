// Matrix-vector products (m == 1 or n == 1): memory-bound, so an unpacked matrix is not packed (that would cost as
// much as the product itself) but streamed once, and a packed one is streamed panel by panel.

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
          _ y: UnsafeMutablePointer<Float>, threads: Int, kernel: SGEMMKernel) {
    let chunks = max(1, min(threads, rows * k / 32768, rows / 64))
    let grain = (rows + chunks - 1) / chunks
    parallelFor(rows, grain: grain) { r in
        if transposed {
            kernel.rows(Int64(k), Int64(r.count), x + r.lowerBound, Int64(ldx), v, y + r.lowerBound)
        } else {
            kernel.dots(Int64(r.count), Int64(k), x + r.lowerBound * ldx, Int64(ldx), v, y + r.lowerBound)
        }
    }
}

/// y = v · op(B) for a packed B [k x n]: the packed panels streamed once, in parallel over groups of panels.
/// `y` holds whole panels (n rounded up to nr).
func gemvPacked(_ b: PackedMatrix, _ v: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, threads: Int) {
    let kern = b.kernel, nr = kern.nr, kc = kern.kc, k = b.rows
    let panels = b.paddedExtent / nr
    y.initialize(repeating: 0, count: b.paddedExtent)
    let chunks = max(1, min(threads, b.paddedExtent * k / 32768, panels / 4))
    parallelFor(panels, grain: (panels + chunks - 1) / chunks) { r in
        var pc = 0
        while pc < k {
            let kcur = min(kc, k - pc)
            kern.packedRow(Int64(kcur), v + pc, b.block(k: pc, depth: kcur, from: r.lowerBound * nr), Int64(r.count),
                           y + r.lowerBound * nr)
            pc += kcur
        }
    }
}
