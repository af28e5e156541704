// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear on integer tensors, computed as the CPU kernels do
// (Sources/DLInferCPU/Kernels/Quantize.swift): the quotient x / scale correctly rounded, then rounded half to even,
// offset by the zero point and saturated (NaN gives the zero point); (x - zero point) exactly, times the scale.
// Built per element type: Q=<quantized type> (char, uchar, short, ushort, int) with Q_MIN/Q_MAX for QuantizeLinear's
// saturation, Q_WIDE where the difference needs 64 bits (int32 x); X_INT when QuantizeLinear's x is int32 rather
// than float32; SCALE_HALF when the scale is a float32 device tensor stored as half (a computed scale under
// precision=fp16; constant scales are uploaded once as float, whatever the storage).

// No contraction of a product and a sum into fma: every rounding must be the CPU's.
#pragma OPENCL FP_CONTRACT OFF

#ifndef Q
#define Q uchar
#define Q_MIN 0
#define Q_MAX 255
#endif

#ifdef SCALE_HALF
#define SCALE_T half
#define LOAD_SCALE(p, i) vload_half((i), (p))
#else
#define SCALE_T float
#define LOAD_SCALE(p, i) ((p)[i])
#endif

// x / s rounded to nearest, as an IEEE division (and the CPU) gives it. OpenCL's `/` may be off by up to 2.5 ulp
// (GPUs divide through a reciprocal), enough to move a quotient across a rounding tie, so the quotient is stepped to
// a neighbouring float while that leaves a smaller remainder |x - q*s| (exact through fma near the quotient). The
// exact quotient of two floats is never halfway between two floats (that would take a 25-bit odd significand times
// a 24-bit one to give a 24-bit one), so the nearest float is unique.
inline float div_rn(float x, float s) {
    float q = x / s;
    if (!isfinite(q) || !isfinite(s) || q == 0.0f) return q;
    float e = fma(-q, s, x);
    if (e == 0.0f) return q;
    float toward = (e > 0.0f) == (s > 0.0f) ? INFINITY : -INFINITY;
    float r = fabs(e);
    for (int k = 0; k < 3; k++) {
        float n = nextafter(q, toward);
        float rn = fabs(fma(-n, s, x));
        if (!(rn < r)) break;
        q = n;
        r = rn;
    }
    return q;
}

// The scale (and zero point) index of element i of x seen as [outer, axis_len, inner]: (o * blocks + d / block) *
// inner_step + j * j_step with o the outer index, d the axis index, j the inner one. Per tensor: every step 0 (one
// axis of length 1); per axis: blocks 0, block 1, inner_step 1, j_step 0 (index d); blocked: blocks per row,
// inner_step inner, j_step 1.
inline int scale_index(int i, int inner, int axis_len, int block, int blocks, int inner_step, int j_step) {
    int row = i / inner, j = i - row * inner;
    int o = row / axis_len, d = row - o * axis_len;
    return (o * blocks + d / block) * inner_step + j * j_step;
}

#ifdef X_INT
#define X_T int
#define LOAD_X(p, i) convert_float((p)[i])
#else
#define X_T real_t
#define LOAD_X(p, i) LOAD(p, i)
#endif

// y = saturate(round_half_even(x / scale) + zero point); a NaN quotient gives the zero point.
__kernel void quantize_linear(__global const X_T* x, __global const SCALE_T* scale, __global const Q* zero,
                              int has_zero, __global Q* y, int n, int inner, int axis_len, int block, int blocks,
                              int inner_step, int j_step) {
    int i = get_global_id(0);
    if (i >= n) return;
    int k = scale_index(i, inner, axis_len, block, blocks, inner_step, j_step);
    float z = has_zero ? (float)zero[k] : 0.0f;
    float r = rint(div_rn(LOAD_X(x, i), LOAD_SCALE(scale, k))) + z;
    y[i] = isnan(r) ? (Q)z : (Q)clamp(r, (float)Q_MIN, (float)Q_MAX);
}

// y = (x - zero point) * scale: the difference exact (64 bits for int32 x) and rounded once to float, the product
// rounded once.
__kernel void dequantize_linear(__global const Q* x, __global const SCALE_T* scale, __global const Q* zero,
                                int has_zero, __global real_t* y, int n, int inner, int axis_len, int block, int blocks,
                                int inner_step, int j_step) {
    int i = get_global_id(0);
    if (i >= n) return;
    int k = scale_index(i, inner, axis_len, block, blocks, inner_step, j_step);
#ifdef Q_WIDE
    float d = convert_float((long)x[i] - (has_zero ? (long)zero[k] : 0L));
#else
    float d = (float)((int)x[i] - (has_zero ? (int)zero[k] : 0));
#endif
    STORE(y, i, d * LOAD_SCALE(scale, k));
}

// DynamicQuantizeLinear, in three launches: each work-group's minimum and maximum of x and 0 (NaN skipped: it
// compares false), then one work-item combines them into y_scale and y_zero_point (also written as floats to
// `params`, so the quantization divides by the float32 scale whatever the storage), then every element is quantized.
__kernel void range_partials(__global const real_t* x, __global float* partial, int n, __local float* lo,
                             __local float* hi) {
    int lid = get_local_id(0);
    float a = 0.0f, b = 0.0f;
    for (int i = get_global_id(0); i < n; i += get_global_size(0)) {
        float v = LOAD(x, i);
        if (v < a) a = v;
        if (v > b) b = v;
    }
    lo[lid] = a;
    hi[lid] = b;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = get_local_size(0) >> 1; s > 0; s >>= 1) {
        if (lid < s) {
            lo[lid] = fmin(lo[lid], lo[lid + s]);
            hi[lid] = fmax(hi[lid], hi[lid + s]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        partial[2 * get_group_id(0)] = lo[0];
        partial[2 * get_group_id(0) + 1] = hi[0];
    }
}

// scale = (hi - lo) / 255 (1 when hi == lo: x all zeros or empty), zero point = round(clamp(0 - lo / scale, 0, 255))
// (0 when that is NaN: x holds an infinity).
__kernel void range_params(__global const float* partial, int groups, __global real_t* y_scale, __global uchar* y_zero,
                           __global float* params) {
    if (get_global_id(0) != 0) return;
    float lo = 0.0f, hi = 0.0f;
    for (int g = 0; g < groups; g++) {
        lo = fmin(lo, partial[2 * g]);
        hi = fmax(hi, partial[2 * g + 1]);
    }
    float scale = hi == lo ? 1.0f : div_rn(hi - lo, 255.0f);
    float initial = 0.0f - div_rn(lo, scale);
    float zero = isnan(initial) ? 0.0f : rint(clamp(initial, 0.0f, 255.0f));
    STORE(y_scale, 0, scale);
    y_zero[0] = (uchar)zero;
    params[0] = scale;
    params[1] = zero;
}

__kernel void dynamic_quantize(__global const real_t* x, __global const float* params, __global uchar* y, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    float scale = params[0], zero = params[1];
    float r = rint(div_rn(LOAD(x, i), scale)) + zero;
    y[i] = isnan(r) ? (uchar)zero : (uchar)clamp(r, 0.0f, 255.0f);
}
