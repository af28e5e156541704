#ifndef DLINFER_KERNELS_H
#define DLINFER_KERNELS_H
// SGEMM, SGEMV, depthwise convolution, Winograd transforms, max-pooling and vector-math kernels for the CPU backend:
// the only code written in C, because Swift cannot compile one function for several instruction sets and pick one at
// run time. Everything else (packing, blocking, threading) is Swift.
#include <stdint.h>

/// What the micro-kernels do to a finished tile before storing it: add bias[i] to row i (bias NULL for none), then
/// the residual (NULL for none: the element stored at origin + j gets residual[j] added, origin being where the
/// matrix C starts), then, when clamp is set, raise to lo and lower to hi (NaN stays NaN). A convolution's bias, a
/// skip connection's Add and Relu or Clip.
typedef struct {
    const float *bias;
    int32_t clamp;
    float lo, hi;
    const float *residual;
    const float *origin;
} dl_epilogue;

/// The body of a spin-wait loop (x86 PAUSE, Arm YIELD): the waiting thread leaves the core's issue slots to a thread
/// sharing the core (SMT, or a vCPU whose sibling is another vCPU) and draws less power.
static inline void dl_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// C[mr x nr] (row stride ldc) = alpha * Ap * Bp + beta * C, then `ep` when it is not NULL, where Ap is a packed A
/// panel (kc steps of MR floats, one per row) and Bp a packed B panel (kc steps of NR floats, one per column), both
/// zero-padded to the full tile. 1 <= mr <= MR, 1 <= nr <= NR. With beta == 0, C is not read.
typedef void (*dl_sgemm_ukernel_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                    int64_t mr, int64_t nr, float alpha, float beta, const dl_epilogue *ep);

/// The micro-kernel with B read in place instead of packed: step p's NR floats start at b + boff[p], and all NR
/// must be readable even when nr < NR (the extra columns are computed and dropped). Convolution uses it to read the
/// zero-padded input directly, without im2col (boff[p] is input channel and tap p's offset).
typedef void (*dl_sgemm_indirect_fn)(int64_t kc, const float *a, const float *b, const int64_t *boff, float *c,
                                     int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta,
                                     const dl_epilogue *ep);

/// y[j] = sum_p v[p] * x[p * ldx + j] for j < n (y overwritten): a vector times the rows of a matrix.
typedef void (*dl_sgemv_rows_fn)(int64_t k, int64_t n, const float *x, int64_t ldx, const float *v, float *y);
/// y[i] = sum_p x[i * ldx + p] * v[p] for i < m: the rows of a matrix dotted with a vector.
typedef void (*dl_sgemv_dots_fn)(int64_t m, int64_t k, const float *x, int64_t ldx, const float *v, float *y);
/// y[q * NR + j] += sum_p a[p] * b[q][p][j] for `panels` consecutive packed B panels of depth kc.
typedef void (*dl_sgemv_packed_fn)(int64_t kc, const float *a, const float *b, int64_t panels, float *y);

/// y[j] = exp(x[j] - shift) for j < n, returning their sum: the exponentials of a softmax row after subtracting its
/// maximum (x[j] - shift <= 0; below -87.3 the result is 0, NaN stays NaN, elsewhere within 2 ulp of expf). y may
/// be x, or NULL to only sum.
typedef float (*dl_exp_sum_fn)(int64_t n, const float *x, float shift, float *y);
/// y[j] = f(x[j]) for j < n; y may be x. erf: within 6 ulp; sigmoid and tanh: within a few ulp (tanh's absolute
/// error below 1e-7). NaN stays NaN.
typedef void (*dl_map_fn)(int64_t n, const float *x, float *y);

/// A depthwise 3x3 convolution (dilation 1) of one image: output plane c (oh x ow, at y + c * oh * ow) from input
/// plane c / multiplier (ih x iw) padded by ph rows on top and pw columns on the left, and by zeros wherever else
/// the windows reach: y[c][oy][ox] = bias[c] + sum over a, b < 3 of w[9c + 3a + b] * x[oy * sh + a - ph][ox * sw +
/// b - pw], sw 1 or 2, bias NULL for none; then, when clamp is set, raised to lo and lowered to hi (NaN stays NaN).
typedef struct {
    const float *x;
    const float *w;
    const float *bias;
    float *y;
    int64_t multiplier, ih, iw, ph, pw, sh, sw, oh, ow;
    int32_t clamp;
    float lo, hi;
} dl_dwconv3x3_args;

