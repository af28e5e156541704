/* What the backend's entry points share: per-model and per-instance state, logging and errors. */
#ifndef DLINFER_TRITON_BACKEND_H
#define DLINFER_TRITON_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "dlinfer.h"
#include "model_config.h"
#include "triton_api.h"

#define EXPORT __attribute__((visibility("default")))

typedef struct {
    char* name;
    dlinfer_model* model;
    dlinfer_options* options;
    dl_model_config config;
} model_state;

/* A growable host buffer for gathering a batch's inputs or holding a batched output before it is split. */
typedef struct {
    void* data;
    size_t cap;
} scratch;

typedef struct {
    model_state* model;
    char* name;
    dlinfer_session* session;
    scratch* inputs; /* one per configured input */
    scratch output;
} instance_state;

void dl_log(TRITONSERVER_LogLevel level, int line, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
#define LOG(level, ...) dl_log(level, __LINE__, __VA_ARGS__)

TRITONSERVER_Error* errorf(TRITONSERVER_Error_Code code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
/* How a client should read a dlinfer failure: its own mistake, a limit of the model, or the server's. */
TRITONSERVER_Error_Code code_for(dlinfer_status status);
/* A Triton error carrying dlinfer's last message for `status`, prefixed with what was being done. */
TRITONSERVER_Error* dlinfer_error(dlinfer_status status, const char* context);

/* `bytes` of room (a valid pointer even for 0 bytes), or NULL when out of memory. */
void* scratch_reserve(scratch* s, size_t bytes);

#endif
