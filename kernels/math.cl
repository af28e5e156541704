// The float32 UnaryMath functions (codes match UnaryMathCL in Sources/DLInferOpenCL/Launchers/Math.swift), each as
// the CPU backend computes it: NaN in gives NaN out, Round is half to even (rint), Sign keeps ±0 and NaN, and
// Softplus, Swish and the ELU family are written not to overflow.

#define M_ABS 0
#define M_NEG 1
#define M_SIGN 2
#define M_LOG 3
#define M_RECIPROCAL 4
#define M_FLOOR 5
#define M_CEIL 6
#define M_ROUND 7
#define M_ERF 8
#define M_SIN 9
#define M_COS 10
#define M_TAN 11
#define M_ASIN 12
#define M_ACOS 13
#define M_ATAN 14
#define M_SINH 15
#define M_COSH 16
#define M_ASINH 17
#define M_ACOSH 18
#define M_ATANH 19
#define M_SOFTPLUS 20
#define M_SOFTSIGN 21
#define M_MISH 22
#define M_HARD_SWISH 23
#define M_GELU 24
#define M_GELU_TANH 25
#define M_SELU 26
#define M_CELU 27
#define M_SWISH 28
#define M_THRESHOLDED_RELU 29
#define M_SHRINK 30

inline float softplus_f(float x) { return x > 0.0f ? x + log1p(exp(-x)) : log1p(exp(x)); }

// `fn` is uniform across a launch, so the switch costs nothing on SIMT hardware.
inline float unary_math(float x, int fn, float a, float b) {
    switch (fn) {
    case M_ABS: return fabs(x);
    case M_NEG: return -x;
    case M_SIGN: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x);
    case M_LOG: return log(x);
    case M_RECIPROCAL: return 1.0f / x;
    case M_FLOOR: return floor(x);
    case M_CEIL: return ceil(x);
    case M_ROUND: return rint(x);
    case M_ERF: return erf(x);
    case M_SIN: return sin(x);
    case M_COS: return cos(x);
    case M_TAN: return tan(x);
    case M_ASIN: return asin(x);
    case M_ACOS: return acos(x);
    case M_ATAN: return atan(x);
    case M_SINH: return sinh(x);
    case M_COSH: return cosh(x);
    case M_ASINH: return asinh(x);
    case M_ACOSH: return acosh(x);
    case M_ATANH: return atanh(x);
    case M_SOFTPLUS: return softplus_f(x);
    case M_SOFTSIGN: return x / (1.0f + fabs(x));
    case M_MISH: return x * tanh(softplus_f(x));
    case M_HARD_SWISH: return x * unit_clamp(x / 6.0f + 0.5f);
    case M_GELU: return 0.5f * x * (1.0f + erf(x * 0.70710678118654752440f));
    // 0.5 (1 + tanh u) as the logistic of 2u: drivers' tanh may stop short of -1, which would turn Gelu(-inf)
    // into -inf where the CPU's formula gives NaN (-inf * 0).
    case M_GELU_TANH: return x * sigmoid_f(1.5957691216057307118f * (x + 0.044715f * x * x * x));
    case M_SELU: return x > 0.0f ? b * x : b * a * expm1(x);          // a = alpha, b = gamma
    case M_CELU: return x > 0.0f ? x : a * expm1(x / a);
    case M_SWISH: return x * sigmoid_f(a * x);
    case M_THRESHOLDED_RELU: return x > a ? x : 0.0f;
    default: return x < -b ? x + a : (x > b ? x - a : 0.0f);          // Shrink: a = bias, b = lambd
    }
}

__kernel void unary_math_f32(__global const real_t* x, __global real_t* y, int n, int fn, float a, float b) {
    int i = get_global_id(0);
    if (i >= n) return;
    STORE(y, i, unary_math(LOAD(x, i), fn, a, b));
}
