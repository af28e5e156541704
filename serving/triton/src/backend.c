/* The dlinfer backend for NVIDIA Triton Inference Server: one dlinfer model per Triton model, one dlinfer session per
 * model instance. This file loads and unloads them; execute.c runs requests. */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "json.h"

void dl_log(TRITONSERVER_LogLevel level, int line, const char* fmt, ...) {
    char msg[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(msg, sizeof msg, fmt, args);
    va_end(args);
    TRITONSERVER_Error* err = TRITONSERVER_LogMessage(level, __FILE__, line, msg);
    if (err) TRITONSERVER_ErrorDelete(err);
}

TRITONSERVER_Error* errorf(TRITONSERVER_Error_Code code, const char* fmt, ...) {
    char msg[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(msg, sizeof msg, fmt, args);
    va_end(args);
    return TRITONSERVER_ErrorNew(code, msg);
}

TRITONSERVER_Error_Code code_for(dlinfer_status status) {
    switch (status) {
    case DLINFER_ERR_INVALID_ARG:
    case DLINFER_ERR_SHAPE: return TRITONSERVER_ERROR_INVALID_ARG;
    case DLINFER_ERR_NOT_FOUND: return TRITONSERVER_ERROR_NOT_FOUND;
    case DLINFER_ERR_UNSUPPORTED_OP: return TRITONSERVER_ERROR_UNSUPPORTED;
    case DLINFER_ERR_DEVICE_UNAVAILABLE:
    case DLINFER_ERR_OUT_OF_MEMORY:
    case DLINFER_ERR_CANCELLED: return TRITONSERVER_ERROR_UNAVAILABLE;
    default: return TRITONSERVER_ERROR_INTERNAL;
    }
}

TRITONSERVER_Error* dlinfer_error(dlinfer_status status, const char* context) {
    return errorf(code_for(status), "%s: %s (%s)", context, dlinfer_last_error(), dlinfer_status_name(status));
}

void* scratch_reserve(scratch* s, size_t bytes) {
    if (bytes > s->cap) {
        void* data = realloc(s->data, bytes);
        if (!data) return NULL;
        s->data = data;
        s->cap = bytes;
    }
    return s->data ? s->data : (void*)s;
}

EXPORT TRITONSERVER_Error* TRITONBACKEND_Initialize(TRITONBACKEND_Backend* backend) {
    (void)backend;
    uint32_t major, minor;
    TRITONSERVER_Error* err = TRITONBACKEND_ApiVersion(&major, &minor);
    if (err) return err;
    if (major != DLINFER_TRITON_API_MAJOR || minor < DLINFER_TRITON_API_MINOR)
        return errorf(TRITONSERVER_ERROR_UNSUPPORTED,
                      "the dlinfer backend needs Triton backend API %d.%d or a later 1.x; this server has %u.%u",
                      DLINFER_TRITON_API_MAJOR, DLINFER_TRITON_API_MINOR, major, minor);
    uint32_t api = dlinfer_api_version();
    if (api >> 16 != DLINFER_API_VERSION >> 16 || api < DLINFER_API_VERSION)
        return errorf(TRITONSERVER_ERROR_UNSUPPORTED, "libdlinfer API %u.%u is older than the backend was built for (%u.%u)",
                      api >> 16, api & 0xFFFF, DLINFER_API_VERSION >> 16, DLINFER_API_VERSION & 0xFFFF);
    LOG(TRITONSERVER_LOG_INFO, "dlinfer backend: libdlinfer %s, backend API %u.%u", dlinfer_version_string(), major,
        minor);
    return NULL;
}

static TRITONSERVER_Error* read_config(TRITONBACKEND_Model* model, json_value** out) {
    TRITONSERVER_Message* message;
    TRITONSERVER_Error* err = TRITONBACKEND_ModelConfig(model, 1, &message);
    if (err) return err;
    const char* text;
    size_t length;
    err = TRITONSERVER_MessageSerializeToJson(message, &text, &length);
    if (!err) {
        char why[256];
        *out = json_parse(text, length, why, sizeof why);
        if (!*out) err = errorf(TRITONSERVER_ERROR_INTERNAL, "model configuration: %s", why);
    }
    TRITONSERVER_MessageDelete(message);
    return err;
}

/* Writes the inputs and outputs the configuration lacked back to Triton, which then serves the completed config. */
static TRITONSERVER_Error* autocomplete(TRITONBACKEND_Model* model, json_value** config, dlinfer_model* net) {
    bool allowed = false;
    TRITONSERVER_Error* err = TRITONBACKEND_ModelAutoCompleteConfig(model, &allowed);
    if (err || !allowed) return err;
    char why[512];
    bool changed;
    if (!dl_config_autocomplete(*config, net, &changed, why, sizeof why))
        return errorf(TRITONSERVER_ERROR_INVALID_ARG, "completing the configuration from the model: %s", why);
    if (!changed) return NULL;
    size_t length;
    char* text = json_write(*config, &length);
    if (!text) return errorf(TRITONSERVER_ERROR_INTERNAL, "out of memory");
    TRITONSERVER_Message* message;
    err = TRITONSERVER_MessageNewFromSerializedJson(&message, text, length);
    free(text);
    if (err) return err;
    err = TRITONBACKEND_ModelSetConfig(model, 1, message);
    TRITONSERVER_MessageDelete(message);
    if (err) return err;
    json_free(*config);
    *config = NULL;
    return read_config(model, config);
}

static void free_model_state(model_state* state) {
    if (!state) return;
    dl_config_free(&state->config);
    dlinfer_options_destroy(state->options);
    dlinfer_model_release(state->model);
    free(state->name);
    free(state);
}

static TRITONSERVER_Error* init_model(TRITONBACKEND_Model* model, model_state* state) {
    const char* name;
    uint64_t version;
    TRITONBACKEND_ArtifactType artifact;
    const char* location;
    TRITONSERVER_Error* err;
    if ((err = TRITONBACKEND_ModelName(model, &name)) || (err = TRITONBACKEND_ModelVersion(model, &version)) ||
        (err = TRITONBACKEND_ModelRepository(model, &artifact, &location)))
        return err;
    if (!(state->name = strdup(name))) return errorf(TRITONSERVER_ERROR_INTERNAL, "out of memory");
    if (artifact != TRITONBACKEND_ARTIFACT_FILESYSTEM)
        return errorf(TRITONSERVER_ERROR_UNSUPPORTED, "model '%s': the dlinfer backend reads models from a local "
                      "file system repository only", name);
    json_value* config = NULL;
    if ((err = read_config(model, &config))) return err;
    char why[512];
    char* path = NULL;
    if (!dl_config_model_path(config, location, version, &path, why, sizeof why)) {
        json_free(config);
        return errorf(TRITONSERVER_ERROR_INTERNAL, "model '%s': %s", name, why);
    }
    dlinfer_status status = dlinfer_model_load_file(path, &state->model);
    if (status != DLINFER_OK) {
        err = errorf(code_for(status), "model '%s': loading %s: %s", name, path, dlinfer_last_error());
    } else if (!(err = autocomplete(model, &config, state->model))) {
        if (dlinfer_options_create(&state->options) != DLINFER_OK)
            err = errorf(TRITONSERVER_ERROR_INTERNAL, "out of memory");
        else if (!dl_config_options(config, state->options, why, sizeof why) ||
                 !dl_config_read(config, state->model, &state->config, why, sizeof why))
            err = errorf(TRITONSERVER_ERROR_INVALID_ARG, "model '%s' (%s): %s", name, path, why);
    }
    if (!err)
        LOG(TRITONSERVER_LOG_INFO, "dlinfer: model '%s' version %" PRIu64 " loaded from %s (max_batch_size %" PRId64
            ", %d inputs, %d outputs)", name, version, path, state->config.max_batch_size, state->config.input_count,
            state->config.output_count);
    free(path);
    json_free(config);
    return err;
}

EXPORT TRITONSERVER_Error* TRITONBACKEND_ModelInitialize(TRITONBACKEND_Model* model) {
    model_state* state = calloc(1, sizeof *state);
    if (!state) return errorf(TRITONSERVER_ERROR_INTERNAL, "out of memory");
    TRITONSERVER_Error* err = init_model(model, state);
    if (!err) err = TRITONBACKEND_ModelSetState(model, state);
    if (err) free_model_state(state);
    return err;
}

EXPORT TRITONSERVER_Error* TRITONBACKEND_ModelFinalize(TRITONBACKEND_Model* model) {
    void* state;
    TRITONSERVER_Error* err = TRITONBACKEND_ModelState(model, &state);
    if (err) return err;
    free_model_state(state);
    return NULL;
}

static void free_instance_state(instance_state* state) {
    if (!state) return;
    dlinfer_session_destroy(state->session);
    for (int32_t i = 0; state->inputs && i < state->model->config.input_count; i++) free(state->inputs[i].data);
    free(state->inputs);
    free(state->output.data);
    free(state->name);
    free(state);
}

EXPORT TRITONSERVER_Error* TRITONBACKEND_ModelInstanceInitialize(TRITONBACKEND_ModelInstance* instance) {
    TRITONBACKEND_Model* model;
    void* model_ptr;
    const char* name;
    TRITONSERVER_Error* err;
    if ((err = TRITONBACKEND_ModelInstanceModel(instance, &model)) || (err = TRITONBACKEND_ModelState(model, &model_ptr)) ||
        (err = TRITONBACKEND_ModelInstanceName(instance, &name)))
        return err;
    instance_state* state = calloc(1, sizeof *state);
    if (!state) return errorf(TRITONSERVER_ERROR_INTERNAL, "out of memory");
    state->model = model_ptr;
    state->name = strdup(name);
    state->inputs = calloc((size_t)state->model->config.input_count, sizeof *state->inputs);
    if (!state->name || !state->inputs) {
        free_instance_state(state);
        return errorf(TRITONSERVER_ERROR_INTERNAL, "out of memory");
    }
    dlinfer_status status = dlinfer_session_create(state->model->model, state->model->options, &state->session);
    if (status != DLINFER_OK) {
        err = errorf(code_for(status), "instance '%s': creating the dlinfer session: %s", name, dlinfer_last_error());
        free_instance_state(state);
        return err;
    }
    const char* device = "?";
    int32_t kind, index, cpu_nodes = 0;
    dlinfer_session_device_name(state->session, &device);
    dlinfer_session_device(state->session, &kind, &index, &cpu_nodes);
    LOG(TRITONSERVER_LOG_INFO, "dlinfer: instance '%s' runs on %s (%d nodes on the CPU)", name, device, cpu_nodes);
    if ((err = TRITONBACKEND_ModelInstanceSetState(instance, state))) free_instance_state(state);
    return err;
}

EXPORT TRITONSERVER_Error* TRITONBACKEND_ModelInstanceFinalize(TRITONBACKEND_ModelInstance* instance) {
    void* state;
    TRITONSERVER_Error* err = TRITONBACKEND_ModelInstanceState(instance, &state);
    if (err) return err;
    free_instance_state(state);
    return NULL;
}
