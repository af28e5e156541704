/* TRITONBACKEND_ModelInstanceExecute: checks each request against the configuration, runs consecutive requests with
 * the same per-item shapes as one batch (as the dynamic batcher hands them over), and splits the outputs back. Every
 * request gets a response: its outputs, or an error saying what was wrong with it. */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"

#define MAX_RANK 64

/* One request's part of an Execute call. */
typedef struct {
    TRITONBACKEND_Request* request;
    TRITONBACKEND_Response* response;
    TRITONSERVER_Error* error;     /* the first failure: the response carries it instead of outputs */
    TRITONBACKEND_Input** inputs;  /* per configured input */
    const int64_t** shapes;        /* per configured input, as the request gives it */
    uint64_t* bytes;               /* per configured input */
    uint32_t* buffers;             /* per configured input: how many pieces the data comes in */
    bool* wants;                   /* per configured output: requested */
    int64_t batch;                 /* rows along the batch dimension (1 for a model without one) */
    uint64_t compute_start, compute_end;
} pending;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail(pending* p, TRITONSERVER_Error* err) {
    if (p->error) TRITONSERVER_ErrorDelete(err);
    else p->error = err;
}

/* The shape a configured tensor must have, batch dimension included (-1 where any size goes), for messages. */
static void expected_shape(const dl_tensor_spec* spec, bool batched, char* out, size_t cap) {
    int64_t dims[MAX_RANK + 1];
    int32_t rank = 0;
    if (batched) dims[rank++] = -1;
    for (int32_t d = 0; d < spec->rank; d++) dims[rank++] = spec->dims[d];
    dl_format_dims(dims, rank, out, cap);
}

static TRITONSERVER_Error* check_input(const model_state* model, const dl_tensor_spec* spec, pending* p, int32_t k) {
    bool batched = model->config.max_batch_size > 0;
    const char* name;
    TRITONSERVER_DataType type;
    const int64_t* shape;
    uint32_t rank;
    TRITONSERVER_Error* err = TRITONBACKEND_RequestInput(p->request, spec->name, &p->inputs[k]);
    if (err) {
        TRITONSERVER_ErrorDelete(err);
        return errorf(TRITONSERVER_ERROR_INVALID_ARG, "model '%s' needs input '%s'", model->name, spec->name);
    }
    if ((err = TRITONBACKEND_InputProperties(p->inputs[k], &name, &type, &shape, &rank, &p->bytes[k], &p->buffers[k])))
        return err;
    p->shapes[k] = shape;
    char want[512], got[512];
    expected_shape(spec, batched, want, sizeof want);
    dl_format_dims(shape, (int32_t)(rank < MAX_RANK ? rank : MAX_RANK), got, sizeof got);
    if (type != spec->triton_type)
        return errorf(TRITONSERVER_ERROR_INVALID_ARG, "input '%s' is %s; model '%s' takes %s", spec->name,
                      dl_triton_type_name(type), model->name, dl_triton_type_name(spec->triton_type));
    bool fits = rank == (uint32_t)spec->rank + (batched ? 1 : 0);
    for (uint32_t d = 0; fits && d < rank; d++) {
        int64_t want_dim = batched ? (d == 0 ? -1 : spec->dims[d - 1]) : spec->dims[d];
        fits = shape[d] >= 0 && (want_dim < 0 || shape[d] == want_dim);
    }
    if (!fits)
        return errorf(TRITONSERVER_ERROR_INVALID_ARG, "input '%s' has shape %s; model '%s' takes %s", spec->name, got,
                      model->name, want);
    if (batched) {
        if (shape[0] > model->config.max_batch_size)
            return errorf(TRITONSERVER_ERROR_INVALID_ARG, "input '%s' has a batch of %" PRId64 "; model '%s' takes at "
                          "most %" PRId64, spec->name, shape[0], model->name, model->config.max_batch_size);
        if (k > 0 && shape[0] != p->batch)
            return errorf(TRITONSERVER_ERROR_INVALID_ARG, "input '%s' has a batch of %" PRId64 " but '%s' has %" PRId64,
                          spec->name, shape[0], model->config.inputs[0].name, p->batch);
        p->batch = shape[0];
    }
    int64_t count = dl_element_count(shape, (int32_t)rank);
    if (count < 0 || (uint64_t)count > UINT64_MAX / spec->element_size || (uint64_t)count * spec->element_size != p->bytes[k])
        return errorf(TRITONSERVER_ERROR_INVALID_ARG, "input '%s' holds %" PRIu64 " bytes, not what shape %s of %s "
                      "needs", spec->name, p->bytes[k], got, dl_triton_type_name(type));
    for (uint32_t b = 0; b < p->buffers[k]; b++) {
        const void* data;
        uint64_t size;
        TRITONSERVER_MemoryType memory = TRITONSERVER_MEMORY_CPU;
        int64_t memory_id = 0;
        if ((err = TRITONBACKEND_InputBuffer(p->inputs[k], b, &data, &size, &memory, &memory_id))) return err;
        if (memory == TRITONSERVER_MEMORY_GPU)
            return errorf(TRITONSERVER_ERROR_UNSUPPORTED, "input '%s' is in GPU memory; the dlinfer backend takes "
                          "inputs in host memory", spec->name);
    }
    return NULL;
}

