// ArgMax and ArgMin along one axis of a tensor seen as [outer, n, inner]. Built per element type: float32 tensors
// without a define (real_t storage, compared in float), integer types with -DS=<OpenCL type> (char ... ulong).

#ifdef S
typedef S src_t;
typedef S val_t;
#define GET(p, i) ((p)[i])
#define IS_NAN(v) false
#else
typedef real_t src_t;
typedef float val_t;
#define GET(p, i) LOAD(p, i)
#define IS_NAN(v) isnan(v)
#endif

// Whether value v at index i ranks before value b at index j, as the CPU's sequential scan decides: NaN beats every
// number (for ArgMin too), a larger (smaller, is_min) number beats a smaller one, and among equal values (NaNs
// included; -0 equals +0) the lower index wins, or the higher one with select_last_index (`last`). A total order,
// so the work-group reduction below finds what the scan finds.
inline bool arg_better(val_t v, int i, val_t b, int j, int is_min, int last) {
    bool vn = IS_NAN(v), bn = IS_NAN(b);
    if (vn != bn) return vn;
    if (!vn && v != b) return is_min ? v < b : v > b;
    return last ? i > j : i < j;
}

// One work-item per (outer, column); adjacent work-items read adjacent columns. y[o * inner + j].
__kernel void arg_cols(__global const src_t* x, __global long* y, int total, int n, int inner, int is_min, int last) {
    int t = get_global_id(0);
    if (t >= total) return;
    int o = t / inner, j = t - o * inner;
    __global const src_t* p = x + o * n * inner + j;
    val_t best = GET(p, 0);
    int at = 0;
    for (int i = 1; i < n; i++) {
        val_t v = GET(p, i * inner);
        if (arg_better(v, i, best, at, is_min, last)) { best = v; at = i; }
    }
    y[t] = at;
}

// Contiguous rows (inner == 1, n at least the work-group size): one work-group per row, each work-item scanning a
// strided share, then a tree reduction of (value, index) pairs in local memory (a power-of-two group).
__kernel void arg_rows(__global const src_t* x, __global long* y, int n, int is_min, int last, __local val_t* vals,
                       __local int* at) {
    int row = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
    __global const src_t* p = x + row * n;
    val_t best = 0;
    int bi = -1;
    for (int i = lid; i < n; i += size) {
        val_t v = GET(p, i);
        if (bi < 0 || arg_better(v, i, best, bi, is_min, last)) { best = v; bi = i; }
    }
    vals[lid] = best;
    at[lid] = bi;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = size >> 1; s > 0; s >>= 1) {
        if (lid < s) {
            int j = at[lid + s];
            if (j >= 0 && (at[lid] < 0 || arg_better(vals[lid + s], j, vals[lid], at[lid], is_min, last))) {
                vals[lid] = vals[lid + s];
                at[lid] = j;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) y[row] = at[0];
}

// TopK over rows of n values along an axis with stride `inner`: row r = o * inner + c starts at o * n * inner + c;
// result t of the row goes to (o * k + t) * inner + c. The order is the CPU's: NaN above +inf (NaNs equal), -0
// equal to +0, equal values by lower index; `largest` 0 selects from the bottom of that order (NaN last).

#ifdef S
#define PUT_VALUE(p, i, v) ((p)[i] = (v))
#else
#define PUT_VALUE(p, i, v) STORE(p, i, v)
#endif

inline bool total_less(val_t a, val_t b) { return a < b || (IS_NAN(b) && !IS_NAN(a)); }

// Whether (v, i) ranks before (w, j); index -1 marks padding, which ranks after everything.
inline bool topk_better(val_t v, int i, val_t w, int j, int largest) {
    if (i < 0) return false;
    if (j < 0) return true;
    if (v == w || (IS_NAN(v) && IS_NAN(w))) return i < j;
    return largest ? total_less(w, v) : total_less(v, w);
}

// Rows that fit in local memory: one work-group per row sorts the row's (value, index) pairs, padded to `n2` (a
// power of two) with padding, by a bitonic network, then writes the first k.
__kernel void topk_sort(__global const src_t* x, __global src_t* values, __global long* indices, int n, int inner,
                        int k, int n2, int largest, __local val_t* vals, __local int* idx) {
    int row = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
    int o = row / inner, c = row - o * inner;
    __global const src_t* p = x + o * n * inner + c;
    for (int i = lid; i < n2; i += size) {
        vals[i] = i < n ? GET(p, i * inner) : (val_t)0;
        idx[i] = i < n ? i : -1;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 2; kk <= n2; kk <<= 1) {
        for (int jj = kk >> 1; jj > 0; jj >>= 1) {
            for (int t = lid; t < n2 / 2; t += size) {
                int i = (t / jj) * 2 * jj + (t % jj), l = i + jj;
                // Blocks with bit kk clear end best first, the others worst first, so that the next merge sees
                // bitonic sequences.
                bool forward = (i & kk) == 0;
                bool swap = forward ? topk_better(vals[l], idx[l], vals[i], idx[i], largest)
                                    : topk_better(vals[i], idx[i], vals[l], idx[l], largest);
                if (swap) {
                    val_t v = vals[i]; vals[i] = vals[l]; vals[l] = v;
                    int j = idx[i]; idx[i] = idx[l]; idx[l] = j;
                }
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
    }
    for (int t = lid; t < k; t += size) {
        int at = (o * k + t) * inner + c;
        PUT_VALUE(values, at, vals[t]);
        indices[at] = idx[t];
    }
}

// Longer rows: one work-group per row finds the k results one after another, each the best element ranking after
// the previous one (a work-group reduction per result, reading the row from global memory each time).
__kernel void topk_rounds(__global const src_t* x, __global src_t* values, __global long* indices, int n, int inner,
                          int k, int largest, __local val_t* vals, __local int* idx) {
    int row = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
    int o = row / inner, c = row - o * inner;
    __global const src_t* p = x + o * n * inner + c;
    val_t prev = 0;
    int prevAt = -1;
    for (int t = 0; t < k; t++) {
        val_t best = 0;
        int bi = -1;
        for (int i = lid; i < n; i += size) {
            val_t v = GET(p, i * inner);
            if ((prevAt < 0 || topk_better(prev, prevAt, v, i, largest)) && topk_better(v, i, best, bi, largest)) {
                best = v;
                bi = i;
            }
        }
        vals[lid] = best;
        idx[lid] = bi;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int s = size >> 1; s > 0; s >>= 1) {
            if (lid < s && topk_better(vals[lid + s], idx[lid + s], vals[lid], idx[lid], largest)) {
                vals[lid] = vals[lid + s];
                idx[lid] = idx[lid + s];
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        prev = vals[0];
        prevAt = idx[0];
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid == 0) {
            int at = (o * k + t) * inner + c;
            PUT_VALUE(values, at, prev);
            indices[at] = prevAt;
        }
    }
}
