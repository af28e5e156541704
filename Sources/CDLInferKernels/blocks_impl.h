// Channel blocks: DL_VL planes moved into and out of a layout with the channels innermost (one vector per pixel), by
// 8 x 8 transposes. Small planes (7x7 outputs: dl_dwconv3x3_blocked, dl_pool2d_blocked) then compute every output
// as whole vectors; the depthwise and pooling kernels share this. Defined once per ISA's file, after lanes_impl.h.
#ifndef DL_BLOCKS_IMPL
#define DL_BLOCKS_IMPL
#if DL_VL >= 8

/// Pixel (iy, ix) of the ih x iw planes src[0 ..< DL_VL] into lane l of pad + ((iy + top) * cols + ix + left) *
/// DL_VL, for the pixels that land inside rows x cols; the rest of `pad` is left as it is (the caller's padding).
/// Planes of at least 8 pixels: blocks of 8 run along each plane (dl_next_block).
static inline __attribute__((always_inline)) void dl_lanes_in(const float *const src[DL_VL], int64_t ih, int64_t iw,
                                                              int64_t top, int64_t left, int64_t rows, int64_t cols,
                                                              float *pad) {
    const int64_t n = ih * iw;
    for (int64_t p = 0; p >= 0; p = dl_next_block(p, n, 8)) {
        // Where pixels p ..< p + 8 go in `pad` (-1: outside it).
        int64_t at[8], iy = p / iw, ix = p % iw;
        for (int i = 0; i < 8; i++) {
            const int64_t r = iy + top, q = ix + left;
            at[i] = r < rows && q < cols ? (r * cols + q) * DL_VL : -1;
            if (++ix == iw) { ix = 0; iy++; }
        }
        for (int h = 0; h < DL_VL / 8; h++) {
            dl_v8 v[8];
            for (int i = 0; i < 8; i++) v[i] = *(const dl_v8 *)(src[8 * h + i] + p);
            dl_transpose8(v);
            for (int i = 0; i < 8; i++) {
                if (at[i] >= 0) *(dl_v8 *)(pad + at[i] + 8 * h) = v[i];
            }
        }
    }
}

/// The n pixels of `out` (DL_VL channels each) back into planes: channel l's at y + l * n. n is at least 8.
static inline __attribute__((always_inline)) void dl_lanes_out(const float *out, int64_t n, float *y) {
    for (int64_t p = 0; p >= 0; p = dl_next_block(p, n, 8)) {
        for (int h = 0; h < DL_VL / 8; h++) {
            dl_v8 v[8];
            for (int i = 0; i < 8; i++) v[i] = *(const dl_v8 *)(out + (p + i) * DL_VL + 8 * h);
            dl_transpose8(v);
            for (int j = 0; j < 8; j++) *(dl_v8 *)(y + (8 * h + j) * n + p) = v[j];
        }
    }
}

#endif
#endif
