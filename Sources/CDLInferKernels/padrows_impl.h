// Copying planes into padded scratch planes row by row, shared by the depthwise and pooling kernels (included after
// gemv_impl.h, which defines the vector type VF and the lane count DL_VL; once per ISA's file).
#ifndef DL_PADROWS_IMPL
#define DL_PADROWS_IMPL

/// Padded rows r0 ..< r1 of a plane from input plane x (ih rows of iw): padded row r holds input row r - ph (rows
/// outside the input hold only padding and are skipped), its first n values from d + r * ld on, with `room` floats
/// there before the row's end. Whole vectors: the last one of a row overlaps the one before it, and a row narrower
/// than a vector is stored with `pad` past its end (where the padding is anyway) from a load that may run past the
/// row, though never past `limit`. Only input values and padding are written, always to the same places, so a padded
/// plane can be refilled in place.
static inline __attribute__((always_inline)) void DL_FN(pad_rows)(const float *x, float *d, int64_t ld, int64_t r0,
                                                                 int64_t r1, int64_t ph, int64_t ih, int64_t iw,
                                                                 int64_t n, int64_t room, const float *limit,
                                                                 float pad) {
    for (int64_t r = r0; r < r1; r++) {
        const int64_t iy = r - ph;
        if (iy < 0 || iy >= ih) continue;
        const float *s = x + iy * iw;
        float *dr = d + r * ld;
        if (n >= DL_VL) {
            int64_t j = 0;
            for (; j + DL_VL <= n; j += DL_VL) *(VF *)(dr + j) = *(const VF *)(s + j);
            if (j < n) *(VF *)(dr + n - DL_VL) = *(const VF *)(s + n - DL_VL);
        } else if (s + DL_VL <= limit && room >= DL_VL) {
            const VF v = *(const VF *)s;
            VF out;
            for (int64_t j = 0; j < DL_VL; j++) out[j] = j < n ? v[j] : pad;
            *(VF *)dr = out;
        } else {
            for (int64_t j = 0; j < n; j++) dr[j] = s[j];
        }
    }
}

#endif