/// Output planes c0 ..< c1 of `g`, with dl_dwconv3x3_scratch(g) floats of scratch aligned on 64 bytes.
typedef void (*dl_dwconv3x3_fn)(const dl_dwconv3x3_args *g, int64_t c0, int64_t c1, float *scratch);

/// The depthwise and pooling kernels copy planes with their padding into scratch through a ring of padded planes,
/// plane c + ring - 1 while plane c is computed. A plane of DL_PAD_RING floats or more is copied a plane ahead, a few
/// rows after each part of the plane computed; a smaller one whole, at least two planes and about DL_PAD_RING floats
/// ahead, so that its rows are not read right after they were stored.
#define DL_PAD_RING 1024
static inline int64_t dl_pad_ring(int64_t plane) {
    return plane >= DL_PAD_RING ? 2 : DL_PAD_RING / plane + 1 > 3 ? DL_PAD_RING / plane + 1 : 3;
}

/// Floats per padded row: what a stride-sw row of max(ow, 16) outputs reads in whole vectors of up to 16 lanes,
/// rounded up to 16 so that every row starts on 64 bytes.
static inline int64_t dl_dwconv3x3_row(const dl_dwconv3x3_args *g) {
    return (g->sw * (g->ow > 16 ? g->ow : 16) + 16 + 15) / 16 * 16;
}

/// Zero-padded planes in dl_dwconv3x3's ring: the one computed and those copied ahead of it.
static inline int64_t dl_dwconv3x3_ring(const dl_dwconv3x3_args *g) {
    return dl_pad_ring(((g->oh - 1) * g->sh + 3) * dl_dwconv3x3_row(g));
}

/// Whether output planes of at most 256 values (14x14 and 7x7 at mobilenet's and shufflenet's last stages), from
/// input planes of 8 values or more, are computed a vector of channels at a time with the channels innermost (16 with
/// AVX-512, 8 with AVX2; the generic kernel keeps to planes): along a plane's rows of 7, vectors were three-quarters
/// full and each plane paid its own copy, edges and stores. At 14x14 the transposes in and out still cost less than
/// that (mobilenet_v2's 384- and 576-channel layers in the model, Zen 4, AVX-512, 1 thread: 0.051 -> 0.040 ms, 0.075
/// -> 0.061); larger planes were not shown to gain and keep to planes.
static inline int dl_dwconv3x3_blocked(const dl_dwconv3x3_args *g) {
    return g->oh * g->ow <= 256 && g->oh * g->ow >= 8 && g->ih * g->iw >= 8;
}

/// Floats of one channel block's scratch: its padded input pixels and its output pixels, room for 16 channels each.
static inline int64_t dl_dwconv3x3_block(const dl_dwconv3x3_args *g) {
    return 16 * (((g->oh - 1) * g->sh + 3) * ((g->ow - 1) * g->sw + 3) + g->oh * g->ow);
}

/// Floats of scratch dl_dwconv3x3 needs (64-byte aligned): its ring of padded planes, and for blocked planes a
/// channel block's scratch after it.
static inline int64_t dl_dwconv3x3_scratch(const dl_dwconv3x3_args *g) {
    const int64_t ring = dl_dwconv3x3_ring(g) * ((g->oh - 1) * g->sh + 3) * dl_dwconv3x3_row(g);
    return ring + (dl_dwconv3x3_blocked(g) ? dl_dwconv3x3_block(g) : 0);
}

/// Max or average pooling of planes over 2-D windows (dilation 1): output plane c (oh x ow, at y + c * oh * ow)
/// from input plane c (ih x iw, at x + c * ih * iw) padded by ph rows on top and pw columns on the left, over the
/// taps x[oy * sh + a - ph][ox * sw + b - pw], a < kh, b < kw, inside the input, in row-major order. sw is 1 or 2.
/// - Max (divisor NULL): a value wins only when greater, so the first of equal values stays (signed zeros), NaN never
///   wins, and a window with nothing inside the input gives -inf.
/// - Average (divisor set): (0 + the taps) / divisor[oy * ow + ox]; divisor holds oh * ow values and is readable for
///   16 floats past them.
typedef struct {
    const float *x;
    float *y;
    const float *divisor;
    int64_t ih, iw, ph, pw, kh, kw, sh, sw, oh, ow;
} dl_pool2d_args;

