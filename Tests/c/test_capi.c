/*
 * Checks libdlinfer through its public header only: loading, running with dynamic shapes against onnxruntime's
 * numbers (written by make_fixtures.py), and every documented error path, each of which must return its status
 * with a non-empty message and leave the process running.
 *
 * Usage: test_capi FIXTURE_DIR
 */
#define _POSIX_C_SOURCE 200809L
#include "dlinfer.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;
static const char* fixtures;
/* The device the run tests use: DLINFER_DEVICE as the test was started with (the suite runs on cpu and opencl). */
static char device[128] = "cpu";

static void check(int ok, const char* what, int line) {
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAIL (line %d): %s\n", line, what);
    }
}
#define CHECK(cond) check((cond) != 0, #cond, __LINE__)

/* A call must return `want`; a failing one must also leave a non-empty message. */
static void expect(dlinfer_status got, dlinfer_status want, const char* call, int line) {
    const char* msg = dlinfer_last_error();
    if (got != want) {
        failed++;
        fprintf(stderr, "FAIL (line %d): %s returned %s, expected %s; last error: %s\n", line, call,
                dlinfer_status_name(got), dlinfer_status_name(want), msg);
    } else if (want != DLINFER_OK && (msg == NULL || msg[0] == '\0')) {
        failed++;
        fprintf(stderr, "FAIL (line %d): %s returned %s with an empty message\n", line, call, dlinfer_status_name(got));
    } else {
        passed++;
    }
}
#define EXPECT(call, want) expect((call), (want), #call, __LINE__)

static char* path_of(const char* name) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", fixtures, name);
    return buf;
}

/* Reads a whole fixture file; the caller frees the result. Exits on failure: fixtures are a precondition. */
static void* read_file(const char* name, size_t* size) {
    FILE* f = fopen(path_of(name), "rb");
    if (!f) {
        fprintf(stderr, "cannot open fixture %s (run make_fixtures.py first)\n", path_of(name));
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void* data = malloc(n > 0 ? (size_t)n : 1);
    if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read fixture %s\n", path_of(name));
        exit(2);
    }
    fclose(f);
    *size = (size_t)n;
    return data;
}

static float* read_floats(int batch, const char* tensor, size_t expected_count) {
    char name[64];
    size_t size;
    snprintf(name, sizeof name, "b%d.%s.bin", batch, tensor);
    float* v = read_file(name, &size);
    if (size != expected_count * sizeof(float)) {
        fprintf(stderr, "fixture %s has %zu bytes, expected %zu\n", name, size, expected_count * sizeof(float));
        exit(2);
    }
    return v;
}

static int close_to(const float* a, const float* b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (fabsf(a[i] - b[i]) > 1e-5f + 1e-5f * fabsf(b[i])) {
            fprintf(stderr, "  element %zu: got %.8g, expected %.8g\n", i, a[i], b[i]);
            return 0;
        }
    }
    return 1;
}

