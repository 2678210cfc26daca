/*
 * json.h: a small pull scanner for plugin configuration JSON.
 *
 * Enough for objects whose fields are strings, integers, arrays of strings
 * and nested objects; any other value can be skipped. Strings are decoded
 * (all JSON escapes, \uXXXX to UTF-8 including surrogate pairs) into
 * pw_malloc'd, NUL-terminated copies. Nesting is capped at JSON_MAX_DEPTH so
 * a hostile document cannot exhaust the stack.
 */
#ifndef SWITCHYARD_JSON_H
#define SWITCHYARD_JSON_H

#include "proxy_wasm.h"

#define JSON_MAX_DEPTH 32

typedef struct {
  const char *p;
  const char *end;
  int failed;
  /* open objects/arrays, and per level whether no element was read yet */
  int depth;
  u8 first[JSON_MAX_DEPTH];
} json_t;

void json_init(json_t *j, const char *s, size_t n);

/* Next non-whitespace byte, or -1 at the end (does not consume it). */
int json_peek(json_t *j);
/* Consume c (after whitespace); on mismatch mark failed and return 0. */
int json_expect(json_t *j, char c);

/* Object iteration:
 *   if (!json_object_begin(&j)) fail;
 *   while (json_object_next(&j, &key, &keylen)) { ...read or skip value... }
 *   if (j.failed) fail;
 * key is pw_malloc'd; the caller frees it. */
int json_object_begin(json_t *j);
int json_object_next(json_t *j, char **key, size_t *keylen);

/* Same pattern for arrays: json_array_next returns 1 while an element follows. */
int json_array_begin(json_t *j);
int json_array_next(json_t *j);

/* Values. Each returns 1 on success, 0 (and marks failed) otherwise. */
int json_string(json_t *j, char **out, size_t *len);
int json_int(json_t *j, long long *out); /* integers only: no fraction or exponent */
int json_bool(json_t *j, int *out);
int json_skip(json_t *j);

/* Index of key in names[0..n), or -1. Used to dispatch on object keys. */
int json_key_index(const char *key, size_t keylen, const char *const *names,
                   int n);

/* Object keys already seen, as a bit set over json_key_index results;
 * json_key_seen returns 1 (and records nothing) for a repeated key. */
int json_key_seen(u32 *seen, int index);

/* 1 when only whitespace remains and nothing failed. */
int json_done(json_t *j);

#endif