/// Planes c0 ..< c1 of `g`, with dl_pool2d_scratch(g) floats of scratch aligned on 64 bytes.
typedef void (*dl_pool2d_fn)(const dl_pool2d_args *g, int64_t c0, int64_t c1, float *scratch);


/// Floats per padded row: what a row of max(ow, 16) outputs reads in whole vectors of up to 16 lanes, rounded up
/// to 16 so that every row starts on 64 bytes.
static inline int64_t dl_pool2d_row(const dl_pool2d_args *g) {
    return (g->sw * (g->ow > 16 ? g->ow : 16) + g->kw + 16 + 15) / 16 * 16;
}

/// Padded rows per plane: those the windows reach.
static inline int64_t dl_pool2d_rows(const dl_pool2d_args *g) { return (g->oh - 1) * g->sh + g->kh; }

/// Whether dl_pool2d computes MaxPool three taps across at stride 2 in two passes (maxima across, then down),
/// straight from the input.
static inline int dl_pool2d_rowwise(const dl_pool2d_args *g) { return !g->divisor && g->sw == 2 && g->kw == 3; }

/// Floats per row of the maxima across (`dl_pool2d_rowwise`): max(ow, 16) rounded up to 16, and 16 more, so that a
/// row narrower than a vector is still computed as one vector from its first output whose taps lie in the input.
static inline int64_t dl_pool2d_across(const dl_pool2d_args *g) {
    return ((g->ow > 16 ? g->ow : 16) + 15) / 16 * 16 + 16;
}

/// Padded planes in dl_pool2d's ring: the one computed and those copied ahead of it.
static inline int64_t dl_pool2d_ring(const dl_pool2d_args *g) { return dl_pad_ring(dl_pool2d_rows(g) * dl_pool2d_row(g)); }

/// Padded columns per plane: those the windows reach.
static inline int64_t dl_pool2d_cols(const dl_pool2d_args *g) { return (g->ow - 1) * g->sw + g->kw; }

/// Whether dl_pool2d computes planes 16 (AVX-512) or 8 (AVX2) at a time with the channels innermost: output rows
/// narrower than 8 (7x7 planes), where a plane's vectors were mostly empty lanes, edges and overlaps (at 14 wide the
/// two ways took about as long).
static inline int dl_pool2d_blocked(const dl_pool2d_args *g) {
    return g->ow < 8 && g->oh * g->ow >= 8 && g->ih * g->iw >= 8 && g->oh * g->ow <= 1024 &&
           dl_pool2d_rows(g) * dl_pool2d_cols(g) <= 4096;
}

/// Floats of one channel block's scratch: its padded input pixels and its output pixels, room for 16 channels each.
static inline int64_t dl_pool2d_block(const dl_pool2d_args *g) {
    return 16 * (dl_pool2d_rows(g) * dl_pool2d_cols(g) + g->oh * g->ow);
}

/// Floats of scratch dl_pool2d needs (64-byte aligned): a plane's maxima across (`dl_pool2d_rowwise`), else its ring
/// of padded planes; for blocked planes a channel block's scratch after it.
static inline int64_t dl_pool2d_scratch(const dl_pool2d_args *g) {
    const int64_t planes = dl_pool2d_rowwise(g) ? dl_pool2d_rows(g) * dl_pool2d_across(g)
                                                : dl_pool2d_ring(g) * dl_pool2d_rows(g) * dl_pool2d_row(g);
    return planes + (dl_pool2d_blocked(g) ? dl_pool2d_block(g) : 0);
}

/// Winograd F(4x4, 3x3)'s input transform for tiles t0 ..< t0 + tc of an image's channel planes (height x width at
/// x + c * height * width), tile t's 6x6 patch starting at row 4 (t / tiles_w) - pad_top, column 4 (t % tiles_w) -
/// pad_left, zeros outside the plane: V[xi][c][t - t0] = (Bᵀ d B)[xi] at v + xi * ld + c * tc + t - t0.
typedef struct {
    const float *x;
    float *v;
    int64_t height, width, pad_top, pad_left, tiles_w, t0, tc, ld;
} dl_winograd_input_args;

/// Channels c0 ..< c1 of `g`, with dl_winograd_input_scratch(g) floats of scratch.
typedef void (*dl_winograd_input_fn)(const dl_winograd_input_args *g, int64_t c0, int64_t c1, float *scratch);

