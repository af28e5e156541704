#define _POSIX_C_SOURCE 200809L

#include "model_config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool failf(char* err, size_t cap, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(err, cap, fmt, args);
    va_end(args);
    return false;
}

static const struct {
    const char* name;
    TRITONSERVER_DataType triton;
    int32_t dlinfer;
    size_t size;
} kTypes[] = {
    {"TYPE_BOOL", TRITONSERVER_TYPE_BOOL, DLINFER_DTYPE_BOOL, 1},
    {"TYPE_UINT8", TRITONSERVER_TYPE_UINT8, DLINFER_DTYPE_UINT8, 1},
    {"TYPE_UINT16", TRITONSERVER_TYPE_UINT16, DLINFER_DTYPE_UINT16, 2},
    {"TYPE_UINT32", TRITONSERVER_TYPE_UINT32, DLINFER_DTYPE_UINT32, 4},
    {"TYPE_UINT64", TRITONSERVER_TYPE_UINT64, DLINFER_DTYPE_UINT64, 8},
    {"TYPE_INT8", TRITONSERVER_TYPE_INT8, DLINFER_DTYPE_INT8, 1},
    {"TYPE_INT16", TRITONSERVER_TYPE_INT16, DLINFER_DTYPE_INT16, 2},
    {"TYPE_INT32", TRITONSERVER_TYPE_INT32, DLINFER_DTYPE_INT32, 4},
    {"TYPE_INT64", TRITONSERVER_TYPE_INT64, DLINFER_DTYPE_INT64, 8},
    {"TYPE_FP16", TRITONSERVER_TYPE_FP16, DLINFER_DTYPE_FLOAT16, 2},
    {"TYPE_FP32", TRITONSERVER_TYPE_FP32, DLINFER_DTYPE_FLOAT32, 4},
    {"TYPE_FP64", TRITONSERVER_TYPE_FP64, DLINFER_DTYPE_FLOAT64, 8},
    {"TYPE_BF16", TRITONSERVER_TYPE_BF16, DLINFER_DTYPE_BFLOAT16, 2},
};
#define TYPE_COUNT (sizeof kTypes / sizeof kTypes[0])

/* The session options a configuration may set through `parameters`, passed to dlinfer_options_set as they are. */
static const char* const kOptionKeys[] = {"device", "fallback", "threads", "max_memory", "plan_cache", "precision"};
#define OPTION_COUNT (sizeof kOptionKeys / sizeof kOptionKeys[0])

int64_t dl_element_count(const int64_t* dims, int32_t rank) {
    int64_t count = 1;
    for (int32_t i = 0; i < rank; i++) {
        if (dims[i] < 0) return -1;
        if (dims[i] != 0 && count > INT64_MAX / dims[i]) return -1;
        count *= dims[i];
    }
    return count;
}

void dl_format_dims(const int64_t* dims, int32_t rank, char* out, size_t cap) {
    size_t n = (size_t)snprintf(out, cap, "[");
    for (int32_t i = 0; i < rank && n < cap; i++) n += (size_t)snprintf(out + n, cap - n, "%s%" PRId64, i ? ", " : "", dims[i]);
    if (n < cap) snprintf(out + n, cap - n, "]");
}

const char* dl_triton_type_name(TRITONSERVER_DataType type) {
    for (size_t t = 0; t < TYPE_COUNT; t++)
        if (kTypes[t].triton == type) return kTypes[t].name;
    return type == TRITONSERVER_TYPE_BYTES ? "TYPE_STRING" : "an unsupported type";
}

bool dl_config_model_path(const json_value* config, const char* repository, uint64_t version, char** out_path,
                          char* err, size_t err_cap) {
    const char* file = json_get_string(config, "default_model_filename");
    if (!file || !*file) file = "model.onnx";
    size_t cap = strlen(repository) + strlen(file) + 32;
    char* path = malloc(cap);
    if (!path) return failf(err, err_cap, "out of memory");
    snprintf(path, cap, "%s/%" PRIu64 "/%s", repository, version, file);
    *out_path = path;
    return true;
}

