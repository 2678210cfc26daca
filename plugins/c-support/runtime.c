/*
 * runtime.c: the freestanding runtime shared by the C plugins.
 *
 * Owns: the memory functions the compiler may emit calls to, the allocator
 * behind the proxy_on_memory_allocate export (the host calls it to hand us
 * header values, bodies and the plugin configuration), and small helpers.
 *
 * The allocator uses power-of-two size classes with one free list each, so
 * memory freed after a request is reused by the next one: a warm instance
 * serving many requests does not grow without bound. Blocks carry a 16-byte
 * header (class index) to keep payloads 16-byte aligned.
 */
#include "proxy_wasm.h"

/* ---- memory functions (compiled with -ffreestanding, so these loops are
 * not turned back into calls to themselves) ---- */

void *memcpy(void *dst, const void *src, size_t n) {
  u8 *d = dst;
  const u8 *s = src;
  while (n--) *d++ = *s++;
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  u8 *d = dst;
  const u8 *s = src;
  if (d == s || n == 0) return dst;
  if (d < s) {
    while (n--) *d++ = *s++;
  } else {
    d += n;
    s += n;
    while (n--) *--d = *--s;
  }
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  u8 *d = dst;
  while (n--) *d++ = (u8)c;
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const u8 *x = a, *y = b;
  for (size_t i = 0; i < n; i++) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

/* ---- allocator ---- */

#define HEADER 16u
#define MIN_CLASS 4u  /* 16 bytes */
#define MAX_CLASS 30u /* 1 GiB */
#define PAGE 65536u

extern u8 __heap_base; /* provided by wasm-ld: first byte after stack/data */

static uintptr_t heap_top, heap_end;
static void *free_lists[MAX_CLASS + 1];

static int heap_reserve(size_t bytes) {
  if (heap_top == 0) {
    heap_top = ((uintptr_t)&__heap_base + HEADER - 1) & ~(uintptr_t)(HEADER - 1);
    heap_end = (uintptr_t)__builtin_wasm_memory_size(0) * PAGE;
  }
  if (heap_end - heap_top >= bytes) return 1;
  size_t missing = bytes - (heap_end - heap_top);
  size_t pages = (missing + PAGE - 1) / PAGE;
  if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
  heap_end += pages * PAGE;
  return 1;
}

void *pw_malloc(size_t n) {
  if (n > ((size_t)1 << MAX_CLASS) - HEADER) return NULL;
  u32 cls = MIN_CLASS;
  while (((size_t)1 << cls) < n + HEADER) cls++;
  u8 *block = free_lists[cls];
  if (block) {
    free_lists[cls] = *(void **)(block + HEADER);
  } else {
    size_t size = (size_t)1 << cls;
    if (!heap_reserve(size)) return NULL;
    block = (u8 *)heap_top;
    heap_top += size;
  }
  *(u32 *)block = cls;
  return block + HEADER;
}

void pw_free(void *p) {
  if (!p) return;
  u8 *block = (u8 *)p - HEADER;
  u32 cls = *(u32 *)block;
  if (cls < MIN_CLASS || cls > MAX_CLASS) return; /* not ours: leak, never corrupt */
  *(void **)p = free_lists[cls];
  free_lists[cls] = block;
}

/* The host allocates through this export before copying bytes into us. */
EXPORT(proxy_on_memory_allocate)
void *proxy_on_memory_allocate(size_t size) {
  return pw_malloc(size ? size : 1);
}

char *pw_strndup(const char *s, size_t n) {
  char *p = pw_malloc(n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

/* ---- small helpers ---- */

static u8 ascii_lower(u8 c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

int pw_valid_header_name(const char *s, size_t n) {
  static const char extra[] = "!#$%&'*+-.^_`|~";
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    u8 c = (u8)s[i];
    int ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    for (size_t k = 0; !ok && k < sizeof extra - 1; k++) ok = c == (u8)extra[k];
    if (!ok) return 0;
  }
  return 1;
}

int pw_valid_header_value(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] == 0 || s[i] == '\r' || s[i] == '\n') return 0;
  }
  return 1;
}

void pw_lower(char *s, size_t n) {
  for (size_t i = 0; i < n; i++) s[i] = (char)ascii_lower((u8)s[i]);
}

void pw_log(u32 level, const char *msg) { proxy_log(level, msg, strlen(msg)); }

void pw_log2(u32 level, const char *prefix, const char *s, size_t n) {
  size_t plen = strlen(prefix);
  char *m = pw_malloc(plen + n);
  if (!m) {
    proxy_log(level, prefix, plen);
    return;
  }
  memcpy(m, prefix, plen);
  memcpy(m + plen, s, n);
  proxy_log(level, m, plen + n);
  pw_free(m);
}

u32 pw_get_plugin_config(u32 size, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  if (size == 0) return PW_OK;
  char *p = NULL;
  size_t n = 0;
  u32 st = proxy_get_buffer_bytes(PW_BUFFER_PLUGIN_CONFIGURATION, 0, size, &p, &n);
  if (st != PW_OK) return st;
  *out = p;
  *len = p ? n : 0;
  return PW_OK;
}

size_t pw_u64_to_dec(u64 v, char *buf) {
  char tmp[21];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  return n;
}

__attribute__((import_module("wasi_snapshot_preview1"), import_name("clock_time_get")))
u32 wasi_clock_time_get(u32 clock_id, u64 precision, u64 *out);

u64 pw_now_ns(void) {
  u64 ns = 0;
  if (proxy_get_current_time_nanoseconds(&ns) == PW_OK && ns) return ns;
  ns = 0;
  if (wasi_clock_time_get(0 /* REALTIME */, 1000, &ns) == 0) return ns;
  return 0;
}

size_t pw_one_header_size(size_t klen, size_t vlen) {
  return 4 + 8 + klen + 1 + vlen + 1;
}

static void put_u32le(char *p, u32 v) {
  p[0] = (char)v;
  p[1] = (char)(v >> 8);
  p[2] = (char)(v >> 16);
  p[3] = (char)(v >> 24);
}

void pw_one_header(char *out, const char *k, size_t klen, const char *v,
                   size_t vlen) {
  put_u32le(out, 1);
  put_u32le(out + 4, (u32)klen);
  put_u32le(out + 8, (u32)vlen);
  char *p = out + 12;
  memcpy(p, k, klen);
  p[klen] = 0;
  p += klen + 1;
  memcpy(p, v, vlen);
  p[vlen] = 0;
}
