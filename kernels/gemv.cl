// C = act(alpha * op(A) * op(B) + beta * bias) for a batch of matrices when M is tiny (batch-1 Gemm, recurrent
// products; the launcher swaps the operands when N is the tiny one): a tiled GEMM would leave most of its tile idle.
// One pass over B: each work-group owns a few columns of C and ROWS rows, LANES x SPLIT work-items split the K sum,
// with LANES along B's contiguous dimension so that reads of B coalesce:
//   B stored N x K (transB = 1): LANES slices of K per column, SPLIT columns per work-group;
//   B stored K x N (transB = 0): LANES columns per work-group, SPLIT slices of K per column.
// The partial sums meet in local memory. C is addressed with a row and a column stride so that the swapped
// product can write C transposed. A's rows are read by every column: they stay in cache.

#define WGS (LANES * SPLIT)

__kernel __attribute__((reqd_work_group_size(LANES, SPLIT, 1)))
void gemv_f32(__global const real_t* A, int offA, int lda, int sA, int transA,
              __global const real_t* B, int offB, int ldb, int sB, int transB,
              __global real_t* C, int offC, int c_rs, int c_cs, int sC,
              __global const real_t* bias, int offBias, int bias_rs, int bias_cs, int sBias, int has_bias,
              int M, int N, int K, float alpha, float beta, int act, float act_a, float act_b) {
    // Partial sums by (row, column, slice); a column's slices are padded apart to spread them over banks.
    __local float part[ROWS * (WGS + LANES)];
    const int l0 = get_local_id(0), l1 = get_local_id(1);
    const int cols = transB ? SPLIT : LANES, slices = transB ? LANES : SPLIT;
    const int col = transB ? l1 : l0, slice = transB ? l0 : l1;
    const int i0 = get_group_id(1) * ROWS, j0 = get_group_id(0) * cols, b = get_group_id(2);
    const int j = j0 + col;
    A += offA + b * sA;
    B += offB + b * sB;

    float acc[ROWS];
    #pragma unroll
    for (int r = 0; r < ROWS; r++) acc[r] = 0.0f;
    if (j < N) {
        // Rows past M read row M-1 again (never stored), which keeps the loop free of row checks.
        int rowA[ROWS];
        #pragma unroll
        for (int r = 0; r < ROWS; r++) rowA[r] = transA ? min(i0 + r, M - 1) : min(i0 + r, M - 1) * lda;
        const int stepA = transA ? lda : 1, stepB = transB ? 1 : ldb;
        const int colB = transB ? j * ldb : j;
        // Unrolled so that each work-item has several loads of B in flight.
        #pragma unroll 4
        for (int k = slice; k < K; k += slices) {
            const float bv = LOAD(B, colB + k * stepB);
            #pragma unroll
            for (int r = 0; r < ROWS; r++) acc[r] = mad(LOAD(A, rowA[r] + k * stepA), bv, acc[r]);
        }
    }
    #pragma unroll
    for (int r = 0; r < ROWS; r++) part[r * (WGS + LANES) + col * (slices + 1) + slice] = acc[r];
    barrier(CLK_LOCAL_MEM_FENCE);

    // One work-item per (row, column) of the work-group sums that column's slices.
    const int t = l1 * LANES + l0;
    if (t >= ROWS * cols) return;
    const int r = t / cols, c = t - r * cols, i = i0 + r, jj = j0 + c;
    if (i >= M || jj >= N) return;
    float s = 0.0f;
    for (int l = 0; l < slices; l++) s += part[r * (WGS + LANES) + c * (slices + 1) + l];
    float v = alpha * s;
    if (has_bias) v += beta * LOAD(bias, offBias + b * sBias + i * bias_rs + jj * bias_cs);
    STORE(C, offC + b * sC + i * c_rs + jj * c_cs, activate(v, act, act_a, act_b));
}
