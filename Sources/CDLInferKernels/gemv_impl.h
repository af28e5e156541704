// Matrix-vector kernels, written once with clang vector extensions and compiled by each ISA's file (which defines
// DL_VL, the float lanes per vector, DL_NR, the packed panel width, and DL_SUFFIX, inside its target attribute).
#include <stdint.h>

#define DL_CAT2(a, b) a##_##b
#define DL_CAT(a, b) DL_CAT2(a, b)
#define DL_FN(name) DL_CAT(name, DL_SUFFIX)
#define DL_NV (DL_NR / DL_VL)

// aligned(4): loads and stores through this type need no alignment.
typedef float DL_CAT(vf, DL_SUFFIX) __attribute__((vector_size(DL_VL * 4), aligned(4)));
#define VF DL_CAT(vf, DL_SUFFIX)

static inline __attribute__((always_inline)) VF DL_FN(splat)(float x) { return (VF){} + x; }

#include "lanes_impl.h"

/// The sums of the lanes of s0..s3 into t[0..3]: two folds of vector pairs, then DL_VL / 4 lanes each. Adding each
/// vector's lanes one by one cost more than the products themselves in short rows (a recurrent step's 640 x 32 input
/// projection).
static inline __attribute__((always_inline)) void DL_FN(sum4)(VF s0, VF s1, VF s2, VF s3, float t[4]) {
    const VF u01 = DL_PICK(s0, s1, DL_HALVES_LO) + DL_PICK(s0, s1, DL_HALVES_HI);
    const VF u23 = DL_PICK(s2, s3, DL_HALVES_LO) + DL_PICK(s2, s3, DL_HALVES_HI);
    const VF w = DL_PICK(u01, u23, DL_QUARTERS_LO) + DL_PICK(u01, u23, DL_QUARTERS_HI);
    for (int i = 0; i < 4; i++) {
        float sum = 0;
        for (int l = 0; l < DL_VL / 4; l++) sum += w[i * (DL_VL / 4) + l];
        t[i] = sum;
    }
}

/// y[j] = sum_p v[p] * x[p * ldx + j] for j < n (y overwritten).
void DL_FN(dl_sgemv_rows)(int64_t k, int64_t n, const float *x, int64_t ldx, const float *v, float *y) {
    // Eight rows at a time: eight long sequential streams keep enough requests in flight when x comes from DRAM;
    // column chunks are wide for the same reason yet keep y in L1.
    for (int64_t j0 = 0; j0 < n; j0 += 2048) {
        const int64_t w = n - j0 < 2048 ? n - j0 : 2048;
        float *yp = y + j0;
        for (int64_t j = 0; j < w; j++) yp[j] = 0;
        int64_t p = 0;
        for (; p + 8 <= k; p += 8) {
            const float *r[8];
            float c[8];
            for (int q = 0; q < 8; q++) { r[q] = x + (p + q) * ldx + j0; c[q] = v[p + q]; }
            VF c0 = DL_FN(splat)(c[0]), c1 = DL_FN(splat)(c[1]), c2 = DL_FN(splat)(c[2]), c3 = DL_FN(splat)(c[3]);
            VF c4 = DL_FN(splat)(c[4]), c5 = DL_FN(splat)(c[5]), c6 = DL_FN(splat)(c[6]), c7 = DL_FN(splat)(c[7]);
            int64_t j = 0;
            for (; j + DL_VL <= w; j += DL_VL) {
                VF s = *(const VF *)(r[0] + j) * c0 + *(const VF *)(r[1] + j) * c1 + *(const VF *)(r[2] + j) * c2 +
                       *(const VF *)(r[3] + j) * c3;
                VF t = *(const VF *)(r[4] + j) * c4 + *(const VF *)(r[5] + j) * c5 + *(const VF *)(r[6] + j) * c6 +
                       *(const VF *)(r[7] + j) * c7;
                *(VF *)(yp + j) += s + t;
            }
            for (; j < w; j++) {
                float s = 0;
                for (int q = 0; q < 8; q++) s += c[q] * r[q][j];
                yp[j] += s;
            }
        }
        for (; p < k; p++) {
            const float *r = x + p * ldx + j0;
            const float c = v[p];
            for (int64_t j = 0; j < w; j++) yp[j] += c * r[j];
        }
    }
}

