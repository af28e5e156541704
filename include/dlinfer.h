/*
 * dlinfer.h: the stable C ABI of libdlinfer (soname libdlinfer.so.1).
 *
 * Conventions that hold for every function below:
 *  - Every fallible function returns a dlinfer_status. DLINFER_OK (0) means success; any other value is an error
 *    and dlinfer_last_error() then holds a message for it. Status values never change; treat unknown values as errors.
 *  - Every pointer argument is checked: a NULL where one is required returns DLINFER_ERR_INVALID_ARG with a message.
 *    Bad input (a malformed model, a wrong input shape, ...) returns a status; it never aborts the process.
 *  - Out-parameters are written only on success, except where a function says otherwise.
 *  - Strings are UTF-8 and NUL-terminated. A returned `const char*` is owned by the library: never free it; its
 *    lifetime is stated with each function.
 *  - Destroy/release functions accept NULL.
 *  - Threads: a dlinfer_model may be used from any number of threads at once. A dlinfer_session is used by one thread
 *    at a time (create one per thread); dlinfer_session_cancel is the only call that may be made on a session from
 *    another thread while it runs. A dlinfer_options object is not synchronised: do not change it from one thread
 *    while another passes it to a function.
 *  - Only pointers, fixed-width integers and int32 codes cross this ABI; no structs by value, no callbacks. The one
 *    struct, dlinfer_tensor_view, is only read through a pointer, and its layout never changes.
 *  - Symbols are only ever added within a major version (append-only).
 */
#ifndef DLINFER_H
#define DLINFER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Versions ---------------------------------------------------------------------------------------------------- */

#define DLINFER_VERSION_MAJOR 1
#define DLINFER_VERSION_MINOR 0
#define DLINFER_VERSION_PATCH 0
/* The API version this header describes: major << 16 | minor. Compare its major with dlinfer_api_version()'s. */
#define DLINFER_API_VERSION ((DLINFER_VERSION_MAJOR << 16) | DLINFER_VERSION_MINOR)

/* ---- Types --------------------------------------------------------------------------------------------------------- */

/* A loaded, optimised model. Immutable and reference-counted: safe to share across threads; sessions keep it alive. */
typedef struct dlinfer_model dlinfer_model;
/* One execution context for a model on one device: staged inputs, outputs of the last run, cached plans.
 * Not re-entrant: use one session per thread. */
typedef struct dlinfer_session dlinfer_session;
/* Session options as string key/value pairs, so new settings never change the ABI. */
typedef struct dlinfer_options dlinfer_options;

/* Status codes. */
typedef int32_t dlinfer_status;
enum {
    DLINFER_OK = 0,
    DLINFER_ERR_INVALID_ARG = 1,        /* a NULL pointer, an unknown option, an input of the wrong dtype/byte count */
    DLINFER_ERR_NOT_FOUND = 2,          /* the model file, or an input/output name, does not exist */
    DLINFER_ERR_IO = 3,                 /* a file exists but cannot be read */
    DLINFER_ERR_MODEL_INVALID = 4,      /* the bytes are not a valid model, or the model is inconsistent */
    DLINFER_ERR_UNSUPPORTED_OP = 5,     /* the model uses an op, attribute value or opset dlinfer does not implement */
    DLINFER_ERR_SHAPE = 6,              /* an input's rank or shape does not fit the model */
    DLINFER_ERR_DEVICE_UNAVAILABLE = 7, /* the requested device does not exist or cannot be used */
    DLINFER_ERR_DEVICE = 8,             /* the device failed while running */
    DLINFER_ERR_OUT_OF_MEMORY = 9,
    DLINFER_ERR_CANCELLED = 10,         /* dlinfer_session_cancel stopped the run */
    DLINFER_ERR_BUFFER_TOO_SMALL = 11,  /* a caller buffer is too small for the result */
    DLINFER_ERR_INTERNAL = 99           /* a bug in dlinfer: please report it with the message */
};

