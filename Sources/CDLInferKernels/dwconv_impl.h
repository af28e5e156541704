// Depthwise 3x3 convolution of one plane, written once with clang vector extensions and compiled by each ISA's file
// (after gemv_impl.h and vmath_impl.h, which define the vector types and the lane count DL_VL).

#define VF DL_CAT(vf, DL_SUFFIX)
#define VI DL_CAT(vi, DL_SUFFIX)

#include "lanes_impl.h"
#include "padrows_impl.h"
#include "blocks_impl.h"

// With vectors of 32 bytes or less the taps are loaded at their own offsets: such a load straddles a cache line at
// most every other vector, which costs less than the lane-crossing shuffles below (slow without AVX-512). Rows for
// stride 2 across are then stored split by column parity (dw_split_rows), so that each tap is one load too. Stride-1
// rows with AVX-512 take such loads too where the shuffles are slow (dw_pairs).
#define DW_LOADS (DL_VL <= 8)

/// DL_VL outputs of one row starting at output column o; row a of the window starts at p + a * ld. Without DW_LOADS,
/// loads are whole aligned vectors where o is a multiple of DL_VL (the padded rows start on 64 bytes): the shifted
/// taps come from lane shuffles rather than loads that straddle cache lines. Each window row has its own sum, added
/// at the end: one chain of nine multiply-adds would make a small plane wait on their latency.
static inline __attribute__((always_inline)) VF DL_FN(dw_vector)(const float *p, int64_t ld, int64_t sw, int64_t o,
                                                                  const float *w, VF bias) {
    VF part[3];
    for (int a = 0; a < 3; a++) {
        if (DW_LOADS) {
            // Stride 2: padded columns 2j, 2j + 1 and 2j + 2 are the evens' j, the odds' j and the evens' j + 1.
            const float *r = p + a * ld + o;
            const VF second = sw == 1 ? *(const VF *)(r + 1) : *(const VF *)(r + ld / 2);
            part[a] = *(const VF *)r * w[3 * a] + second * w[3 * a + 1] + *(const VF *)(r + 3 - sw) * w[3 * a + 2];
            continue;
        }
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
    for (int64_t o = 0; o >= 0; o = dl_next_block(o, ow, DL_VL)) {
        VF v = DL_FN(dw_vector)(top, ld, sw, o, w, vb);
        if (clamp) v = DL_FN(dw_clamp)(v, vlo, vhi);
        *(VF *)(out + o) = v;
    }
}

/// Output rows oy and oy + 1 at stride 1 from the four padded rows from `top` on: each row is loaded once at its three
/// offsets and feeds both outputs (dw_pairs).
static inline __attribute__((always_inline)) void DL_FN(dw_pair)(const float *top, int64_t ld, const float *w, VF vb,
                                                                int clamp, VF vlo, VF vhi, float *out, int64_t ow,
                                                                const float *end) {
    VF k[9];
    for (int t = 0; t < 9; t++) k[t] = DL_FN(splat)(w[t]);
    for (int64_t o = 0; o >= 0; o = dl_next_block(o, ow, DL_VL)) {
        // Per output row one sum for window rows 0 and 1 and one for row 2 (with the bias): shorter chains.
        VF s0 = {}, s1 = {}, t0 = vb, t1 = vb;
        for (int a = 0; a < 4; a++) {
            const float *r = top + a * ld + o;
            const VF x0 = *(const VF *)r, x1 = *(const VF *)(r + 1), x2 = *(const VF *)(r + 2);
            if (a < 2) s0 += x0 * k[3 * a] + x1 * k[3 * a + 1] + x2 * k[3 * a + 2];
            if (a == 2) t0 += x0 * k[6] + x1 * k[7] + x2 * k[8];
            if (a == 1 || a == 2) s1 += x0 * k[3 * a - 3] + x1 * k[3 * a - 2] + x2 * k[3 * a - 1];
            if (a == 3) t1 += x0 * k[6] + x1 * k[7] + x2 * k[8];
        }
        VF v0 = s0 + t0, v1 = s1 + t1;
        if (clamp) { v0 = DL_FN(dw_clamp)(v0, vlo, vhi); v1 = DL_FN(dw_clamp)(v1, vlo, vhi); }
        if (ow < DL_VL) {
            DL_FN(dw_narrow)(out, v0, ow, end);
            DL_FN(dw_narrow)(out + ow, v1, ow, end);
            return;
        }
        *(VF *)(out + o) = v0;
        *(VF *)(out + ow + o) = v1;
    }
}

/// Whether stride-1 rows go in pairs from loads at the taps' offsets (dw_pair) rather than one at a time from whole
/// vectors and shuffles: always with vectors of 32 bytes or less (DW_LOADS), and with AVX-512 off Intel. On Zen 4,
/// whose 512-bit lane-crossing shuffles cost more than Intel's, pairs took 144 channels at 56x56 in 0.159 ms rather
/// than 0.187, 192 at 28x28 0.064 rather than 0.078 (minimum, 1 thread); at stride 2 the shuffles stay (96 channels,
/// 112x112 to 56x56: 0.205 ms with them, 0.225 from split rows).
static inline int DL_FN(dw_pairs)(const dl_dwconv3x3_args *g) {
    return g->sw == 1 && g->sh == 1 && (DW_LOADS || !dl_cpu_is_intel());
}

#if DW_LOADS
/// Stores the even lanes of a, b at `even` and the odd ones at `odd`.
static inline __attribute__((always_inline)) void DL_FN(dw_split)(VF a, VF b, float *even, float *odd) {
    *(VF *)even = DL_PICK(a, b, DL_EVENS);
    *(VF *)odd = DL_PICK(a, b, DL_ODDS);
}

/// Padded rows r0 ..< r1 for stride 2 across, split by column parity: padded column q of row r (input column q - pw)
/// at d + r * ld + q / 2, plus ld / 2 for odd q. Only input values are written, always to the same places.
static inline __attribute__((always_inline)) void DL_FN(dw_split_rows)(const float *x, float *d, int64_t ld,
                                                                      int64_t r0, int64_t r1, int64_t ph, int64_t ih,
                                                                      int64_t iw, int64_t pw, int64_t n,
                                                                      const float *limit) {
    const int64_t half = ld / 2;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t iy = r - ph;
        if (iy < 0 || iy >= ih) continue;
        const float *s = x + iy * iw;
        // Input column i lands at q = pw + i: the even columns in one half from (pw + 0) / 2 on, the odd ones in the
        // other from (pw + 1) / 2 on; column i at i / 2 past its half's start.
        float *even = d + r * ld + (pw & 1) * half + pw / 2, *odd = d + r * ld + (~pw & 1) * half + (pw + 1) / 2;
        int64_t j = 0;
        if (n >= 2 * DL_VL) {
            for (; j + 2 * DL_VL <= n; j += 2 * DL_VL)
                DL_FN(dw_split)(*(const VF *)(s + j), *(const VF *)(s + j + DL_VL), even + j / 2, odd + j / 2);
            if (j < n) {
                // The last whole block, overlapping the one before (from an even column: one may be left over).
                j = (n - 2 * DL_VL) & ~(int64_t)1;
                DL_FN(dw_split)(*(const VF *)(s + j), *(const VF *)(s + j + DL_VL), even + j / 2, odd + j / 2);
                j += 2 * DL_VL;
            }
        } else if (s + 2 * DL_VL <= limit) {
            // A short row from a load that may run past it: the lanes past it are stored as zeros, where only
            // padding or columns no output reads lie.
            VI lane;
            for (int l = 0; l < DL_VL; l++) lane[l] = l;
            const VI first = lane < (int32_t)n, second = lane < (int32_t)n - DL_VL;
            DL_FN(dw_split)((VF)(*(const VI *)s & first), (VF)(*(const VI *)(s + DL_VL) & second), even, odd);
            j = n;
        }
        for (; j < n; j++) (j & 1 ? odd : even)[j / 2] = s[j];
    }
}
#endif

