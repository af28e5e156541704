// BatchNormalization (inference) and LRN on float32.

// BatchNormalization parameters as one multiply-add: a = scale / sqrt(var + eps), b = B - mean * a (the CPU kernel's
// formula). Runs only when the parameters are not constants; constant ones are combined once on the host.
__kernel void batchnorm_affine(__global const real_t* scale, __global const real_t* bias, __global const real_t* mean,
                               __global const real_t* var, __global real_t* a, __global real_t* b, int n, float eps) {
    int i = get_global_id(0);
    if (i >= n) return;
    float ai = LOAD(scale, i) / sqrt(LOAD(var, i) + eps);
    STORE(a, i, ai);
    STORE(b, i, LOAD(bias, i) - LOAD(mean, i) * ai);
}

// y = act(x * a[p] + b[p]), p the parameter (channel, or activation with spatial = 0) of element i: elements come in
// runs of `inner` per parameter, `params` runs per image; `act` the fused activation (ACT_*).
__kernel void batchnorm_f32(__global const real_t* x, __global real_t* y, __global const real_t* a,
                            __global const real_t* b, int total, int inner, int params, int act, float act_a,
                            float act_b) {
    int i = get_global_id(0);
    if (i >= total) return;
    int p = (i / inner) % params;
    STORE(y, i, activate(LOAD(x, i) * LOAD(a, p) + LOAD(b, p), act, act_a, act_b));
}

// y = x * (bias + alpha/size * sum of x^2 over channels c-before ... c+after)^-beta, one work-item per element;
// neighbouring work-items take neighbouring positions of one channel plane, so every channel read is coalesced.
__kernel void lrn_f32(__global const real_t* x, __global real_t* y, int total, int C, int inner, int before, int after,
                      float bias, float scale, float beta) {
    int i = get_global_id(0);
    if (i >= total) return;
    int s = i % inner, r = i / inner;
    int c = r % C, n = r / C;
    __global const real_t* xp = x + n * C * inner + s;
    float sum = 0.0f;
    for (int ch = max(0, c - before); ch <= min(C - 1, c + after); ch++) {
        float v = LOAD(xp, ch * inner);
        sum = mad(v, v, sum);
    }
    STORE(y, i, LOAD(x, i) * pow(bias + scale * sum, -beta));
}

// LayerNormalization, RMSNormalization, GroupNormalization and InstanceNormalization over rows of n elements, one
// work-group per row, in two passes as the CPU computes them: the mean (0 for RMS), then the mean squared deviation
// from it; then y = ((x - mean) * inv_std) * scale[p] + bias[p] with inv_std = 1 / sqrt(var + eps) and parameter
// p = (row % pgroups) * pstride + i / pdiv for element i of the row (LayerNorm: p = i, or row * n + i for parameters
// broadcast to X; GroupNorm: the row's group's channel of i). `stats` (NORM_STAT_* bits, NormStat in
// Launchers/Normalization.swift) says which of mean_out and inv_out to write.
__kernel void norm_rows(__global const real_t* x, __global real_t* y, __global const real_t* scale,
                        __global const real_t* bias, __global real_t* mean_out, __global real_t* inv_out, int n,
                        int pgroups, int pstride, int pdiv, int has_bias, int rms, int stats, float eps,
                        __local float* buf) {
    int lid = get_local_id(0), step = get_local_size(0);
    int row = get_group_id(0);
    x += row * n;
    y += row * n;
    int pbase = (row % pgroups) * pstride;
    scale += pbase;
    bias += pbase;
    float m = 0.0f;
    if (!rms) {
        float s = 0.0f;
        for (int i = lid; i < n; i += step) s += LOAD(x, i);
        m = group_reduce(buf, s, REDUCE_SUM) / (float)n;
    }
    float v = 0.0f;
    for (int i = lid; i < n; i += step) {
        float d = LOAD(x, i) - m;
        v = mad(d, d, v);
    }
    v = group_reduce(buf, v, REDUCE_SUM) / (float)n;
    float inv = 1.0f / sqrt(v + eps);
    if (lid == 0 && (stats & NORM_STAT_MEAN)) STORE(mean_out, row, m);
    if (lid == 0 && (stats & NORM_STAT_INV_STD_DEV)) STORE(inv_out, row, inv);
    for (int i = lid; i < n; i += step) {
        int p = pdiv == 1 ? i : i / pdiv;
        float t = ((LOAD(x, i) - m) * inv) * LOAD(scale, p);
        STORE(y, i, has_bias ? t + LOAD(bias, p) : t);
    }
}