/* Element types, numbered as ONNX's TensorProto.DataType. Passed as int32_t. */
enum {
    DLINFER_DTYPE_FLOAT32 = 1,
    DLINFER_DTYPE_UINT8 = 2,
    DLINFER_DTYPE_INT8 = 3,
    DLINFER_DTYPE_UINT16 = 4,
    DLINFER_DTYPE_INT16 = 5,
    DLINFER_DTYPE_INT32 = 6,
    DLINFER_DTYPE_INT64 = 7,
    DLINFER_DTYPE_BOOL = 9,     /* one byte per element, 0 or 1 */
    DLINFER_DTYPE_FLOAT16 = 10, /* IEEE 754 binary16 */
    DLINFER_DTYPE_FLOAT64 = 11,
    DLINFER_DTYPE_UINT32 = 12,
    DLINFER_DTYPE_UINT64 = 13,
    DLINFER_DTYPE_BFLOAT16 = 16, /* the upper 16 bits of a float32 */
    /* 8-bit floats (one byte each, as ONNX and ml_dtypes define them): sign, exponent, mantissa bits */
    DLINFER_DTYPE_FLOAT8E4M3FN = 17,   /* bias 7, no infinity, NaN S.1111.111, max 448 */
    DLINFER_DTYPE_FLOAT8E4M3FNUZ = 18, /* bias 8, no infinity or -0, NaN 0x80, max 240 */
    DLINFER_DTYPE_FLOAT8E5M2 = 19,     /* bias 15, the upper byte of a float16 */
    DLINFER_DTYPE_FLOAT8E5M2FNUZ = 20, /* bias 16, no infinity or -0, NaN 0x80, max 57344 */
    DLINFER_DTYPE_FLOAT8E8M0 = 24,     /* unsigned power of two 2^(bits - 127), NaN 0xFF (MX scales) */
    /* 2- and 4-bit types, NOT packed: one element per byte, in its low bits (as ml_dtypes holds them), the other
     * bits zero in outputs and ignored in inputs. ONNX files pack them; dlinfer unpacks them on load. */
    DLINFER_DTYPE_UINT4 = 21,      /* 0 to 15 */
    DLINFER_DTYPE_INT4 = 22,       /* -8 to 7, two's complement in 4 bits (-1 is 0x0F) */
    DLINFER_DTYPE_FLOAT4E2M1 = 23, /* sign, 2 exponent bits (bias 1), 1 mantissa bit: 0, 0.5, 1, 1.5, 2, 3, 4, 6
                                      and their negatives; no infinity or NaN */
    DLINFER_DTYPE_UINT2 = 25,      /* 0 to 3 */
    DLINFER_DTYPE_INT2 = 26        /* -2 to 1, two's complement in 2 bits */
};

/* Device kinds. Passed as int32_t. */
enum {
    DLINFER_DEVICE_CPU = 1,
    DLINFER_DEVICE_OPENCL = 2
};

/* ---- Library information and errors ------------------------------------------------------------------------------ */

/* The API version of the loaded library (major << 16 | minor). A binding built against DLINFER_API_VERSION works
 * with any library of the same major and an equal or higher minor. Thread-safe. */
uint32_t dlinfer_api_version(void);

/* The library version, e.g. "1.0.0". Static string. Thread-safe. */
const char* dlinfer_version_string(void);

/* The message of the most recent failed call made by this thread, or "" if none failed yet. Successful calls do
 * not clear it. Valid until this thread's next failing dlinfer call. Thread-safe (each thread has its own). */
const char* dlinfer_last_error(void);

/* The name of a status code, e.g. "DLINFER_ERR_SHAPE"; "DLINFER_ERR_UNKNOWN" for a value this library does not
 * define. Static string. Thread-safe. */
const char* dlinfer_status_name(dlinfer_status status);