static void test_library_info(void) {
    CHECK((dlinfer_api_version() >> 16) == DLINFER_VERSION_MAJOR);
    CHECK(dlinfer_api_version() == DLINFER_API_VERSION);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", DLINFER_VERSION_MAJOR, DLINFER_VERSION_MINOR, DLINFER_VERSION_PATCH);
    CHECK(strncmp(dlinfer_version_string(), want, strlen(want)) == 0);

    /* The header's codes and the library's names must agree. */
    static const struct { dlinfer_status code; const char* name; } names[] = {
        {DLINFER_OK, "DLINFER_OK"},
        {DLINFER_ERR_INVALID_ARG, "DLINFER_ERR_INVALID_ARG"},
        {DLINFER_ERR_NOT_FOUND, "DLINFER_ERR_NOT_FOUND"},
        {DLINFER_ERR_IO, "DLINFER_ERR_IO"},
        {DLINFER_ERR_MODEL_INVALID, "DLINFER_ERR_MODEL_INVALID"},
        {DLINFER_ERR_UNSUPPORTED_OP, "DLINFER_ERR_UNSUPPORTED_OP"},
        {DLINFER_ERR_SHAPE, "DLINFER_ERR_SHAPE"},
        {DLINFER_ERR_DEVICE_UNAVAILABLE, "DLINFER_ERR_DEVICE_UNAVAILABLE"},
        {DLINFER_ERR_DEVICE, "DLINFER_ERR_DEVICE"},
        {DLINFER_ERR_OUT_OF_MEMORY, "DLINFER_ERR_OUT_OF_MEMORY"},
        {DLINFER_ERR_CANCELLED, "DLINFER_ERR_CANCELLED"},
        {DLINFER_ERR_BUFFER_TOO_SMALL, "DLINFER_ERR_BUFFER_TOO_SMALL"},
        {DLINFER_ERR_INTERNAL, "DLINFER_ERR_INTERNAL"},
        {12345, "DLINFER_ERR_UNKNOWN"},
        {-1, "DLINFER_ERR_UNKNOWN"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        CHECK(strcmp(dlinfer_status_name(names[i].code), names[i].name) == 0);
    }
}

static void test_devices(void) {
    int32_t count = 0, kind = 0, index = -1;
    const char* name = NULL;
    EXPECT(dlinfer_device_count(&count), DLINFER_OK);
    CHECK(count >= 1);
    EXPECT(dlinfer_device_info(0, &kind, &name), DLINFER_OK);
    CHECK(kind == DLINFER_DEVICE_CPU);
    CHECK(name != NULL && name[0] != '\0');
    EXPECT(dlinfer_device_info(count, &kind, &name), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_device_info(-1, &kind, &name), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_device_info(0, NULL, &name), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_device_info(0, &kind, NULL), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_device_count(NULL), DLINFER_ERR_INVALID_ARG);

    /* Precedence: the option beats DLINFER_DEVICE, which beats auto. */
    dlinfer_options* o = NULL;
    EXPECT(dlinfer_options_create(&o), DLINFER_OK);
    setenv("DLINFER_DEVICE", "opencl:no-such-device", 1);
    EXPECT(dlinfer_resolve_device(NULL, &kind, &index), DLINFER_ERR_DEVICE_UNAVAILABLE);
    CHECK(strstr(dlinfer_last_error(), "no-such-device") != NULL && strstr(dlinfer_last_error(), "available: cpu") != NULL);
    EXPECT(dlinfer_options_set(o, "device", "cpu"), DLINFER_OK);
    EXPECT(dlinfer_resolve_device(o, &kind, &index), DLINFER_OK);
    CHECK(kind == DLINFER_DEVICE_CPU && index == 0);
    setenv("DLINFER_DEVICE", "tpu", 1);
    EXPECT(dlinfer_resolve_device(NULL, &kind, &index), DLINFER_ERR_INVALID_ARG);
    unsetenv("DLINFER_DEVICE");
    EXPECT(dlinfer_resolve_device(NULL, &kind, &index), DLINFER_OK);
    EXPECT(dlinfer_resolve_device(NULL, NULL, &index), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_resolve_device(NULL, &kind, NULL), DLINFER_ERR_INVALID_ARG);
    dlinfer_options_destroy(o);
}

static void test_options(void) {
    dlinfer_options* o = NULL;
    EXPECT(dlinfer_options_create(NULL), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_options_create(&o), DLINFER_OK);
    EXPECT(dlinfer_options_set(o, "device", "cpu"), DLINFER_OK);
    EXPECT(dlinfer_options_set(o, "fallback", "cpu"), DLINFER_OK);
    EXPECT(dlinfer_options_set(o, "fallback", "maybe"), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_options_set(o, "no_such_key", "1"), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_options_set(o, NULL, "cpu"), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_options_set(o, "device", NULL), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_options_set(NULL, "device", "cpu"), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_options_set(o, "threads", "1"), DLINFER_OK);
    EXPECT(dlinfer_options_set(o, "threads", "0"), DLINFER_OK);
    EXPECT(dlinfer_options_set(o, "threads", "-1"), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_options_set(o, "threads", "many"), DLINFER_ERR_INVALID_ARG);
    CHECK(strstr(dlinfer_last_error(), "threads") != NULL);
    dlinfer_options_destroy(o);
    dlinfer_options_destroy(NULL);
}

static void test_load_errors(void) {
    dlinfer_model* m = NULL;
    size_t size;
    EXPECT(dlinfer_model_load_file(path_of("no_such_model.onnx"), &m), DLINFER_ERR_NOT_FOUND);
    EXPECT(dlinfer_model_load_file(path_of("truncated.onnx"), &m), DLINFER_ERR_MODEL_INVALID);
    EXPECT(dlinfer_model_load_file(path_of("garbage.onnx"), &m), DLINFER_ERR_MODEL_INVALID);
    EXPECT(dlinfer_model_load_file(path_of("unsupported.onnx"), &m), DLINFER_ERR_UNSUPPORTED_OP);
    CHECK(strstr(dlinfer_last_error(), "ImageDecoder") != NULL);
    EXPECT(dlinfer_model_load_file(NULL, &m), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_load_file(path_of("addmul.onnx"), NULL), DLINFER_ERR_INVALID_ARG);
    CHECK(m == NULL);

    void* garbage = read_file("garbage.onnx", &size);
    EXPECT(dlinfer_model_load_buffer(garbage, size, &m), DLINFER_ERR_MODEL_INVALID);
    EXPECT(dlinfer_model_load_buffer(garbage, 0, &m), DLINFER_ERR_MODEL_INVALID);
    EXPECT(dlinfer_model_load_buffer(NULL, size, &m), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_load_buffer(garbage, size, NULL), DLINFER_ERR_INVALID_ARG);
    free(garbage);
    void* truncated = read_file("truncated.onnx", &size);
    EXPECT(dlinfer_model_load_buffer(truncated, size, &m), DLINFER_ERR_MODEL_INVALID);
    free(truncated);
    CHECK(m == NULL);
    dlinfer_model_release(NULL);
}

static void test_model_info(dlinfer_model* m) {
    int32_t n_in = 0, n_out = 0, index = -1, dtype = 0, rank = 0;
    int64_t dims[4] = {0, 0, 0, 0};
    const char* name = NULL;
    EXPECT(dlinfer_model_io_count(m, &n_in, &n_out), DLINFER_OK);
    CHECK(n_in == 2 && n_out == 2);
    EXPECT(dlinfer_model_io_count(m, NULL, &n_out), DLINFER_OK);
    EXPECT(dlinfer_model_io_count(m, NULL, NULL), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_io_count(NULL, &n_in, &n_out), DLINFER_ERR_INVALID_ARG);

    EXPECT(dlinfer_model_io_name(m, 0, 1, &name), DLINFER_OK);
    CHECK(name && strcmp(name, "y") == 0);
    EXPECT(dlinfer_model_io_name(m, 1, 1, &name), DLINFER_OK);
    CHECK(name && strcmp(name, "r") == 0);
    EXPECT(dlinfer_model_io_name(m, 0, 2, &name), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_io_name(m, 2, 0, &name), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_io_name(m, 0, 0, NULL), DLINFER_ERR_INVALID_ARG);

    EXPECT(dlinfer_model_io_index(m, 0, "y", &index), DLINFER_OK);
    CHECK(index == 1);
    EXPECT(dlinfer_model_io_index(m, 1, "z", &index), DLINFER_OK);
    CHECK(index == 0);
    EXPECT(dlinfer_model_io_index(m, 0, "z", &index), DLINFER_ERR_NOT_FOUND);
    EXPECT(dlinfer_model_io_index(m, 0, "nope", &index), DLINFER_ERR_NOT_FOUND);
    CHECK(strstr(dlinfer_last_error(), "nope") != NULL);
    EXPECT(dlinfer_model_io_index(m, 0, NULL, &index), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_io_index(m, 0, "x", NULL), DLINFER_ERR_INVALID_ARG);

    EXPECT(dlinfer_model_io_type(m, 0, 0, &dtype, &rank, NULL, 0), DLINFER_OK);
    CHECK(dtype == DLINFER_DTYPE_FLOAT32 && rank == 2);
    EXPECT(dlinfer_model_io_type(m, 0, 0, &dtype, &rank, dims, 4), DLINFER_OK);
    CHECK(dims[0] == -1 && dims[1] == 3);
    EXPECT(dlinfer_model_io_type(m, 1, 1, &dtype, &rank, dims, 1), DLINFER_ERR_BUFFER_TOO_SMALL);
    EXPECT(dlinfer_model_io_type(m, 0, 0, &dtype, &rank, NULL, 2), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_io_type(m, 0, 0, &dtype, &rank, dims, -1), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_io_type(m, 0, 9, &dtype, &rank, dims, 4), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_io_type(m, 0, 0, NULL, &rank, dims, 4), DLINFER_ERR_INVALID_ARG);

    EXPECT(dlinfer_model_io_dim_name(m, 0, 0, 0, &name), DLINFER_OK);
    CHECK(name && strcmp(name, "batch") == 0);
    EXPECT(dlinfer_model_io_dim_name(m, 1, 1, 1, &name), DLINFER_OK);
    CHECK(name && strcmp(name, "") == 0);
    EXPECT(dlinfer_model_io_dim_name(m, 0, 0, 2, &name), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_io_dim_name(m, 0, 0, -1, &name), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_io_dim_name(m, 0, 0, 0, NULL), DLINFER_ERR_INVALID_ARG);

    /* The fixed keys first, in the order the header gives, then the model's own. */
    int32_t count = 0;
    const char *key = NULL, *value = NULL;
    static const char* keys[] = {"producer_name", "producer_version", "graph_name", "domain", "description",
                                 "graph_description", "version", "opset", "custom.author"};
    static const char* values[] = {"dlinfer-test", "", "addmul", "", "", "", "", "13", "tests"};
    EXPECT(dlinfer_model_metadata_count(m, &count), DLINFER_OK);
    CHECK(count == 9);
    for (int32_t i = 0; i < 9 && i < count; i++) {
        EXPECT(dlinfer_model_metadata(m, i, &key, &value), DLINFER_OK);
        CHECK(key && value && strcmp(key, keys[i]) == 0 && strcmp(value, values[i]) == 0);
    }
    EXPECT(dlinfer_model_metadata(m, 9, &key, &value), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_metadata(m, -1, &key, &value), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_metadata(m, 0, NULL, &value), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_metadata_count(NULL, &count), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_model_metadata_count(m, NULL), DLINFER_ERR_INVALID_ARG);
}

/* One batch's fixture: inputs x and y, onnxruntime's outputs z and r, n floats each. */
typedef struct {
    size_t n;
    float *x, *y, *z_ref, *r_ref;
} batch_data;

static batch_data read_batch(int batch) {
    size_t n = (size_t)batch * 3;
    return (batch_data){n, read_floats(batch, "x", n), read_floats(batch, "y", n), read_floats(batch, "z", n),
                        read_floats(batch, "r", n)};
}

static void free_batch(batch_data d) {
    free(d.x);
    free(d.y);
    free(d.z_ref);
    free(d.r_ref);
}

/* Sets (or binds) x and y for `batch`, runs, and compares both outputs with onnxruntime's. */
static void run_batch(dlinfer_session* s, int batch, int bind_x) {
    batch_data d = read_batch(batch);
    size_t n = d.n;
    float *x = d.x, *y = d.y, *z_ref = d.z_ref, *r_ref = d.r_ref;
    int64_t dims[2] = {batch, 3};
    if (bind_x) {
        EXPECT(dlinfer_session_bind_input(s, 0, DLINFER_DTYPE_FLOAT32, dims, 2, x, n * sizeof(float)), DLINFER_OK);
    } else {
        EXPECT(dlinfer_session_set_input(s, 0, DLINFER_DTYPE_FLOAT32, dims, 2, x, n * sizeof(float)), DLINFER_OK);
    }
    EXPECT(dlinfer_session_set_input(s, 1, DLINFER_DTYPE_FLOAT32, dims, 2, y, n * sizeof(float)), DLINFER_OK);
    EXPECT(dlinfer_session_run(s), DLINFER_OK);

    int32_t dtype = 0, rank = 0;
    int64_t out_dims[2] = {0, 0};
    float* got = calloc(n, sizeof(float));
    EXPECT(dlinfer_session_output_type(s, 0, &dtype, &rank, out_dims, 2), DLINFER_OK);
    CHECK(dtype == DLINFER_DTYPE_FLOAT32 && rank == 2 && out_dims[0] == batch && out_dims[1] == 3);
    EXPECT(dlinfer_session_copy_output(s, 0, got, n * sizeof(float)), DLINFER_OK);
    CHECK(close_to(got, z_ref, n));
    EXPECT(dlinfer_session_copy_output(s, 1, got, n * sizeof(float)), DLINFER_OK);
    CHECK(close_to(got, r_ref, n));
    free(got);
    free_batch(d);
}

/* Compares output `k` of the last run, read in place through dlinfer_session_output_views, with `want`. */
static void check_view(const dlinfer_tensor_view* views, int k, int batch, const float* want) {
    const dlinfer_tensor_view* v = &views[k];
    CHECK(v->dtype == DLINFER_DTYPE_FLOAT32 && v->rank == 2 && v->dims[0] == batch && v->dims[1] == 3);
    CHECK(v->nbytes == (uint64_t)batch * 3 * sizeof(float) && v->data != NULL);
    if (v->rank == 2 && v->data) CHECK(close_to(v->data, want, (size_t)batch * 3));
}

/* Inputs written in place into session-owned buffers, outputs read in place: a first run on zeros, then the
 * fixture's data written into the same buffers and run again with no other call. */
static void run_buffered(dlinfer_session* s, int batch) {
    batch_data d = read_batch(batch);
    size_t n = d.n;
    int64_t dims[2] = {batch, 3};
    void *bx = NULL, *by = NULL;
    const dlinfer_tensor_view* views = NULL;
    EXPECT(dlinfer_session_input_buffer(s, 0, DLINFER_DTYPE_FLOAT32, dims, 2, &bx), DLINFER_OK);
    EXPECT(dlinfer_session_input_buffer(s, 1, DLINFER_DTYPE_FLOAT32, dims, 2, &by), DLINFER_OK);
    EXPECT(dlinfer_session_output_views(s, &views), DLINFER_OK);
    CHECK(bx != NULL && by != NULL && ((uintptr_t)bx & 63) == 0 && views != NULL);
    if (!bx || !by || !views) {
        free_batch(d);
        return;
    }
    /* The buffers start zero-filled: z = Sigmoid(0) = 0.5, r = Relu(0) = 0. */
    float* half = malloc(n * sizeof(float));
    float* zero = calloc(n, sizeof(float));
    for (size_t i = 0; i < n; i++) half[i] = 0.5f;
    EXPECT(dlinfer_session_run(s), DLINFER_OK);
    check_view(views, 0, batch, half);
    check_view(views, 1, batch, zero);
    memcpy(bx, d.x, n * sizeof(float));
    memcpy(by, d.y, n * sizeof(float));
    EXPECT(dlinfer_session_run(s), DLINFER_OK);
    check_view(views, 0, batch, d.z_ref);
    check_view(views, 1, batch, d.r_ref);
    const dlinfer_tensor_view* again = NULL;
    EXPECT(dlinfer_session_output_views(s, &again), DLINFER_OK);
    CHECK(again == views);
    free(half);
    free(zero);
    free_batch(d);
}

static void test_input_errors(dlinfer_session* s) {
    float buf[30] = {0};
    int64_t dims[2] = {2, 3};
    int64_t wide[2] = {2, 4};
    int64_t flat[1] = {6};
    int64_t neg[2] = {-2, 3};
    int64_t huge[2] = {INT64_MAX / 2, 3};
    const size_t six = 6 * sizeof(float);
    EXPECT(dlinfer_session_set_input(s, 0, DLINFER_DTYPE_INT64, dims, 2, buf, 6 * sizeof(int64_t)), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_set_input(s, 0, DLINFER_DTYPE_FLOAT32, flat, 1, buf, six), DLINFER_ERR_SHAPE);
    EXPECT(dlinfer_session_set_input(s, 0, DLINFER_DTYPE_FLOAT32, wide, 2, buf, 8 * sizeof(float)), DLINFER_ERR_SHAPE);
    EXPECT(dlinfer_session_set_input(s, 0, DLINFER_DTYPE_FLOAT32, dims, 2, buf, six - 1), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_set_input(s, 0, DLINFER_DTYPE_FLOAT32, neg, 2, buf, six), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_set_input(s, 0, DLINFER_DTYPE_FLOAT32, huge, 2, buf, six), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_set_input(s, 0, 99, dims, 2, buf, six), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_set_input(s, 0, 8 /* string */, dims, 2, buf, six), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_set_input(s, 2, DLINFER_DTYPE_FLOAT32, dims, 2, buf, six), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_set_input(s, -1, DLINFER_DTYPE_FLOAT32, dims, 2, buf, six), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_set_input(s, 0, DLINFER_DTYPE_FLOAT32, NULL, 2, buf, six), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_set_input(s, 0, DLINFER_DTYPE_FLOAT32, dims, -1, buf, six), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_set_input(s, 0, DLINFER_DTYPE_FLOAT32, dims, 2, NULL, six), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_set_input(NULL, 0, DLINFER_DTYPE_FLOAT32, dims, 2, buf, six), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_bind_input(s, 0, DLINFER_DTYPE_FLOAT32, flat, 1, buf, six), DLINFER_ERR_SHAPE);
    EXPECT(dlinfer_session_bind_input(s, 0, DLINFER_DTYPE_FLOAT32, dims, 2, (char*)buf + 1, six), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_bind_input(s, 0, DLINFER_DTYPE_FLOAT32, dims, 2, NULL, six), DLINFER_ERR_INVALID_ARG);
    void* data = NULL;
    EXPECT(dlinfer_session_input_buffer(s, 0, DLINFER_DTYPE_FLOAT32, flat, 1, &data), DLINFER_ERR_SHAPE);
    EXPECT(dlinfer_session_input_buffer(s, 0, DLINFER_DTYPE_INT64, dims, 2, &data), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_input_buffer(s, 0, DLINFER_DTYPE_FLOAT32, neg, 2, &data), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_input_buffer(s, 0, DLINFER_DTYPE_FLOAT32, huge, 2, &data), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_input_buffer(s, 2, DLINFER_DTYPE_FLOAT32, dims, 2, &data), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_input_buffer(s, 0, DLINFER_DTYPE_FLOAT32, dims, 2, NULL), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_input_buffer(NULL, 0, DLINFER_DTYPE_FLOAT32, dims, 2, &data), DLINFER_ERR_INVALID_ARG);
    CHECK(data == NULL);
    /* 192 GiB claimed: the copy would need more than the session may hold; refused before anything is read. */
    int64_t vast[2] = {(int64_t)1 << 34, 3};
    EXPECT(dlinfer_session_set_input(s, 0, DLINFER_DTYPE_FLOAT32, vast, 2, buf, ((size_t)3 << 34) * sizeof(float)),
           DLINFER_ERR_OUT_OF_MEMORY);
    EXPECT(dlinfer_session_input_buffer(s, 0, DLINFER_DTYPE_FLOAT32, vast, 2, &data), DLINFER_ERR_OUT_OF_MEMORY);
}

static void test_session(dlinfer_model* m) {
    dlinfer_session* s = NULL;
    dlinfer_options* o = NULL;
    EXPECT(dlinfer_options_create(&o), DLINFER_OK);

    /* An unavailable device is an error unless fallback was asked for. */
    EXPECT(dlinfer_options_set(o, "device", "opencl:no-such-device"), DLINFER_OK);
    EXPECT(dlinfer_session_create(m, o, &s), DLINFER_ERR_DEVICE_UNAVAILABLE);
    EXPECT(dlinfer_options_set(o, "device", "gpu please"), DLINFER_OK);
    EXPECT(dlinfer_session_create(m, o, &s), DLINFER_ERR_INVALID_ARG);
    CHECK(s == NULL);
    EXPECT(dlinfer_options_set(o, "device", "opencl:no-such-device"), DLINFER_OK);
    EXPECT(dlinfer_options_set(o, "fallback", "cpu"), DLINFER_OK);
    EXPECT(dlinfer_session_create(NULL, o, &s), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_create(m, o, NULL), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_create(m, o, &s), DLINFER_OK);

    int32_t kind = 0, index = -1, cpu_nodes = -1;
    const char* name = NULL;
    EXPECT(dlinfer_session_device(s, &kind, &index, &cpu_nodes), DLINFER_OK);
    CHECK(kind == DLINFER_DEVICE_CPU && index == 0 && cpu_nodes > 0);
    EXPECT(dlinfer_session_device(s, NULL, &index, &cpu_nodes), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_device(NULL, &kind, &index, &cpu_nodes), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_device_name(s, &name), DLINFER_OK);
    CHECK(name && strcmp(name, "cpu") == 0);
    EXPECT(dlinfer_session_device_name(s, NULL), DLINFER_ERR_INVALID_ARG);
    dlinfer_session_destroy(s);

    /* A session limited to one CPU thread computes the same numbers. */
    EXPECT(dlinfer_options_set(o, "threads", "1"), DLINFER_OK);
    EXPECT(dlinfer_session_create(m, o, &s), DLINFER_OK);
    run_batch(s, 5, 0);
    dlinfer_session_destroy(s);
    EXPECT(dlinfer_options_set(o, "threads", "0"), DLINFER_OK);

    /* The rest runs on the device under test. */
    EXPECT(dlinfer_options_set(o, "device", device), DLINFER_OK);
    EXPECT(dlinfer_options_set(o, "fallback", "none"), DLINFER_OK);
    EXPECT(dlinfer_session_create(m, o, &s), DLINFER_OK);
    dlinfer_options_destroy(o);
    /* The session keeps the model alive. */
    dlinfer_model_release(m);
    EXPECT(dlinfer_session_device(s, &kind, &index, &cpu_nodes), DLINFER_OK);
    EXPECT(dlinfer_session_device_name(s, &name), DLINFER_OK);
    if (strncmp(device, "opencl", 6) == 0) {
        CHECK(kind == DLINFER_DEVICE_OPENCL && index >= 1 && cpu_nodes == 0);
        CHECK(name && strncmp(name, "opencl:", 7) == 0);
    } else {
        CHECK(kind == DLINFER_DEVICE_CPU && index == 0);
    }
    printf("run tests on %s\n", name ? name : "?");

    /* Nothing to read or run yet. */
    int32_t dtype, rank;
    int64_t dims[2];
    float out[15];
    EXPECT(dlinfer_session_output_type(s, 0, &dtype, &rank, dims, 2), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_copy_output(s, 0, out, sizeof out), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_run(s), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_run(NULL), DLINFER_ERR_INVALID_ARG);
    const dlinfer_tensor_view* views = NULL;
    EXPECT(dlinfer_session_output_views(s, &views), DLINFER_OK);
    CHECK(views && views[0].rank == -1 && views[0].data == NULL && views[1].rank == -1);
    EXPECT(dlinfer_session_output_views(s, NULL), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_output_views(NULL, &views), DLINFER_ERR_INVALID_ARG);

    test_input_errors(s);

    /* Dynamic batch: new shapes re-plan implicitly, an old one reuses its plan. */
    run_batch(s, 2, 0);
    run_batch(s, 5, 1);
    run_batch(s, 1, 0);
    run_batch(s, 2, 0);
    run_buffered(s, 5);
    run_buffered(s, 2);
    /* set_input replaces a buffer; the other input keeps its buffer (and its data). */
    run_batch(s, 2, 0);

    EXPECT(dlinfer_session_output_type(s, 2, &dtype, &rank, dims, 2), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_output_type(s, 0, &dtype, &rank, dims, 1), DLINFER_ERR_BUFFER_TOO_SMALL);
    EXPECT(dlinfer_session_output_type(s, 0, NULL, &rank, dims, 2), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_copy_output(s, 0, out, 6 * sizeof(float) - 1), DLINFER_ERR_BUFFER_TOO_SMALL);
    EXPECT(dlinfer_session_copy_output(s, 0, NULL, 6 * sizeof(float)), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_copy_output(s, -1, out, sizeof out), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_session_copy_output(NULL, 0, out, sizeof out), DLINFER_ERR_INVALID_ARG);

    /* A bound input serves one run only. */
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t d23[2] = {2, 3};
    EXPECT(dlinfer_session_bind_input(s, 0, DLINFER_DTYPE_FLOAT32, d23, 2, x, sizeof x), DLINFER_OK);
    EXPECT(dlinfer_session_run(s), DLINFER_OK);
    EXPECT(dlinfer_session_run(s), DLINFER_ERR_INVALID_ARG);
    CHECK(strstr(dlinfer_last_error(), "'x'") != NULL);

    /* Inputs whose batch sizes disagree fail at run, and leave no stale outputs behind. */
    float y5[15] = {0};
    int64_t d53[2] = {5, 3};
    EXPECT(dlinfer_session_set_input(s, 0, DLINFER_DTYPE_FLOAT32, d23, 2, x, sizeof x), DLINFER_OK);
    EXPECT(dlinfer_session_set_input(s, 1, DLINFER_DTYPE_FLOAT32, d53, 2, y5, sizeof y5), DLINFER_OK);
    EXPECT(dlinfer_session_run(s), DLINFER_ERR_SHAPE);
    EXPECT(dlinfer_session_copy_output(s, 0, out, sizeof out), DLINFER_ERR_INVALID_ARG);
    CHECK(views[0].rank == -1 && views[0].data == NULL && views[1].rank == -1);

    EXPECT(dlinfer_session_cancel(s), DLINFER_OK);
    EXPECT(dlinfer_session_cancel(NULL), DLINFER_ERR_INVALID_ARG);
    dlinfer_session_destroy(s);
    dlinfer_session_destroy(NULL);
}

/* The decoder's reference, written the way the definition reads: the best path first (lowest index on ties), then
 * repeats removed, then blanks removed. Returns the label count written to out. */
static int64_t reference_ctc(const float* data, int64_t frames, int64_t batch, int64_t classes, int64_t blank,
                             int64_t b, int64_t* out) {
    int64_t* path = malloc((size_t)(frames > 0 ? frames : 1) * sizeof(int64_t));
    for (int64_t t = 0; t < frames; t++) {
        const float* row = data + (t * batch + b) * classes;
        path[t] = 0;
        for (int64_t c = 1; c < classes; c++) {
            if (row[c] > row[path[t]]) path[t] = c;
        }
    }
    int64_t kept = 0;
    for (int64_t t = 0; t < frames; t++) {
        if (t == 0 || path[t] != path[t - 1]) path[kept++] = path[t];
    }
    int64_t n = 0;
    for (int64_t i = 0; i < kept; i++) {
        if (path[i] != blank) out[n++] = path[i];
    }
    free(path);
    return n;
}

static void test_ctc_greedy_decode(void) {
    /* A hand-worked case, [5 frames, 1, 3 classes]: best path 1 1 0 1 2 -> "1 1 2" (the blank splits the 1s). */
    const float small[15] = {0.1f, 0.9f, 0.0f, 0.2f, 0.7f, 0.1f, 0.8f, 0.1f, 0.1f, 0.0f, 0.6f, 0.4f, 0.1f, 0.2f, 0.7f};
    int64_t labels[5], length = -7;
    EXPECT(dlinfer_ctc_greedy_decode(small, 5, 1, 3, 0, labels, &length), DLINFER_OK);
    CHECK(length == 3 && labels[0] == 1 && labels[1] == 1 && labels[2] == 2 && labels[3] == -1 && labels[4] == -1);
    /* With class 1 as the blank: best path 1 1 0 1 2 -> "0 2". */
    EXPECT(dlinfer_ctc_greedy_decode(small, 5, 1, 3, 1, labels, &length), DLINFER_OK);
    CHECK(length == 2 && labels[0] == 0 && labels[1] == 2 && labels[2] == -1);

    /* Random [frames, batch, classes] scores on a coarse grid, so ties and repeated labels are common. */
    enum { T = 37, N = 5, C = 6 };
    float* data = malloc(sizeof(float) * T * N * C);
    uint32_t state = 12345;
    for (int i = 0; i < T * N * C; i++) {
        state = state * 1664525u + 1013904223u;
        data[i] = (float)(state >> 29) - 4.0f;
    }
    int64_t got[N * T], got_lengths[N], want[T];
    for (int64_t blank = 0; blank < C; blank += C - 1) {
        EXPECT(dlinfer_ctc_greedy_decode(data, T, N, C, blank, got, got_lengths), DLINFER_OK);
        for (int64_t b = 0; b < N; b++) {
            int64_t n = reference_ctc(data, T, N, C, blank, b, want);
            int same = got_lengths[b] == n;
            for (int64_t i = 0; same && i < T; i++) same = got[b * T + i] == (i < n ? want[i] : -1);
            CHECK(same);
        }
    }

    /* Empty sizes need no buffers they would not touch. */
    EXPECT(dlinfer_ctc_greedy_decode(NULL, 0, 3, C, 0, NULL, got_lengths), DLINFER_OK);
    CHECK(got_lengths[0] == 0 && got_lengths[2] == 0);
    EXPECT(dlinfer_ctc_greedy_decode(NULL, T, 0, C, 0, NULL, NULL), DLINFER_OK);

    /* Bad input: a status and a message, nothing written. */
    got_lengths[0] = 99;
    EXPECT(dlinfer_ctc_greedy_decode(NULL, T, N, C, 0, got, got_lengths), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_ctc_greedy_decode(data, T, N, C, 0, NULL, got_lengths), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_ctc_greedy_decode(data, T, N, C, 0, got, NULL), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_ctc_greedy_decode(data, -1, N, C, 0, got, got_lengths), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_ctc_greedy_decode(data, T, -2, C, 0, got, got_lengths), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_ctc_greedy_decode(data, T, N, 0, 0, got, got_lengths), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_ctc_greedy_decode(data, T, N, -3, 0, got, got_lengths), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_ctc_greedy_decode(data, T, N, C, C, got, got_lengths), DLINFER_ERR_INVALID_ARG);
    CHECK(strstr(dlinfer_last_error(), "blank") != NULL);
    EXPECT(dlinfer_ctc_greedy_decode(data, T, N, C, -1, got, got_lengths), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_ctc_greedy_decode(data, INT64_MAX / 2, 4, C, 0, got, got_lengths), DLINFER_ERR_INVALID_ARG);
    CHECK(got_lengths[0] == 99);
    float nan_frame[3] = {NAN, NAN, NAN};
    EXPECT(dlinfer_ctc_greedy_decode(nan_frame, 1, 1, 3, 0, got, got_lengths), DLINFER_ERR_INVALID_ARG);
    free(data);
}

/* The detection post-processing through the C ABI: small hand-worked cases (their semantics are checked against
 * torchvision and OpenCV in bindings/python/tests/test_detection.py) and every kind of bad argument. */
static void test_detection_postprocessing(void) {
    /* Box 1 overlaps box 0 by IoU 81/119 and loses to it; box 2 is apart; box 3 scores below the threshold. */
    const float boxes[16] = {0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30, 0, 0, 10, 10};
    const float scores[4] = {0.9f, 0.95f, 0.5f, 0.1f};
    const int64_t classes[4] = {0, 1, 0, 0};
    int64_t keep[4], kept = -1;
    EXPECT(dlinfer_nms(boxes, scores, NULL, 4, DLINFER_BOX_CORNERS, 0.5f, 0.2f, -1, keep, &kept), DLINFER_OK);
    CHECK(kept == 2 && keep[0] == 1 && keep[1] == 2);
    EXPECT(dlinfer_nms(boxes, scores, classes, 4, DLINFER_BOX_CORNERS, 0.5f, 0.2f, -1, keep, &kept), DLINFER_OK);
    CHECK(kept == 3 && keep[0] == 1 && keep[1] == 0 && keep[2] == 2);
    EXPECT(dlinfer_nms(boxes, scores, classes, 4, DLINFER_BOX_CORNERS, 0.5f, 0.2f, 1, keep, &kept), DLINFER_OK);
    CHECK(kept == 1 && keep[0] == 1);
    EXPECT(dlinfer_nms(NULL, NULL, NULL, 0, DLINFER_BOX_QUAD, 0.5f, 0.0f, -1, NULL, &kept), DLINFER_OK);
    CHECK(kept == 0);

    /* Bad input: a status and a message, out_kept untouched. */
    kept = 99;
    const float nan_scores[4] = {0.9f, NAN, 0.5f, 0.1f};
    EXPECT(dlinfer_nms(boxes, nan_scores, NULL, 4, DLINFER_BOX_CORNERS, 0.5f, 0.2f, -1, keep, &kept), DLINFER_ERR_INVALID_ARG);
    CHECK(strstr(dlinfer_last_error(), "NaN") != NULL);
    EXPECT(dlinfer_nms(NULL, scores, NULL, 4, DLINFER_BOX_CORNERS, 0.5f, 0.2f, -1, keep, &kept), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_nms(boxes, NULL, NULL, 4, DLINFER_BOX_CORNERS, 0.5f, 0.2f, -1, keep, &kept), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_nms(boxes, scores, NULL, 4, DLINFER_BOX_CORNERS, 0.5f, 0.2f, -1, NULL, &kept), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_nms(boxes, scores, NULL, 4, DLINFER_BOX_CORNERS, 0.5f, 0.2f, -1, keep, NULL), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_nms(boxes, scores, NULL, -1, DLINFER_BOX_CORNERS, 0.5f, 0.2f, -1, keep, &kept), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_nms(boxes, scores, NULL, 4, 7, 0.5f, 0.2f, -1, keep, &kept), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_nms(boxes, scores, NULL, 4, DLINFER_BOX_CORNERS, -0.1f, 0.2f, -1, keep, &kept), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_nms(boxes, scores, NULL, 4, DLINFER_BOX_CORNERS, NAN, 0.2f, -1, keep, &kept), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_nms(boxes, scores, NULL, INT64_MAX / 2, DLINFER_BOX_QUAD, 0.5f, 0.2f, -1, keep, &kept), DLINFER_ERR_INVALID_ARG);
    CHECK(kept == 99);

    /* EAST: one cell above the threshold, an axis-aligned box 2 up, 3 right, 4 down, 1 left of the point (4, 0). */
    const float score[2] = {0.1f, 0.8f};
    const float geometry[10] = {0, 2, 0, 3, 0, 4, 0, 1, 0, 0};
    float quads[16], quad_scores[2];
    int64_t count = -1;
    EXPECT(dlinfer_east_decode(score, geometry, 1, 2, 4.0f, 0.5f, quads, quad_scores, 2, &count), DLINFER_OK);
    const float want[8] = {3, -2, 7, -2, 7, 4, 3, 4};
    int same = count == 1 && quad_scores[0] == 0.8f;
    for (int i = 0; same && i < 8; i++) same = fabsf(quads[i] - want[i]) < 1e-5f;
    CHECK(same);
    /* Capacity 0 asks for the number. */
    EXPECT(dlinfer_east_decode(score, geometry, 1, 2, 4.0f, 0.0f, NULL, NULL, 0, &count), DLINFER_ERR_BUFFER_TOO_SMALL);
    CHECK(count == 2);
    EXPECT(dlinfer_east_decode(NULL, geometry, 1, 2, 4.0f, 0.5f, quads, quad_scores, 2, &count), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_east_decode(score, NULL, 1, 2, 4.0f, 0.5f, quads, quad_scores, 2, &count), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_east_decode(score, geometry, 1, 2, 4.0f, 0.5f, NULL, quad_scores, 2, &count), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_east_decode(score, geometry, 1, 2, 4.0f, 0.5f, quads, quad_scores, 2, NULL), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_east_decode(score, geometry, -1, 2, 4.0f, 0.5f, quads, quad_scores, 2, &count), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_east_decode(score, geometry, INT64_MAX, 2, 4.0f, 0.5f, quads, quad_scores, 2, &count), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_east_decode(score, geometry, 1, 2, NAN, 0.5f, quads, quad_scores, 2, &count), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_east_decode(score, geometry, 1, 2, 4.0f, 0.5f, quads, quad_scores, -1, &count), DLINFER_ERR_INVALID_ARG);

    /* CRAFT-style maps: one 2 x 6 word; min_size 13 drops it. */
    float region[4 * 8] = {0};
    for (int y = 1; y < 3; y++)
        for (int x = 1; x < 7; x++) region[y * 8 + x] = 0.9f;
    EXPECT(dlinfer_heatmap_boxes(region, NULL, 4, 8, 0.7f, 0.4f, 0.4f, 10, 2.0f, quads, quad_scores, 2, &count), DLINFER_OK);
    CHECK(count == 1 && quad_scores[0] == 0.9f);
    EXPECT(dlinfer_heatmap_boxes(region, NULL, 4, 8, 0.7f, 0.4f, 0.4f, 13, 2.0f, quads, quad_scores, 2, &count), DLINFER_OK);
    CHECK(count == 0);
    EXPECT(dlinfer_heatmap_boxes(region, NULL, 4, 8, 0.7f, 0.4f, 0.4f, 10, 2.0f, NULL, NULL, 0, &count), DLINFER_ERR_BUFFER_TOO_SMALL);
    CHECK(count == 1);
    EXPECT(dlinfer_heatmap_boxes(NULL, NULL, 4, 8, 0.7f, 0.4f, 0.4f, 10, 2.0f, quads, quad_scores, 2, &count), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_heatmap_boxes(region, NULL, 4, 8, 0.7f, 0.4f, 0.4f, 0, 2.0f, quads, quad_scores, 2, &count), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_heatmap_boxes(region, NULL, 4, 8, NAN, 0.4f, 0.4f, 10, 2.0f, quads, quad_scores, 2, &count), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_heatmap_boxes(region, NULL, 4, 8, 0.7f, 0.4f, 0.4f, 10, -1.0f, quads, quad_scores, 2, &count), DLINFER_ERR_INVALID_ARG);
    EXPECT(dlinfer_heatmap_boxes(region, NULL, 4, 8, 0.7f, 0.4f, 0.4f, 10, 2.0f, quads, quad_scores, 2, NULL), DLINFER_ERR_INVALID_ARG);
}

static void* other_thread(void* arg) {
    (void)arg;
    /* Each thread has its own last error: this one has not failed yet. */
    int ok = dlinfer_last_error()[0] == '\0';
    int32_t count;
    ok = ok && dlinfer_device_count(NULL) == DLINFER_ERR_INVALID_ARG && dlinfer_last_error()[0] != '\0';
    ok = ok && dlinfer_device_count(&count) == DLINFER_OK;
    return ok ? arg : (void*)&passed;
}

static void test_thread_local_error(void) {
    pthread_t t;
    void* result = &failed;
    EXPECT(dlinfer_device_count(NULL), DLINFER_ERR_INVALID_ARG);
    CHECK(pthread_create(&t, NULL, other_thread, NULL) == 0);
    CHECK(pthread_join(t, &result) == 0);
    CHECK(result == NULL);
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    fixtures = argv[1];
    const char* env = getenv("DLINFER_DEVICE");
    if (env && env[0]) snprintf(device, sizeof device, "%s", env);
    unsetenv("DLINFER_DEVICE");
    CHECK(dlinfer_last_error()[0] == '\0');

    test_library_info();
    test_devices();
    test_options();
    test_load_errors();

    dlinfer_model* m = NULL;
    EXPECT(dlinfer_model_load_file(path_of("addmul.onnx"), &m), DLINFER_OK);
    if (m) {
        test_model_info(m);
        test_session(m); /* releases m */
    }

    /* The same model from memory. */
    size_t size;
    void* bytes = read_file("addmul.onnx", &size);
    dlinfer_session* s = NULL;
    EXPECT(dlinfer_model_load_buffer(bytes, size, &m), DLINFER_OK);
    free(bytes);
    setenv("DLINFER_DEVICE", device, 1); /* no options: the environment picks the device */
    EXPECT(dlinfer_session_create(m, NULL, &s), DLINFER_OK);
    dlinfer_model_release(m);
    if (s) run_batch(s, 5, 0);
    dlinfer_session_destroy(s);

    test_ctc_greedy_decode();
    test_detection_postprocessing();
    test_thread_local_error();

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
