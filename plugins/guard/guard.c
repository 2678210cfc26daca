/*
 * guard: reject requests that lack a header (or carry a value outside an
 * allow-list) with a local reply, before anything goes upstream.
 *
 * Config (plugin configuration buffer, JSON object, unknown keys rejected):
 *   header          string, required   header to require (case-insensitive)
 *   status          int, default 401   status when the header is missing/empty
 *   body            string, default "unauthorized\n"
 *   values          [string], optional accepted values (exact, case-sensitive)
 *   forbidden_status int, default 403  status when the value is not accepted
 *   forbidden_body  string, default "forbidden\n"
 *   strip           bool, default false remove the header before forwarding
 *
 * Fails closed: a request seen without a valid configuration gets a 500.
 */
#include "../c-support/json.h"
#include "../c-support/proxy_wasm.h"

typedef struct {
  char *header;
  size_t header_len;
  u32 status;
  char *body;
  size_t body_len;
  char **values; /* NULL: any value accepted */
  size_t *value_lens;
  size_t nvalues;
  u32 forbidden_status;
  char *forbidden_body;
  size_t forbidden_body_len;
  int strip;
} config_t;

static config_t config;
static int configured;

static const char CONTENT_TYPE[] = "content-type";
static const char TEXT_PLAIN[] = "text/plain";

static void config_free(config_t *c) {
  pw_free(c->header);
  pw_free(c->body);
  pw_free(c->forbidden_body);
  for (size_t i = 0; i < c->nvalues; i++) pw_free(c->values[i]);
  pw_free(c->values);
  pw_free(c->value_lens);
  memset(c, 0, sizeof *c);
}

static int valid_status(long long s) { return s >= 200 && s <= 599; }

static int parse_values(json_t *j, config_t *c) {
  size_t cap = 4;
  c->values = pw_malloc(cap * sizeof(char *));
  c->value_lens = pw_malloc(cap * sizeof(size_t));
  if (!c->values || !c->value_lens || !json_array_begin(j)) return 0;
  while (json_array_next(j)) {
    if (c->nvalues == cap) {
      char **nv = pw_malloc(2 * cap * sizeof(char *));
      size_t *nl = pw_malloc(2 * cap * sizeof(size_t));
      if (!nv || !nl) return 0;
      memcpy(nv, c->values, cap * sizeof(char *));
      memcpy(nl, c->value_lens, cap * sizeof(size_t));
      pw_free(c->values);
      pw_free(c->value_lens);
      c->values = nv;
      c->value_lens = nl;
      cap *= 2;
    }
    if (!json_string(j, &c->values[c->nvalues], &c->value_lens[c->nvalues]))
      return 0;
    c->nvalues++;
  }
  return !j->failed;
}

enum { K_HEADER, K_STATUS, K_BODY, K_VALUES, K_FORBIDDEN_STATUS, K_FORBIDDEN_BODY, K_STRIP, K_COUNT };
static const char *const KEYS[K_COUNT] = {"header", "status", "body", "values",
                                          "forbidden_status", "forbidden_body", "strip"};

