// Comparisons, logic and casts: the ops whose tensors are not float32 (masks, indices). Built per element type with
// defines: the source type S_FLOAT (a float32 tensor, stored as real_t), S_HALF (float16) or S=<type> (int, long,
// uchar for bool), and likewise the cast's destination D_FLOAT, D_HALF or D=<type>. Bools are one byte, 0 or 1, as
// on the CPU.

// Kernels that take neither (logic) are built as if both were float32.
#if !defined(S) && !defined(S_HALF)
#define S_FLOAT
#endif
#if !defined(D) && !defined(D_HALF)
#define D_FLOAT
#endif

// S_T is the type in memory, S_V the type a loaded value has.
#if defined(S_FLOAT)
#define S_T real_t
#define S_V float
#define LOAD_S(p, i) LOAD(p, i)
#elif defined(S_HALF)
#define S_T half
#define S_V float
#define LOAD_S(p, i) vload_half((i), (p))
#else
#define S_T S
#define S_V S
#define LOAD_S(p, i) ((p)[i])
#endif

// A float16 destination rounds to nearest even and overflows to infinity, as Cast does; a float32 one stored as half
// saturates like every other float32 store.
#if defined(D_FLOAT)
#define D_T real_t
#define D_V float
#define STORE_D(p, i, v) STORE(p, i, v)
#elif defined(D_HALF)
#define D_T half
#define D_V float
#define STORE_D(p, i, v) vstore_half((v), (i), (p))
#else
#define D_T D
#define D_V D
#define STORE_D(p, i, v) ((p)[i] = (v))
#endif

// Cast conversions, as the CPU's Cast: float to integer truncates toward zero and saturates (NaN gives 0), integer
// to float rounds to nearest even, integer to integer keeps the low bits, anything to bool is `!= 0` (NaN is true).
#if defined(TO_BOOL)
#define CONVERT(v) ((uchar)((v) != 0))
#elif defined(FLOAT_TO_INT)
#define CONVERT(v) convert_int_sat_rtz(v)
#elif defined(FLOAT_TO_LONG)
#define CONVERT(v) convert_long_sat_rtz(v)
#elif defined(TO_FLOAT)
#define CONVERT(v) convert_float(v)
#else
#define CONVERT(v) ((D_V)(v))
#endif

__kernel void cast_values(__global const S_T* x, __global D_T* y, int n) {
    int i = get_global_id(0);
    if (i < n) STORE_D(y, i, CONVERT(LOAD_S(x, i)));
}

// c = a op b over the output dims `d`, inputs read through their broadcast strides (`op`: CMP_*, ComparisonCode in
// Launchers/Typed.swift). IEEE comparisons: NaN is unequal to everything, -0 equals +0.
__kernel void compare(__global const S_T* a, __global const S_T* b, __global uchar* c, int n, int8 d, int8 sa, int8 sb,
                      int op) {
    int i = get_global_id(0);
    if (i >= n) return;
    S_V x = LOAD_S(a, broadcast_offset(i, d, sa)), y = LOAD_S(b, broadcast_offset(i, d, sb));
    int r;
    switch (op) {
    case CMP_EQUAL: r = x == y; break;
    case CMP_LESS: r = x < y; break;
    case CMP_LESS_OR_EQUAL: r = x <= y; break;
    case CMP_GREATER: r = x > y; break;
    case CMP_GREATER_OR_EQUAL:
    default: r = x >= y; break;
    }
    c[i] = (uchar)(r != 0);
}

// `op`: LOGIC_* (LogicCode in Launchers/Typed.swift).
__kernel void logic(__global const uchar* a, __global const uchar* b, __global uchar* c, int n, int8 d, int8 sa,
                    int8 sb, int op) {
    int i = get_global_id(0);
    if (i >= n) return;
    int x = a[broadcast_offset(i, d, sa)] != 0, y = b[broadcast_offset(i, d, sb)] != 0, r;
    switch (op) {
    case LOGIC_AND: r = x & y; break;
    case LOGIC_OR: r = x | y; break;
    case LOGIC_XOR:
    default: r = x ^ y; break;
    }
    c[i] = (uchar)r;
}

__kernel void logic_not(__global const uchar* x, __global uchar* y, int n) {
    int i = get_global_id(0);
    if (i < n) y[i] = (uchar)(x[i] == 0);
}

#ifdef U
// Integer Add, Sub, Mul, Div, Max, Min of type S (built with U, its unsigned twin) over the output dims `d`, as the
// CPU computes them: wrapping on overflow (done unsigned, since signed overflow is undefined in OpenCL C), division
// truncating toward zero with S's minimum / -1 wrapping to the minimum. A zero divisor sets FAULT_DIVISION_BY_ZERO.
// `op`: ARITH_* (IntegerArithCode in Launchers/Typed.swift).
__kernel void arith(__global const S* a, __global const S* b, __global S* c, int n, int8 d, int8 sa, int8 sb, int op,
                    __global int* faults) {
    int i = get_global_id(0);
    if (i >= n) return;
    S x = a[broadcast_offset(i, d, sa)], y = b[broadcast_offset(i, d, sb)], r;
    switch (op) {
    case ARITH_ADD: r = (S)((U)x + (U)y); break;
    case ARITH_SUB: r = (S)((U)x - (U)y); break;
    case ARITH_MUL: r = (S)((U)x * (U)y); break;
    case ARITH_DIV:
        if (y == 0) { atomic_or(faults, FAULT_DIVISION_BY_ZERO); r = 0; }
        else r = y == -1 ? (S)((U)0 - (U)x) : x / y;
        break;
    case ARITH_MAX: r = max(x, y); break;
    case ARITH_MIN:
    default: r = min(x, y); break;
    }
    c[i] = r;
}
#endif
