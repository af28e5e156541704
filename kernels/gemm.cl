// C = act(alpha * op(A) * op(B) + beta * bias) for a batch of matrices, any sizes, any transposes.
// A, B, C are addressed through offsets, leading dimensions and per-batch strides (0 = shared by the batch), so the
// same kernel serves Gemm, batched MatMul with broadcasting, 1x1 convolution and the recurrent projections.
// bias[i * bias_rs + j * bias_cs] broadcasts any bias (scalar, per row, per column, full).

#ifndef TILE
#define TILE 16
#endif

__kernel __attribute__((reqd_work_group_size(TILE, TILE, 1)))
void gemm_f32(__global const float* A, int offA, int lda, int sA, int transA,
              __global const float* B, int offB, int ldb, int sB, int transB,
              __global float* C, int offC, int ldc, int sC,
              __global const float* bias, int offBias, int bias_rs, int bias_cs, int sBias, int has_bias,
              int M, int N, int K, float alpha, float beta, int act, float act_a, float act_b) {
    __local float As[TILE][TILE + 1];
    __local float Bs[TILE][TILE + 1];
    int tx = get_local_id(0), ty = get_local_id(1);
    int j = get_group_id(0) * TILE + tx;   // column of C
    int i = get_group_id(1) * TILE + ty;   // row of C
    int b = get_global_id(2);
    A += offA + b * sA;
    B += offB + b * sB;
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += TILE) {
        int ai = get_group_id(1) * TILE + ty, ak = k0 + tx;
        As[ty][tx] = (ai < M && ak < K) ? (transA ? A[ak * lda + ai] : A[ai * lda + ak]) : 0.0f;
        int bk = k0 + ty, bj = get_group_id(0) * TILE + tx;
        Bs[ty][tx] = (bk < K && bj < N) ? (transB ? B[bj * ldb + bk] : B[bk * ldb + bj]) : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < TILE; k++) acc += As[ty][k] * Bs[k][tx];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (i < M && j < N) {
        float v = alpha * acc;
        if (has_bias) v += beta * bias[offBias + b * sBias + i * bias_rs + j * bias_cs];
        C[offC + b * sC + i * ldc + j] = activate(v, act, act_a, act_b);
    }
}
