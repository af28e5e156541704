// Max and average pooling over 2-D windows, written once with clang vector extensions and compiled by each ISA's
// file (after gemv_impl.h and vmath_impl.h, which define the vector types and the lane count DL_VL).

#define VF DL_CAT(vf, DL_SUFFIX)
#define VI DL_CAT(vi, DL_SUFFIX)
#include "lanes_impl.h"
#include "padrows_impl.h"
#include "blocks_impl.h"

// A stride-2 row's DL_VL inputs from two loads, the second one DL_VL - 1 on (so nothing past the last input is
// read): the even lanes of the first and the odd lanes of the second.
#if DL_VL == 16
#define DL_POOL2 0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31
#elif DL_VL == 8
#define DL_POOL2 0, 2, 4, 6, 9, 11, 13, 15
#else
#define DL_POOL2 0, 2, 5, 7
#endif

/// acc, or v where v is greater (NaN never is).
static inline __attribute__((always_inline)) VF DL_FN(pool_max)(VF acc, VF v) {
    const VI wins = v > acc;
    return (VF)(((VI)v & wins) | ((VI)acc & ~wins));
}

/// DL_VL outputs of one row from output column o on: the window's rows start at p + a * ld, taps in row-major
/// order. MaxPool: a value wins only when greater. AveragePool: the sum from 0.
static inline __attribute__((always_inline)) VF DL_FN(pool_vector)(const float *p, int64_t ld, int64_t kh,
                                                                    int64_t kw, int64_t sw, int64_t o, int average) {
    VF acc = DL_FN(splat)(average ? 0.0f : -__builtin_inff());
    for (int64_t a = 0; a < kh; a++) {
        const float *r = p + a * ld + o * sw;
        for (int64_t b = 0; b < kw; b++) {
            VF v;
            if (sw == 1) {
                v = *(const VF *)(r + b);
            } else {
                const VF first = *(const VF *)(r + b), second = *(const VF *)(r + b + DL_VL - 1);
                v = __builtin_shufflevector(first, second, DL_POOL2);
            }
            acc = average ? acc + v : DL_FN(pool_max)(acc, v);
        }
    }
    return acc;
}

/// Stores DL_VL outputs of a row from column o: a row narrower than a vector whole where its extra lanes land on
/// outputs computed later (up to `end`), else its first ow lanes.
static inline __attribute__((always_inline)) void DL_FN(pool_store)(float *out, int64_t o, int64_t ow, VF v,
                                                                    const float *end) {
    if (ow >= DL_VL) {
        *(VF *)(out + o) = v;
    } else if (out + DL_VL <= end) {
        *(VF *)out = v;
    } else {
        for (int64_t j = 0; j < ow; j++) out[j] = v[j];
    }
}

/// Output columns a row computes in vectors: 0, DL_VL, ... and a last one that overlaps the one before (outputs are
/// written, not accumulated); -1 after the last.
static inline __attribute__((always_inline)) int64_t DL_FN(pool_next)(int64_t o, int64_t ow) {
    return ow < DL_VL ? -1 : dl_next_block(o, ow, DL_VL);
}

/// Output rows oy0 ..< oy1 of a plane from its padded copy (or the input itself, where no window reaches past it).
/// Outputs up to `end` may be written (with anything: later outputs are computed after).
static inline __attribute__((always_inline)) void DL_FN(pool_plane)(const dl_pool2d_args *g, const float *p,
                                                                   int64_t ld, float *y, const float *end,
                                                                   int average, int64_t oy0, int64_t oy1) {
    for (int64_t oy = oy0; oy < oy1; oy++) {
        const float *top = p + oy * g->sh * ld;
        const float *divisor = average ? g->divisor + oy * g->ow : 0;
        for (int64_t o = 0; o >= 0; o = DL_FN(pool_next)(o, g->ow)) {
            VF v = DL_FN(pool_vector)(top, ld, g->kh, g->kw, g->sw, o, average);
            if (average) v = v / *(const VF *)(divisor + o);
            DL_FN(pool_store)(y + oy * g->ow, o, g->ow, v, end);
        }
    }
}