/* ---- Devices ----------------------------------------------------------------------------------------------------- */

/* Number of devices this process can use. Index 0 is always the CPU; every OpenCL device of every platform follows
 * (index 1 + N is the device the text "opencl:N" selects). OpenCL is loaded on first use (libOpenCL.so.1 via dlopen);
 * without it only the CPU is listed, and requests for "opencl..." fail with a message saying why.
 * Errors: DLINFER_ERR_INVALID_ARG (out_count NULL). Thread-safe. */
dlinfer_status dlinfer_device_count(int32_t* out_count);

/* Kind (DLINFER_DEVICE_*) and name of device `index`. The name is valid until the process exits.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, index out of range). Thread-safe. */
dlinfer_status dlinfer_device_info(int32_t index, int32_t* out_kind, const char** out_name);

/* The device a session created with `options` would run on, without loading a model: resolves the "device" option,
 * else the DLINFER_DEVICE environment variable, else "auto". `options` may be NULL (no options). Writes the
 * device's kind (DLINFER_DEVICE_*) and its index for dlinfer_device_info.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL out pointer, malformed device text), DLINFER_ERR_DEVICE_UNAVAILABLE
 * (the requested device cannot be used and fallback is not "cpu"). Thread-safe. */
dlinfer_status dlinfer_resolve_device(const dlinfer_options* options, int32_t* out_kind, int32_t* out_index);

/* ---- Options ----------------------------------------------------------------------------------------------------- */

/* Creates an empty options object; free it with dlinfer_options_destroy.
 * Errors: DLINFER_ERR_INVALID_ARG (out NULL). */
dlinfer_status dlinfer_options_create(dlinfer_options** out);

/* Sets one option; both strings are copied. Keys:
 *   "device":   "auto" (the first OpenCL GPU, else the CPU) | "cpu" | "opencl" (the first OpenCL device of any type)
 *               | "opencl:N" (OpenCL device N, as `dlinfer devices` numbers them) | "opencl:NAME" (the first device
 *               whose platform or device name or vendor contains NAME, case-insensitive). Overrides DLINFER_DEVICE. Checked by
 *               dlinfer_session_create (and dlinfer_resolve_device). On an OpenCL session, nodes the device cannot
 *               run (see dlinfer_session_device's CPU node count) run on the CPU with the transfers around them.
 *   "fallback": "none" (default: a requested device that cannot be used is an error) | "cpu" (run on the CPU then).
 *   "max_memory": the host memory a session may hold at once, in bytes, or with a K, M or G suffix (1024-based):
 *               its intermediate tensors, pooled free buffers and outputs not yet freed. A run that would need more
 *               fails with DLINFER_ERR_OUT_OF_MEMORY (before it starts when the input shapes say so). Default: three
 *               quarters of the memory the process may have (physical memory, or a ulimit on address space or data).
 *   "precision": "fp32" (default) | "fp16": how an OpenCL device stores float32 tensors. fp16 stores weights and
 *               activations as half (half the device memory and bandwidth) on any OpenCL device (half storage is core
 *               OpenCL; cl_khr_fp16 is not needed), while every kernel computes and accumulates in float32; inputs
 *               and outputs stay float32 for the caller. Results then differ from fp32 by about half's precision
 *               (relative 2^-11 per stored value; the figures per model are in benchmarks/RESULTS.md), finite values
 *               beyond +-65504 saturate there, and models with ConvInteger or MatMulInteger (int32 sums cast to
 *               float32) are refused. The CPU backend has no half storage: fp16 on a session that runs on the CPU
 *               fails with DLINFER_ERR_INVALID_ARG, unless "fallback" is "cpu", which then runs in fp32. Float16
 *               models run on the device either way; with fp16 their casts to and from float32 cost nothing.
 *   "plan_cache": how many plans (one per distinct combination of input shapes) a session keeps, 1 to 4096; the least
 *               recently used is dropped past it, so that ever-changing shapes keep memory bounded. Default 16.
 *   "threads":  how many CPU threads the session's runs use at most, 1 to 4096, or "0" (default) for all the process
 *               has (DLINFER_NUM_THREADS, else every online core; a larger value is capped there). Sessions share
 *               one pool of worker threads: a run that finds it busy with another session's work computes on its
 *               calling thread alone.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, unknown key, bad value). */