static TRITONSERVER_Error* check_request(const model_state* model, pending* p) {
    const dl_model_config* config = &model->config;
    uint32_t count;
    TRITONSERVER_Error* err = TRITONBACKEND_RequestInputCount(p->request, &count);
    if (err) return err;
    if (count != (uint32_t)config->input_count)
        return errorf(TRITONSERVER_ERROR_INVALID_ARG, "the request has %u inputs; model '%s' takes %d", count,
                      model->name, config->input_count);
    for (int32_t k = 0; k < config->input_count; k++)
        if ((err = check_input(model, &config->inputs[k], p, k))) return err;
    if ((err = TRITONBACKEND_RequestOutputCount(p->request, &count))) return err;
    for (uint32_t i = 0; i < count; i++) {
        const char* name;
        if ((err = TRITONBACKEND_RequestOutputName(p->request, i, &name))) return err;
        int32_t o = 0;
        while (o < config->output_count && strcmp(config->outputs[o].name, name) != 0) o++;
        if (o == config->output_count)
            return errorf(TRITONSERVER_ERROR_INVALID_ARG, "model '%s' has no output '%s'", model->name, name);
        p->wants[o] = true;
    }
    return NULL;
}

/* Whether two requests may share a run: every input's per-item shape is the same. */
static bool same_item_shapes(const dl_model_config* config, const pending* a, const pending* b) {
    for (int32_t k = 0; k < config->input_count; k++) {
        const dl_tensor_spec* spec = &config->inputs[k];
        for (int32_t d = 1; d <= spec->rank; d++)
            if (a->shapes[k][d] != b->shapes[k][d]) return false;
    }
    return true;
}

/* Gives every request of the group (each owns its error) a copy of err, then err itself to the last. */
static void fail_group(pending** group, int32_t n, TRITONSERVER_Error* err) {
    for (int32_t i = 0; i + 1 < n; i++)
        fail(group[i], TRITONSERVER_ErrorNew(TRITONSERVER_ErrorCode(err), TRITONSERVER_ErrorMessage(err)));
    fail(group[n - 1], err);
}

/* Gives the session one input for the whole group: in place when one request holds it in one aligned piece, else
 * gathered into the instance's scratch buffer. */
