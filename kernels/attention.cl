// FusedAttention (the exporters' attention fused at load): one work-group per (head, query row). It computes the
// row's scores s_j = alpha * q . k_j (+ mask), the Softmax op's softmax (a NaN anywhere makes the row NaN, a row of
// -inf gives NaN), with zero_nan a NaN probability becomes 0, then y = sum_j p_j v_j. The row's scores live in
// `scores` (one row of `total` per work-group of this launch), never as a whole [heads, rows, total] tensor.
// `offsets` holds, per head, the element offsets of Q, Kᵀ, the mask, V and Y (five runs of `heads` ints).
__kernel void fused_attention(__global const real_t* q, __global const real_t* k, __global const real_t* v,
                              __global const real_t* mask, __global real_t* y, __global const int* offsets,
                              __global float* scores, int heads, int rows, int total, int d, int dv, int ldq,
                              int key_stride, int key_dim_stride, int ldv, int mask_row_stride, int mask_col_stride,
                              int has_mask, int ldy, float alpha, int zero_nan, int first, __local float* buf) {
    int lid = get_local_id(0), step = get_local_size(0);
    int pair = first + get_group_id(0);
    int head = pair / rows, row = pair - head * rows;
    __global const real_t* qr = q + offsets[head] + row * ldq;
    __global const real_t* kh = k + offsets[heads + head];
    __global const real_t* mr = mask + offsets[2 * heads + head] + row * mask_row_stride;
    __global const real_t* vh = v + offsets[3 * heads + head];
    __global real_t* yr = y + offsets[4 * heads + head] + row * ldy;
    __global float* s = scores + get_group_id(0) * total;

    float m = -INFINITY;
    for (int j = lid; j < total; j += step) {
        __global const real_t* kj = kh + j * key_stride;
        float acc = 0.0f;
        for (int t = 0; t < d; t++) acc = mad(LOAD(qr, t), LOAD(kj, t * key_dim_stride), acc);
        float sc = alpha * acc;
        if (has_mask) sc += LOAD(mr, j * mask_col_stride);
        s[j] = sc;
        m = max_nan(m, sc);
    }
    m = group_reduce(buf, m, REDUCE_MAX);
    float sum = 0.0f;
    for (int j = lid; j < total; j += step) {
        float e = exp(s[j] - m);
        s[j] = e;
        sum += e;
    }
    float r = 1.0f / group_reduce(buf, sum, REDUCE_SUM);
    for (int j = lid; j < total; j += step) {
        float p = s[j] * r;
        s[j] = zero_nan && isnan(p) ? 0.0f : p;
    }
    // Every work-item reads every probability below.
    barrier(CLK_GLOBAL_MEM_FENCE);
    for (int e = lid; e < dv; e += step) {
        float acc = 0.0f;
        for (int j = 0; j < total; j++) acc = mad(s[j], LOAD(vh, j * ldv + e), acc);
        STORE(yr, e, acc);
    }
}
