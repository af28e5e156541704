// ReduceSum / ReduceMean / ReduceMax on float32, as stages over a tensor seen as [outer, n, inner] (the host merges
// adjacent reduced and kept dims and runs one stage per reduced run, innermost first, as the CPU kernel does).
// A stage may cut each group of n into `chunks` pieces of `chunk` values that are reduced in parallel and combined
// by a later stage, so that a few long groups (a global sum) still fill the device. `divisor` is 1 except in the
// last stage of a mean.

#define REDUCE_SUM 0
#define REDUCE_MAX 1

// Rows (inner == 1, n not short): one work-group per (row, piece); y[row * chunks + piece].
__kernel void reduce_rows(__global const float* x, __global float* y, int n, int chunk, int chunks, int op,
                          float divisor, __local float* buf) {
    int g = get_group_id(0);
    int row = g / chunks, piece = g - row * chunks;
    int begin = row * n + piece * chunk;
    int end = row * n + min(n, (piece + 1) * chunk);
    float acc = op == REDUCE_MAX ? -INFINITY : 0.0f;
    for (int i = begin + get_local_id(0); i < end; i += get_local_size(0)) {
        acc = op == REDUCE_MAX ? max_nan(acc, x[i]) : acc + x[i];
    }
    acc = group_reduce(buf, acc, op == REDUCE_MAX);
    if (get_local_id(0) == 0) y[g] = acc / divisor;
}

// Columns (inner > 1, or short rows as inner == 1): one work-item per (outer, piece, column); adjacent work-items
// read adjacent columns.
// y[(o * chunks + piece) * inner + j].
__kernel void reduce_cols(__global const float* x, __global float* y, int total, int n, int inner, int chunk,
                          int chunks, int op, float divisor) {
    int t = get_global_id(0);
    if (t >= total) return;
    int g = t / inner, j = t - g * inner;
    int o = g / chunks, piece = g - o * chunks;
    int end = min(n, (piece + 1) * chunk);
    __global const float* p = x + o * n * inner + j;
    float acc = op == REDUCE_MAX ? -INFINITY : 0.0f;
    for (int i = piece * chunk; i < end; i++) {
        float v = p[i * inner];
        acc = op == REDUCE_MAX ? max_nan(acc, v) : acc + v;
    }
    y[t] = acc / divisor;
}

// Reducing an empty set: every output is the reduction's identity (0, -inf) or NaN (mean).
__kernel void fill_f32(__global float* y, int n, float value) {
    int i = get_global_id(0);
    if (i < n) y[i] = value;
}
