// MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool on float32 NC... tensors.

// Taps lo..<hi of a window starting at `s` (stride and padding applied) that fall inside an axis of size `n`.
inline int2 taps_inside(int s, int k, int d, int n) {
    int lo = s < 0 ? min(k, (-s + d - 1) / d) : 0;
    int hi = s + (k - 1) * d >= n ? (n - 1 - s >= 0 ? min(k, (n - 1 - s) / d + 1) : 0) : k;
    return (int2)(lo, max(lo, hi));
}

// Taps of a window starting at `s` that fall before the end of the padded axis (`n` plus the trailing pad `e`).
inline int taps_padded(int s, int k, int d, int n, int e) {
    return s + (k - 1) * d < n + e ? k : max(0, (n + e - 1 - s) / d + 1);
}

// MaxPool with its Indices output, one work-item per output element: pool_f32's maximum (padding skipped, NaN never
// wins, -inf when no tap wins) and the winner's position over the whole input, as on the CPU: the first tap in
// row-major window order among equal values (the window's first tap when none wins), row-major or, with
// column_major (storage_order 1), column-major over the spatial axes.
__kernel void max_pool_indices(__global const real_t* x, __global real_t* y, __global long* indices, int total,
                               int column_major, int4 in_size, int4 out_size, int4 window, int4 stride, int4 dilation,
                               int4 pad_begin) {
    int i = get_global_id(0);
    if (i >= total) return;
    UNPACK_WINDOW_3D;
    int ox = i % OW, r = i / OW;
    int oy = r % OH; r /= OH;
    int oz = r % OD;
    int plane = r / OD;
    int z0 = oz * sd - pd, y0 = oy * sh - ph, x0 = ox * sw - pw;
    int2 tz = taps_inside(z0, KD, dd, ID), ty = taps_inside(y0, KH, dh, IH), tx = taps_inside(x0, KW, dw, IW);
    int size = ID * IH * IW;
    __global const real_t* xp = x + plane * size;
    float best = -INFINITY;
    int at = -1;
    for (int kz = tz.x; kz < tz.y; kz++) {
        for (int ky = ty.x; ky < ty.y; ky++) {
            int row = ((z0 + kz * dd) * IH + y0 + ky * dh) * IW + x0;
            for (int kx = tx.x; kx < tx.y; kx++) {
                int p = row + kx * dw;
                float v = LOAD(xp, p);
                if (v > best) { best = v; at = p; } else if (at < 0) at = p;
            }
        }
    }
    STORE(y, i, best);
    int pos = max(at, 0);
    if (column_major) {
        int c2 = pos % IW, c1 = (pos / IW) % IH, c0 = pos / (IW * IH);
        pos = c0 + c1 * ID + c2 * ID * IH;
    }
    indices[i] = (long)plane * size + pos;
}

// One work-item per output element over up to 3 spatial axes (fewer are leading axes of size 1), neighbouring
// work-items on neighbouring output columns. Padding never contributes: MaxPool skips it (NaN never wins, as on the
// CPU), AveragePool divides by the taps inside the input or, with count_include_pad, inside the padded input
// (`pad_end`: the trailing pads). `mode`: POOL_* (PoolMode in Launchers/Pool.swift).
__kernel void pool_f32(__global const real_t* x, __global real_t* y, int total, int mode, int4 in_size, int4 out_size,
                       int4 window, int4 stride, int4 dilation, int4 pad_begin, int4 pad_end) {
    int i = get_global_id(0);
    if (i >= total) return;
    UNPACK_WINDOW_3D;
    int ox = i % OW, r = i / OW;
    int oy = r % OH; r /= OH;
    int oz = r % OD;
    int plane = r / OD;
    int z0 = oz * sd - pd, y0 = oy * sh - ph, x0 = ox * sw - pw;
    int2 tz = taps_inside(z0, KD, dd, ID), ty = taps_inside(y0, KH, dh, IH), tx = taps_inside(x0, KW, dw, IW);
    __global const real_t* xp = x + plane * ID * IH * IW;
    float acc = mode == POOL_MAX ? -INFINITY : 0.0f;
    for (int kz = tz.x; kz < tz.y; kz++) {
        __global const real_t* zp = xp + (z0 + kz * dd) * IH * IW;
        for (int ky = ty.x; ky < ty.y; ky++) {
            __global const real_t* row = zp + (y0 + ky * dh) * IW + x0;
            if (mode == POOL_MAX) {
                for (int kx = tx.x; kx < tx.y; kx++) { float v = LOAD(row, kx * dw); acc = v > acc ? v : acc; }
            } else {
                for (int kx = tx.x; kx < tx.y; kx++) acc += LOAD(row, kx * dw);
            }
        }
    }
    if (mode == POOL_AVERAGE) acc /= (float)((tz.y - tz.x) * (ty.y - ty.x) * (tx.y - tx.x));
    else if (mode == POOL_AVERAGE_INCLUDE_PAD)
        acc /= (float)(taps_padded(z0, KD, dd, ID, pad_end.x) * taps_padded(y0, KH, dh, IH, pad_end.y)
                       * taps_padded(x0, KW, dw, IW, pad_end.z));
    STORE(y, i, acc);
}

// One work-group per (n, c) plane: each work-item folds a strided slice (neighbouring work-items read neighbouring
// elements), then the group reduces in local memory. The group size is a power of two.
__kernel void global_pool_f32(__global const real_t* x, __global real_t* y, int size, int is_max,
                              __local float* partial) {
    int plane = get_group_id(0), t = get_local_id(0), L = get_local_size(0);
    __global const real_t* xp = x + plane * size;
    float acc = is_max ? -INFINITY : 0.0f;
    if (is_max) { for (int i = t; i < size; i += L) acc = max_nan(acc, LOAD(xp, i)); }
    else { for (int i = t; i < size; i += L) acc += LOAD(xp, i); }
    partial[t] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = L / 2; s > 0; s >>= 1) {
        if (t < s) partial[t] = is_max ? max_nan(partial[t], partial[t + s]) : partial[t] + partial[t + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0) STORE(y, plane, is_max ? partial[0] : partial[0] / (float)size);
}
