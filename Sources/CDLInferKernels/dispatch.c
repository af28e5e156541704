#include "dlinfer_kernels.h"
#include "ukernels.h"

#if defined(__x86_64__)
#include <cpuid.h>

static uint64_t xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

// The instruction-set bits alone are not enough: the OS must also save the wider registers (XCR0).
static void detect(int *avx2, int *avx512) {
    unsigned a, b, c, d;
    *avx2 = *avx512 = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx || !fma) return;
    uint64_t x = xcr0();
    if ((x & 0x6) != 0x6) return;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    *avx2 = (b >> 5) & 1;
    *avx512 = *avx2 && ((b >> 16) & 1) && (x & 0xE6) == 0xE6;
}
#endif

void dl_prefetch_l2(const void *p, int64_t bytes) {
    const char *c = (const char *)p;
    // Locality 2: prefetcht1 on x86-64, PRFM PLDL2KEEP on aarch64.
    for (int64_t i = 0; i < bytes; i += 64) __builtin_prefetch(c + i, 0, 2);
}

int32_t dl_cpu_is_intel(void) {
#if defined(__x86_64__)
    // Asked once: the depthwise kernel asks on every call, and in a virtual machine cpuid traps to the hypervisor.
    static int32_t known = -1;
    int32_t v = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (v >= 0) return v;
    unsigned a, b, c, d;
    // The vendor string is in ebx, edx, ecx: "Genu" "ineI" "ntel".
    v = __get_cpuid(0, &a, &b, &c, &d) && b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e;
    __atomic_store_n(&known, v, __ATOMIC_RELAXED);
    return v;
#else
    return 0;
#endif
}

static dl_sgemm_ukernel table[3];
static int32_t table_count;

static void init_table(void) {
    int32_t n = 0;
#if defined(__x86_64__)
    int avx2, avx512;
    detect(&avx2, &avx512);
    if (avx512) table[n++] = (dl_sgemm_ukernel){"avx512", DL_AVX512_MR, DL_AVX512_NR, dl_sgemm_ukernel_avx512,
                                                dl_sgemm_indirect_avx512, dl_sgemv_rows_avx512, dl_sgemv_dots_avx512,
                                                dl_sgemv_packed_avx512, dl_exp_shifted_sum_avx512, dl_erf_avx512,
                                    dl_dwconv3x3_avx512, dl_sigmoid_avx512, dl_tanh_avx512,
                                    dl_pool2d_avx512, dl_winograd_input_avx512,
                                    dl_winograd_output_avx512, dl_pack_panels_avx512,
                                    dl_transpose_out_avx512};
    if (avx2) table[n++] = (dl_sgemm_ukernel){"avx2", DL_AVX2_MR, DL_AVX2_NR, dl_sgemm_ukernel_avx2,
                                              dl_sgemm_indirect_avx2, dl_sgemv_rows_avx2, dl_sgemv_dots_avx2,
                                              dl_sgemv_packed_avx2, dl_exp_shifted_sum_avx2, dl_erf_avx2,
                                    dl_dwconv3x3_avx2, dl_sigmoid_avx2, dl_tanh_avx2,
                                    dl_pool2d_avx2, dl_winograd_input_avx2,
                                    dl_winograd_output_avx2, dl_pack_panels_avx2,
                                    dl_transpose_out_avx2};
#endif
    table[n++] = (dl_sgemm_ukernel){"generic", DL_GENERIC_MR, DL_GENERIC_NR, dl_sgemm_ukernel_generic,
                                    dl_sgemm_indirect_generic, dl_sgemv_rows_generic, dl_sgemv_dots_generic,
                                    dl_sgemv_packed_generic, dl_exp_shifted_sum_generic, dl_erf_generic,
                                    dl_dwconv3x3_generic, dl_sigmoid_generic, dl_tanh_generic,
                                    dl_pool2d_generic, dl_winograd_input_generic,
                                    dl_winograd_output_generic, dl_pack_panels_generic,
                                    dl_transpose_out_generic};
    table_count = n;
}

const dl_sgemm_ukernel *dl_sgemm_ukernels(int32_t *count) {
    // Swift calls this once, from a lazily initialised (thread-safe) global.
    if (table_count == 0) init_table();
    *count = table_count;
    return table;
}
