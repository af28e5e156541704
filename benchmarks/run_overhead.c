/* Per-run cost of the C API on a one-node model (run_overhead.py builds it and compiles this file):
 * bind_input + run + copy_output, and run + copy_output with the input written into dlinfer_session_input_buffer.
 * Usage: run_overhead MODEL ELEMENTS RUNS BLOCKS; prints the median over blocks of microseconds per run. */
#define _POSIX_C_SOURCE 200809L
#include "dlinfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int compare(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static void fail(const char* what) {
    fprintf(stderr, "%s: %s\n", what, dlinfer_last_error());
    exit(1);
}

int main(int argc, char** argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL ELEMENTS RUNS BLOCKS\n", argv[0]);
        return 2;
    }
    int64_t n = atoll(argv[2]);
    int runs = atoi(argv[3]), blocks = atoi(argv[4]);
    dlinfer_model* model;
    dlinfer_session* session;
    if (dlinfer_model_load_file(argv[1], &model)) fail("load");
    if (dlinfer_session_create(model, NULL, &session)) fail("session");
    float* x = malloc((size_t)n * sizeof(float));
    float* y = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) x[i] = (float)(i % 7) - 3.0f;
    size_t bytes = (size_t)n * sizeof(float);
    double* bound = malloc((size_t)blocks * sizeof(double));
    double* buffered = malloc((size_t)blocks * sizeof(double));
    void* buffer;
    for (int b = 0; b < blocks; b++) {
        double t = now();
        for (int r = 0; r < runs; r++) {
            if (dlinfer_session_bind_input(session, 0, DLINFER_DTYPE_FLOAT32, &n, 1, x, bytes)) fail("bind_input");
            if (dlinfer_session_run(session)) fail("run");
            if (dlinfer_session_copy_output(session, 0, y, bytes)) fail("copy_output");
        }
        bound[b] = (now() - t) / runs * 1e6;
        if (dlinfer_session_input_buffer(session, 0, DLINFER_DTYPE_FLOAT32, &n, 1, &buffer)) fail("input_buffer");
        t = now();
        for (int r = 0; r < runs; r++) {
            memcpy(buffer, x, bytes);
            if (dlinfer_session_run(session)) fail("run");
            if (dlinfer_session_copy_output(session, 0, y, bytes)) fail("copy_output");
        }
        buffered[b] = (now() - t) / runs * 1e6;
    }
    for (int64_t i = 0; i < n; i++) {
        if (y[i] != (x[i] > 0 ? x[i] : 0)) {
            fprintf(stderr, "wrong result at %lld\n", (long long)i);
            return 1;
        }
    }
    qsort(bound, (size_t)blocks, sizeof(double), compare);
    qsort(buffered, (size_t)blocks, sizeof(double), compare);
    printf("%.3f %.3f\n", bound[blocks / 2], buffered[blocks / 2]);
    dlinfer_session_destroy(session);
    dlinfer_model_release(model);
    free(x);
    free(y);
    free(bound);
    free(buffered);
    return 0;
}
