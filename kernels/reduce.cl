// The float32 reductions but LogSumExp, as stages over a tensor seen as [outer, n, inner] (the host merges adjacent
// reduced and kept dims and runs one stage per reduced run, innermost first, as the CPU kernel does). A stage may cut
// each group of n into `chunks` pieces of `chunk` values that are reduced in parallel and combined by a later stage,
// so that a few long groups (a global sum) still fill the device. Each stage combines with `op` (REDUCE_*, common.cl)
// starting from its identity; the first stage maps each value first (`pre`, REDUCE_MAP_*: |x| for L1, x^2 for L2 and
// SumSquare), the last divides by `divisor` (the count, for a mean) and finishes (`post`, REDUCE_FINISH_*: sqrt for
// L2, log for LogSum).

// A stage reads the tensor or an earlier stage's pieces, and writes the result or pieces for a later stage; pieces
// stay in float (-DSRC_PIECES, -DDST_PIECES) so that half storage never rounds a partial result.
#ifdef SRC_PIECES
#define SRC_T float
#define LOAD_SRC(p, i) ((p)[i])
#else
#define SRC_T real_t
#define LOAD_SRC(p, i) LOAD(p, i)
#endif
#ifdef DST_PIECES
#define DST_T float
#define STORE_DST(p, i, v) ((p)[i] = (v))
#else
#define DST_T real_t
#define STORE_DST(p, i, v) STORE(p, i, v)
#endif

inline float identity(int op) {
    switch (op) {
    case REDUCE_MAX: return -INFINITY;
    case REDUCE_MIN: return INFINITY;
    case REDUCE_PROD: return 1.0f;
    case REDUCE_SUM:
    default: return 0.0f;
    }
}

inline float pre_map(float v, int pre) {
    switch (pre) {
    case REDUCE_MAP_ABS: return fabs(v);
    case REDUCE_MAP_SQUARE: return v * v;
    case REDUCE_MAP_NONE:
    default: return v;
    }
}

inline float finish(float v, float divisor, int post) {
    v = v / divisor;
    switch (post) {
    case REDUCE_FINISH_SQRT: return sqrt(v);
    case REDUCE_FINISH_LOG: return log(v);
    case REDUCE_FINISH_NONE:
    default: return v;
    }
}

// Rows (inner == 1, n not short): one work-group per (row, piece); y[row * chunks + piece].
__kernel void reduce_rows(__global const SRC_T* x, __global DST_T* y, int n, int chunk, int chunks, int op, int pre,
                          int post, float divisor, __local float* buf) {
    int g = get_group_id(0);
    int row = g / chunks, piece = g - row * chunks;
    int begin = row * n + piece * chunk;
    int end = row * n + min(n, (piece + 1) * chunk);
    float acc = identity(op);
    for (int i = begin + get_local_id(0); i < end; i += get_local_size(0)) acc = combine(acc, pre_map(LOAD_SRC(x, i), pre), op);
    acc = group_reduce(buf, acc, op);
    if (get_local_id(0) == 0) STORE_DST(y, g, finish(acc, divisor, post));
}

// Columns (inner > 1, or short rows as inner == 1): one work-item per (outer, piece, column); adjacent work-items
// read adjacent columns.
// y[(o * chunks + piece) * inner + j].
__kernel void reduce_cols(__global const SRC_T* x, __global DST_T* y, int total, int n, int inner, int chunk,
                          int chunks, int op, int pre, int post, float divisor) {
    int t = get_global_id(0);
    if (t >= total) return;
    int g = t / inner, j = t - g * inner;
    int o = g / chunks, piece = g - o * chunks;
    int end = min(n, (piece + 1) * chunk);
    __global const SRC_T* p = x + o * n * inner + j;
    float acc = identity(op);
    for (int i = piece * chunk; i < end; i++) acc = combine(acc, pre_map(LOAD_SRC(p, i * inner), pre), op);
    STORE_DST(y, t, finish(acc, divisor, post));
}

// Reducing an empty set: every output is the reduction's identity (0, -inf, +inf, 1), NaN (mean) or -inf (LogSum).
__kernel void fill_f32(__global real_t* y, int n, float value) {
    int i = get_global_id(0);
    if (i < n) STORE(y, i, value);
}
