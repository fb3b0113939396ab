/* SPDX-License-Identifier: MIT */
/*
 * sha256.h - SHA-256 (FIPS 180-4) for the registry's artifact digests. Streaming, no allocation.
 */
#ifndef RELHOST_SHA256_H
#define RELHOST_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t len; /* bytes hashed so far */
    unsigned char buf[64];
    size_t nbuf;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
/** Finish into 64 lowercase hex digits plus NUL. */
void sha256_hex(sha256_ctx *c, char out[65]);

/** The digest of a file's bytes as hex. 0, or RELHOST_EIO with the error set. */
int sha256_file(const char *path, char out[65]);

#endif
