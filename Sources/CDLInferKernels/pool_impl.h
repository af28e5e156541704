// The interior of a max-pooling output row, written once with clang vector extensions and compiled by each ISA's
// file (after gemv_impl.h and vmath_impl.h, which define the vector types and the lane count DL_VL).

#define VF DL_CAT(vf, DL_SUFFIX)
#define VI DL_CAT(vi, DL_SUFFIX)
// A stride-2 row's DL_VL inputs from two loads, the second one DL_VL - 1 on (so nothing past the last input is
// read): the even lanes of the first and the odd lanes of the second.
#if DL_VL == 16
#define DL_POOL2 0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31
#elif DL_VL == 8
#define DL_POOL2 0, 2, 4, 6, 9, 11, 13, 15
#else
#define DL_POOL2 0, 2, 5, 7
#endif

/// out[o] = the largest of rows[r][off[t] + o * stride] over rows r then taps t, for o in o0 ..< o1, stride 1 or 2;
/// a value wins only when greater, so the first of equal values (signed zeros) stays and NaN never wins.
void DL_FN(dl_maxpool_row)(float *out, int64_t o0, int64_t o1, const float *const *rows, int64_t nrows,
                           const int64_t *off, int64_t taps, int64_t stride) {
    int64_t o = o0;
    if (o1 - o0 >= DL_VL) {
        for (;;) {
            VF acc = DL_FN(splat)(-__builtin_inff());
            for (int64_t r = 0; r < nrows; r++) {
                for (int64_t t = 0; t < taps; t++) {
                    const float *p = rows[r] + off[t] + o * stride;
                    VF v;
                    if (stride == 1) {
                        v = *(const VF *)p;
                    } else {
                        const VF first = *(const VF *)p, second = *(const VF *)(p + DL_VL - 1);
                        v = __builtin_shufflevector(first, second, DL_POOL2);
                    }
                    const VI wins = v > acc;
                    acc = (VF)(((VI)v & wins) | ((VI)acc & ~wins));
                }
            }
            // The last vector overlaps the one before: outputs are written, not accumulated.
            *(VF *)(out + o) = acc;
            if (o + DL_VL == o1) return;
            o = o + 2 * DL_VL <= o1 ? o + DL_VL : o1 - DL_VL;
        }
    }
    for (; o < o1; o++) {
        float acc = -__builtin_inff();
        for (int64_t r = 0; r < nrows; r++) {
            for (int64_t t = 0; t < taps; t++) {
                const float v = rows[r][off[t] + o * stride];
                acc = v > acc ? v : acc;
            }
        }
        out[o] = acc;
    }
}

#undef DL_POOL2
#undef VI
#undef VF
