/*
 * Captions 64x64 scenes with the attention captioner (examples/models/caption_*.onnx) through the dlinfer C API, and
 * prints for each word the region (grid cell row,col) the decoder attended to most when it chose it.
 *
 *   caption_image [--device DEVICE] [--mode step|loop] [--models DIR] [--vocab FILE] [--out FILE.ppm]
 *                 [--captions FILE | IMAGE.ppm ...]
 *
 * --mode step (default): the encoder runs once, then the host runs caption_decoder_step.onnx once per word, feeding
 * back the chosen word and the LSTM state (h, c). --mode loop: caption_greedy.onnx decodes the whole caption in one
 * run, greedily, inside the graph (an ONNX Loop). Both stop after <eos> or 16 words and give the same captions.
 * Defaults: --models examples/models, --vocab examples/data/captioner_vocab.txt and, without images, --captions
 * examples/data/captioner/captions.txt (run from the repository root): the bundled held-out scenes, one
 * "FILE WORDS..." line each, FILE relative to the captions file's folder; each caption is printed with its
 * reference, then the exact-caption accuracy. Images are binary PPM (P6, maxval 255), 64x64. --out writes the first
 * image enlarged 4 times, each word's most-attended cell outlined (word k in colour k, inset 2k pixels).
 * Without --device the library uses $DLINFER_DEVICE, else picks automatically.
 * Model contract: caption_encoder: "image" float32 [N,3,64,64] (RGB / 255) -> "regions" [N,R,D], "h0", "c0" [N,H];
 * caption_decoder_step: "token" int64 [N], "h", "c", "regions" -> "logits" [N,V], "attention" [N,R], "h_next",
 * "c_next"; caption_greedy: "image" [1,3,64,64] -> "tokens" int64 [T] (ending with <eos> when reached), "attention"
 * [T,R]. The R regions are a square grid, row-major; the vocabulary file holds one word a line, id = line number.
 */
#include <dlinfer.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 16
#define SIZE 64
#define SCALE 4 /* --out enlarges the image this many times */
#define MAX_WORDS 256
#define WORD_LEN 32

/* Prints the failed call's status and message and exits. */
static void check(dlinfer_status status, const char* what) {
    if (status != DLINFER_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, dlinfer_status_name(status), dlinfer_last_error());
        exit(1);
    }
}

static int32_t io_index(const dlinfer_model* model, int32_t is_output, const char* name) {
    int32_t index;
    char what[64];
    snprintf(what, sizeof what, "finding %s '%s'", is_output ? "output" : "input", name);
    check(dlinfer_model_io_index(model, is_output, name, &index), what);
    return index;
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

/* Reads a 64x64 binary PPM (P6, maxval 255) into pixels (RGB bytes, row-major); 0 on success, else a message. */
static int read_ppm(const char* path, unsigned char pixels[SIZE * SIZE * 3]) {
    FILE* f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return 1;
    }
    long width = -1, height = -1;
    int ok = fgetc(f) == 'P' && fgetc(f) == '6' && (width = ppm_number(f)) > 0 && (height = ppm_number(f)) > 0 &&
             ppm_number(f) == 255;
    if (!ok) fprintf(stderr, "%s: not a binary PPM (P6) with maxval 255\n", path);
    else if (width != SIZE || height != SIZE) {
        fprintf(stderr, "%s: the image is %ldx%ld, the captioner reads %dx%d\n", path, width, height, SIZE, SIZE);
        ok = 0;
    } else if (fread(pixels, 1, SIZE * SIZE * 3, f) != SIZE * SIZE * 3) {
        fprintf(stderr, "%s: truncated\n", path);
        ok = 0;
    }
    fclose(f);
    return ok ? 0 : 1;
}

