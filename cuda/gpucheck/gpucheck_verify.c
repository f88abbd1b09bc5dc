/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_verify: CPU references of the kernels' arithmetic, the checks. */
#include "gpucheck_verify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *gpucheck_dtype_name(gpucheck_dtype t)
{
	switch (t) {
	case GPUCHECK_BF16:
		return "bf16";
	case GPUCHECK_FP16:
		return "fp16";
	case GPUCHECK_FP32:
		return "fp32";
	case GPUCHECK_FP64:
		return "fp64";
	}
	return "?";
}

/* Rounds @x to @bits significant bits, nearest-even, with @min_exp the
 * exponent of the smallest normal (subnormal quantum below it) and
 * @max the largest finite value. */
static float round_to(float x, int bits, int min_exp, float max)
{
	float ax = fabsf(x), q, r;
	int e;

	if (!isfinite(x) || ax == 0.0f)
		return x;
	frexpf(ax, &e); /* ax = f * 2^e, f in [0.5, 1) */
	if (e - 1 < min_exp)
		e = min_exp + 1;
	q = ldexpf(1.0f, e - bits);
	r = nearbyintf(ax / q) * q; /* ax / q is exact: q is a power of 2 */
	if (r > max)
		r = INFINITY;
	return copysignf(r, x);
}

float gpucheck_round_bf16(float x)
{
	return round_to(x, 8, -126, 3.38953139e38f);
}

float gpucheck_round_fp16(float x)
{
	return round_to(x, 11, -14, 65504.0f);
}

size_t gpucheck_verify_words(const uint32_t *vals, const uint64_t *index,
			     uint64_t base, size_t n, uint32_t seed,
			     size_t *first_bad)
{
	size_t bad = 0;

	for (size_t k = 0; k < n; k++) {
		uint64_t i = index ? index[k] : base + k;
		if (vals[k] != gpucheck_pattern_word(i, seed)) {
			if (bad++ == 0 && first_bad)
				*first_bad = k;
		}
	}
	return bad;
}

uint32_t gpucheck_ref_pattern_xor(uint64_t nwords, uint32_t seed)
{
	uint32_t x = 0;

	for (uint64_t i = 0; i < nwords; i++)
		x ^= gpucheck_pattern_word(i, seed);
	return x;
}

/* Bitwise float equality (so -0 != +0 and NaN payloads count). */
static int same_bits32(float a, float b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static int same_bits64(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

size_t gpucheck_verify_triad(const float *vals, const uint64_t *index,
			     uint64_t base, size_t n, size_t *first_bad)
{
	size_t bad = 0;

	for (size_t k = 0; k < n; k++) {
		uint64_t i = index ? index[k] : base + k;
		if (!same_bits32(vals[k], gpucheck_triad_elem(i))) {
			if (bad++ == 0 && first_bad)
				*first_bad = k;
		}
	}
	return bad;
}

void gpucheck_ref_triad(float *out, uint64_t base, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		float b =
		    gpucheck_pattern_float(base + k, GPUCHECK_TRIAD_SEED_B);
		float c =
		    gpucheck_pattern_float(base + k, GPUCHECK_TRIAD_SEED_C);
		out[k] = fmaf(GPUCHECK_TRIAD_SCALAR, c, b);
	}
}

void gpucheck_ref_copy(uint32_t *dst, const uint32_t *src, size_t n)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = src[k];
}

float gpucheck_ref_fma32(unsigned cls, long iters)
{
	float x[GPUCHECK_FMA_CHAINS], sum = 0.0f;

	for (int c = 0; c < GPUCHECK_FMA_CHAINS; c++)
		x[c] = (float)gpucheck_fma_start(cls % GPUCHECK_FMA_CLASSES,
						 (unsigned)c);
	for (long i = 0; i < iters; i++)
		for (int c = 0; c < GPUCHECK_FMA_CHAINS; c++)
			x[c] = fmaf(x[c], GPUCHECK_FMA_A32, GPUCHECK_FMA_B32);
	for (int c = 0; c < GPUCHECK_FMA_CHAINS; c++)
		sum += x[c];
	return sum;
}

double gpucheck_ref_fma64(unsigned cls, long iters)
{
	double x[GPUCHECK_FMA_CHAINS], sum = 0.0;

	for (int c = 0; c < GPUCHECK_FMA_CHAINS; c++)
		x[c] =
		    gpucheck_fma_start(cls % GPUCHECK_FMA_CLASSES, (unsigned)c);
	for (long i = 0; i < iters; i++)
		for (int c = 0; c < GPUCHECK_FMA_CHAINS; c++)
			x[c] = fma(x[c], GPUCHECK_FMA_A64, GPUCHECK_FMA_B64);
	for (int c = 0; c < GPUCHECK_FMA_CHAINS; c++)
		sum += x[c];
	return sum;
}

size_t gpucheck_verify_fma32(const float *vals, const uint64_t *thread,
			     size_t n, long iters, size_t *first_bad)
{
	float ref[GPUCHECK_FMA_CLASSES];
	size_t bad = 0;

	for (unsigned c = 0; c < GPUCHECK_FMA_CLASSES; c++)
		ref[c] = gpucheck_ref_fma32(c, iters);
	for (size_t k = 0; k < n; k++) {
		uint64_t t = thread ? thread[k] : k;
		if (!same_bits32(vals[k], ref[t % GPUCHECK_FMA_CLASSES])) {
			if (bad++ == 0 && first_bad)
				*first_bad = k;
		}
	}
	return bad;
}

