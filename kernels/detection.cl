// NonZero and NonMaxSuppression: the ops whose output size depends on the data. Each counts first, on the device,
// and the host reads back only the total it must size the output with (one int), then the positions are written.
// And RoiAlign. All float arithmetic is the CPU's, in its order and rounding (no contracted multiply-adds).
#pragma OPENCL FP_CONTRACT OFF

// An exclusive prefix sum of n counts by one work-item, and their total: few enough counts (a few thousand chunks,
// or one per batch and class) that a single pass costs less than a parallel scan's launches.
__kernel void exclusive_scan(__global const int* counts, __global int* starts, __global int* total, int n) {
    if (get_global_id(0) != 0) return;
    int run = 0;
    for (int i = 0; i < n; i++) { starts[i] = run; run += counts[i]; }
    total[0] = run;
}

#ifdef T
// NonZero over n elements seen as the unsigned type T of their size, an element non-zero when (bits & MASK) != 0
// (MASK drops a float's sign bit, so -0 counts as zero; NaN counts). Work-item c takes the contiguous chunk
// [c * chunk, (c + 1) * chunk), so the chunks in order give the positions in row-major order.
__kernel void nonzero_count(__global const T* x, __global int* counts, int n, int chunk) {
    int c = get_global_id(0), lo = c * chunk;
    if (lo >= n) return;
    int hi = min(n, lo + chunk), m = 0;
    for (int i = lo; i < hi; i++) m += (x[i] & MASK) != 0;
    counts[c] = m;
}

// The coordinates of chunk c's non-zero elements from column starts[c] of y [rank, total]; `dims` right-aligned.
__kernel void nonzero_write(__global const T* x, __global const int* starts, __global long* y, int n, int chunk,
                            int total, int rank, int8 dims) {
    int c = get_global_id(0), lo = c * chunk;
    if (lo >= n) return;
    int hi = min(n, lo + chunk), k = starts[c];
    int dv[8] = {dims.s0, dims.s1, dims.s2, dims.s3, dims.s4, dims.s5, dims.s6, dims.s7};
    for (int i = lo; i < hi; i++) {
        if ((x[i] & MASK) == 0) continue;
        int rem = i;
        for (int d = rank - 1; d >= 0; d--) {
            int size = dv[8 - rank + d];
            y[(long)d * total + k] = rem % size;
            rem /= size;
        }
        k++;
    }
}
#endif

// NonMaxSuppression on `pairs` (batch, class) pairs of n boxes, as the CPU's kernel decides (see the Swift
// NonMaxSuppression op): candidates are the boxes whose score is a number above the threshold (all numbers when
// `has_threshold` is 0), visited by falling score, equal scores by lower index; a candidate is kept unless a box
// already kept overlaps it by more than `iou`, until `limit` are kept.

// Whether box i is a candidate of its pair (scores s): a number above the threshold (any number without one).
inline int nms_candidate(__global const real_t* s, int i, int has_threshold, float threshold) {
    float v = LOAD(s, i);
    return !isnan(v) && (!has_threshold || v > threshold);
}

// Each pair's row of `width` (a power of two, at least n) slots of order: box j in slot j if it is a candidate,
// else -1; counts[pair] (zeroed before) counts the candidates. Scores are [pairs, n].
__kernel void nms_candidates(__global const real_t* scores, __global int* order, __global int* counts, int pairs, int n,
                             int width, int has_threshold, float threshold) {
    int g = get_global_id(0);
    if (g >= pairs * width) return;
    int pair = g / width, j = g - pair * width;
    int take = j < n && nms_candidate(scores + (long)pair * n, j, has_threshold, threshold);
    order[g] = take ? j : -1;
    if (take) atomic_inc(counts + pair);
}

// Whether box a goes before box b in the visiting order: higher score first, equal scores by lower index; -1 (no
// candidate) after every box.
inline int nms_before(__global const real_t* s, int a, int b) {
    if (a < 0 || b < 0) return b < 0 && a >= 0;
    float x = LOAD(s, a), y = LOAD(s, b);
    return x > y || (x == y && a < b);
}

