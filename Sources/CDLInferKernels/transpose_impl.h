// Yᵀ (pixels x channels) into channel planes, written once with clang vector extensions and compiled by each ISA's
// file: 8 x 8 blocks transposed in registers. Storing each value on its own (one scalar store per lane) took a tenth
// of a 320 -> 1280 channel 1x1 layer at 7x7 on the pixel-rows path.

#include "lanes_impl.h"

// As in winograd_impl.h: eight-lane values pass between always-inlined helpers only.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpsabi"

void DL_FN(dl_transpose_out)(const dl_transpose_out_args *g, int64_t c0, int64_t c1) {
    const int64_t n = g->pixels, ld = g->ld;
    const dl_v8 lo = (dl_v8){} + g->lo, hi = (dl_v8){} + g->hi;
    // Blocks of 8 channels x 8 pixels; the last block of each runs back over the one before (the same values
    // written twice) rather than into another caller's channels or past the plane.
    if (n >= 8 && c1 - c0 >= 8) {
        for (int64_t b = 0; b >= 0; b = dl_next_block(b, c1 - c0, 8)) {
            const int64_t c = c0 + b;
            float *y = g->y + c * n;
            for (int64_t p = 0; p >= 0; p = dl_next_block(p, n, 8)) {
                dl_v8 r[8];
                for (int i = 0; i < 8; i++) r[i] = *(const dl_v8 *)(g->yt + (p + i) * ld + c);
                dl_transpose8(r);
                for (int j = 0; j < 8; j++) {
                    dl_v8 v = r[j] + (g->bias ? g->bias[c + j] : 0.0f);
                    if (g->clamp) v = dl_clamp8(v, lo, hi);
                    *(dl_v8 *)(y + j * n + p) = v;
                }
            }
        }
        return;
    }
    for (int64_t c = c0; c < c1; c++) {
        const float b = g->bias ? g->bias[c] : 0.0f;
        for (int64_t p = 0; p < n; p++) {
            const float v = g->yt[p * ld + c] + b;
            g->y[c * n + p] = g->clamp ? dl_clamp1(v, g->lo, g->hi) : v;
        }
    }
}

#pragma clang diagnostic pop
