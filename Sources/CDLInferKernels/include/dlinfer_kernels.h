#ifndef DLINFER_KERNELS_H
#define DLINFER_KERNELS_H
// SGEMM, SGEMV and vector-math kernels for the CPU backend: the only code written in C, because Swift cannot
// compile one function for several instruction sets and pick one at run time. Everything else (packing, blocking,
// threading) is Swift.
#include <stdint.h>

/// C[mr x nr] (row stride ldc) = alpha * Ap * Bp + beta * C, where Ap is a packed A panel (kc steps of MR floats, one
/// per row) and Bp a packed B panel (kc steps of NR floats, one per column), both zero-padded to the full tile.
/// 1 <= mr <= MR, 1 <= nr <= NR. With beta == 0, C is not read.
typedef void (*dl_sgemm_ukernel_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                    int64_t mr, int64_t nr, float alpha, float beta);

/// The micro-kernel with B read in place instead of packed: step p's NR floats start at b + boff[p], and all NR
/// must be readable even when nr < NR (the extra columns are computed and dropped). Convolution uses it to read the
/// zero-padded input directly, without im2col (boff[p] is input channel and tap p's offset).
typedef void (*dl_sgemm_indirect_fn)(int64_t kc, const float *a, const float *b, const int64_t *boff, float *c,
                                     int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta);

/// y[j] = sum_p v[p] * x[p * ldx + j] for j < n (y overwritten): a vector times the rows of a matrix.
typedef void (*dl_sgemv_rows_fn)(int64_t k, int64_t n, const float *x, int64_t ldx, const float *v, float *y);
/// y[i] = sum_p x[i * ldx + p] * v[p] for i < m: the rows of a matrix dotted with a vector.
typedef void (*dl_sgemv_dots_fn)(int64_t m, int64_t k, const float *x, int64_t ldx, const float *v, float *y);
/// y[q * NR + j] += sum_p a[p] * b[q][p][j] for `panels` consecutive packed B panels of depth kc.
typedef void (*dl_sgemv_packed_fn)(int64_t kc, const float *a, const float *b, int64_t panels, float *y);

/// y[j] = exp(x[j] - shift) for j < n, returning their sum: the exponentials of a softmax row after subtracting its
/// maximum (x[j] - shift <= 0; below -87.3 the result is 0, NaN stays NaN, elsewhere within 2 ulp of expf). y may
/// be x, or NULL to only sum.
typedef float (*dl_exp_sum_fn)(int64_t n, const float *x, float shift, float *y);
/// y[j] = erf(x[j]) for j < n (within 6 ulp; NaN stays NaN); y may be x.
typedef void (*dl_erf_fn)(int64_t n, const float *x, float *y);

/// One instruction set's kernels: the SGEMM micro-kernel (tile mr x nr) and its in-place-B form, the matrix-vector
/// kernels, the softmax exponential and erf.
typedef struct {
    const char *name;
    int32_t mr;
    int32_t nr;
    dl_sgemm_ukernel_fn kernel;
    dl_sgemm_indirect_fn indirect;
    dl_sgemv_rows_fn gemv_rows;
    dl_sgemv_dots_fn gemv_dots;
    dl_sgemv_packed_fn gemv_packed;
    dl_exp_sum_fn exp_sum;
    dl_erf_fn erf;
} dl_sgemm_ukernel;

/// The kernel sets this CPU can run, fastest first (checked with cpuid, including OS support for the registers).
const dl_sgemm_ukernel *dl_sgemm_ukernels(int32_t *count);

#endif
