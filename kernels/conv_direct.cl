// Direct convolution as an implicit GEMM: the column matrix is gathered from the input tile by tile and never stored.
// Built once per tile shape (D, RM, RN), chosen on the host by how many work-groups a layer yields.
//
// Per group g, Y[m, n] = sum_k Wp[k, m] * col[k, n] with n = (image, oy, ox) over the whole batch and
// k = (c, ky, kx) over the group's input channels and the kernel taps. Weights are re-laid-out once (conv_pack_weights
// or on the host) as Wp[g][Kp][Mp], k-major with the channels contiguous and zero-padded to Kp (a multiple of 16) and
// Mp (a multiple of 64), so weight tiles load as aligned vectors without bounds tests. taps[k] = (c, ky*dh, kx*dw)
// says where column entry k of a pixel lies relative to the pixel's window origin; the padded taps point far outside
// the input, so they read as zero through the ordinary bounds test.
//
// A work-group of D x D work-items computes a TM x TN tile of Y (TM = D*RM channels, TN = D*RN pixels); each work-item
// keeps RM channels x RN pixels of accumulators in registers, both runs contiguous so that every step reads one
// vector of each from local memory. Per step of D taps the group stages a D x TM weight tile (one RM-vector per
// work-item) and a D x TN column tile (RN taps of one pixel per work-item, so each work-item decodes its pixel once);
// the next step's values are fetched into registers while the current tile is being multiplied. A layer with too few
// tiles to fill the device (few pixels, many taps: late layers at batch 1) splits its taps across work-groups
// (k_split < Kp), whose partial sums conv_direct_reduce adds up.

#ifndef D
#define D 16
#endif
#ifndef RM
#define RM 4
#endif
#ifndef RN
#define RN 4
#endif
#define TM (D * RM)
#define TN (D * RN)
// TAP_OUTSIDE (DirectConv.outside, defined from Swift): a tap that is never inside the input (added to any real
// window origin, still far below zero).

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VEC_1 float
#define VEC_2 float2
#define VEC_4 float4
#define VEC(n) CAT(VEC_, n)
typedef VEC(RM) floatRM;
typedef VEC(RN) floatRN;
// Lane i of a vector: constant-folded once the loops over i unroll, and never a trip through private memory (as a
// union or array view could be).
#define LANE_1(v, i) (v)
#define LANE_2(v, i) ((i) == 0 ? (v).s0 : (v).s1)
#define LANE_4(v, i) ((i) == 0 ? (v).s0 : (i) == 1 ? (v).s1 : (i) == 2 ? (v).s2 : (v).s3)
#define LANE_RM CAT(LANE_, RM)
#define LANE_RN CAT(LANE_, RN)
#if RM == 1
#define VLOAD_RM(p) LOAD(p, 0)
#elif defined(DL_HALF)
#define VLOAD_RM(p) CAT(vload_half, RM)(0, p)
#else
#define VLOAD_RM(p) CAT(vload, RM)(0, p)
#endif

