// Convolution helpers and transposed convolution. Conv takes one of three paths, chosen by shape on the host: 1x1
// stride-1 unpadded convolutions are GEMMs (gemm.cl); depthwise ones (one input channel per group) run conv_depthwise;
// everything else runs conv_direct (conv_direct.cl, built per tile shape). 1-D convolutions run as 2-D ones with a
// height of 1.

// ---- Weight layout for conv_direct ---------------------------------------------------------------------------------
// Wp[g][k][m] = W[g*mg + m][k], zero where m >= mg or k >= K: the per-run layout change for weights that are not
// constants (constant weights are re-laid-out once on the host).
__kernel void conv_pack_weights(__global const real_t* w, __global real_t* wp, int K, int mg, int Kp, int Mp) {
    int m = get_global_id(0), k = get_global_id(1), g = get_global_id(2);
    if (m >= Mp || k >= Kp) return;
    STORE(wp, (g * Kp + k) * Mp + m, (m < mg && k < K) ? LOAD(w, (g * mg + m) * K + k) : 0.0f);
}

// ---- Depthwise convolution ----------------------------------------------------------------------------------------
// Every group has one input channel (output channel m reads channel m / multiplier). Each work-item computes DW_RUN
// neighbouring outputs of one row, so each weight is loaded once for all of them; neighbouring work-items take
// neighbouring runs of the same row, so their input reads share cache lines (DW_RUN: ConvCL.depthwiseRun, defined
// from Swift). The epilogue adds the bias (when has_bias), then the residual laid out as y (when has_res), and applies
// the activation; the int2 sizes are (height, width).

__kernel void conv_depthwise(__global const real_t* x, __global const real_t* w, __global real_t* y,
                             __global const real_t* bias, int has_bias, __global const real_t* res, int has_res,
                             int act, float act_a, float act_b, int C, int M, int multiplier, int2 in_size, int2 out_size, int2 window, int2 stride,
                             int2 dilation, int2 pad, int runs, int total) {
    int i = get_global_id(0);
    if (i >= total) return;
    const int H = in_size.x, W = in_size.y, OH = out_size.x, OW = out_size.y, KH = window.x, KW = window.y;
    const int sh = stride.x, sw = stride.y, dh = dilation.x, dw = dilation.y, ph = pad.x, pw = pad.y;
    int run = i % runs, r = i / runs;
    int oy = r % OH, plane = r / OH;
    int m = plane % M, b = plane / M;
    int ox0 = run * DW_RUN;
    __global const real_t* xp = x + (b * C + m / multiplier) * H * W;
    __global const real_t* wm = w + m * KH * KW;
    float acc[DW_RUN];
    for (int j = 0; j < DW_RUN; j++) acc[j] = 0.0f;
    int top = oy * sh - ph, left = ox0 * sw - pw;
    for (int ky = 0; ky < KH; ky++) {
        int iy = top + ky * dh;
        if ((uint)iy >= (uint)H) continue;
        __global const real_t* row = xp + iy * W;
        for (int kx = 0; kx < KW; kx++) {
            float wv = LOAD(wm, ky * KW + kx);
            int ix = left + kx * dw;
            for (int j = 0; j < DW_RUN; j++, ix += sw)
                if ((uint)ix < (uint)W) acc[j] = mad(wv, LOAD(row, ix), acc[j]);
        }
    }
    float bv = has_bias ? LOAD(bias, m) : 0.0f;
    const int row = (plane * OH + oy) * OW;
    for (int j = 0; j < DW_RUN && ox0 + j < OW; j++) {
        float v = acc[j] + bv;
        if (has_res) v += LOAD(res, row + ox0 + j);
        STORE(y, row + ox0 + j, activate(v, act, act_a, act_b));
    }
}

// ---- Volumetric convolution --------------------------------------------------------------------------------------
// The column matrix of 3-D convolutions (Conv with 3 spatial axes), for a GEMM per group: for images b0.. of a chunk,
// col[b][g][(c, kz, ky, kx)][output pixel] = X[b0 + b][g*cg + c] at the tap's input position, 0 in the padding.
// One work-item per column entry, neighbouring work-items on neighbouring output pixels.
__kernel void conv_im2col_3d(__global const real_t* x, __global real_t* col, int total, int b0, int C, int cg,
                             int groups, int4 in_size, int4 out_size, int4 window, int4 stride, int4 dilation,
                             int4 pad_begin) {
    int i = get_global_id(0);
    if (i >= total) return;
    UNPACK_WINDOW_3D;
    int P = OD * OH * OW, taps = KD * KH * KW, K = cg * taps;
    int p = i % P, r = i / P;
    int e = r % K; r /= K;
    int g = r % groups, b = r / groups;
    int c = e / taps, t = e - c * taps;
    int kx = t % KW, ky = (t / KW) % KH, kz = t / (KW * KH);
    int ox = p % OW, oy = (p / OW) % OH, oz = p / (OW * OH);
    int iz = oz * sd - pd + kz * dd, iy = oy * sh - ph + ky * dh, ix = ox * sw - pw + kx * dw;
    float v = 0.0f;
    if ((uint)iz < (uint)ID && (uint)iy < (uint)IH && (uint)ix < (uint)IW)
        v = LOAD(x, (((b0 + b) * C + g * cg + c) * ID + iz) * IH * IW + iy * IW + ix);
    STORE(col, i, v);
}

// ---- Transposed convolution ---------------------------------------------------------------------------------------
// After the GEMM col[b][g][(m, kz, ky, kx)][input pixel] = sum_c W[g*cg + c][m][k] * X[b][g*cg + c][pixel], each output
// element gathers the column entries whose tap lands on it: along each axis, input i and tap k reach output
// o = i*s - p + k*d. Gathering (not scattering) needs no atomics and starts from the bias. Up to 3 spatial axes;
// fewer are leading axes of size 1.
__kernel void convtranspose_col2im(__global const real_t* col, __global const real_t* bias, int has_bias,
                                   __global real_t* y, int y_offset, int total, int M, int mg, int groups,
                                   int4 in_size, int4 out_size, int4 window, int4 stride, int4 dilation,
                                   int4 pad_begin) {
    int i = get_global_id(0);
    if (i >= total) return;
    UNPACK_WINDOW_3D;
    int ox = i % OW, r = i / OW;
    int oy = r % OH; r /= OH;
    int oz = r % OD; r /= OD;
    int m = r % M, b = r / M;
    int g = m / mg, ml = m - g * mg;
    int inPlane = ID * IH * IW;
    __global const real_t* c = col + ((b * groups + g) * mg + ml) * KD * KH * KW * inPlane;
    float acc = has_bias ? LOAD(bias, m) : 0.0f;
    // The offsets decrease with the tap index, so the first negative one ends its axis.
    for (int kz = 0; kz < KD; kz++) {
        int tz = oz + pd - kz * dd;
        if (tz < 0) break;
        int iz = tz / sd;
        if (iz * sd != tz || iz >= ID) continue;
        for (int ky = 0; ky < KH; ky++) {
            int ty = oy + ph - ky * dh;
            if (ty < 0) break;
            int iy = ty / sh;
            if (iy * sh != ty || iy >= IH) continue;
            for (int kx = 0; kx < KW; kx++) {
                int tx = ox + pw - kx * dw;
                if (tx < 0) break;
                int ix = tx / sw;
                if (ix * sw != tx || ix >= IW) continue;
                acc += LOAD(c, ((kz * KH + ky) * KW + kx) * inPlane + (iz * IH + iy) * IW + ix);
            }
        }
    }
    STORE(y, y_offset + i, acc);
}
