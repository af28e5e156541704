// Winograd F(4x4, 3x3)'s input and output transforms, written once with clang vector extensions and compiled by
// each ISA's file (after gemv_impl.h and vmath_impl.h, which define the vector types and the lane count DL_VL).
// Tiles go eight to a vector whatever the ISA: a tile row of the planes these layers see (7 to 28 outputs wide)
// holds 2 to 7 tiles, so wider vectors would mostly carry empty lanes.

// Eight-lane values pass between always-inlined helpers only, so the portable build's warning that their calling
// convention differs without AVX concerns no real call.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpsabi"

#define VF DL_CAT(vf, DL_SUFFIX)
#define V8 DL_CAT(v8, DL_SUFFIX)
#define V16 DL_CAT(v16, DL_SUFFIX)
#define V32 DL_CAT(v32, DL_SUFFIX)
typedef float V8 __attribute__((vector_size(32), aligned(4)));
typedef float V16 __attribute__((vector_size(64), aligned(4)));
typedef float V32 __attribute__((vector_size(128), aligned(4)));

#define DL_EVERY4TH 0, 4, 8, 12, 16, 20, 24, 28
#define DL_ZIP8 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15
#define DL_ZIP16 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23, \
    8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31

static inline __attribute__((always_inline)) V8 DL_FN(wg_splat8)(float x) { return (V8){} + x; }

/// Bᵀ down six input rows at once over the whole width: q_k = Σ_i Bᵀ[k][i] r_i, written at `q` + k * ld.
static inline __attribute__((always_inline)) void
DL_FN(wg_columns)(const float *const r[6], int64_t width, float *q, int64_t ld) {
    int64_t x = 0;
    for (; x + DL_VL <= width; x += DL_VL) {
        const VF r0 = *(const VF *)(r[0] + x), r1 = *(const VF *)(r[1] + x), r2 = *(const VF *)(r[2] + x);
        const VF r3 = *(const VF *)(r[3] + x), r4 = *(const VF *)(r[4] + x), r5 = *(const VF *)(r[5] + x);
        *(VF *)(q + x) = 4 * r0 - 5 * r2 + r4;
        *(VF *)(q + ld + x) = r4 + r3 - 4 * (r1 + r2);
        *(VF *)(q + 2 * ld + x) = r4 - r3 + 4 * (r1 - r2);
        *(VF *)(q + 3 * ld + x) = r4 - r2 + 2 * (r3 - r1);
        *(VF *)(q + 4 * ld + x) = r4 - r2 - 2 * (r3 - r1);
        *(VF *)(q + 5 * ld + x) = 4 * r1 - 5 * r3 + r5;
    }
    for (; x < width; x++) {
        const float r0 = r[0][x], r1 = r[1][x], r2 = r[2][x], r3 = r[3][x], r4 = r[4][x], r5 = r[5][x];
        q[x] = 4 * r0 - 5 * r2 + r4;
        q[ld + x] = r4 + r3 - 4 * (r1 + r2);
        q[2 * ld + x] = r4 - r3 + 4 * (r1 - r2);
        q[3 * ld + x] = r4 - r2 + 2 * (r3 - r1);
        q[4 * ld + x] = r4 - r2 - 2 * (r3 - r1);
        q[5 * ld + x] = 4 * r1 - 5 * r3 + r5;
    }
}

/// Column j of eight adjacent tiles (a lane each) from a transformed row: its every fourth element from j on.
static inline __attribute__((always_inline)) V8 DL_FN(wg_every4th)(const float *q, int j) {
    const V32 v = *(const V32 *)(q + j);
    return __builtin_shufflevector(v, v, DL_EVERY4TH);
}

/// Stores the first n lanes (n <= 8): with a masked store where the ISA's file defines DL_STORE_LANES8 (element by
/// element, the partial groups that end each tile row took a third of densenet121's input transform at 56x56).
static inline __attribute__((always_inline)) void DL_FN(wg_store)(float *p, V8 v, int64_t n) {
    if (n == 8) {
        *(V8 *)p = v;
    } else {
#ifdef DL_STORE_LANES8
        DL_STORE_LANES8(p, v, n);
#else
        for (int64_t e = 0; e < n; e++) p[e] = v[e];
#endif
    }
}