/// Floats per transformed row: room for the left padding and for the last tiles' reads of 32 floats.
static inline int64_t dl_winograd_input_row(const dl_winograd_input_args *g) {
    return g->pad_left + g->width + 4 * g->tiles_w + 40;
}

/// Floats of scratch dl_winograd_input needs: six transformed rows and a row of zeros.
static inline int64_t dl_winograd_input_scratch(const dl_winograd_input_args *g) {
    return 6 * dl_winograd_input_row(g) + g->width;
}

/// Winograd F(4x4, 3x3)'s output transform for tiles t0 ..< t0 + tc: output plane o (height x width at y + o *
/// height * width) gets, over tile t's 4x4 block clipped at the plane's edges, (Aᵀ M A) + bias[o] (bias NULL for
/// none) + the residual laid out as y (NULL for none), then, when clamp is set, raised to lo and lowered to hi (NaN
/// stays NaN); M[xi][o][t - t0] is at m + xi * ld + o * tc + t - t0, or with ldt set (M[xi] tiles x channels) at
/// m + xi * ld + (t - t0) * ldt + o.
typedef struct {
    const float *m;
    float *y;
    const float *bias;
    const float *residual;
    int64_t height, width, tiles_w, t0, tc, ld, ldt;
    int32_t clamp;
    float lo, hi;
} dl_winograd_output_args;

/// Output planes o0 ..< o1 of `g`.
typedef void (*dl_winograd_output_fn)(const dl_winograd_output_args *g, int64_t o0, int64_t o1);

/// Packs rows 0 ..< rows (in the panel direction) and k steps 0 ..< kc of X, where X(r, p) = src[r * rs + p * ks],
/// into consecutive panels of `width` (zero-padded past the last row): the layout the micro-kernels read.
typedef void (*dl_pack_fn)(float *dst, const float *src, int64_t rs, int64_t ks, int64_t rows, int64_t kc,
                           int64_t width);

/// Output planes c0 ..< c1 from Yᵀ: y[c * pixels + p] = yt[p * ld + c] + bias[c] (bias NULL for none), then, when
/// clamp is set, raised to lo and lowered to hi (NaN stays NaN).
typedef struct {
    const float *yt;
    float *y;
    const float *bias;
    int64_t ld, pixels;
    int32_t clamp;
    float lo, hi;
} dl_transpose_out_args;

typedef void (*dl_transpose_out_fn)(const dl_transpose_out_args *g, int64_t c0, int64_t c1);

/// One instruction set's kernels: the SGEMM micro-kernel (tile mr x nr) and its in-place-B form, the matrix-vector
/// kernels, the softmax exponential, erf, the depthwise 3x3 plane, sigmoid, tanh, max pooling,
/// Winograd's transforms, the packing of operands into panels and the transpose of a product's pixel rows into planes.
typedef struct {
    const char *name;
    int32_t mr;
    int32_t nr;
    dl_sgemm_ukernel_fn kernel;
    dl_sgemm_indirect_fn indirect;
    dl_sgemv_rows_fn gemv_rows;
    dl_sgemv_dots_fn gemv_dots;
    dl_sgemv_packed_fn gemv_packed;
    dl_exp_sum_fn exp_sum;
    dl_map_fn erf;
    dl_dwconv3x3_fn dwconv3x3;
    dl_map_fn sigmoid;
    dl_map_fn tanh;
    dl_pool2d_fn pool2d;
    dl_winograd_input_fn winograd_input;
    dl_winograd_output_fn winograd_output;
    dl_pack_fn pack;
    dl_transpose_out_fn transpose_out;
} dl_sgemm_ukernel;

/// The kernel sets this CPU can run, fastest first (checked with cpuid, including OS support for the registers).
const dl_sgemm_ukernel *dl_sgemm_ukernels(int32_t *count);

/// 1 when cpuid names the CPU's vendor GenuineIntel, else 0: its cache blocking differs (see SGEMMKernel), and its
/// AVX-512 shuffles are cheaper (dw_pairs in dwconv_impl.h).
int32_t dl_cpu_is_intel(void);

/// Asks for the cache lines of p[0 ..< bytes] to be brought into L2 ahead of use (a hint: nothing is read).
void dl_prefetch_l2(const void *p, int64_t bytes);

#endif