static TRITONSERVER_Error* bind_input(instance_state* inst, pending** group, int32_t n, int32_t k, int64_t total) {
    const dl_model_config* config = &inst->model->config;
    const dl_tensor_spec* spec = &config->inputs[k];
    bool batched = config->max_batch_size > 0;
    int64_t dims[MAX_RANK + 1];
    int32_t rank = 0;
    if (batched) dims[rank++] = total;
    const int64_t* item = spec->model_dims ? spec->model_dims : group[0]->shapes[k] + (batched ? 1 : 0);
    for (int32_t d = 0; d < (spec->model_dims ? spec->model_rank : spec->rank); d++) dims[rank++] = item[d];
    size_t bytes = 0;
    for (int32_t i = 0; i < n; i++) bytes += group[i]->bytes[k];
    const void* data = NULL;
    TRITONSERVER_Error* err;
    TRITONSERVER_MemoryType memory = TRITONSERVER_MEMORY_CPU;
    int64_t memory_id = 0;
    uint64_t size;
    if (n == 1 && group[0]->buffers[k] == 1) {
        if ((err = TRITONBACKEND_InputBuffer(group[0]->inputs[k], 0, &data, &size, &memory, &memory_id))) return err;
        if ((uintptr_t)data % spec->element_size != 0) data = NULL;
    }
    if (!data && bytes > 0) {
        char* dst = scratch_reserve(&inst->inputs[k], bytes);
        if (!dst) return errorf(TRITONSERVER_ERROR_UNAVAILABLE, "out of memory gathering input '%s'", spec->name);
        data = dst;
        for (int32_t i = 0; i < n; i++) {
            for (uint32_t b = 0; b < group[i]->buffers[k]; b++) {
                const void* piece;
                if ((err = TRITONBACKEND_InputBuffer(group[i]->inputs[k], b, &piece, &size, &memory, &memory_id)))
                    return err;
                memcpy(dst, piece, size);
                dst += size;
            }
        }
    }
    dlinfer_status status = dlinfer_session_bind_input(inst->session, spec->index, spec->dtype, dims, rank, data, bytes);
    return status == DLINFER_OK ? NULL : dlinfer_error(status, spec->name);
}

/* The run's shape of output o, checked against the configuration; *row_bytes is one batch item's size. */
static TRITONSERVER_Error* output_shape(const instance_state* inst, int32_t o, int64_t total, int64_t* dims,
                                        int32_t* rank, size_t* row_bytes) {
    const dl_model_config* config = &inst->model->config;
    const dl_tensor_spec* spec = &config->outputs[o];
    bool batched = config->max_batch_size > 0;
    int32_t dtype;
    dlinfer_status status = dlinfer_session_output_type(inst->session, spec->index, &dtype, rank, dims, MAX_RANK);
    if (status != DLINFER_OK) return dlinfer_error(status, spec->name);
    char got[512], want[512];
    dl_format_dims(dims, *rank, got, sizeof got);
    expected_shape(spec, batched, want, sizeof want);
    if (dtype != spec->dtype)
        return errorf(TRITONSERVER_ERROR_INTERNAL, "output '%s': the model produced element type %d, not %s",
                      spec->name, dtype, dl_triton_type_name(spec->triton_type));
    int32_t skip = batched ? 1 : 0;
    if (batched && (*rank == 0 || dims[0] != total))
        return errorf(TRITONSERVER_ERROR_INTERNAL, "output '%s' has shape %s, whose first dimension is not the batch "
                      "of %" PRId64 ": the model does not batch on its first dimension (set max_batch_size: 0)",
                      spec->name, got, total);
    bool fits;
    if (spec->model_dims) {
        fits = dl_element_count(dims + skip, *rank - skip) == dl_element_count(spec->model_dims, spec->model_rank);
    } else {
        fits = *rank == spec->rank + skip;
        for (int32_t d = 0; fits && d < spec->rank; d++) fits = spec->dims[d] < 0 || spec->dims[d] == dims[d + skip];
    }
    if (!fits)
        return errorf(TRITONSERVER_ERROR_INTERNAL, "output '%s' has shape %s where the configuration says %s",
                      spec->name, got, want);
    if (spec->model_dims) {
        for (int32_t d = 0; d < spec->rank; d++) dims[d + skip] = spec->dims[d];
        *rank = spec->rank + skip;
    }
    int64_t count = dl_element_count(dims + skip, *rank - skip);
    *row_bytes = (size_t)count * spec->element_size;
    return NULL;
}

static TRITONSERVER_Error* add_output(pending* p, const dl_tensor_spec* spec, const int64_t* dims, int32_t rank,
                                      size_t bytes, void** buffer) {
    TRITONBACKEND_Output* output;
    TRITONSERVER_Error* err = TRITONBACKEND_ResponseOutput(p->response, &output, spec->name, spec->triton_type, dims,
                                                           (uint32_t)rank);
    if (err) return err;
    TRITONSERVER_MemoryType memory = TRITONSERVER_MEMORY_CPU;
    int64_t memory_id = 0;
    if ((err = TRITONBACKEND_OutputBuffer(output, buffer, bytes, &memory, &memory_id))) return err;
    if (memory == TRITONSERVER_MEMORY_GPU)
        return errorf(TRITONSERVER_ERROR_UNSUPPORTED, "output '%s': Triton gave a GPU buffer", spec->name);
    return NULL;
}

