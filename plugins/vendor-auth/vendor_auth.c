/*
 * vendor-auth: add a static credential header and/or an HMAC-SHA256 request
 * signature to requests before they go upstream.
 *
 * Config (plugin configuration buffer, JSON object, unknown keys rejected;
 * at least one of header/value or hmac):
 *   header, value        strings, set together: header replaced with value
 *   hmac.secret          string, required inside hmac
 *   hmac.header          string, default "x-signature"
 *   hmac.timestamp_header string, default "x-timestamp"
 *
 * Signature (lowercase hex):
 *   HMAC-SHA256(secret, METHOD "\n" PATH "\n" TIMESTAMP)
 * METHOD and PATH are the :method and :path request headers as the plugin
 * sees them (PATH includes the query), TIMESTAMP is Unix seconds in decimal,
 * the same text as the timestamp header.
 */
#include "../c-support/json.h"
#include "../c-support/proxy_wasm.h"
#include "sha256.h"

typedef struct {
  char *header, *value;
  size_t header_len, value_len;
  int hmac;
  char *secret, *sig_header, *ts_header;
  size_t secret_len, sig_header_len, ts_header_len;
} config_t;

static config_t config;
static int configured;

static void config_free(config_t *c) {
  pw_free(c->header);
  pw_free(c->value);
  pw_free(c->secret);
  pw_free(c->sig_header);
  pw_free(c->ts_header);
  memset(c, 0, sizeof *c);
}

static int set_default(char **dst, size_t *len, const char *s) {
  if (*dst) return 1;
  *len = strlen(s);
  *dst = pw_strndup(s, *len);
  return *dst != NULL;
}

enum { H_SECRET, H_HEADER, H_TIMESTAMP_HEADER, H_COUNT };
static const char *const HMAC_KEYS[H_COUNT] = {"secret", "header", "timestamp_header"};

static int parse_hmac(json_t *j, config_t *c) {
  if (!json_object_begin(j)) return 0;
  c->hmac = 1;
  char *key;
  size_t klen;
  u32 seen = 0;
  while (json_object_next(j, &key, &klen)) {
    int k = json_key_index(key, klen, HMAC_KEYS, H_COUNT);
    if (k < 0 || json_key_seen(&seen, k)) {
      pw_log2(PW_LOG_ERROR, "vendor-auth: unknown or repeated hmac key: ", key, klen);
      pw_free(key);
      return 0;
    }
    pw_free(key);
    int ok = 0;
    switch (k) {
      case H_SECRET: ok = json_string(j, &c->secret, &c->secret_len); break;
      case H_HEADER: ok = json_string(j, &c->sig_header, &c->sig_header_len); break;
      case H_TIMESTAMP_HEADER: ok = json_string(j, &c->ts_header, &c->ts_header_len); break;
    }
    if (!ok) return 0;
  }
  if (j->failed) return 0;
  if (!c->secret || c->secret_len == 0) {
    pw_log(PW_LOG_ERROR, "vendor-auth: hmac needs a non-empty \"secret\"");
    return 0;
  }
  if (!set_default(&c->sig_header, &c->sig_header_len, "x-signature") ||
      !set_default(&c->ts_header, &c->ts_header_len, "x-timestamp"))
    return 0;
  if (!pw_valid_header_name(c->sig_header, c->sig_header_len) ||
      !pw_valid_header_name(c->ts_header, c->ts_header_len)) {
    pw_log(PW_LOG_ERROR, "vendor-auth: hmac header names must be valid header names");
    return 0;
  }
  pw_lower(c->sig_header, c->sig_header_len);
  pw_lower(c->ts_header, c->ts_header_len);
  return 1;
}

enum { K_HEADER, K_VALUE, K_HMAC, K_COUNT };
static const char *const KEYS[K_COUNT] = {"header", "value", "hmac"};

static int parse_config(const char *s, size_t n, config_t *c) {
  json_t j;
  json_init(&j, s, n);
  if (!json_object_begin(&j)) return 0;
  char *key;
  size_t klen;
  u32 seen = 0;
  while (json_object_next(&j, &key, &klen)) {
    int k = json_key_index(key, klen, KEYS, K_COUNT);
    if (k < 0 || json_key_seen(&seen, k)) {
      pw_log2(PW_LOG_ERROR, "vendor-auth: unknown or repeated config key: ", key, klen);
      pw_free(key);
      return 0;
    }
    pw_free(key);
    int ok = 0;
    switch (k) {
      case K_HEADER: ok = json_string(&j, &c->header, &c->header_len); break;
      case K_VALUE: ok = json_string(&j, &c->value, &c->value_len); break;
      case K_HMAC: ok = parse_hmac(&j, c); break;
    }
    if (!ok) return 0;
  }
  if (!json_done(&j)) return 0;
  if ((c->header == NULL) != (c->value == NULL)) {
    pw_log(PW_LOG_ERROR, "vendor-auth: \"header\" and \"value\" go together");
    return 0;
  }
  if (c->header && (!pw_valid_header_name(c->header, c->header_len) ||
                    !pw_valid_header_value(c->value, c->value_len))) {
    pw_log(PW_LOG_ERROR, "vendor-auth: invalid \"header\" name or \"value\" (CR, LF, NUL)");
    return 0;
  }
  if (!c->header && !c->hmac) {
    pw_log(PW_LOG_ERROR, "vendor-auth: config needs header/value or hmac");
    return 0;
  }
  if (c->header) pw_lower(c->header, c->header_len);
  return 1;
}

