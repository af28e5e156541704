// Depthwise 3x3 convolution of one plane, written once with clang vector extensions and compiled by each ISA's file
// (after gemv_impl.h and vmath_impl.h, which define the vector types and the lane count DL_VL).

#define VF DL_CAT(vf, DL_SUFFIX)
#define VI DL_CAT(vi, DL_SUFFIX)

#include "lanes_impl.h"

/// DL_VL outputs of one row starting at output column o; row a of the window starts at p + a * ld. Loads are whole
/// aligned vectors where o is a multiple of DL_VL (the padded rows start on 64 bytes): the shifted taps come from
/// lane shuffles rather than loads that straddle cache lines. Each window row has its own sum, added at the end:
/// one chain of nine multiply-adds would make a small plane wait on their latency.
static inline __attribute__((always_inline)) VF DL_FN(dw_vector)(const float *p, int64_t ld, int64_t sw, int64_t o,
                                                                  const float *w, VF bias) {
    VF part[3];
    for (int a = 0; a < 3; a++) {
        const float *r = p + a * ld + o * sw;
        const VF v0 = *(const VF *)r, v1 = *(const VF *)(r + DL_VL);
        if (sw == 1) {
            part[a] = v0 * w[3 * a] + DL_PICK(v0, v1, DL_SHIFT1) * w[3 * a + 1] +
                      DL_PICK(v0, v1, DL_SHIFT2) * w[3 * a + 2];
        } else {
            // Inputs 2j, 2j + 1 and 2j + 2 for output j: the evens, the odds, and the evens one lane on (the last
            // lane from the next vector).
            const VF v2 = *(const VF *)(r + 2 * DL_VL), even = DL_PICK(v0, v1, DL_EVENS);
            part[a] = even * w[3 * a] + DL_PICK(v0, v1, DL_ODDS) * w[3 * a + 1] +
                      DL_PICK(even, v2, DL_SHIFT1) * w[3 * a + 2];
        }
    }
    return (bias + part[0]) + (part[1] + part[2]);
}

/// Clamps to [lo, hi] with NaN passing through (a NaN compares false, so it keeps its own lanes).
static inline __attribute__((always_inline)) VF DL_FN(dw_clamp)(VF v, VF lo, VF hi) {
    const VI below = v < lo, above = v > hi;
    v = (VF)(((VI)v & ~below) | ((VI)lo & below));
    return (VF)(((VI)v & ~above) | ((VI)hi & above));
}

/// Stores a row narrower than a vector: whole where the lanes past the row land on outputs computed later (up to
/// `end`), else its first ow lanes.
static inline __attribute__((always_inline)) void DL_FN(dw_narrow)(float *out, VF v, int64_t ow, const float *end) {
    if (out + DL_VL <= end) {
        *(VF *)out = v;
    } else {
        for (int64_t j = 0; j < ow; j++) out[j] = v[j];
    }
}