static int parse_config(const char *s, size_t n, config_t *c) {
  json_t j;
  json_init(&j, s, n);
  c->status = 401;
  c->forbidden_status = 403;
  if (!json_object_begin(&j)) return 0;
  char *key;
  size_t klen;
  long long num = 0;
  u32 seen = 0;
  while (json_object_next(&j, &key, &klen)) {
    int k = json_key_index(key, klen, KEYS, K_COUNT);
    if (k < 0 || json_key_seen(&seen, k)) {
      pw_log2(PW_LOG_ERROR, "guard: unknown or repeated config key: ", key, klen);
      pw_free(key);
      return 0;
    }
    pw_free(key);
    int ok = 0;
    switch (k) {
      case K_HEADER: ok = json_string(&j, &c->header, &c->header_len); break;
      case K_STATUS:
        ok = json_int(&j, &num) && valid_status(num);
        c->status = (u32)num;
        break;
      case K_BODY: ok = json_string(&j, &c->body, &c->body_len); break;
      case K_VALUES: ok = parse_values(&j, c); break;
      case K_FORBIDDEN_STATUS:
        ok = json_int(&j, &num) && valid_status(num);
        c->forbidden_status = (u32)num;
        break;
      case K_FORBIDDEN_BODY:
        ok = json_string(&j, &c->forbidden_body, &c->forbidden_body_len);
        break;
      case K_STRIP: ok = json_bool(&j, &c->strip); break;
    }
    if (!ok) return 0;
  }
  if (!json_done(&j)) return 0;
  if (!c->header || !pw_valid_header_name(c->header, c->header_len)) {
    pw_log(PW_LOG_ERROR, "guard: config needs \"header\", a valid header name");
    return 0;
  }
  if (c->values && c->nvalues == 0) {
    pw_log(PW_LOG_ERROR, "guard: \"values\" must not be empty");
    return 0;
  }
  pw_lower(c->header, c->header_len);
  if (!c->body) {
    c->body = pw_strndup("unauthorized\n", 13);
    c->body_len = 13;
  }
  if (!c->forbidden_body) {
    c->forbidden_body = pw_strndup("forbidden\n", 10);
    c->forbidden_body_len = 10;
  }
  return c->body && c->forbidden_body;
}

static u32 reply(u32 status, const char *details, const char *body,
                 size_t body_len) {
  size_t hlen = pw_one_header_size(sizeof CONTENT_TYPE - 1, sizeof TEXT_PLAIN - 1);
  char *headers = pw_malloc(hlen);
  if (headers) {
    pw_one_header(headers, CONTENT_TYPE, sizeof CONTENT_TYPE - 1, TEXT_PLAIN,
                  sizeof TEXT_PLAIN - 1);
  }
  u32 st = proxy_send_local_response(status, details, strlen(details), body,
                                     body_len, headers, headers ? hlen : 0, -1);
  pw_free(headers);
  if (st != PW_OK) pw_log(PW_LOG_ERROR, "guard: proxy_send_local_response failed");
  /* Paused either way: a request we meant to reject never goes upstream. */
  return PW_PAUSE;
}

static int value_allowed(const char *v, size_t n) {
  if (!config.values) return 1;
  for (size_t i = 0; i < config.nvalues; i++) {
    if (config.value_lens[i] == n && memcmp(config.values[i], v, n) == 0) return 1;
  }
  return 0;
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
    pw_log(PW_LOG_ERROR, "guard: missing plugin configuration");
    return 0;
  }
  config_t next;
  memset(&next, 0, sizeof next);
  int ok = parse_config(raw, n, &next);
  pw_free(raw);
  if (!ok) {
    pw_log(PW_LOG_ERROR, "guard: invalid plugin configuration");
    config_free(&next);
    return 0; /* keep the previous configuration, if any */
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
    static const char msg[] = "guard plugin not configured\n";
    return reply(500, "guard_not_configured", msg, sizeof msg - 1);
  }
  char *value = NULL;
  size_t len = 0;
  u32 st = proxy_get_header_map_value(PW_MAP_REQUEST_HEADERS, config.header,
                                      config.header_len, &value, &len);
  if (st != PW_OK || !value || len == 0) {
    /* NOT_FOUND, an empty value, or a host error: all fail closed. */
    if (st != PW_OK && st != PW_NOT_FOUND)
      pw_log(PW_LOG_WARN, "guard: proxy_get_header_map_value failed");
    pw_free(value);
    return reply(config.status, "guard_missing_header", config.body, config.body_len);
  }
  int allowed = value_allowed(value, len);
  pw_free(value);
  if (!allowed) {
    return reply(config.forbidden_status, "guard_value_not_allowed",
                 config.forbidden_body, config.forbidden_body_len);
  }
  if (config.strip &&
      proxy_remove_header_map_value(PW_MAP_REQUEST_HEADERS, config.header,
                                    config.header_len) != PW_OK) {
    pw_log(PW_LOG_WARN, "guard: could not strip the header");
  }
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
