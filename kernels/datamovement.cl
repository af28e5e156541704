// Data movement. One strided copy serves Concat, Split, Slice, Transpose and Expand: the host describes
// both sides as dims + element strides + offset (negative strides for reversed slices, 0 where Expand broadcasts),
// after merging the dims that stay adjacent on both sides. Transpositions whose source-contiguous dim is not the
// output's innermost go through local-memory tiles instead. Pad and Gather have their own kernels.
//
// Dims and strides arrive as int8 vectors, right-aligned (unused leading entries: dims 1, strides 0). RANK (a build
// define, 0-8) is how many are used, so each build does exactly as many divisions as the merged shape has dims.

#ifndef RANK
#define RANK 8
#endif

// T: the element these kernels move, as bits (a build define): float for float32, else uchar, ushort, uint or uint2
// by element size (uint2 rather than ulong: devices without 64-bit integers move 8-byte elements too). Pad moves
// float32 tensors (real_t).
#ifndef T
#define T float
#endif

#ifndef TILE
#define TILE 32
#endif

// Offsets in two tensors (strides sa, sb) of the element at flat row-major index i of dims d.
inline int2 unravel2(int i, int8 d, int8 sa, int8 sb) {
    int dims[8], as[8], bs[8];
    vstore8(d, 0, dims);
    vstore8(sa, 0, as);
    vstore8(sb, 0, bs);
    int2 off = (int2)(0, 0);
    for (int k = 7; k > 8 - RANK; k--) {
        int q = i / dims[k];
        int r = i - q * dims[k];
        off += (int2)(r * as[k], r * bs[k]);
        i = q;
    }
#if RANK > 0
    off += (int2)(i * as[8 - RANK], i * bs[8 - RANK]);
#endif
    return off;
}

// dst[dst_off + Σ i_k * dst_strides_k] = src[src_off + Σ i_k * src_strides_k] for every index of `dims` (n elements).
__kernel void strided_copy(__global const T* src, int src_off, __global T* dst, int dst_off, int n, int8 dims,
                           int8 src_strides, int8 dst_strides) {
    int i = get_global_id(0);
    if (i >= n) return;
    int2 o = unravel2(i, dims, src_strides, dst_strides);
    dst[dst_off + o.y] = src[src_off + o.x];
}

// dst[i * ldo + j] = src[i + j * s] over an m x n core (the source is contiguous along i, the destination along j),
// for each combination of the remaining dims (global dim 2; offsets from rest_dims and their strides, plus src_off
// and dst_off). Each
// work-group moves one TILE x TILE tile through local memory so that both the reads and the writes are coalesced;
// the padding column keeps the transposed reads free of bank conflicts.
__kernel void transpose_tiles(__global const T* src, __global T* dst, int m, int n, int s, int ldo,
                              int8 rest_dims, int8 rest_src, int8 rest_dst, int src_off, int dst_off) {
    __local T tile[TILE][TILE + 1];
    int2 base = unravel2(get_global_id(2), rest_dims, rest_src, rest_dst) + (int2)(src_off, dst_off);
    int i0 = get_group_id(1) * TILE, j0 = get_group_id(0) * TILE;
    int lx = get_local_id(0), ly = get_local_id(1), rows = get_local_size(1);
    for (int r = ly; r < TILE; r += rows) {
        int i = i0 + lx, j = j0 + r;
        if (i < m && j < n) tile[r][lx] = src[base.x + i + j * s];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int r = ly; r < TILE; r += rows) {
        int i = i0 + r, j = j0 + lx;
        if (i < m && j < n) dst[base.y + i * ldo + j] = tile[lx][r];
    }
}

// Pad: along each axis, output index o is position j = o - lead of the kept input part [start, start + kept)
// (negative pads crop); outside it the constant is written, or j is mapped back into the part by reflecting,
// clamping or wrapping (repeatedly, as numpy does, when a pad is longer than the part). `mode`: PAD_* (PadMode in
// Launchers/DataMovement.swift).
__kernel void pad_f32(__global const real_t* x, __global real_t* y, int n, int8 out_dims, int8 lead, int8 start,
                      int8 kept, int8 strides, int mode, float value) {
    int i = get_global_id(0);
    if (i >= n) return;
    int dims[8], ld[8], st[8], kp[8], sx[8];
    vstore8(out_dims, 0, dims);
    vstore8(lead, 0, ld);
    vstore8(start, 0, st);
    vstore8(kept, 0, kp);
    vstore8(strides, 0, sx);
    int off = 0, rem = i;
    for (int k = 7; k >= 8 - RANK; k--) {
        int o = rem;
        if (k > 8 - RANK) {
            rem = o / dims[k];
            o -= rem * dims[k];
        }
        int j = o - ld[k], len = kp[k];
        if (j < 0 || j >= len) {
            switch (mode) {
            case PAD_CONSTANT:
                STORE(y, i, value);
                return;
            case PAD_EDGE:
                j = j < 0 ? 0 : len - 1;
                break;
            case PAD_WRAP:
                j = (j % len + len) % len;
                break;
            case PAD_REFLECT:
            default:
                if (len == 1) {
                    j = 0;
                } else {
                    int period = 2 * (len - 1);
                    j = (j % period + period) % period;
                    if (j >= len) j = period - j;
                }
                break;
            }
        }
        off += (st[k] + j) * sx[k];
    }
    STORE(y, i, LOAD(x, off));
}

// y[i] = v[0] for n elements, bit for bit (ConstantOfShape's value, as stored on the device).
__kernel void fill_value(__global const T* v, __global T* y, int n) {
    int i = get_global_id(0);
    if (i < n) y[i] = v[0];
}

// Gather along an axis of data seen as [outer, n, inner]: y[o, k, e] = x[o, idx[k], e] for m indices of type I
// (int or long); a negative index counts from the end, one out of range sets FAULT_GATHER_INDEX and gives 0.
// Adjacent work-items copy adjacent elements of a row.
#ifdef I
__kernel void gather_rows(__global const T* x, __global const I* idx, __global T* y, int total, int n, int m,
                          int inner, __global int* faults) {
    int i = get_global_id(0);
    if (i >= total) return;
    int r = i / inner, e = i - r * inner;
    int o = r / m, k = r - o * m;
    long v = idx[k];
    if (v < 0) v += n;
    if (v < 0 || v >= n) {
        atomic_or(faults, FAULT_GATHER_INDEX);
        y[i] = (T)0;
        return;
    }
    y[i] = x[((long)o * n + v) * inner + e];
}
#endif

// Where: out = cond ? x : y over the output dims `d`, each input read through its broadcast strides (0 where it is
// broadcast); values are copied bit for bit.
__kernel void where_select(__global const uchar* cond, __global const T* x, __global const T* y, __global T* out, int n,
                           int8 d, int8 sc, int8 sx, int8 sy) {
    int i = get_global_id(0);
    if (i >= n) return;
    out[i] = cond[broadcast_offset(i, d, sc)] ? x[broadcast_offset(i, d, sx)] : y[broadcast_offset(i, d, sy)];
}
