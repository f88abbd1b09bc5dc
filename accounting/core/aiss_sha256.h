/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_sha256: SHA-256 (FIPS 180-4) for the journal's hash chain. */
#ifndef AISS_SHA256_H
#define AISS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define AISS_SHA256_LEN 32
#define AISS_SHA256_HEXLEN 65 /* 64 hex digits and NUL */

typedef struct aiss_sha256_ctx {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t buf[64];
	size_t used;
} aiss_sha256_ctx;

void aiss_sha256_init(aiss_sha256_ctx *c);
void aiss_sha256_update(aiss_sha256_ctx *c, const void *data, size_t len);
void aiss_sha256_final(aiss_sha256_ctx *c, uint8_t out[AISS_SHA256_LEN]);

/* One-shot digest of @len bytes. */
void aiss_sha256(const void *data, size_t len, uint8_t out[AISS_SHA256_LEN]);

/* Lower-case hex of @d into @hex (AISS_SHA256_HEXLEN bytes). Returns @hex. */
char *aiss_sha256_hex(const uint8_t d[AISS_SHA256_LEN], char *hex);

#endif