/* Writes the image enlarged SCALE times with word k's cell outlined in colour k, inset 2k pixels. */
static int write_annotated(const char* path, const unsigned char* pixels, const int64_t* cells, int count,
                           int64_t grid) {
    static const unsigned char palette[8][3] = {{255, 255, 255}, {255, 64, 64}, {64, 255, 64}, {80, 128, 255},
                                                {255, 255, 64}, {255, 64, 255}, {64, 255, 255}, {255, 160, 32}};
    enum { W = SIZE * SCALE };
    unsigned char* image = malloc((size_t)W * W * 3);
    for (int y = 0; y < W; y++) {
        for (int x = 0; x < W; x++) memcpy(image + ((size_t)y * W + x) * 3, pixels + ((y / SCALE) * SIZE + x / SCALE) * 3, 3);
    }
    int side = (int)(W / grid);
    for (int k = 0; k < count; k++) {
        int inset = 2 * (k % 8);
        int top = (int)(cells[k] / grid) * side + inset, left = (int)(cells[k] % grid) * side + inset;
        int bottom = top + side - 1 - 2 * inset, right = left + side - 1 - 2 * inset;
        const unsigned char* colour = palette[k % 8];
        for (int x = left; x <= right; x++) {
            memcpy(image + ((size_t)top * W + x) * 3, colour, 3);
            memcpy(image + ((size_t)bottom * W + x) * 3, colour, 3);
        }
        for (int y = top; y <= bottom; y++) {
            memcpy(image + ((size_t)y * W + left) * 3, colour, 3);
            memcpy(image + ((size_t)y * W + right) * 3, colour, 3);
        }
    }
    FILE* f = fopen(path, "wb");
    int ok = f && fprintf(f, "P6\n%d %d\n255\n", W, W) > 0 && fwrite(image, 1, (size_t)W * W * 3, f) == (size_t)W * W * 3;
    if (f && fclose(f) != 0) ok = 0;
    free(image);
    if (!ok) fprintf(stderr, "%s: cannot write\n", path);
    return ok ? 0 : 1;
}

static int64_t argmax(const float* v, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++) {
        if (v[i] > v[best]) best = i; /* the first of equal maxima, as ArgMax */
    }
    return best;
}

typedef struct {
    int loop;
    dlinfer_session *encoder, *decoder, *greedy;
    int32_t enc_image, enc_regions, enc_h, enc_c;
    int32_t dec_token, dec_h, dec_c, dec_regions, dec_logits, dec_attention, dec_h_next, dec_c_next;
    int32_t greedy_image, greedy_tokens, greedy_attention;
    int64_t bos, eos, vocab_size;
} captioner;

static dlinfer_session* open_session(const char* models, const char* file, const char* device, dlinfer_model** model) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", models, file);
    check(dlinfer_model_load_file(path, model), "loading the model");
    dlinfer_options* options = NULL;
    check(dlinfer_options_create(&options), "creating options");
    if (device) check(dlinfer_options_set(options, "device", device), "setting the device");
    dlinfer_session* session = NULL;
    check(dlinfer_session_create(*model, options, &session), "creating the session");
    dlinfer_options_destroy(options);
    return session;
}

/* Fails unless output `index` of the last run has the dtype and rank wanted; fills dims, returns the element
 * count. */
static int64_t output_shape(dlinfer_session* s, int32_t index, int32_t want_dtype, int32_t want_rank, int64_t* dims,
                            const char* what) {
    int32_t dtype, rank;
    check(dlinfer_session_output_type(s, index, &dtype, &rank, dims, 4), what);
    if (dtype != want_dtype || rank != want_rank) {
        fprintf(stderr, "%s: unexpected dtype or rank\n", what);
        exit(1);
    }
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) n *= dims[i];
    return n;
}