static void set_header(const char *k, size_t klen, const char *v, size_t vlen) {
  if (proxy_replace_header_map_value(PW_MAP_REQUEST_HEADERS, k, klen, v, vlen) != PW_OK)
    pw_log2(PW_LOG_ERROR, "vendor-auth: could not set header ", k, klen);
}

/* Pseudo header value, or an empty pw_malloc'd string when absent. */
static char *get_request_header(const char *k, size_t klen, size_t *len) {
  char *v = NULL;
  *len = 0;
  if (proxy_get_header_map_value(PW_MAP_REQUEST_HEADERS, k, klen, &v, len) != PW_OK || !v) {
    pw_free(v);
    *len = 0;
    pw_log2(PW_LOG_WARN, "vendor-auth: request has no ", k, klen);
    return NULL;
  }
  return v;
}

static void sign(void) {
  size_t mlen, plen;
  char *method = get_request_header(":method", 7, &mlen);
  char *path = get_request_header(":path", 5, &plen);
  u64 ns = pw_now_ns();
  if (ns == 0) pw_log(PW_LOG_ERROR, "vendor-auth: no clock; signing timestamp 0");
  char ts[21];
  size_t tlen = pw_u64_to_dec(ns / 1000000000ull, ts);

  size_t slen = mlen + 1 + plen + 1 + tlen;
  char *sts = pw_malloc(slen);
  if (sts) {
    char *p = sts;
    memcpy(p, method, mlen);
    p += mlen;
    *p++ = '\n';
    memcpy(p, path, plen);
    p += plen;
    *p++ = '\n';
    memcpy(p, ts, tlen);
    u8 mac[32];
    char hex[64];
    hmac_sha256(config.secret, config.secret_len, sts, slen, mac);
    hex_lower(mac, hex);
    set_header(config.ts_header, config.ts_header_len, ts, tlen);
    set_header(config.sig_header, config.sig_header_len, hex, sizeof hex);
  } else {
    pw_log(PW_LOG_ERROR, "vendor-auth: out of memory while signing");
  }
  pw_free(sts);
  pw_free(method);
  pw_free(path);
}

/* ---- proxy-wasm exports ---- */

EXPORT(proxy_abi_version_0_2_1)
void proxy_abi_version_0_2_1(void) {}

EXPORT(proxy_on_context_create)
void proxy_on_context_create(u32 context_id, u32 parent_context_id) {
  (void)context_id;
  (void)parent_context_id;
}

EXPORT(proxy_on_vm_start)
u32 proxy_on_vm_start(u32 root_context_id, u32 vm_config_size) {
  (void)root_context_id;
  (void)vm_config_size;
  return 1;
}

EXPORT(proxy_on_configure)
u32 proxy_on_configure(u32 root_context_id, u32 config_size) {
  (void)root_context_id;
  char *raw;
  size_t n;
  if (pw_get_plugin_config(config_size, &raw, &n) != PW_OK || !raw) {
    pw_log(PW_LOG_ERROR, "vendor-auth: missing plugin configuration");
    return 0;
  }
  config_t next;
  memset(&next, 0, sizeof next);
  int ok = parse_config(raw, n, &next);
  pw_free(raw);
  if (!ok) {
    pw_log(PW_LOG_ERROR, "vendor-auth: invalid plugin configuration");
    config_free(&next);
    return 0;
  }
  config_free(&config);
  config = next;
  configured = 1;
  return 1;
}

EXPORT(proxy_on_request_headers)
u32 proxy_on_request_headers(u32 context_id, u32 num_headers, u32 end_of_stream) {
  (void)context_id;
  (void)num_headers;
  (void)end_of_stream;
  if (!configured) {
    pw_log(PW_LOG_ERROR, "vendor-auth: not configured; request passed unchanged");
    return PW_CONTINUE;
  }
  if (config.header) set_header(config.header, config.header_len, config.value, config.value_len);
  if (config.hmac) sign();
  return PW_CONTINUE;
}

EXPORT(proxy_on_done)
u32 proxy_on_done(u32 context_id) {
  (void)context_id;
  return 1;
}

EXPORT(proxy_on_log)
void proxy_on_log(u32 context_id) { (void)context_id; }

EXPORT(proxy_on_delete)
void proxy_on_delete(u32 context_id) { (void)context_id; }
