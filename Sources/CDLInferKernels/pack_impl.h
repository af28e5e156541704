// Packing an operand into micro-kernel panels (the layout is described in DLInferCPU's Pack.swift), compiled by each
// ISA's file after gemv_impl.h (DL_FN). Swift's SIMD types compile to the baseline x86-64 (SSE2): the
// panels were copied in 16-byte pieces and transposed four floats at a time, and packing took a fifth of a 256^3
// product's time at 2 threads. Here the vectors are eight floats wide whatever the panel width.
#include <string.h>

// As in winograd_impl.h: eight-lane values pass between always-inlined helpers only.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpsabi"

static inline __attribute__((always_inline)) dl_v8 dl_pack_load(const float *p) {
    dl_v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

// The first n (1...8) lanes of v to d, each count as a copy of constant size (a call to memcpy otherwise).
static inline __attribute__((always_inline)) void dl_pack_store(float *d, dl_v8 v, int64_t n) {
    switch (n) {
        case 8: memcpy(d, &v, 8 * sizeof(float)); break;
        case 7: memcpy(d, &v, 7 * sizeof(float)); break;
        case 6: memcpy(d, &v, 6 * sizeof(float)); break;
        case 5: memcpy(d, &v, 5 * sizeof(float)); break;
        case 4: memcpy(d, &v, 4 * sizeof(float)); break;
        case 3: memcpy(d, &v, 3 * sizeof(float)); break;
        case 2: memcpy(d, &v, 2 * sizeof(float)); break;
        default: d[0] = v[0]; break;
    }
}

// n floats from s to d, eight at a time.
static inline __attribute__((always_inline)) void dl_pack_copy(float *d, const float *s, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) dl_pack_store(d + i, dl_pack_load(s + i), 8);
    // Four as one copy (AVX-512's 12-row panels end on four), the last few one by one (a loop here became a call to
    // memcpy).
    if (n - i >= 4) {
        memcpy(d + i, s + i, 4 * sizeof(float));
        i += 4;
    }
    switch (n - i) {
        case 3: d[i + 2] = s[i + 2]; // fall through
        case 2: d[i + 1] = s[i + 1]; // fall through
        case 1: d[i] = s[i]; // fall through
        default: break;
    }
}

// Panels whose rows lie along memory (rs == 1): each step's source line is walked once, end to end, and cut into
// w-wide pieces, one per panel.
static inline __attribute__((always_inline)) void dl_pack_lines(float *dst, const float *src, int64_t ks, int64_t rows,
                                                                int64_t kc, int64_t w) {
    int64_t full = rows / w, tail = rows - full * w;
    for (int64_t p = 0; p < kc; p++) {
        const float *sp = src + p * ks;
        for (int64_t j = 0; j < full; j++) dl_pack_copy(dst + j * w * kc + p * w, sp + j * w, w);
        if (tail > 0) {
            // The whole row zeroed, then the tail copied over it: w is a constant here, so this is a few stores,
            // where zeroing just the padding was a call to memset per step (a tenth of a small Winograd layer).
            float *dp = dst + full * w * kc + p * w;
            memset(dp, 0, (size_t)w * sizeof(float));
            dl_pack_copy(dp, sp + full * w, tail);
        }
    }
}

// Panels whose steps lie along memory (ks == 1): each panel row is a source line of kc floats. Eight rows by eight
// steps are loaded as eight vectors and transposed, and each step's piece of up to eight rows is stored at once.
static inline __attribute__((always_inline)) void dl_pack_transposed(float *dst, const float *src, int64_t rs,
                                                                     int64_t rows, int64_t kc, int64_t w) {
    for (int64_t r0 = 0; r0 < rows; r0 += w) {
        float *d = dst + r0 * kc;
        int64_t n = rows - r0 < w ? rows - r0 : w;
        // A partial panel is zeroed first, row by row in stores of the constant width (as in dl_pack_lines).
        if (n < w) {
            for (int64_t p = 0; p < kc; p++) memset(d + p * w, 0, (size_t)w * sizeof(float));
        }
        for (int64_t r = 0; r < n; r += 8) {
            int64_t cnt = n - r < 8 ? n - r : 8;
            // Rows past the panel's last are read again from its last row; their lanes are not stored.
            const float *line[8];
            for (int i = 0; i < 8; i++) line[i] = src + (r0 + r + (i < cnt ? i : cnt - 1)) * rs;
            int64_t p = 0;
            for (; p + 8 <= kc; p += 8) {
                dl_v8 v[8];
                for (int i = 0; i < 8; i++) v[i] = dl_pack_load(line[i] + p);
                dl_transpose8(v);
                for (int i = 0; i < 8; i++) dl_pack_store(d + (p + i) * w + r, v[i], cnt);
            }
            for (; p < kc; p++) {
                for (int64_t i = 0; i < cnt; i++) d[p * w + r + i] = line[i][p];
            }
        }
    }
}

// The panel widths of the kernels (4, 6, 8, 12, 16, 32) as constants, so that the copies and stores above unroll;
// any other width takes the same code with the width left variable.
#define DL_PACK_WIDTHS(CALL) \
    switch (w) { \
        case 4: CALL(4); break; \
        case 6: CALL(6); break; \
        case 8: CALL(8); break; \
        case 12: CALL(12); break; \
        case 16: CALL(16); break; \
        case 32: CALL(32); break; \
        default: CALL(w); break; \
    }

void DL_FN(dl_pack_panels)(float *dst, const float *src, int64_t rs, int64_t ks, int64_t rows, int64_t kc,
                             int64_t w) {
    if (rows <= 0 || kc <= 0 || w <= 0) return;
    if (rs == 1) {
#define DL_LINES(W) dl_pack_lines(dst, src, ks, rows, kc, W)
        DL_PACK_WIDTHS(DL_LINES)
#undef DL_LINES
    } else if (ks == 1) {
#define DL_TRANSPOSED(W) dl_pack_transposed(dst, src, rs, rows, kc, W)
        DL_PACK_WIDTHS(DL_TRANSPOSED)
#undef DL_TRANSPOSED
    } else {
        for (int64_t r0 = 0; r0 < rows; r0 += w) {
            float *d = dst + r0 * kc;
            int64_t n = rows - r0 < w ? rows - r0 : w;
            for (int64_t p = 0; p < kc; p++) {
                for (int64_t r = 0; r < w; r++) d[p * w + r] = r < n ? src[(r0 + r) * rs + p * ks] : 0;
            }
        }
    }
}

#pragma clang diagnostic pop
