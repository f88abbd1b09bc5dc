/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gen_ledger: fills a ledger with G grants and about E journal entries
 * (reserve+settle pairs, two entries each) through the real API, for memory
 * and scale measurements of aissd.
 * Usage: gen_ledger DB_PATH [GRANTS=10000] [ENTRIES=1000000] */
#include <stdlib.h>

#include "bench_common.h"

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

	if (argc < 2 || grants <= 0 || entries < 0) {
		fprintf(stderr, "usage: gen_ledger DB_PATH [GRANTS] [ENTRIES]\n");
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
	printf("gen_ledger: journal %s, %lld entries verified in %.1f s\n",
	       v.ok ? "ok" : "BROKEN", (long long)v.n_entries,
	       bench_now() - t0);
	aiss_ledger_close(l);
	return v.ok ? 0 : 1;
fail:
	fprintf(stderr, "gen_ledger: %s\n", err.text);
	aiss_ledger_close(l);
	return 1;
}
