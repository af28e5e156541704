/*
 * Finds words in images with a text detector through the dlinfer C API: the EAST-style examples/models/east_text.onnx
 * (score and RBOX geometry maps, decoded by dlinfer_east_decode and suppressed by dlinfer_nms on quadrilaterals) or
 * the CRAFT-style examples/models/craft_text.onnx (region and affinity heatmaps, boxed by dlinfer_heatmap_boxes).
 * Prints each box (score, then its 4 corners x,y in input pixels, clockwise as seen in the image); without images,
 * runs over the bundled held-out images and scores the boxes against their ground truth (precision, recall and F1
 * at IoU 0.5 of the quadrilaterals).
 *
 *   detect_text [--device DEVICE] [--model east|craft|FILE.onnx] [--out OUT.ppm] [--eval DIR | IMAGE ...]
 *
 * Images are binary 8-bit PGM or PPM (P5, P6; colour is turned grey). --eval DIR (default, without images:
 * examples/data/textdet) reads DIR/boxes.txt, one line per word: "FILE x1 y1 x2 y2 x3 y3 x4 y4 TEXT", FILE relative
 * to DIR. --out writes the boxes drawn in red on the image as a binary PPM (several images: side by side, 8 to a row;
 * in eval mode the ground truth in green). Run from the repository root for the default paths. Without --device the
 * library uses $DLINFER_DEVICE, else picks automatically.
 * Model contracts: input "image" float32 [N,1,H,W], grey level / 255 (the image is padded at the right and bottom, by
 * repeating its last column and row, to a multiple of 16 for EAST, 8 for CRAFT). EAST: outputs "score"
 * [N,1,H/4,W/4] and "geometry" [N,5,H/4,W/4] (distances from the point (4x, 4y) to the box's top, right, bottom,
 * left edges, angle in radians counter-clockwise). CRAFT: outputs "region" and "affinity" [N,1,H/2,W/2].
 */
#include <dlinfer.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EAST_SCORE_THRESHOLD 0.8f
#define EAST_NMS_IOU 0.2f
#define MATCH_IOU 0.5
#define SHEET_COLUMNS 8

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

/* ---- images -------------------------------------------------------------------------------------------------- */

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

/* Reads a binary 8-bit PGM (P5) or PPM (P6, averaged to grey) as grey levels scaled to [0,1]; NULL with a message
 * otherwise. */
static float* read_pnm(const char* path, long* width, long* height) {
    FILE* f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return NULL;
    }
    long maxval = -1;
    int kind = fgetc(f) == 'P' ? fgetc(f) : 0;
    if ((kind != '5' && kind != '6') || (*width = pnm_number(f)) <= 0 || (*height = pnm_number(f)) <= 0 ||
        (maxval = pnm_number(f)) <= 0 || maxval > 255) {
        fprintf(stderr, "%s: not an 8-bit binary PGM or PPM (P5, P6)\n", path);
        fclose(f);
        return NULL;
    }
    size_t channels = kind == '5' ? 1 : 3;
    size_t n = (size_t)*width * (size_t)*height;
    unsigned char* bytes = xmalloc(n * channels);
    float* pixels = xmalloc(n * sizeof(float));
    if (fread(bytes, 1, n * channels, f) != n * channels) {
        fprintf(stderr, "%s: truncated\n", path);
        free(pixels);
        pixels = NULL;
    }
    for (size_t i = 0; pixels && i < n; i++) {
        float sum = 0;
        for (size_t c = 0; c < channels; c++) sum += (float)bytes[i * channels + c];
        pixels[i] = sum / (float)channels / (float)maxval;
    }
    free(bytes);
    fclose(f);
    return pixels;
}

/* An image with the boxes drawn: 8-bit RGB. */
typedef struct {
    long width, height;
    unsigned char* rgb;
} panel;

static panel make_panel(const float* grey, long width, long height) {
    panel p = {width, height, xmalloc((size_t)(width * height) * 3)};
    for (long i = 0; i < width * height; i++) {
        unsigned char v = (unsigned char)lrintf(grey[i] * 255.0f);
        p.rgb[3 * i] = p.rgb[3 * i + 1] = p.rgb[3 * i + 2] = v;
    }
    return p;
}