dlinfer_status dlinfer_options_set(dlinfer_options* options, const char* key, const char* value);

/* Frees an options object. Sessions keep their own copy of what they need, so this may be called right after
 * dlinfer_session_create. NULL is allowed. */
void dlinfer_options_destroy(dlinfer_options* options);

/* ---- Models ------------------------------------------------------------------------------------------------------ */

/* Loads and optimises an ONNX model from a file (external weight files are read relative to its folder; the files
 * are not kept open). On success *out holds one reference: release it with dlinfer_model_release.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer), DLINFER_ERR_NOT_FOUND (no such file), DLINFER_ERR_IO,
 * DLINFER_ERR_MODEL_INVALID (not a valid ONNX model), DLINFER_ERR_UNSUPPORTED_OP (op, attribute or opset not
 * implemented; the message names the node). Thread-safe. */
dlinfer_status dlinfer_model_load_file(const char* path, dlinfer_model** out);

/* Same as dlinfer_model_load_file from `size` bytes at `data`, which are copied (the caller may free them on return).
 * External weight files are not allowed. Errors as above, plus DLINFER_ERR_INVALID_ARG for data NULL. */
dlinfer_status dlinfer_model_load_buffer(const void* data, size_t size, dlinfer_model** out);

/* Drops the caller's reference. The model is freed when the last session created from it is destroyed too, so it
 * may be released right after dlinfer_session_create. NULL is allowed. */
void dlinfer_model_release(dlinfer_model* model);

/* Numbers of graph inputs and outputs. Either out pointer may be NULL when not wanted (not both).
 * Errors: DLINFER_ERR_INVALID_ARG (model NULL, both out pointers NULL). Thread-safe. */
dlinfer_status dlinfer_model_io_count(const dlinfer_model* model, int32_t* out_inputs, int32_t* out_outputs);

/* Name of input (is_output = 0) or output (is_output = 1) `index`. The string lives as long as the model.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, index out of range). Thread-safe. */
dlinfer_status dlinfer_model_io_name(const dlinfer_model* model, int32_t is_output, int32_t index,
                                     const char** out_name);

/* Index of the input (is_output = 0) or output (is_output = 1) called `name`.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer), DLINFER_ERR_NOT_FOUND (no such name; the message lists the
 * names there are). Thread-safe. */
dlinfer_status dlinfer_model_io_index(const dlinfer_model* model, int32_t is_output, const char* name,
                                      int32_t* out_index);

/* Declared dtype (DLINFER_DTYPE_*) and shape of input/output `index`. *out_rank is the rank, or -1 when even the
 * rank is unknown before running. Dimensions not known before running (a batch size, a sequence length) are -1.
 * `dims` may be NULL when dims_cap is 0 (to ask for the rank first); otherwise it receives min(rank, dims_cap)
 * dimensions and DLINFER_ERR_BUFFER_TOO_SMALL is returned when dims_cap < rank (dtype and rank are still written).
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, index out of range, dims_cap < 0), DLINFER_ERR_BUFFER_TOO_SMALL.
 * Thread-safe. */
dlinfer_status dlinfer_model_io_type(const dlinfer_model* model, int32_t is_output, int32_t index,
                                     int32_t* out_dtype, int32_t* out_rank, int64_t* dims, int32_t dims_cap);

/* Name of dimension `axis` of input/output `index` when the model gives it a symbolic name ("batch",
 * "sequence"), else "" (a fixed dimension, or one the model leaves unnamed). The string lives as long as the model.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, index or axis out of range, or the rank is unknown). Thread-safe. */