/* Sends output o to each request of the group that asked for it: straight into the response buffer for a lone
 * request, else through the scratch buffer, one slice of rows per request. */
static void send_output(instance_state* inst, pending** group, int32_t n, int32_t o, int64_t total) {
    const dl_tensor_spec* spec = &inst->model->config.outputs[o];
    bool wanted = false;
    for (int32_t i = 0; i < n; i++) wanted = wanted || (group[i]->wants[o] && !group[i]->error);
    if (!wanted) return;
    int64_t dims[MAX_RANK];
    int32_t rank;
    size_t row_bytes = 0;
    TRITONSERVER_Error* err = output_shape(inst, o, total, dims, &rank, &row_bytes);
    if (err) {
        fail_group(group, n, err);
        return;
    }
    bool batched = inst->model->config.max_batch_size > 0;
    size_t all_bytes = row_bytes * (size_t)(batched ? total : 1);
    const char* all = NULL;
    if (n > 1) {
        if (!(all = scratch_reserve(&inst->output, all_bytes))) {
            fail_group(group, n, errorf(TRITONSERVER_ERROR_UNAVAILABLE, "out of memory for output '%s'", spec->name));
            return;
        }
        dlinfer_status status = dlinfer_session_copy_output(inst->session, spec->index, (void*)all, all_bytes);
        if (status != DLINFER_OK) {
            fail_group(group, n, dlinfer_error(status, spec->name));
            return;
        }
    }
    size_t offset = 0;
    for (int32_t i = 0; i < n; i++) {
        pending* p = group[i];
        size_t bytes = row_bytes * (size_t)(batched ? p->batch : 1);
        if (p->wants[o] && !p->error) {
            if (batched) dims[0] = p->batch;
            void* buffer;
            err = add_output(p, spec, dims, rank, bytes, &buffer);
            if (!err && n > 1) {
                memcpy(buffer, all + offset, bytes);
            } else if (!err) {
                dlinfer_status status = dlinfer_session_copy_output(inst->session, spec->index, buffer, bytes);
                if (status != DLINFER_OK) err = dlinfer_error(status, spec->name);
            }
            if (err) fail(p, err);
        }
        offset += bytes;
    }
}

static void run_group(instance_state* inst, TRITONBACKEND_ModelInstance* instance, pending** group, int32_t n,
                      uint64_t exec_start) {
    const dl_model_config* config = &inst->model->config;
    int64_t total = 0;
    for (int32_t i = 0; i < n; i++) total += group[i]->batch;
    uint64_t compute_start = now_ns();
    TRITONSERVER_Error* err = NULL;
    for (int32_t k = 0; !err && k < config->input_count; k++) err = bind_input(inst, group, n, k, total);
    if (!err) {
        dlinfer_status status = dlinfer_session_run(inst->session);
        if (status != DLINFER_OK) err = dlinfer_error(status, "running the model");
    }
    uint64_t compute_end = now_ns();
    if (err) fail_group(group, n, err);
    for (int32_t o = 0; !err && o < config->output_count; o++) send_output(inst, group, n, o, total);
    for (int32_t i = 0; i < n; i++) {
        group[i]->compute_start = compute_start;
        group[i]->compute_end = compute_end;
    }
    if (!err) {
        err = TRITONBACKEND_ModelInstanceReportBatchStatistics(instance, (uint64_t)total, exec_start, compute_start,
                                                              compute_end, now_ns());
        if (err) TRITONSERVER_ErrorDelete(err);
    }
}

