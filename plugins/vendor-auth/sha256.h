/*
 * sha256.h: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), freestanding.
 * Depends only on memcpy/memset, so it also builds natively for testing.
 */
#ifndef SWITCHYARD_SHA256_H
#define SWITCHYARD_SHA256_H

#ifdef SHA256_NATIVE_TEST
#include <stddef.h>
#include <string.h>
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;
#else
#include "../c-support/proxy_wasm.h"
#endif

typedef struct {
  u32 state[8];
  u64 total; /* bytes hashed so far */
  u8 block[64];
  size_t used; /* bytes in block */
} sha256_t;

void sha256_init(sha256_t *s);
void sha256_update(sha256_t *s, const void *data, size_t n);
void sha256_final(sha256_t *s, u8 out[32]);

/* out = HMAC-SHA256(key, msg) */
void hmac_sha256(const void *key, size_t key_len, const void *msg,
                 size_t msg_len, u8 out[32]);

/* 64 lowercase hex digits of a 32-byte digest (no NUL written). */
void hex_lower(const u8 digest[32], char out[64]);

#endif