dlinfer_status dlinfer_model_io_dim_name(const dlinfer_model* model, int32_t is_output, int32_t index, int32_t axis,
                                         const char** out_name);

/* What the model file says of itself, as key/value pairs in a fixed order: "producer_name", "producer_version",
 * "graph_name", "domain", "description", "graph_description", "version" (the model version, a number, "" when the file sets none), "opset"
 * (the default domain's), always present ("" where the file is silent), then the model's own metadata_props as
 * "custom.KEY". The strings live as long as the model.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, index out of range). Thread-safe. */
dlinfer_status dlinfer_model_metadata_count(const dlinfer_model* model, int32_t* out_count);
dlinfer_status dlinfer_model_metadata(const dlinfer_model* model, int32_t index, const char** out_key,
                                      const char** out_value);

/* ---- Sessions ---------------------------------------------------------------------------------------------------- */

/* Creates a session running `model` on the device chosen by: the "device" option > DLINFER_DEVICE > auto (the
 * first OpenCL GPU, else the CPU). `options` may be NULL. The session holds its own reference to the model.
 * Free it with dlinfer_session_destroy.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, malformed device text), DLINFER_ERR_DEVICE_UNAVAILABLE (the
 * requested device cannot be used and fallback is not "cpu"), DLINFER_ERR_UNSUPPORTED_OP (a node no backend runs).
 * Thread-safe with respect to the model. */
dlinfer_status dlinfer_session_create(dlinfer_model* model, const dlinfer_options* options, dlinfer_session** out);

/* Frees a session and its buffers, and drops its model reference. Must not race with any other call on it.
 * NULL is allowed. */
void dlinfer_session_destroy(dlinfer_session* session);

/* What the session actually runs on: the device kind (DLINFER_DEVICE_*), its index in the device list
 * (dlinfer_device_info), and how many graph nodes are placed on the CPU (all of them on a CPU session; on an
 * OpenCL session, the nodes that fell back). Errors: DLINFER_ERR_INVALID_ARG (NULL pointer). */
dlinfer_status dlinfer_session_device(const dlinfer_session* session, int32_t* out_kind, int32_t* out_device_index,
                                      int32_t* out_cpu_nodes);

/* The name of the device the session runs on ("cpu", or "opencl:N (device name)"), valid as long as the session.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer). */
dlinfer_status dlinfer_session_device_name(const dlinfer_session* session, const char** out_name);

/* Copies input `index` (see dlinfer_model_io_index) from `data`: `nbytes` bytes of row-major (C-order) elements of
 * `dtype` with shape dims[0..rank). The copy is kept for every later run until the input is set or bound again.
 * A shape not seen before is planned for implicitly at the next run. A nonzero bool byte means true.
 * `dims` may be NULL when rank is 0 (a scalar); `data` may be NULL when nbytes is 0.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, index out of range, dtype differs from the model's, negative
 * dimension, nbytes != element count * element size), DLINFER_ERR_SHAPE (rank or a fixed dimension differs from
 * the model's). */
dlinfer_status dlinfer_session_set_input(dlinfer_session* session, int32_t index, int32_t dtype, const int64_t* dims,
                                         int32_t rank, const void* data, size_t nbytes);

/* Like dlinfer_session_set_input, but zero-copy: the session reads `data` in place during the next
 * dlinfer_session_run, which consumes the binding. `data` must stay valid and unchanged until that run returns; the
 * session keeps no pointer to it afterwards (outputs are never views of it), and the input must be set or bound
 * again before the run after that. `data` must be aligned to the element size (as malloc and numpy arrays are).
 * Errors as dlinfer_session_set_input, plus DLINFER_ERR_INVALID_ARG for misaligned data or bool bytes other than
 * 0 and 1. */
