/* A Triton model configuration, read, checked against the ONNX model dlinfer loaded, and completed from it. */
#ifndef DLINFER_TRITON_MODEL_CONFIG_H
#define DLINFER_TRITON_MODEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlinfer.h"
#include "json.h"
#include "triton_api.h"

/* One configured input or output. */
typedef struct {
    char* name;
    int32_t index; /* the model's input or output index */
    int32_t dtype; /* DLINFER_DTYPE_* */
    TRITONSERVER_DataType triton_type;
    size_t element_size;
    int64_t* dims; /* as clients see it, without the batch dimension; -1 where any size goes */
    int32_t rank;
    /* The model's own shape when the configuration reshapes (always fully known then), else NULL. */
    int64_t* model_dims;
    int32_t model_rank;
} dl_tensor_spec;

typedef struct {
    int64_t max_batch_size; /* 0: requests carry full shapes and are never batched together */
    dl_tensor_spec* inputs;
    int32_t input_count;
    dl_tensor_spec* outputs;
    int32_t output_count;
} dl_model_config;

/* `version` folder's model file: the configuration's default_model_filename, else "model.onnx". */
bool dl_config_model_path(const json_value* config, const char* repository, uint64_t version, char** out_path,
                          char* err, size_t err_cap);

/* The session options from the configuration's parameters; unknown keys are errors. */
bool dl_config_options(const json_value* config, dlinfer_options* options, char* err, size_t err_cap);

/* Fills in the inputs and outputs a configuration leaves out, from the model. *changed says whether it did. */
bool dl_config_autocomplete(json_value* config, const dlinfer_model* model, bool* changed, char* err, size_t err_cap);

/* Reads max_batch_size, inputs and outputs, and checks them against the model. */
bool dl_config_read(const json_value* config, const dlinfer_model* model, dl_model_config* out, char* err,
                    size_t err_cap);
void dl_config_free(dl_model_config* config);

/* The configuration's name for a type ("TYPE_FP32"), or "an unsupported type". */
const char* dl_triton_type_name(TRITONSERVER_DataType type);

/* "[2, -1, 3]" into out. */
void dl_format_dims(const int64_t* dims, int32_t rank, char* out, size_t cap);

/* Element count of a shape, or -1 when a dimension is negative or the count overflows. */
int64_t dl_element_count(const int64_t* dims, int32_t rank);

#endif
