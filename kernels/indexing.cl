// GatherElements, ScatterElements and ScatterND on positions the host computed from the indices (validated and
// wrapped there, so every offset is in range). Data is moved as bits of type T (a build define: unsigned, of the
// element's size; float32 storage by default, float or the bits of half), except by the scatter reductions, which
// compute on float32 (real_t) in float.

#ifndef T
#ifdef DL_HALF
#define T ushort
#else
#define T float
#endif
#endif

// y[i] = x[src[i]].
__kernel void gather_offsets(__global const T* x, __global const int* src, __global T* y, int n) {
    int i = get_global_id(0);
    if (i < n) y[i] = x[src[i]];
}

// The updates, in the order the CPU applies them, grouped by destination: group g writes the `slice` elements
// from y[base[g]], applying updates order[starts[g]] ... order[starts[g + 1] - 1] (each a slice of `updates`) one
// after the other; only the last counts when replacing. One work-item per (group, element of the slice), so no two
// work-items touch one element.
__kernel void scatter_replace(__global T* y, __global const T* updates, __global const int* order,
                              __global const int* starts, __global const int* base, int groups, int slice) {
    int t = get_global_id(0);
    if (t >= groups * slice) return;
    int g = t / slice, j = t - g * slice;
    y[base[g] + j] = updates[order[starts[g + 1] - 1] * slice + j];
}

// As scatter_replace, combining each update with the value there in float: add, multiply, or the maximum and
// minimum as the CPU takes them (NaN if either is NaN; of equal values, max keeps the update, min the value there).
// `op`: SCATTER_* (ScatterCode in Launchers/Indexing.swift).
__kernel void scatter_reduce(__global real_t* y, __global const real_t* updates, __global const int* order,
                             __global const int* starts, __global const int* base, int groups, int slice, int op) {
    int t = get_global_id(0);
    if (t >= groups * slice) return;
    int g = t / slice, j = t - g * slice;
    int at = base[g] + j;
    float acc = LOAD(y, at);
    for (int k = starts[g]; k < starts[g + 1]; k++) {
        float u = LOAD(updates, order[k] * slice + j);
        switch (op) {
        case SCATTER_ADD: acc = acc + u; break;
        case SCATTER_MUL: acc = acc * u; break;
        case SCATTER_MAX: acc = isnan(acc) || isnan(u) ? NAN : (u >= acc ? u : acc); break;
        case SCATTER_MIN:
        default: acc = isnan(acc) || isnan(u) ? NAN : (u < acc ? u : acc); break;
        }
    }
    STORE(y, at, acc);
}

// GatherND with the indices on the device: output element i is element e of slice t = i / slice, whose q-tuple
// indices[t * q ...] (negative values count from the end of their axis) addresses data after the batch offset of
// tuple t. An index out of range sets FAULT_GATHER_INDEX and the element is written as 0. `dims` and `strides` are
// data's dims and strides of the q indexed axes (the first q of the 8).
__kernel void gather_nd(__global const T* data, __global const long* indices, __global T* y, int n, int slice, int q,
                        int tuples, int batch_stride, int8 dims, int8 strides, __global int* faults) {
    int i = get_global_id(0);
    if (i >= n) return;
    int t = i / slice, e = i - t * slice;
    long off = (long)(t / tuples) * batch_stride;
    int dv[8] = {dims.s0, dims.s1, dims.s2, dims.s3, dims.s4, dims.s5, dims.s6, dims.s7};
    int sv[8] = {strides.s0, strides.s1, strides.s2, strides.s3, strides.s4, strides.s5, strides.s6, strides.s7};
    for (int j = 0; j < q; j++) {
        long v = indices[(long)t * q + j];
        if (v < 0) v += dv[j];
        if (v < 0 || v >= dv[j]) {
            atomic_or(faults, FAULT_GATHER_INDEX);
            y[i] = (T)0;
            return;
        }
        off += v * sv[j];
    }
    y[i] = data[off + e];
}