/* Draws the quadrilateral's sides (8 floats: 4 corners x, y), one pixel wide and clipped to the image. */
static void draw_quad(panel* p, const float* quad, unsigned char r, unsigned char g, unsigned char b) {
    for (int i = 0; i < 4; i++) {
        double x0 = quad[2 * i], y0 = quad[2 * i + 1], x1 = quad[(2 * i + 2) % 8], y1 = quad[(2 * i + 3) % 8];
        long steps = (long)fmax(fabs(x1 - x0), fabs(y1 - y0)) + 1;
        for (long k = 0; k <= steps; k++) {
            double t = (double)k / (double)steps;
            long x = (long)floor(x0 + (x1 - x0) * t), y = (long)floor(y0 + (y1 - y0) * t);
            if (x < 0 || x >= p->width || y < 0 || y >= p->height) continue;
            unsigned char* px = p->rgb + 3 * (y * p->width + x);
            px[0] = r;
            px[1] = g;
            px[2] = b;
        }
    }
}

/* Writes the panels side by side, SHEET_COLUMNS to a row, as a binary PPM; 0 on success. */
static int write_sheet(const char* path, const panel* panels, size_t count) {
    long cw = 0, ch = 0;
    for (size_t i = 0; i < count; i++) {
        if (panels[i].width > cw) cw = panels[i].width;
        if (panels[i].height > ch) ch = panels[i].height;
    }
    size_t cols = count < SHEET_COLUMNS ? count : SHEET_COLUMNS, rows = (count + cols - 1) / cols;
    size_t sw = cols * (size_t)cw, sh = rows * (size_t)ch;
    unsigned char* sheet = calloc(sw * sh * 3, 1);
    if (!sheet) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < count; i++) {
        size_t x = (i % cols) * (size_t)cw, y = (i / cols) * (size_t)ch;
        for (long row = 0; row < panels[i].height; row++)
            memcpy(sheet + ((y + (size_t)row) * sw + x) * 3, panels[i].rgb + (size_t)(row * panels[i].width) * 3,
                   (size_t)panels[i].width * 3);
    }
    FILE* f = fopen(path, "wb");
    int ok = f && fprintf(f, "P6\n%zu %zu\n255\n", sw, sh) > 0 && fwrite(sheet, 1, sw * sh * 3, f) == sw * sh * 3;
    if (f && fclose(f) != 0) ok = 0;
    free(sheet);
    if (!ok) fprintf(stderr, "%s: cannot write\n", path);
    return ok ? 0 : 1;
}

/* ---- the detector -------------------------------------------------------------------------------------------- */

typedef struct {
    dlinfer_session* session;
    int east; /* 1: EAST (score, geometry), 0: CRAFT (region, affinity) */
    long multiple;
    int32_t input, out0, out1;
} detector;

/* Runs the model on a grey image and decodes its maps into *quads (8 floats a box) and *scores, *count boxes; the
 * caller frees both. */