bool dl_config_options(const json_value* config, dlinfer_options* options, char* err, size_t err_cap) {
    const json_value* params = json_get(config, "parameters");
    if (!params) return true;
    if (params->kind != JSON_OBJECT) return failf(err, err_cap, "parameters must be a map");
    for (size_t i = 0; i < params->count; i++) {
        const char* key = params->keys[i];
        bool known = false;
        for (size_t k = 0; k < OPTION_COUNT; k++) known = known || strcmp(key, kOptionKeys[k]) == 0;
        if (!known)
            return failf(err, err_cap,
                         "unknown parameter '%s': the dlinfer backend takes device, fallback, threads, max_memory, "
                         "plan_cache and precision (see serving/README.md)", key);
        const char* value = json_get_string(params->items[i], "string_value");
        if (!value) return failf(err, err_cap, "parameter '%s' has no string_value", key);
        if (dlinfer_options_set(options, key, value) != DLINFER_OK)
            return failf(err, err_cap, "parameter '%s': %s", key, dlinfer_last_error());
    }
    return true;
}

/* The model's declared shape of one input or output; rank -1 when even the rank is unknown. */
static bool model_shape(const dlinfer_model* model, int is_output, int32_t index, int32_t* dtype, int64_t** dims,
                        int32_t* rank, char* err, size_t err_cap) {
    *dims = NULL;
    dlinfer_status status = dlinfer_model_io_type(model, is_output, index, dtype, rank, NULL, 0);
    if (status != DLINFER_OK && status != DLINFER_ERR_BUFFER_TOO_SMALL)
        return failf(err, err_cap, "%s", dlinfer_last_error());
    if (*rank <= 0) return true;
    *dims = calloc((size_t)*rank, sizeof **dims);
    if (!*dims) return failf(err, err_cap, "out of memory");
    if (dlinfer_model_io_type(model, is_output, index, dtype, rank, *dims, *rank) != DLINFER_OK) {
        free(*dims);
        *dims = NULL;
        return failf(err, err_cap, "%s", dlinfer_last_error());
    }
    return true;
}

static const char* triton_type_name(int32_t dtype) {
    for (size_t t = 0; t < TYPE_COUNT; t++)
        if (kTypes[t].dlinfer == dtype) return kTypes[t].name;
    return NULL;
}

static bool autocomplete_list(json_value* config, const dlinfer_model* model, int is_output, int64_t max_batch,
                              char* err, size_t err_cap) {
    const char* what = is_output ? "output" : "input";
    int32_t inputs, outputs;
    dlinfer_model_io_count(model, &inputs, &outputs);
    json_value* list = json_new(JSON_ARRAY);
    if (!list) return failf(err, err_cap, "out of memory");
    for (int32_t i = 0; i < (is_output ? outputs : inputs); i++) {
        const char* name;
        int32_t dtype, rank;
        int64_t* dims;
        dlinfer_model_io_name(model, is_output, i, &name);
        if (!model_shape(model, is_output, i, &dtype, &dims, &rank, err, err_cap)) { json_free(list); return false; }
        const char* type = triton_type_name(dtype);
        bool ok = true;
        if (!type) ok = failf(err, err_cap, "%s '%s' has an element type Triton has no TYPE_ for (%d)", what, name, dtype);
        else if (rank < 0) ok = failf(err, err_cap, "%s '%s' has no known rank: list it in config.pbtxt", what, name);
        else if (max_batch > 0 && (rank == 0 || dims[0] >= 0))
            ok = failf(err, err_cap,
                       "%s '%s' has no variable first dimension to batch on; set max_batch_size: 0", what, name);
        json_value* entry = ok ? json_new(JSON_OBJECT) : NULL;
        json_value* shape = ok ? json_new(JSON_ARRAY) : NULL;
        for (int32_t d = max_batch > 0 ? 1 : 0; ok && shape && d < rank; d++)
            ok = json_push(shape, json_new_int(dims[d] < 0 ? -1 : dims[d]));
        free(dims);
        if (ok && (!entry || !shape || !json_set(entry, "name", json_new_string(name)) ||
                   !json_set(entry, "data_type", json_new_string(type)) || !json_set(entry, "dims", shape) ||
                   !json_push(list, entry)))
            ok = failf(err, err_cap, "out of memory");
        else if (ok)
            continue;
        json_free(entry);
        json_free(list);
        return false;
    }
    if (!json_set(config, is_output ? "output" : "input", list)) return failf(err, err_cap, "out of memory");
    return true;
}

bool dl_config_autocomplete(json_value* config, const dlinfer_model* model, bool* changed, char* err, size_t err_cap) {
    *changed = false;
    int64_t max_batch = 0;
    const json_value* mbs = json_get(config, "max_batch_size");
    if (mbs && !json_as_int(mbs, &max_batch)) return failf(err, err_cap, "max_batch_size is not an integer");
    for (int is_output = 0; is_output < 2; is_output++) {
        const json_value* list = json_get(config, is_output ? "output" : "input");
        if (list && list->kind == JSON_ARRAY && list->count > 0) continue;
        if (!autocomplete_list(config, model, is_output, max_batch, err, err_cap)) return false;
        *changed = true;
    }
    return true;
}

