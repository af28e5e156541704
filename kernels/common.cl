// Prepended to every kernels/*.cl file before it is built.

// Fused activations: codes match Activation in Sources/DLInferOpenCL/Launchers/Activation.swift.
#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_LEAKY_RELU 2
#define ACT_SIGMOID 3
#define ACT_TANH 4
#define ACT_HARD_SIGMOID 5
#define ACT_ELU 6
#define ACT_CLIP 7

// Overflow-free logistic function.
inline float sigmoid_f(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + exp(-x));
    float e = exp(x);
    return e / (1.0f + e);
}

// `act` is uniform across a launch, so the branch costs nothing on SIMT hardware.
inline float activate(float x, int act, float a, float b) {
    switch (act) {
    case ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ACT_LEAKY_RELU: return x >= 0.0f ? x : a * x;
    case ACT_SIGMOID: return sigmoid_f(x);
    case ACT_TANH: return tanh(x);
    case ACT_HARD_SIGMOID: return fmax(0.0f, fmin(1.0f, a * x + b));
    case ACT_ELU: return x >= 0.0f ? x : a * (exp(x) - 1.0f);
    case ACT_CLIP: return isnan(x) ? x : fmin(fmax(x, a), b);
    default: return x;
    }
}

// Row-major offset of flat index `i` of a tensor with dims `d` (rank 8, leading dims 1) into a tensor with element
// strides `s` (0 where broadcast).
inline int broadcast_offset(int i, int8 d, int8 s) {
    int off = 0;
    int q;
    q = i / d.s7; off += (i - q * d.s7) * s.s7; i = q;
    q = i / d.s6; off += (i - q * d.s6) * s.s6; i = q;
    q = i / d.s5; off += (i - q * d.s5) * s.s5; i = q;
    q = i / d.s4; off += (i - q * d.s4) * s.s4; i = q;
    q = i / d.s3; off += (i - q * d.s3) * s.s3; i = q;
    q = i / d.s2; off += (i - q * d.s2) * s.s2; i = q;
    q = i / d.s1; off += (i - q * d.s1) * s.s1; i = q;
    off += i * s.s0;
    return off;
}
