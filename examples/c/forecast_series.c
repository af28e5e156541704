/*
 * Forecasts the next values of a time series with the Keras-built GRU forecaster (GRU(32) + Dense(1), trained on
 * an AR(2) series; examples/models/keras_gru_forecaster.onnx) through the dlinfer C API. The model predicts one
 * step; each prediction is appended to the series and fed back for the next.
 *
 *   forecast_series [--device DEVICE] [--model MODEL] [--steps K] [SERIES_FILE]
 *
 * SERIES_FILE holds one value per line (default examples/data/forecast_series.txt, 48 held-out values of the
 * training process); K defaults to 12. Paths default to examples/... (run from the repository root). Without
 * --device the library uses $DLINFER_DEVICE, else picks automatically.
 * Model contract: input "series" float32 [N,T,1] (N and T dynamic); output "next" float32 [N,1].
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

/* Reads one number per line (blank lines skipped) into a buffer with room for `extra` more values. */
static float* read_series(const char* path, size_t extra, size_t* count) {
    FILE* f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    size_t cap = 256;
    float* values = malloc((cap + extra) * sizeof *values);
    char line[256];
    int line_no = 0;
    *count = 0;
    while (values && fgets(line, sizeof line, f)) {
        line_no++;
        char* end;
        float v = strtof(line, &end);
        if (end == line) {
            if (strspn(line, " \t\r\n") == strlen(line)) continue;
            fprintf(stderr, "%s:%d: not a number: %s", path, line_no, line);
            exit(1);
        }
        if (*count == cap) {
            cap *= 2;
            values = realloc(values, (cap + extra) * sizeof *values);
            if (!values) break;
        }
        values[(*count)++] = v;
    }
    if (!values) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    fclose(f);
    return values;
}

int main(int argc, char** argv) {
    const char* device = NULL;
    const char* model_path = "examples/models/keras_gru_forecaster.onnx";
    const char* series_path = "examples/data/forecast_series.txt";
    long steps = 12;
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            device = argv[++i];
        } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            model_path = argv[++i];
        } else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) {
            char* end;
            steps = strtol(argv[++i], &end, 10);
            if (*end || steps < 1 || steps > 100000) {
                fprintf(stderr, "--steps takes a count from 1 to 100000\n");
                return 2;
            }
        } else if (argv[i][0] == '-' || positional++ > 0) {
            fprintf(stderr, "usage: %s [--device DEVICE] [--model MODEL] [--steps K] [SERIES_FILE]\n", argv[0]);
            return 2;
        } else {
            series_path = argv[i];
        }
    }

    size_t n;
    float* series = read_series(series_path, (size_t)steps, &n);
    if (n == 0) {
        fprintf(stderr, "%s holds no values\n", series_path);
        return 1;
    }

    dlinfer_model* model = NULL;
    check(dlinfer_model_load_file(model_path, &model), "loading the model");
    dlinfer_options* options = NULL;
    check(dlinfer_options_create(&options), "creating options");
    if (device) check(dlinfer_options_set(options, "device", device), "setting the device");
    dlinfer_session* session = NULL;
    check(dlinfer_session_create(model, options, &session), "creating the session");
    dlinfer_options_destroy(options);
    int32_t input, output;
    check(dlinfer_model_io_index(model, 0, "series", &input), "finding input 'series'");
    check(dlinfer_model_io_index(model, 1, "next", &output), "finding output 'next'");
    dlinfer_model_release(model); /* the session keeps its own reference */
    const char* device_name = NULL;
    check(dlinfer_session_device_name(session, &device_name), "querying the device");
    printf("device: %s\n", device_name);
    printf("%zu values, last %.6f; forecasting %ld steps\n", n, series[n - 1], steps);

    for (long k = 0; k < steps; k++) {
        /* The whole history each time: T grows by one per step, and each new T gets its own cached plan. */
        int64_t dims[3] = {1, (int64_t)n, 1};
        check(dlinfer_session_set_input(session, input, DLINFER_DTYPE_FLOAT32, dims, 3, series, n * sizeof *series),
              "setting the series");
        check(dlinfer_session_run(session), "running");
        check(dlinfer_session_copy_output(session, output, &series[n], sizeof *series), "reading the forecast");
        printf("step %ld: %.6f\n", k + 1, series[n]);
        n++;
    }

    dlinfer_session_destroy(session);
    free(series);
    return 0;
}