/// The input plane output plane c reads.
static inline const float *DL_FN(dw_source)(const dl_dwconv3x3_args *g, int64_t c) {
    return g->x + (g->multiplier == 1 ? c : c / g->multiplier) * g->ih * g->iw;
}

/// Padded rows r0 ..< r1 of the plane at `slot` from input plane x: n columns of each (dw_planes), or for stride 2
/// across under DW_LOADS those that outputs read, split by parity.
static inline __attribute__((always_inline)) void DL_FN(dw_fill)(const dl_dwconv3x3_args *g, const float *x,
                                                                float *slot, int64_t ld, int64_t r0, int64_t r1,
                                                                const float *limit) {
#if DW_LOADS
    if (g->sw == 2) {
        const int64_t used = 2 * g->ow + 1 - g->pw, split = used < 0 ? 0 : used < g->iw ? used : g->iw;
        DL_FN(dw_split_rows)(x, slot, ld, r0, r1, g->ph, g->ih, g->iw, g->pw, split, limit);
        return;
    }
#endif
    // A row's input values, as many as its padded row holds after the left padding.
    const int64_t n = g->iw < ld - g->pw ? g->iw : ld - g->pw;
    DL_FN(pad_rows)(x, slot + g->pw, ld, r0, r1, g->ph, g->ih, g->iw, n, ld - g->pw, limit, 0);
}

