// The float32 UnaryMath functions (MATH_*, UnaryMathCode in Sources/DLInferOpenCL/Launchers/Math.swift), each as
// the CPU backend computes it: NaN in gives NaN out, Round is half to even (rint), Sign keeps ±0 and NaN, and
// Softplus, Swish and the ELU family are written not to overflow.

inline float softplus_f(float x) { return x > 0.0f ? x + log1p(exp(-x)) : log1p(exp(x)); }

// `fn` is uniform across a launch, so the switch costs nothing on SIMT hardware.
inline float unary_math(float x, int fn, float a, float b) {
    switch (fn) {
    case MATH_ABS: return fabs(x);
    case MATH_NEG: return -x;
    case MATH_SIGN: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x);
    case MATH_LOG: return log(x);
    case MATH_RECIPROCAL: return 1.0f / x;
    case MATH_FLOOR: return floor(x);
    case MATH_CEIL: return ceil(x);
    case MATH_ROUND: return rint(x);
    case MATH_ERF: return erf(x);
    case MATH_SIN: return sin(x);
    case MATH_COS: return cos(x);
    case MATH_TAN: return tan(x);
    case MATH_ASIN: return asin(x);
    case MATH_ACOS: return acos(x);
    case MATH_ATAN: return atan(x);
    case MATH_SINH: return sinh(x);
    case MATH_COSH: return cosh(x);
    case MATH_ASINH: return asinh(x);
    case MATH_ACOSH: return acosh(x);
    case MATH_ATANH: return atanh(x);
    case MATH_SOFTPLUS: return softplus_f(x);
    case MATH_SOFTSIGN: return x / (1.0f + fabs(x));
    case MATH_MISH: return x * tanh(softplus_f(x));
    case MATH_HARD_SWISH: return x * unit_clamp(x / 6.0f + 0.5f);
    case MATH_GELU: return 0.5f * x * (1.0f + erf(x * 0.70710678118654752440f));
    // 0.5 (1 + tanh u) as the logistic of 2u: drivers' tanh may stop short of -1, which would turn Gelu(-inf)
    // into -inf where the CPU's formula gives NaN (-inf * 0).
    case MATH_GELU_TANH: return x * sigmoid_f(1.5957691216057307118f * (x + 0.044715f * x * x * x));
    case MATH_SELU: return x > 0.0f ? b * x : b * a * expm1(x);          // a = alpha, b = gamma
    case MATH_CELU: return x > 0.0f ? x : a * expm1(x / a);
    case MATH_SWISH: return x * sigmoid_f(a * x);
    case MATH_THRESHOLDED_RELU: return x > a ? x : 0.0f;
    case MATH_SHRINK:
    default: return x < -b ? x + a : (x > b ? x - a : 0.0f);          // a = bias, b = lambd
    }
}

__kernel void unary_math_f32(__global const real_t* x, __global real_t* y, int n, int fn, float a, float b) {
    int i = get_global_id(0);
    if (i >= n) return;
    STORE(y, i, unary_math(LOAD(x, i), fn, a, b));
}
