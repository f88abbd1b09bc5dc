/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench_sha256: SHA-256 throughput, SHA-NI against the portable code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aiss_sha256.h"

/* Not a test (no timed assertions anywhere): a brief timed loop, run by
 * hand. Rounds alternate between the implementations, in one process, and
 * the ratio reported is portable time / SHA-NI time, the median of the
 * rounds. Usage: bench_sha256 [rounds] */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile uint8_t sink;

/* Seconds per call of aiss_sha256() on @len bytes, over @iters calls. */
static double time_msgs(const uint8_t *buf, size_t len, long iters)
{
	uint8_t d[AISS_SHA256_LEN];
	double t0 = now_s();

	for (long i = 0; i < iters; i++) {
		aiss_sha256(buf + (i & 7), len, d);
		sink ^= d[0];
	}
	return (now_s() - t0) / (double)iters;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *what;
		size_t len;
		long iters; /* per round, for the portable code */
	} cases[] = {
		{"4 KiB message (per 64-byte block)", 4096, 1500},
		{"200-byte message (a journal entry)", 200, 25000},
	};
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	static uint8_t buf[4096 + 8];

	if (rounds < 1 || rounds > 100)
		rounds = 5;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	if (aiss_sha256_set_impl(AISS_SHA256_IMPL_SHANI) != 0) {
		printf("no x86 SHA extensions on this CPU (or build): "
		       "nothing to compare\n");
		return 0;
	}
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		double port[100], ni[100], ratio[100];
		/* 4 KiB: report per 64-byte block */
		double per = cases[c].len == 4096 ? 64.0 : 1.0;

		for (int r = 0; r < rounds; r++) {
			aiss_sha256_set_impl(AISS_SHA256_IMPL_PORTABLE);
			port[r] = time_msgs(buf, cases[c].len, cases[c].iters);
			aiss_sha256_set_impl(AISS_SHA256_IMPL_SHANI);
			ni[r] = time_msgs(buf, cases[c].len,
					  cases[c].iters * 4);
			ratio[r] = port[r] / ni[r];
		}
		qsort(port, (size_t)rounds, sizeof(double), cmp_double);
		qsort(ni, (size_t)rounds, sizeof(double), cmp_double);
		qsort(ratio, (size_t)rounds, sizeof(double), cmp_double);
		printf("%s: portable %.0f ns, sha-ni %.0f ns (medians of %d "
		       "rounds); portable/sha-ni %.2f (rounds %.2f-%.2f)\n",
		       cases[c].what, port[rounds / 2] * 1e9 / per,
		       ni[rounds / 2] * 1e9 / per, rounds, ratio[rounds / 2],
		       ratio[0], ratio[rounds - 1]);
	}
	aiss_sha256_set_impl(AISS_SHA256_IMPL_AUTO);
	return 0;
}