/* Captions one image: tokens[0..*count) (without <eos>), the most-attended cell of each, and the grid's side. */
static void caption(captioner* cap, const unsigned char* pixels, int64_t* tokens, int64_t* cells, int* count,
                    int64_t* grid) {
    static float image[3 * SIZE * SIZE];
    for (int ch = 0; ch < 3; ch++) {
        for (int i = 0; i < SIZE * SIZE; i++) image[ch * SIZE * SIZE + i] = (float)pixels[i * 3 + ch] / 255.0f;
    }
    int64_t image_dims[4] = {1, 3, SIZE, SIZE};
    int64_t dims[4];
    *count = 0;
    int64_t regions_count = 0;
    if (cap->loop) {
        check(dlinfer_session_set_input(cap->greedy, cap->greedy_image, DLINFER_DTYPE_FLOAT32, image_dims, 4, image,
                                        sizeof image), "setting the image");
        check(dlinfer_session_run(cap->greedy), "running the greedy decoder");
        int64_t steps = output_shape(cap->greedy, cap->greedy_tokens, DLINFER_DTYPE_INT64, 1, dims, "the tokens");
        int64_t att_count = output_shape(cap->greedy, cap->greedy_attention, DLINFER_DTYPE_FLOAT32, 2, dims,
                                         "the attention");
        if (steps > MAX_STEPS || dims[0] != steps) {
            fprintf(stderr, "the tokens and attention are not [T] and [T,R] with T <= %d\n", MAX_STEPS);
            exit(1);
        }
        regions_count = dims[1];
        int64_t all_tokens[MAX_STEPS];
        float* attention = malloc((size_t)att_count * sizeof(float) + 1);
        check(dlinfer_session_copy_output(cap->greedy, cap->greedy_tokens, all_tokens, (size_t)steps * sizeof(int64_t)),
              "reading the tokens");
        check(dlinfer_session_copy_output(cap->greedy, cap->greedy_attention, attention,
                                          (size_t)att_count * sizeof(float)), "reading the attention");
        for (int64_t t = 0; t < steps && all_tokens[t] != cap->eos; t++) {
            tokens[*count] = all_tokens[t];
            cells[(*count)++] = argmax(attention + t * regions_count, regions_count);
        }
        free(attention);
    } else {
        check(dlinfer_session_set_input(cap->encoder, cap->enc_image, DLINFER_DTYPE_FLOAT32, image_dims, 4, image,
                                        sizeof image), "setting the image");
        check(dlinfer_session_run(cap->encoder), "running the encoder");
        int64_t regions_dims[4], state_dims[4];
        int64_t regions_size = output_shape(cap->encoder, cap->enc_regions, DLINFER_DTYPE_FLOAT32, 3, regions_dims,
                                            "the regions");
        int64_t state_size = output_shape(cap->encoder, cap->enc_h, DLINFER_DTYPE_FLOAT32, 2, state_dims, "h0");
        regions_count = regions_dims[1];
        float* regions = malloc((size_t)regions_size * sizeof(float));
        float* h = malloc((size_t)state_size * sizeof(float));
        float* c = malloc((size_t)state_size * sizeof(float));
        float* logits = malloc((size_t)cap->vocab_size * sizeof(float));
        float* attention = malloc((size_t)regions_count * sizeof(float));
        check(dlinfer_session_copy_output(cap->encoder, cap->enc_regions, regions, (size_t)regions_size * sizeof(float)),
              "reading the regions");
        check(dlinfer_session_copy_output(cap->encoder, cap->enc_h, h, (size_t)state_size * sizeof(float)), "reading h0");
        check(dlinfer_session_copy_output(cap->encoder, cap->enc_c, c, (size_t)state_size * sizeof(float)), "reading c0");
        /* The regions stay the same for every step: set once, the session keeps them. */
        check(dlinfer_session_set_input(cap->decoder, cap->dec_regions, DLINFER_DTYPE_FLOAT32, regions_dims, 3,
                                        regions, (size_t)regions_size * sizeof(float)), "setting the regions");
        int64_t token = cap->bos, token_dims[1] = {1};
        for (int step = 0; step < MAX_STEPS; step++) {
            check(dlinfer_session_set_input(cap->decoder, cap->dec_token, DLINFER_DTYPE_INT64, token_dims, 1, &token,
                                            sizeof token), "setting the token");
            check(dlinfer_session_set_input(cap->decoder, cap->dec_h, DLINFER_DTYPE_FLOAT32, state_dims, 2, h,
                                            (size_t)state_size * sizeof(float)), "setting h");
            check(dlinfer_session_set_input(cap->decoder, cap->dec_c, DLINFER_DTYPE_FLOAT32, state_dims, 2, c,
                                            (size_t)state_size * sizeof(float)), "setting c");
            check(dlinfer_session_run(cap->decoder), "running the decoder step");
            if (output_shape(cap->decoder, cap->dec_logits, DLINFER_DTYPE_FLOAT32, 2, dims, "the logits") !=
                    cap->vocab_size ||
                output_shape(cap->decoder, cap->dec_attention, DLINFER_DTYPE_FLOAT32, 2, dims, "the attention") !=
                    regions_count) {
                fprintf(stderr, "the logits or attention do not fit the vocabulary or the regions\n");
                exit(1);
            }
            check(dlinfer_session_copy_output(cap->decoder, cap->dec_logits, logits,
                                              (size_t)cap->vocab_size * sizeof(float)), "reading the logits");
            check(dlinfer_session_copy_output(cap->decoder, cap->dec_attention, attention,
                                              (size_t)regions_count * sizeof(float)), "reading the attention");
            check(dlinfer_session_copy_output(cap->decoder, cap->dec_h_next, h, (size_t)state_size * sizeof(float)),
                  "reading h_next");
            check(dlinfer_session_copy_output(cap->decoder, cap->dec_c_next, c, (size_t)state_size * sizeof(float)),
                  "reading c_next");
            token = argmax(logits, cap->vocab_size);
            if (token == cap->eos) break;
            tokens[*count] = token;
            cells[(*count)++] = argmax(attention, regions_count);
        }
        free(regions);
        free(h);
        free(c);
        free(logits);
        free(attention);
    }
    for (*grid = 1; *grid * *grid < regions_count; ++*grid) {
    }
    if (*grid * *grid != regions_count) {
        fprintf(stderr, "the attention covers %lld regions, not a square grid\n", (long long)regions_count);
        exit(1);
    }
    for (int i = 0; i < *count; i++) {
        if (tokens[i] < 0 || tokens[i] >= cap->vocab_size) {
            fprintf(stderr, "token %lld is not in the vocabulary\n", (long long)tokens[i]);
            exit(1);
        }
    }
}

