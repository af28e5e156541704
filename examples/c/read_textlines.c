/*
 * Reads text-line images with the CRNN examples/models/crnn_ctc.onnx through the dlinfer C API: each image (an 8-bit
 * binary PGM of height 32, any width) is one run, and dlinfer_ctc_greedy_decode turns the per-frame log-probabilities
 * into a string. Given a labels file, prints each decoded string with its label and the exact-string accuracy.
 *
 *   read_textlines [--device DEVICE] [--model MODEL] [--alphabet FILE] [--labels FILE | IMAGE.pgm ...]
 *
 * Defaults: examples/models/crnn_ctc.onnx, examples/data/crnn_alphabet.txt and, without images,
 * --labels examples/data/textlines/labels.txt (run from the repository root). A labels file has one "FILE TEXT" line
 * per image, FILE relative to the labels file's folder. Without --device the library uses $DLINFER_DEVICE, else
 * picks automatically.
 * Model contract: input "image" float32 [N,1,32,W] (grey level / 255, dark text on a light background); output
 * "log_probs" float32 [W/4, N, classes], class 0 the CTC blank and class k the alphabet file's byte k-1.
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

/* Skips whitespace and '#' comments in a PGM header, then reads one decimal number; -1 if there is none. */
static long pgm_number(FILE* f) {
    int ch = fgetc(f);
    while (ch == '#' || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
        if (ch == '#') {
            while (ch != '\n' && ch != EOF) ch = fgetc(f);
        }
        ch = fgetc(f);
    }
    long v = -1;
    for (; ch >= '0' && ch <= '9' && v < 100000; ch = fgetc(f)) v = (v < 0 ? 0 : v * 10) + (ch - '0');
    return v; /* the one whitespace character after the number has been consumed */
}

/* Reads a binary 8-bit PGM (P5, maxval <= 255) as grey levels scaled to [0,1]; NULL with a message otherwise. */
static float* read_pgm(const char* path, long* width, long* height) {
    FILE* f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return NULL;
    }
    long maxval = -1;
    if (fgetc(f) != 'P' || fgetc(f) != '5' || (*width = pgm_number(f)) <= 0 || (*height = pgm_number(f)) <= 0 ||
        (maxval = pgm_number(f)) <= 0 || maxval > 255) {
        fprintf(stderr, "%s: not an 8-bit binary PGM (P5)\n", path);
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)*width * (size_t)*height;
    unsigned char* bytes = malloc(n);
    float* pixels = malloc(n * sizeof(float));
    if (fread(bytes, 1, n, f) != n) {
        fprintf(stderr, "%s: truncated\n", path);
        free(pixels);
        pixels = NULL;
    }
    for (size_t i = 0; pixels && i < n; i++) pixels[i] = (float)bytes[i] / (float)maxval;
    free(bytes);
    fclose(f);
    return pixels;
}

typedef struct {
    dlinfer_session* session;
    int32_t input, output;
    int64_t height; /* -1 when the model takes any */
    char alphabet[256];
    size_t classes; /* the alphabet plus the blank */
} reader;

/* Decodes one image into `text` (NUL-terminated, cut to text_size); returns 0 on success. */
static int read_line(reader* r, const char* path, char* text, size_t text_size) {
    long width, height;
    float* pixels = read_pgm(path, &width, &height);
    if (!pixels) return 1;
    if (r->height > 0 && height != r->height) {
        fprintf(stderr, "%s: the image is %ld pixels high, the model reads %lld\n", path, height, (long long)r->height);
        free(pixels);
        return 1;
    }
    int64_t dims[4] = {1, 1, height, width};
    check(dlinfer_session_set_input(r->session, r->input, DLINFER_DTYPE_FLOAT32, dims, 4, pixels,
                                    (size_t)(height * width) * sizeof(float)), "setting the image");
    free(pixels);
    check(dlinfer_session_run(r->session), "running");
    int32_t dtype, rank;
    int64_t out[3];
    check(dlinfer_session_output_type(r->session, r->output, &dtype, &rank, out, 3), "querying the output");
    if (rank != 3 || out[1] != 1 || out[2] != (int64_t)r->classes) {
        fprintf(stderr, "the output is not [frames, 1, %zu]\n", r->classes);
        exit(1);
    }
    int64_t frames = out[0];
    float* log_probs = malloc((size_t)(frames * out[2]) * sizeof(float) + 1);
    int64_t* labels = malloc((size_t)frames * sizeof(int64_t) + 1);
    int64_t length;
    check(dlinfer_session_copy_output(r->session, r->output, log_probs, (size_t)(frames * out[2]) * sizeof(float)),
          "reading the output");
    check(dlinfer_ctc_greedy_decode(log_probs, frames, 1, out[2], 0, labels, &length), "decoding");
    size_t n = 0;
    for (int64_t i = 0; i < length && n + 1 < text_size; i++) text[n++] = r->alphabet[labels[i] - 1];
    text[n] = '\0';
    free(log_probs);
    free(labels);
    return 0;
}

