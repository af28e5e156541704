// CumSum and CumProd along one axis of a tensor seen as [outer, n, inner]. float32 tensors build without a define
// (real_t storage, accumulated in float); integers with -DS=uint or -DS=ulong, the unsigned type of the element's
// width, whose wrapping sums and products have the same bits as the signed ones (signed overflow is undefined in C).

#ifdef S
typedef S elem_t;
typedef S acc_t;
#define GET(p, i) ((p)[i])
#define PUT(p, i, v) ((p)[i] = (v))
#else
typedef real_t elem_t;
typedef float acc_t;
#define GET(p, i) LOAD(p, i)
#define PUT(p, i, v) STORE(p, i, v)
#endif

// One work-item per (outer, column), scanning its column in the CPU's order (so float sums round alike); adjacent
// work-items read adjacent columns (rows too, when short or many). `exclusive`: each element gets the combination of those before it; `reverse`:
// the scan starts at the end.
__kernel void cumulative(__global const elem_t* x, __global elem_t* y, int total, int n, int inner, int prod,
                         int exclusive, int reverse) {
    int t = get_global_id(0);
    if (t >= total) return;
    int o = t / inner, j = t - o * inner;
    int base = o * n * inner + j;
    acc_t acc = prod ? (acc_t)1 : (acc_t)0;
    for (int s = 0; s < n; s++) {
        int i = base + (reverse ? n - 1 - s : s) * inner;
        acc_t v = GET(x, i);
        if (exclusive) PUT(y, i, acc);
        acc = prod ? acc * v : acc + v;
        if (!exclusive) PUT(y, i, acc);
    }
}

inline acc_t scan_combine(acc_t a, acc_t b, int prod) { return prod ? a * b : a + b; }

// Long contiguous rows (inner == 1): one work-group per row scans it in tiles of the group's size, each tile by a
// Hillis-Steele scan in local memory carried over from the tiles before. Float results may differ from the
// sequential scan in the last bits (another order of additions); integers are exact.
__kernel void cumulative_rows(__global const elem_t* x, __global elem_t* y, int n, int prod, int exclusive, int reverse,
                              __local acc_t* buf) {
    int row = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
    int base = row * n;
    acc_t unit = prod ? (acc_t)1 : (acc_t)0;
    acc_t carry = unit;
    for (int t0 = 0; t0 < n; t0 += size) {
        int s = t0 + lid;
        int i = base + (reverse ? n - 1 - s : s);
        buf[lid] = s < n ? GET(x, i) : unit;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int off = 1; off < size; off <<= 1) {
            acc_t other = lid >= off ? buf[lid - off] : unit;
            barrier(CLK_LOCAL_MEM_FENCE);
            buf[lid] = scan_combine(buf[lid], other, prod);
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        acc_t before = lid > 0 ? buf[lid - 1] : unit;
        if (s < n) PUT(y, i, scan_combine(carry, exclusive ? before : buf[lid], prod));
        acc_t total = buf[size - 1];
        barrier(CLK_LOCAL_MEM_FENCE);
        carry = scan_combine(carry, total, prod);
    }
}
