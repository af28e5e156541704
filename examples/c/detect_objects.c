/*
 * Finds circles, squares and triangles in colour images with the single-shot detector of examples/models through the
 * dlinfer C API, prints one line per detection and writes the image with the boxes drawn. Given a labels file (the
 * default without images: the bundled held-out set), also prints the mAP@0.5 over its images.
 *
 *   detect_objects [--device DEVICE] [--model raw|nms|MODEL.onnx] [--classes FILE] [--threshold 0.5] [--out PATH]
 *                  [--labels FILE | IMAGE.ppm ...]
 *
 * --model raw (the default) runs examples/models/detector_raw.onnx, whose outputs are every cell's box and class
 * probabilities, and keeps the best boxes with the library's per-class NMS (dlinfer_nms with classes); --model nms
 * runs examples/models/detector_nms.onnx, which does the same NMS inside the graph (ONNX NonMaxSuppression) and
 * outputs the final detections. Both keep boxes scoring above 0.05 that overlap a better box of their class by IoU
 * 0.5 at most, so they print the same detections. Lines show the detections scoring above --threshold; the mAP
 * counts them all. Images are binary PPM (P6) of any size (resampled to the model's 96x96, boxes given in the
 * image's pixels). --out: the annotated PPM (boxes in class colours); with several images, an existing folder that
 * receives one per image under its name. A labels file has one "FILE CLASS X1 Y1 X2 Y2" line per object, FILE
 * relative to the labels file's folder. Defaults are relative to the repository root (run from there). Without
 * --device the library uses $DLINFER_DEVICE, else picks automatically.
 * Model contract: input "image" float32 [N,3,96,96] (RGB / 255); raw outputs "boxes" float32 [N,K,4] (x1, y1, x2, y2
 * in input pixels) and "scores" float32 [N,K,C]; nms outputs "det_boxes" [D,4], "det_scores" [D], "det_classes"
 * int64 [D] and "det_batch" int64 [D], by falling score.
 */
#define _POSIX_C_SOURCE 200809L /* stat, to tell a folder from a file */

#include <dlinfer.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define IOU_THRESHOLD 0.5f /* as the NMS inside detector_nms.onnx */
#define SCORE_THRESHOLD 0.05f
#define MAX_CLASSES 64

static const unsigned char COLOURS[6][3] = {{255, 40, 40}, {40, 255, 40}, {60, 120, 255},
                                            {255, 255, 0}, {255, 0, 255}, {0, 255, 255}};

/* Prints the failed call's status and message and exits. */
static void check(dlinfer_status status, const char* what) {
    if (status != DLINFER_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, dlinfer_status_name(status), dlinfer_last_error());
        exit(1);
    }
}

