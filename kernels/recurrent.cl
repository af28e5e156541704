// LSTM, GRU and RNN, computing exactly what Sources/DLInferCPU/Kernels/Recurrent.swift computes. The input
// projection X·Wᵀ of every timestep and direction comes from one GEMM beforehand (`xw`, no bias); each step is then
// one launch (two for GRU with linear_before_reset 0) over every hidden unit, batch entry and direction, fusing the
// recurrent product h·Rᵀ with the gate math. h ping-pongs between two buffers (work-groups read all of h_{t-1} while
// others write h_t); c is read and written by the same work-item, in place.
//
// Step work-groups are (U units, KS slices of the reduction); work-item (u, s) accumulates k = s, s+KS, ... for
// unit j and RNN_BT batch entries, the work-group adds the slices in local memory, and work-item (u, s) with s < RNN_BT
// then owns (unit j, batch entry b0 + s) for the gate math. The launcher keeps KS >= RNN_BT.

// RNN_BT (RecurrentCL.batchTile, defined from Swift): batch entries per work-item in the recurrent product; each
// weight read feeds this many sums.

// `code`: RA_* (RecurrentActivationCode in Launchers/Recurrent.swift).
inline float rnn_activate(float x, int code, float a, float b) {
    switch (code) {
    case RA_SIGMOID: return sigmoid_f(x);
    case RA_TANH: return tanh(x);
    case RA_RELU: return x < 0.0f ? 0.0f : x;
    case RA_SOFTSIGN: return x / (1.0f + fabs(x));
    // log1p(e^x) overflows to inf for large x, where the result is x itself.
    case RA_SOFTPLUS: return x > 20.0f ? x : log1p(exp(x));
    case RA_LEAKY_RELU: return x >= 0.0f ? x : a * x;
    case RA_THRESHOLDED_RELU: return x > a ? x : 0.0f;
    case RA_HARD_SIGMOID: return unit_clamp(a * x + b);
    case RA_SCALED_TANH: return a * tanh(b * x);
    case RA_AFFINE: return a * x + b;
    case RA_ELU:
    default: return x >= 0.0f ? x : a * (exp(x) - 1.0f);
    }
}

// Activation i (0 = f, 1 = g, 2 = h) of direction d; `acts` holds (code, alpha, beta) per direction and activation.
// The address is uniform across the work-group, so the switch does not diverge.
inline float act_fn(__constant float* acts, int d, int i, float x) {
    __constant float* p = acts + (d * 3 + i) * 3;
    return rnn_activate(x, (int)p[0], p[1], p[2]);
}

inline float clip_gate(float x, float clip, int has_clip) {
    return has_clip ? fmin(fmax(x, -clip), clip) : x;
}

// Pre-activation of gate row `row` (g·H + j) of direction d: x·Wᵀ + h·Rᵀ + (Wb + Rb), added in the CPU kernel's order.
inline float gate_in(float x, float hr, __global const real_t* bias, int has_bias, int d, int GH, int row) {
    float bs = has_bias ? LOAD(bias, d * 2 * GH + row) + LOAD(bias, d * 2 * GH + GH + row) : 0.0f;
    return x + hr + bs;
}

