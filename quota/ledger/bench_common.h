/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench_common.h: shared setup of the ledger benchmark and generator: a
 * scheme, one institution, a price and N grants with accounts acct<i>. */
#ifndef AISS_LEDGER_BENCH_COMMON_H
#define AISS_LEDGER_BENCH_COMMON_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aiss_ledger.h"

/* 2025-04-01 00:00 HKT: grants' windows start here; runs start after. */
#define BENCH_W0 ((aiss_time_t)1743436800)

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline aiss_time_t bench_clock(void *arg)
{
	(void)arg;
	return BENCH_W0 + 86400;
}

/* Creates the scheme, institution, h100 price and @n grants in batches of
 * 1000. Returns 0 or -1 with @err. */
static inline int bench_setup(aiss_ledger *l, long n, aiss_error *err)
{
	aiss_scheme s = {.name = "AI Subsidy Scheme",
			 .commitment = 300000000000LL,
			 .start = BENCH_W0,
			 .end = BENCH_W0 + 3 * 366 * 86400};
	aiss_institution inst = {.name = "HKU", .type = AISS_INST_UNIVERSITY};
	aiss_price p = {.gpu_type = "h100", .cents_per_gpu_hour = 3000};
	aiss_grant g;

	aiss_ledger_set_clock(l, bench_clock, NULL);
	if (aiss_ledger_scheme_init(l, &s, "bench", err) ||
	    aiss_ledger_institution_add(l, &inst, "bench", err) ||
	    aiss_ledger_price_set(l, &p, "bench", err))
		return -1;
	memset(&g, 0, sizeof(g));
	snprintf(g.institution, sizeof(g.institution), "HKU");
	snprintf(g.members, sizeof(g.members), "alice,bob");
	snprintf(g.gpu_types, sizeof(g.gpu_types), "h100");
	g.rate_bp = 7000;
	g.approved_subsidy = 300000000000LL / (n + 1);
	g.window_start = BENCH_W0;
	g.window_end = BENCH_W0 + 3 * 366 * 86400;
	g.max_concurrent_gpus = 0;
	for (long i = 0; i < n; i++) {
		if (i % 1000 == 0 && aiss_ledger_batch_begin(l, err))
			return -1;
		snprintf(g.id, sizeof(g.id), "AISS-B-%06ld", i);
		snprintf(g.accounts, sizeof(g.accounts), "acct%ld", i);
		if (aiss_ledger_grant_add(l, &g, "bench", err))
			return -1;
		if ((i % 1000 == 999 || i == n - 1) &&
		    aiss_ledger_batch_commit(l, err))
			return -1;
	}
	return 0;
}

/* One reserve + settle of job @job on account acct<@grant>. */
static inline int bench_pair(aiss_ledger *l, unsigned long job, long grant,
			     aiss_error *err)
{
	aiss_reserve_req r;
	aiss_settle_req s;
	aiss_lien lien;
	aiss_charge_rec c;

	memset(&r, 0, sizeof(r));
	snprintf(r.key.cluster, sizeof(r.key.cluster), "aisc");
	r.key.job_id = job;
	/* runs start (and so end) in job order, 16 per second, as on a
	 * cluster: charges are appended in charge order */
	r.key.run_start =
	    BENCH_W0 + 3600 + (aiss_time_t)((job % 40000000UL) / 16);
	snprintf(r.shape.account, sizeof(r.shape.account), "acct%ld", grant);
	snprintf(r.shape.user, sizeof(r.shape.user), "alice");
	r.shape.gpus = 8;
	r.shape.time_limit = 3600;
	if (aiss_ledger_reserve(l, &r, "slurm", &lien, err))
		return -1;
	memset(&s, 0, sizeof(s));
	s.key = r.key;
	s.gpus = 8;
	s.end = r.key.run_start + 1800;
	snprintf(s.end_state, sizeof(s.end_state), "COMPLETED");
	return aiss_ledger_settle(l, &s, "slurm", &c, err);
}

#endif
