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
// keeps RM x RN accumulators in registers (channels ty + D*i, pixels tx + D*j, so local-memory reads are conflict-free
// and neighbouring work-items store neighbouring pixels). Per step of D taps the group stages a D x TM weight tile
// (RM contiguous floats per work-item) and a D x TN column tile (RN taps of one pixel per work-item, so each
// work-item decodes its pixel once) in local memory.

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
// A tap that is never inside the input (added to any real window origin, still far below zero).
#define TAP_OUTSIDE (-(1 << 29))

#if RM == 4
#define LOAD_W(p) vload4(0, p)
#define STORE_W(v, p) vstore4(v, 0, p)
typedef float4 floatRM;
#elif RM == 2
#define LOAD_W(p) vload2(0, p)
#define STORE_W(v, p) vstore2(v, 0, p)
typedef float2 floatRM;
#else
#define LOAD_W(p) (*(p))
#define STORE_W(v, p) (*(p) = (v))
typedef float floatRM;
#endif

__kernel __attribute__((reqd_work_group_size(D, D, 1)))
void conv_direct(__global const float* x, __global const float* wp, __global const int4* taps,
                 __global const float* bias, int has_bias, __global float* y,
                 int C, int H, int W, int cg, int M, int mg, int Kp, int Mp,
                 int OH, int OW, int N, int sh, int sw, int ph, int pw, int act, float act_a, float act_b) {
    __local float Ws[D][TM];
    __local float Xs[D][TN];
    const int tx = get_local_id(0), ty = get_local_id(1), tid = ty * D + tx;
    const int n0 = get_group_id(0) * TN, m0 = get_group_id(1) * TM, g = get_group_id(2);
    const int HW = H * W, OHW = OH * OW;

    // The pixel whose column entries this work-item stages, decoded once.
    const int col = tid % TN, row0 = tid / TN;
    int y0 = TAP_OUTSIDE, x0 = TAP_OUTSIDE;
    __global const float* xg = x;
    {
        int n = n0 + col;
        if (n < N) {
            int b = n / OHW, p = n - b * OHW, oy = p / OW, ox = p - oy * OW;
            y0 = oy * sh - ph;
            x0 = ox * sw - pw;
            xg = x + (b * C + g * cg) * HW;
        }
    }
    __global const float* wg = wp + g * Kp * Mp + m0 + (tid % D) * RM;
    const int wrow = tid / D;

    float acc[RM][RN];
    for (int i = 0; i < RM; i++)
        for (int j = 0; j < RN; j++) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < Kp; k0 += D) {
        STORE_W(LOAD_W(wg + (k0 + wrow) * Mp), &Ws[wrow][(tid % D) * RM]);
        for (int j = 0; j < RN; j++) {
            int r = row0 + j * (D / RN);
            int4 t = taps[k0 + r];
            int iy = y0 + t.y, ix = x0 + t.z;
            Xs[r][col] = ((uint)iy < (uint)H && (uint)ix < (uint)W) ? xg[t.x * HW + iy * W + ix] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < D; k++) {
            float a[RM], v[RN];
            for (int i = 0; i < RM; i++) a[i] = Ws[k][ty + D * i];
            for (int j = 0; j < RN; j++) v[j] = Xs[k][tx + D * j];
            for (int i = 0; i < RM; i++)
                for (int j = 0; j < RN; j++) acc[i][j] = mad(a[i], v[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int j = 0; j < RN; j++) {
        int n = n0 + tx + D * j;
        if (n >= N) continue;
        int b = n / OHW, p = n - b * OHW;
        for (int i = 0; i < RM; i++) {
            int m = m0 + ty + D * i;
            if (m >= mg) continue;
            int oc = g * mg + m;
            float v = acc[i][j] + (has_bias ? bias[oc] : 0.0f);
            y[(b * M + oc) * OHW + p] = activate(v, act, act_a, act_b);
        }
    }
}
