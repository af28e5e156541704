// Internal: the kernel variants and their tile sizes.
#ifndef DLINFER_UKERNELS_H
#define DLINFER_UKERNELS_H
#include <stdint.h>
#include "dlinfer_kernels.h"

#define DL_AVX512_MR 12
#define DL_AVX512_NR 32
#define DL_AVX2_MR 6
#define DL_AVX2_NR 16
#if defined(__aarch64__)
#define DL_GENERIC_MR 8
#define DL_GENERIC_NR 12
#else
#define DL_GENERIC_MR 4
#define DL_GENERIC_NR 8
#endif

#define DL_DECLARE_KERNELS(S) \
    void dl_sgemm_ukernel_##S(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t mr, \
                              int64_t nr, float alpha, float beta, const dl_epilogue *ep); \
    void dl_sgemv_rows_##S(int64_t k, int64_t n, const float *x, int64_t ldx, const float *v, float *y); \
    void dl_sgemv_dots_##S(int64_t m, int64_t k, const float *x, int64_t ldx, const float *v, float *y); \
    void dl_sgemv_packed_##S(int64_t kc, const float *a, const float *b, int64_t panels, float *y); \
    float dl_exp_shifted_sum_##S(int64_t n, const float *x, float shift, float *y); \
    void dl_erf_##S(int64_t n, const float *x, float *y); \
    void dl_sigmoid_##S(int64_t n, const float *x, float *y); \
    void dl_tanh_##S(int64_t n, const float *x, float *y); \
    void dl_pool2d_##S(const dl_pool2d_args *g, int64_t c0, int64_t c1, float *scratch); \
    void dl_sgemm_indirect_##S(int64_t kc, const float *a, const float *b, const int64_t *boff, float *c, \
                               int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta, \
                               const dl_epilogue *ep); \
    void dl_dwconv3x3_##S(const dl_dwconv3x3_args *g, int64_t c0, int64_t c1, float *scratch); \
    void dl_winograd_input_##S(const dl_winograd_input_args *g, int64_t c0, int64_t c1, float *scratch); \
    void dl_winograd_output_##S(const dl_winograd_output_args *g, int64_t o0, int64_t o1); \
    void dl_pack_panels_##S(float *dst, const float *src, int64_t rs, int64_t ks, int64_t rows, int64_t kc, \
                            int64_t width); \
    void dl_transpose_out_##S(const dl_transpose_out_args *g, int64_t c0, int64_t c1);
DL_DECLARE_KERNELS(avx512)
DL_DECLARE_KERNELS(avx2)
DL_DECLARE_KERNELS(generic)
#endif
