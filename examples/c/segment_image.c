/*
 * Segments RGB images with the SegNet-style model examples/models/segnet.onnx through the dlinfer C API: every pixel
 * gets one of the classes background, disc, rectangle, triangle. Prints each image's pixel count per class and,
 * with --out, writes a colour-coded mask (binary PPM), optionally blended with the image. Given a labels file (the
 * default without images: the bundled held-out images), also compares with their label maps and prints each class's
 * IoU (intersection over union, summed over all the images) and the mean IoU over the classes.
 *
 *   segment_image [--device DEVICE] [--model MODEL] [--out PATH] [--blend F] [--labels FILE | IMAGE.ppm ...]
 *
 * Images are binary PPM (P6, maxval <= 255) of any size; the model reads sizes that are multiples of 8, so each image
 * is padded by repeating its last row and column, and the result is cut back. --out: with one IMAGE, the mask file;
 * with several or with --labels, an existing folder that receives NAME_mask.ppm per image (NAME: the image's file
 * name without its extension). --blend F (0 to 1, default 0) mixes that fraction of the image into the class
 * colours. A labels file has one "IMAGE LABELMAP" line per image, both relative to the labels file's folder; a label
 * map is a binary PGM holding the class number of each pixel. Without --device the library uses $DLINFER_DEVICE,
 * else picks automatically.
 * Model contract: input "image" float32 [N,3,H,W] (RGB / maxval, H and W multiples of 8); outputs "logits" float32
 * [N,4,H,W] and "classes" int64 [N,H,W], the argmax of the logits over the classes.
 */
#include <dlinfer.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLASSES 4
#define MULTIPLE 8 /* the model pools three times by 2 */
static const char* const CLASS_NAMES[CLASSES] = {"background", "disc", "rectangle", "triangle"};
static const unsigned char PALETTE[CLASSES][3] = {{0, 0, 0}, {230, 25, 75}, {60, 180, 75}, {0, 130, 200}};

/* Prints the failed call's status and message and exits. */
static void check(dlinfer_status status, const char* what) {
    if (status != DLINFER_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, dlinfer_status_name(status), dlinfer_last_error());
        exit(1);
    }
}

