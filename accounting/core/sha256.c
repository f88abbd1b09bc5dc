/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sha256.c: SHA-256 per FIPS 180-4, for the journal's hash chain. */
#include "aiss_sha256.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
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
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void block(uint32_t hs[8], const uint8_t *p)
{
	uint32_t w[64], a, b, cc, d, e, f, g, h;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^
			      (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^
			      (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = hs[0], b = hs[1], cc = hs[2], d = hs[3];
	e = hs[4], f = hs[5], g = hs[6], h = hs[7];
	for (int i = 0; i < 64; i++) {
		uint32_t s1 = ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25);
		uint32_t ch = (e & f) ^ (~e & g);
		uint32_t t1 = h + s1 + ch + K[i] + w[i];
		uint32_t s0 = ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22);
		uint32_t maj = (a & b) ^ (a & cc) ^ (b & cc);
		uint32_t t2 = s0 + maj;

		h = g, g = f, f = e, e = d + t1;
		d = cc, cc = b, b = a, a = t1 + t2;
	}
	hs[0] += a, hs[1] += b, hs[2] += cc, hs[3] += d;
	hs[4] += e, hs[5] += f, hs[6] += g, hs[7] += h;
}

static void blocks_portable(uint32_t h[8], const uint8_t *p, size_t n)
{
	for (; n; n--, p += 64)
		block(h, p);
}

#if defined(__x86_64__)
/* Four rounds (group @i, W[4i..4i+3] in m[i % 4]) with the SHA extensions,
 * scheduling the message words ahead: sha256msg1 for group i + 3, and
 * sha256msg2 completing group i + 1. */
#define SHANI_ROUNDS4(i)                                                       \
	do {                                                                   \
		__m128i k_ = _mm_loadu_si128((const __m128i *)&K[4 * (i)]);   \
		__m128i w_ = _mm_add_epi32(m[(i) & 3], k_);                    \
		s1 = _mm_sha256rnds2_epu32(s1, s0, w_);                        \
		if ((i) >= 3 && (i) <= 14) {                                   \
			m[((i) + 1) & 3] = _mm_add_epi32(                      \
				m[((i) + 1) & 3],                              \
				_mm_alignr_epi8(m[(i) & 3],                    \
						m[((i) + 3) & 3], 4));         \
			m[((i) + 1) & 3] = _mm_sha256msg2_epu32(               \
				m[((i) + 1) & 3], m[(i) & 3]);                 \
		}                                                              \
		w_ = _mm_shuffle_epi32(w_, 0x0e);                              \
		s0 = _mm_sha256rnds2_epu32(s0, s1, w_);                        \
		if ((i) >= 1 && (i) <= 12)                                     \
			m[((i) + 3) & 3] = _mm_sha256msg1_epu32(               \
				m[((i) + 3) & 3], m[(i) & 3]);                 \
	} while (0)

__attribute__((target("sha,sse4.1"))) static void
blocks_shani(uint32_t h[8], const uint8_t *p, size_t n)
{
	const __m128i bswap =
		_mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i s0, s1, t, save0, save1, m[4];

	/* h[] is A..H; the instructions want ABEF and CDGH, high to low */
	t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xb1);
	s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1b);
	s0 = _mm_alignr_epi8(t, s1, 8);
	s1 = _mm_blend_epi16(s1, t, 0xf0);
	for (; n; n--, p += 64) {
		save0 = s0;
		save1 = s1;
		m[0] = _mm_loadu_si128((const __m128i *)p);
		m[1] = _mm_loadu_si128((const __m128i *)(p + 16));
		m[2] = _mm_loadu_si128((const __m128i *)(p + 32));
		m[3] = _mm_loadu_si128((const __m128i *)(p + 48));
		m[0] = _mm_shuffle_epi8(m[0], bswap);
		m[1] = _mm_shuffle_epi8(m[1], bswap);
		m[2] = _mm_shuffle_epi8(m[2], bswap);
		m[3] = _mm_shuffle_epi8(m[3], bswap);
		SHANI_ROUNDS4(0);
		SHANI_ROUNDS4(1);
		SHANI_ROUNDS4(2);
		SHANI_ROUNDS4(3);
		SHANI_ROUNDS4(4);
		SHANI_ROUNDS4(5);
		SHANI_ROUNDS4(6);
		SHANI_ROUNDS4(7);
		SHANI_ROUNDS4(8);
		SHANI_ROUNDS4(9);
		SHANI_ROUNDS4(10);
		SHANI_ROUNDS4(11);
		SHANI_ROUNDS4(12);
		SHANI_ROUNDS4(13);
		SHANI_ROUNDS4(14);
		SHANI_ROUNDS4(15);
		s0 = _mm_add_epi32(s0, save0);
		s1 = _mm_add_epi32(s1, save1);
	}
	t = _mm_shuffle_epi32(s0, 0x1b);
	s1 = _mm_shuffle_epi32(s1, 0xb1);
	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, s1, 0xf0));
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(s1, t, 8));
}