int main(int argc, char** argv) {
    const char* device = NULL;
    const char* model_path = "examples/models/crnn_ctc.onnx";
    const char* alphabet_path = "examples/data/crnn_alphabet.txt";
    const char* labels_path = NULL;
    int first_image = argc;
    for (int i = 1; i < argc; i++) {
        int has_value = i + 1 < argc;
        if (has_value && strcmp(argv[i], "--device") == 0) device = argv[++i];
        else if (has_value && strcmp(argv[i], "--model") == 0) model_path = argv[++i];
        else if (has_value && strcmp(argv[i], "--alphabet") == 0) alphabet_path = argv[++i];
        else if (has_value && strcmp(argv[i], "--labels") == 0) labels_path = argv[++i];
        else if (argv[i][0] != '-' && !labels_path) {
            first_image = i;
            break;
        } else {
            fprintf(stderr, "usage: %s [--device DEVICE] [--model MODEL] [--alphabet FILE] "
                            "[--labels FILE | IMAGE.pgm ...]\n", argv[0]);
            return 2;
        }
    }
    if (first_image == argc && !labels_path) labels_path = "examples/data/textlines/labels.txt";

    reader r;
    FILE* f = fopen(alphabet_path, "rb");
    size_t letters = f ? fread(r.alphabet, 1, sizeof r.alphabet, f) : 0;
    if (f) fclose(f);
    if (letters == 0) {
        fprintf(stderr, "%s: cannot read the alphabet\n", alphabet_path);
        return 1;
    }
    r.classes = letters + 1;

    dlinfer_model* model = NULL;
    check(dlinfer_model_load_file(model_path, &model), "loading the model");
    dlinfer_options* options = NULL;
    check(dlinfer_options_create(&options), "creating options");
    if (device) check(dlinfer_options_set(options, "device", device), "setting the device");
    check(dlinfer_session_create(model, options, &r.session), "creating the session");
    dlinfer_options_destroy(options);
    check(dlinfer_model_io_index(model, 0, "image", &r.input), "finding input 'image'");
    check(dlinfer_model_io_index(model, 1, "log_probs", &r.output), "finding output 'log_probs'");
    int32_t dtype, rank;
    int64_t dims[4];
    check(dlinfer_model_io_type(model, 0, r.input, &dtype, &rank, dims, 4), "querying the input");
    dlinfer_model_release(model); /* the session keeps its own reference */
    r.height = dims[2];
    const char* device_name = NULL;
    check(dlinfer_session_device_name(r.session, &device_name), "querying the device");
    printf("device: %s\n", device_name);

    char text[1024];
    int failures = 0;
    if (!labels_path) {
        for (int i = first_image; i < argc; i++) {
            if (read_line(&r, argv[i], text, sizeof text) == 0) printf("%s: %s\n", argv[i], text);
            else failures++;
        }
    } else {
        FILE* list = fopen(labels_path, "r");
        if (!list) {
            fprintf(stderr, "%s: cannot open\n", labels_path);
            return 1;
        }
        /* Image names are relative to the labels file's folder. */
        char folder[4096] = ".";
        const char* slash = strrchr(labels_path, '/');
        if (slash) snprintf(folder, sizeof folder, "%.*s", (int)(slash - labels_path), labels_path);
        char name[1024], label[1024], path[5200];
        long total = 0, correct = 0;
        while (fscanf(list, "%1023s %1023s", name, label) == 2) {
            snprintf(path, sizeof path, "%s/%s", folder, name);
            if (read_line(&r, path, text, sizeof text) != 0) {
                failures++;
                continue;
            }
            int ok = strcmp(text, label) == 0;
            total++;
            correct += ok;
            printf("%s: %s (label %s)%s\n", name, text, label, ok ? "" : " WRONG");
        }
        fclose(list);
        if (total > 0) printf("accuracy: %.2f %% (%ld/%ld)\n", 100.0 * (double)correct / (double)total, correct, total);
    }
    dlinfer_session_destroy(r.session);
    return failures == 0 ? 0 : 1;
}
