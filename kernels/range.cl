// Range: element i is start + i * delta (start and delta read on the host), rounded as the CPU rounds it: a
// contracted multiply-add would round once where the CPU rounds twice.
#pragma OPENCL FP_CONTRACT OFF

__kernel void range_f32(__global real_t* y, int n, float start, float delta) {
    int i = get_global_id(0);
    if (i < n) STORE(y, i, start + (float)i * delta);
}

// Integers of type S (int or long), computed in 64 bits wrapping as the CPU does. start and delta come as two
// 32-bit halves each (kernel arguments here are 32-bit).
#ifdef S
__kernel void range_int(__global S* y, int n, int start_lo, int start_hi, int delta_lo, int delta_hi) {
    int i = get_global_id(0);
    if (i >= n) return;
    ulong start = ((ulong)(uint)start_hi << 32) | (uint)start_lo, delta = ((ulong)(uint)delta_hi << 32) | (uint)delta_lo;
    y[i] = (S)(start + (ulong)i * delta);
}
#endif