dlinfer_status dlinfer_session_bind_input(dlinfer_session* session, int32_t index, int32_t dtype, const int64_t* dims,
                                          int32_t rank, const void* data, size_t nbytes);

/* Like dlinfer_session_set_input, but the host writes the data in place: gives input `index` the shape
 * dims[0..rank) and returns in *out_data a zero-filled buffer of that many bytes (element count * element size),
 * owned by the session and aligned to 64 bytes. Every later run reads the buffer as the input, as it is when the run
 * starts, until the input is set, bound or given a buffer again (which frees this one) or the session is destroyed;
 * so a host that runs one shape repeatedly writes each new input there and calls dlinfer_session_run, with no copy
 * and no call per input. A nonzero bool byte means true. *out_data is NULL when the shape has no elements. The
 * outputs of a run may share memory with the buffer (e.g. an output that is the input reshaped): read them before
 * writing the next input. Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, index out of range, dtype differs from the
 * model's, negative dimension, size overflow), DLINFER_ERR_SHAPE (rank or a fixed dimension differs from the
 * model's), DLINFER_ERR_OUT_OF_MEMORY. */
dlinfer_status dlinfer_session_input_buffer(dlinfer_session* session, int32_t index, int32_t dtype, const int64_t* dims,
                                            int32_t rank, void** out_data);

/* Runs the model on the inputs set or bound since creation, synchronously. Every input must have been given.
 * On failure the outputs of the previous run are discarded.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL, an input not given), DLINFER_ERR_SHAPE (inputs whose shapes do not fit
 * together), DLINFER_ERR_CANCELLED, DLINFER_ERR_DEVICE, DLINFER_ERR_OUT_OF_MEMORY, DLINFER_ERR_INTERNAL. */
dlinfer_status dlinfer_session_run(dlinfer_session* session);

/* Dtype and concrete shape of output `index` as computed by the last successful run. `dims` and dims_cap behave as
 * in dlinfer_model_io_type. Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, index out of range, no successful run
 * yet), DLINFER_ERR_BUFFER_TOO_SMALL (dims_cap < rank). */
dlinfer_status dlinfer_session_output_type(const dlinfer_session* session, int32_t index, int32_t* out_dtype,
                                           int32_t* out_rank, int64_t* dims, int32_t dims_cap);

/* Copies output `index` of the last successful run into `dst` (row-major). dst_bytes must be at least the output's
 * size (element count * element size); `dst` may be NULL when that size is 0.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, index out of range, no successful run yet),
 * DLINFER_ERR_BUFFER_TOO_SMALL (nothing is copied; the message gives the size needed). */
dlinfer_status dlinfer_session_copy_output(const dlinfer_session* session, int32_t index, void* dst, size_t dst_bytes);

/* A tensor the session holds in host memory, described in place (see dlinfer_session_output_views). */
typedef struct dlinfer_tensor_view {
    const void* data;    /* the row-major elements; NULL when there are none */
    const int64_t* dims; /* `rank` dimensions */
    uint64_t nbytes;     /* element count * element size */
    int32_t dtype;       /* DLINFER_DTYPE_* */
    int32_t rank;        /* -1 when the view is empty: no successful run */
} dlinfer_tensor_view;

/* The outputs of the last successful run without copying them: *out_views receives an array of one view per model
 * output (in model order), owned by the session, at the same address for the session's life. Every
 * dlinfer_session_run rewrites the array: after a successful run, view k describes output k of that run (the memory
 * dlinfer_session_copy_output copies from), valid until the next run or the session's destruction; before the first
 * successful run and after a failed one, every view is empty. Read-only. A host that fetches the array once can read
 * each run's outputs with no further call. Errors: DLINFER_ERR_INVALID_ARG (NULL pointer). */
dlinfer_status dlinfer_session_output_views(const dlinfer_session* session, const dlinfer_tensor_view** out_views);

