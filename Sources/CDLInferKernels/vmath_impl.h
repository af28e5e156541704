// Vector exp (softmax rows) and erf, written once with clang vector extensions and compiled by each ISA's file
// (after gemv_impl.h, which defines the float vector type and the lane count DL_VL).

#define VF DL_CAT(vf, DL_SUFFIX)
typedef int32_t DL_CAT(vi, DL_SUFFIX) __attribute__((vector_size(DL_VL * 4), aligned(4)));
#define VI DL_CAT(vi, DL_SUFFIX)

/// exp(x) for x <= 0: Cephes' range reduction x = k ln2 + r and a degree-6 polynomial for exp(r), within 2 ulp of
/// expf. k comes from the 1.5 * 2^23 rounding trick, whose bit pattern also holds k as an integer. Below -87.3 the
/// result is 0 (where expf would give a denormal); NaN stays NaN.
static inline __attribute__((always_inline)) VF DL_FN(exp_nonpositive)(VF x) {
    const VF lo = DL_FN(splat)(-87.3f);
    const VI under = x < lo, nan = x != x;
    const VF xc = (VF)(((VI)x & ~under) | ((VI)lo & under));
    const VF shifted = xc * 1.44269504088896341f + 12582912.0f;
    const VF k = shifted - 12582912.0f;
    VF r = xc - k * 0.693359375f;
    r = r + k * 2.12194440e-4f;
    const VF z = r * r;
    VF p = DL_FN(splat)(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + r + 1.0f;
    const VI kb = (VI)shifted - 0x4B400000;
    const VF e = p * (VF)((kb + 127) << 23);
    // 0 below the range, x itself (NaN) where x is NaN.
    return (VF)(((VI)e & ~(under | nan)) | ((VI)x & nan));
}

/// y[j] = exp(x[j] - shift) for j < n (y may be x, or NULL to only sum); returns the sum.
float DL_FN(dl_exp_shifted_sum)(int64_t n, const float *x, float shift, float *y) {
    VF acc = {};
    int64_t j = 0;
    for (; j + DL_VL <= n; j += DL_VL) {
        const VF e = DL_FN(exp_nonpositive)(*(const VF *)(x + j) - shift);
        if (y) *(VF *)(y + j) = e;
        acc += e;
    }
    float sum = 0;
    for (int q = 0; q < DL_VL; q++) sum += acc[q];
    if (j < n) {
        VF t = {};
        for (int64_t q = 0; q < n - j; q++) t[q] = x[j + q];
        const VF e = DL_FN(exp_nonpositive)(t - shift);
        for (int64_t q = 0; q < n - j; q++) {
            if (y) y[j + q] = e[q];
            sum += e[q];
        }
    }
    return sum;
}

/// erf(x) = x * P(x^2) / Q(x^2) on (-4, 4), ±1 beyond (erf is ±1 to float precision there): a rational fit of ours, by
/// iteratively reweighted least squares on the relative error (tools/fit_erf.py), within 6 ulp of erf in float32.
/// NaN stays NaN.
static inline __attribute__((always_inline)) VF DL_FN(erf_vec)(VF x) {
    const VF four = DL_FN(splat)(4.0f), minus_four = DL_FN(splat)(-4.0f);
    const VI nan = x != x;
    VF c = x;
    const VI above = c > four, below = c < minus_four;
    c = (VF)(((VI)c & ~above) | ((VI)four & above));
    c = (VF)(((VI)c & ~below) | ((VI)minus_four & below));
    const VF t = c * c;
    VF p = DL_FN(splat)(-1.32149180e-08f);
    p = p * t + 4.68736665e-06f;
    p = p * t + 3.79696557e-04f;
    p = p * t + 3.84948198e-03f;
    p = p * t + 5.43177634e-02f;
    p = p * t + 1.85193185e-01f;
    p = p * t + 1.12837917e+00f;
    VF q = DL_FN(splat)(6.31350373e-05f);
    q = q * t + 1.30766103e-03f;
    q = q * t + 1.54621367e-02f;
    q = q * t + 1.13956202e-01f;
    q = q * t + 4.97456601e-01f;
    q = q * t + 1.0f;
    const VF e = c * p / q;
    // Beyond ±4 erf is ±1 exactly in float32 (the fit is a few ulp short of it there), so that GELU(-inf) is
    // -inf * 0 = NaN as with libm's erff.
    const VI sat = (x >= four) | (x <= minus_four);
    const VF one = (VF)(((VI)x & (int32_t)0x80000000) | (VI)DL_FN(splat)(1.0f));
    const VF r = (VF)(((VI)e & ~sat) | ((VI)one & sat));
    return (VF)(((VI)r & ~nan) | ((VI)x & nan));
}

/// sigmoid(x) = 1 / (1 + e^-x) from e = exp(-|x|), which cannot overflow: 1 / (1 + e) for x >= 0, e / (1 + e)
/// below. Within a few ulp; NaN stays NaN.
static inline __attribute__((always_inline)) VF DL_FN(sigmoid_vec)(VF x) {
    const VF e = DL_FN(exp_nonpositive)((VF)((VI)x | (int32_t)0x80000000));
    const VF r = 1.0f / (1.0f + e);
    const VI negative = x < 0;
    return (VF)(((VI)r & ~negative) | ((VI)(e * r) & negative));
}

/// tanh(|x|) = (1 - e) / (1 + e) with e = exp(-2|x|), except below 0.25, where that cancels and the odd Taylor
/// series to x^9 is exact to float precision; the sign is restored at the end. NaN stays NaN.
static inline __attribute__((always_inline)) VF DL_FN(tanh_vec)(VF x) {
    const VI sign = (VI)x & (int32_t)0x80000000;
    const VF a = (VF)((VI)x & 0x7fffffff);
    const VF e = DL_FN(exp_nonpositive)(-2.0f * a);
    const VF t = (1.0f - e) / (1.0f + e);
    const VF a2 = a * a;
    VF s = DL_FN(splat)(62.0f / 2835);
    s = s * a2 - 17.0f / 315;
    s = s * a2 + 2.0f / 15;
    s = s * a2 - 1.0f / 3;
    s = a + a * a2 * s;
    const VI small = a < 0.25f;
    return (VF)((((VI)t & ~small) | ((VI)s & small)) | sign);
}

/// y[j] = f(x[j]) for j < n (y may be x): whole vectors, then the tail through a zero-padded one.
#define DL_DEFINE_MAP(NAME, VEC)                                                                                  \
    void DL_FN(NAME)(int64_t n, const float *x, float *y) {                                                       \
        int64_t j = 0;                                                                                            \
        for (; j + DL_VL <= n; j += DL_VL) *(VF *)(y + j) = DL_FN(VEC)(*(const VF *)(x + j));                     \
        if (j < n) {                                                                                              \
            VF t = {};                                                                                            \
            for (int64_t q = 0; q < n - j; q++) t[q] = x[j + q];                                                  \
            const VF e = DL_FN(VEC)(t);                                                                           \
            for (int64_t q = 0; q < n - j; q++) y[j + q] = e[q];                                                  \
        }                                                                                                         \
    }
DL_DEFINE_MAP(dl_erf, erf_vec)
DL_DEFINE_MAP(dl_sigmoid, sigmoid_vec)
DL_DEFINE_MAP(dl_tanh, tanh_vec)
#undef DL_DEFINE_MAP

#undef VI
#undef VF
