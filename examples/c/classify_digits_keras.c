/*
 * Classifies the bundled 8x8 handwritten digits with the two Keras-built classifiers, an MLP and a CNN
 * (examples/models/keras_digits_{mlp,cnn}.onnx), through the dlinfer C API, and prints the accuracy of each over
 * the held-out split.
 *
 *   classify_digits_keras [--device DEVICE] [--model mlp|cnn|both] [--models DIR] [--data DIR]
 *
 * --model defaults to both, DIR to examples/models and examples/data (run from the repository root). Without
 * --device the library uses $DLINFER_DEVICE, else picks automatically.
 * Model contract: input "image" float32 [N,1,8,8] in [0,1]; output "probabilities" float32 [N,10] (softmax).
 */
#include <dlinfer.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints the failed call's status and message and exits. */
static void check(dlinfer_status status, const char* what) {
    if (status != DLINFER_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, dlinfer_status_name(status), dlinfer_last_error());
        exit(1);
    }
}

/* Reads a little-endian, C-order .npy file whose dtype descriptor is `descr` ("<f4", "<i8");
 * returns the data (caller frees) and fills shape/rank (at most 8 dims). Exits with a message on anything else. */
static void* read_npy(const char* path, const char* descr, int64_t* shape, int* rank, size_t* nbytes) {
    FILE* f = fopen(path, "rb");
    unsigned char pre[10];
    if (!f || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] != 1) {
        fprintf(stderr, "%s: not a version 1 .npy file\n", path);
        exit(1);
    }
    size_t header_len = pre[8] | (size_t)pre[9] << 8;
    char* header = calloc(header_len + 1, 1);
    if (!header || fread(header, 1, header_len, f) != header_len) {
        fprintf(stderr, "%s: truncated header\n", path);
        exit(1);
    }
    char want[32];
    snprintf(want, sizeof want, "'descr': '%s'", descr);
    const char* p = strstr(header, "'shape': (");
    if (!strstr(header, want) || !strstr(header, "'fortran_order': False") || !p) {
        fprintf(stderr, "%s: expected a C-order %s array, header is %s\n", path, descr, header);
        exit(1);
    }
    p += strlen("'shape': (");
    size_t count = 1;
    *rank = 0;
    while (*p && *p != ')' && *rank < 8) {
        char* end;
        long long d = strtoll(p, &end, 10);
        if (end == p) { p++; continue; }
        shape[(*rank)++] = d;
        count *= (size_t)d;
        p = end;
    }
    free(header);
    *nbytes = count * (size_t)atoi(descr + 2);
    void* data = malloc(*nbytes ? *nbytes : 1);
    if (!data || fread(data, 1, *nbytes, f) != *nbytes) {
        fprintf(stderr, "%s: truncated data\n", path);
        exit(1);
    }
    fclose(f);
    return data;
}

/* Runs one model over all images and prints its accuracy. */
static void classify(const char* model_path, const char* device, const float* images, const int64_t* image_shape,
                     size_t image_bytes, const int64_t* labels) {
    dlinfer_model* model = NULL;
    check(dlinfer_model_load_file(model_path, &model), "loading the model");
    dlinfer_options* options = NULL;
    check(dlinfer_options_create(&options), "creating options");
    if (device) check(dlinfer_options_set(options, "device", device), "setting the device");
    dlinfer_session* session = NULL;
    check(dlinfer_session_create(model, options, &session), "creating the session");
    dlinfer_options_destroy(options);
    int32_t input, output;
    check(dlinfer_model_io_index(model, 0, "image", &input), "finding input 'image'");
    check(dlinfer_model_io_index(model, 1, "probabilities", &output), "finding output 'probabilities'");
    dlinfer_model_release(model); /* the session keeps its own reference */

    const char* device_name = NULL;
    check(dlinfer_session_device_name(session, &device_name), "querying the device");
    printf("%s on %s\n", model_path, device_name);

    int64_t n = image_shape[0];
    check(dlinfer_session_set_input(session, input, DLINFER_DTYPE_FLOAT32, image_shape, 4, images, image_bytes),
          "setting the images");
    check(dlinfer_session_run(session), "running");
    int32_t dtype, rank;
    int64_t dims[2];
    check(dlinfer_session_output_type(session, output, &dtype, &rank, dims, 2), "querying the output");
    if (dtype != DLINFER_DTYPE_FLOAT32 || rank != 2 || dims[0] != n || dims[1] != 10) {
        fprintf(stderr, "unexpected output type\n");
        exit(1);
    }
    float* probs = malloc((size_t)n * 10 * sizeof(float));
    if (!probs) { fprintf(stderr, "out of memory\n"); exit(1); }
    check(dlinfer_session_copy_output(session, output, probs, (size_t)n * 10 * sizeof(float)), "reading the output");

    int64_t correct = 0;
    for (int64_t i = 0; i < n; i++) {
        int best = 0;
        for (int k = 1; k < 10; k++) {
            if (probs[i * 10 + k] > probs[i * 10 + best]) best = k;
        }
        correct += best == labels[i];
        if (i < 5) {
            printf("image %3lld: predicted %d (p=%.3f), label %lld\n", (long long)i, best, probs[i * 10 + best],
                   (long long)labels[i]);
        }
    }
    printf("accuracy: %.2f %% (%lld/%lld)\n", 100.0 * (double)correct / (double)n, (long long)correct, (long long)n);
    free(probs);
    dlinfer_session_destroy(session);
}

int main(int argc, char** argv) {
    const char* device = NULL;
    const char* which = "both";
    const char* models_dir = "examples/models";
    const char* data_dir = "examples/data";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            device = argv[++i];
        } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            which = argv[++i];
        } else if (strcmp(argv[i], "--models") == 0 && i + 1 < argc) {
            models_dir = argv[++i];
        } else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data_dir = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--device DEVICE] [--model mlp|cnn|both] [--models DIR] [--data DIR]\n",
                    argv[0]);
            return 2;
        }
    }
    int mlp = strcmp(which, "mlp") == 0 || strcmp(which, "both") == 0;
    int cnn = strcmp(which, "cnn") == 0 || strcmp(which, "both") == 0;
    if (!mlp && !cnn) {
        fprintf(stderr, "--model must be mlp, cnn or both, not '%s'\n", which);
        return 2;
    }

    char path[4096];
    int64_t image_shape[8], label_shape[8];
    int image_rank, label_rank;
    size_t image_bytes, label_bytes;
    snprintf(path, sizeof path, "%s/digits_test_images.npy", data_dir);
    float* images = read_npy(path, "<f4", image_shape, &image_rank, &image_bytes);
    snprintf(path, sizeof path, "%s/digits_test_labels.npy", data_dir);
    int64_t* labels = read_npy(path, "<i8", label_shape, &label_rank, &label_bytes);
    if (image_rank != 4 || label_rank != 1 || label_shape[0] != image_shape[0]) {
        fprintf(stderr, "unexpected data shapes\n");
        return 1;
    }

    if (mlp) {
        snprintf(path, sizeof path, "%s/keras_digits_mlp.onnx", models_dir);
        classify(path, device, images, image_shape, image_bytes, labels);
    }
    if (cnn) {
        snprintf(path, sizeof path, "%s/keras_digits_cnn.onnx", models_dir);
        classify(path, device, images, image_shape, image_bytes, labels);
    }
    free(images);
    free(labels);
    return 0;
}