static void detect(detector* d, const float* grey, long width, long height, float** quads, float** scores,
                   int64_t* count) {
    long pw = (width + d->multiple - 1) / d->multiple * d->multiple;
    long ph = (height + d->multiple - 1) / d->multiple * d->multiple;
    float* padded = xmalloc((size_t)(pw * ph) * sizeof(float));
    for (long y = 0; y < ph; y++) {
        const float* row = grey + (y < height ? y : height - 1) * width;
        for (long x = 0; x < pw; x++) padded[y * pw + x] = row[x < width ? x : width - 1];
    }
    int64_t dims[4] = {1, 1, ph, pw};
    check(dlinfer_session_set_input(d->session, d->input, DLINFER_DTYPE_FLOAT32, dims, 4, padded,
                                    (size_t)(pw * ph) * sizeof(float)), "setting the image");
    free(padded);
    check(dlinfer_session_run(d->session), "running");
    int64_t shape[2][4];
    int32_t outputs[2] = {d->out0, d->out1};
    for (int k = 0; k < 2; k++) {
        int32_t dtype, rank;
        check(dlinfer_session_output_type(d->session, outputs[k], &dtype, &rank, shape[k], 4), "querying an output");
        int64_t channels = d->east && k == 1 ? 5 : 1;
        if (dtype != DLINFER_DTYPE_FLOAT32 || rank != 4 || shape[k][0] != 1 || shape[k][1] != channels ||
            shape[k][2] != shape[0][2] || shape[k][3] != shape[0][3]) {
            fprintf(stderr, "output %d is not float32 [1, %lld, H, W] like the first\n", k, (long long)channels);
            exit(1);
        }
    }
    int64_t mh = shape[0][2], mw = shape[0][3], plane = mh * mw;
    float* map0 = xmalloc((size_t)plane * sizeof(float));
    float* map1 = xmalloc((size_t)(shape[1][1] * plane) * sizeof(float));
    check(dlinfer_session_copy_output(d->session, d->out0, map0, (size_t)plane * sizeof(float)), "reading an output");
    check(dlinfer_session_copy_output(d->session, d->out1, map1, (size_t)(shape[1][1] * plane) * sizeof(float)),
          "reading an output");
    if (d->east) {
        int64_t cells = plane; /* one box per cell at most */
        float* all_quads = xmalloc((size_t)cells * 8 * sizeof(float));
        float* all_scores = xmalloc((size_t)cells * sizeof(float));
        int64_t decoded, kept;
        check(dlinfer_east_decode(map0, map1, mh, mw, (float)pw / (float)mw, EAST_SCORE_THRESHOLD, all_quads,
                                  all_scores, cells, &decoded), "decoding the boxes");
        int64_t* keep = xmalloc((size_t)decoded * sizeof(int64_t));
        check(dlinfer_nms(all_quads, all_scores, NULL, decoded, DLINFER_BOX_QUAD, EAST_NMS_IOU, -INFINITY, -1, keep,
                          &kept), "suppressing overlapping boxes");
        *quads = xmalloc((size_t)kept * 8 * sizeof(float));
        *scores = xmalloc((size_t)kept * sizeof(float));
        for (int64_t i = 0; i < kept; i++) {
            memcpy(*quads + 8 * i, all_quads + 8 * keep[i], 8 * sizeof(float));
            (*scores)[i] = all_scores[keep[i]];
        }
        *count = kept;
        free(keep);
        free(all_quads);
        free(all_scores);
    } else {
        int64_t capacity = plane / 10 + 1; /* height * width / min_size always suffices */
        *quads = xmalloc((size_t)capacity * 8 * sizeof(float));
        *scores = xmalloc((size_t)capacity * sizeof(float));
        check(dlinfer_heatmap_boxes(map0, map1, mh, mw, 0.7f, 0.4f, 0.4f, 10, (float)pw / (float)mw, *quads, *scores,
                                    capacity, count), "boxing the heatmaps");
    }
    free(map0);
    free(map1);
}

static void print_boxes(const char* name, const float* quads, const float* scores, int64_t count) {
    for (int64_t i = 0; i < count; i++) {
        const float* q = quads + 8 * i;
        printf("%s: %.3f %.2f,%.2f %.2f,%.2f %.2f,%.2f %.2f,%.2f\n", name, (double)scores[i], (double)q[0],
               (double)q[1], (double)q[2], (double)q[3], (double)q[4], (double)q[5], (double)q[6], (double)q[7]);
    }
}

/* ---- evaluation: polygon IoU and greedy matching ------------------------------------------------------------- */

static double cross(double ax, double ay, double bx, double by) { return ax * by - ay * bx; }

static double polygon_area(const double* p, int n) {
    double a = 0;
    for (int i = 0; i < n; i++) a += cross(p[2 * i], p[2 * i + 1], p[(2 * i + 2) % (2 * n)], p[(2 * i + 3) % (2 * n)]);
    return fabs(a) / 2;
}

/* Intersection over union of two convex quadrilaterals (Sutherland-Hodgman clipping of p by q). */
static double quad_iou(const float* pf, const float* qf) {
    double p[8], q[8], poly[2 * 16], next[2 * 16];
    for (int i = 0; i < 8; i++) {
        p[i] = pf[i];
        q[i] = qf[i];
        poly[i] = p[i];
    }
    int n = 4;
    double sign = cross(q[2] - q[0], q[3] - q[1], q[4] - q[2], q[5] - q[3]) >= 0 ? 1 : -1;
    for (int e = 0; e < 4 && n > 0; e++) {
        double ax = q[2 * e], ay = q[2 * e + 1], bx = q[(2 * e + 2) % 8], by = q[(2 * e + 3) % 8];
        double side[16];
        for (int j = 0; j < n; j++) side[j] = sign * cross(bx - ax, by - ay, poly[2 * j] - ax, poly[2 * j + 1] - ay);
        int m = 0;
        for (int j = 0; j < n; j++) {
            int k = (j + 1) % n;
            if (side[j] >= 0) {
                next[2 * m] = poly[2 * j];
                next[2 * m + 1] = poly[2 * j + 1];
                m++;
            }
            if ((side[j] >= 0) != (side[k] >= 0)) {
                double t = side[j] / (side[j] - side[k]);
                next[2 * m] = poly[2 * j] + (poly[2 * k] - poly[2 * j]) * t;
                next[2 * m + 1] = poly[2 * j + 1] + (poly[2 * k + 1] - poly[2 * j + 1]) * t;
                m++;
            }
        }
        n = m;
        memcpy(poly, next, (size_t)(2 * n) * sizeof(double));
    }
    double inter = n >= 3 ? polygon_area(poly, n) : 0;
    double uni = polygon_area(p, 4) + polygon_area(q, 4) - inter;
    return uni > 0 ? inter / uni : 0;
}

