// 6x16 tile: 12 ymm accumulators (of 16 registers), two B vectors per step, one broadcast register.
#if defined(__x86_64__)
#include <immintrin.h>
#include "ukernels.h"

#define TARGET __attribute__((target("avx2,fma")))
#define MR DL_AVX2_MR
#define NR DL_AVX2_NR

TARGET __attribute__((always_inline)) static inline void
tile(const int ROWS, const int VECS, const int RES, int64_t kc, const float *a, const float *b, const int64_t *boff, float *c,
     int64_t ldc, int64_t nr, float alpha, float beta, const dl_epilogue *ep) {
    __m256 acc[MR][2];
    _Pragma("unroll") for (int i = 0; i < ROWS; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _Pragma("unroll") for (int v = 0; v < VECS; v++) acc[i][v] = _mm256_setzero_ps();
    }
    for (int64_t p = 0; p < kc; p++) {
        const float *bp = boff ? b + boff[p] : b;
        if (boff) _mm_prefetch((const char *)(bp + NR), _MM_HINT_T0);
        __m256 b0 = _mm256_loadu_ps(bp);
        __m256 b1 = VECS > 1 ? _mm256_loadu_ps(bp + 8) : b0;
        _Pragma("unroll") for (int i = 0; i < ROWS; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            if (VECS > 1) acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += MR;
        if (!boff) b += NR;
    }
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask[2] = {
        _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr), lane),
        _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr - 8), lane),
    };
    const int full = nr == NR;
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const float *bias = ep ? ep->bias : 0, *residual = RES ? ep->residual : 0;
    const int clamp = ep && ep->clamp;
    const __m256 lo = _mm256_set1_ps(clamp ? ep->lo : 0), hi = _mm256_set1_ps(clamp ? ep->hi : 0);
    _Pragma("unroll") for (int i = 0; i < ROWS; i++) {
        _Pragma("unroll") for (int v = 0; v < VECS; v++) {
            float *cp = c + i * ldc + 8 * v;
            __m256 x = alpha == 1.0f ? acc[i][v] : _mm256_mul_ps(acc[i][v], va);
            if (beta != 0.0f) {
                __m256 old = full ? _mm256_loadu_ps(cp) : _mm256_maskload_ps(cp, mask[v]);
                x = beta == 1.0f ? _mm256_add_ps(x, old) : _mm256_fmadd_ps(vb, old, x);
            }
            if (bias) x = _mm256_add_ps(x, _mm256_set1_ps(bias[i]));
            if (RES) {
                const float *rp = residual + (cp - ep->origin);
                x = _mm256_add_ps(x, full ? _mm256_loadu_ps(rp) : _mm256_maskload_ps(rp, mask[v]));
            }
            // max and min return their second operand when either is NaN: NaN stays NaN.
            if (clamp) x = _mm256_min_ps(hi, _mm256_max_ps(lo, x));
            if (full) _mm256_storeu_ps(cp, x); else _mm256_maskstore_ps(cp, mask[v], x);
        }
    }
}

#define CASE(R, RES) case R: TILE(R, RES) break;
#define TILE(R, RES) \
    if (nr > 8) tile(R, 2, RES, kc, a, b, boff, c, ldc, nr, alpha, beta, ep); \
    else tile(R, 1, RES, kc, a, b, boff, c, ldc, nr, alpha, beta, ep);

// One switch for every entry point: ROWS and VECS must be constants where `tile` is inlined.
#define DISPATCH(RES) switch (mr) { \
        CASE(1, RES) CASE(2, RES) CASE(3, RES) CASE(4, RES) CASE(5, RES) \
        default: TILE(6, RES) \
    }

// The tiles that add a residual, in a function of their own: with both kinds in one function the compiler compiled
// the usual tiles differently (AVX-512: 728 -> 494 multiply-adds in the entry point's code, 451 -> 716 stack accesses).
TARGET __attribute__((noinline)) static void residual_tiles(int64_t kc, const float *a, const float *b,
                                                           const int64_t *boff, float *c, int64_t ldc, int64_t mr,
                                                           int64_t nr, float alpha, float beta, const dl_epilogue *ep) {
    DISPATCH(1)
}

TARGET void dl_sgemm_ukernel_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                    int64_t mr, int64_t nr, float alpha, float beta, const dl_epilogue *ep) {
    const int64_t *boff = 0;
    if (ep && ep->residual) {
        residual_tiles(kc, a, b, boff, c, ldc, mr, nr, alpha, beta, ep);
        return;
    }
    DISPATCH(0)
}

TARGET void dl_sgemm_indirect_avx2(int64_t kc, const float *a, const float *b, const int64_t *boff, float *c,
                                     int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta,
                                     const dl_epilogue *ep) {
    if (ep && ep->residual) {
        residual_tiles(kc, a, b, boff, c, ldc, mr, nr, alpha, beta, ep);
        return;
    }
    DISPATCH(0)
}

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define DL_VL 8
#define DL_NR DL_AVX2_NR
#define DL_SUFFIX avx2
#define DL_STORE_LANES8(p, v, n) \
    _mm256_maskstore_ps((p), _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), \
                        (__m256)(v))
#include "gemv_impl.h"
#include "vmath_impl.h"
#include "dwconv_impl.h"
#include "pool_impl.h"
#include "winograd_impl.h"
#include "pack_impl.h"
#include "transpose_impl.h"
#pragma clang attribute pop
#endif
