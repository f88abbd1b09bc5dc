/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ledger_fixture.h: the ledger tests' shared fixture: a ledger in a fresh
 * temporary directory with a clock the test sets, a scheme, the HKU
 * institution and an h100 price (HK$30/GPU-hour); removed afterwards.
 * Include after <cmocka.h>. */
#ifndef AISS_LEDGER_FIXTURE_H
#define AISS_LEDGER_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiss_ledger.h"

#define HOUR 3600
/* 2025-04-01 00:00 HKT */
#define W0 ((aiss_time_t)1743436800)
#define W1 (W0 + 365 * 86400)

typedef struct fixture {
	char dir[64];
	char path[96];
	aiss_ledger *l;
	aiss_time_t now;
} fixture;

static inline aiss_time_t fixed_now(void *arg)
{
	return ((fixture *)arg)->now;
}

/* (Re)opens f->path with the fixture's clock. */
static inline void open_ledger(fixture *f)
{
	aiss_error err;

	f->l = aiss_ledger_open(f->path, &err);
	assert_non_null(f->l);
	aiss_ledger_set_clock(f->l, fixed_now, f);
}

/* A new fixture in /tmp/@name.XXXXXX, now = W0 + 10 days, with the scheme
 * (HK$3,000,000,000.00 over three years from W0), HKU and the h100 price. */
static inline fixture *fixture_new(const char *name)
{
	fixture *f = calloc(1, sizeof(*f));
	aiss_scheme s = {.commitment = 300000000000LL,
			 .start = W0,
			 .end = W0 + 3 * 365 * 86400};
	aiss_institution inst = {.name = "HKU", .type = AISS_INST_UNIVERSITY};
	aiss_price p = {.gpu_type = "h100",
			.cents_per_gpu_hour = 3000,
			.effective_from = 0};
	aiss_error err;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/%s.XXXXXX", name);
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ledger.db", f->dir);
	f->now = W0 + 10 * 86400;
	open_ledger(f);
	snprintf(s.name, sizeof(s.name), "AI Subsidy Scheme");
	assert_int_equal(aiss_ledger_scheme_init(f->l, &s, "admin", &err), 0);
	assert_int_equal(
	    aiss_ledger_institution_add(f->l, &inst, "admin", &err), 0);
	assert_int_equal(aiss_ledger_price_set(f->l, &p, "admin", &err), 0);
	return f;
}

/* An active HKU grant @id for @account and @members: h100 at 70%,
 * HK$100,000.00 of subsidy, over [W0, W1), no GPU-hour or GPU limit. */
static inline aiss_grant fixture_grant(const char *id, const char *account,
				       const char *members)
{
	aiss_grant g;

	memset(&g, 0, sizeof(g));
	snprintf(g.id, sizeof(g.id), "%s", id);
	snprintf(g.institution, sizeof(g.institution), "HKU");
	snprintf(g.accounts, sizeof(g.accounts), "%s", account);
	snprintf(g.members, sizeof(g.members), "%s", members);
	snprintf(g.gpu_types, sizeof(g.gpu_types), "h100");
	g.rate_bp = 7000;
	g.approved_subsidy = 10000000; /* HK$100,000.00 */
	g.window_start = W0;
	g.window_end = W1;
	return g;
}

/* Closes the ledger and removes its files and directory. */
static inline void fixture_free(fixture *f)
{
	static const char *const files[] = {"ledger.db", "ledger.db-wal",
					    "ledger.db-shm"};
	char buf[160];

	aiss_ledger_close(f->l);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(buf, sizeof(buf), "%s/%s", f->dir, files[i]);
		unlink(buf);
	}
	rmdir(f->dir);
	free(f);
}

#endif
