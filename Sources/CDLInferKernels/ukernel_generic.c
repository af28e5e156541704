// Portable tile in 4-lane vectors (SSE2 on any x86-64, NEON on aarch64): the fallback when no wider kernel applies.
#include <string.h>
#include "ukernels.h"

#define MR DL_GENERIC_MR
#define NR DL_GENERIC_NR
#define VECS (NR / 4)

typedef float v4 __attribute__((vector_size(16)));

static inline __attribute__((always_inline)) void
tile(int64_t kc, const float *a, const float *b, const int64_t *boff, float *c, int64_t ldc, int64_t mr, int64_t nr,
     float alpha, float beta, const dl_epilogue *ep) {
    v4 acc[MR][VECS];
    memset(acc, 0, sizeof acc);
    for (int64_t p = 0; p < kc; p++) {
        v4 bv[VECS];
        memcpy(bv, boff ? b + boff[p] : b, sizeof bv);
        for (int i = 0; i < MR; i++) {
            v4 ai = {a[i], a[i], a[i], a[i]};
            for (int v = 0; v < VECS; v++) acc[i][v] += ai * bv[v];
        }
        a += MR;
        if (!boff) b += NR;
    }
    float t[MR][NR];
    memcpy(t, acc, sizeof t);
    for (int64_t i = 0; i < mr; i++) {
        float *cp = c + i * ldc;
        for (int64_t j = 0; j < nr; j++) {
            float x = alpha * t[i][j];
            if (beta != 0.0f) x += beta * cp[j];
            if (ep && ep->bias) x += ep->bias[i];
            if (ep && ep->residual) x += ep->residual[cp + j - ep->origin];
            // A NaN fails both tests and stays.
            if (ep && ep->clamp) {
                x = x < ep->lo ? ep->lo : x;
                x = x > ep->hi ? ep->hi : x;
            }
            cp[j] = x;
        }
    }
}

void dl_sgemm_ukernel_generic(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                              int64_t mr, int64_t nr, float alpha, float beta, const dl_epilogue *ep) {
    tile(kc, a, b, 0, c, ldc, mr, nr, alpha, beta, ep);
}

void dl_sgemm_indirect_generic(int64_t kc, const float *a, const float *b, const int64_t *boff, float *c, int64_t ldc,
                               int64_t mr, int64_t nr, float alpha, float beta, const dl_epilogue *ep) {
    tile(kc, a, b, boff, c, ldc, mr, nr, alpha, beta, ep);
}

#define DL_VL 4
#define DL_NR DL_GENERIC_NR
#define DL_SUFFIX generic
#include "gemv_impl.h"
#include "vmath_impl.h"
#include "dwconv_impl.h"
#include "pool_impl.h"
#include "winograd_impl.h"
#include "pack_impl.h"
#include "transpose_impl.h"
