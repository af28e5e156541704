/* libFuzzer target for dlinfer's C API: the input is a model file (protobuf bytes); when it loads, a session runs it
 * on the CPU with inputs of its declared types, symbolic dims set to small sizes and the values taken from a hash of
 * the model. Built against a dlinfer compiled with AddressSanitizer and coverage instrumentation (Tests/fuzz/run.sh).
 * A crash, a sanitizer report, a hang past libFuzzer's -timeout or memory past -rss_limit_mb is a bug; any status
 * code is fine. A model may rightly run for ever (a Loop whose trip count and condition never end it), so, like a
 * host with a deadline, the harness cancels a run after RUN_SECONDS: a run that does not stop then is a hang. Sessions get max_memory=256M so a model cannot make the fuzzer itself run out of memory.
 * DLINFER_FUZZ_DEVICE picks another device (e.g. opencl, to replay a corpus there: the OpenCL drivers are not
 * sanitizer-clean, so a report from inside the driver is not dlinfer's). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlinfer.h"

enum { RUN_SECONDS = 2 };

/* Cancels `session`'s run unless told it is done within RUN_SECONDS. */
struct watchdog {
    dlinfer_session* session;
    pthread_mutex_t lock;
    pthread_cond_t finished;
    int done;
};

static void* watch(void* arg) {
    struct watchdog* w = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += RUN_SECONDS;
    pthread_mutex_lock(&w->lock);
    while (!w->done && pthread_cond_timedwait(&w->finished, &w->lock, &until) != ETIMEDOUT) {}
    int cancel = !w->done;
    pthread_mutex_unlock(&w->lock);
    if (cancel) dlinfer_session_cancel(w->session);
    return NULL;
}

/* dlinfer_session_run under the watchdog. */
static dlinfer_status run_with_deadline(dlinfer_session* session) {
    struct watchdog w = {session, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    pthread_t thread;
    int watching = pthread_create(&thread, NULL, watch, &w) == 0;
    dlinfer_status status = dlinfer_session_run(session);
    pthread_mutex_lock(&w.lock);
    w.done = 1;
    pthread_cond_signal(&w.finished);
    pthread_mutex_unlock(&w.lock);
    if (watching) pthread_join(thread, NULL);
    return status;
}

enum { MAX_INPUT_BYTES = 1 << 20 };

static uint64_t mix(uint64_t h) {
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL; h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ULL; h ^= h >> 33;
    return h;
}

static size_t element_size(int32_t dtype) {
    switch (dtype) {
    case DLINFER_DTYPE_UINT8: case DLINFER_DTYPE_INT8: case DLINFER_DTYPE_BOOL: return 1;
    case DLINFER_DTYPE_UINT16: case DLINFER_DTYPE_INT16: case DLINFER_DTYPE_FLOAT16: case DLINFER_DTYPE_BFLOAT16: return 2;
    case DLINFER_DTYPE_FLOAT32: case DLINFER_DTYPE_INT32: case DLINFER_DTYPE_UINT32: return 4;
    case DLINFER_DTYPE_INT64: case DLINFER_DTYPE_FLOAT64: case DLINFER_DTYPE_UINT64: return 8;
    default: return 0;
    }
}

/* Fills `n` elements of `dtype` with values derived from `seed`: small integers (valid as indices and shapes more
 * often than random bits), 0/1 for bools, and floats in [-4, 4]. */
static void fill(void* p, size_t n, int32_t dtype, uint64_t seed) {
    for (size_t i = 0; i < n; i++) {
        uint64_t r = mix(seed + i);
        int v = (int)(r % 9) - 4;
        switch (dtype) {
        case DLINFER_DTYPE_FLOAT32: ((float*)p)[i] = (float)v + (float)(r >> 40) / (float)(1 << 24); break;
        case DLINFER_DTYPE_FLOAT64: ((double*)p)[i] = (double)v; break;
        case DLINFER_DTYPE_BOOL: ((uint8_t*)p)[i] = (uint8_t)(r & 1); break;
        case DLINFER_DTYPE_INT64: ((int64_t*)p)[i] = v; break;
        case DLINFER_DTYPE_INT32: ((int32_t*)p)[i] = v; break;
        default: memset((char*)p + i * element_size(dtype), (int)(r & 0x3f), element_size(dtype)); break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    dlinfer_model* model = NULL;
    if (dlinfer_model_load_buffer(data, size, &model) != DLINFER_OK) return 0;
    dlinfer_options* options = NULL;
    dlinfer_session* session = NULL;
    dlinfer_options_create(&options);
    const char* device = getenv("DLINFER_FUZZ_DEVICE");
    dlinfer_options_set(options, "device", device ? device : "cpu");
    dlinfer_options_set(options, "max_memory", "256M");
    if (dlinfer_session_create(model, options, &session) == DLINFER_OK) {
        uint64_t seed = mix(size);
        for (size_t i = 0; i < size && i < 64; i++) seed = mix(seed ^ data[i]);
        int32_t inputs = 0, outputs = 0;
        dlinfer_model_io_count(model, &inputs, &outputs);
        int ok = 1;
        for (int32_t k = 0; k < inputs && ok; k++) {
            int32_t dtype = 0, rank = 0;
            int64_t dims[64];
            if (dlinfer_model_io_type(model, 0, k, &dtype, &rank, dims, 64) != DLINFER_OK || rank < 0) { ok = 0; break; }
            size_t count = 1, esize = element_size(dtype);
            for (int32_t d = 0; d < rank; d++) {
                if (dims[d] < 0) dims[d] = 1 + (int64_t)(mix(seed + (uint64_t)d) % 3);
                if (dims[d] > 0 && count > MAX_INPUT_BYTES / (size_t)dims[d]) { ok = 0; break; }
                count *= (size_t)dims[d];
            }
            if (!ok || esize == 0 || count * esize > MAX_INPUT_BYTES) { ok = 0; break; }
            void* buf = malloc(count * esize + 1);
            fill(buf, count, dtype, seed + (uint64_t)k);
            dlinfer_session_set_input(session, k, dtype, dims, rank, buf, count * esize);
            free(buf);
        }
        if (ok && run_with_deadline(session) == DLINFER_OK) {
            for (int32_t k = 0; k < outputs; k++) {
                int32_t dtype = 0, rank = 0;
                int64_t dims[64];
                if (dlinfer_session_output_type(session, k, &dtype, &rank, dims, 64) != DLINFER_OK) continue;
                size_t count = 1;
                for (int32_t d = 0; d < rank; d++) count *= (size_t)dims[d];
                size_t bytes = count * element_size(dtype);
                if (bytes > (size_t)64 << 20) continue;
                void* out = malloc(bytes + 1);
                dlinfer_session_copy_output(session, k, out, bytes);
                free(out);
            }
        }
        dlinfer_session_destroy(session);
    }
    dlinfer_options_destroy(options);
    dlinfer_model_release(model);
    return 0;
}