// One step (k, j) of a bitonic sort of every pair's row of order into visiting order: slot i and its partner
// i ^ j are exchanged when out of order for the direction of their k-block.
__kernel void nms_sort_step(__global const real_t* scores, __global int* order, int pairs, int n, int width, int k,
                            int j) {
    int g = get_global_id(0);
    if (g >= pairs * width) return;
    int pair = g / width, i = g - pair * width, l = i ^ j;
    if (l <= i) return;
    __global int* row = order + (long)pair * width;
    __global const real_t* s = scores + (long)pair * n;
    int a = row[i], b = row[l];
    int forward = (i & k) == 0;
    if (forward ? nms_before(s, b, a) : nms_before(s, a, b)) { row[i] = b; row[l] = a; }
}

// Box i's extents [x0, x1, y0, y1] and area, in the CPU's float32 arithmetic: centered boxes are [cx, cy, w, h],
// the others [y1, x1, y2, x2] with each axis's corners in either order.
inline float4 box_extents(__global const real_t* box, int centered, float* area) {
    float a = LOAD(box, 0), b = LOAD(box, 1), c = LOAD(box, 2), d = LOAD(box, 3);
    float4 e;
    if (centered) {
        float w = c / 2, h = d / 2;
        e = (float4)(a - w, a + w, b - h, b + h);
    } else {
        e = (float4)(b >= d ? d : b, b >= d ? b : d, a >= c ? c : a, a >= c ? a : c);
    }
    *area = (e.y - e.x) * (e.w - e.z);
    return e;
}

// Whether candidate i (extents p, area pa) overlaps kept box j (q, qa) by more than t: onnxruntime's comparisons
// in its order, as BoxExtents.suppresses on the CPU.
inline int suppresses(float4 p, float pa, float4 q, float qa, float t) {
    float ix0 = p.x < q.x ? q.x : p.x, ix1 = q.y < p.y ? q.y : p.y;
    if (ix1 <= ix0) return 0;
    float iy0 = p.z < q.z ? q.z : p.z, iy1 = q.w < p.w ? q.w : p.w;
    if (iy1 <= iy0) return 0;
    float inter = (ix1 - ix0) * (iy1 - iy0);
    if (inter <= 0) return 0;
    float uni = pa + qa - inter;
    if (pa <= 0 || qa <= 0 || uni <= 0) return 0;
    return inter / uni > t;
}

