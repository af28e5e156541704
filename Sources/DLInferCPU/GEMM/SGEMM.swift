// STUB (correct but slow): owned by the GEMM implementer, who replaces the body with the packed, blocked,
// vectorised, multithreaded routine and may add pre-packed-operand variants. Keep this signature working.

/// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major, with op(X) = Xᵀ when trans is set.
/// `lda`, `ldb`, `ldc` are the row strides (in elements) of A, B and C as stored.
/// With beta == 0, C is written without being read (it may hold garbage or NaN).
public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                  a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    parallelFor(m, grain: 4) { rows in
        for i in rows {
            for j in 0..<n {
                var s: Float = 0
                for p in 0..<k {
                    let x = transA ? a[p * lda + i] : a[i * lda + p]
                    let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += x * y
                }
                c[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j])
            }
        }
    }
}
