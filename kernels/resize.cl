// Resize / Upsample on float32 tensors (real_t; the weight tables stay float). The host turns the geometry (mode, coordinate transform, rounding, antialiasing,
// crop box) into per-axis sampling tables once per input shape, with the same code the CPU kernel uses, so the
// kernels only gather and blend. A table index of -1 marks an output position outside the input
// (tf_crop_and_resize), which gets `value`.

#ifndef RANK
#define RANK 8
#endif

// Nearest: y[i] = x[Σ_a table[base_a + o_a]] where o_a is the output coordinate on axis a and the table holds the
// source's element offset along that axis.
__kernel void resize_nearest(__global const real_t* x, __global const int* table, __global real_t* y, int n,
                             int8 out_dims, int8 table_base, float value) {
    int i = get_global_id(0);
    if (i >= n) return;
    int dims[8], base[8];
    vstore8(out_dims, 0, dims);
    vstore8(table_base, 0, base);
    int off = 0, rem = i;
    for (int k = 7; k >= 8 - RANK; k--) {
        int o = rem;
        if (k > 8 - RANK) {
            rem = o / dims[k];
            o -= rem * dims[k];
        }
        int t = table[base[k] + o];
        if (t < 0) {
            STORE(y, i, value);
            return;
        }
        off += t;
    }
    STORE(y, i, LOAD(x, off));
}

// One separable linear/cubic pass along one axis of x seen as [outer, n, inner] into y [outer, m, inner]:
// y[o, j, e] = Σ_k w[j * taps + k] * x[o, idx[j * taps + k], e]. Adjacent work-items blend adjacent elements.
__kernel void resize_axis(__global const real_t* x, __global const int* idx, __global const float* w,
                          __global real_t* y, int total, int n, int m, int inner, int taps, float value) {
    int i = get_global_id(0);
    if (i >= total) return;
    int r = i / inner, e = i - r * inner;
    int o = r / m, j = r - o * m;
    __global const int* ip = idx + j * taps;
    if (ip[0] < 0) {
        STORE(y, i, value);
        return;
    }
    __global const float* wp = w + j * taps;
    __global const real_t* xp = x + o * n * inner + e;
    float acc = 0.0f;
    for (int k = 0; k < taps; k++) acc += wp[k] * LOAD(xp, ip[k] * inner);
    STORE(y, i, acc);
}

// Two resized axes in one pass (bilinear or bicubic over H and W), with x seen as [outer, n1, mid, n2, inner] and
// y as [outer, m1, mid, m2, inner]: y = Σ_a w1[j1, a] Σ_b w2[j2, b] x[o, idx1[j1, a], mid, idx2[j2, b], e]. Saves
// the intermediate tensor of two separable passes; the host uses it only while taps1 * taps2 reads stay few.
__kernel void resize_2d(__global const real_t* x, __global const int* idx1, __global const float* w1,
                        __global const int* idx2, __global const float* w2, __global real_t* y, int total, int n1,
                        int m1, int mid, int n2, int m2, int inner, int taps1, int taps2, float value) {
    int i = get_global_id(0);
    if (i >= total) return;
    int r = i / inner, e = i - r * inner;
    int q = r / m2, j2 = r - q * m2;
    r = q / mid;
    int mi = q - r * mid;
    int o = r / m1, j1 = r - o * m1;
    __global const int* ip1 = idx1 + j1 * taps1;
    __global const int* ip2 = idx2 + j2 * taps2;
    if (ip1[0] < 0 || ip2[0] < 0) {
        STORE(y, i, value);
        return;
    }
    __global const float* wp1 = w1 + j1 * taps1;
    __global const float* wp2 = w2 + j2 * taps2;
    float acc = 0.0f;
    for (int a = 0; a < taps1; a++) {
        __global const real_t* row = x + ((o * n1 + ip1[a]) * mid + mi) * n2 * inner + e;
        float s = 0.0f;
        for (int b = 0; b < taps2; b++) s += wp2[b] * LOAD(row, ip2[b] * inner);
        acc += wp1[a] * s;
    }
    STORE(y, i, acc);
}
