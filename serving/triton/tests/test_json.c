/* The configuration reader's JSON parser on valid, malformed and hostile text, built with ASan and UBSan
 * (make -C serving/triton test-json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/json.h"

static int failures = 0;
#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                     \
        }                                                                   \
    } while (0)

static json_value* parse(const char* text, char* err) { return json_parse(text, strlen(text), err, 256); }

static void test_reads_a_model_config(void) {
    char err[256];
    json_value* v = parse(" {\"name\":\"digits\",\"max_batch_size\":64,\"input\":[{\"dims\":[\"1\",\"-1\"]}],"
                          "\"ok\":true,\"none\":null,\"x\":-1.5e3} ", err);
    CHECK(v && v->kind == JSON_OBJECT && v->count == 6);
    CHECK(strcmp(json_get_string(v, "name"), "digits") == 0);
    int64_t n = 0;
    CHECK(json_as_int(json_get(v, "max_batch_size"), &n) && n == 64);
    const json_value* dims = json_get(json_get(v, "input")->items[0], "dims");
    CHECK(json_as_int(dims->items[0], &n) && n == 1);
    CHECK(json_as_int(dims->items[1], &n) && n == -1);
    CHECK(!json_as_int(json_get(v, "x"), &n));
    CHECK(!json_as_int(json_get(v, "ok"), &n));
    CHECK(json_get(v, "missing") == NULL && json_get_string(v, "max_batch_size") == NULL);
    size_t length;
    char* text = json_write(v, &length);
    const char* want = "{\"name\":\"digits\",\"max_batch_size\":64,\"input\":[{\"dims\":[\"1\",\"-1\"]}],\"ok\":true,"
                       "\"none\":null,\"x\":-1.5e3}";
    CHECK(text && strcmp(text, want) == 0 && length == strlen(want));
    free(text);
    json_free(v);
}

static void test_escapes_round_trip(void) {
    char err[256];
    json_value* v = parse("\"a\\\"b\\\\c\\/\\n\\t\\u00e9\\u20ac\\ud83d\\ude00\"", err);
    CHECK(v && v->kind == JSON_STRING);
    CHECK(v && strcmp(v->text, "a\"b\\c/\n\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") == 0);
    char* text = v ? json_write(v, NULL) : NULL;
    CHECK(text && strcmp(text, "\"a\\\"b\\\\c/\\u000a\\u0009\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"") == 0);
    free(text);
    json_free(v);
}

static void test_building_and_replacing(void) {
    json_value* o = json_new(JSON_OBJECT);
    json_value* a = json_new(JSON_ARRAY);
    for (int i = 0; i < 100; i++) CHECK(json_push(a, json_new_int(i - 50)));
    CHECK(json_set(o, "dims", a));
    CHECK(json_set(o, "name", json_new_string("x")));
    CHECK(json_set(o, "name", json_new_string("y")));
    CHECK(o->count == 2 && strcmp(json_get_string(o, "name"), "y") == 0);
    int64_t n;
    CHECK(json_as_int(json_get(o, "dims")->items[99], &n) && n == 49);
    json_free(o);
}

static void test_rejects_malformed_text(void) {
    const char* bad[] = {"", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "[1 2]", "\"\\u0000\"", "\"\\ud800\"",
                         "\"\\udc00x\"", "\"\\x\"", "\"abc", "\"a\nb\"", "01", "1.", "-", "1e", "tru", "nul",
                         "{} x", "{1:2}", "\"\\u12\"", "[\"a\",]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        json_value* v = parse(bad[i], err);
        if (v) fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK(v == NULL && strstr(err, "invalid JSON at byte") == err);
    }
    /* Not NUL-terminated: the parser must stay inside the given length. */
    char* cut = malloc(3);
    memcpy(cut, "[12", 3);
    char err[256];
    CHECK(json_parse(cut, 3, err, sizeof err) == NULL);
    memcpy(cut, "\"\\u", 3);
    CHECK(json_parse(cut, 3, err, sizeof err) == NULL);
    free(cut);
}

static void test_deep_nesting_is_refused_not_a_stack_overflow(void) {
    size_t depth = 100000;
    char* text = malloc(2 * depth + 1);
    memset(text, '[', depth);
    memset(text + depth, ']', depth);
    text[2 * depth] = '\0';
    char err[256];
    CHECK(json_parse(text, 2 * depth, err, sizeof err) == NULL && strstr(err, "nested too deeply"));
    json_value* ok = json_parse(text + depth - 60, 120, err, sizeof err);
    CHECK(ok != NULL);
    json_free(ok);
    free(text);
}

int main(void) {
    test_reads_a_model_config();
    test_escapes_round_trip();
    test_building_and_replacing();
    test_rejects_malformed_text();
    test_deep_nesting_is_refused_not_a_stack_overflow();
    if (failures) return 1;
    printf("json: all checks passed\n");
    return 0;
}
