/*
 * proxy_wasm.h: the slice of the proxy-wasm ABI v0.2.1 that Switchyard's C
 * plugins use, plus the freestanding runtime they share (memory functions,
 * allocator, logging helpers).
 *
 * Built with `clang --target=wasm32 -ffreestanding -nostdlib`: there is no
 * libc, so everything a plugin needs is declared here and defined in
 * runtime.c. Every host function lives in import module "env"; the only WASI
 * import is clock_time_get (module "wasi_snapshot_preview1").
 */
#ifndef SWITCHYARD_PROXY_WASM_H
#define SWITCHYARD_PROXY_WASM_H

typedef unsigned char u8;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;
typedef unsigned long size_t; /* wasm32: 32 bits */
typedef unsigned long uintptr_t;

#define NULL ((void *)0)

#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))
#define EXPORT(name) __attribute__((export_name(#name)))

/* proxy_status_t */
enum {
  PW_OK = 0,
  PW_NOT_FOUND = 1,
  PW_BAD_ARGUMENT = 2,
  PW_INVALID_MEMORY_ACCESS = 6,
  PW_EMPTY = 7,
  PW_INTERNAL_FAILURE = 10,
  PW_UNIMPLEMENTED = 12,
};

/* HTTP callback results: Continue, or Pause (StopIteration). */
enum { PW_CONTINUE = 0, PW_PAUSE = 1 };

/* Header map types and buffer types used here. */
enum { PW_MAP_REQUEST_HEADERS = 0, PW_MAP_RESPONSE_HEADERS = 2 };
enum {
  PW_BUFFER_REQUEST_BODY = 0,
  PW_BUFFER_RESPONSE_BODY = 1,
  PW_BUFFER_PLUGIN_CONFIGURATION = 7,
};

/* Log levels for proxy_log. */
enum {
  PW_LOG_TRACE = 0,
  PW_LOG_DEBUG = 1,
  PW_LOG_INFO = 2,
  PW_LOG_WARN = 3,
  PW_LOG_ERROR = 4,
  PW_LOG_CRITICAL = 5,
};

/* ---- host functions (module "env") ---- */

IMPORT(proxy_log)
u32 proxy_log(u32 level, const char *msg, size_t msg_len);

IMPORT(proxy_get_buffer_bytes)
u32 proxy_get_buffer_bytes(u32 buffer_type, u32 start, u32 max_size,
                           char **out_ptr, size_t *out_size);

IMPORT(proxy_get_header_map_value)
u32 proxy_get_header_map_value(u32 map_type, const char *key, size_t key_len,
                               char **out_ptr, size_t *out_size);

IMPORT(proxy_replace_header_map_value)
u32 proxy_replace_header_map_value(u32 map_type, const char *key,
                                   size_t key_len, const char *value,
                                   size_t value_len);

IMPORT(proxy_remove_header_map_value)
u32 proxy_remove_header_map_value(u32 map_type, const char *key,
                                  size_t key_len);

IMPORT(proxy_send_local_response)
u32 proxy_send_local_response(u32 status, const char *details,
                              size_t details_len, const char *body,
                              size_t body_len, const char *headers,
                              size_t headers_len, i32 grpc_status);

IMPORT(proxy_get_current_time_nanoseconds)
u32 proxy_get_current_time_nanoseconds(u64 *out_ns);

/* ---- runtime.c ---- */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* Size-class allocator over linear memory; NULL when memory cannot grow. */
void *pw_malloc(size_t n);
void pw_free(void *p);
/* Copy of [s, s+n) with a trailing NUL (not counted in n). */
char *pw_strndup(const char *s, size_t n);

/* RFC 9110 field name (a token: no pseudo-header colon, no spaces) and
 * field value (no NUL, CR or LF), so a configured header cannot smuggle a
 * second header line. */
int pw_valid_header_name(const char *s, size_t n);
int pw_valid_header_value(const char *s, size_t n);

/* Lowercase ASCII letters in place. */
void pw_lower(char *s, size_t n);

/* proxy_log with a NUL-terminated message. */
void pw_log(u32 level, const char *msg);
/* proxy_log of prefix + a byte string (copied into one message). */
void pw_log2(u32 level, const char *prefix, const char *s, size_t n);

/* Read the whole plugin configuration (buffer 7); out is pw_malloc'd, NULL
 * with *len 0 when empty. Returns the host status. */
u32 pw_get_plugin_config(u32 size, char **out, size_t *len);

/* Decimal text of v into buf (at least 21 bytes); returns its length. */
size_t pw_u64_to_dec(u64 v, char *buf);

/* Unix time in nanoseconds from proxy_get_current_time_nanoseconds, or
 * WASI clock_time_get(REALTIME) when the host does not implement it.
 * Returns 0 when neither works. */
u64 pw_now_ns(void);

/* Serialize one header pair into the proxy-wasm map format (count, sizes,
 * NUL-terminated key and value). out must hold pw_one_header_size(k, v). */
size_t pw_one_header_size(size_t klen, size_t vlen);
void pw_one_header(char *out, const char *k, size_t klen, const char *v,
                   size_t vlen);

#endif
