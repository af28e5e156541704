// Tiled GEMM after CLBlast's Xgemm: C = act(alpha * op(A) * op(B) + beta * bias) for a batch of matrices.
// Row-major terms throughout: C is M x N with N contiguous (row stride ldc). A work-group computes an MWG x NWG tile
// of C, stepping over K in blocks of KWG that it stages in local memory; each of its MDIMC x NDIMC work-items keeps
// an MWI x NWI block of C in registers. A is stored M x K (transA = 0) or K x M (transA = 1), B K x N (transB = 0)
// or N x K (transB = 1), each with an offset, a leading dimension and a per-batch stride (0: shared by the batch).
// Tiles that lie inside the matrices are read with vector loads when the operand is aligned (vecA, vecB); edge tiles
// are read element-wise with zero fill, so any size runs without padding copies.
// bias[i * bias_rs + j * bias_cs] broadcasts any bias (scalar, per row, per column, full).
//
// Compile-time parameters (GemmConfig.swift picks them per device):
//   MWG NWG KWG  work-group tile          MDIMC NDIMC  work-items along M and N (local size NDIMC x MDIMC)
//   VWM          vector width along M: loads of A stored K x M and reads of A from local memory
//   VWN          vector width along N: loads of B stored K x N, reads of B from local memory and stores of C
//   VWK          vector width along K: loads of A stored M x K and of B stored N x K
//   STRM STRN    0: a work-item's MWI rows (NWI columns) are contiguous; 1: its vectors are MDIMC (NDIMC) apart
//   KWI          unroll factor of the loop over a K block
//   RELAX_WG     1: no reqd_work_group_size (it slows Adreno down)

#define MWI (MWG / MDIMC)
#define NWI (NWG / NDIMC)
#define WGS (MDIMC * NDIMC)

#if MWG % (MDIMC * VWM) || NWG % (NDIMC * VWN) || KWG % VWK || KWG % KWI || (KWG * MWG / VWM) % WGS \
    || (KWG * NWG / VWN) % WGS || (MWG * KWG / VWK) % WGS || (NWG * KWG / VWK) % WGS
#error "GEMM tile parameters do not divide"
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VEC_1 float
#define VEC_2 float2
#define VEC_4 float4
#define VEC_8 float8
#define VEC_16 float16
#define VEC(n) CAT(VEC_, n)
#define VLOAD1(p) LOAD(p, 0)
#define VSTORE1(v, p) STORE(p, 0, v)
#define VLOAD(n, p) CAT(VLOAD, n)(p)
#define VSTORE(n, v, p) CAT(VSTORE, n)(v, p)

// Vector <-> private array, component by component: indices are compile-time constants after unrolling, so the
// arrays live in registers.
#define UNPACK_1(v, p) (p)[0] = (v);
#define UNPACK_2(v, p) (p)[0] = (v).s0; (p)[1] = (v).s1;
#define UNPACK_4(v, p) UNPACK_2((v).lo, p) UNPACK_2((v).hi, (p) + 2)
#define UNPACK_8(v, p) UNPACK_4((v).lo, p) UNPACK_4((v).hi, (p) + 4)
#define UNPACK_16(v, p) UNPACK_8((v).lo, p) UNPACK_8((v).hi, (p) + 8)
#define UNPACK(n) CAT(UNPACK_, n)
#define PACK_1(p) ((p)[0])
#define PACK_2(p) ((float2)((p)[0], (p)[1]))
#define PACK_4(p) ((float4)(PACK_2(p), PACK_2((p) + 2)))
#define PACK_8(p) ((float8)(PACK_4(p), PACK_4((p) + 4)))
#define PACK_16(p) ((float16)(PACK_8(p), PACK_8((p) + 8)))
#define PACK(n) CAT(PACK_, n)

#if RELAX_WG
#define WG_SIZE
#else
#define WG_SIZE __attribute__((reqd_work_group_size(NDIMC, MDIMC, 1)))
#endif

// Copies the KWG x XWG block of one operand at (k0, x0) into local memory as xlm[k][x] (X contiguous), where X is M
// for A and N for B. `kmajor`: the operand is stored K x X (X contiguous), else X x K (K contiguous, transposed on
// the way in). Adjacent work-items read adjacent addresses in both cases.
#define DEFINE_TILE_LOADER(NAME, XWG, VWX)                                                                          \
void NAME(__global const real_t* g, int ld, int kmajor, int vec, int X, int K, int x0, int k0,                       \
          __local VEC(VWX)* xlm, int tid) {                                                                         \
    __local float* xls = (__local float*)xlm;                                                                       \
    const bool inside = x0 + XWG <= X && k0 + KWG <= K;                                                             \
    if (kmajor) {                                                                                                   \
        _Pragma("unroll")                                                                                           \
        for (int i = 0; i < KWG * XWG / VWX / WGS; i++) {                                                           \
            const int v = tid + i * WGS, kk = v / (XWG / VWX), xv = v - kk * (XWG / VWX);                           \
            const int at = (k0 + kk) * ld + x0 + xv * VWX;                                                          \
            if (inside && vec) {                                                                                    \
                xlm[v] = VLOAD(VWX, g + at);                                                                        \
            } else {                                                                                                \
                _Pragma("unroll")                                                                                   \
                for (int e = 0; e < VWX; e++)                                                                       \
                    xls[v * VWX + e] = (k0 + kk < K && x0 + xv * VWX + e < X) ? LOAD(g, at + e) : 0.0f;            \
            }                                                                                                       \
        }                                                                                                           \
    } else {                                                                                                        \
        _Pragma("unroll")                                                                                           \
        for (int i = 0; i < XWG * KWG / VWK / WGS; i++) {                                                           \
            const int v = tid + i * WGS, xx = v / (KWG / VWK), kv = v - xx * (KWG / VWK);                           \
            const int at = (x0 + xx) * ld + k0 + kv * VWK;                                                          \
            float t[VWK];                                                                                           \
            if (inside && vec) {                                                                                    \
                const VEC(VWK) w = VLOAD(VWK, g + at);                                                              \
                UNPACK(VWK)(w, t)                                                                                   \
            } else {                                                                                                \
                _Pragma("unroll")                                                                                   \
                for (int e = 0; e < VWK; e++)                                                                       \
                    t[e] = (x0 + xx < X && k0 + kv * VWK + e < K) ? LOAD(g, at + e) : 0.0f;                        \
            }                                                                                                       \
            _Pragma("unroll")                                                                                       \
            for (int e = 0; e < VWK; e++) xls[(kv * VWK + e) * XWG + xx] = t[e];                                    \
        }                                                                                                           \
    }                                                                                                               \
}