// Where plane c lies in the ring of the two functions below (their locals scratch, c0, ring and plane).
#define DW_SLOT(c) (scratch + ((c) - c0) % ring * plane)

/// Planes c0 ..< c1 through a ring of padded planes (dl_pad_ring): while plane c is computed, plane c + ring - 1 is
/// copied, a large one a few rows after each output row, so that the copy's loads (from memory, for a large layer)
/// run alongside the arithmetic instead of before it, and no row is read soon after it was stored (a vector load from
/// values stored moments before, at another offset, waits for the stores to drain).
static inline __attribute__((always_inline)) void
DL_FN(dw_planes)(const dl_dwconv3x3_args *g, int64_t c0, int64_t c1, float *scratch) {
    const int64_t ld = dl_dwconv3x3_row(g), rows = (g->oh - 1) * g->sh + 3, plane = rows * ld;
    const int64_t ring = dl_dwconv3x3_ring(g), ahead = ring - 1;
    const int64_t ih = g->ih, iw = g->iw, oh = g->oh;
    const int64_t ow = g->ow;
    const int pairs = DL_FN(dw_pairs)(g);
    const int64_t step = ow < DL_VL || pairs ? 2 : 1;
    const float *end = g->y + c1 * oh * ow;
    const float *limit = g->x + ((c1 - 1) / g->multiplier + 1) * ih * iw;
    // The padding zeroed here stays zero (dw_fill writes input values only where they belong).
    for (int64_t j = 0; j < ring * plane; j++) scratch[j] = 0;
    for (int64_t c = c0; c < c0 + ahead && c < c1; c++)
        DL_FN(dw_fill)(g, DL_FN(dw_source)(g, c), DW_SLOT(c), ld, 0, rows, limit);
    for (int64_t c = c0; c < c1; c++) {
        const float *p = DW_SLOT(c);
        const int64_t cn = c + ahead;
        const float *nx = cn < c1 ? DL_FN(dw_source)(g, cn) : 0;
        float *next = DW_SLOT(cn);
        const VF vb = DL_FN(splat)(g->bias ? g->bias[c] : 0), vlo = DL_FN(splat)(g->lo), vhi = DL_FN(splat)(g->hi);
        const float *w = g->w + 9 * c;
        float *y = g->y + c * oh * ow;
        int64_t copied = nx ? 0 : rows;
        if (plane < DL_PAD_RING && copied < rows) {
            // Small planes are copied whole.
            DL_FN(dw_fill)(g, nx, next, ld, 0, rows, limit);
            copied = rows;
        }
        for (int64_t oy = 0; oy < oh; oy += step) {
            if (pairs && oy + 1 < oh) {
                DL_FN(dw_pair)(p + oy * ld, ld, w, vb, g->clamp, vlo, vhi, y + oy * ow, ow, end);
            } else if (step == 2 && oy + 1 < oh) {
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
                DL_FN(dw_fill)(g, nx, next, ld, copied, upto, limit);
                copied = upto;
            }
        }
    }
}

#if DL_VL == 16
// Rows of at most 7 outputs at stride 1 (7x7 planes): padded rows 8 floats apart, so that one vector holds two output
// rows (and a discarded lane each) and 7 rows take 4 vectors instead of 7; with one column of left padding, a row's
// right padding is the next row's left.
#define DW_FLAT 8
typedef float DL_CAT(vh, DL_SUFFIX) __attribute__((vector_size(DW_FLAT * 4), aligned(4)));
#define VH DL_CAT(vh, DL_SUFFIX)

