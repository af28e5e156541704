// MaxUnpool on float32 tensors with int64 indices, in two passes over X so that where two indices name one position
// the later element of X wins, as on the CPU: the first pass records, per position, the last element naming it
// (an atomic maximum over element numbers), the second writes the winners. An index outside the unpooled tensor
// sets FAULT_UNPOOL_INDEX (the run fails at its next read-back) and is never written through.

__kernel void fill_int(__global int* p, int n, int value) {
    int i = get_global_id(0);
    if (i < n) p[i] = value;
}

__kernel void unpool_claim(__global const long* indices, __global int* winner, __global int* faults, int n, int total) {
    int k = get_global_id(0);
    if (k >= n) return;
    long at = indices[k];
    if (at < 0 || at >= total) { atomic_or(faults, FAULT_UNPOOL_INDEX); return; }
    atomic_max(winner + (int)at, k);
}

// Position `at` of the unpooled tensor (dims `d`) lands at broadcast_offset(at, d, s) in the output, whose strides
// `s` are those of a possibly larger output_shape.
__kernel void unpool_write(__global const real_t* x, __global const long* indices, __global const int* winner,
                           __global real_t* y, int n, int total, int8 d, int8 s) {
    int k = get_global_id(0);
    if (k >= n) return;
    long at = indices[k];
    if (at < 0 || at >= total || winner[(int)at] != k) return;
    STORE(y, broadcast_offset((int)at, d, s), LOAD(x, k));
}