DEFINE_TILE_LOADER(load_tile_a, MWG, VWM)
DEFINE_TILE_LOADER(load_tile_b, NWG, VWN)

// Index, within the work-group tile, of the vector `x` of this work-item (`t`: its local id along that dimension).
#if STRM
#define A_VEC(x, t) ((x) * MDIMC + (t))
#else
#define A_VEC(x, t) ((t) * (MWI / VWM) + (x))
#endif
#if STRN
#define B_VEC(x, t) ((x) * NDIMC + (t))
#else
#define B_VEC(x, t) ((t) * (NWI / VWN) + (x))
#endif

__kernel WG_SIZE
void gemm_tiled(__global const real_t* A, int offA, int lda, int sA, int transA, int vecA,
                __global const real_t* B, int offB, int ldb, int sB, int transB, int vecB,
                __global real_t* C, int offC, int ldc, int sC, int vecC,
                __global const real_t* bias, int offBias, int bias_rs, int bias_cs, int sBias, int has_bias,
                int M, int N, int K, float alpha, float beta, int act, float act_a, float act_b) {
    __local VEC(VWM) alm[KWG * MWG / VWM];
    __local VEC(VWN) blm[KWG * NWG / VWN];
    const int tn = get_local_id(0), tm = get_local_id(1), tid = tm * NDIMC + tn;
    const int n0 = get_group_id(0) * NWG, m0 = get_group_id(1) * MWG, b = get_group_id(2);
    A += offA + b * sA;
    B += offB + b * sB;

    float acc[MWI][NWI];
    #pragma unroll
    for (int i = 0; i < MWI; i++) {
        #pragma unroll
        for (int j = 0; j < NWI; j++) acc[i][j] = 0.0f;
    }

    for (int k0 = 0; k0 < K; k0 += KWG) {
        load_tile_a(A, lda, transA, vecA, M, K, m0, k0, alm, tid);
        load_tile_b(B, ldb, !transB, vecB, N, K, n0, k0, blm, tid);
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kb = 0; kb < KWG; kb += KWI) {
            #pragma unroll
            for (int ki = 0; ki < KWI; ki++) {
                const int k = kb + ki;
                float ap[MWI], bp[NWI];
                #pragma unroll
                for (int x = 0; x < MWI / VWM; x++) {
                    const VEC(VWM) v = alm[k * (MWG / VWM) + A_VEC(x, tm)];
                    UNPACK(VWM)(v, ap + x * VWM)
                }
                #pragma unroll
                for (int x = 0; x < NWI / VWN; x++) {
                    const VEC(VWN) v = blm[k * (NWG / VWN) + B_VEC(x, tn)];
                    UNPACK(VWN)(v, bp + x * VWN)
                }
                #pragma unroll
                for (int i = 0; i < MWI; i++) {
                    #pragma unroll
                    for (int j = 0; j < NWI; j++) acc[i][j] = mad(ap[i], bp[j], acc[i][j]);
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    C += offC + b * sC;
    bias += offBias + b * sBias;
    #pragma unroll
    for (int i = 0; i < MWI; i++) {
        const int m = m0 + A_VEC(i / VWM, tm) * VWM + i % VWM;
        if (m >= M) continue;
        #pragma unroll
        for (int x = 0; x < NWI / VWN; x++) {
            const int n = n0 + B_VEC(x, tn) * VWN;
            float r[VWN];
            #pragma unroll
            for (int e = 0; e < VWN; e++) {
                float v = alpha * acc[i][x * VWN + e];
                if (has_bias && n + e < N) v += beta * LOAD(bias, m * bias_rs + (n + e) * bias_cs);
                r[e] = activate(v, act, act_a, act_b);
            }
            if (vecC && n + VWN <= N) {
                VSTORE(VWN, PACK(VWN)(r), C + m * ldc + n);
            } else {
                #pragma unroll
                for (int e = 0; e < VWN; e++)
                    if (n + e < N) STORE(C, m * ldc + n + e, r[e]);
            }
        }
    }
}
