// Lane lists for __builtin_shufflevector on DL_VL-lane vectors, shared by the matrix-vector, depthwise and pooling
// kernels. DL_VL is fixed for a whole translation unit (one ISA's file), so the lists are defined once per file.
#ifndef DL_LANES_IMPL
#define DL_LANES_IMPL

/// Blocks of w values over n >= w: the start of the block after the one at p, the last block overlapping the one
/// before it (its values computed twice, rather than a partial block or one past the end); -1 after the last.
static inline __attribute__((always_inline)) int64_t dl_next_block(int64_t p, int64_t n, int64_t w) {
    return p + w == n ? -1 : p + 2 * w <= n ? p + w : n - w;
}

// Lanes picked from two vectors (a, b) side by side: a shifted on by one or two lanes, the even and the odd lanes.
#if DL_VL == 16
#define DL_SHIFT1 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
#define DL_SHIFT2 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17
#define DL_EVENS 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define DL_ODDS 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#elif DL_VL == 8
#define DL_SHIFT1 1, 2, 3, 4, 5, 6, 7, 8
#define DL_SHIFT2 2, 3, 4, 5, 6, 7, 8, 9
#define DL_EVENS 0, 2, 4, 6, 8, 10, 12, 14
#define DL_ODDS 1, 3, 5, 7, 9, 11, 13, 15
#else
#define DL_SHIFT1 1, 2, 3, 4
#define DL_SHIFT2 2, 3, 4, 5
#define DL_EVENS 0, 2, 4, 6
#define DL_ODDS 1, 3, 5, 7
#endif

// The lower and the upper half of each of a and b, and the lower and upper quarter of each half of a and b: adding
// the two picks of a pair folds a and b (or their halves) into one vector.
#if DL_VL == 16
#define DL_HALVES_LO 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define DL_HALVES_HI 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define DL_QUARTERS_LO 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27
#define DL_QUARTERS_HI 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31
#elif DL_VL == 8
#define DL_HALVES_LO 0, 1, 2, 3, 8, 9, 10, 11
#define DL_HALVES_HI 4, 5, 6, 7, 12, 13, 14, 15
#define DL_QUARTERS_LO 0, 1, 4, 5, 8, 9, 12, 13
#define DL_QUARTERS_HI 2, 3, 6, 7, 10, 11, 14, 15
#else
#define DL_HALVES_LO 0, 1, 4, 5
#define DL_HALVES_HI 2, 3, 6, 7
#define DL_QUARTERS_LO 0, 2, 4, 6
#define DL_QUARTERS_HI 1, 3, 5, 7
#endif
#define DL_PICK(a, b, lanes) __builtin_shufflevector(a, b, lanes)

// Eight floats whatever DL_VL: the packing, the depthwise kernel's channel blocks and the transpose of pixel rows
// move 8 x 8 blocks.
typedef float dl_v8 __attribute__((vector_size(32), aligned(4)));

// v raised to lo and lowered to hi, a lane or a float at a time: a NaN compares false both times, so it stays NaN.
// Eight-lane values pass between always-inlined helpers only, so the portable build's warning that their calling
// convention differs without AVX concerns no real call.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpsabi"
static inline __attribute__((always_inline)) dl_v8 dl_clamp8(dl_v8 v, dl_v8 lo, dl_v8 hi) {
    typedef int32_t dl_vi8 __attribute__((vector_size(32), aligned(4)));
    const dl_vi8 below = v < lo, above = v > hi;
    v = (dl_v8)(((dl_vi8)v & ~below) | ((dl_vi8)lo & below));
    return (dl_v8)(((dl_vi8)v & ~above) | ((dl_vi8)hi & above));
}
#pragma clang diagnostic pop

static inline __attribute__((always_inline)) float dl_clamp1(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

// 8 x 8 floats transposed in registers: row i of the input becomes lane i of every output.
static inline __attribute__((always_inline)) void dl_transpose8(dl_v8 r[8]) {
    dl_v8 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 1] = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[i + 2] = __builtin_shufflevector(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 3] = __builtin_shufflevector(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = __builtin_shufflevector(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        r[i + 4] = __builtin_shufflevector(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

#endif
