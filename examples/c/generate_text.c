/*
 * Generates text one character at a time with the character-level LSTM examples/models/char_rnn.onnx through the
 * dlinfer C API: the prompt goes through the model in one call, then each sampled character is fed back in a call
 * of its own, with the LSTM state (hn, cn) of one call passed as the next call's h0, c0.
 *
 *   generate_text [--device DEVICE] [--model MODEL] [--vocab FILE] [--prompt TEXT] [-n COUNT]
 *                 [--temperature T] [--seed S]
 *
 * Defaults: examples/models/char_rnn.onnx, examples/data/char_rnn_vocab.txt (run from the repository root),
 * prompt "This License ", 200 characters, temperature 0.7, seed 1. Temperature 0 is greedy (the most likely
 * character every step, deterministic). Without --device the library uses $DLINFER_DEVICE, else picks automatically.
 * Prints the prompt and its continuation on stdout, the device on stderr.
 * Model contract: inputs "tokens" int64 [N,T], "h0" and "c0" float32 [layers,N,hidden]; outputs "logits" float32
 * [N,T,vocab], "hn" and "cn" like h0. The vocabulary file holds the characters in token order, byte i = token i.
 */
#include <dlinfer.h>

#include <math.h>
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

static int32_t io_index(const dlinfer_model* model, int32_t is_output, const char* name) {
    int32_t index;
    char what[64];
    snprintf(what, sizeof what, "finding %s '%s'", is_output ? "output" : "input", name);
    check(dlinfer_model_io_index(model, is_output, name, &index), what);
    return index;
}

/* xorshift64*: a small, seedable generator so a run can be repeated. */
static uint64_t rng_state;
static double uniform01(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0; /* 53 bits / 2^53 */
}

/* The next token: the most likely one when temperature is 0 (lowest index on ties), else a draw from
 * softmax(logits / temperature). */
static int64_t pick(const float* logits, int64_t vocab, double temperature) {
    int64_t best = 0;
    for (int64_t i = 1; i < vocab; i++) {
        if (logits[i] > logits[best]) best = i;
    }
    if (temperature <= 0) return best;
    double total = 0;
    for (int64_t i = 0; i < vocab; i++) total += exp((logits[i] - logits[best]) / temperature);
    double u = uniform01() * total;
    for (int64_t i = 0; i < vocab; i++) {
        u -= exp((logits[i] - logits[best]) / temperature);
        if (u < 0) return i;
    }
    return best; /* rounding left u a hair above 0 */
}