// The int2 sizes are (height, width); the epilogue adds the bias (when has_bias), then the residual laid out as y
// (when has_res), and applies the activation.
__kernel __attribute__((reqd_work_group_size(D, D, 1)))
void conv_direct(__global const real_t* x, __global const real_t* wp, __global const int4* taps, __global real_t* y,
                 __global const real_t* bias, int has_bias, __global const real_t* res, int has_res,
                 int act, float act_a, float act_b,
                 int C, int cg, int M, int mg, int Kp, int Mp, int2 in_size, int2 out_size, int2 stride, int2 pad,
                 int N, int k_split, __global float* partial) {
    __local floatRM Ws[D][D];
    __local floatRN Xs[D][D];
    __local float* xs = (__local float*)Xs;
    const int tx = get_local_id(0), ty = get_local_id(1), tid = ty * D + tx;
    const int n0 = get_group_id(0) * TN, m0 = get_group_id(1) * TM;
    const int groups = M / mg, g = get_group_id(2) % groups, split = get_group_id(2) / groups;
    const int kbeg = split * k_split, kend = min(Kp, kbeg + k_split);
    const int H = in_size.x, W = in_size.y, OH = out_size.x, OW = out_size.y;
    const int sh = stride.x, sw = stride.y, ph = pad.x, pw = pad.y;
    const int HW = H * W, OHW = OH * OW;

    // The pixel whose column entries this work-item stages, decoded once.
    const int col = tid % TN, row0 = tid / TN;
    int y0 = TAP_OUTSIDE, x0 = TAP_OUTSIDE;
    __global const real_t* xg = x;
    {
        int n = n0 + col;
        if (n < N) {
            int b = n / OHW, p = n - b * OHW, oy = p / OW, ox = p - oy * OW;
            y0 = oy * sh - ph;
            x0 = ox * sw - pw;
            xg = x + (b * C + g * cg) * HW;
        }
    }
    const int wrow = tid / D, wcol = tid % D;
    __global const real_t* wg = wp + g * Kp * Mp + m0 + wcol * RM;

    floatRM wnext;
    float xnext[RN];
#define FETCH(k0)                                                                                           \
    {                                                                                                       \
        wnext = VLOAD_RM(wg + ((k0) + wrow) * Mp);                                                          \
        for (int j = 0; j < RN; j++) {                                                                      \
            int4 t = taps[(k0) + row0 + j * (D / RN)];                                                      \
            int iy = y0 + t.y, ix = x0 + t.z;                                                               \
            xnext[j] = ((uint)iy < (uint)H && (uint)ix < (uint)W) ? LOAD(xg, t.x * HW + iy * W + ix) : 0.0f; \
        }                                                                                                   \
    }

    floatRN acc[RM];
    for (int i = 0; i < RM; i++) acc[i] = (floatRN)(0.0f);
    FETCH(kbeg)
    for (int k0 = kbeg; k0 < kend; k0 += D) {
        Ws[wrow][wcol] = wnext;
        for (int j = 0; j < RN; j++) xs[(row0 + j * (D / RN)) * TN + col] = xnext[j];
        barrier(CLK_LOCAL_MEM_FENCE);
        if (k0 + D < kend) FETCH(k0 + D)
        for (int k = 0; k < D; k++) {
            floatRM a = Ws[k][ty];
            floatRN v = Xs[k][tx];
            for (int i = 0; i < RM; i++) acc[i] = mad((floatRN)(LANE_RM(a, i)), v, acc[i]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    if (k_split < Kp) {
        // One of several slices of the taps: the raw sums go to partial[split][g][m][n] for conv_direct_reduce.
        __global float* part = partial + ((split * groups + g) * mg) * N;
        for (int i = 0; i < RM; i++) {
            int m = m0 + ty * RM + i;
            if (m >= mg) break;
            for (int j = 0; j < RN; j++) {
                int n = n0 + tx * RN + j;
                if (n < N) part[m * N + n] = LANE_RN(acc[i], j);
            }
        }
        return;
    }
    // Output offsets of this work-item's pixels without the channel term; -1 past the last pixel.
    int at[RN];
    for (int j = 0; j < RN; j++) {
        int n = n0 + tx * RN + j, b = n / OHW;
        at[j] = n < N ? b * M * OHW + (n - b * OHW) : -1;
    }
    for (int i = 0; i < RM; i++) {
        int m = m0 + ty * RM + i;
        if (m >= mg) break;
        int oc = g * mg + m;
        float bv = has_bias ? LOAD(bias, oc) : 0.0f;
        for (int j = 0; j < RN; j++) {
            if (at[j] < 0) continue;
            float v = LANE_RN(acc[i], j) + bv;
            if (has_res) v += LOAD(res, at[j] + oc * OHW);
            STORE(y, at[j] + oc * OHW, activate(v, act, act_a, act_b));
        }
    }
}

// Sums the tap slices of a split conv_direct, then bias, residual and activation: one work-item per output element,
// reading and writing along the pixels.
__kernel void conv_direct_reduce(__global const float* partial, int splits, __global real_t* y,
                                 __global const real_t* bias, int has_bias, __global const real_t* res, int has_res,
                                 int act, float act_a, float act_b, int M, int N, int OHW) {
    int n = get_global_id(0), oc = get_global_id(1);
    if (n >= N || oc >= M) return;
    float v = has_bias ? LOAD(bias, oc) : 0.0f;
    for (int s = 0; s < splits; s++) v += partial[(s * M + oc) * N + n];
    int b = n / OHW, at = (b * M + oc) * OHW + (n - b * OHW);
    if (has_res) v += LOAD(res, at);
    STORE(y, at, activate(v, act, act_a, act_b));
}
