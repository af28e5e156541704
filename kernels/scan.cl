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
// work-items read adjacent columns. `exclusive`: each element gets the combination of those before it; `reverse`:
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