// Sums over k of hs[bb·hB + k]·R[row, k] for the GP gate rows of unit j (R packed as rp[k][j][GP], so adjacent
// work-items read adjacent words and a unit's gates are one vector) and the nb <= RNN_BT batch entries at hs.
// `red` holds (KS + 1)·GP·RNN_BT·U floats: the slices' partial sums, then the totals, each added by one work-item so
// that no work-item adds more than KS of them. Work-item (u, s) with s < RNN_BT gets entry s's sums in out[0..GP).
// Every work-item of the group must call it.
inline void recurrent_product(__global const real_t* rp, const int GP, int H, int j, __global const real_t* hs, int hB,
                              int nb, __local float* red, float* out) {
    const int U = get_local_size(0), KS = get_local_size(1), u = get_local_id(0), s = get_local_id(1);
    float acc[4][RNN_BT];
    for (int g = 0; g < GP; g++)
        for (int bb = 0; bb < RNN_BT; bb++) acc[g][bb] = 0.0f;
    if (j < H) {
        for (int k = s; k < H; k += KS) {
            __global const real_t* wp = rp + (k * H + j) * GP;
            float w[4];
            if (GP == 4) {
#ifdef DL_HALF
                float4 v = vload_half4(0, wp);
#else
                float4 v = vload4(0, wp);
#endif
                w[0] = v.x; w[1] = v.y; w[2] = v.z; w[3] = v.w;
            } else {
                for (int g = 0; g < GP; g++) w[g] = LOAD(wp, g);
            }
            for (int bb = 0; bb < RNN_BT; bb++) {
                if (bb < nb) {
                    float hv = LOAD(hs, bb * hB + k);
                    for (int g = 0; g < GP; g++) acc[g][bb] += w[g] * hv;
                }
            }
        }
    }
    for (int g = 0; g < GP; g++)
        for (int bb = 0; bb < RNN_BT; bb++) red[((s * GP + g) * RNN_BT + bb) * U + u] = acc[g][bb];
    barrier(CLK_LOCAL_MEM_FENCE);
    __local float* tot = red + KS * GP * RNN_BT * U;
    for (int i = s; i < GP * RNN_BT; i += KS) {
        if (i % RNN_BT < nb) {
            float sum = 0.0f;
            for (int k = 0; k < KS; k++) sum += red[(k * GP * RNN_BT + i) * U + u];
            tot[i * U + u] = sum;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (s < nb)
        for (int g = 0; g < GP; g++) out[g] = tot[(g * RNN_BT + s) * U + u];
}

// Arguments every step kernel takes. xw row of (t, b) starts at t·xwT + b·xwB, direction d at column d·GH. States
// (h_prev, h_next, c) put entry b of direction d at d·sD + b·sB; Y puts (t, b, d) at t·yT + b·yB + d·yD. Direction
// d walks backwards when bit d of rev_mask is set: step s is timestep steps-1-s, so a reverse pass starts at the
// longest sequence's last step and each entry at its own last valid one.
#define STEP_ARGS __global const real_t* xw, int xwT, int xwB, __global const real_t* bias, int has_bias, \
    __global const real_t* h_prev, int sB, int sD, __global const int* lens, int has_lens, __constant float* acts, \
    float clip, int has_clip, int H, int batch, int dirs, int rev_mask, int step, int steps, __local float* red
#define OUTPUT_ARGS __global real_t* h_next, __global real_t* y, int has_y, int yT, int yB, int yD

// Work-item coordinates shared by the step kernels: direction d, first batch entry b0 of the group and how many (nb),
// unit j, and this work-item's entry b and timestep t.
#define STEP_PROLOGUE \
    const int d = get_group_id(2) % dirs, b0 = get_group_id(2) / dirs * RNN_BT; \
    const int nb = min(RNN_BT, batch - b0), j = get_global_id(0), b = b0 + (int)get_local_id(1); \
    const int t = ((rev_mask >> d) & 1) ? steps - 1 - step : step; \
    const int st = d * sD + b * sB + j;

// After the product: the work-items that own a (unit, entry) pair go on; an entry past its sequence keeps its state
// and gets zeros in Y.
#define STEP_OWNER_CHECK \
    if ((int)get_local_id(1) >= nb || j >= H) return; \
    __global const real_t* x = xw + t * xwT + b * xwB + d * GH + j; \
    if (has_lens && t >= lens[b]) { \
        STORE(h_next, st, LOAD(h_prev, st)); \
        if (has_y) STORE(y, t * yT + b * yB + d * yD + j, 0.0f); \
        return; \
    }

inline void emit_h(float v, __global real_t* h_next, int st, __global real_t* y, int has_y, int yidx) {
    STORE(h_next, st, v);
    if (has_y) STORE(y, yidx, v);
}

// LSTM, gates i,o,f,c: C = f ⊙ C + i ⊙ g(c); H = o ⊙ h(C), peepholes on C_{t-1} for i and f, on C_t for o.
__kernel void lstm_step(__global const real_t* rp, __global real_t* c, __global const real_t* peep, int has_peep,
                        int input_forget, OUTPUT_ARGS, STEP_ARGS) {
    STEP_PROLOGUE
    const int GH = 4 * H;
    float hr[4];
    recurrent_product(rp + d * H * GH, 4, H, j, h_prev + d * sD + b0 * sB, sB, nb, red, hr);
    STEP_OWNER_CHECK
    float cp = LOAD(c, st);
    float gi = gate_in(LOAD(x, 0), hr[0], bias, has_bias, d, GH, j);
    float gf = gate_in(LOAD(x, 2 * H), hr[2], bias, has_bias, d, GH, 2 * H + j);
    float gc = gate_in(LOAD(x, 3 * H), hr[3], bias, has_bias, d, GH, 3 * H + j);
    __global const real_t* p = peep + d * 3 * H + j;
    if (has_peep) { gi += LOAD(p, 0) * cp; gf += LOAD(p, 2 * H) * cp; }
    gi = act_fn(acts, d, 0, clip_gate(gi, clip, has_clip));
    gf = input_forget ? 1.0f - gi : act_fn(acts, d, 0, clip_gate(gf, clip, has_clip));
    gc = act_fn(acts, d, 1, clip_gate(gc, clip, has_clip));
    float cn = gf * cp + gi * gc;
    STORE(c, st, cn);
    float go = gate_in(LOAD(x, H), hr[1], bias, has_bias, d, GH, H + j);
    if (has_peep) go += LOAD(p, H) * cn;
    go = act_fn(acts, d, 0, clip_gate(go, clip, has_clip));
    emit_h(go * act_fn(acts, d, 2, cn), h_next, st, y, has_y, t * yT + b * yB + d * yD + j);
}

// RNN: H = f(x·Wᵀ + h·Rᵀ + Wb + Rb).
__kernel void rnn_step(__global const real_t* rp, OUTPUT_ARGS, STEP_ARGS) {
    STEP_PROLOGUE
    const int GH = H;
    float hr[1];
    recurrent_product(rp + d * H * GH, 1, H, j, h_prev + d * sD + b0 * sB, sB, nb, red, hr);
    STEP_OWNER_CHECK
    float v = act_fn(acts, d, 0, clip_gate(gate_in(LOAD(x, 0), hr[0], bias, has_bias, d, GH, j), clip, has_clip));
    emit_h(v, h_next, st, y, has_y, t * yT + b * yB + d * yD + j);
}

// GRU's h gate's recurrent bias Rbh (zero without B).
inline float gru_rbh(__global const real_t* bias, int has_bias, int d, int H, int j) {
    return has_bias ? LOAD(bias, d * 6 * H + 5 * H + j) : 0.0f;
}

// GRU's h gate's input part x·Whᵀ + Wbh.
inline float gru_xh(__global const real_t* x, __global const real_t* bias, int has_bias, int d, int H, int j) {
    return LOAD(x, 2 * H) + (has_bias ? LOAD(bias, d * 6 * H + 2 * H + j) : 0.0f);
}

// GRU with linear_before_reset 1, gates z,r,h in one product: H = (1-z) ⊙ g(x·Whᵀ + Wbh + r ⊙ (h·Rhᵀ + Rbh)) + z ⊙ H.
__kernel void gru_step(__global const real_t* rp, OUTPUT_ARGS, STEP_ARGS) {
    STEP_PROLOGUE
    const int GH = 3 * H;
    float hr[3];
    recurrent_product(rp + d * H * GH, 3, H, j, h_prev + d * sD + b0 * sB, sB, nb, red, hr);
    STEP_OWNER_CHECK
    float z = act_fn(acts, d, 0, clip_gate(gate_in(LOAD(x, 0), hr[0], bias, has_bias, d, GH, j), clip, has_clip));
    float r = act_fn(acts, d, 0, clip_gate(gate_in(LOAD(x, H), hr[1], bias, has_bias, d, GH, H + j), clip, has_clip));
    float cand = gru_xh(x, bias, has_bias, d, H, j) + r * (hr[2] + gru_rbh(bias, has_bias, d, H, j));
    cand = act_fn(acts, d, 1, clip_gate(cand, clip, has_clip));
    emit_h((1.0f - z) * cand + z * LOAD(h_prev, st), h_next, st, y, has_y, t * yT + b * yB + d * yD + j);
}

// GRU with linear_before_reset 0, first half: gates z and r from h·Rzrᵀ; stores z and r ⊙ h ([dirs][batch][H]) for
// gru_hidden_step, whose product needs r ⊙ h of every unit.
__kernel void gru_reset_step(__global const real_t* rp, __global real_t* zs, __global real_t* rh, STEP_ARGS) {
    STEP_PROLOGUE
    const int GH = 3 * H;
    float hr[2];
    recurrent_product(rp + d * H * 2 * H, 2, H, j, h_prev + d * sD + b0 * sB, sB, nb, red, hr);
    if ((int)get_local_id(1) >= nb || j >= H) return;
    if (has_lens && t >= lens[b]) return;
    __global const real_t* x = xw + t * xwT + b * xwB + d * GH + j;
    const int o = (d * batch + b) * H + j;
    STORE(zs, o, act_fn(acts, d, 0, clip_gate(gate_in(LOAD(x, 0), hr[0], bias, has_bias, d, GH, j), clip, has_clip)));
    float r = act_fn(acts, d, 0, clip_gate(gate_in(LOAD(x, H), hr[1], bias, has_bias, d, GH, H + j), clip, has_clip));
    STORE(rh, o, r * LOAD(h_prev, st));
}

// GRU with linear_before_reset 0, second half: H = (1-z) ⊙ g(x·Whᵀ + Wbh + (r ⊙ h)·Rhᵀ + Rbh) + z ⊙ H.
__kernel void gru_hidden_step(__global const real_t* rp, __global const real_t* zs, __global const real_t* rh,
                              OUTPUT_ARGS, STEP_ARGS) {
    STEP_PROLOGUE
    const int GH = 3 * H;
    float hr[1];
    recurrent_product(rp + d * H * H, 1, H, j, rh + (d * batch + b0) * H, H, nb, red, hr);
    STEP_OWNER_CHECK
    const int o = (d * batch + b) * H + j;
    float cand = gru_xh(x, bias, has_bias, d, H, j) + hr[0] + gru_rbh(bias, has_bias, d, H, j);
    cand = act_fn(acts, d, 1, clip_gate(cand, clip, has_clip));
    float z = LOAD(zs, o);
    emit_h((1.0f - z) * cand + z * LOAD(h_prev, st), h_next, st, y, has_y, t * yT + b * yB + d * yD + j);
}

// Initial state: `src` (zeros without it), except that an entry with an empty sequence ends with zeros, as in
// onnxruntime. Entry b of element i: states are [dirs][batch][H], or [batch][dirs][H] batch first.
__kernel void rnn_init_state(__global real_t* dst, __global const real_t* src, int has_src, __global const int* lens,
                             int has_lens, int n, int H, int batch, int dirs, int batch_first) {
    int i = get_global_id(0);
    if (i >= n) return;
    int b = batch_first ? i / (dirs * H) : (i / H) % batch;
    STORE(dst, i, (!has_src || (has_lens && lens[b] == 0)) ? 0.0f : LOAD(src, i));
}

// Zeros in Y at the steps no sequence reaches (t >= from). Y is `outer` blocks of `steps` rows of `row` floats:
// one block [T][dirs·batch·H] in layout 0, batch blocks [T][dirs·H] in layout 1.
__kernel void rnn_zero_tail(__global real_t* y, int n, int from, int steps, int row) {
    int i = get_global_id(0);
    if (i >= n) return;
    int tail = (steps - from) * row;
    int o = i / tail;
    STORE(y, o * steps * row + from * row + (i - o * tail), 0.0f);
}

// dst[d][k][j][g] = src[d·rows + c0 + g·n + j][k] for g < gp: a direction's gp gate blocks of n rows (from row c0),
// transposed so that adjacent units are adjacent in memory and a unit's gates are contiguous. Runs once per weight
// when the weights are constants.
__kernel void rnn_pack(__global const real_t* src, __global real_t* dst, int total, int rows, int K, int c0, int gp,
                       int n) {
    int i = get_global_id(0);
    if (i >= total) return;
    int g = i % gp, j = (i / gp) % n, k = (i / (gp * n)) % K, d = i / (gp * n * K);
    STORE(dst, i, LOAD(src, (d * rows + c0 + g * n + j) * K + k));
}