/// y[0..<ROWS] for ROWS (4 or 8, a constant where this is inlined) consecutive rows of dl_sgemv_dots: one stream
/// per row, and each load of v serves them all.
static inline __attribute__((always_inline)) void DL_FN(dots_rows)(const int ROWS, int64_t k, const float *x,
                                                                   int64_t ldx, const float *v, float *y) {
    VF s[8] = {};
    int64_t p = 0;
    for (; p + DL_VL <= k; p += DL_VL) {
        const VF vv = *(const VF *)(v + p);
        for (int u = 0; u < ROWS; u++) s[u] += *(const VF *)(x + u * ldx + p) * vv;
    }
    float t[8];
    for (int u = 0; u < ROWS; u += 4) DL_FN(sum4)(s[u], s[u + 1], s[u + 2], s[u + 3], t + u);
    for (int u = 0; u < ROWS; u++) {
        const float *r = x + u * ldx;
        for (int64_t q = p; q < k; q++) t[u] += r[q] * v[q];
        y[u] = t[u];
    }
}

/// y[i] = sum_p x[i * ldx + p] * v[p] for i < m.
void DL_FN(dl_sgemv_dots)(int64_t m, int64_t k, const float *x, int64_t ldx, const float *v, float *y) {
    int64_t i = 0;
    // Eight rows at a time, where there are eight: eight streams keep more requests in flight when x is cold.
    for (; i + 8 <= m; i += 8) DL_FN(dots_rows)(8, k, x + i * ldx, ldx, v, y + i);
    for (; i + 4 <= m; i += 4) DL_FN(dots_rows)(4, k, x + i * ldx, ldx, v, y + i);
    for (; i < m; i++) {
        const float *r = x + i * ldx;
        VF s = {};
        int64_t p = 0;
        for (; p + DL_VL <= k; p += DL_VL) s += *(const VF *)(r + p) * *(const VF *)(v + p);
        float t = 0;
        for (int l = 0; l < DL_VL; l++) t += s[l];
        for (; p < k; p++) t += r[p] * v[p];
        y[i] = t;
    }
}

/// y[q * NR + j] += sum_p a[p] * b[q][p][j] over `panels` packed B panels of depth kc (a single-row product on a
/// packed operand). Four panels at a time, so that four streams are in flight.
void DL_FN(dl_sgemv_packed)(int64_t kc, const float *a, const float *b, int64_t panels, float *y) {
    const int64_t step = (int64_t)DL_NR * kc;
    int64_t q = 0;
    for (; q + 4 <= panels; q += 4) {
        const float *b0 = b + q * step, *b1 = b0 + step, *b2 = b1 + step, *b3 = b2 + step;
        VF acc[4][DL_NV];
        for (int u = 0; u < 4; u++) for (int v = 0; v < DL_NV; v++) acc[u][v] = (VF){};
        for (int64_t p = 0; p < kc; p++) {
            VF av = DL_FN(splat)(a[p]);
            for (int v = 0; v < DL_NV; v++) {
                acc[0][v] += av * *(const VF *)(b0 + p * DL_NR + v * DL_VL);
                acc[1][v] += av * *(const VF *)(b1 + p * DL_NR + v * DL_VL);
                acc[2][v] += av * *(const VF *)(b2 + p * DL_NR + v * DL_VL);
                acc[3][v] += av * *(const VF *)(b3 + p * DL_NR + v * DL_VL);
            }
        }
        for (int u = 0; u < 4; u++)
            for (int v = 0; v < DL_NV; v++) *(VF *)(y + (q + u) * DL_NR + v * DL_VL) += acc[u][v];
    }
    for (; q < panels; q++) {
        const float *bq = b + q * step;
        VF acc[DL_NV];
        for (int v = 0; v < DL_NV; v++) acc[v] = (VF){};
        for (int64_t p = 0; p < kc; p++) {
            VF av = DL_FN(splat)(a[p]);
            for (int v = 0; v < DL_NV; v++) acc[v] += av * *(const VF *)(bq + p * DL_NR + v * DL_VL);
        }
        for (int v = 0; v < DL_NV; v++) *(VF *)(y + q * DL_NR + v * DL_VL) += acc[v];
    }
}

#undef VF