static bool read_dims(const json_value* array, const char* what, const char* name, int64_t** out, int32_t* rank,
                      char* err, size_t err_cap) {
    /* Protobuf's JSON may leave an empty repeated field out: no dims is a scalar. */
    static const json_value empty = {.kind = JSON_ARRAY};
    if (!array) array = &empty;
    if (array->kind != JSON_ARRAY) return failf(err, err_cap, "%s '%s': dims must be a list", what, name);
    if (array->count > 64) return failf(err, err_cap, "%s '%s' has %zu dims", what, name, array->count);
    *out = calloc(array->count ? array->count : 1, sizeof **out);
    if (!*out) return failf(err, err_cap, "out of memory");
    *rank = (int32_t)array->count;
    for (size_t i = 0; i < array->count; i++)
        if (!json_as_int(array->items[i], &(*out)[i]) || (*out)[i] < -1)
            return failf(err, err_cap, "%s '%s': dims must be sizes or -1", what, name);
    return true;
}

static bool flag_set(const json_value* entry, const char* key) {
    const json_value* v = json_get(entry, key);
    return v && v->kind == JSON_BOOL && v->boolean;
}

/* Checks one configured tensor against the model's declaration (when known) of the same tensor. */
static bool check_against_model(const dl_tensor_spec* spec, const char* what, const dlinfer_model* model,
                                int is_output, bool batched, char* err, size_t err_cap) {
    int32_t dtype, rank;
    int64_t* dims;
    if (!model_shape(model, is_output, spec->index, &dtype, &dims, &rank, err, err_cap)) return false;
    bool ok = true;
    const int64_t* want = spec->model_dims ? spec->model_dims : spec->dims;
    int32_t want_rank = spec->model_dims ? spec->model_rank : spec->rank;
    char declared[256], configured[256];
    dl_format_dims(dims, rank > 0 ? rank : 0, declared, sizeof declared);
    dl_format_dims(want, want_rank, configured, sizeof configured);
    if (dtype != spec->dtype) {
        const char* name = triton_type_name(dtype);
        ok = failf(err, err_cap, "%s '%s': the configuration says %s but the model's is %s", what, spec->name,
                   triton_type_name(spec->dtype), name ? name : "a type Triton cannot carry");
    } else if (rank >= 0 && rank != want_rank + (batched ? 1 : 0)) {
        ok = failf(err, err_cap, "%s '%s': the configuration gives %d dims %s%s but the model declares %d: %s", what,
                   spec->name, want_rank, configured, batched ? " after the batch dimension" : "", rank, declared);
    } else if (rank >= 0 && batched && dims[0] >= 0) {
        ok = failf(err, err_cap,
                   "%s '%s': the model fixes the first dimension at %" PRId64 " (%s), so requests cannot be batched "
                   "on it; set max_batch_size: 0", what, spec->name, dims[0], declared);
    } else {
        for (int32_t d = 0; rank >= 0 && d < want_rank && ok; d++) {
            int64_t m = dims[d + (batched ? 1 : 0)];
            if (m >= 0 && want[d] >= 0 && m != want[d])
                ok = failf(err, err_cap, "%s '%s': the configuration's dims %s do not fit the model's %s", what,
                           spec->name, configured, declared);
        }
    }
    free(dims);
    return ok;
}