/// The largest of the taps of input row `in` (iw values) at columns c0, c0 + 1 and c0 + 2 that lie in the row; -inf
/// where none does. The taps are loaded only where they lie in the row, and compared without a branch: with a branch
/// on each comparison, random inputs mispredicted often enough to make a plane of 14 outputs a row cost five times
/// what it does in a vector.
static inline __attribute__((always_inline)) float DL_FN(pool_across_one)(const float *in, int64_t iw, int64_t c0) {
    float m = -__builtin_inff();
    for (int64_t c = c0; c < c0 + 3; c++) {
        if (c < 0 || c >= iw) continue;
        const float v = in[c];
        m = v > m ? v : m;
    }
    return m;
}

/// The maxima across of one input row into h (`room` floats): output o takes input columns 2o - pw ... 2o - pw + 2.
/// In vectors where every lane's taps lie in the row and the loads end before `limit` (a row of fewer such outputs
/// than a vector holds, too, where its lanes fit in h: the lanes past them are redone or unused), one at a time at
/// the edges (the padding, and the columns past the row that ceil_mode's last window may reach).
static inline __attribute__((always_inline)) void DL_FN(pool_across)(const float *in, int64_t iw, int64_t pw,
                                                                     int64_t ow, float *h, int64_t room,
                                                                     const float *limit) {
    const VF low = DL_FN(splat)(-__builtin_inff());
    const int64_t oa = (pw + 1) / 2, full = iw + pw >= 3 ? (iw + pw - 3) / 2 + 1 : 0, ob = full < ow ? full : ow;
    int64_t o = 0;
    for (; o < oa && o < ow; o++) h[o] = DL_FN(pool_across_one)(in, iw, 2 * o - pw);
    if (ob > oa && (ob - oa >= DL_VL || oa + DL_VL <= room)) {
        for (;;) {
            const float *q = in + 2 * o - pw;
            if (q + 3 * DL_VL > limit) break;
            const VF v0 = *(const VF *)q, v1 = *(const VF *)(q + DL_VL), v2 = *(const VF *)(q + 2 * DL_VL);
            const VF even = DL_PICK(v0, v1, DL_EVENS);
            VF acc = DL_FN(pool_max)(low, even);
            acc = DL_FN(pool_max)(acc, DL_PICK(v0, v1, DL_ODDS));
            acc = DL_FN(pool_max)(acc, DL_PICK(even, v2, DL_SHIFT1));
            *(VF *)(h + o) = acc;
            if (o + DL_VL >= ob) { o = ob; break; }
            o = o + 2 * DL_VL <= ob ? o + DL_VL : ob - DL_VL;
        }
    }
    for (; o < ow; o++) h[o] = DL_FN(pool_across_one)(in, iw, 2 * o - pw);
    // The down pass reads whole vectors of a row narrower than one.
    for (; o < DL_VL; o++) h[o] = -__builtin_inff();
}

/// MaxPool three taps across at stride 2, straight from the input plane x in two passes: the maximum across of every
/// row the windows reach, once (rows that windows share, as at stride 2 down, are not redone; rows of the padding are
/// -inf), then down the window's rows. A value still wins only when greater, so the result is the first largest in
/// row-major order, as in one pass: the first row holding the largest value wins, with its own first.
static inline __attribute__((always_inline)) void
DL_FN(pool_plane_rows)(const dl_pool2d_args *g, const float *x, float *y, const float *end, float *h,
                       const float *limit) {
    const int64_t ow = g->ow, hs = dl_pool2d_across(g), rows = dl_pool2d_rows(g);
    const VF low = DL_FN(splat)(-__builtin_inff());
    for (int64_t r = 0; r < rows; r++) {
        const int64_t ir = r - g->ph;
        if (ir < 0 || ir >= g->ih) {
            for (int64_t o = 0; o < hs; o++) h[r * hs + o] = -__builtin_inff();
        } else {
            DL_FN(pool_across)(x + ir * g->iw, g->iw, g->pw, ow, h + r * hs, hs, limit);
        }
    }
    for (int64_t oy = 0; oy < g->oh; oy++) {
        const float *top = h + oy * g->sh * hs;
        for (int64_t o = 0; o >= 0; o = DL_FN(pool_next)(o, ow)) {
            VF acc = low;
            for (int64_t a = 0; a < g->kh; a++) acc = DL_FN(pool_max)(acc, *(const VF *)(top + a * hs + o));
            DL_FN(pool_store)(y + oy * ow, o, ow, acc, end);
        }
    }
}