/* Sends each response (outputs, or the request's error), reports its statistics and hands the request back. */
static void finish(TRITONBACKEND_ModelInstance* instance, pending* p, uint64_t exec_start) {
    TRITONSERVER_Error* err;
    if (p->response) {
        if ((err = TRITONBACKEND_ResponseSend(p->response, TRITONSERVER_RESPONSE_COMPLETE_FINAL, p->error))) {
            LOG(TRITONSERVER_LOG_ERROR, "dlinfer: sending a response: %s", TRITONSERVER_ErrorMessage(err));
            TRITONSERVER_ErrorDelete(err);
        }
    }
    uint64_t compute_start = p->compute_start ? p->compute_start : exec_start;
    uint64_t compute_end = p->compute_end ? p->compute_end : exec_start;
    err = TRITONBACKEND_ModelInstanceReportStatistics(instance, p->request, p->error == NULL, exec_start, compute_start,
                                                      compute_end, now_ns());
    if (err) TRITONSERVER_ErrorDelete(err);
    if (p->error) TRITONSERVER_ErrorDelete(p->error);
    if ((err = TRITONBACKEND_RequestRelease(p->request, TRITONSERVER_REQUEST_RELEASE_ALL))) {
        LOG(TRITONSERVER_LOG_ERROR, "dlinfer: releasing a request: %s", TRITONSERVER_ErrorMessage(err));
        TRITONSERVER_ErrorDelete(err);
    }
}

EXPORT TRITONSERVER_Error* TRITONBACKEND_ModelInstanceExecute(TRITONBACKEND_ModelInstance* instance,
                                                              TRITONBACKEND_Request** requests,
                                                              const uint32_t request_count) {
    uint64_t exec_start = now_ns();
    void* state_ptr;
    TRITONSERVER_Error* err = TRITONBACKEND_ModelInstanceState(instance, &state_ptr);
    if (err) return err;
    instance_state* inst = state_ptr;
    const dl_model_config* config = &inst->model->config;
    size_t ni = (size_t)config->input_count, no = (size_t)config->output_count, nr = request_count;
    /* One allocation holds every request's bookkeeping. */
    pending* all = calloc(nr, sizeof *all);
    pending** group = calloc(nr ? nr : 1, sizeof *group);
    TRITONBACKEND_Input** inputs = calloc(nr * ni + 1, sizeof *inputs);
    const int64_t** shapes = calloc(nr * ni + 1, sizeof *shapes);
    uint64_t* bytes = calloc(nr * ni + 1, sizeof *bytes);
    uint32_t* buffers = calloc(nr * ni + 1, sizeof *buffers);
    bool* wants = calloc(nr * no + 1, sizeof *wants);
    if (!all || !group || !inputs || !shapes || !bytes || !buffers || !wants) {
        free(all); free(group); free(inputs); free(shapes); free(bytes); free(buffers); free(wants);
        /* Returning an error hands the requests back to Triton, which fails them. */
        return errorf(TRITONSERVER_ERROR_UNAVAILABLE, "out of memory for %u requests", request_count);
    }
    for (size_t r = 0; r < nr; r++) {
        pending* p = &all[r];
        p->request = requests[r];
        p->inputs = inputs + r * ni;
        p->shapes = shapes + r * ni;
        p->bytes = bytes + r * ni;
        p->buffers = buffers + r * ni;
        p->wants = wants + r * no;
        p->batch = 1;
        if ((err = TRITONBACKEND_ResponseNew(&p->response, p->request))) {
            LOG(TRITONSERVER_LOG_ERROR, "dlinfer: creating a response: %s", TRITONSERVER_ErrorMessage(err));
            p->response = NULL;
            fail(p, err);
            continue;
        }
        if ((err = check_request(inst->model, p))) fail(p, err);
    }
    bool batched = config->max_batch_size > 0;
    for (size_t r = 0; r < nr;) {
        if (all[r].error) {
            r++;
            continue;
        }
        int32_t n = 0;
        int64_t rows = 0;
        for (size_t s = r; s < nr; s++) {
            pending* p = &all[s];
            if (p->error) continue;
            if (n > 0 && (!batched || rows + p->batch > config->max_batch_size || !same_item_shapes(config, group[0], p)))
                break;
            group[n++] = p;
            rows += p->batch;
        }
        run_group(inst, instance, group, n, exec_start);
        while (r < nr && (all[r].error || all[r].compute_end)) r++;
    }
    for (size_t r = 0; r < nr; r++) finish(instance, &all[r], exec_start);
    free(all); free(group); free(inputs); free(shapes); free(bytes); free(buffers); free(wants);
    return NULL;
}