/// Stride 1 both ways (across known), rows of at most 7 outputs, and an input row with its left padding within 8
/// floats: a tap past a row's last input reads zero, the row's own right padding or (the 8th column) the next row's
/// left padding.
static inline int DL_FN(dw_flat_fits)(const dl_dwconv3x3_args *g) {
    return g->sh == 1 && g->ow <= DW_FLAT - 1 && g->pw + g->iw <= DW_FLAT && (g->ow < DW_FLAT - 1 || g->pw >= 1);
}

/// Stores one output row (ow <= 7) from 8 lanes: whole where the lanes past the row land on outputs written later.
static inline __attribute__((always_inline)) void DL_FN(dw_flat_store)(float *out, VH v, int64_t ow,
                                                                      const float *end) {
    if (out + DW_FLAT <= end) {
        *(VH *)out = v;
    } else {
        for (int64_t j = 0; j < ow; j++) out[j] = v[j];
    }
}

/// Copies input plane x into the flat padded plane d (already offset by the left padding): 8 lanes a row, those past
/// the row zero, from a load that may run past the row, though never past `limit`.
static inline __attribute__((always_inline)) void DL_FN(dw_flat_copy)(const float *x, float *d, int64_t rows,
                                                                     int64_t ph, int64_t ih, int64_t iw,
                                                                     const float *limit) {
    for (int64_t r = 0; r < rows; r++) {
        const int64_t iy = r - ph;
        if (iy < 0 || iy >= ih) continue;
        const float *s = x + iy * iw;
        if (s + DW_FLAT <= limit) {
            const VH v = *(const VH *)s;
            VH o;
            for (int64_t j = 0; j < DW_FLAT; j++) o[j] = j < iw ? v[j] : 0.0f;
            *(VH *)(d + r * DW_FLAT) = o;
        } else {
            for (int64_t j = 0; j < iw; j++) d[r * DW_FLAT + j] = s[j];
        }
    }
}

/// Planes c0 ..< c1 (dw_flat_fits) through a ring of such padded planes, each copied whole two or more planes ahead.
static inline __attribute__((always_inline)) void
DL_FN(dw_planes_flat)(const dl_dwconv3x3_args *g, int64_t c0, int64_t c1, float *scratch) {
    const int64_t ih = g->ih, iw = g->iw, ph = g->ph, pw = g->pw, oh = g->oh, ow = g->ow, rows = oh + 2;
    // Rows past the plane's (read by a last, half-used vector) stay zero; whole 16-float blocks keep planes on 64
    // bytes. The scratch holds a ring of the usual planes, which are larger.
    const int64_t plane = ((oh + 5) * DW_FLAT + 15) / 16 * 16;
    const int64_t ring = dl_dwconv3x3_scratch(g) / plane, ahead = ring - 1;
    const float *end = g->y + c1 * oh * ow;
    const float *limit = g->x + ((c1 - 1) / g->multiplier + 1) * ih * iw;
    for (int64_t j = 0; j < ring * plane; j++) scratch[j] = 0;
    for (int64_t c = c0; c < c0 + ahead && c < c1; c++)
        DL_FN(dw_flat_copy)(DL_FN(dw_source)(g, c), DW_SLOT(c) + pw, rows, ph, ih, iw, limit);
    const VF vlo = DL_FN(splat)(g->lo), vhi = DL_FN(splat)(g->hi);
    for (int64_t c = c0; c < c1; c++) {
        if (c + ahead < c1) DL_FN(dw_flat_copy)(DL_FN(dw_source)(g, c + ahead), DW_SLOT(c + ahead) + pw, rows, ph, ih, iw, limit);
        const float *p = DW_SLOT(c), *w = g->w + 9 * c;
        const VF vb = DL_FN(splat)(g->bias ? g->bias[c] : 0);
        float *y = g->y + c * oh * ow;
        for (int64_t oy = 0; oy < oh; oy += 2) {
            // Output rows oy and oy + 1; every tap is one load, the row's column plus the tap's offset.
            const float *q = p + oy * DW_FLAT;
            VF part[3];
            for (int a = 0; a < 3; a++) {
                const float *r = q + a * DW_FLAT;
                part[a] = *(const VF *)r * w[3 * a] + *(const VF *)(r + 1) * w[3 * a + 1] +
                          *(const VF *)(r + 2) * w[3 * a + 2];
            }
            VF v = (vb + part[0]) + (part[1] + part[2]);
            if (g->clamp) v = DL_FN(dw_clamp)(v, vlo, vhi);
            DL_FN(dw_flat_store)(y + oy * ow, __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7), ow, end);
            if (oy + 1 < oh)
                DL_FN(dw_flat_store)(y + (oy + 1) * ow, __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15),
                                     ow, end);
        }
    }
