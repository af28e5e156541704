#define _POSIX_C_SOURCE 200809L

#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Triton writes configurations a few levels deep; the bound keeps a hostile file from exhausting the stack. */
#define JSON_MAX_DEPTH 64

typedef struct {
    const char* p;
    const char* start;
    const char* end;
    char* err;
    size_t err_cap;
    bool failed;
} reader;

static void fail(reader* r, const char* what) {
    if (r->failed) return;
    r->failed = true;
    snprintf(r->err, r->err_cap, "invalid JSON at byte %zu: %s", (size_t)(r->p - r->start), what);
}

static void skip_space(reader* r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

json_value* json_new(json_kind kind) {
    json_value* v = calloc(1, sizeof *v);
    if (v) v->kind = kind;
    return v;
}

void json_free(json_value* v) {
    if (!v) return;
    for (size_t i = 0; i < v->count; i++) {
        json_free(v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->text);
    free(v);
}

static bool grow(json_value* v) {
    if (v->count < v->cap) return true;
    size_t cap = v->cap ? v->cap * 2 : 4;
    json_value** items = realloc(v->items, cap * sizeof *items);
    if (!items) return false;
    v->items = items;
    if (v->kind == JSON_OBJECT) {
        char** keys = realloc(v->keys, cap * sizeof *keys);
        if (!keys) return false;
        v->keys = keys;
    }
    v->cap = cap;
    return true;
}

static void put_utf8(char* out, size_t* n, uint32_t c) {
    if (c < 0x80) {
        out[(*n)++] = (char)c;
    } else if (c < 0x800) {
        out[(*n)++] = (char)(0xC0 | (c >> 6));
        out[(*n)++] = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out[(*n)++] = (char)(0xE0 | (c >> 12));
        out[(*n)++] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (c & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | (c >> 18));
        out[(*n)++] = (char)(0x80 | ((c >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (c & 0x3F));
    }
}

static bool hex4(reader* r, uint32_t* out) {
    if (r->end - r->p < 4) return false;
    uint32_t c = 0;
    for (int i = 0; i < 4; i++) {
        char h = r->p[i];
        c <<= 4;
        if (h >= '0' && h <= '9') c |= (uint32_t)(h - '0');
        else if (h >= 'a' && h <= 'f') c |= (uint32_t)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F') c |= (uint32_t)(h - 'A' + 10);
        else return false;
    }
    r->p += 4;
    *out = c;
    return true;
}

/* Reads a string after its opening quote. Escapes never lengthen the text, so the input length bounds the output. */
static char* read_string(reader* r) {
    const char* close = r->p;
    while (close < r->end && *close != '"') close += (*close == '\\' && close + 1 < r->end) ? 2 : 1;
    if (close >= r->end) { fail(r, "unterminated string"); return NULL; }
    char* out = malloc((size_t)(close - r->p) + 1);
    if (!out) { fail(r, "out of memory"); return NULL; }
    size_t n = 0;
    while (*r->p != '"') {
        unsigned char c = (unsigned char)*r->p++;
        if (c < 0x20) { fail(r, "control character in string"); free(out); return NULL; }
        if (c != '\\') { out[n++] = (char)c; continue; }
        char e = *r->p++;
        switch (e) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (!hex4(r, &cp)) { fail(r, "bad \\u escape"); free(out); return NULL; }
            if (cp >= 0xD800 && cp < 0xDC00) {
                uint32_t low;
                if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u') { fail(r, "lone surrogate"); free(out); return NULL; }
                r->p += 2;
                if (!hex4(r, &low) || low < 0xDC00 || low > 0xDFFF) { fail(r, "bad surrogate pair"); free(out); return NULL; }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                fail(r, "lone surrogate"); free(out); return NULL;
            }
            /* Names become C strings: an embedded NUL would silently cut them. */
            if (cp == 0) { fail(r, "\\u0000 in string"); free(out); return NULL; }
            put_utf8(out, &n, cp);
            break;
        }
        default: fail(r, "bad escape"); free(out); return NULL;
        }
    }
    r->p++;
    out[n] = '\0';
    return out;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static json_value* parse_value(reader* r, int depth);

static json_value* parse_container(reader* r, int depth, bool object) {
    json_value* v = json_new(object ? JSON_OBJECT : JSON_ARRAY);
    if (!v) { fail(r, "out of memory"); return NULL; }
    r->p++;
    skip_space(r);
    char close = object ? '}' : ']';
    if (r->p < r->end && *r->p == close) { r->p++; return v; }
    for (;;) {
        char* key = NULL;
        skip_space(r);
        if (object) {
            if (r->p >= r->end || *r->p != '"') { fail(r, "expected a member name"); break; }
            r->p++;
            if (!(key = read_string(r))) break;
            skip_space(r);
            if (r->p >= r->end || *r->p != ':') { fail(r, "expected ':'"); free(key); break; }
            r->p++;
        }
        json_value* item = parse_value(r, depth + 1);
        if (!item) { free(key); break; }
        if (!grow(v)) { fail(r, "out of memory"); free(key); json_free(item); break; }
        v->items[v->count] = item;
        if (object) v->keys[v->count] = key;
        v->count++;
        skip_space(r);
        if (r->p < r->end && *r->p == ',') { r->p++; continue; }
        if (r->p < r->end && *r->p == close) { r->p++; return v; }
        fail(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
        break;
    }
    json_free(v);
    return NULL;
}

static json_value* parse_value(reader* r, int depth) {
    if (depth > JSON_MAX_DEPTH) { fail(r, "nested too deeply"); return NULL; }
    skip_space(r);
    if (r->p >= r->end) { fail(r, "unexpected end"); return NULL; }
    char c = *r->p;
    if (c == '{' || c == '[') return parse_container(r, depth, c == '{');
    if (c == '"') {
        r->p++;
        char* s = read_string(r);
        if (!s) return NULL;
        json_value* v = json_new(JSON_STRING);
        if (!v) { free(s); fail(r, "out of memory"); return NULL; }
        v->text = s;
        return v;
    }
    static const struct { const char* word; json_kind kind; bool value; } words[] = {
        {"true", JSON_BOOL, true}, {"false", JSON_BOOL, false}, {"null", JSON_NULL, false}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].word);
        if ((size_t)(r->end - r->p) >= n && memcmp(r->p, words[i].word, n) == 0) {
            r->p += n;
            json_value* v = json_new(words[i].kind);
            if (!v) { fail(r, "out of memory"); return NULL; }
            v->boolean = words[i].value;
            return v;
        }
    }
    const char* start = r->p;
    if (r->p < r->end && *r->p == '-') r->p++;
    if (r->p >= r->end || !is_digit(*r->p)) { fail(r, "unexpected character"); return NULL; }
    if (*r->p == '0') r->p++;
    else while (r->p < r->end && is_digit(*r->p)) r->p++;
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        if (r->p >= r->end || !is_digit(*r->p)) { fail(r, "bad number"); return NULL; }
        while (r->p < r->end && is_digit(*r->p)) r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-')) r->p++;
        if (r->p >= r->end || !is_digit(*r->p)) { fail(r, "bad number"); return NULL; }
        while (r->p < r->end && is_digit(*r->p)) r->p++;
    }
    json_value* v = json_new(JSON_NUMBER);
    if (!v || !(v->text = malloc((size_t)(r->p - start) + 1))) { free(v); fail(r, "out of memory"); return NULL; }
    memcpy(v->text, start, (size_t)(r->p - start));
    v->text[r->p - start] = '\0';
    return v;
}

json_value* json_parse(const char* text, size_t length, char* err, size_t err_cap) {
    reader r = {text, text, text + length, err, err_cap, false};
    json_value* v = parse_value(&r, 0);
    if (!v) return NULL;
    skip_space(&r);
    if (r.p != r.end) { fail(&r, "trailing characters"); json_free(v); return NULL; }
    return v;
}

json_value* json_get(const json_value* object, const char* key) {
    if (!object || object->kind != JSON_OBJECT) return NULL;
    for (size_t i = 0; i < object->count; i++)
        if (strcmp(object->keys[i], key) == 0) return object->items[i];
    return NULL;
}

const char* json_get_string(const json_value* object, const char* key) {
    json_value* v = json_get(object, key);
    return v && v->kind == JSON_STRING ? v->text : NULL;
}

bool json_as_int(const json_value* v, int64_t* out) {
    if (!v || (v->kind != JSON_NUMBER && v->kind != JSON_STRING)) return false;
    const char* s = v->text;
    char* end;
    if (!*s) return false;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (*end != '\0' || errno == ERANGE) return false;
    *out = (int64_t)n;
    return true;
}

json_value* json_new_string(const char* text) {
    json_value* v = json_new(JSON_STRING);
    if (v && !(v->text = strdup(text))) { free(v); return NULL; }
    return v;
}

json_value* json_new_int(int64_t number) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, number);
    json_value* v = json_new(JSON_NUMBER);
    if (v && !(v->text = strdup(buf))) { free(v); return NULL; }
    return v;
}