static bool read_tensor(const json_value* entry, const char* what, const dlinfer_model* model, int is_output,
                        bool batched, dl_tensor_spec* spec, char* err, size_t err_cap) {
    const char* name = json_get_string(entry, "name");
    if (!name || !*name) return failf(err, err_cap, "an %s has no name", what);
    if (!(spec->name = strdup(name))) return failf(err, err_cap, "out of memory");
    if (dlinfer_model_io_index(model, is_output, name, &spec->index) != DLINFER_OK)
        return failf(err, err_cap, "%s '%s' is not in the model: %s", what, name, dlinfer_last_error());
    const char* type = json_get_string(entry, "data_type");
    size_t t = 0;
    while (t < TYPE_COUNT && !(type && strcmp(type, kTypes[t].name) == 0)) t++;
    if (t == TYPE_COUNT)
        return failf(err, err_cap, "%s '%s': data_type %s is not supported by the dlinfer backend", what, name,
                     type ? type : "(none)");
    spec->dtype = kTypes[t].dlinfer;
    spec->triton_type = kTypes[t].triton;
    spec->element_size = kTypes[t].size;
    if (flag_set(entry, "optional")) return failf(err, err_cap, "%s '%s': optional inputs are not supported", what, name);
    if (flag_set(entry, "is_shape_tensor"))
        return failf(err, err_cap, "%s '%s': shape tensors are not supported", what, name);
    if (flag_set(entry, "allow_ragged_batch"))
        return failf(err, err_cap, "%s '%s': ragged batching is not supported", what, name);
    if (!read_dims(json_get(entry, "dims"), what, name, &spec->dims, &spec->rank, err, err_cap)) return false;
    const json_value* reshape = json_get(entry, "reshape");
    if (reshape) {
        if (!read_dims(json_get(reshape, "shape"), what, name, &spec->model_dims, &spec->model_rank, err, err_cap))
            return false;
        int64_t from = dl_element_count(spec->dims, spec->rank);
        int64_t to = dl_element_count(spec->model_dims, spec->model_rank);
        if (from < 0 || to < 0)
            return failf(err, err_cap, "%s '%s': reshape needs fixed dims on both sides", what, name);
        if (from != to)
            return failf(err, err_cap, "%s '%s': reshape from %" PRId64 " to %" PRId64 " elements", what, name, from, to);
    }
    return check_against_model(spec, what, model, is_output, batched, err, err_cap);
}

static bool read_list(const json_value* config, const char* key, const char* what, const dlinfer_model* model,
                      int is_output, bool batched, dl_tensor_spec** out, int32_t* count, char* err, size_t err_cap) {
    const json_value* list = json_get(config, key);
    int32_t model_count[2];
    dlinfer_model_io_count(model, &model_count[0], &model_count[1]);
    if (!list || list->kind != JSON_ARRAY || list->count == 0)
        return failf(err, err_cap,
                     "the configuration lists no %ss: list them, or let the backend fill them in (tritonserver "
                     "without --strict-model-config=true)", what);
    if (!(*out = calloc(list->count, sizeof **out))) return failf(err, err_cap, "out of memory");
    *count = (int32_t)list->count;
    for (size_t i = 0; i < list->count; i++) {
        if (!read_tensor(list->items[i], what, model, is_output, batched, &(*out)[i], err, err_cap)) return false;
        for (size_t j = 0; j < i; j++)
            if ((*out)[j].index == (*out)[i].index)
                return failf(err, err_cap, "%s '%s' is listed twice", what, (*out)[i].name);
    }
    /* A request cannot run without every model input; outputs may be a subset. */
    if (!is_output && *count != model_count[0]) {
        for (int32_t m = 0; m < model_count[0]; m++) {
            bool listed = false;
            for (int32_t i = 0; i < *count; i++) listed = listed || (*out)[i].index == m;
            const char* name;
            dlinfer_model_io_name(model, 0, m, &name);
            if (!listed) return failf(err, err_cap, "the model's input '%s' is not in the configuration", name);
        }
    }
    return true;
}

bool dl_config_read(const json_value* config, const dlinfer_model* model, dl_model_config* out, char* err,
                    size_t err_cap) {
    memset(out, 0, sizeof *out);
    const json_value* mbs = json_get(config, "max_batch_size");
    if (mbs && (!json_as_int(mbs, &out->max_batch_size) || out->max_batch_size < 0))
        return failf(err, err_cap, "max_batch_size must be a count");
    if (json_get(config, "sequence_batching"))
        return failf(err, err_cap, "sequence_batching is not supported: the dlinfer backend keeps no state between requests");
    if (flag_set(json_get(config, "model_transaction_policy"), "decoupled"))
        return failf(err, err_cap, "decoupled transaction policy is not supported: one response per request");
    bool batched = out->max_batch_size > 0;
    return read_list(config, "input", "input", model, 0, batched, &out->inputs, &out->input_count, err, err_cap) &&
           read_list(config, "output", "output", model, 1, batched, &out->outputs, &out->output_count, err, err_cap);
}

static void free_specs(dl_tensor_spec* specs, int32_t count) {
    for (int32_t i = 0; specs && i < count; i++) {
        free(specs[i].name);
        free(specs[i].dims);
        free(specs[i].model_dims);
    }
    free(specs);
}

void dl_config_free(dl_model_config* config) {
    free_specs(config->inputs, config->input_count);
    free_specs(config->outputs, config->output_count);
    memset(config, 0, sizeof *config);
}
