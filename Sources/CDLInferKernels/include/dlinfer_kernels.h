#ifndef DLINFER_KERNELS_H
#define DLINFER_KERNELS_H
// SGEMM micro-kernels for the CPU backend: the only code written in C, because Swift cannot compile one function for
// several instruction sets and pick one at run time. Everything else (packing, blocking, threading) is Swift.
#include <stdint.h>

/// C[mr x nr] (row stride ldc) = alpha * Ap * Bp + beta * C, where Ap is a packed A panel (kc steps of MR floats, one
/// per row) and Bp a packed B panel (kc steps of NR floats, one per column), both zero-padded to the full tile.
/// 1 <= mr <= MR, 1 <= nr <= NR. With beta == 0, C is not read.
typedef void (*dl_sgemm_ukernel_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                    int64_t mr, int64_t nr, float alpha, float beta);

typedef struct {
    const char *name;
    int32_t mr;
    int32_t nr;
    dl_sgemm_ukernel_fn kernel;
} dl_sgemm_ukernel;

/// The micro-kernels this CPU can run, fastest first (checked with cpuid, including OS support for the registers).
const dl_sgemm_ukernel *dl_sgemm_ukernels(int32_t *count);

#endif
