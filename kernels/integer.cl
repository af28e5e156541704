// MatMulInteger and ConvInteger: products of int8/uint8 operands less their zero points, summed exactly in 32 bits
// (wrapping on overflow, as the CPU kernels do: the sum runs in uint, whose overflow is defined). Built per operand
// type: A=<type> and B=<type> (char or uchar) for MatMulInteger's A and B, ConvInteger's x and w; a zero point has
// its operand's type.

#ifndef A
#define A uchar
#endif
#ifndef B
#define B uchar
#endif

// One work-item per output element (batch, m, n) of [batch..., M, N]. Operands and zero points are addressed through
// their element strides in the matmul's coordinates (0 where broadcast): over the batch dims `batch` (rank 8, leading
// 1s) with `*_batch`, and along M, K, N with `steps` = (a along M, a along K, b along K, b along N, za along M, za
// along K, zb along K, zb along N). `zeros` (ZERO_POINT_* bits, ZeroPoint in Launchers/Integer.swift): which of A
// and B have a zero point.
__kernel void matmul_integer(__global const A* a, __global const B* b, __global const A* za, __global const B* zb,
                             __global int* y, int total, int m_count, int n_count, int k_count, int8 batch,
                             int8 a_batch, int8 b_batch, int8 za_batch, int8 zb_batch, int8 steps, int zeros) {
    int t = get_global_id(0);
    if (t >= total) return;
    int n = t % n_count, r = t / n_count;
    int m = r % m_count, bi = r / m_count;
    int ao = broadcast_offset(bi, batch, a_batch) + m * steps.s0;
    int bo = broadcast_offset(bi, batch, b_batch) + n * steps.s3;
    int zao = broadcast_offset(bi, batch, za_batch) + m * steps.s4;
    int zbo = broadcast_offset(bi, batch, zb_batch) + n * steps.s7;
    int has_za = zeros & ZERO_POINT_A, has_zb = zeros & ZERO_POINT_B;
    uint acc = 0;
    if (steps.s5 == 0 && steps.s6 == 0) {
        // Zero points constant along K (every form the spec defines): read once.
        int a0 = has_za ? (int)za[zao] : 0, b0 = has_zb ? (int)zb[zbo] : 0;
        for (int k = 0; k < k_count; k++) acc += (uint)(((int)a[ao + k * steps.s1] - a0) * ((int)b[bo + k * steps.s2] - b0));
    } else {
        for (int k = 0; k < k_count; k++) {
            int va = (int)a[ao + k * steps.s1] - (has_za ? (int)za[zao + k * steps.s5] : 0);
            int vb = (int)b[bo + k * steps.s2] - (has_zb ? (int)zb[zbo + k * steps.s6] : 0);
            acc += (uint)(va * vb);
        }
    }
    y[t] = (int)acc;
}

// One work-item per output element (image, channel o, pixel) of a convolution over up to 3 spatial dims (fewer are
// padded with leading size-1 dims), the window geometry as pool.cl's (UNPACK_WINDOW_3D in common.cl). x less its zero
// point (`xz`, a single value; taps in the padding add 0), times w [M, C/group, kD, kH, kW] less its zero point
// (`wz`: one value, or one per output channel when `wz_step` is 1). `zeros` (ZERO_POINT_* bits): ZERO_POINT_A when
// x has a zero point, ZERO_POINT_B when w has one.
__kernel void conv_integer(__global const A* x, __global const B* w, __global const A* xz, __global const B* wz,
                           int zeros, int wz_step, __global int* y, int total, int channels, int m_count, int group_in,
                           int group_out, int4 in_size, int4 out_size, int4 window, int4 stride, int4 dilation,
                           int4 pad_begin) {
    int t = get_global_id(0);
    if (t >= total) return;
    UNPACK_WINDOW_3D;
    int pixels = OD * OH * OW;
    int p = t % pixels, r = t / pixels;
    int o = r % m_count, image = r / m_count;
    int ow = p % OW, q = p / OW;
    int oh = q % OH, od = q / OH;
    int xzero = (zeros & ZERO_POINT_A) ? (int)xz[0] : 0, wzero = (zeros & ZERO_POINT_B) ? (int)wz[o * wz_step] : 0;
    int plane = ID * IH * IW, taps = KD * KH * KW;
    int first = (o / group_out) * group_in;
    uint acc = 0;
    for (int c = 0; c < group_in; c++) {
        __global const A* xc = x + (image * channels + first + c) * plane;
        __global const B* wc = w + (o * group_in + c) * taps;
        for (int kd = 0; kd < KD; kd++) {
            int id = od * sd + kd * dd - pd;
            if (id < 0 || id >= ID) continue;
            for (int kh = 0; kh < KH; kh++) {
                int ih = oh * sh + kh * dh - ph;
                if (ih < 0 || ih >= IH) continue;
                for (int kw = 0; kw < KW; kw++) {
                    int iw = ow * sw + kw * dw - pw;
                    if (iw < 0 || iw >= IW) continue;
                    int v = (int)xc[(id * IH + ih) * IW + iw] - xzero;
                    acc += (uint)(v * ((int)wc[(kd * KH + kh) * KW + kw] - wzero));
                }
            }
        }
    }
    y[t] = (int)acc;
}