int main(int argc, char** argv) {
    const char* device = NULL;
    const char* mode = "step";
    const char* models = "examples/models";
    const char* vocab_path = "examples/data/captioner_vocab.txt";
    const char* captions_path = NULL;
    const char* out_path = NULL;
    int first_image = argc;
    for (int i = 1; i < argc; i++) {
        int has_value = i + 1 < argc;
        if (has_value && strcmp(argv[i], "--device") == 0) device = argv[++i];
        else if (has_value && strcmp(argv[i], "--mode") == 0) mode = argv[++i];
        else if (has_value && strcmp(argv[i], "--models") == 0) models = argv[++i];
        else if (has_value && strcmp(argv[i], "--vocab") == 0) vocab_path = argv[++i];
        else if (has_value && strcmp(argv[i], "--captions") == 0) captions_path = argv[++i];
        else if (has_value && strcmp(argv[i], "--out") == 0) out_path = argv[++i];
        else if (argv[i][0] != '-' && !captions_path) {
            first_image = i;
            break;
        } else {
            first_image = -1;
            break;
        }
    }
    if (first_image < 0 || (strcmp(mode, "step") != 0 && strcmp(mode, "loop") != 0)) {
        fprintf(stderr, "usage: %s [--device DEVICE] [--mode step|loop] [--models DIR] [--vocab FILE] "
                        "[--out FILE.ppm] [--captions FILE | IMAGE.ppm ...]\n", argv[0]);
        return 2;
    }
    if (first_image == argc && !captions_path) captions_path = "examples/data/captioner/captions.txt";

    static char vocab[MAX_WORDS][WORD_LEN];
    captioner cap;
    memset(&cap, 0, sizeof cap);
    cap.loop = strcmp(mode, "loop") == 0;
    cap.bos = cap.eos = -1;
    FILE* f = fopen(vocab_path, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", vocab_path);
        return 1;
    }
    while (cap.vocab_size < MAX_WORDS && fscanf(f, "%31s", vocab[cap.vocab_size]) == 1) {
        if (strcmp(vocab[cap.vocab_size], "<bos>") == 0) cap.bos = cap.vocab_size;
        if (strcmp(vocab[cap.vocab_size], "<eos>") == 0) cap.eos = cap.vocab_size;
        cap.vocab_size++;
    }
    fclose(f);
    if (cap.bos < 0 || cap.eos < 0) {
        fprintf(stderr, "%s: the vocabulary lacks <bos> or <eos>\n", vocab_path);
        return 1;
    }

    dlinfer_model* model = NULL;
    dlinfer_session* shown = NULL;
    if (cap.loop) {
        cap.greedy = shown = open_session(models, "caption_greedy.onnx", device, &model);
        cap.greedy_image = io_index(model, 0, "image");
        cap.greedy_tokens = io_index(model, 1, "tokens");
        cap.greedy_attention = io_index(model, 1, "attention");
        dlinfer_model_release(model); /* the session keeps its own reference */
    } else {
        cap.encoder = shown = open_session(models, "caption_encoder.onnx", device, &model);
        cap.enc_image = io_index(model, 0, "image");
        cap.enc_regions = io_index(model, 1, "regions");
        cap.enc_h = io_index(model, 1, "h0");
        cap.enc_c = io_index(model, 1, "c0");
        dlinfer_model_release(model);
        cap.decoder = open_session(models, "caption_decoder_step.onnx", device, &model);
        cap.dec_token = io_index(model, 0, "token");
        cap.dec_h = io_index(model, 0, "h");
        cap.dec_c = io_index(model, 0, "c");
        cap.dec_regions = io_index(model, 0, "regions");
        cap.dec_logits = io_index(model, 1, "logits");
        cap.dec_attention = io_index(model, 1, "attention");
        cap.dec_h_next = io_index(model, 1, "h_next");
        cap.dec_c_next = io_index(model, 1, "c_next");
        dlinfer_model_release(model);
    }
    const char* device_name = NULL;
    check(dlinfer_session_device_name(shown, &device_name), "querying the device");
    printf("device: %s\nmode: %s\n", device_name, mode);

    FILE* list = NULL;
    char folder[4096] = ".";
    if (captions_path) {
        list = fopen(captions_path, "r");
        if (!list) {
            fprintf(stderr, "%s: cannot open\n", captions_path);
            return 1;
        }
        /* Image names are relative to the captions file's folder. */
        const char* slash = strrchr(captions_path, '/');
        if (slash) snprintf(folder, sizeof folder, "%.*s", (int)(slash - captions_path), captions_path);
    }
    int failures = 0;
    long total = 0, correct = 0;
    for (int next = first_image;;) {
        char name[1024], path[5200], reference[1024] = "", line[2048];
        if (list) {
            if (!fgets(line, sizeof line, list)) break;
            int used = 0;
            if (sscanf(line, "%1023s %n", name, &used) != 1) continue; /* a blank line */
            snprintf(reference, sizeof reference, "%s", line + used);
            reference[strcspn(reference, "\r\n")] = '\0';
            snprintf(path, sizeof path, "%s/%s", folder, name);
        } else {
            if (next >= argc) break;
            snprintf(name, sizeof name, "%s", argv[next]);
            snprintf(path, sizeof path, "%s", argv[next++]);
        }
        static unsigned char pixels[SIZE * SIZE * 3];
        if (read_ppm(path, pixels) != 0) {
            failures++;
            continue;
        }
        int64_t tokens[MAX_STEPS], cells[MAX_STEPS], grid;
        int count;
        caption(&cap, pixels, tokens, cells, &count, &grid);
        char text[MAX_STEPS * WORD_LEN + 1] = "";
        for (int i = 0; i < count; i++) {
            if (i) strcat(text, " ");
            strcat(text, vocab[tokens[i]]);
        }
        if (list) {
            int ok = strcmp(text, reference) == 0;
            total++;
            correct += ok;
            printf("%s: %s (reference %s)%s\n", name, text, reference, ok ? "" : " WRONG");
        } else {
            printf("%s: %s\n", name, text);
        }
        printf(" ");
        for (int i = 0; i < count; i++) {
            printf(" %s(%lld,%lld)", vocab[tokens[i]], (long long)(cells[i] / grid), (long long)(cells[i] % grid));
        }
        printf("\n");
        if (out_path) {
            if (write_annotated(out_path, pixels, cells, count, grid) != 0) failures++;
            else printf("wrote %s\n", out_path);
            out_path = NULL;
        }
    }
    if (list) fclose(list);
    if (total > 0) printf("accuracy: %.2f %% (%ld/%ld)\n", 100.0 * (double)correct / (double)total, correct, total);
    if (cap.greedy) dlinfer_session_destroy(cap.greedy);
    if (cap.encoder) dlinfer_session_destroy(cap.encoder);
    if (cap.decoder) dlinfer_session_destroy(cap.decoder);
    return failures == 0 ? 0 : 1;
}
