/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gen_ledger: fills a ledger with G grants and about E journal entries
 * (reserve+settle pairs, two entries each) through the real API, for memory
 * and scale measurements of aissd.
 * Usage: gen_ledger DB_PATH [GRANTS=10000] [ENTRIES=1000000]
 *        gen_ledger DB_PATH --exercise   (reopen a generated ledger, list
 *        every balance, run 10,000 pairs, verify the journal, print the
 *        peak resident memory of this process) */
#include <stdlib.h>
#include <sys/resource.h>

#include "bench_common.h"

static long max_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Bytes this process has written so far (Linux /proc/self/io), or -1. */
static long long bytes_written(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	long long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "wchar: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int count_balance(const aiss_balance *b, void *arg)
{
	(void)b;
	(*(long *)arg)++;
	return 0;
}

/* The daemon's working set on a big ledger, measured in this process. */
static int exercise(const char *path)
{
	aiss_verify_result v;
	aiss_error err;
	aiss_ledger *l;
	aiss_scheme sc;
	long n = 0;
	double t0;
	/* fresh job ids on every run, so no pair is an idempotent repeat */
	unsigned long job0 = (unsigned long)time(NULL) * 10000UL;

	l = aiss_ledger_open(path, &err);
	if (!l)
		goto fail;
	aiss_ledger_set_clock(l, bench_clock, NULL);
	if (aiss_ledger_scheme_get(l, &sc, &err) ||
	    aiss_ledger_balance_list(l, NULL, count_balance, &n, &err))
		goto fail;
	printf("gen_ledger: %ld grants listed; RSS %ld KiB\n", n,
	       max_rss_kib());
	long long w0 = bytes_written();

	t0 = bench_now();
	for (long i = 0; i < 10000; i++) {
		if (i % 50 == 0 && aiss_ledger_batch_begin(l, &err))
			goto fail;
		if (bench_pair(l, job0 + (unsigned long)i, i % sc.n_grants,
			       &err))
			goto fail;
		if (i % 50 == 49 && aiss_ledger_batch_commit(l, &err))
			goto fail;
	}
	printf("gen_ledger: 10000 pairs in batches of 50: %.0f pairs/s, "
	       "%lld bytes written per pair; RSS %ld KiB\n",
	       10000 / (bench_now() - t0), (bytes_written() - w0) / 10000,
	       max_rss_kib());
	t0 = bench_now();
	if (aiss_ledger_journal_verify(l, &v, &err))
		goto fail;
	printf("gen_ledger: journal %s, %lld entries in %.1f s; peak RSS %ld "
	       "KiB\n",
	       v.ok ? "ok" : "BROKEN", (long long)v.n_entries, bench_now() - t0,
	       max_rss_kib());
	aiss_ledger_close(l);
	return v.ok ? 0 : 1;
fail:
	fprintf(stderr, "gen_ledger: %s\n", err.text);
	aiss_ledger_close(l);
	return 1;
}

int main(int argc, char **argv)
{
	long grants = argc > 2 ? atol(argv[2]) : 10000;
	long entries = argc > 3 ? atol(argv[3]) : 1000000;
	unsigned long job = 0;
	aiss_verify_result v;
	aiss_ledger *l;
	aiss_error err;
	double t0;
	long pairs;

	if (argc == 3 && strcmp(argv[2], "--exercise") == 0)
		return exercise(argv[1]);
	if (argc < 2 || grants <= 0 || entries < 0) {
		fprintf(stderr,
			"usage: gen_ledger DB_PATH [GRANTS] [ENTRIES]\n");
		return 2;
	}
	l = aiss_ledger_open(argv[1], &err);
	if (!l)
		goto fail;
	t0 = bench_now();
	if (bench_setup(l, grants, &err))
		goto fail;
	pairs = (entries - grants - 3) / 2;
	for (long i = 0; i < pairs; i++) {
		if (i % 2000 == 0 && aiss_ledger_batch_begin(l, &err))
			goto fail;
		job++;
		if (bench_pair(l, job, (long)(job % (unsigned long)grants),
			       &err))
			goto fail;
		if ((i % 2000 == 1999 || i == pairs - 1) &&
		    aiss_ledger_batch_commit(l, &err))
			goto fail;
	}
	printf("gen_ledger: %ld grants, %ld runs in %.1f s\n", grants,
	       pairs > 0 ? pairs : 0, bench_now() - t0);
	t0 = bench_now();
	if (aiss_ledger_journal_verify(l, &v, &err))
		goto fail;
	printf("gen_ledger: journal %s, %lld entries verified in %.1f s; peak "
	       "RSS %ld KiB\n",
	       v.ok ? "ok" : "BROKEN", (long long)v.n_entries, bench_now() - t0,
	       max_rss_kib());
	aiss_ledger_close(l);
	return v.ok ? 0 : 1;
fail:
	fprintf(stderr, "gen_ledger: %s\n", err.text);
	aiss_ledger_close(l);
	return 1;
}
