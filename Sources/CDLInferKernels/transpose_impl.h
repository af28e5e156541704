// Yᵀ (pixels x channels) into channel planes, written once with clang vector extensions and compiled by each ISA's
// file: 8 x 8 blocks transposed in registers. Storing each value on its own (one scalar store per lane) took a tenth
// of a 320 -> 1280 channel 1x1 layer at 7x7 on the pixel-rows path.

#include "lanes_impl.h"

#define V8 dl_v8
#define VI8 DL_CAT(vti8, DL_SUFFIX)
typedef int32_t VI8 __attribute__((vector_size(32), aligned(4)));

static inline __attribute__((always_inline)) float DL_FN(tr_scalar)(const dl_transpose_out_args *g, float v) {
    // A NaN fails both tests and stays.
    if (g->clamp) {
        v = v < g->lo ? g->lo : v;
        v = v > g->hi ? g->hi : v;
    }
    return v;
}

void DL_FN(dl_transpose_out)(const dl_transpose_out_args *g, int64_t c0, int64_t c1) {
    const int64_t n = g->pixels, ld = g->ld;
    const V8 lo = (V8){} + g->lo, hi = (V8){} + g->hi;
    int64_t c = c0;
    // Blocks of 8 channels x 8 pixels; the last block of each runs back over the one before (the same values
    // written twice) rather than into another caller's channels or past the plane.
    if (n >= 8 && c1 - c0 >= 8) {
        for (;; c += 8) {
            if (c + 8 > c1) c = c1 - 8;
            float *y = g->y + c * n;
            for (int64_t p = 0;;) {
                V8 r[8];
                for (int i = 0; i < 8; i++) r[i] = *(const V8 *)(g->yt + (p + i) * ld + c);
                dl_transpose8(r);
                for (int j = 0; j < 8; j++) {
                    V8 v = r[j] + (g->bias ? g->bias[c + j] : 0.0f);
                    if (g->clamp) {
                        const VI8 below = v < lo, above = v > hi;
                        v = (V8)(((VI8)v & ~below) | ((VI8)lo & below));
                        v = (V8)(((VI8)v & ~above) | ((VI8)hi & above));
                    }
                    *(V8 *)(y + j * n + p) = v;
                }
                if (p + 8 == n) break;
                p = p + 16 <= n ? p + 8 : n - 8;
            }
            if (c + 8 == c1) return;
        }
    }
    for (; c < c1; c++) {
        const float b = g->bias ? g->bias[c] : 0.0f;
        for (int64_t p = 0; p < n; p++) g->y[c * n + p] = DL_FN(tr_scalar)(g, g->yt[p * ld + c] + b);
    }
}

#undef VI8
#undef V8
