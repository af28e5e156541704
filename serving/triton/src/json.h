/* A small JSON reader and writer for Triton's model configuration (the protobuf ModelConfig as JSON). */
#ifndef DLINFER_TRITON_JSON_H
#define DLINFER_TRITON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_kind;

typedef struct json_value json_value;
struct json_value {
    json_kind kind;
    bool boolean;
    char* text;          /* a string's contents, or a number's text as written (so integers keep every digit) */
    size_t count;        /* array items or object members */
    size_t cap;          /* slots allocated in items (and keys) */
    json_value** items;  /* array items; object member values */
    char** keys;         /* object member names, in document order */
};

/* Parses `length` bytes. NULL on failure with a message (position included) in err. */
json_value* json_parse(const char* text, size_t length, char* err, size_t err_cap);
void json_free(json_value* value);

/* The member `key` of an object; NULL when `object` is not an object or has no such member. */
json_value* json_get(const json_value* object, const char* key);
/* A string member's text, or NULL. */
const char* json_get_string(const json_value* object, const char* key);
/* An integer given as a number or, as protobuf's JSON writes 64-bit fields, as a string of digits. */
bool json_as_int(const json_value* value, int64_t* out);

/* Building (each returns NULL when out of memory; a container takes ownership of what is added to it). */
json_value* json_new(json_kind kind);
json_value* json_new_string(const char* text);
json_value* json_new_int(int64_t number);
bool json_push(json_value* array, json_value* item);
/* Adds or replaces member `key`. */
bool json_set(json_value* object, const char* key, json_value* value);

/* Compact JSON text (malloc'd; free it), or NULL when out of memory. */
char* json_write(const json_value* value, size_t* out_length);

#endif