int main(int argc, char** argv) {
    const char* device = NULL;
    const char* model_path = "examples/models/char_rnn.onnx";
    const char* vocab_path = "examples/data/char_rnn_vocab.txt";
    const char* prompt = "This License ";
    long count = 200;
    double temperature = 0.7;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        int has_value = i + 1 < argc;
        if (has_value && strcmp(argv[i], "--device") == 0) device = argv[++i];
        else if (has_value && strcmp(argv[i], "--model") == 0) model_path = argv[++i];
        else if (has_value && strcmp(argv[i], "--vocab") == 0) vocab_path = argv[++i];
        else if (has_value && strcmp(argv[i], "--prompt") == 0) prompt = argv[++i];
        else if (has_value && strcmp(argv[i], "-n") == 0) count = strtol(argv[++i], NULL, 10);
        else if (has_value && strcmp(argv[i], "--temperature") == 0) temperature = strtod(argv[++i], NULL);
        else if (has_value && strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--device DEVICE] [--model MODEL] [--vocab FILE] [--prompt TEXT] [-n COUNT] "
                            "[--temperature T] [--seed S]\n", argv[0]);
            return 2;
        }
    }
    if (count < 0 || temperature < 0 || prompt[0] == '\0') {
        fprintf(stderr, "the count and temperature must not be negative, and the prompt not empty\n");
        return 2;
    }
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1; /* never 0, which xorshift would keep */

    char vocab[256];
    FILE* f = fopen(vocab_path, "rb");
    size_t vocab_size = f ? fread(vocab, 1, sizeof vocab, f) : 0;
    if (f) fclose(f);
    if (vocab_size == 0) {
        fprintf(stderr, "%s: cannot read the vocabulary\n", vocab_path);
        return 1;
    }
    int64_t prompt_len = (int64_t)strlen(prompt);
    int64_t* tokens = malloc((size_t)prompt_len * sizeof(int64_t));
    for (int64_t i = 0; i < prompt_len; i++) {
        const char* at = memchr(vocab, prompt[i], vocab_size);
        if (!at) {
            fprintf(stderr, "the prompt's byte %lld (0x%02x) is not in the vocabulary\n", (long long)i,
                    (unsigned)(unsigned char)prompt[i]);
            return 1;
        }
        tokens[i] = at - vocab;
    }

    dlinfer_model* model = NULL;
    check(dlinfer_model_load_file(model_path, &model), "loading the model");
    dlinfer_options* options = NULL;
    check(dlinfer_options_create(&options), "creating options");
    if (device) check(dlinfer_options_set(options, "device", device), "setting the device");
    dlinfer_session* session = NULL;
    check(dlinfer_session_create(model, options, &session), "creating the session");
    dlinfer_options_destroy(options);
    int32_t in_tokens = io_index(model, 0, "tokens"), in_h = io_index(model, 0, "h0"), in_c = io_index(model, 0, "c0");
    int32_t out_logits = io_index(model, 1, "logits");
    int32_t out_h = io_index(model, 1, "hn"), out_c = io_index(model, 1, "cn");
    /* The state's shape [layers, N, hidden] comes from the model; N is 1 here. */
    int32_t dtype, rank;
    int64_t state_dims[3];
    check(dlinfer_model_io_type(model, 0, in_h, &dtype, &rank, state_dims, 3), "querying h0");
    dlinfer_model_release(model); /* the session keeps its own reference */
    if (rank != 3 || state_dims[0] < 1 || state_dims[2] < 1) {
        fprintf(stderr, "h0 is not [layers, N, hidden] with fixed layers and hidden\n");
        return 1;
    }
    state_dims[1] = 1;
    size_t state_bytes = (size_t)(state_dims[0] * state_dims[2]) * sizeof(float);
    float* h = calloc(1, state_bytes);
    float* c = calloc(1, state_bytes);
    const char* device_name = NULL;
    check(dlinfer_session_device_name(session, &device_name), "querying the device");
    fprintf(stderr, "device: %s\n", device_name);

    fputs(prompt, stdout);
    float* logits = NULL;
    int64_t steps = prompt_len;
    for (long generated = 0; generated < count; generated++) {
        int64_t token_dims[2] = {1, steps};
        check(dlinfer_session_set_input(session, in_tokens, DLINFER_DTYPE_INT64, token_dims, 2, tokens,
                                        (size_t)steps * sizeof(int64_t)), "setting the tokens");
        check(dlinfer_session_set_input(session, in_h, DLINFER_DTYPE_FLOAT32, state_dims, 3, h, state_bytes),
              "setting h0");
        check(dlinfer_session_set_input(session, in_c, DLINFER_DTYPE_FLOAT32, state_dims, 3, c, state_bytes),
              "setting c0");
        check(dlinfer_session_run(session), "running");
        int64_t dims[3];
        check(dlinfer_session_output_type(session, out_logits, &dtype, &rank, dims, 3), "querying the logits");
        if (rank != 3 || dims[0] != 1 || dims[1] != steps || dims[2] != (int64_t)vocab_size) {
            fprintf(stderr, "the logits are not [1, %lld, %zu]\n", (long long)steps, vocab_size);
            return 1;
        }
        size_t logits_bytes = (size_t)(steps * dims[2]) * sizeof(float);
        logits = realloc(logits, logits_bytes);
        check(dlinfer_session_copy_output(session, out_logits, logits, logits_bytes), "reading the logits");
        check(dlinfer_session_copy_output(session, out_h, h, state_bytes), "reading hn");
        check(dlinfer_session_copy_output(session, out_c, c, state_bytes), "reading cn");
        /* Only the last step's logits predict the next character, which is the next call's only token. */
        tokens[0] = pick(logits + (steps - 1) * dims[2], dims[2], temperature);
        steps = 1;
        putchar(vocab[tokens[0]]);
    }
    putchar('\n');

    free(logits);
    free(tokens);
    free(h);
    free(c);
    dlinfer_session_destroy(session);
    return 0;
}
