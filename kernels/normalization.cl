// BatchNormalization (inference) and LRN on float32.

// BatchNormalization parameters as one multiply-add: a = scale / sqrt(var + eps), b = B - mean * a (the CPU kernel's
// formula). Runs only when the parameters are not constants; constant ones are combined once on the host.
__kernel void batchnorm_affine(__global const float* scale, __global const float* bias, __global const float* mean,
                               __global const float* var, __global float* a, __global float* b, int n, float eps) {
    int i = get_global_id(0);
    if (i >= n) return;
    float ai = scale[i] / sqrt(var[i] + eps);
    a[i] = ai;
    b[i] = bias[i] - mean[i] * ai;
}

// y = x * a[p] + b[p], p the parameter (channel, or activation with spatial = 0) of element i: elements come in runs
// of `inner` per parameter, `params` runs per image.
__kernel void batchnorm_f32(__global const float* x, __global float* y, __global const float* a,
                            __global const float* b, int total, int inner, int params) {
    int i = get_global_id(0);
    if (i >= total) return;
    int p = (i / inner) % params;
    y[i] = x[i] * a[p] + b[p];
}

// y = x * (bias + alpha/size * sum of x^2 over channels c-before ... c+after)^-beta, one work-item per element;
// neighbouring work-items take neighbouring positions of one channel plane, so every channel read is coalesced.
__kernel void lrn_f32(__global const float* x, __global float* y, int total, int C, int inner, int before, int after,
                      float bias, float scale, float beta) {
    int i = get_global_id(0);
    if (i >= total) return;
    int s = i % inner, r = i / inner;
    int c = r % C, n = r / C;
    __global const float* xp = x + n * C * inner + s;
    float sum = 0.0f;
    for (int ch = max(0, c - before); ch <= min(C - 1, c + after); ch++) {
        float v = xp[ch * inner];
        sum = mad(v, v, sum);
    }
    y[i] = x[i] * pow(bias + scale * sum, -beta);
}
