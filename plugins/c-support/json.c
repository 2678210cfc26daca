/*
 * json.c: the scanner declared in json.h. Strict RFC 8259 syntax: no
 * comments, no trailing commas, no bare words other than true/false/null.
 */
#include "json.h"

void json_init(json_t *j, const char *s, size_t n) {
  j->p = s;
  j->end = s + n;
  j->failed = 0;
  j->depth = 0;
}

static int fail(json_t *j) {
  j->failed = 1;
  return 0;
}

static void ws(json_t *j) {
  while (j->p < j->end &&
         (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
    j->p++;
}

int json_peek(json_t *j) {
  ws(j);
  return j->p < j->end ? (u8)*j->p : -1;
}

int json_expect(json_t *j, char c) {
  if (j->failed) return 0;
  if (json_peek(j) != (u8)c) return fail(j);
  j->p++;
  return 1;
}

static int open(json_t *j, char c) {
  if (!json_expect(j, c)) return 0;
  if (j->depth >= JSON_MAX_DEPTH) return fail(j);
  j->first[j->depth++] = 1;
  return 1;
}

/* Returns 1 when another element follows, 0 at the closing bracket or on
 * failure (j->failed tells which). */
static int next(json_t *j, char close) {
  if (j->failed || j->depth == 0) return 0;
  int c = json_peek(j);
  if (c == (u8)close) {
    j->p++;
    j->depth--;
    return 0;
  }
  if (j->first[j->depth - 1]) {
    j->first[j->depth - 1] = 0;
  } else if (!json_expect(j, ',')) {
    return 0;
  }
  if (json_peek(j) == (u8)close) return fail(j); /* trailing comma */
  return 1;
}

int json_object_begin(json_t *j) { return open(j, '{'); }

int json_object_next(json_t *j, char **key, size_t *keylen) {
  *key = NULL;
  if (!next(j, '}')) return 0;
  if (!json_string(j, key, keylen)) return 0;
  if (!json_expect(j, ':')) {
    pw_free(*key);
    *key = NULL;
    return 0;
  }
  return 1;
}

int json_array_begin(json_t *j) { return open(j, '['); }

int json_array_next(json_t *j) { return next(j, ']'); }

static int hex4(const char *p, u32 *out) {
  u32 v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (u32)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (u32)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (u32)(c - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

static size_t put_utf8(char *o, u32 cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Decoded text is never longer than the escaped source, so one allocation of
 * the source span's size suffices. */
int json_string(json_t *j, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  if (!json_expect(j, '"')) return 0;
  const char *start = j->p;
  const char *q = start;
  while (q < j->end && *q != '"') {
    if (*q == '\\') q++;
    q++;
  }
  if (q >= j->end) return fail(j);
  char *buf = pw_malloc((size_t)(q - start) + 1);
  if (!buf) return fail(j);
  size_t n = 0;
  const char *p = start;
  while (p < q) {
    u8 c = (u8)*p++;
    if (c < 0x20) goto bad; /* raw control characters are not allowed */
    if (c != '\\') {
      buf[n++] = (char)c;
      continue;
    }
    char e = *p++;
    switch (e) {
      case '"': buf[n++] = '"'; break;
      case '\\': buf[n++] = '\\'; break;
      case '/': buf[n++] = '/'; break;
      case 'b': buf[n++] = '\b'; break;
      case 'f': buf[n++] = '\f'; break;
      case 'n': buf[n++] = '\n'; break;
      case 'r': buf[n++] = '\r'; break;
      case 't': buf[n++] = '\t'; break;
      case 'u': {
        u32 cp;
        if (q - p < 4 || !hex4(p, &cp)) goto bad;
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          u32 lo;
          if (q - p >= 6 && p[0] == '\\' && p[1] == 'u' && hex4(p + 2, &lo) &&
              lo >= 0xDC00 && lo <= 0xDFFF) {
            p += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else {
            cp = 0xFFFD; /* lone surrogate */
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        n += put_utf8(buf + n, cp);
        break;
      }
      default: goto bad;
    }
  }
  buf[n] = 0;
  j->p = q + 1;
  *out = buf;
  *len = n;
  return 1;
bad:
  pw_free(buf);
  return fail(j);
}

int json_int(json_t *j, long long *out) {
  if (j->failed) return 0;
  ws(j);
  const char *p = j->p;
  int neg = 0;
  if (p < j->end && *p == '-') {
    neg = 1;
    p++;
  }
  if (p >= j->end || *p < '0' || *p > '9') return fail(j);
  if (*p == '0' && p + 1 < j->end && p[1] >= '0' && p[1] <= '9') return fail(j);
  long long v = 0;
  while (p < j->end && *p >= '0' && *p <= '9') {
    if (v > 100000000000000LL) return fail(j); /* far beyond any use here */
    v = v * 10 + (*p++ - '0');
  }
  if (p < j->end && (*p == '.' || *p == 'e' || *p == 'E')) return fail(j);
  j->p = p;
  *out = neg ? -v : v;
  return 1;
}

static int word(json_t *j, const char *w) {
  size_t n = strlen(w);
  if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0) return fail(j);
  j->p += n;
  return 1;
}

int json_bool(json_t *j, int *out) {
  int c = json_peek(j);
  if (c == 't' && word(j, "true")) {
    *out = 1;
    return 1;
  }
  if (c == 'f' && word(j, "false")) {
    *out = 0;
    return 1;
  }
  return fail(j);
}

int json_skip(json_t *j) {
  int c = json_peek(j);
  char *s;
  size_t n;
  switch (c) {
    case '"':
      if (!json_string(j, &s, &n)) return 0;
      pw_free(s);
      return 1;
    case '{':
      if (!json_object_begin(j)) return 0;
      while (json_object_next(j, &s, &n)) {
        pw_free(s);
        if (!json_skip(j)) return 0;
      }
      return !j->failed;
    case '[':
      if (!json_array_begin(j)) return 0;
      while (json_array_next(j)) {
        if (!json_skip(j)) return 0;
      }
      return !j->failed;
    case 't': return word(j, "true");
    case 'f': return word(j, "false");
    case 'n': return word(j, "null");
    default: {
      /* number: validate loosely (sign, digits, fraction, exponent) */
      const char *p = j->p;
      if (p < j->end && *p == '-') p++;
      const char *digits = p;
      while (p < j->end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' ||
                            *p == 'E' || *p == '+' || *p == '-'))
        p++;
      if (p == digits) return fail(j);
      j->p = p;
      return 1;
    }
  }
}

int json_key_index(const char *key, size_t keylen, const char *const *names,
                   int n) {
  for (int i = 0; i < n; i++) {
    if (keylen == strlen(names[i]) && memcmp(key, names[i], keylen) == 0) return i;
  }
  return -1;
}

int json_key_seen(u32 *seen, int index) {
  u32 bit = 1u << index;
  if (*seen & bit) return 1;
  *seen |= bit;
  return 0;
}

int json_done(json_t *j) { return !j->failed && json_peek(j) == -1; }