/* Detections taken by falling score (ties: lower index), each matched to the unmatched true box it overlaps most
 * (IoU >= MATCH_IOU); returns the number of matches. */
static long count_matches(const float* quads, const float* scores, int64_t count, const float* truth, long words) {
    char* taken = calloc((size_t)words + 1, 1);
    char* done = calloc((size_t)count + 1, 1);
    if (!taken || !done) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    long found = 0;
    for (int64_t step = 0; step < count; step++) {
        int64_t k = -1;
        for (int64_t i = 0; i < count; i++)
            if (!done[i] && (k < 0 || scores[i] > scores[k])) k = i;
        done[k] = 1;
        long best_j = -1;
        double best = MATCH_IOU;
        for (long j = 0; j < words; j++) {
            double iou = taken[j] ? -1 : quad_iou(quads + 8 * k, truth + 8 * j);
            if (iou >= best) {
                best = iou;
                best_j = j;
            }
        }
        if (best_j >= 0) {
            taken[best_j] = 1;
            found++;
        }
    }
    free(taken);
    free(done);
    return found;
}

/* ---- main ---------------------------------------------------------------------------------------------------- */

typedef struct {
    char name[256];
    float quad[8];
} truth_line;

int main(int argc, char** argv) {
    const char* device = NULL;
    const char* model_arg = "east";
    const char* out_path = NULL;
    const char* eval_dir = NULL;
    int first_image = argc;
    for (int i = 1; i < argc; i++) {
        int has_value = i + 1 < argc;
        if (has_value && strcmp(argv[i], "--device") == 0) device = argv[++i];
        else if (has_value && strcmp(argv[i], "--model") == 0) model_arg = argv[++i];
        else if (has_value && strcmp(argv[i], "--out") == 0) out_path = argv[++i];
        else if (has_value && strcmp(argv[i], "--eval") == 0) eval_dir = argv[++i];
        else if (argv[i][0] != '-' && !eval_dir) {
            first_image = i;
            break;
        } else {
            fprintf(stderr, "usage: %s [--device DEVICE] [--model east|craft|FILE.onnx] [--out OUT.ppm] "
                            "[--eval DIR | IMAGE ...]\n", argv[0]);
            return 2;
        }
    }
    if (first_image == argc && !eval_dir) eval_dir = "examples/data/textdet";
    const char* model_path = strcmp(model_arg, "east") == 0    ? "examples/models/east_text.onnx"
                             : strcmp(model_arg, "craft") == 0 ? "examples/models/craft_text.onnx"
                                                               : model_arg;

    detector d;
    dlinfer_model* model = NULL;
    check(dlinfer_model_load_file(model_path, &model), "loading the model");
    if (dlinfer_model_io_index(model, 1, "score", &d.out0) == DLINFER_OK &&
        dlinfer_model_io_index(model, 1, "geometry", &d.out1) == DLINFER_OK) {
        d.east = 1;
        d.multiple = 16;
    } else if (dlinfer_model_io_index(model, 1, "region", &d.out0) == DLINFER_OK &&
               dlinfer_model_io_index(model, 1, "affinity", &d.out1) == DLINFER_OK) {
        d.east = 0;
        d.multiple = 8;
    } else {
        fprintf(stderr, "%s: neither an EAST model (outputs score, geometry) nor a CRAFT one (region, affinity)\n",
                model_path);
        dlinfer_model_release(model);
        return 1;
    }
    check(dlinfer_model_io_index(model, 0, "image", &d.input), "finding input 'image'");
    dlinfer_options* options = NULL;
    check(dlinfer_options_create(&options), "creating options");
    if (device) check(dlinfer_options_set(options, "device", device), "setting the device");
    check(dlinfer_session_create(model, options, &d.session), "creating the session");
    dlinfer_options_destroy(options);
    dlinfer_model_release(model); /* the session keeps its own reference */
    const char* device_name = NULL;
    check(dlinfer_session_device_name(d.session, &device_name), "querying the device");
    printf("device: %s\n", device_name);

    int failures = 0;
    size_t panel_count = 0;
    panel* panels = NULL;
    if (!eval_dir) {
        panels = xmalloc((size_t)argc * sizeof(panel));
        for (int i = first_image; i < argc; i++) {
            long width, height;
            float* grey = read_pnm(argv[i], &width, &height);
            if (!grey) {
                failures++;
                continue;
            }
            float *quads, *scores;
            int64_t count;
            detect(&d, grey, width, height, &quads, &scores, &count);
            print_boxes(argv[i], quads, scores, count);
            panels[panel_count] = make_panel(grey, width, height);
            for (int64_t k = 0; k < count; k++) draw_quad(&panels[panel_count], quads + 8 * k, 255, 0, 0);
            panel_count++;
            free(grey);
            free(quads);
            free(scores);
        }
    } else {
        char path[4096];
        snprintf(path, sizeof path, "%s/boxes.txt", eval_dir);
        FILE* list = fopen(path, "r");
        if (!list) {
            fprintf(stderr, "%s: cannot open\n", path);
            return 1;
        }
        size_t lines = 0, capacity = 256;
        truth_line* truth = xmalloc(capacity * sizeof(truth_line));
        char line[1024];
        while (fgets(line, sizeof line, list)) {
            if (lines == capacity) {
                capacity *= 2;
                truth_line* grown = realloc(truth, capacity * sizeof(truth_line));
                if (!grown) {
                    fprintf(stderr, "out of memory\n");
                    return 1;
                }
                truth = grown;
            }
            truth_line* t = &truth[lines];
            float* q = t->quad;
            int fields = sscanf(line, "%255s %f %f %f %f %f %f %f %f", t->name, &q[0], &q[1], &q[2], &q[3], &q[4],
                                &q[5], &q[6], &q[7]);
            if (fields == 9) lines++;
            else if (fields > 0) {
                fprintf(stderr, "%s:%zu: expected FILE and 8 coordinates\n", path, lines + 1);
                return 1;
            }
        }
        fclose(list);
        long found = 0, detections = 0, words = 0, images = 0;
        float* image_truth = xmalloc(lines * 8 * sizeof(float));
        panels = xmalloc(lines * sizeof(panel));
        for (size_t i = 0; i < lines; i++) {
            int seen = 0; /* images come in the order of their first line */
            for (size_t j = 0; j < i && !seen; j++) seen = strcmp(truth[j].name, truth[i].name) == 0;
            if (seen) continue;
            long n = 0;
            for (size_t j = i; j < lines; j++)
                if (strcmp(truth[j].name, truth[i].name) == 0)
                    memcpy(image_truth + 8 * n++, truth[j].quad, 8 * sizeof(float));
            snprintf(path, sizeof path, "%s/%s", eval_dir, truth[i].name);
            long width, height;
            float* grey = read_pnm(path, &width, &height);
            if (!grey) return 1;
            float *quads, *scores;
            int64_t count;
            detect(&d, grey, width, height, &quads, &scores, &count);
            print_boxes(truth[i].name, quads, scores, count);
            found += count_matches(quads, scores, count, image_truth, n);
            detections += (long)count;
            words += n;
            images++;
            panel* p = &panels[panel_count++];
            *p = make_panel(grey, width, height);
            for (long k = 0; k < n; k++) draw_quad(p, image_truth + 8 * k, 0, 255, 0);
            for (int64_t k = 0; k < count; k++) draw_quad(p, quads + 8 * k, 255, 0, 0);
            free(grey);
            free(quads);
            free(scores);
        }
        free(image_truth);
        free(truth);
        double precision = detections ? (double)found / (double)detections : 0;
        double recall = words ? (double)found / (double)words : 0;
        double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
        printf("%s: precision %.3f recall %.3f F1 %.3f at IoU %.1f (%ld of %ld boxes match %ld words in %ld images)\n",
               d.east ? "east" : "craft", precision, recall, f1, MATCH_IOU, found, detections, words, images);
    }
    if (out_path && panel_count > 0 && write_sheet(out_path, panels, panel_count) != 0) failures++;
    for (size_t i = 0; i < panel_count; i++) free(panels[i].rgb);
    free(panels);
    dlinfer_session_destroy(d.session);
    return failures == 0 ? 0 : 1;
}