static int cpu_has_shani(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (!(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return 0;
	if (__get_cpuid_max(0, NULL) < 7)
		return 0;
	__cpuid_count(7, 0, a, b, c, d);
	return (b & bit_SHA) != 0;
}
#else
static int cpu_has_shani(void)
{
	return 0;
}
#endif

/* 0 until the first use, then an aiss_sha256_impl + 1. */
static atomic_int impl_chosen;

static aiss_sha256_impl impl_auto(void)
{
	const char *env = getenv("AISS_SHA256_PORTABLE");

	if (env && *env && strcmp(env, "0") != 0)
		return AISS_SHA256_IMPL_PORTABLE;
	return cpu_has_shani() ? AISS_SHA256_IMPL_SHANI
			       : AISS_SHA256_IMPL_PORTABLE;
}

aiss_sha256_impl aiss_sha256_get_impl(void)
{
	int v = atomic_load_explicit(&impl_chosen, memory_order_relaxed);

	if (!v) {
		v = (int)impl_auto() + 1;
		atomic_store_explicit(&impl_chosen, v, memory_order_relaxed);
	}
	return (aiss_sha256_impl)(v - 1);
}

int aiss_sha256_set_impl(aiss_sha256_impl impl)
{
	switch (impl) {
	case AISS_SHA256_IMPL_AUTO:
		atomic_store_explicit(&impl_chosen, 0, memory_order_relaxed);
		return 0;
	case AISS_SHA256_IMPL_PORTABLE:
		break;
	case AISS_SHA256_IMPL_SHANI:
		if (!cpu_has_shani())
			return -1;
		break;
	default:
		return -1;
	}
	atomic_store_explicit(&impl_chosen, (int)impl + 1,
			      memory_order_relaxed);
	return 0;
}

const char *aiss_sha256_impl_name(aiss_sha256_impl impl)
{
	switch (impl) {
	case AISS_SHA256_IMPL_PORTABLE:
		return "portable";
	case AISS_SHA256_IMPL_SHANI:
		return "sha-ni";
	default:
		return "auto";
	}
}

/* Compress @n whole 64-byte blocks at @p into @h. */
static void compress(uint32_t h[8], const uint8_t *p, size_t n)
{
#if defined(__x86_64__)
	if (aiss_sha256_get_impl() == AISS_SHA256_IMPL_SHANI) {
		blocks_shani(h, p, n);
		return;
	}
#endif
	blocks_portable(h, p, n);
}

void aiss_sha256_init(aiss_sha256_ctx *c)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
				       0xa54ff53a, 0x510e527f, 0x9b05688c,
				       0x1f83d9ab, 0x5be0cd19};
	memcpy(c->h, iv, sizeof(iv));
	c->bytes = 0;
	c->used = 0;
}

void aiss_sha256_update(aiss_sha256_ctx *c, const void *data, size_t len)
{
	const uint8_t *p = data;

	c->bytes += len;
	if (c->used) {
		size_t take = 64 - c->used < len ? 64 - c->used : len;

		memcpy(c->buf + c->used, p, take);
		c->used += take;
		p += take;
		len -= take;
		if (c->used < 64)
			return;
		compress(c->h, c->buf, 1);
		c->used = 0;
	}
	if (len >= 64) {
		compress(c->h, p, len / 64);
		p += len & ~(size_t)63;
		len &= 63;
	}
	memcpy(c->buf, p, len);
	c->used = len;
}

void aiss_sha256_final(aiss_sha256_ctx *c, uint8_t out[AISS_SHA256_LEN])
{
	uint64_t bits = c->bytes * 8;
	size_t u = c->used;

	/* 0x80, zeros to 56 mod 64, the length in bits big-endian */
	c->buf[u++] = 0x80;
	if (u > 56) {
		memset(c->buf + u, 0, 64 - u);
		compress(c->h, c->buf, 1);
		u = 0;
	}
	memset(c->buf + u, 0, 56 - u);
	for (int i = 0; i < 8; i++)
		c->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	compress(c->h, c->buf, 1);
	c->used = 0;
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(c->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->h[i];
	}
}

void aiss_sha256(const void *data, size_t len, uint8_t out[AISS_SHA256_LEN])
{
	aiss_sha256_ctx c;

	aiss_sha256_init(&c);
	aiss_sha256_update(&c, data, len);
	aiss_sha256_final(&c, out);
}

char *aiss_sha256_hex(const uint8_t d[AISS_SHA256_LEN], char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < AISS_SHA256_LEN; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[64] = '\0';
	return hex;
}
