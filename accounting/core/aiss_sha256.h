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

/* The compression function: chosen once, at first use, from the CPU (the x86
 * SHA extensions where present, else portable C); AISS_SHA256_PORTABLE=1 in
 * the environment forces the portable code. Both give the same digests. */
typedef enum aiss_sha256_impl {
	AISS_SHA256_IMPL_PORTABLE,
	AISS_SHA256_IMPL_SHANI,
	AISS_SHA256_IMPL_AUTO,
} aiss_sha256_impl;

/* The implementation in use (never AISS_SHA256_IMPL_AUTO). */
aiss_sha256_impl aiss_sha256_get_impl(void);

/* Test and benchmark hook: use @impl from now on (AUTO: choose again).
 * Returns 0, or -1 for SHANI on a CPU (or build) without it. */
int aiss_sha256_set_impl(aiss_sha256_impl impl);

/* "portable", "sha-ni" or "auto". */
const char *aiss_sha256_impl_name(aiss_sha256_impl impl);

/* Lower-case hex of @d into @hex (AISS_SHA256_HEXLEN bytes). Returns @hex. */
char *aiss_sha256_hex(const uint8_t d[AISS_SHA256_LEN], char *hex);

#endif