/* Asks a run in progress on another thread to stop at the next node boundary; that run returns
 * DLINFER_ERR_CANCELLED. Has no effect when no run is in progress. The only thread-safe call on a session.
 * Errors: DLINFER_ERR_INVALID_ARG (session NULL). */
dlinfer_status dlinfer_session_cancel(dlinfer_session* session);

/* ---- Post-processing --------------------------------------------------------------------------------------------- */

/* CTC greedy (best-path) decoding of a recogniser's output, such as a CRNN's per-frame log_softmax.
 * `data` holds frames * batch * classes floats, row-major [frames, batch, classes] (PyTorch's CTCLoss layout; a
 * [batch, frames, classes] output is decoded one item at a time with batch = 1). Log-probabilities, probabilities or
 * raw scores all work: only their order within a frame matters. For each batch item b: each frame's best class
 * (ties go to the lowest index; NaN never wins), runs of the same class collapsed to one, `blank` dropped.
 * lengths[b] (<= frames) receives the number of labels and labels[b * frames + i], i < lengths[b], the labels; the
 * rest of that row of `labels` is set to -1. So `labels` holds batch * frames elements and `lengths` batch elements.
 * `data` and `labels` may be NULL when frames * batch is 0, `lengths` when batch is 0.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, negative frames or batch, classes < 1, blank not in [0, classes),
 * frames * batch * classes overflowing, a frame whose scores are all NaN). Thread-safe. */
dlinfer_status dlinfer_ctc_greedy_decode(const float* data, int64_t frames, int64_t batch, int64_t classes,
                                         int64_t blank, int64_t* labels, int64_t* lengths);

/* Box layouts, passed as int32_t to the functions below. Coordinates are in any unit (usually input pixels), x to the
 * right and y downwards as in an image. */
enum {
    DLINFER_BOX_CORNERS = 0,      /* x1, y1, x2, y2: two opposite corners (torchvision; ONNX center_point_box = 0) */
    DLINFER_BOX_CENTER = 1,       /* cx, cy, w, h (YOLO; ONNX center_point_box = 1) */
    DLINFER_BOX_CENTER_ANGLE = 2, /* cx, cy, w, h, angle: a w x h rectangle about (cx, cy) turned by `angle` degrees
                                   * counter-clockwise as seen in the image (detectron2's rotated boxes): its corner
                                   * (cx, cy) + (w/2 cos a + h/2 sin a, h/2 cos a - w/2 sin a) is the bottom-right one */
    DLINFER_BOX_QUAD = 3          /* x1, y1, x2, y2, x3, y3, x4, y4: the corners of a convex quadrilateral in order
                                   * around it (either direction), as dlinfer_east_decode and dlinfer_heatmap_boxes give */
};

/* Greedy non-maximum suppression, as torchvision.ops.nms (classes NULL) and batched_nms (classes given).
 * boxes: count boxes of 4 floats (DLINFER_BOX_CORNERS or DLINFER_BOX_CENTER; corners may come in either order) or 5
 * or 8 floats (DLINFER_BOX_CENTER_ANGLE, DLINFER_BOX_QUAD: rotated boxes, whose overlap is the exact area of the
 * intersection of the two polygons). scores: count floats. classes: count class ids, or NULL for one class.
 * Boxes whose score is not above score_threshold are dropped (pass -INFINITY to keep all). The rest are visited by
 * falling score, ties by lower index; a box is kept unless its IoU (intersection over union of the areas; 0 when
 * the union is 0) with a box already kept of the same class is greater than iou_threshold. At most max_outputs
 * boxes are kept (a negative max_outputs: no limit).
 * keep receives the kept boxes' indices in visiting order (falling score) and out_kept their number; keep must hold
 * min(count, max_outputs) elements (count for no limit) and may be NULL when that is 0, as may boxes, scores and
 * classes when count is 0.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, negative count, an unknown box_format, iou_threshold outside
 * [0, 1] or NaN, a NaN score or score_threshold, a non-finite coordinate or a quadrilateral that is not convex in
 * a box above the score threshold). Thread-safe. */
