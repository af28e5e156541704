// Softmax and LogSoftmax over groups of n values: y = exp(x - max) / sum, or (x - max) - log(sum). The maximum is
// subtracted first so exp cannot overflow; a NaN anywhere in a group makes the whole group NaN (through max_nan),
// as on the CPU.

// Contiguous rows (the normalised axis is innermost): one work-group per row, so long rows (vocabularies,
// attention rows) are read by the whole group, adjacent work-items on adjacent elements.
__kernel void softmax_rows(__global const real_t* x, __global real_t* y, int n, int log_softmax, __local float* buf) {
    int lid = get_local_id(0), step = get_local_size(0);
    int base = get_group_id(0) * n;
    x += base;
    y += base;
    float m = -INFINITY;
    for (int i = lid; i < n; i += step) m = max_nan(m, LOAD(x, i));
    m = group_reduce(buf, m, REDUCE_MAX);
    float s = 0.0f;
    for (int i = lid; i < n; i += step) s += exp(LOAD(x, i) - m);
    s = group_reduce(buf, s, REDUCE_SUM);
    if (log_softmax) {
        float ls = log(s);
        for (int i = lid; i < n; i += step) STORE(y, i, (LOAD(x, i) - m) - ls);
    } else {
        float r = 1.0f / s;
        for (int i = lid; i < n; i += step) STORE(y, i, exp(LOAD(x, i) - m) * r);
    }
}

// Strided groups (inner > 1, e.g. over the channels of NCHW) and short rows (inner == 1): one work-item per
// (outer, inner) column walking the n values `inner` apart; adjacent work-items read adjacent columns.
__kernel void softmax_cols(__global const real_t* x, __global real_t* y, int columns, int n, int inner, int log_softmax) {
    int c = get_global_id(0);
    if (c >= columns) return;
    int o = c / inner;
    int base = o * n * inner + (c - o * inner);
    float m = -INFINITY;
    for (int i = 0; i < n; i++) m = max_nan(m, LOAD(x, base + i * inner));
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += exp(LOAD(x, base + i * inner) - m);
    if (log_softmax) {
        float ls = log(s);
        for (int i = 0; i < n; i++) STORE(y, base + i * inner, (LOAD(x, base + i * inner) - m) - ls);
    } else {
        float r = 1.0f / s;
        for (int i = 0; i < n; i++) STORE(y, base + i * inner, exp(LOAD(x, base + i * inner) - m) * r);
    }
}
