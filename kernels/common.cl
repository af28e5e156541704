// Prepended to every kernels/*.cl file before it is built.

// How float32 tensors are stored in device memory: as float, or as half under the session option precision=fp16
// (built with -DDL_HALF). Kernels declare float tensors `real_t`, read them with LOAD and write them with STORE;
// every computation and accumulation is in float. vload_half/vstore_half are core OpenCL, so half storage needs no
// cl_khr_fp16, and a kernel that touches a real_t directly fails to build in the half variant instead of computing
// in half. Stores saturate finite values to half's range: a large finite value (an attention mask's float32
// lowest) stays finite rather than becoming an infinity that turns `0 * mask` into NaN.
// VLOADn(p)/VSTOREn(v, p) move n consecutive elements at p as a floatn (n = 2, 4, 8, 16; p aligned to the vector
// in float storage).
#define HALF_RANGE(v) select((v), clamp((v), -65504.0f, 65504.0f), isfinite(v))
#ifdef DL_HALF
typedef half real_t;
#define LOAD(p, i) vload_half((i), (p))
#define STORE(p, i, v) vstore_half(HALF_RANGE((float)(v)), (i), (p))
#define VLOAD2(p) vload_half2(0, p)
#define VLOAD4(p) vload_half4(0, p)
#define VLOAD8(p) vload_half8(0, p)
#define VLOAD16(p) vload_half16(0, p)
#define VSTORE2(v, p) vstore_half2(HALF_RANGE(v), 0, p)
#define VSTORE4(v, p) vstore_half4(HALF_RANGE(v), 0, p)
#define VSTORE8(v, p) vstore_half8(HALF_RANGE(v), 0, p)
#define VSTORE16(v, p) vstore_half16(HALF_RANGE(v), 0, p)
#else
typedef float real_t;
#define LOAD(p, i) ((p)[i])
#define STORE(p, i, v) ((p)[i] = (v))
#define VLOAD2(p) (*(__global const float2*)(p))
#define VLOAD4(p) (*(__global const float4*)(p))
#define VLOAD8(p) (*(__global const float8*)(p))
#define VLOAD16(p) (*(__global const float16*)(p))
#define VSTORE2(v, p) (*(__global float2*)(p) = (v))
#define VSTORE4(v, p) (*(__global float4*)(p) = (v))
#define VSTORE8(v, p) (*(__global float8*)(p) = (v))
#define VSTORE16(v, p) (*(__global float16*)(p) = (v))
#endif

// Codes (ops, modes, activations, fault bits) are never defined here: every program is built with -D<PREFIX>_<NAME>
// for each case of the Swift enums that name them (Sources/DLInferOpenCL/Runtime/KernelCodes.swift), so a code the
// host does not define fails the build.

// Faults a kernel found in its data, one bit each in the queue's fault word (FAULT_*, CLQueue.Fault): the kernel
// sets its bit with atomic_or, writes nothing out of bounds and finishes; the host fails the run at its next
// read-back.

// Overflow-free logistic function.
inline float sigmoid_f(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + exp(-x));
    float e = exp(x);
    return e / (1.0f + e);
}

// Clamp to [0, 1] that keeps NaN (fmin/fmax would drop it).
inline float unit_clamp(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

// Fused activations (ACT_*, ActivationCode in Launchers/Activation.swift). `act` is uniform across a launch, so the branch costs nothing on SIMT hardware. NaN maps to NaN in every case, as
// on the CPU and in ONNX.
inline float activate(float x, int act, float a, float b) {
    switch (act) {
    case ACT_RELU: return x < 0.0f ? 0.0f : x;
    case ACT_LEAKY_RELU: return x >= 0.0f ? x : a * x;
    case ACT_SIGMOID: return sigmoid_f(x);
    case ACT_TANH: return tanh(x);
    case ACT_HARD_SIGMOID: return unit_clamp(a * x + b);
    case ACT_ELU: return x >= 0.0f ? x : a * (exp(x) - 1.0f);
    case ACT_CLIP: return isnan(x) ? x : fmin(fmax(x, a), b);
    case ACT_NONE:
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

// The window geometry that pool.cl and conv.cl take as int4 arguments (depth, height, width; fewer spatial axes are
// leading axes of size 1) named `in_size`, `out_size`, `window`, `stride`, `dilation`, `pad_begin` (WindowArgs in
// Launchers/Pool.swift), as the scalars their loops use.
#define UNPACK_WINDOW_3D \
    const int ID = in_size.x, IH = in_size.y, IW = in_size.z, OD = out_size.x, OH = out_size.y, OW = out_size.z; \
    const int KD = window.x, KH = window.y, KW = window.z, sd = stride.x, sh = stride.y, sw = stride.z; \
    const int dd = dilation.x, dh = dilation.y, dw = dilation.z, pd = pad_begin.x, ph = pad_begin.y, pw = pad_begin.z

// Maximum and minimum that propagate NaN (fmax/fmin would drop it), as the CPU kernels and numpy do.
inline float max_nan(float a, float b) { return b > a || isnan(b) ? b : a; }
inline float min_nan(float a, float b) { return b < a || isnan(b) ? b : a; }

// The combining step of a reduction (REDUCE_*, ReduceCombine): sum, NaN-propagating maximum and minimum, product.
inline float combine(float a, float b, int op) {
    switch (op) {
    case REDUCE_MAX: return max_nan(a, b);
    case REDUCE_MIN: return min_nan(a, b);
    case REDUCE_PROD: return a * b;
    case REDUCE_SUM:
    default: return a + b;
    }
}

// `v` combined over the work-group by `op` (see combine), returned to every work-item. `buf` holds
// get_local_size(0) floats; the work-group size must be a power of two. Ends with a barrier, so `buf` may be reused.
inline float group_reduce(__local float* buf, float v, int op) {
    int lid = get_local_id(0);
    buf[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = get_local_size(0) >> 1; s > 0; s >>= 1) {
        if (lid < s) buf[lid] = combine(buf[lid], buf[lid + s], op);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = buf[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