dlinfer_status dlinfer_nms(const float* boxes, const float* scores, const int64_t* classes, int64_t count,
                           int32_t box_format, float iou_threshold, float score_threshold, int64_t max_outputs,
                           int64_t* keep, int64_t* out_kept);

/* Decodes an EAST text detector's maps for one image into rotated boxes. score: height * width floats ([H, W]);
 * geometry: 5 * height * width floats, channel-first ([5, H, W]): for each cell the distances from its point to
 * the top, right, bottom and left edges of its box, then the box's angle in radians, counter-clockwise as seen in
 * the image (as DLINFER_BOX_CENTER_ANGLE's). Cell (row y, column x) stands for the input point (x * scale, y * scale)
 * (EAST's output stride is 4). Every cell whose score is above score_threshold gives a box, in row-major cell order:
 * quads receives its 8 floats in DLINFER_BOX_QUAD layout, the box's top-left, top-right, bottom-right and
 * bottom-left corners (clockwise as seen in the image), and scores its score. Feed the result to dlinfer_nms with
 * DLINFER_BOX_QUAD. quads holds 8 * capacity floats and scores capacity floats; height * width always suffices.
 * out_count receives the number of boxes; when it exceeds capacity, nothing is written to quads and scores and
 * DLINFER_ERR_BUFFER_TOO_SMALL is returned with out_count set (the one out-parameter written on that error), so a
 * call with capacity 0 and quads and scores NULL asks for the number.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, negative height or width, scale not finite and positive, a NaN score,
 * a non-finite distance or angle in a cell above the threshold), DLINFER_ERR_BUFFER_TOO_SMALL. Thread-safe. */
dlinfer_status dlinfer_east_decode(const float* score, const float* geometry, int64_t height, int64_t width,
                                   float scale, float score_threshold, float* quads, float* scores, int64_t capacity,
                                   int64_t* out_count);

/* Turns a CRAFT-style text detector's heatmaps for one image into word boxes, as CRAFT's reference post-processing
 * does. region (character-region scores) and affinity (link scores, or NULL for none): height * width floats each
 * ([H, W]). A cell is text when its region score is above low_text or its affinity above link_threshold; the 4-connected
 * components of text cells with at least min_size cells and a peak region score of at least text_threshold become words
 * (one without a cell whose region score is above low_text gives none). Each word's cells, less the link-only ones, are
 * dilated by a square whose side grows with the component's thinness (CRAFT's rule), and the minimum-area rectangle
 * around the cell centres is its box (of two with exactly the same area, the one turned least from the axes); a
 * rectangle whose sides differ by at most 10 % is replaced by the cells' axis-aligned bounding box. The boxes are
 * scaled by `scale` (CRAFT's maps are half the input size: 2) and come in the components' raster order: quads receives
 * 8 floats per box in DLINFER_BOX_QUAD layout, clockwise as seen in the image from the corner nearest the top-left
 * (ties: the upper one), scores the component's peak region score. Sizes and DLINFER_ERR_BUFFER_TOO_SMALL as
 * dlinfer_east_decode; height * width / min_size boxes always suffice.
 * Errors: DLINFER_ERR_INVALID_ARG (NULL pointer, negative height or width, a NaN score or threshold, min_size < 1,
 * scale not finite and positive), DLINFER_ERR_BUFFER_TOO_SMALL. Thread-safe. */
dlinfer_status dlinfer_heatmap_boxes(const float* region, const float* affinity, int64_t height, int64_t width,
                                     float text_threshold, float link_threshold, float low_text, int64_t min_size,
                                     float scale, float* quads, float* scores, int64_t capacity, int64_t* out_count);

#ifdef __cplusplus
}
#endif

#endif /* DLINFER_H */