size_t gpucheck_verify_fma64(const double *vals, const uint64_t *thread,
			     size_t n, long iters, size_t *first_bad)
{
	double ref[GPUCHECK_FMA_CLASSES];
	size_t bad = 0;

	for (unsigned c = 0; c < GPUCHECK_FMA_CLASSES; c++)
		ref[c] = gpucheck_ref_fma64(c, iters);
	for (size_t k = 0; k < n; k++) {
		uint64_t t = thread ? thread[k] : k;
		if (!same_bits64(vals[k], ref[t % GPUCHECK_FMA_CLASSES])) {
			if (bad++ == 0 && first_bad)
				*first_bad = k;
		}
	}
	return bad;
}

double gpucheck_gemm_tolerance(gpucheck_dtype t, long k, double ref,
			       double absum)
{
	/* Unit roundoff of the accumulator, and of the FP32 output. */
	double u_acc = t == GPUCHECK_FP64 ? ldexp(1.0, -53) : ldexp(1.0, -24);
	double u_out = t == GPUCHECK_FP64 ? ldexp(1.0, -53) : ldexp(1.0, -24);

	/* Probabilistic bound on rounding in a k-term sum (Higham & Mary,
	 * 2019): lambda * sqrt(k) * u, lambda = 4. The worst-case k * u is
	 * too loose to tell FP16 inputs from FP32 ones. The GPU runs use
	 * integer inputs, whose products are exact in any order. */
	return 4.0 * sqrt((double)k) * u_acc * absum + 4.0 * u_out * fabs(ref) +
	       1e-300;
}

size_t gpucheck_verify_gemm_samples(gpucheck_dtype t, long k, const float *got,
				    const double *ref, const double *absum,
				    size_t n, size_t *first_bad)
{
	size_t bad = 0;

	for (size_t s = 0; s < n; s++) {
		double err = fabs((double)got[s] - ref[s]);
		/* NaN fails: !(err <= tol). */
		if (!(err <= gpucheck_gemm_tolerance(t, k, ref[s], absum[s]))) {
			if (bad++ == 0 && first_bad)
				*first_bad = s;
		}
	}
	return bad;
}

double gpucheck_ref_gemm_elem(uint32_t row, uint32_t col, long k, double *absum)
{
	double sum = 0, abs_sum = 0;

	for (long i = 0; i < k; i++) {
		int a = gpucheck_gemm_input((uint64_t)row * (uint64_t)k +
						(uint64_t)i,
					    GPUCHECK_GEMM_SEED_A);
		int b = gpucheck_gemm_input((uint64_t)col * (uint64_t)k +
						(uint64_t)i,
					    GPUCHECK_GEMM_SEED_B);
		sum += (double)(a * b);
		abs_sum += (double)abs(a * b);
	}
	if (absum)
		*absum = abs_sum;
	return sum;
}

size_t gpucheck_verify_gemm(gpucheck_dtype t, long k, const float *got,
			    const uint32_t *rows, const uint32_t *cols,
			    size_t n, size_t *first_bad)
{
	size_t bad = 0;

	for (size_t s = 0; s < n; s++) {
		double absum,
		    ref = gpucheck_ref_gemm_elem(rows[s], cols[s], k, &absum);
		size_t one = gpucheck_verify_gemm_samples(t, k, &got[s], &ref,
							  &absum, 1, NULL);
		if (one && bad++ == 0 && first_bad)
			*first_bad = s;
	}
	return bad;
}

/* @x rounded to the input type @t. */
static float round_input(gpucheck_dtype t, float x)
{
	switch (t) {
	case GPUCHECK_BF16:
		return gpucheck_round_bf16(x);
	case GPUCHECK_FP16:
		return gpucheck_round_fp16(x);
	default:
		return x;
	}
}

void gpucheck_ref_gemm_tc(gpucheck_dtype t, const float *a, const float *bt,
			  float *c, long m, long n, long k)
{
	for (long i = 0; i < m; i++) {
		for (long j = 0; j < n; j++) {
			float acc = 0.0f;
			for (long k0 = 0; k0 < k; k0 += 16) {
				/* One MMA step: exact products summed, then
				 * added to the accumulator. */
				double step = 0;
				for (long kk = k0; kk < k0 + 16 && kk < k; kk++)
					step += (double)round_input(
						    t, a[i * k + kk]) *
						(double)round_input(
						    t, bt[j * k + kk]);
				acc += (float)step;
			}
			c[i * n + j] = acc;
		}
	}
}

void gpucheck_sample_indices(uint64_t *out, size_t n, uint64_t count,
			     uint64_t seed)
{
	uint64_t x = seed ? seed : 0x9e3779b97f4a7c15ull;

	for (size_t s = 0; s < n; s++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		out[s] = count ? x % count : 0;
	}
	if (n > 0)
		out[0] = 0;
	if (n > 1 && count > 0)
		out[n - 1] = count - 1;
}