// One work-group per pair walks its candidates in order (the first counts[pair] of its row of `width` in order);
// for each, the group checks the boxes kept so far in parallel, and the candidate is appended to
// kept[pair * limit ...] unless one suppresses it. kept_counts[pair] gets how many were kept. Boxes are
// [batches, n, 4], pair = batch * classes + class.
__kernel void nms_greedy(__global const real_t* boxes, __global const int* order, __global const int* counts,
                         __global int* kept, __global int* kept_counts, int n, int width, int classes, int limit,
                         float iou, int centered) {
    int pair = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
    __global const real_t* box = boxes + (long)(pair / classes) * n * 4;
    __global int* mine = kept + (long)pair * limit;
    __local int flags[2];
    if (lid == 0) flags[0] = 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    int cnt = counts[pair], nk = 0;
    for (int a = 0; a < cnt && nk < limit; a++) {
        int i = order[(long)pair * width + a], f = a & 1;
        float pa, qa;
        float4 p = box_extents(box + 4 * i, centered, &pa);
        for (int j = lid; j < nk; j += size) {
            float4 q = box_extents(box + 4 * mine[j], centered, &qa);
            if (suppresses(p, pa, q, qa, iou)) flags[f] = 1;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        int keep = flags[f] == 0;
        if (lid == 0) {
            if (keep) mine[nk] = i;
            flags[1 - f] = 0;
        }
        nk += keep;
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    }
    if (lid == 0) kept_counts[pair] = nk;
}

// Rows (batch, class, box) of y [total, 3]: pair p's kept boxes from row starts[p]. One work-item per (pair, slot).
__kernel void nms_write(__global const int* kept, __global const int* kept_counts, __global const int* starts,
                        __global long* y, int pairs, int classes, int limit) {
    int g = get_global_id(0);
    if (g >= pairs * limit) return;
    int pair = g / limit, j = g - pair * limit;
    if (j >= kept_counts[pair]) return;
    long row = starts[pair] + j;
    y[row * 3] = pair / classes;
    y[row * 3 + 1] = pair % classes;
    y[row * 3 + 2] = kept[g];
}

// RoiAlign's sample along one axis (see RoiAlignKernel on the CPU): the position `v` of sample i of bin p, its two
// neighbouring pixels and their weights; 0 when more than a pixel outside [0, length].
inline int roi_axis(float start, float bin, int p, int i, int grid, int length, int* low, int* high, float* l) {
    float v = start + (float)p * bin + ((float)i + 0.5f) * bin / (float)grid;
    if (!(v >= -1 && v <= (float)length)) return 0;
    if (v <= 0) v = 0;
    *low = (int)v;
    if (*low >= length - 1) { *low = length - 1; *high = length - 1; v = (float)*low; } else *high = *low + 1;
    *l = v - (float)*low;
    return 1;
}

// Samples per bin along an axis of `size` for `out` bins: sampling_ratio, or ceil(size / out) (0 when below 1 or
// NaN); -1 when beyond the CPU's per-axis limit.
inline int roi_grid(float size, int out, int ratio) {
    if (ratio > 0) return ratio;
    float v = ceil(size / (float)out);
    if (!(v >= 1)) return 0;
    return v < (float)(1 << 22) ? (int)v : -1;
}

// RoiAlign on x [N, C, H, W] and rois [R, 4] (x1, y1, x2, y2), one work-item per output element of y
// [R, C, oh, ow]. A batch index outside [0, N) or a ROI asking for more samples than the CPU takes sets
// FAULT_ROI and gives 0. `max_mode` takes the largest weighted corner term, as onnxruntime does.
__kernel void roi_align(__global const real_t* x, __global const real_t* rois, __global const long* batch,
                        __global real_t* y, int total, int n, int c, int height, int width, int oh, int ow, int ratio,
                        float scale, int half_pixel, int max_mode, __global int* faults) {
    int g = get_global_id(0);
    if (g >= total) return;
    int pw = g % ow, ph = (g / ow) % oh, ch = (g / (ow * oh)) % c, r = g / (ow * oh * c);
    long b = batch[r];
    float offset = half_pixel ? 0.5f : 0.0f;
    float x0 = LOAD(rois, 4 * r) * scale - offset, y0 = LOAD(rois, 4 * r + 1) * scale - offset;
    float x1 = LOAD(rois, 4 * r + 2) * scale - offset, y1 = LOAD(rois, 4 * r + 3) * scale - offset;
    float w = x1 - x0, h = y1 - y0;
    if (!half_pixel) { w = w < 1 ? 1 : w; h = h < 1 ? 1 : h; }
    int gh = roi_grid(h, oh, ratio), gw = roi_grid(w, ow, ratio);
    int too_many = gh < 0 || gw < 0 || gh > (1 << 22) / oh || gw > (1 << 22) / ow
                   || (long)gh * oh * (long)gw * ow > (1L << 30);
    if (b < 0 || b >= n || too_many) {
        atomic_or(faults, FAULT_ROI);
        STORE(y, g, 0.0f);
        return;
    }
    if (gh == 0 || gw == 0 || height * width == 0) { STORE(y, g, 0.0f); return; }
    __global const real_t* src = x + ((long)b * c + ch) * height * width;
    float binh = h / (float)oh, binw = w / (float)ow, acc = 0;
    int first = 1;
    for (int iy = 0; iy < gh; iy++) {
        int ylo, yhi;
        float yl;
        int yv = roi_axis(y0, binh, ph, iy, gh, height, &ylo, &yhi, &yl);
        for (int ix = 0; ix < gw; ix++) {
            int xlo, xhi;
            float xl;
            int xv = roi_axis(x0, binw, pw, ix, gw, width, &xlo, &xhi, &xl);
            if (!(yv && xv)) {
                if (max_mode) { acc = first || acc < 0 ? 0 : acc; first = 0; }
                continue;
            }
            float yh = 1 - yl, xh = 1 - xl;
            float w1 = yh * xh, w2 = yh * xl, w3 = yl * xh, w4 = yl * xl;
            float v1 = LOAD(src, ylo * width + xlo), v2 = LOAD(src, ylo * width + xhi);
            float v3 = LOAD(src, yhi * width + xlo), v4 = LOAD(src, yhi * width + xhi);
            if (!max_mode) {
                acc += w1 * v1 + w2 * v2 + w3 * v3 + w4 * v4;
            } else {
                float a = w1 * v1, t = w2 * v2;
                a = a < t ? t : a;
                t = w3 * v3; a = a < t ? t : a;
                t = w4 * v4; a = a < t ? t : a;
                acc = first ? a : (acc < a ? a : acc);
                first = 0;
            }
        }
    }
    STORE(y, g, max_mode ? acc : acc / (float)(gh * gw));
}