/// Planes c0 ..< c1. MaxPool three across at stride 2 straight from the input (`pool_plane_rows`); where every window
/// lies inside the input and rows fill whole vectors, also straight from the input; else through a ring of padded
/// planes as in the depthwise kernel: plane c + ring - 1 is copied while plane c is computed (a large one a few rows
/// at a time), so the copy's loads overlap the arithmetic and no row is read soon after it was stored.
static inline __attribute__((always_inline)) void
DL_FN(pool_planes)(const dl_pool2d_args *g, int64_t c0, int64_t c1, float *scratch, int average) {
    const int64_t ih = g->ih, iw = g->iw, ph = g->ph, oh = g->oh, ow = g->ow;
    const float *end = g->y + c1 * oh * ow;
    const float *limit = g->x + c1 * ih * iw;
    if (dl_pool2d_rowwise(g)) {
        for (int64_t c = c0; c < c1; c++)
            DL_FN(pool_plane_rows)(g, g->x + c * ih * iw, g->y + c * oh * ow, end, scratch, limit);
        return;
    }
    if (ph == 0 && g->pw == 0 && ow >= DL_VL && (oh - 1) * g->sh + g->kh <= ih && (ow - 1) * g->sw + g->kw <= iw) {
        for (int64_t c = c0; c < c1; c++) DL_FN(pool_plane)(g, g->x + c * ih * iw, iw, g->y + c * oh * ow, end,
                                                            average, 0, oh);
        return;
    }
    const int64_t ld = dl_pool2d_row(g), rows = dl_pool2d_rows(g), plane = rows * ld;
    const int64_t ring = dl_pool2d_ring(g), ahead = ring - 1, n = iw < ld - g->pw ? iw : ld - g->pw;
    // A large plane's copy is spread over this many parts of the plane before it.
    const int64_t parts = plane < DL_PAD_RING ? 1 : oh < 8 ? oh : 8;
    // -inf never wins and 0 adds nothing, as a tap outside the input never counts; pad_rows keeps them there.
    const float pad = average ? 0.0f : -__builtin_inff();
    for (int64_t j = 0; j < ring * plane; j++) scratch[j] = pad;
#define POOL_SLOT(c) (scratch + ((c) - c0) % ring * plane)
    for (int64_t c = c0; c < c0 + ahead && c < c1; c++)
        DL_FN(pad_rows)(g->x + c * ih * iw, POOL_SLOT(c) + g->pw, ld, 0, rows, ph, ih, iw, n, ld - g->pw, limit, pad);
    for (int64_t c = c0; c < c1; c++) {
        const float *p = POOL_SLOT(c);
        float *y = g->y + c * oh * ow;
        const int64_t cn = c + ahead;
        for (int64_t k = 0; k < parts; k++) {
            DL_FN(pool_plane)(g, p, ld, y, end, average, oh * k / parts, oh * (k + 1) / parts);
            if (cn < c1) {
                DL_FN(pad_rows)(g->x + cn * ih * iw, POOL_SLOT(cn) + g->pw, ld, rows * k / parts,
                                rows * (k + 1) / parts, ph, ih, iw, n, ld - g->pw, limit, pad);
            }
        }
    }
#undef POOL_SLOT
}

static inline __attribute__((always_inline)) void
DL_FN(pool_kind)(const dl_pool2d_args *g, int64_t c0, int64_t c1, float *scratch, int average) {
    // Stride across and the common 3x3 and 2x2 windows are constants in their copies, so the loops over taps unroll.
    dl_pool2d_args k = *g;
    if (g->sw == 1 && g->kh == 3 && g->kw == 3) {
        k.sw = 1; k.kh = 3; k.kw = 3;
        DL_FN(pool_planes)(&k, c0, c1, scratch, average);
    } else if (g->sw == 2 && g->kh == 3 && g->kw == 3) {
        k.sw = 2; k.kh = 3; k.kw = 3;
        DL_FN(pool_planes)(&k, c0, c1, scratch, average);
    } else if (g->sw == 2 && g->kh == 2 && g->kw == 2) {
        k.sw = 2; k.kh = 2; k.kw = 2;
        DL_FN(pool_planes)(&k, c0, c1, scratch, average);
    } else if (g->sw == 1) {
        k.sw = 1;
        DL_FN(pool_planes)(&k, c0, c1, scratch, average);
    } else {
        k.sw = 2;
        DL_FN(pool_planes)(&k, c0, c1, scratch, average);
    }
}