static void DL_FN(wg_input_channel)(const dl_winograd_input_args *g, const float *x, float *v, float *rows) {
    const int64_t rl = dl_winograd_input_row(g), width = g->width, height = g->height, tiles_w = g->tiles_w;
    const int64_t t0 = g->t0, end = g->t0 + g->tc;
    const float *zero = rows + 6 * rl;
    for (int64_t t = t0; t < end;) {
        const int64_t th = t / tiles_w, tw0 = t % tiles_w, tw1 = tiles_w < tw0 + (end - t) ? tiles_w : tw0 + (end - t);
        const int64_t top = th * 4 - g->pad_top;
        const float *r[6];
        for (int i = 0; i < 6; i++) r[i] = top + i >= 0 && top + i < height ? x + (top + i) * width : zero;
        DL_FN(wg_columns)(r, width, rows + g->pad_left, rl);
        // Along each row: tile tw reads q_k[4 tw + j], j < 6 (the left padding is already in the offset).
        for (int64_t tw = tw0; tw < tw1; tw += 8) {
            const int64_t n = tw1 - tw < 8 ? tw1 - tw : 8;
            float *o = v + (t - t0 + tw - tw0);
            for (int k = 0; k < 6; k++) {
                const float *q = rows + k * rl + 4 * tw;
                const V8 s0 = DL_FN(wg_every4th)(q, 0), s1 = DL_FN(wg_every4th)(q, 1), s2 = DL_FN(wg_every4th)(q, 2);
                const V8 s3 = DL_FN(wg_every4th)(q, 3), s4 = DL_FN(wg_every4th)(q, 4), s5 = DL_FN(wg_every4th)(q, 5);
                float *d = o + k * 6 * g->ld;
                DL_FN(wg_store)(d, 4 * s0 - 5 * s2 + s4, n);
                DL_FN(wg_store)(d + g->ld, s4 + s3 - 4 * (s1 + s2), n);
                DL_FN(wg_store)(d + 2 * g->ld, s4 - s3 + 4 * (s1 - s2), n);
                DL_FN(wg_store)(d + 3 * g->ld, s4 - s2 + 2 * (s3 - s1), n);
                DL_FN(wg_store)(d + 4 * g->ld, s4 - s2 - 2 * (s3 - s1), n);
                DL_FN(wg_store)(d + 5 * g->ld, 4 * s1 - 5 * s3 + s5, n);
            }
        }
        t += tw1 - tw0;
    }
}

void DL_FN(dl_winograd_input)(const dl_winograd_input_args *g, int64_t c0, int64_t c1, float *scratch) {
    // Only the interior of each row is ever written, so the padding and the zero row zeroed here stay zero.
    const int64_t n = dl_winograd_input_scratch(g);
    for (int64_t j = 0; j < n; j++) scratch[j] = 0;
    for (int64_t c = c0; c < c1; c++) {
        DL_FN(wg_input_channel)(g, g->x + c * g->height * g->width, g->v + c * g->tc, scratch);
    }
}

/// Aᵀ applied to six vectors: four.
static inline __attribute__((always_inline)) void DL_FN(wg_at)(const V8 *s, int step, V8 *out, int out_step) {
    const V8 s0 = s[0], s1 = s[step], s2 = s[2 * step], s3 = s[3 * step], s4 = s[4 * step], s5 = s[5 * step];
    out[0] = s0 + s1 + s2 + s3 + s4;
    out[out_step] = s1 - s2 + 2 * (s3 - s4);
    out[2 * out_step] = s1 + s2 + 4 * (s3 + s4);
    out[3 * out_step] = s1 - s2 + 8 * (s3 - s4) + s5;
}

/// The first n (<= 8) lanes of p + xi * ld for each ξ (the rest zero).
static inline __attribute__((always_inline)) void DL_FN(wg_load36)(const float *p, int64_t ld, int64_t n, V8 s[36]) {
    for (int xi = 0; xi < 36; xi++) {
        const float *q = p + xi * ld;
        if (n == 8) {
            s[xi] = *(const V8 *)q;
        } else {
            V8 lanes = {};
            for (int64_t e = 0; e < n; e++) lanes[e] = q[e];
            s[xi] = lanes;
        }
    }
}

/// Aᵀ M A of one 6x6 block of M (a lane per tile or per channel), plus the bias, clamped when `clamp` is set.
static inline __attribute__((always_inline)) void DL_FN(wg_finish)(const V8 s[36], V8 vb, int clamp, V8 lo, V8 hi,
                                                                   V8 r[16]) {
    V8 a[24];
    // Aᵀ M down each column (4 rows of 6), then (Aᵀ M) A along each row (4 x 4).
    for (int j = 0; j < 6; j++) DL_FN(wg_at)(s + j, 6, a + j, 6);
    for (int i = 0; i < 4; i++) DL_FN(wg_at)(a + i * 6, 1, r + i * 4, 1);
    for (int e = 0; e < 16; e++) {
        V8 u = r[e] + vb;
        r[e] = clamp ? dl_clamp8(u, lo, hi) : u;
    }
}

/// v + r, then clamped when the layer clamps (NaN stays NaN).
static inline __attribute__((always_inline)) float DL_FN(wg_add_residual)(const dl_winograd_output_args *g, float v,
                                                                          float r) {
    v += r;
    return g->clamp ? dl_clamp1(v, g->lo, g->hi) : v;
}

