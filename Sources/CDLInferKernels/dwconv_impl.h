// Depthwise 3x3 convolution of one plane, written once with clang vector extensions and compiled by each ISA's file
// (after gemv_impl.h and vmath_impl.h, which define the vector types and the lane count DL_VL).

#define VF DL_CAT(vf, DL_SUFFIX)
#define VI DL_CAT(vi, DL_SUFFIX)

#include "lanes_impl.h"
#include "padrows_impl.h"

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

/// One output row. Outputs up to `end` may be written (with anything: later outputs are computed after).
static inline __attribute__((always_inline)) void DL_FN(dw_row)(const float *top, int64_t ld, int64_t sw,
                                                               const float *w, VF vb, int clamp, VF vlo, VF vhi,
                                                               float *out, int64_t ow, const float *end) {
    if (ow < DL_VL) {
        VF v = DL_FN(dw_vector)(top, ld, sw, 0, w, vb);
        if (clamp) v = DL_FN(dw_clamp)(v, vlo, vhi);
        DL_FN(dw_narrow)(out, v, ow, end);
        return;
    }
    // Vectors of DL_VL outputs; the last one overlaps the one before (outputs are written, not accumulated).
    for (int64_t o = 0;;) {
        VF v = DL_FN(dw_vector)(top, ld, sw, o, w, vb);
        if (clamp) v = DL_FN(dw_clamp)(v, vlo, vhi);
        *(VF *)(out + o) = v;
        if (o + DL_VL == ow) break;
        o = o + 2 * DL_VL <= ow ? o + DL_VL : ow - DL_VL;
    }
}

/// Planes c0 ..< c1 through a ring of padded planes (dl_pad_ring): while plane c is computed, plane c + ring - 1 is
/// copied, a large one a few rows after each output row, so that the copy's loads (from memory, for a large layer)
/// run alongside the arithmetic instead of before it, and no row is read soon after it was stored (a vector load from
/// values stored moments before, at another offset, waits for the stores to drain).
static inline __attribute__((always_inline)) void
DL_FN(dw_planes)(const dl_dwconv3x3_args *g, int64_t c0, int64_t c1, float *scratch) {
    const int64_t ld = dl_dwconv3x3_row(g), rows = (g->oh - 1) * g->sh + 3, plane = rows * ld;
    const int64_t ring = dl_dwconv3x3_ring(g), ahead = ring - 1;
    const int64_t n = g->iw < ld - g->pw ? g->iw : ld - g->pw, ih = g->ih, iw = g->iw, ph = g->ph, oh = g->oh;
    const int64_t ow = g->ow, step = ow < DL_VL ? 2 : 1;
    const float *end = g->y + c1 * oh * ow;
    const float *limit = g->x + ((c1 - 1) / g->multiplier + 1) * ih * iw;
    // The padding zeroed here stays zero (pad_rows writes input values only where they belong).
    for (int64_t j = 0; j < ring * plane; j++) scratch[j] = 0;
#define DW_SRC(c) (g->x + (g->multiplier == 1 ? (c) : (c) / g->multiplier) * ih * iw)
#define DW_SLOT(c) (scratch + ((c) - c0) % ring * plane)
    for (int64_t c = c0; c < c0 + ahead && c < c1; c++)
        DL_FN(pad_rows)(DW_SRC(c), DW_SLOT(c) + g->pw, ld, 0, rows, ph, ih, iw, n, ld - g->pw, limit, 0);
    for (int64_t c = c0; c < c1; c++) {
        const float *p = DW_SLOT(c);
        const int64_t cn = c + ahead;
        const float *nx = cn < c1 ? DW_SRC(cn) : 0;
        float *next = DW_SLOT(cn) + g->pw;
        const VF vb = DL_FN(splat)(g->bias ? g->bias[c] : 0), vlo = DL_FN(splat)(g->lo), vhi = DL_FN(splat)(g->hi);
        const float *w = g->w + 9 * c;
        float *y = g->y + c * oh * ow;
        int64_t copied = nx ? 0 : rows;
        if (plane < DL_PAD_RING && copied < rows) {
            // Small planes are copied whole.
            DL_FN(pad_rows)(nx, next, ld, 0, rows, ph, ih, iw, n, ld - g->pw, limit, 0);
            copied = rows;
        }
        for (int64_t oy = 0; oy < oh; oy += step) {
            if (step == 2 && oy + 1 < oh) {
                // Two narrow rows, both computed before either is stored: their work overlaps.
                VF v0 = DL_FN(dw_vector)(p + oy * g->sh * ld, ld, g->sw, 0, w, vb);
                VF v1 = DL_FN(dw_vector)(p + (oy + 1) * g->sh * ld, ld, g->sw, 0, w, vb);
                if (g->clamp) { v0 = DL_FN(dw_clamp)(v0, vlo, vhi); v1 = DL_FN(dw_clamp)(v1, vlo, vhi); }
                DL_FN(dw_narrow)(y + oy * ow, v0, ow, end);
                DL_FN(dw_narrow)(y + (oy + 1) * ow, v1, ow, end);
            } else {
                DL_FN(dw_row)(p + oy * g->sh * ld, ld, g->sw, w, vb, g->clamp, vlo, vhi, y + oy * ow, ow, end);
            }
            if (copied < rows) {
                const int64_t done = oy + step < oh ? oy + step : oh, upto = done * rows / oh;
                DL_FN(pad_rows)(nx, next, ld, copied, upto, ph, ih, iw, n, ld - g->pw, limit, 0);
                copied = upto;
            }
        }
    }
#undef DW_SLOT
#undef DW_SRC
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