#if DL_VL >= 8
/// Planes c ..< c + DL_VL (dl_pool2d_blocked) with the channels innermost (blocks_impl.h): the input pixels go into
/// `pad` (kept -inf or 0 around them), each output pixel is one vector whose taps are one load each, in row-major
/// order as in the planes' own path, and `out` goes back into the planes.
static inline __attribute__((always_inline)) void DL_FN(pool_block)(const dl_pool2d_args *g, int64_t c, float *pad,
                                                                   float *out, int average) {
    const int64_t oh = g->oh, ow = g->ow, cols = dl_pool2d_cols(g), in = g->ih * g->iw, on = oh * ow;
    const float *src[DL_VL];
    for (int l = 0; l < DL_VL; l++) src[l] = g->x + (c + l) * in;
    dl_lanes_in(src, g->ih, g->iw, g->ph, g->pw, dl_pool2d_rows(g), cols, pad);
    for (int64_t oy = 0; oy < oh; oy++) {
        for (int64_t ox = 0; ox < ow; ox++) {
            const float *q = pad + (oy * g->sh * cols + ox * g->sw) * DL_VL;
            VF acc = DL_FN(splat)(average ? 0.0f : -__builtin_inff());
            for (int64_t a = 0; a < g->kh; a++) {
                for (int64_t b = 0; b < g->kw; b++) {
                    const VF v = *(const VF *)(q + (a * cols + b) * DL_VL);
                    acc = average ? acc + v : DL_FN(pool_max)(acc, v);
                }
            }
            if (average) acc = acc / DL_FN(splat)(g->divisor[oy * ow + ox]);
            *(VF *)(out + (oy * ow + ox) * DL_VL) = acc;
        }
    }
    dl_lanes_out(out, on, g->y + c * on);
}

/// Blocks of DL_VL planes from c0 on (`pool_block`), as many as fit before c1; returns the first plane left over. Not
/// inlined into the per-plane paths: there it made the compiler build them worse (a 3x3 MaxPool at 28x28, which
/// never takes this path, ran in 0.30 ms instead of 0.17).
static __attribute__((noinline)) int64_t DL_FN(pool_blocks)(const dl_pool2d_args *g, int64_t c0, int64_t c1,
                                                            float *scratch, int average) {
    float *pad = scratch + dl_pool2d_scratch(g) - dl_pool2d_block(g);
    const int64_t padded = dl_pool2d_rows(g) * dl_pool2d_cols(g) * DL_VL;
    // Only input pixels are written later: the padding stays what it is set to here.
    for (int64_t j = 0; j < padded; j++) pad[j] = average ? 0.0f : -__builtin_inff();
    // The common windows as constants in their copies, so that the loops over taps unroll.
    dl_pool2d_args k = *g;
    for (; c0 + DL_VL <= c1; c0 += DL_VL) {
        if (g->kh == 3 && g->kw == 3) {
            k.kh = 3; k.kw = 3;
            DL_FN(pool_block)(&k, c0, pad, pad + padded, average);
        } else if (g->kh == 2 && g->kw == 2) {
            k.kh = 2; k.kw = 2;
            DL_FN(pool_block)(&k, c0, pad, pad + padded, average);
        } else {
            DL_FN(pool_block)(g, c0, pad, pad + padded, average);
        }
    }
    return c0;
}
#endif

void DL_FN(dl_pool2d)(const dl_pool2d_args *g, int64_t c0, int64_t c1, float *scratch) {
#if DL_VL >= 8
    if (dl_pool2d_blocked(g) && c1 - c0 >= DL_VL) {
        c0 = DL_FN(pool_blocks)(g, c0, c1, scratch, g->divisor != 0);
        if (c0 == c1) return;
    }
#endif
    if (g->divisor) {
        DL_FN(pool_kind)(g, c0, c1, scratch, 1);
    } else {
        DL_FN(pool_kind)(g, c0, c1, scratch, 0);
    }
}

#undef DL_POOL2
#undef VI
#undef VF
