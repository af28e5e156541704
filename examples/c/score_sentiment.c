/*
 * Scores sentences with the Keras-built sentiment model (Embedding + Bidirectional(LSTM) + Dense + Dense(sigmoid),
 * examples/models/keras_sentiment.onnx) through the dlinfer C API: prints the score (probability of positive) and
 * the verdict for each sentence.
 *
 *   score_sentiment [--device DEVICE] [--model MODEL] [--vocab FILE] [--sentences FILE] [SENTENCE ...]
 *
 * Without SENTENCE arguments the sentences are the lines of --sentences (default examples/data/sentiment_sentences.txt).
 * Paths default to examples/... (run from the repository root). Without --device the library uses $DLINFER_DEVICE,
 * else picks automatically.
 * Tokens: runs of ASCII letters and apostrophes, lower-cased; the id of a token is its line number (from 0) in the
 * vocabulary file, unknown words get the id of "<unk>". Model contract: input "tokens" int64 [N,T] (both dynamic:
 * each sentence is scored on its own, without padding); output "score" float32 [N,1].
 */
#include <dlinfer.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_LINE = 4096 };

/* Prints the failed call's status and message and exits. */
static void check(dlinfer_status status, const char* what) {
    if (status != DLINFER_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, dlinfer_status_name(status), dlinfer_last_error());
        exit(1);
    }
}

static void* checked_malloc(size_t n) {
    void* p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* The lines of a text file without their line ends; *count is set. Exits with a message if it cannot be read. */
static char** read_lines(const char* path, size_t* count) {
    FILE* f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    size_t cap = 64;
    char** lines = checked_malloc(cap * sizeof *lines);
    char buf[MAX_LINE];
    *count = 0;
    while (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        if (*count == cap) {
            cap *= 2;
            lines = realloc(lines, cap * sizeof *lines);
            if (!lines) {
                fprintf(stderr, "out of memory\n");
                exit(1);
            }
        }
        lines[*count] = checked_malloc(strlen(buf) + 1);
        strcpy(lines[(*count)++], buf);
    }
    fclose(f);
    return lines;
}

static int is_token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '\'';
}

/* Token ids of `text` into ids (room for strlen(text) ids); returns how many. */
static size_t tokenize(const char* text, char** vocab, size_t vocab_size, int64_t unk, int64_t* ids) {
    size_t n = 0;
    char word[MAX_LINE];
    for (const char* p = text; *p;) {
        if (!is_token_char(*p)) {
            p++;
            continue;
        }
        size_t len = 0;
        while (is_token_char(*p) && len + 1 < sizeof word) {
            char c = *p++;
            word[len++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        word[len] = '\0';
        ids[n] = unk;
        for (size_t k = 0; k < vocab_size; k++) {
            if (strcmp(vocab[k], word) == 0) {
                ids[n] = (int64_t)k;
                break;
            }
        }
        n++;
    }
    return n;
}

int main(int argc, char** argv) {
    const char* device = NULL;
    const char* model_path = "examples/models/keras_sentiment.onnx";
    const char* vocab_path = "examples/data/sentiment_vocab.txt";
    const char* sentences_path = "examples/data/sentiment_sentences.txt";
    int first_sentence = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            device = argv[++i];
        } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            model_path = argv[++i];
        } else if (strcmp(argv[i], "--vocab") == 0 && i + 1 < argc) {
            vocab_path = argv[++i];
        } else if (strcmp(argv[i], "--sentences") == 0 && i + 1 < argc) {
            sentences_path = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: %s [--device DEVICE] [--model MODEL] [--vocab FILE] [--sentences FILE] "
                            "[SENTENCE ...]\n", argv[0]);
            return 2;
        } else {
            first_sentence = i;
            break;
        }
    }

    size_t vocab_size, sentence_count;
    char** vocab = read_lines(vocab_path, &vocab_size);
    int64_t unk = -1;
    for (size_t k = 0; k < vocab_size; k++) {
        if (strcmp(vocab[k], "<unk>") == 0) unk = (int64_t)k;
    }
    if (unk < 0) {
        fprintf(stderr, "%s has no <unk> token\n", vocab_path);
        return 1;
    }
    char** sentences;
    if (first_sentence < argc) {
        sentences = argv + first_sentence;
        sentence_count = (size_t)(argc - first_sentence);
    } else {
        sentences = read_lines(sentences_path, &sentence_count);
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
    check(dlinfer_model_io_index(model, 0, "tokens", &input), "finding input 'tokens'");
    check(dlinfer_model_io_index(model, 1, "score", &output), "finding output 'score'");
    dlinfer_model_release(model); /* the session keeps its own reference */
    const char* device_name = NULL;
    check(dlinfer_session_device_name(session, &device_name), "querying the device");
    printf("device: %s\n", device_name);

    int status = 0;
    for (size_t s = 0; s < sentence_count; s++) {
        int64_t* ids = checked_malloc((strlen(sentences[s]) + 1) * sizeof *ids);
        size_t n = tokenize(sentences[s], vocab, vocab_size, unk, ids);
        if (n == 0) {
            fprintf(stderr, "no words in \"%s\"\n", sentences[s]);
            status = 1;
        } else {
            /* One sentence per run, [1, T]: a new T is a new shape, which the session plans for and caches. */
            int64_t dims[2] = {1, (int64_t)n};
            check(dlinfer_session_set_input(session, input, DLINFER_DTYPE_INT64, dims, 2, ids, n * sizeof *ids),
                  "setting the tokens");
            check(dlinfer_session_run(session), "running");
            float score;
            check(dlinfer_session_copy_output(session, output, &score, sizeof score), "reading the score");
            printf("%.6f %s: %s\n", score, score >= 0.5f ? "positive" : "negative", sentences[s]);
        }
        free(ids);
    }

    dlinfer_session_destroy(session);
    for (size_t k = 0; k < vocab_size; k++) free(vocab[k]);
    free(vocab);
    if (first_sentence >= argc) {
        for (size_t s = 0; s < sentence_count; s++) free(sentences[s]);
        free(sentences);
    }
    return status;
}