static void* xmalloc(size_t n) {
    void* p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* Skips whitespace and '#' comments in a PPM header, then reads one decimal number; -1 if there is none. */
static long ppm_number(FILE* f) {
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

/* Reads a binary 8-bit PPM (P6, maxval <= 255) as RGB bytes scaled to 0..255; NULL with a message otherwise. */
static unsigned char* read_ppm(const char* path, long* width, long* height) {
    FILE* f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return NULL;
    }
    long maxval = -1;
    if (fgetc(f) != 'P' || fgetc(f) != '6' || (*width = ppm_number(f)) <= 0 || (*height = ppm_number(f)) <= 0 ||
        (maxval = ppm_number(f)) <= 0 || maxval > 255) {
        fprintf(stderr, "%s: not an 8-bit binary PPM (P6)\n", path);
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)*width * (size_t)*height * 3;
    unsigned char* pixels = xmalloc(n);
    if (fread(pixels, 1, n, f) != n) {
        fprintf(stderr, "%s: truncated\n", path);
        free(pixels);
        pixels = NULL;
    }
    for (size_t i = 0; pixels && maxval != 255 && i < n; i++) pixels[i] = (unsigned char)(pixels[i] * 255 / maxval);
    fclose(f);
    return pixels;
}

static int write_ppm(const char* path, const unsigned char* pixels, long width, long height) {
    FILE* f = fopen(path, "wb");
    size_t n = (size_t)width * (size_t)height * 3;
    int ok = f && fprintf(f, "P6\n%ld %ld\n255\n", width, height) > 0 && fwrite(pixels, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "%s: cannot write\n", path);
    return ok ? 0 : 1;
}

typedef struct {
    int64_t cls;
    float score;
    double box[4]; /* x1, y1, x2, y2 in the image's pixels */
} detection;

typedef struct {
    dlinfer_session* session;
    int in_graph_nms;
    int32_t input, boxes, scores, classes; /* outputs: boxes, scores (raw) or det_boxes, det_scores, det_classes */
    int64_t width, height, class_count;
} detector;

/* Copies output `index`, of `count` elements of `size` bytes, into a new buffer. */
static void* copy_output(const detector* d, int32_t index, size_t count, size_t size) {
    void* data = xmalloc(count * size);
    check(dlinfer_session_copy_output(d->session, index, count ? data : NULL, count * size), "reading an output");
    return data;
}

/* Number of elements of output `index` after the last run, its dimensions into dims (rank <= 3). */
static int64_t output_shape(const detector* d, int32_t index, int64_t dims[3], int32_t* rank) {
    int32_t dtype;
    check(dlinfer_session_output_type(d->session, index, &dtype, rank, dims, 3), "querying an output");
    int64_t n = 1;
    for (int32_t i = 0; i < *rank; i++) n *= dims[i];
    return n;
}

/* Detections scoring above SCORE_THRESHOLD, by falling score, into a new array; their number into *count. */
static detection* detect(const detector* d, const unsigned char* pixels, long width, long height, int64_t* count) {
    /* nearest-neighbour resampling to the model's size (none for images of that size), RGB / 255, channel-first */
    size_t plane = (size_t)(d->width * d->height);
    float* image = xmalloc(3 * plane * sizeof(float));
    for (int64_t y = 0; y < d->height; y++) {
        long sy = (long)((2 * y + 1) * height / (2 * d->height));
        for (int64_t x = 0; x < d->width; x++) {
            long sx = (long)((2 * x + 1) * width / (2 * d->width));
            const unsigned char* rgb = pixels + (sy * width + sx) * 3;
            for (int c = 0; c < 3; c++) image[(size_t)c * plane + (size_t)(y * d->width + x)] = (float)rgb[c] / 255.0f;
        }
    }
    int64_t dims[4] = {1, 3, d->height, d->width};
    check(dlinfer_session_set_input(d->session, d->input, DLINFER_DTYPE_FLOAT32, dims, 4, image,
                                    3 * plane * sizeof(float)), "setting the image");
    free(image);
    check(dlinfer_session_run(d->session), "running");
    double sx = (double)width / (double)d->width, sy = (double)height / (double)d->height;
    int64_t out[3];
    int32_t rank;
    detection* found;
    if (d->in_graph_nms) {
        int64_t n = output_shape(d, d->scores, out, &rank);
        float* boxes = copy_output(d, d->boxes, (size_t)n * 4, sizeof(float));
        float* scores = copy_output(d, d->scores, (size_t)n, sizeof(float));
        int64_t* classes = copy_output(d, d->classes, (size_t)n, sizeof(int64_t));
        found = xmalloc((size_t)n * sizeof(detection));
        for (int64_t i = 0; i < n; i++) {
            found[i].cls = classes[i];
            found[i].score = scores[i];
            for (int j = 0; j < 4; j++) found[i].box[j] = (double)boxes[i * 4 + j] * (j % 2 ? sy : sx);
        }
        *count = n;
        free(boxes);
        free(scores);
        free(classes);
    } else {
        output_shape(d, d->scores, out, &rank);
        if (rank != 3 || out[0] != 1 || out[2] != d->class_count) {
            fprintf(stderr, "the scores are not [1, K, %lld]\n", (long long)d->class_count);
            exit(1);
        }
        int64_t cells = out[1], classes = out[2], n = cells * classes;
        if (output_shape(d, d->boxes, out, &rank) != cells * 4) {
            fprintf(stderr, "the boxes are not [1, %lld, 4]\n", (long long)cells);
            exit(1);
        }
        float* cell_boxes = copy_output(d, d->boxes, (size_t)cells * 4, sizeof(float));
        float* scores = copy_output(d, d->scores, (size_t)n, sizeof(float));
        /* every (cell, class) pair is a candidate: its cell's box, its class's score */
        float* boxes = xmalloc((size_t)n * 4 * sizeof(float));
        int64_t* labels = xmalloc((size_t)n * sizeof(int64_t));
        for (int64_t i = 0; i < n; i++) {
            memcpy(boxes + i * 4, cell_boxes + i / classes * 4, 4 * sizeof(float));
            labels[i] = i % classes;
        }
        int64_t* keep = xmalloc((size_t)n * sizeof(int64_t));
        check(dlinfer_nms(boxes, scores, labels, n, DLINFER_BOX_CORNERS, IOU_THRESHOLD, SCORE_THRESHOLD, -1, keep,
                          count), "non-maximum suppression");
        found = xmalloc((size_t)*count * sizeof(detection));
        for (int64_t i = 0; i < *count; i++) {
            int64_t k = keep[i];
            found[i].cls = labels[k];
            found[i].score = scores[k];
            for (int j = 0; j < 4; j++) found[i].box[j] = (double)boxes[k * 4 + j] * (j % 2 ? sy : sx);
        }
        free(cell_boxes);
        free(scores);
        free(boxes);
        free(labels);
        free(keep);
    }
    for (int64_t i = 0; i < *count; i++) {
        if (found[i].cls < 0 || found[i].cls >= d->class_count) {
            fprintf(stderr, "the model gives class %lld, beyond the %lld of the classes file\n",
                    (long long)found[i].cls, (long long)d->class_count);
            exit(1);
        }
    }
    return found;
}

/* Frames each detection above threshold with 2 pixels of its class's colour. */
static void draw(unsigned char* pixels, long width, long height, const detection* found, int64_t count,
                 double threshold) {
    for (int64_t i = 0; i < count; i++) {
        if (!(found[i].score > threshold)) continue;
        long b[4];
        for (int j = 0; j < 4; j++) {
            double v = floor(found[i].box[j]), limit = (double)((j % 2 ? height : width) - 1);
            b[j] = (long)(v < 0 ? 0 : v > limit ? limit : v);
        }
        const unsigned char* colour = COLOURS[found[i].cls % 6];
        for (long t = 0; t < 2; t++) {
            long top = b[1] - t < 0 ? 0 : b[1] - t, bottom = b[3] + t > height - 1 ? height - 1 : b[3] + t;
            long left = b[0] - t < 0 ? 0 : b[0] - t, right = b[2] + t > width - 1 ? width - 1 : b[2] + t;
            for (long x = b[0]; x <= b[2]; x++) {
                memcpy(pixels + (top * width + x) * 3, colour, 3);
                memcpy(pixels + (bottom * width + x) * 3, colour, 3);
            }
            for (long y = b[1]; y <= b[3]; y++) {
                memcpy(pixels + (y * width + left) * 3, colour, 3);
                memcpy(pixels + (y * width + right) * 3, colour, 3);
            }
        }
    }
}

static void report(const char* name, const detection* found, int64_t count, char classes[][64], double threshold) {
    int shown = 0;
    for (int64_t i = 0; i < count; i++) {
        if (!(found[i].score > threshold)) continue;
        const double* b = found[i].box;
        printf("%s: %s %.3f (%.1f, %.1f, %.1f, %.1f)\n", name, classes[found[i].cls], (double)found[i].score, b[0],
               b[1], b[2], b[3]);
        shown++;
    }
    if (!shown) printf("%s: nothing above %.2f\n", name, threshold);
}

/* ---- mAP ------------------------------------------------------------------------------------------------------ */

typedef struct {
    long image;
    int64_t cls;
    double box[4];
} truth;

typedef struct {
    float score;
    long image;
    int64_t index;
} ranked;

static double iou(const double* a, const double* b) {
    double w = fmax(0.0, fmin(a[2], b[2]) - fmax(a[0], b[0]));
    double h = fmax(0.0, fmin(a[3], b[3]) - fmax(a[1], b[1]));
    double inter = w * h;
    double uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return uni > 0 ? inter / uni : 0.0;
}

/* By falling score, then image, then place in the image's list. */
static int by_score(const void* pa, const void* pb) {
    const ranked *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    if (a->image != b->image) return a->image < b->image ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* VOC's AP of class c at IoU 0.5 (all-point interpolated precision-recall area). Each detection, by falling score,
 * is a true positive when the ground-truth box it overlaps most (IoU >= 0.5) is of its image and class and not
 * taken yet. */
static double average_precision(detection** found, const int64_t* counts, long images, const truth* truths,
                                 long truth_count, int64_t c) {
    long total = 0, n = 0;
    for (long t = 0; t < truth_count; t++) total += truths[t].cls == c;
    if (total == 0) return 0.0;
    for (long i = 0; i < images; i++)
        for (int64_t k = 0; k < counts[i]; k++) n += found[i][k].cls == c;
    ranked* order = xmalloc((size_t)n * sizeof(ranked));
    n = 0;
    for (long i = 0; i < images; i++)
        for (int64_t k = 0; k < counts[i]; k++)
            if (found[i][k].cls == c) order[n++] = (ranked){found[i][k].score, i, k};
    qsort(order, (size_t)n, sizeof(ranked), by_score);
    char* used = calloc((size_t)truth_count + 1, 1);
    double* recall = xmalloc((size_t)(n + 2) * sizeof(double));
    double* precision = xmalloc((size_t)(n + 2) * sizeof(double));
    if (!used) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    recall[0] = precision[0] = 0.0;
    long tp = 0;
    for (long j = 0; j < n; j++) {
        const double* box = found[order[j].image][order[j].index].box;
        long best = -1;
        double best_iou = 0.0;
        for (long t = 0; t < truth_count; t++) {
            if (truths[t].image != order[j].image || truths[t].cls != c) continue;
            double o = iou(box, truths[t].box);
            if (o > best_iou) {
                best = t;
                best_iou = o;
            }
        }
        if (best >= 0 && best_iou >= 0.5 && !used[best]) {
            used[best] = 1;
            tp++;
        }
        recall[j + 1] = (double)tp / (double)total;
        precision[j + 1] = (double)tp / (double)(j + 1);
    }
    recall[n + 1] = 1.0;
    precision[n + 1] = 0.0;
    for (long j = n; j >= 0; j--) precision[j] = fmax(precision[j], precision[j + 1]);
    double ap = 0.0;
    for (long j = 1; j <= n + 1; j++) ap += (recall[j] - recall[j - 1]) * precision[j];
    free(order);
    free(used);
    free(recall);
    free(precision);
    return ap;
}

static int is_folder(const char* path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Detects in one image, prints and draws; the detections (or NULL on a bad image) go to *found. */
static int process(const detector* d, const char* path, const char* name, const char* out, int several,
                   char classes[][64], double threshold, detection** found, int64_t* count) {
    long width, height;
    *found = NULL;
    *count = 0;
    unsigned char* pixels = read_ppm(path, &width, &height);
    if (!pixels) return 1;
    *found = detect(d, pixels, width, height, count);
    report(name, *found, *count, classes, threshold);
    int failed = 0;
    if (out) {
        char file[4200];
        if (several) {
            const char* base = strrchr(path, '/');
            snprintf(file, sizeof file, "%s/%s", out, base ? base + 1 : path);
        } else {
            snprintf(file, sizeof file, "%s", out);
        }
        draw(pixels, width, height, *found, *count, threshold);
        failed = write_ppm(file, pixels, width, height);
    }
    free(pixels);
    return failed;
}

int main(int argc, char** argv) {
    const char* device = NULL;
    const char* model_arg = "raw";
    const char* classes_path = "examples/data/detector_classes.txt";
    const char* labels_path = NULL;
    const char* out = NULL;
    double threshold = 0.5;
    int first_image = argc;
    for (int i = 1; i < argc; i++) {
        int has_value = i + 1 < argc;
        char* end = NULL;
        if (has_value && strcmp(argv[i], "--device") == 0) device = argv[++i];
        else if (has_value && strcmp(argv[i], "--model") == 0) model_arg = argv[++i];
        else if (has_value && strcmp(argv[i], "--classes") == 0) classes_path = argv[++i];
        else if (has_value && strcmp(argv[i], "--labels") == 0) labels_path = argv[++i];
        else if (has_value && strcmp(argv[i], "--out") == 0) out = argv[++i];
        else if (has_value && strcmp(argv[i], "--threshold") == 0 && (threshold = strtod(argv[i + 1], &end), 1) &&
                 *end == '\0' && end != argv[i + 1])
            i++;
        else if (argv[i][0] != '-' && !labels_path) {
            first_image = i;
            break;
        } else {
            fprintf(stderr, "usage: %s [--device DEVICE] [--model raw|nms|MODEL.onnx] [--classes FILE] "
                            "[--threshold 0.5] [--out PATH] [--labels FILE | IMAGE.ppm ...]\n", argv[0]);
            return 2;
        }
    }
    if (first_image == argc && !labels_path) labels_path = "examples/data/detector/labels.txt";
    char model_path[4200];
    if (strcmp(model_arg, "raw") == 0 || strcmp(model_arg, "nms") == 0)
        snprintf(model_path, sizeof model_path, "examples/models/detector_%s.onnx", model_arg);
    else
        snprintf(model_path, sizeof model_path, "%s", model_arg);

    static char classes[MAX_CLASSES][64];
    int64_t class_count = 0;
    FILE* f = fopen(classes_path, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", classes_path);
        return 1;
    }
    while (class_count < MAX_CLASSES && fscanf(f, "%63s", classes[class_count]) == 1) class_count++;
    fclose(f);
    if (class_count == 0) {
        fprintf(stderr, "%s: no class names\n", classes_path);
        return 1;
    }

    /* The images: the arguments, or those of the labels file with their ground truth. */
    long images = first_image < argc ? argc - first_image : 0, truth_count = 0;
    char** paths = NULL;
    char** names = NULL;
    truth* truths = NULL;
    if (labels_path) {
        FILE* list = fopen(labels_path, "r");
        if (!list) {
            fprintf(stderr, "%s: cannot open\n", labels_path);
            return 1;
        }
        char folder[4096] = ".";
        const char* slash = strrchr(labels_path, '/');
        if (slash) snprintf(folder, sizeof folder, "%.*s", (int)(slash - labels_path), labels_path);
        char name[1024], cls[64];
        double box[4];
        long capacity = 0, line = 0;
        int fields;
        while ((fields = fscanf(list, "%1023s %63s %lf %lf %lf %lf", name, cls, &box[0], &box[1], &box[2],
                                &box[3])) == 6) {
            line++;
            int64_t c = 0;
            while (c < class_count && strcmp(classes[c], cls) != 0) c++;
            if (c == class_count) {
                fprintf(stderr, "%s:%ld: class %s is not in %s\n", labels_path, line, cls, classes_path);
                return 1;
            }
            long image = 0;
            while (image < images && strcmp(names[image], name) != 0) image++;
            if (truth_count == capacity) {
                capacity = capacity ? 2 * capacity : 64;
                truths = realloc(truths, (size_t)capacity * sizeof(truth));
                paths = realloc(paths, (size_t)capacity * sizeof(char*));
                names = realloc(names, (size_t)capacity * sizeof(char*));
                if (!truths || !paths || !names) {
                    fprintf(stderr, "out of memory\n");
                    return 1;
                }
            }
            if (image == images) {
                size_t length = strlen(name);
                names[images] = xmalloc(length + 1);
                memcpy(names[images], name, length + 1);
                paths[images] = xmalloc(strlen(folder) + length + 2);
                sprintf(paths[images], "%s/%s", folder, name);
                images++;
            }
            truths[truth_count].image = image;
            truths[truth_count].cls = c;
            memcpy(truths[truth_count].box, box, sizeof box);
            truth_count++;
        }
        fclose(list);
        if (fields != EOF) {
            fprintf(stderr, "%s:%ld: not FILE CLASS X1 Y1 X2 Y2\n", labels_path, line + 1);
            return 1;
        }
    }
    int several = images > 1;
    if (out && several && !is_folder(out)) {
        fprintf(stderr, "%s: not a folder (the annotated images of several images go into one)\n", out);
        return 1;
    }

    detector d;
    d.class_count = class_count;
    dlinfer_model* model = NULL;
    check(dlinfer_model_load_file(model_path, &model), "loading the model");
    dlinfer_options* options = NULL;
    check(dlinfer_options_create(&options), "creating options");
    if (device) check(dlinfer_options_set(options, "device", device), "setting the device");
    check(dlinfer_session_create(model, options, &d.session), "creating the session");
    dlinfer_options_destroy(options);
    check(dlinfer_model_io_index(model, 0, "image", &d.input), "finding input 'image'");
    d.in_graph_nms = dlinfer_model_io_index(model, 1, "det_boxes", &d.boxes) == DLINFER_OK;
    if (d.in_graph_nms) {
        check(dlinfer_model_io_index(model, 1, "det_scores", &d.scores), "finding output 'det_scores'");
        check(dlinfer_model_io_index(model, 1, "det_classes", &d.classes), "finding output 'det_classes'");
    } else {
        check(dlinfer_model_io_index(model, 1, "boxes", &d.boxes), "finding output 'boxes' (or 'det_boxes')");
        check(dlinfer_model_io_index(model, 1, "scores", &d.scores), "finding output 'scores'");
    }
    int32_t dtype, rank;
    int64_t dims[4];
    check(dlinfer_model_io_type(model, 0, d.input, &dtype, &rank, dims, 4), "querying the input");
    dlinfer_model_release(model); /* the session keeps its own reference */
    if (dims[2] <= 0 || dims[3] <= 0) {
        fprintf(stderr, "%s: the input has no fixed height and width\n", model_path);
        return 1;
    }
    d.height = dims[2];
    d.width = dims[3];
    const char* device_name = NULL;
    check(dlinfer_session_device_name(d.session, &device_name), "querying the device");
    printf("device: %s\n", device_name);

    int failures = 0;
    if (!labels_path) {
        for (int i = first_image; i < argc; i++) {
            detection* found;
            int64_t count;
            failures += process(&d, argv[i], argv[i], out, several, classes, threshold, &found, &count);
            free(found);
        }
    } else {
        detection** found = xmalloc((size_t)images * sizeof(detection*));
        int64_t* counts = xmalloc((size_t)images * sizeof(int64_t));
        for (long i = 0; i < images; i++)
            failures += process(&d, paths[i], names[i], out, several, classes, threshold, &found[i], &counts[i]);
        double mean = 0.0, aps[MAX_CLASSES];
        for (int64_t c = 0; c < class_count; c++) {
            aps[c] = average_precision(found, counts, images, truths, truth_count, c);
            mean += aps[c];
        }
        mean /= (double)class_count;
        printf("mAP@0.5: %.4f (", mean);
        for (int64_t c = 0; c < class_count; c++) printf("%s%s %.4f", c ? ", " : "", classes[c], aps[c]);
        printf(") over %ld images\n", images);
        for (long i = 0; i < images; i++) {
            free(found[i]);
            free(paths[i]);
            free(names[i]);
        }
        free(found);
        free(counts);
        free(paths);
        free(names);
        free(truths);
    }
    dlinfer_session_destroy(d.session);
    return failures == 0 ? 0 : 1;
}