/// One output plane. Outputs up to `end` may be written (with anything: later planes' outputs are computed after).
static inline __attribute__((always_inline)) void
DL_FN(dw_plane)(const float *p, int64_t ld, int64_t sh, int64_t sw, const float *w, float bias, int clamp, float lo,
                float hi, float *y, int64_t oh, int64_t ow, const float *end) {
    const VF vb = DL_FN(splat)(bias), vlo = DL_FN(splat)(lo), vhi = DL_FN(splat)(hi);
    if (ow < DL_VL) {
        // Two rows at a time, both computed before either is stored: their work overlaps.
        int64_t oy = 0;
        for (; oy + 2 <= oh; oy += 2) {
            VF v0 = DL_FN(dw_vector)(p + oy * sh * ld, ld, sw, 0, w, vb);
            VF v1 = DL_FN(dw_vector)(p + (oy + 1) * sh * ld, ld, sw, 0, w, vb);
            if (clamp) { v0 = DL_FN(dw_clamp)(v0, vlo, vhi); v1 = DL_FN(dw_clamp)(v1, vlo, vhi); }
            DL_FN(dw_narrow)(y + oy * ow, v0, ow, end);
            DL_FN(dw_narrow)(y + (oy + 1) * ow, v1, ow, end);
        }
        if (oy < oh) {
            VF v = DL_FN(dw_vector)(p + oy * sh * ld, ld, sw, 0, w, vb);
            if (clamp) v = DL_FN(dw_clamp)(v, vlo, vhi);
            DL_FN(dw_narrow)(y + oy * ow, v, ow, end);
        }
        return;
    }
    for (int64_t oy = 0; oy < oh; oy++) {
        const float *top = p + oy * sh * ld;
        float *out = y + oy * ow;
        // Vectors of DL_VL outputs; the last one overlaps the one before (outputs are written, not accumulated).
        for (int64_t o = 0;;) {
            VF v = DL_FN(dw_vector)(top, ld, sw, o, w, vb);
            if (clamp) v = DL_FN(dw_clamp)(v, vlo, vhi);
            *(VF *)(out + o) = v;
            if (o + DL_VL == ow) break;
            o = o + 2 * DL_VL <= ow ? o + DL_VL : ow - DL_VL;
        }
    }
}

static inline __attribute__((always_inline)) void
DL_FN(dw_planes)(const dl_dwconv3x3_args *g, int64_t c0, int64_t c1, float *scratch) {
    const int64_t ld = dl_dwconv3x3_row(g), rows = (g->oh - 1) * g->sh + 3, plane = rows * ld;
    const int64_t batch = plane >= DL_DW_BATCH ? 1 : DL_DW_BATCH / plane;
    const int64_t n = g->iw < ld - g->pw ? g->iw : ld - g->pw, ih = g->ih, iw = g->iw, ph = g->ph;
    const float *end = g->y + c1 * g->oh * g->ow;
    // Only input values are ever written into the padded planes, always to the same places, so the padding zeroed
    // here stays zero.
    for (int64_t j = 0; j < batch * plane; j++) scratch[j] = 0;
    for (int64_t b0 = c0; b0 < c1; b0 += batch) {
        const int64_t b1 = b0 + batch < c1 ? b0 + batch : c1;
        // A batch of planes is copied before any is read: a vector load from values stored moments before (a
        // different width, at another offset) waits for the stores to drain, which cost more than the arithmetic.
        for (int64_t c = b0; c < b1; c++) {
            const float *x = g->x + (g->multiplier == 1 ? c : c / g->multiplier) * ih * iw;
            float *d = scratch + (c - b0) * plane + g->pw;
            for (int64_t r = 0; r < rows; r++) {
                const int64_t iy = r - ph;
                if (iy < 0 || iy >= ih) continue;
                const float *s = x + iy * iw;
                float *dr = d + r * ld;
                int64_t j = 0;
                for (; j + DL_VL <= n; j += DL_VL) *(VF *)(dr + j) = *(const VF *)(s + j);
                for (; j < n; j++) dr[j] = s[j];
            }
        }
        for (int64_t c = b0; c < b1; c++) {
            DL_FN(dw_plane)(scratch + (c - b0) * plane, ld, g->sh, g->sw, g->w + 9 * c, g->bias ? g->bias[c] : 0,
                            g->clamp, g->lo, g->hi, g->y + c * g->oh * g->ow, g->oh, g->ow, end);
        }
    }
}

void DL_FN(dl_dwconv3x3)(const dl_dwconv3x3_args *g, int64_t c0, int64_t c1, float *scratch) {
    // Stride across is a constant in each copy, so the loads and shuffles of the other one are compiled out.
    if (g->sw == 1) {
        dl_dwconv3x3_args one = *g;
        one.sw = 1;
        DL_FN(dw_planes)(&one, c0, c1, scratch);
    } else {
        dl_dwconv3x3_args two = *g;
        two.sw = 2;
        DL_FN(dw_planes)(&two, c0, c1, scratch);
    }
}

#undef VI
#undef VF