bool json_push(json_value* array, json_value* item) {
    if (!item || !grow(array)) { json_free(item); return false; }
    array->items[array->count++] = item;
    return true;
}

bool json_set(json_value* object, const char* key, json_value* value) {
    if (!value) return false;
    for (size_t i = 0; i < object->count; i++) {
        if (strcmp(object->keys[i], key) == 0) {
            json_free(object->items[i]);
            object->items[i] = value;
            return true;
        }
    }
    char* k = strdup(key);
    if (!k || !grow(object)) { free(k); json_free(value); return false; }
    object->keys[object->count] = k;
    object->items[object->count++] = value;
    return true;
}

typedef struct {
    char* data;
    size_t length;
    size_t cap;
    bool failed;
} writer;

static void emit(writer* w, const char* s, size_t n) {
    if (w->failed) return;
    if (w->length + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->length + n + 1) cap *= 2;
        char* data = realloc(w->data, cap);
        if (!data) { w->failed = true; return; }
        w->data = data;
        w->cap = cap;
    }
    memcpy(w->data + w->length, s, n);
    w->length += n;
    w->data[w->length] = '\0';
}

static void emit_string(writer* w, const char* s) {
    emit(w, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; emit(w, esc, 2); }
        else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); emit(w, esc, 6); }
        else emit(w, (const char*)&c, 1);
    }
    emit(w, "\"", 1);
}

static void emit_value(writer* w, const json_value* v) {
    switch (v->kind) {
    case JSON_NULL: emit(w, "null", 4); break;
    case JSON_BOOL: v->boolean ? emit(w, "true", 4) : emit(w, "false", 5); break;
    case JSON_NUMBER: emit(w, v->text, strlen(v->text)); break;
    case JSON_STRING: emit_string(w, v->text); break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        emit(w, v->kind == JSON_ARRAY ? "[" : "{", 1);
        for (size_t i = 0; i < v->count; i++) {
            if (i) emit(w, ",", 1);
            if (v->kind == JSON_OBJECT) { emit_string(w, v->keys[i]); emit(w, ":", 1); }
            emit_value(w, v->items[i]);
        }
        emit(w, v->kind == JSON_ARRAY ? "]" : "}", 1);
        break;
    }
}

char* json_write(const json_value* value, size_t* out_length) {
    writer w = {0};
    emit_value(&w, value);
    if (w.failed) { free(w.data); return NULL; }
    if (out_length) *out_length = w.length;
    return w.data;
}