/* malloc that exits with a message when memory runs out (a huge image, say). */
static void* xmalloc(size_t n) {
    void* p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* Skips whitespace and '#' comments in a PNM header, then reads one decimal number; -1 if there is none. */
static long pnm_number(FILE* f) {
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

typedef struct {
    long width, height, maxval;
    unsigned char* pixels; /* height x width x channels bytes */
} picture;

/* Reads a binary 8-bit PNM: P6 (RGB, channels 3) or P5 (grey, channels 1); returns 0, or 1 with a message. */
static int read_pnm(const char* path, int channels, picture* p) {
    const char* kind = channels == 3 ? "PPM (P6)" : "PGM (P5)";
    p->pixels = NULL;
    FILE* f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return 1;
    }
    if (fgetc(f) != 'P' || fgetc(f) != (channels == 3 ? '6' : '5') || (p->width = pnm_number(f)) <= 0 ||
        (p->height = pnm_number(f)) <= 0 || (p->maxval = pnm_number(f)) <= 0 || p->maxval > 255) {
        fprintf(stderr, "%s: not an 8-bit binary %s\n", path, kind);
        fclose(f);
        return 1;
    }
    size_t n = (size_t)p->width * (size_t)p->height * (size_t)channels;
    p->pixels = xmalloc(n);
    if (fread(p->pixels, 1, n, f) != n) {
        fprintf(stderr, "%s: truncated\n", path);
        free(p->pixels);
        p->pixels = NULL;
    }
    fclose(f);
    return p->pixels ? 0 : 1;
}

/* Writes an RGB picture as a binary PPM; returns 0, or 1 with a message. */
static int write_ppm(const char* path, long width, long height, const unsigned char* rgb) {
    FILE* f = fopen(path, "wb");
    size_t n = (size_t)width * (size_t)height * 3;
    int ok = f && fprintf(f, "P6\n%ld %ld\n255\n", width, height) > 0 && fwrite(rgb, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "%s: cannot write\n", path);
    return ok ? 0 : 1;
}

typedef struct {
    dlinfer_session* session;
    int32_t input, output;
} segmenter;

/* The class of each pixel of `image` (height x width bytes, malloc'ed); NULL when the image cannot be read. */
static unsigned char* segment(segmenter* s, const picture* image) {
    long w = image->width, h = image->height;
    long pw = (w + MULTIPLE - 1) / MULTIPLE * MULTIPLE, ph = (h + MULTIPLE - 1) / MULTIPLE * MULTIPLE;
    size_t plane = (size_t)pw * (size_t)ph;
    float* input = xmalloc(3 * plane * sizeof(float));
    /* Planar RGB scaled to [0,1]; rows and columns past the image repeat its last ones. */
    for (long y = 0; y < ph; y++) {
        const unsigned char* row = image->pixels + (size_t)(y < h ? y : h - 1) * (size_t)w * 3;
        for (long x = 0; x < pw; x++) {
            for (int c = 0; c < 3; c++) {
                input[(size_t)c * plane + (size_t)y * (size_t)pw + (size_t)x] =
                    (float)row[(x < w ? x : w - 1) * 3 + c] / (float)image->maxval;
            }
        }
    }
    int64_t dims[4] = {1, 3, ph, pw};
    check(dlinfer_session_set_input(s->session, s->input, DLINFER_DTYPE_FLOAT32, dims, 4, input,
                                    3 * plane * sizeof(float)), "setting the image");
    free(input);
    check(dlinfer_session_run(s->session), "running");
    int32_t dtype, rank;
    int64_t out[3];
    check(dlinfer_session_output_type(s->session, s->output, &dtype, &rank, out, 3), "querying the output");
    if (dtype != DLINFER_DTYPE_INT64 || rank != 3 || out[0] != 1 || out[1] != ph || out[2] != pw) {
        fprintf(stderr, "the output 'classes' is not int64 [1, %ld, %ld]\n", ph, pw);
        exit(1);
    }
    int64_t* classes = xmalloc(plane * sizeof(int64_t));
    check(dlinfer_session_copy_output(s->session, s->output, classes, plane * sizeof(int64_t)), "reading the output");
    unsigned char* labels = xmalloc((size_t)w * (size_t)h);
    for (long y = 0; y < h; y++) {
        for (long x = 0; x < w; x++) {
            int64_t k = classes[(size_t)y * (size_t)pw + (size_t)x];
            if (k < 0 || k >= CLASSES) {
                fprintf(stderr, "the model gave class %lld, not one of the %d known\n", (long long)k, CLASSES);
                exit(1);
            }
            labels[(size_t)y * (size_t)w + (size_t)x] = (unsigned char)k;
        }
    }
    free(classes);
    return labels;
}

/* Writes the colour-coded mask of `labels` to `path`, `blend` of the image mixed in; returns 0 or 1. */
static int write_mask(const char* path, const picture* image, const unsigned char* labels, double blend) {
    size_t n = (size_t)image->width * (size_t)image->height;
    unsigned char* rgb = xmalloc(3 * n);
    for (size_t i = 0; i < 3 * n; i++) {
        double v = (double)image->pixels[i] * 255.0 / (double)image->maxval;
        rgb[i] = (unsigned char)((1.0 - blend) * (double)PALETTE[labels[i / 3]][i % 3] + blend * v + 0.5);
    }
    int rc = write_ppm(path, image->width, image->height, rgb);
    free(rgb);
    return rc;
}

/* Prints "NAME: background N, disc N, rectangle N, triangle N". */
static void print_counts(const char* name, const unsigned char* labels, size_t n) {
    long counts[CLASSES] = {0};
    for (size_t i = 0; i < n; i++) counts[labels[i]]++;
    printf("%s:", name);
    for (int k = 0; k < CLASSES; k++) printf("%s %s %ld", k ? "," : "", CLASS_NAMES[k], counts[k]);
    printf("\n");
}

/* The mask path for `image_path` in folder `out`: out/NAME_mask.ppm. */
static void mask_path(char* path, size_t size, const char* out, const char* image_path) {
    const char* name = strrchr(image_path, '/');
    name = name ? name + 1 : image_path;
    const char* dot = strrchr(name, '.');
    int stem = dot && dot != name ? (int)(dot - name) : (int)strlen(name);
    snprintf(path, size, "%s/%.*s_mask.ppm", out, stem, name);
}

int main(int argc, char** argv) {
    const char* device = NULL;
    const char* model_path = "examples/models/segnet.onnx";
    const char* labels_path = NULL;
    const char* out = NULL;
    double blend = 0.0;
    int first_image = argc;
    for (int i = 1; i < argc; i++) {
        int has_value = i + 1 < argc;
        char* end = NULL;
        if (has_value && strcmp(argv[i], "--blend") == 0) blend = strtod(argv[i + 1], &end);
        if (has_value && strcmp(argv[i], "--device") == 0) device = argv[++i];
        else if (has_value && strcmp(argv[i], "--model") == 0) model_path = argv[++i];
        else if (has_value && strcmp(argv[i], "--labels") == 0) labels_path = argv[++i];
        else if (has_value && strcmp(argv[i], "--out") == 0) out = argv[++i];
        else if (end && end != argv[i + 1] && *end == '\0' && blend >= 0.0 && blend <= 1.0) i++;
        else if (argv[i][0] != '-' && !labels_path) {
            first_image = i;
            break;
        } else {
            fprintf(stderr, "usage: %s [--device DEVICE] [--model MODEL] [--out PATH] [--blend F (0 to 1)] "
                            "[--labels FILE | IMAGE.ppm ...]\n", argv[0]);
            return 2;
        }
    }
    if (first_image == argc && !labels_path) labels_path = "examples/data/segnet/labels.txt";
    /* With exactly one image, --out names the mask file; otherwise a folder. */
    int out_is_file = !labels_path && first_image == argc - 1;

    segmenter s;
    dlinfer_model* model = NULL;
    check(dlinfer_model_load_file(model_path, &model), "loading the model");
    dlinfer_options* options = NULL;
    check(dlinfer_options_create(&options), "creating options");
    if (device) check(dlinfer_options_set(options, "device", device), "setting the device");
    check(dlinfer_session_create(model, options, &s.session), "creating the session");
    dlinfer_options_destroy(options);
    int32_t logits;
    check(dlinfer_model_io_index(model, 0, "image", &s.input), "finding input 'image'");
    check(dlinfer_model_io_index(model, 1, "classes", &s.output), "finding output 'classes'");
    check(dlinfer_model_io_index(model, 1, "logits", &logits), "finding output 'logits'");
    int32_t dtype, rank;
    int64_t dims[4];
    check(dlinfer_model_io_type(model, 1, logits, &dtype, &rank, dims, 4), "querying output 'logits'");
    dlinfer_model_release(model); /* the session keeps its own reference */
    if (rank != 4 || dims[1] != CLASSES) {
        fprintf(stderr, "%s: the logits are not [N, %d, H, W]\n", model_path, CLASSES);
        return 1;
    }
    const char* device_name = NULL;
    check(dlinfer_session_device_name(s.session, &device_name), "querying the device");
    printf("device: %s\n", device_name);

    int failures = 0;
    char path[5200];
    if (!labels_path) {
        for (int i = first_image; i < argc; i++) {
            picture image;
            if (read_pnm(argv[i], 3, &image) != 0) {
                failures++;
                continue;
            }
            unsigned char* labels = segment(&s, &image);
            print_counts(argv[i], labels, (size_t)image.width * (size_t)image.height);
            if (out) {
                if (!out_is_file) mask_path(path, sizeof path, out, argv[i]);
                failures += write_mask(out_is_file ? out : path, &image, labels, blend);
            }
            free(labels);
            free(image.pixels);
        }
    } else {
        FILE* list = fopen(labels_path, "r");
        if (!list) {
            fprintf(stderr, "%s: cannot open\n", labels_path);
            return 1;
        }
        /* File names are relative to the labels file's folder. */
        char folder[4096] = ".";
        const char* slash = strrchr(labels_path, '/');
        if (slash) snprintf(folder, sizeof folder, "%.*s", (int)(slash - labels_path), labels_path);
        char name[1024], label_name[1024];
        long confusion[CLASSES][CLASSES] = {{0}}; /* [label][prediction] */
        long images = 0;
        while (fscanf(list, "%1023s %1023s", name, label_name) == 2) {
            picture image, truth;
            snprintf(path, sizeof path, "%s/%s", folder, name);
            if (read_pnm(path, 3, &image) != 0) {
                failures++;
                continue;
            }
            snprintf(path, sizeof path, "%s/%s", folder, label_name);
            size_t n = (size_t)image.width * (size_t)image.height;
            int bad = read_pnm(path, 1, &truth);
            if (!bad && (truth.width != image.width || truth.height != image.height)) {
                fprintf(stderr, "%s: not the size of %s\n", path, name);
                bad = 1;
            }
            for (size_t i = 0; !bad && i < n; i++) {
                if (truth.pixels[i] >= CLASSES) {
                    fprintf(stderr, "%s: a class outside 0..%d\n", path, CLASSES - 1);
                    bad = 1;
                }
            }
            if (bad) {
                free(truth.pixels);
                free(image.pixels);
                failures++;
                continue;
            }
            unsigned char* labels = segment(&s, &image);
            print_counts(name, labels, n);
            for (size_t i = 0; i < n; i++) confusion[truth.pixels[i]][labels[i]]++;
            images++;
            if (out) {
                mask_path(path, sizeof path, out, name);
                failures += write_mask(path, &image, labels, blend);
            }
            free(labels);
            free(truth.pixels);
            free(image.pixels);
        }
        fclose(list);
        if (images > 0) {
            /* IoU of class k: pixels labelled and predicted k / pixels labelled or predicted k. */
            double sum = 0.0;
            int present = 0;
            printf("IoU:");
            for (int k = 0; k < CLASSES; k++) {
                long both = confusion[k][k], either = -both;
                for (int j = 0; j < CLASSES; j++) either += confusion[k][j] + confusion[j][k];
                printf("%s %s ", k ? "," : "", CLASS_NAMES[k]);
                if (either == 0) {
                    printf("n/a");
                    continue;
                }
                double iou = (double)both / (double)either;
                printf("%.4f", iou);
                sum += iou;
                present++;
            }
            printf("\nmean IoU: %.4f (%ld images)\n", sum / present, images);
        }
    }
    dlinfer_session_destroy(s.session);
    return failures == 0 ? 0 : 1;
}
