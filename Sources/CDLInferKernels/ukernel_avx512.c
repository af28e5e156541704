// 12x32 tile: 24 zmm accumulators (of 32 registers), two B vectors per step, A broadcast from memory.
#if defined(__x86_64__)
#include <immintrin.h>
#include "ukernels.h"

#define TARGET __attribute__((target("avx512f,fma")))
#define MR DL_AVX512_MR
#define NR DL_AVX512_NR

// ROWS and VECS are compile-time constants at every call, so the loops unroll and acc stays in registers.
TARGET __attribute__((always_inline)) static inline void
tile(const int ROWS, const int VECS, const int RES, int64_t kc, const float *a, const float *b, const int64_t *boff, float *c,
     int64_t ldc, int64_t nr, float alpha, float beta, const dl_epilogue *ep) {
    __m512 acc[MR][2];
    _Pragma("unroll") for (int i = 0; i < ROWS; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 16), _MM_HINT_T0);
        _Pragma("unroll") for (int v = 0; v < VECS; v++) acc[i][v] = _mm512_setzero_ps();
    }
    for (int64_t p = 0; p < kc; p++) {
        const float *bp = boff ? b + boff[p] : b;
        // Read in place, the next panel's columns are two lines in another channel plane for every step, too many
        // streams for the hardware prefetcher: fetched now, they are in L1 when the next tile reads them (1x1
        // layers at 55x55 and 56x56, 128 -> 16 and 144 -> 24 channels, took 14-15 % less time).
        if (boff) {
            _mm_prefetch((const char *)(bp + NR), _MM_HINT_T0);
            _mm_prefetch((const char *)(bp + NR + 16), _MM_HINT_T0);
        }
        __m512 b0 = _mm512_loadu_ps(bp);
        __m512 b1 = VECS > 1 ? _mm512_loadu_ps(bp + 16) : b0;
        _Pragma("unroll") for (int i = 0; i < ROWS; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            if (VECS > 1) acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += MR;
        if (!boff) b += NR;
    }
    const __mmask16 mask[2] = {
        nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1),
        nr >= 32 ? (__mmask16)0xFFFF : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : (__mmask16)0,
    };
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    const float *bias = ep ? ep->bias : 0, *residual = RES ? ep->residual : 0;
    const int clamp = ep && ep->clamp;
    const __m512 lo = _mm512_set1_ps(clamp ? ep->lo : 0), hi = _mm512_set1_ps(clamp ? ep->hi : 0);
    _Pragma("unroll") for (int i = 0; i < ROWS; i++) {
        _Pragma("unroll") for (int v = 0; v < VECS; v++) {
            float *cp = c + i * ldc + 16 * v;
            __m512 x = alpha == 1.0f ? acc[i][v] : _mm512_mul_ps(acc[i][v], va);
            if (beta == 1.0f) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask[v], cp));
            else if (beta != 0.0f) x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask[v], cp), x);
            if (bias) x = _mm512_add_ps(x, _mm512_set1_ps(bias[i]));
            if (RES) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask[v], residual + (cp - ep->origin)));
            // max and min return their second operand when either is NaN: NaN stays NaN.
            if (clamp) x = _mm512_min_ps(hi, _mm512_max_ps(lo, x));
            _mm512_mask_storeu_ps(cp, mask[v], x);
        }
    }
}

#define CASE(R, RES) case R: TILE(R, RES) break;
#define TILE(R, RES) \
    if (nr > 16) tile(R, 2, RES, kc, a, b, boff, c, ldc, nr, alpha, beta, ep); \
    else tile(R, 1, RES, kc, a, b, boff, c, ldc, nr, alpha, beta, ep);

// One switch for every entry point: ROWS and VECS must be constants where `tile` is inlined.
#define DISPATCH(RES) switch (mr) { \
        CASE(1, RES) CASE(2, RES) CASE(3, RES) CASE(4, RES) CASE(5, RES) CASE(6, RES) CASE(7, RES) CASE(8, RES) CASE(9, RES) CASE(10, RES) CASE(11, RES) \
        default: TILE(12, RES) \
    }

// The tiles that add a residual, in a function of their own: with both kinds in one function the compiler compiled
// the usual tiles differently (AVX-512: 728 -> 494 multiply-adds in the entry point's code, 451 -> 716 stack accesses).
TARGET __attribute__((noinline)) static void residual_tiles(int64_t kc, const float *a, const float *b,
                                                           const int64_t *boff, float *c, int64_t ldc, int64_t mr,
                                                           int64_t nr, float alpha, float beta, const dl_epilogue *ep) {
    DISPATCH(1)
}

TARGET void dl_sgemm_ukernel_avx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                    int64_t mr, int64_t nr, float alpha, float beta, const dl_epilogue *ep) {
    const int64_t *boff = 0;
    if (ep && ep->residual) {
        residual_tiles(kc, a, b, boff, c, ldc, mr, nr, alpha, beta, ep);
        return;
    }
    DISPATCH(0)
}

TARGET void dl_sgemm_indirect_avx512(int64_t kc, const float *a, const float *b, const int64_t *boff, float *c,
                                     int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta,
                                     const dl_epilogue *ep) {
    if (ep && ep->residual) {
        residual_tiles(kc, a, b, boff, c, ldc, mr, nr, alpha, beta, ep);
        return;
    }
    DISPATCH(0)
}

#pragma clang attribute push(__attribute__((target("avx512f,fma"))), apply_to = function)
#define DL_VL 16
#define DL_NR DL_AVX512_NR
#define DL_SUFFIX avx512
#define DL_STORE_LANES8(p, v, n) \
    _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1), _mm512_castps256_ps512((__m256)(v)))
#include "gemv_impl.h"
#include "vmath_impl.h"
#include "dwconv_impl.h"
#include "pool_impl.h"
#include "winograd_impl.h"
#include "pack_impl.h"
#include "transpose_impl.h"
#pragma clang attribute pop
#endif
