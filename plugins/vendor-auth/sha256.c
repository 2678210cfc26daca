/* sha256.c: see sha256.h. */
#include "sha256.h"

static const u32 K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static u32 rotr(u32 x, u32 n) { return (x >> n) | (x << (32 - n)); }

static void compress(u32 st[8], const u8 b[64]) {
  u32 w[64];
  for (int i = 0; i < 16; i++) {
    w[i] = (u32)b[4 * i] << 24 | (u32)b[4 * i + 1] << 16 |
           (u32)b[4 * i + 2] << 8 | (u32)b[4 * i + 3];
  }
  for (int i = 16; i < 64; i++) {
    u32 s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    u32 s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  u32 a = st[0], b1 = st[1], c = st[2], d = st[3];
  u32 e = st[4], f = st[5], g = st[6], h = st[7];
  for (int i = 0; i < 64; i++) {
    u32 S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    u32 ch = (e & f) ^ (~e & g);
    u32 t1 = h + S1 + ch + K[i] + w[i];
    u32 S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    u32 maj = (a & b1) ^ (a & c) ^ (b1 & c);
    u32 t2 = S0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b1;
    b1 = a;
    a = t1 + t2;
  }
  st[0] += a;
  st[1] += b1;
  st[2] += c;
  st[3] += d;
  st[4] += e;
  st[5] += f;
  st[6] += g;
  st[7] += h;
}

void sha256_init(sha256_t *s) {
  static const u32 iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                            0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->state, iv, sizeof iv);
  s->total = 0;
  s->used = 0;
}

void sha256_update(sha256_t *s, const void *data, size_t n) {
  const u8 *p = data;
  s->total += n;
  while (n) {
    size_t take = 64 - s->used;
    if (take > n) take = n;
    memcpy(s->block + s->used, p, take);
    s->used += take;
    p += take;
    n -= take;
    if (s->used == 64) {
      compress(s->state, s->block);
      s->used = 0;
    }
  }
}

void sha256_final(sha256_t *s, u8 out[32]) {
  u64 bits = s->total * 8;
  u8 pad = 0x80;
  sha256_update(s, &pad, 1);
  u8 zero = 0;
  while (s->used != 56) sha256_update(s, &zero, 1);
  u8 len[8];
  for (int i = 0; i < 8; i++) len[i] = (u8)(bits >> (56 - 8 * i));
  sha256_update(s, len, 8);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (u8)(s->state[i] >> 24);
    out[4 * i + 1] = (u8)(s->state[i] >> 16);
    out[4 * i + 2] = (u8)(s->state[i] >> 8);
    out[4 * i + 3] = (u8)s->state[i];
  }
}

void hmac_sha256(const void *key, size_t key_len, const void *msg,
                 size_t msg_len, u8 out[32]) {
  u8 k[64];
  memset(k, 0, sizeof k);
  sha256_t s;
  if (key_len > 64) {
    sha256_init(&s);
    sha256_update(&s, key, key_len);
    sha256_final(&s, k); /* fills k[0..32), rest stays zero */
  } else {
    memcpy(k, key, key_len);
  }
  u8 pad[64];
  for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
  u8 inner[32];
  sha256_init(&s);
  sha256_update(&s, pad, 64);
  sha256_update(&s, msg, msg_len);
  sha256_final(&s, inner);
  for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
  sha256_init(&s);
  sha256_update(&s, pad, 64);
  sha256_update(&s, inner, 32);
  sha256_final(&s, out);
}

void hex_lower(const u8 digest[32], char out[64]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = digits[digest[i] >> 4];
    out[2 * i + 1] = digits[digest[i] & 15];
  }
}