#undef DW_SLOT
}
#undef VH
#undef DW_FLAT
#endif

#if DL_VL >= 8
/// Output planes c ..< c + DL_VL (dl_dwconv3x3_blocked) with the channels innermost (blocks_impl.h): the input
/// planes' pixels go into `pad` (zero-padded, DL_VL channels a pixel), each output pixel is one vector of DL_VL
/// channels whose every tap is one load (the weights stay in registers), and `out` (DL_VL channels a pixel) goes back
/// into the planes.
static inline __attribute__((always_inline)) void DL_FN(dw_block)(const dl_dwconv3x3_args *g, int64_t c, float *pad,
                                                                 float *out) {
    const int64_t oh = g->oh, ow = g->ow, sh = g->sh, sw = g->sw;
    const int64_t rows = (oh - 1) * sh + 3, cols = (ow - 1) * sw + 3, on = oh * ow;
    const float *src[DL_VL];
    for (int l = 0; l < DL_VL; l++) src[l] = DL_FN(dw_source)(g, c + l);
    dl_lanes_in(src, g->ih, g->iw, g->ph, g->pw, rows, cols, pad);
    float taps[9 * DL_VL];
    for (int l = 0; l < DL_VL; l++) {
        for (int t = 0; t < 9; t++) taps[t * DL_VL + l] = g->w[9 * (c + l) + t];
    }
    VF k[9];
    for (int t = 0; t < 9; t++) k[t] = *(const VF *)(taps + t * DL_VL);
    const VF vb = g->bias ? *(const VF *)(g->bias + c) : (VF){}, vlo = DL_FN(splat)(g->lo), vhi = DL_FN(splat)(g->hi);
    for (int64_t oy = 0; oy < oh; oy++) {
        for (int64_t ox = 0; ox < ow; ox++) {
            const float *q = pad + (oy * sh * cols + ox * sw) * DL_VL;
            // A sum per window row: shorter chains.
            VF part[3];
            for (int a = 0; a < 3; a++) {
                const float *r = q + a * cols * DL_VL;
                part[a] = *(const VF *)r * k[3 * a] + *(const VF *)(r + DL_VL) * k[3 * a + 1] +
                          *(const VF *)(r + 2 * DL_VL) * k[3 * a + 2];
            }
            VF v = (vb + part[0]) + (part[1] + part[2]);
            if (g->clamp) v = DL_FN(dw_clamp)(v, vlo, vhi);
            *(VF *)(out + (oy * ow + ox) * DL_VL) = v;
        }
    }
    dl_lanes_out(out, on, g->y + c * on);
}
#endif

void DL_FN(dl_dwconv3x3)(const dl_dwconv3x3_args *g, int64_t c0, int64_t c1, float *scratch) {
#if DL_VL >= 8
    if (dl_dwconv3x3_blocked(g) && c1 - c0 >= DL_VL) {
        // After the ring the per-plane code below uses for the channels left over.
        float *pad = scratch + dl_dwconv3x3_scratch(g) - dl_dwconv3x3_block(g);
        const int64_t padded = ((g->oh - 1) * g->sh + 3) * ((g->ow - 1) * g->sw + 3) * DL_VL;
        // The padding zeroed here stays zero: only input pixels are written.
        for (int64_t j = 0; j < padded; j++) pad[j] = 0;
        for (; c0 + DL_VL <= c1; c0 += DL_VL) DL_FN(dw_block)(g, c0, pad, pad + padded);
        if (c0 == c1) return;
    }
#endif
    // Stride across is a constant in each copy, so the loads and shuffles of the other one are compiled out.
    if (g->sw == 1) {
        dl_dwconv3x3_args one = *g;
        one.sw = 1;
#if DL_VL == 16
        if (DL_FN(dw_flat_fits)(g)) {
            DL_FN(dw_planes_flat)(&one, c0, c1, scratch);
            return;
        }
#endif
        DL_FN(dw_planes)(&one, c0, c1, scratch);
    } else {
        dl_dwconv3x3_args two = *g;
        two.sw = 2;
        DL_FN(dw_planes)(&two, c0, c1, scratch);
    }
}

#undef DW_LOADS
#undef VI
#undef VF
