// Pointwise ops on float32. Broadcasting is resolved on the host into dims + element strides (0 where an input is
// broadcast along a dim), after merging adjacent dims that broadcast alike, so most launches index a rank-1 or -2 space.

// `op`: UNARY_* (UnaryCode in Launchers/Elementwise.swift); UNARY_ACTIVATION applies `act` (ACT_*).
__kernel void unary_f32(__global const real_t* x, __global real_t* y, int n, int op, int act, float a, float b) {
    int i = get_global_id(0);
    if (i >= n) return;
    float v = LOAD(x, i);
    switch (op) {
    case UNARY_EXP: v = exp(v); break;
    case UNARY_SQRT: v = sqrt(v); break;
    case UNARY_ACTIVATION:
    default: v = activate(v, act, a, b); break;
    }
    STORE(y, i, v);
}

// `op`: BIN_* (BinaryCode in Launchers/Elementwise.swift).
inline float binary_op(float x, float y, int op) {
    switch (op) {
    case BIN_ADD: return x + y;
    case BIN_SUB: return x - y;
    case BIN_MUL: return x * y;
    case BIN_DIV: return x / y;
    case BIN_POW: return pow(x, y);
    // ONNX Max/Min propagate NaN (fmax/fmin would drop it).
    case BIN_MAX: return isnan(x) || isnan(y) ? x + y : fmax(x, y);
    case BIN_PRELU: return x < 0.0f ? y * x : x;  // y: the slope
    case BIN_MIN:
    default: return isnan(x) || isnan(y) ? x + y : fmin(x, y);
    }
}

// c = a op b over the output dims `d`; `sa`/`sb` are the inputs' element strides per output dim.
__kernel void binary_f32(__global const real_t* a, __global const real_t* b, __global real_t* c, int n, int8 d,
                         int8 sa, int8 sb, int op, int act, float act_a, float act_b) {
    int i = get_global_id(0);
    if (i >= n) return;
    float v = binary_op(LOAD(a, broadcast_offset(i, d, sa)), LOAD(b, broadcast_offset(i, d, sb)), op);
    STORE(c, i, activate(v, act, act_a, act_b));
}

// Same-shape fast path: no index arithmetic.
__kernel void binary_same_f32(__global const real_t* a, __global const real_t* b, __global real_t* c, int n,
                              int op, int act, float act_a, float act_b) {
    int i = get_global_id(0);
    if (i >= n) return;
    STORE(c, i, activate(binary_op(LOAD(a, i), LOAD(b, i), op), act, act_a, act_b));
}