static void DL_FN(wg_output_channel)(const dl_winograd_output_args *g, const float *m, float *y, const float *res,
                                     float bias) {
    const int64_t tiles_w = g->tiles_w, height = g->height, width = g->width, ld = g->ld;
    // With a residual, the clamp waits until it is added, as each value is stored.
    const int clamp_now = g->clamp && !res;
    const V8 vb = DL_FN(wg_splat8)(bias), lo = DL_FN(wg_splat8)(g->lo), hi = DL_FN(wg_splat8)(g->hi);
    for (int64_t t = 0; t < g->tc; t += 8) {
        const int64_t n = g->tc - t < 8 ? g->tc - t : 8;
        V8 s[36], r[16];
        DL_FN(wg_load36)(m + t, ld, n, s);
        DL_FN(wg_finish)(s, vb, clamp_now, lo, hi, r);
        // Output row i of the eight tiles side by side: tile k's four columns at 4k.
        float out[4][32];
        for (int i = 0; i < 4; i++) {
            const V16 lo2 = __builtin_shufflevector(r[4 * i], r[4 * i + 2], DL_ZIP8);
            const V16 hi2 = __builtin_shufflevector(r[4 * i + 1], r[4 * i + 3], DL_ZIP8);
            *(V32 *)out[i] = __builtin_shufflevector(lo2, hi2, DL_ZIP16);
        }
        // Runs of lanes in one tile row are contiguous in the output, clipped at its right and bottom edges.
        for (int64_t k = 0; k < n;) {
            const int64_t tile = g->t0 + t + k, th = tile / tiles_w, tw = tile % tiles_w;
            const int64_t run = n - k < tiles_w - tw ? n - k : tiles_w - tw;
            const int64_t cols = 4 * run < width - 4 * tw ? 4 * run : width - 4 * tw;
            const int64_t rows = height - 4 * th < 4 ? height - 4 * th : 4;
            for (int64_t i = 0; i < rows; i++) {
                const int64_t at = (4 * th + i) * width + 4 * tw;
                float *dst = y + at;
                const float *src = out[i] + 4 * k;
                if (!res) {
                    for (int64_t j = 0; j < cols; j++) dst[j] = src[j];
                    continue;
                }
                for (int64_t j = 0; j < cols; j++) dst[j] = DL_FN(wg_add_residual)(g, src[j], res[at + j]);
            }
            k += run;
        }
    }
}

/// Output planes o0 ..< o1 from M laid out tiles x channels (`ldt` set): eight channels to a vector, read
/// contiguously, then each channel's 4x4 block stored on its own.
static void DL_FN(wg_output_rows)(const dl_winograd_output_args *g, int64_t o0, int64_t o1) {
    const int64_t tiles_w = g->tiles_w, height = g->height, width = g->width, plane = height * width;
    const int clamp_now = g->clamp && !g->residual;
    const V8 lo = DL_FN(wg_splat8)(g->lo), hi = DL_FN(wg_splat8)(g->hi);
    for (int64_t o = o0; o < o1; o += 8) {
        const int64_t n = o1 - o < 8 ? o1 - o : 8;
        V8 vb = {};
        if (g->bias) for (int64_t e = 0; e < n; e++) vb[e] = g->bias[o + e];
        for (int64_t t = 0; t < g->tc; t++) {
            V8 s[36], r[16];
            DL_FN(wg_load36)(g->m + t * g->ldt + o, g->ld, n, s);
            DL_FN(wg_finish)(s, vb, clamp_now, lo, hi, r);
            const int64_t tile = g->t0 + t, th = tile / tiles_w, tw = tile % tiles_w;
            const int64_t rows = height - 4 * th < 4 ? height - 4 * th : 4, cols = width - 4 * tw < 4 ? width - 4 * tw : 4;
            const int64_t at = 4 * th * width + 4 * tw;
            for (int64_t e = 0; e < n; e++) {
                float *dst = g->y + (o + e) * plane + at;
                const float *res = g->residual ? g->residual + (o + e) * plane + at : 0;
                for (int64_t i = 0; i < rows; i++) {
                    for (int64_t j = 0; j < cols; j++) {
                        const float v = r[4 * i + j][e];
                        dst[i * width + j] = res ? DL_FN(wg_add_residual)(g, v, res[i * width + j]) : v;
                    }
                }
            }
        }
    }
}

void DL_FN(dl_winograd_output)(const dl_winograd_output_args *g, int64_t o0, int64_t o1) {
    if (g->ldt) {
        DL_FN(wg_output_rows)(g, o0, o1);
        return;
    }
    for (int64_t o = o0; o < o1; o++) {
        const int64_t plane = o * g->height * g->width;
        DL_FN(wg_output_channel)(g, g->m + o * g->tc, g->y + plane, g->residual ? g->residual + plane : 0,
                                 g->bias ? g->bias[o] : 0);
    }
}

#undef DL_EVERY4TH
#undef DL_ZIP8
#undef DL_ZIP16
#undef V32
#undef V16
#undef V8
#undef VF

#pragma clang diagnostic pop
