/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_ledger: the ledger against the accounting policy: admission, liens,
 * charges, rounding, windows, caps, idempotency, journal, group commit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ledger_fixture.h"

static aiss_grant base_grant(const char *id, const char *account)
{
	aiss_grant g;

	memset(&g, 0, sizeof(g));
	snprintf(g.id, sizeof(g.id), "%s", id);
	snprintf(g.institution, sizeof(g.institution), "HKU");
	snprintf(g.accounts, sizeof(g.accounts), "%s", account);
	snprintf(g.members, sizeof(g.members), "alice,bob");
	snprintf(g.gpu_types, sizeof(g.gpu_types), "h100,h800");
	g.rate_bp = 7000;
	g.approved_gpu_seconds = 10000LL * HOUR;
	g.approved_subsidy = 10000000; /* HK$100,000.00 */
	g.window_start = W0;
	g.window_end = W1;
	g.max_concurrent_gpus = 16;
	return g;
}

static int setup(void **state)
{
	fixture *f = fixture_new("test_ledger");
	aiss_price p = {.gpu_type = "h800",
			.cents_per_gpu_hour = 2000,
			.effective_from = 0};
	aiss_grant g = base_grant("AISS-2025-0001", "acct1");
	aiss_error err;

	assert_int_equal(aiss_ledger_price_set(f->l, &p, "admin", &err), 0);
	assert_int_equal(aiss_ledger_grant_add(f->l, &g, "admin", &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static aiss_reserve_req rreq(uint64_t job, aiss_time_t start, int64_t gpus,
			     int64_t limit)
{
	aiss_reserve_req r;

	memset(&r, 0, sizeof(r));
	snprintf(r.key.cluster, sizeof(r.key.cluster), "aisc");
	r.key.job_id = job;
	r.key.run_start = start;
	snprintf(r.shape.account, sizeof(r.shape.account), "acct1");
	snprintf(r.shape.user, sizeof(r.shape.user), "alice");
	snprintf(r.shape.gpu_type, sizeof(r.shape.gpu_type), "h100");
	r.shape.gpus = gpus;
	r.shape.time_limit = limit;
	return r;
}

static aiss_settle_req sreq(uint64_t job, aiss_time_t start, int64_t gpus,
			    aiss_time_t end, const char *state)
{
	aiss_settle_req r;

	memset(&r, 0, sizeof(r));
	snprintf(r.key.cluster, sizeof(r.key.cluster), "aisc");
	r.key.job_id = job;
	r.key.run_start = start;
	snprintf(r.account, sizeof(r.account), "acct1");
	snprintf(r.user, sizeof(r.user), "alice");
	snprintf(r.gpu_type, sizeof(r.gpu_type), "h100");
	r.gpus = gpus;
	r.end = end;
	snprintf(r.end_state, sizeof(r.end_state), "%s", state);
	return r;
}

static void assert_audit_ok(fixture *f);
static void tamper(const char *path, const char *sql);

static aiss_balance bal(fixture *f, const char *id)
{
	aiss_balance b;
	aiss_error err;

	assert_int_equal(aiss_ledger_balance(f->l, id, &b, &err), 0);
	return b;
}

static int64_t journal_count(fixture *f)
{
	aiss_verify_result v;
	aiss_error err;

	assert_int_equal(aiss_ledger_journal_verify(f->l, &v, &err), 0);
	assert_int_equal(v.ok, 1);
	return v.n_entries;
}

/* ---- validation and the model ---- */

static void test_schema_and_pragmas(void **state)
{
	fixture *f = *state;
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), AISS_LEDGER_SCHEMA_VERSION);
	sqlite3_finalize(st);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_grant_validation(void **state)
{
	fixture *f = *state;
	aiss_grant g = base_grant("AISS-2025-0002", "acct2");
	aiss_error err;

	g.rate_bp = 9500; /* a 95% rate */
	assert_int_equal(aiss_ledger_grant_add(f->l, &g, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	assert_non_null(strstr(err.text, "9500 bp"));
	assert_non_null(strstr(err.text, "AISS-2025-0002"));
	g.rate_bp = -1;
	assert_int_equal(aiss_ledger_grant_add(f->l, &g, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	g.rate_bp = 9000; /* the exceptional maximum is allowed */
	g.approved_subsidy = -100;
	assert_int_equal(aiss_ledger_grant_add(f->l, &g, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	assert_non_null(strstr(err.text, "negative"));
	g.approved_subsidy = AISS_CENTS_LIMIT + 1;
	assert_int_equal(aiss_ledger_grant_add(f->l, &g, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	g.approved_subsidy = 100;
	g.window_end = g.window_start;
	assert_int_equal(aiss_ledger_grant_add(f->l, &g, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	g.window_end = W1;
	snprintf(g.institution, sizeof(g.institution), "Nowhere U");
	assert_int_equal(aiss_ledger_grant_add(f->l, &g, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_NOT_FOUND);
	snprintf(g.institution, sizeof(g.institution), "HKU");
	snprintf(g.accounts, sizeof(g.accounts), "acct1"); /* taken */
	assert_int_equal(aiss_ledger_grant_add(f->l, &g, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_EXISTS);
	assert_non_null(strstr(err.text, "AISS-2025-0001"));
	snprintf(g.accounts, sizeof(g.accounts), "acct2");
	snprintf(g.id, sizeof(g.id), "AISS-2025-0001"); /* duplicate id */
	assert_int_equal(aiss_ledger_grant_add(f->l, &g, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_EXISTS);
	snprintf(g.id, sizeof(g.id), "AISS-2025-0002");
	assert_int_equal(aiss_ledger_grant_add(f->l, &g, "admin", &err), 0);
	{
		aiss_grant got;

		assert_int_equal(
		    aiss_ledger_grant_by_account(f->l, "acct2", &got, &err), 0);
		assert_string_equal(got.id, "AISS-2025-0002");
		assert_int_equal(got.rate_bp, 9000);
		assert_int_equal(got.state, AISS_GRANT_ACTIVE);
		assert_int_equal(got.inst_type, AISS_INST_UNIVERSITY);
	}
	assert_int_equal(
	    aiss_ledger_grant_is_member(f->l, "AISS-2025-0002", "bob"), 1);
	assert_int_equal(
	    aiss_ledger_grant_is_member(f->l, "AISS-2025-0002", "mallory"), 0);
	assert_int_equal(aiss_ledger_grant_by_account(f->l, "nobody", &g, &err),
			 -1);
	assert_int_equal(err.code, AISS_E_UNKNOWN_ACCOUNT);
	{
		aiss_price p = {.gpu_type = "h100", .cents_per_gpu_hour = 0};

		assert_int_equal(aiss_ledger_price_set(f->l, &p, "a", &err),
				 -1);
		assert_int_equal(err.code, AISS_E_INVALID);
	}
}

static void test_commitment(void **state)
{
	fixture *f = *state;
	aiss_scheme s = {.name = "small",
			 .commitment = 100000, /* HK$1,000 */
			 .start = W0,
			 .end = W1};
	aiss_earmark e = {.name = "reserve", .amount = 30000};
	aiss_grant g = base_grant("AISS-2025-0003", "acct3");
	aiss_scheme got;
	aiss_error err;

	/* the fixture's grant holds HK$100,000: a HK$1,000 commitment is
	 * below what is approved */
	assert_int_equal(aiss_ledger_scheme_init(f->l, &s, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_COMMITMENT);
	s.commitment = 10000000 + 100000;
	assert_int_equal(aiss_ledger_scheme_init(f->l, &s, "admin", &err), 0);
	assert_int_equal(aiss_ledger_earmark_set(f->l, &e, "admin", &err), 0);
	g.approved_subsidy = 80000; /* 100000 - 30000 leaves 70000 */
	assert_int_equal(aiss_ledger_grant_add(f->l, &g, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_COMMITMENT);
	assert_non_null(strstr(err.text, "AISS-2025-0003"));
	assert_non_null(strstr(err.text, "700.00")); /* the room left */
	g.approved_subsidy = 70000;
	assert_int_equal(aiss_ledger_grant_add(f->l, &g, "admin", &err), 0);
	g.approved_subsidy = 70001; /* top-up beyond the commitment */
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_COMMITMENT);
	e.amount = 30001;
	assert_int_equal(aiss_ledger_earmark_set(f->l, &e, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_COMMITMENT);
	e.amount = 0; /* removing the earmark frees room for a top-up */
	assert_int_equal(aiss_ledger_earmark_set(f->l, &e, "admin", &err), 0);
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), 0);
	assert_int_equal(aiss_ledger_scheme_get(f->l, &got, &err), 0);
	assert_int_equal(got.approved_total, 10000000 + 70001);
	assert_int_equal(got.earmarked, 0);
	assert_int_equal(got.n_grants, 2);
}

/* ---- the lifecycle ---- */

/* Lowering the approval may not uncover what is already charged and held:
 * refused with the numbers and the fix; at the floor, it is allowed. */
static void test_modify_below_used(void **state)
{
	fixture *f = *state;
	aiss_time_t t = W0 + 86400;
	aiss_reserve_req r = rreq(120, t, 8, HOUR);	     /* holds 16800 */
	aiss_settle_req s = sreq(121, t, 8, t + 1800, "COMPLETED"); /* 8400 */
	aiss_adjustment a = {.grant_id = "AISS-2025-0001",
			     .amount = 1000,
			     .reason = "credit"};
	aiss_lien lien;
	aiss_charge_rec c;
	aiss_grant g;
	aiss_error err;
	int64_t entries;

	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	assert_int_equal(c.charge.subsidy, 8400);
	assert_int_equal(aiss_ledger_adjust(f->l, &a, "fin", NULL, &err), 0);
	entries = journal_count(f);
	assert_int_equal(
	    aiss_ledger_grant_get(f->l, "AISS-2025-0001", &g, &err), 0);
	/* floor: 8400 charged + 16800 held - 1000 adjustments = 24200 */
	g.approved_subsidy = 24199;
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	assert_non_null(strstr(err.text, "AISS-2025-0001"));
	assert_non_null(strstr(err.text, "241.99"));
	assert_non_null(strstr(err.text, "84.00"));
	assert_non_null(strstr(err.text, "168.00"));
	assert_non_null(strstr(err.text, "approve at least HK$242.00"));
	assert_int_equal(bal(f, "AISS-2025-0001").approved_subsidy, 10000000);
	assert_int_equal(journal_count(f), entries); /* nothing recorded */
	g.approved_subsidy = 0;
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	g.approved_subsidy = 24200; /* exactly covered: allowed */
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), 0);
	assert_int_equal(bal(f, "AISS-2025-0001").remaining, 0);
	/* once the run settles for less, the hold is gone and lower is fine */
	s = sreq(120, t, 8, t + 900, "COMPLETED"); /* 4200 of 16800 held */
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	g.approved_subsidy = 8400 + 4200 - 1000;
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), 0);
	g.approved_subsidy -= 1;
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	assert_audit_ok(f);
}

static void test_reserve_settle(void **state)
{
	fixture *f = *state;
	aiss_time_t t = W0 + 86400;
	aiss_reserve_req r = rreq(100, t, 8, HOUR);
	aiss_settle_req s = sreq(100, t, 8, t + 1800, "COMPLETED");
	aiss_lien lien;
	aiss_charge_rec c;
	aiss_balance b;
	aiss_error err;

	assert_int_equal(aiss_ledger_reserve(f->l, &r, "slurm", &lien, &err),
			 0);
	/* 8 GPU-hours at HK$30 = HK$240 list, 70% = HK$168 held */
	assert_int_equal(lien.held_subsidy, 16800);
	assert_int_equal(lien.price, 3000);
	assert_int_equal(lien.state, AISS_LIEN_HELD);
	b = bal(f, "AISS-2025-0001");
	assert_int_equal(b.held_subsidy, 16800);
	assert_int_equal(b.held_gpus, 8);
	assert_int_equal(b.remaining, 10000000 - 16800);
	assert_int_equal(aiss_ledger_settle(f->l, &s, "slurm", &c, &err), 0);
	assert_int_equal(c.charge.gpu_seconds, 8 * 1800);
	assert_int_equal(c.charge.list_cost, 12000);
	assert_int_equal(c.charge.subsidy, 8400);
	assert_int_equal(c.charge.copay, 3600);
	assert_string_equal(c.institution, "HKU");
	assert_true(c.journal_seq > 0);
	b = bal(f, "AISS-2025-0001");
	assert_int_equal(b.held_subsidy, 0);
	assert_int_equal(b.held_gpus, 0);
	assert_int_equal(b.charged_subsidy, 8400);
	assert_int_equal(b.copay, 3600);
	assert_int_equal(b.remaining, 10000000 - 8400);
	assert_int_equal(b.n_runs, 1);
	assert_int_equal(b.n_liens, 0);
	assert_int_equal(aiss_ledger_lien_get(f->l, &r.key, &lien, &err), 0);
	assert_int_equal(lien.state, AISS_LIEN_SETTLED);
}

static void test_rounding_ties(void **state)
{
	fixture *f = *state;
	aiss_price p = {.gpu_type = "tie5", .cents_per_gpu_hour = 5};
	aiss_grant g;
	aiss_charge_rec c;
	aiss_settle_req s;
	aiss_error err;
	aiss_time_t t = W0 + 86400;

	assert_int_equal(
	    aiss_ledger_grant_get(f->l, "AISS-2025-0001", &g, &err), 0);
	snprintf(g.gpu_types, sizeof(g.gpu_types), "h100,tie5,tie10");
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), 0);
	assert_int_equal(aiss_ledger_price_set(f->l, &p, "admin", &err), 0);
	p.cents_per_gpu_hour = 10;
	snprintf(p.gpu_type, sizeof(p.gpu_type), "tie10");
	assert_int_equal(aiss_ledger_price_set(f->l, &p, "admin", &err), 0);
	/* list = 1800 * 5 / 3600 = 2.5 -> 3; subsidy 3 * 0.7 = 2.1 -> 2 */
	s = sreq(1, t, 1, t + 1800, "COMPLETED");
	snprintf(s.gpu_type, sizeof(s.gpu_type), "tie5");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "slurm", &c, &err), 0);
	assert_int_equal(c.charge.list_cost, 3);
	assert_int_equal(c.charge.subsidy, 2);
	assert_int_equal(c.charge.copay, 1);
	/* list = 5 exactly; subsidy 5 * 0.7 = 3.5 -> 4 (half up) */
	s = sreq(2, t, 1, t + 1800, "COMPLETED");
	snprintf(s.gpu_type, sizeof(s.gpu_type), "tie10");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "slurm", &c, &err), 0);
	assert_int_equal(c.charge.list_cost, 5);
	assert_int_equal(c.charge.subsidy, 4);
	assert_int_equal(c.charge.copay, 1);
}

static void test_window_edges(void **state)
{
	fixture *f = *state;
	aiss_reserve_req r;
	aiss_settle_req s;
	aiss_charge_rec c;
	aiss_lien lien;
	aiss_error err;

	/* a run straddling the window's start: half its seconds subsidised */
	s = sreq(10, W0 - 1800, 1, W0 + 1800, "COMPLETED");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "import", &c, &err), 0);
	assert_int_equal(c.charge.list_cost, 3000);
	assert_int_equal(c.charge.in_window_seconds, 1800);
	assert_int_equal(c.charge.in_window_cost, 1500);
	assert_int_equal(c.charge.subsidy, 1050);
	assert_int_equal(c.charge.copay, 1950);
	/* ending exactly at the window's end: fully inside [start, end) */
	s = sreq(11, W1 - HOUR, 1, W1, "COMPLETED");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "import", &c, &err), 0);
	assert_int_equal(c.charge.in_window_seconds, HOUR);
	assert_int_equal(c.charge.subsidy, 2100);
	/* starting exactly at the window's end: nothing subsidised */
	s = sreq(12, W1, 1, W1 + HOUR, "COMPLETED");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "import", &c, &err), 0);
	assert_int_equal(c.charge.subsidy, 0);
	assert_int_equal(c.charge.copay, 3000);
	/* reserve: one second before the window, at its start, at its end */
	r = rreq(13, W0 - 1, 1, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "slurm", &lien, &err),
			 -1);
	assert_int_equal(err.code, AISS_E_OUTSIDE_WINDOW);
	assert_non_null(strstr(err.text, "not started"));
	r = rreq(14, W0, 1, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "slurm", &lien, &err),
			 0);
	r = rreq(15, W1, 1, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "slurm", &lien, &err),
			 -1);
	assert_int_equal(err.code, AISS_E_OUTSIDE_WINDOW);
	assert_non_null(strstr(err.text, "expired"));
	assert_non_null(strstr(err.text, "AISS-2025-0001"));
	/* a lien near the end holds only the in-window part */
	r = rreq(16, W1 - 1800, 1, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "slurm", &lien, &err),
			 0);
	assert_int_equal(lien.held_subsidy, 1050);
}

static void test_cap_binds(void **state)
{
	fixture *f = *state;
	aiss_grant g = base_grant("AISS-2025-0004", "small");
	aiss_settle_req s;
	aiss_charge_rec c;
	aiss_balance b;
	aiss_error err;
	aiss_time_t t = W0 + 86400;

	g.approved_subsidy = 10000; /* HK$100 */
	assert_int_equal(aiss_ledger_grant_add(f->l, &g, "admin", &err), 0);
	/* 1 GPU-hour: list 3000, subsidy 2100 */
	s = sreq(20, t, 1, t + HOUR, "COMPLETED");
	snprintf(s.account, sizeof(s.account), "small");
	for (int i = 0; i < 4; i++) {
		s.key.job_id = 20 + i;
		assert_int_equal(aiss_ledger_settle(f->l, &s, "i", &c, &err),
				 0);
		assert_int_equal(c.charge.subsidy, 2100);
		assert_false(c.charge.capped);
	}
	s.key.job_id = 24; /* 1600 left: the cap binds */
	assert_int_equal(aiss_ledger_settle(f->l, &s, "i", &c, &err), 0);
	assert_int_equal(c.charge.subsidy, 1600);
	assert_int_equal(c.charge.copay, 3000 - 1600);
	assert_true(c.charge.capped);
	s.key.job_id = 25; /* nothing left: all co-payment */
	assert_int_equal(aiss_ledger_settle(f->l, &s, "i", &c, &err), 0);
	assert_int_equal(c.charge.subsidy, 0);
	assert_int_equal(c.charge.copay, 3000);
	b = bal(f, "AISS-2025-0004");
	assert_int_equal(b.charged_subsidy, 10000);
	assert_int_equal(b.remaining, 0);
	assert_int_equal(b.n_runs, 6);
}

static int count_node_fail(const aiss_journal_entry *e, void *arg)
{
	if (strcmp(e->kind, "charge") == 0 && strstr(e->detail, "NODE_FAIL"))
		(*(int *)arg)++;
	return 0;
}

static void test_node_fail_and_requeue(void **state)
{
	fixture *f = *state;
	aiss_time_t t = W0 + 86400;
	aiss_reserve_req r = rreq(30, t, 8, HOUR);
	aiss_settle_req s = sreq(30, t, 8, t + 600, "NODE_FAIL");
	aiss_charge_rec c;
	aiss_lien lien;
	aiss_balance b;
	aiss_error err;
	int found = 0;

	assert_int_equal(aiss_ledger_reserve(f->l, &r, "slurm", &lien, &err),
			 0);
	assert_int_equal(aiss_ledger_settle(f->l, &s, "slurm", &c, &err), 0);
	assert_int_equal(c.charge.subsidy, 0);
	assert_int_equal(c.charge.list_cost, 0);
	assert_int_equal(c.charge.copay, 0);
	assert_string_equal(c.end_state, "NODE_FAIL");
	/* the requeued job is a second run with its own key, charged */
	r = rreq(30, t + 700, 8, HOUR);
	s = sreq(30, t + 700, 8, t + 700 + 1800, "COMPLETED");
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "slurm", &lien, &err),
			 0);
	assert_int_equal(aiss_ledger_settle(f->l, &s, "slurm", &c, &err), 0);
	assert_int_equal(c.charge.subsidy, 8400);
	b = bal(f, "AISS-2025-0001");
	assert_int_equal(b.n_runs, 2);
	assert_int_equal(b.charged_subsidy, 8400);
	assert_int_equal(b.held_subsidy, 0);
	/* the NODE_FAIL reason is in the statement */
	assert_int_equal(aiss_ledger_statement(f->l, "AISS-2025-0001",
					       count_node_fail, &found, &err),
			 0);
	assert_int_equal(found, 1);
}

static void test_idempotency(void **state)
{
	fixture *f = *state;
	aiss_time_t t = W0 + 86400;
	aiss_reserve_req r = rreq(40, t, 4, HOUR);
	aiss_settle_req s = sreq(40, t, 4, t + HOUR, "COMPLETED");
	aiss_charge_rec c1, c2;
	aiss_lien l1, l2;
	aiss_balance b1, b2;
	aiss_error err;
	int64_t n;

	assert_int_equal(aiss_ledger_reserve(f->l, &r, "slurm", &l1, &err), 0);
	n = journal_count(f);
	b1 = bal(f, "AISS-2025-0001");
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "slurm", &l2, &err), 0);
	assert_memory_equal(&l1, &l2, sizeof(l1));
	b2 = bal(f, "AISS-2025-0001");
	assert_int_equal(b1.held_subsidy, b2.held_subsidy);
	assert_int_equal(b1.held_gpus, b2.held_gpus);
	assert_int_equal(journal_count(f), n);
	/* same key, another shape: a conflict, not a second lien */
	r.shape.gpus = 8;
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "slurm", &l2, &err), -1);
	assert_int_equal(err.code, AISS_E_CONFLICT);
	assert_int_equal(aiss_ledger_settle(f->l, &s, "slurm", &c1, &err), 0);
	n = journal_count(f);
	s.end = t + 2 * HOUR; /* a repeat returns the first answer */
	assert_int_equal(aiss_ledger_settle(f->l, &s, "slurm", &c2, &err), 0);
	assert_memory_equal(&c1, &c2, sizeof(c1));
	assert_int_equal(journal_count(f), n);
	assert_int_equal(bal(f, "AISS-2025-0001").charged_subsidy,
			 c1.charge.subsidy);
	/* release: twice is once; settle after release still charges */
	r = rreq(41, t, 2, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "slurm", &l1, &err), 0);
	assert_int_equal(aiss_ledger_release(f->l, &r.key, "slurm", &err), 0);
	n = journal_count(f);
	assert_int_equal(aiss_ledger_release(f->l, &r.key, "slurm", &err), 0);
	assert_int_equal(journal_count(f), n);
	b1 = bal(f, "AISS-2025-0001");
	assert_int_equal(b1.held_subsidy, 0);
	assert_int_equal(b1.held_gpus, 0);
	s = sreq(41, t, 2, t + HOUR, "COMPLETED");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "slurm", &c1, &err), 0);
	assert_int_equal(c1.charge.subsidy, 4200);
	b2 = bal(f, "AISS-2025-0001");
	assert_int_equal(b2.held_subsidy, 0); /* not released twice */
	assert_int_equal(b2.charged_subsidy, b1.charged_subsidy + 4200);
	r.key.job_id = 42;
	assert_int_equal(aiss_ledger_release(f->l, &r.key, "slurm", &err), -1);
	assert_int_equal(err.code, AISS_E_NOT_FOUND);
}

static void test_refusals(void **state)
{
	fixture *f = *state;
	aiss_time_t t = W0 + 86400;
	aiss_reserve_req r;
	aiss_lien lien;
	aiss_error err;
	aiss_grant g;

	r = rreq(50, t, 1, HOUR);
	snprintf(r.shape.account, sizeof(r.shape.account), "nosuch");
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_UNKNOWN_ACCOUNT);
	assert_non_null(strstr(err.text, "nosuch"));
	r = rreq(50, t, 1, HOUR);
	snprintf(r.shape.user, sizeof(r.shape.user), "mallory");
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_NOT_MEMBER);
	assert_non_null(strstr(err.text, "AISS-2025-0001"));
	r = rreq(50, t, 1, HOUR);
	snprintf(r.shape.gpu_type, sizeof(r.shape.gpu_type), "a100");
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_GPU_TYPE);
	assert_non_null(strstr(err.text, "h100,h800"));
	r = rreq(50, t, 17, HOUR); /* max 16 concurrent */
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_CONCURRENCY);
	r = rreq(50, t, 8, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	r = rreq(51, t, 9, HOUR); /* 8 held + 9 > 16 */
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_CONCURRENCY);
	assert_non_null(strstr(err.text, "16"));
	r = rreq(51, t, 8, HOUR); /* exactly at the maximum: fine */
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	/* worst case over what is available: HK$100,000 at 70% of HK$30 per
	 * GPU-hour covers 4761.9 GPU-hours, so 1 GPU x 5000 h (8 held) */
	assert_int_equal(aiss_ledger_release(f->l, &r.key, "s", &err), 0);
	r = rreq(52, t, 1, 5000LL * HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_INSUFFICIENT);
	assert_non_null(strstr(err.text, "AISS-2025-0001"));
	assert_non_null(strstr(err.text, "top up"));
	/* GPU-hours: 10000 approved; 8 GPUs held for 1 h */
	assert_int_equal(
	    aiss_ledger_grant_get(f->l, "AISS-2025-0001", &g, &err), 0);
	g.approved_gpu_seconds = 100LL * HOUR;
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), 0);
	r = rreq(53, t, 8, 12LL * HOUR); /* 96 + 8 held > 100 */
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_GPU_HOURS);
	assert_non_null(strstr(err.text, "GPU-hours"));
	r = rreq(53, t, 8, 11LL * HOUR); /* 88 + 8 <= 100 */
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	/* suspended: refused, with the fix */
	assert_int_equal(aiss_ledger_grant_set_state(
			     f->l, "AISS-2025-0001", AISS_GRANT_SUSPENDED,
			     "progress report late", "admin", &err),
			 0);
	r = rreq(54, t, 1, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_GRANT_INACTIVE);
	assert_non_null(strstr(err.text, "suspended"));
	assert_non_null(strstr(err.text, "resume"));
	/* a run that happened is still charged on a suspended grant */
	{
		aiss_settle_req s = sreq(55, t, 1, t + HOUR, "COMPLETED");
		aiss_charge_rec c;

		assert_int_equal(aiss_ledger_settle(f->l, &s, "i", &c, &err),
				 0);
		assert_int_equal(c.charge.subsidy, 2100);
		snprintf(s.account, sizeof(s.account), "nosuch");
		s.key.job_id = 56;
		assert_int_equal(aiss_ledger_settle(f->l, &s, "i", &c, &err),
				 -1);
		assert_int_equal(err.code, AISS_E_UNKNOWN_ACCOUNT);
	}
	/* bad input */
	r = rreq(57, t, -1, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	{
		aiss_settle_req s = sreq(58, t, 1, t - 1, "COMPLETED");
		aiss_charge_rec c;

		assert_int_equal(aiss_ledger_settle(f->l, &s, "i", &c, &err),
				 -1);
		assert_int_equal(err.code, AISS_E_INVALID);
	}
}

static void test_quote(void **state)
{
	fixture *f = *state;
	aiss_job_shape s;
	aiss_quote q, q2;
	aiss_error err;

	memset(&s, 0, sizeof(s));
	snprintf(s.account, sizeof(s.account), "acct1");
	snprintf(s.user, sizeof(s.user), "alice");
	s.gpus = 8;
	s.time_limit = 24 * HOUR;
	s.start = W0 + 86400;
	assert_int_equal(aiss_ledger_quote(f->l, &s, &q, &err), 0);
	assert_int_equal(q.verdict, AISS_OK);
	assert_string_equal(q.gpu_type, "h100"); /* the first approved */
	assert_int_equal(q.price, 3000);
	assert_int_equal(q.worst.list_cost, 8 * 24 * 3000);
	assert_int_equal(q.worst.subsidy, 8 * 24 * 2100);
	assert_int_equal(q.available, 10000000);
	assert_true(q.fit_time_limit >= s.time_limit);
	/* an array of 30: 30 x 403,200 cents > 10,000,000 available */
	s.count = 30;
	assert_int_equal(aiss_ledger_quote(f->l, &s, &q, &err), 0);
	assert_int_equal(q.verdict, AISS_E_INSUFFICIENT);
	assert_int_equal(q.fit_count, 10000000 / (8 * 24 * 2100));
	/* too long for the grant: fit_time_limit fits, a minute more not */
	s.count = 1;
	s.gpus = 16;
	s.time_limit = 1000 * HOUR;
	assert_int_equal(aiss_ledger_quote(f->l, &s, &q, &err), 0);
	assert_int_equal(q.verdict, AISS_E_INSUFFICIENT);
	assert_true(q.fit_time_limit > 0);
	assert_int_equal(q.fit_time_limit % 60, 0);
	assert_true(q.fit_gpus < 16);
	s.time_limit = q.fit_time_limit;
	assert_int_equal(aiss_ledger_quote(f->l, &s, &q2, &err), 0);
	assert_int_equal(q2.verdict, AISS_OK);
	s.time_limit = q.fit_time_limit + 60;
	assert_int_equal(aiss_ledger_quote(f->l, &s, &q2, &err), 0);
	assert_int_equal(q2.verdict, AISS_E_INSUFFICIENT);
	/* quote changes nothing */
	assert_int_equal(bal(f, "AISS-2025-0001").held_subsidy, 0);
	/* no price for an approved type: a verdict */
	s.time_limit = HOUR;
	s.gpus = 1;
	{
		aiss_grant g;

		assert_int_equal(
		    aiss_ledger_grant_get(f->l, "AISS-2025-0001", &g, &err), 0);
		snprintf(g.gpu_types, sizeof(g.gpu_types), "h100,b200");
		assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "a", &err),
				 0);
	}
	snprintf(s.gpu_type, sizeof(s.gpu_type), "b200");
	assert_int_equal(aiss_ledger_quote(f->l, &s, &q, &err), 0);
	assert_int_equal(q.verdict, AISS_E_NO_PRICE);
	snprintf(s.account, sizeof(s.account), "nosuch");
	assert_int_equal(aiss_ledger_quote(f->l, &s, &q, &err), -1);
	assert_int_equal(err.code, AISS_E_UNKNOWN_ACCOUNT);
}

static void test_price_at_run_start(void **state)
{
	fixture *f = *state;
	aiss_time_t change = W0 + 10 * 86400;
	aiss_price p = {.gpu_type = "h100",
			.cents_per_gpu_hour = 6000,
			.effective_from = change};
	aiss_reserve_req r;
	aiss_settle_req s;
	aiss_charge_rec c;
	aiss_lien lien;
	aiss_error err;

	assert_int_equal(aiss_ledger_price_set(f->l, &p, "admin", &err), 0);
	/* started one second before the change: old price for the whole run */
	r = rreq(60, change - 1, 1, 2 * HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	assert_int_equal(lien.price, 3000);
	s = sreq(60, change - 1, 1, change - 1 + HOUR, "COMPLETED");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	assert_int_equal(c.price, 3000);
	assert_int_equal(c.charge.list_cost, 3000);
	/* started at the change: the new price */
	r = rreq(61, change, 1, 2 * HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	assert_int_equal(lien.price, 6000);
	s = sreq(61, change, 1, change + HOUR, "COMPLETED");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	assert_int_equal(c.charge.list_cost, 6000);
	/* an import without lien looks the price up at the run's start */
	s = sreq(62, change - 10, 1, change + HOUR, "COMPLETED");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	assert_int_equal(c.price, 3000);
}

static int count_adj(const aiss_adjustment *a, void *arg)
{
	(void)a;
	(*(int *)arg)++;
	return 0;
}

typedef struct end_list {
	aiss_time_t ends[8];
	int n;
} end_list;

static int collect_end(const aiss_charge_rec *r, void *arg)
{
	end_list *e = arg;

	if (e->n < 8)
		e->ends[e->n++] = r->end;
	return 0;
}

static void test_adjust_and_export(void **state)
{
	fixture *f = *state;
	aiss_adjustment a = {.grant_id = "AISS-2025-0001",
			     .amount = 50000,
			     .reason = "refund: node outage 2025-05-01"};
	aiss_adjustment out;
	aiss_charge_rec c;
	aiss_settle_req s;
	aiss_balance b;
	aiss_error err;
	aiss_time_t t = W0 + 86400;
	int n = 0;
	end_list seen = {.n = 0};

	assert_int_equal(
	    aiss_ledger_adjust(f->l, &a, "finance-admin", &out, &err), 0);
	assert_true(out.journal_seq > 0);
	assert_string_equal(out.actor, "finance-admin");
	b = bal(f, "AISS-2025-0001");
	assert_int_equal(b.adjustments, 50000);
	assert_int_equal(b.remaining, 10000000 + 50000);
	a.amount = 0;
	assert_int_equal(aiss_ledger_adjust(f->l, &a, "x", NULL, &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	a.amount = -100;
	a.reason[0] = '\0';
	assert_int_equal(aiss_ledger_adjust(f->l, &a, "x", NULL, &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	assert_int_equal(
	    aiss_ledger_adjustment_export(f->l, 0, 0, count_adj, &n, &err), 0);
	assert_int_equal(n, 1);
	/* charges come out in the order the runs ended */
	s = sreq(70, t, 1, t + 3 * HOUR, "COMPLETED");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	s = sreq(71, t, 1, t + 1 * HOUR, "COMPLETED");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	s = sreq(72, t, 1, t + 2 * HOUR, "COMPLETED");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	assert_int_equal(
	    aiss_ledger_charge_export(f->l, 0, 0, collect_end, &seen, &err), 0);
	assert_int_equal(seen.n, 3);
	assert_true(seen.ends[0] < seen.ends[1]);
	assert_true(seen.ends[1] < seen.ends[2]);
	seen.n = 0;
	assert_int_equal(aiss_ledger_charge_export(f->l, t + 2 * HOUR,
						   t + 3 * HOUR, collect_end,
						   &seen, &err),
			 0);
	assert_int_equal(seen.n, 1);
}

/* ---- the journal ---- */

static void tamper(const char *path, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("tamper: %s", msg);
	sqlite3_close(db);
}

static void test_journal_tamper(void **state)
{
	fixture *f = *state;
	aiss_time_t t = W0 + 86400;
	aiss_reserve_req r = rreq(80, t, 1, HOUR);
	aiss_settle_req s = sreq(80, t, 1, t + HOUR, "COMPLETED");
	aiss_verify_result v;
	aiss_charge_rec c;
	aiss_lien lien;
	aiss_error err;

	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	assert_int_equal(aiss_ledger_journal_verify(f->l, &v, &err), 0);
	assert_int_equal(v.ok, 1);
	assert_int_equal(v.first_bad_seq, 0);
	/* the service itself cannot edit the journal */
	{
		sqlite3 *db;

		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_not_equal(
		    sqlite3_exec(db, "UPDATE journal SET amount = 1", NULL,
				 NULL, NULL),
		    SQLITE_OK);
		assert_int_not_equal(
		    sqlite3_exec(db, "DELETE FROM charge", NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_close(db);
	}
	aiss_ledger_close(f->l);
	/* behind the service's back: drop the guard, shave a charge */
	tamper(f->path, "DROP TRIGGER journal_no_update;"
			"UPDATE journal SET amount = amount + 100 "
			"WHERE seq = (SELECT journal_seq FROM charge "
			"WHERE job_id = 80);");
	open_ledger(f);
	assert_int_equal(aiss_ledger_journal_verify(f->l, &v, &err), 0);
	assert_int_equal(v.ok, 0);
	assert_int_equal(v.first_bad_seq, c.journal_seq);
	assert_non_null(strstr(v.reason, "altered"));
}

static void test_journal_delete_detected(void **state)
{
	fixture *f = *state;
	aiss_verify_result v;
	aiss_error err;

	aiss_ledger_close(f->l);
	tamper(f->path, "DROP TRIGGER journal_no_delete;"
			"DELETE FROM journal WHERE seq = 2;");
	open_ledger(f);
	assert_int_equal(aiss_ledger_journal_verify(f->l, &v, &err), 0);
	assert_int_equal(v.ok, 0);
	assert_int_equal(v.first_bad_seq, 2);
}

static void test_charge_edit_detected(void **state)
{
	fixture *f = *state;
	aiss_time_t t = W0 + 86400;
	aiss_settle_req s = sreq(81, t, 1, t + HOUR, "COMPLETED");
	aiss_verify_result v;
	aiss_charge_rec c;
	aiss_grant g;
	aiss_error err;

	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	/* modify with state 0 keeps a suspended grant suspended */
	assert_int_equal(aiss_ledger_grant_set_state(f->l, "AISS-2025-0001",
						     AISS_GRANT_SUSPENDED,
						     "audit", "admin", &err),
			 0);
	assert_int_equal(
	    aiss_ledger_grant_get(f->l, "AISS-2025-0001", &g, &err), 0);
	g.state = 0;
	g.approved_subsidy += 100;
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), 0);
	assert_int_equal(
	    aiss_ledger_grant_get(f->l, "AISS-2025-0001", &g, &err), 0);
	assert_int_equal(g.state, AISS_GRANT_SUSPENDED);
	assert_audit_ok(f);
	aiss_ledger_close(f->l);
	/* the charge row edited, the journal left alone */
	tamper(f->path, "DROP TRIGGER charge_no_update;"
			"UPDATE charge SET subsidy = subsidy - 100 "
			"WHERE job_id = 81;");
	open_ledger(f);
	assert_int_equal(aiss_ledger_journal_verify(f->l, &v, &err), 0);
	assert_int_equal(v.ok, 0);
	assert_int_equal(v.first_bad_seq, c.journal_seq);
	assert_non_null(strstr(v.reason, "charge"));
}

static void test_newer_schema_refused(void **state)
{
	fixture *f = *state;
	aiss_error err;

	aiss_ledger_close(f->l);
	f->l = NULL;
	tamper(f->path, "PRAGMA user_version = 99;");
	assert_null(aiss_ledger_open(f->path, &err));
	assert_int_equal(err.code, AISS_E_STORAGE);
	assert_non_null(strstr(err.text, "99"));
	{
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;",
			 AISS_LEDGER_SCHEMA_VERSION);
		tamper(f->path, sql);
	}
	open_ledger(f);
	assert_audit_ok(f);
}

/* ---- group commit ---- */

static void test_batch_rollback_of_one(void **state)
{
	fixture *f = *state;
	aiss_time_t t = W0 + 86400;
	aiss_reserve_req r;
	aiss_settle_req s;
	aiss_charge_rec c;
	aiss_lien lien;
	aiss_error err;
	aiss_verify_result v;
	int64_t n0 = journal_count(f);

	assert_int_equal(aiss_ledger_batch_begin(f->l, &err), 0);
	assert_int_equal(aiss_ledger_batch_begin(f->l, &err), -1);
	r = rreq(90, t, 4, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	r = rreq(91, t, 20, HOUR); /* refused: over 16 GPUs */
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_CONCURRENCY);
	r = rreq(92, t, 4, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	s = sreq(90, t, 4, t + HOUR, "COMPLETED");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	s = sreq(93, t, 4, t - 5, "COMPLETED"); /* refused: bad input */
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), -1);
	assert_int_equal(aiss_ledger_batch_commit(f->l, &err), 0);
	assert_int_equal(aiss_ledger_batch_commit(f->l, &err), -1);
	assert_int_equal(journal_count(f), n0 + 3);
	assert_int_equal(aiss_ledger_lien_get(f->l, &r.key, &lien, &err), 0);
	r = rreq(91, t, 20, HOUR);
	assert_int_equal(aiss_ledger_lien_get(f->l, &r.key, &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_NOT_FOUND);
	assert_int_equal(bal(f, "AISS-2025-0001").held_gpus, 4);
	/* a whole batch rolled back leaves nothing */
	assert_int_equal(aiss_ledger_batch_begin(f->l, &err), 0);
	r = rreq(94, t, 4, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	assert_int_equal(aiss_ledger_batch_rollback(f->l, &err), 0);
	assert_int_equal(aiss_ledger_lien_get(f->l, &r.key, &lien, &err), -1);
	assert_int_equal(bal(f, "AISS-2025-0001").held_gpus, 4);
	assert_int_equal(aiss_ledger_journal_verify(f->l, &v, &err), 0);
	assert_int_equal(v.ok, 1);
	assert_int_equal(v.n_entries, n0 + 3);
	/* the journal chain continues correctly after the rollback */
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	assert_int_equal(journal_count(f), n0 + 4);
}

/* Reopens @f's ledger with a trigger that refuses the charge row of job 999
 * (a settle then fails after its lien and grant rows changed). */
static void plant_charge_failure(fixture *f)
{
	aiss_ledger_close(f->l);
	tamper(f->path, "CREATE TRIGGER inject BEFORE INSERT ON charge "
			"WHEN NEW.job_id = 999 "
			"BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
	open_ledger(f);
}

/* An operation that fails after writing its journal entry, inside a batch:
 * the entry is rolled back and the chain continues from the one before;
 * in an optimistic batch (no savepoints) the whole batch is. */
static void test_batch_failure_after_journal(void **state)
{
	fixture *f = *state;
	aiss_time_t t = W0 + 86400;
	aiss_reserve_req r;
	aiss_settle_req s = sreq(999, t, 1, t + HOUR, "COMPLETED");
	aiss_charge_rec c;
	aiss_lien lien;
	aiss_error err;
	int64_t n0;

	plant_charge_failure(f);
	n0 = journal_count(f);
	/* Without savepoints (aissd's batches): refusals before any change
	 * cost nothing and leave the batch whole; the failure after changes
	 * spoils it (later calls fail, commit rolls everything back). */
	assert_int_equal(aiss_ledger_batch_begin_optimistic(f->l, &err), 0);
	r = rreq(998, t, 1, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	r = rreq(996, t, 100000, HOUR); /* over the concurrent GPUs */
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_not_equal(err.code, AISS_E_STORAGE);
	assert_int_equal(aiss_ledger_batch_spoiled(f->l), 0);
	r = rreq(999, t, 1, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	assert_int_equal(aiss_ledger_batch_spoiled(f->l), 0);
	/* the lien is settled, then the charge row fails: half done */
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), -1);
	assert_non_null(strstr(err.text, "injected"));
	assert_int_equal(aiss_ledger_batch_spoiled(f->l), 1);
	r = rreq(997, t, 1, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_STORAGE);
	assert_int_equal(aiss_ledger_batch_commit(f->l, &err), -1);
	assert_int_equal(aiss_ledger_in_batch(f->l), 0);
	assert_int_equal(journal_count(f), n0);
	assert_int_equal(aiss_ledger_lien_get(f->l, &r.key, &lien, &err), -1);
	assert_audit_ok(f);

	/* The same with a savepoint each: only the settle is undone. */
	assert_int_equal(aiss_ledger_batch_begin(f->l, &err), 0);
	r = rreq(998, t, 1, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), -1);
	assert_non_null(strstr(err.text, "injected"));
	r = rreq(997, t, 1, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	assert_int_equal(aiss_ledger_batch_commit(f->l, &err), 0);
	assert_int_equal(journal_count(f), n0 + 2);
	assert_int_equal(aiss_ledger_charge_get(f->l, &s.key, &c, &err), -1);
	assert_audit_ok(f);
}

/* One commit far larger than the WAL-gathering VFS's 124 KiB write pieces
 * (and a second one after it, not contiguous once the WAL restarts):
 * everything is there after a reopen, chain and totals intact. */
static void test_large_commit(void **state)
{
	fixture *f = *state;
	aiss_time_t t = W0 + 86400;
	aiss_grant g;
	aiss_error err;
	int64_t n0 = journal_count(f);

	assert_int_equal(
	    aiss_ledger_grant_get(f->l, "AISS-2025-0001", &g, &err), 0);
	g.max_concurrent_gpus = 0;
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), 0);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(aiss_ledger_batch_begin(f->l, &err), 0);
		for (int i = 0; i < 1500; i++) {
			uint64_t job = 5000 + (uint64_t)round * 10000 +
				       (uint64_t)i * 7919 % 1500;
			aiss_reserve_req r = rreq(job, t, 1, HOUR);
			aiss_lien lien;

			assert_int_equal(
			    aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
		}
		assert_int_equal(aiss_ledger_batch_commit(f->l, &err), 0);
		aiss_ledger_idle(f->l);
	}
	aiss_ledger_close(f->l);
	open_ledger(f);
	assert_int_equal(journal_count(f), n0 + 1 + 3000);
	assert_int_equal(bal(f, "AISS-2025-0001").n_liens, 3000);
	assert_audit_ok(f);
}

static void test_cache_size(void **state)
{
	fixture *f = *state;
	aiss_error err;

	assert_int_equal(aiss_ledger_set_cache_kib(f->l, 63, &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	assert_int_equal(aiss_ledger_set_cache_kib(f->l, 8192, &err), 0);
	assert_int_equal(journal_count(f) > 0, 1); /* still reads */
}

static void test_idle_checkpoint(void **state)
{
	fixture *f = *state;
	aiss_time_t t = W0 + 86400;
	aiss_error err;

	/* forty single-operation commits put well over 64 pages in the WAL */
	for (int i = 0; i < 20; i++) {
		aiss_reserve_req r = rreq(700 + i, t, 1, HOUR);
		aiss_settle_req s = sreq(700 + i, t, 1, t + 60, "COMPLETED");
		aiss_lien lien;
		aiss_charge_rec c;

		assert_int_equal(
		    aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
		assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err),
				 0);
	}
	assert_int_equal(aiss_ledger_batch_begin(f->l, &err), 0);
	assert_int_equal(aiss_ledger_idle(f->l), 0); /* never inside a batch */
	assert_int_equal(aiss_ledger_batch_rollback(f->l, &err), 0);
	assert_int_equal(aiss_ledger_idle(f->l), 1);
	assert_int_equal(aiss_ledger_idle(f->l), 0); /* nothing due now */
	assert_int_equal(bal(f, "AISS-2025-0001").n_runs, 20);
	assert_audit_ok(f);
}

/* The checkpoint's database fsync runs on the VFS's thread (ledger_vfs.c):
 * the WAL is not started again before it is done, and a failed one stops
 * commits without losing any. The hook replaces that fdatasync. */
void ledger_vfs_test_sync(int (*fn)(int fd));

void ledger_vfs_test_decline(int on);

static struct {
	char wal[128];
	int calls, restarted, fail;
	int grew; /* calls during which the WAL file grew */
	char last_err[512];
} vsync;

static int wal_salt(uint8_t salt[8])
{
	FILE *fp = fopen(vsync.wal, "rb");
	uint8_t hdr[32];
	int ok = fp && fread(hdr, 1, sizeof(hdr), fp) == sizeof(hdr);

	if (fp)
		fclose(fp);
	if (ok)
		memcpy(salt, hdr + 16, 8);
	return ok ? 0 : -1;
}

/* Slow (20 ms): long enough for the next commit to start the WAL again
 * over the frames just copied, if nothing waited for this. */
static long wal_file_size(void)
{
	struct stat sb;

	return stat(vsync.wal, &sb) == 0 ? (long)sb.st_size : -1;
}

static int slow_sync(int fd)
{
	uint8_t a[8], b[8];
	int ra = wal_salt(a);
	long size = wal_file_size();

	usleep(20000);
	if (ra == 0 && (wal_salt(b) != 0 || memcmp(a, b, 8) != 0))
		vsync.restarted++;
	if (wal_file_size() > size)
		vsync.grew++;
	vsync.calls++;
	if (vsync.fail)
		return -1;
	return fdatasync(fd);
}

/* Lifts the grant's GPU limit for many liens, installs slow_sync and
 * returns the grant's liens so far. */
static int64_t slow_sync_start(fixture *f)
{
	aiss_grant g;
	aiss_error err;

	assert_int_equal(
	    aiss_ledger_grant_get(f->l, "AISS-2025-0001", &g, &err), 0);
	g.max_concurrent_gpus = 0;
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), 0);
	memset(&vsync, 0, sizeof(vsync));
	snprintf(vsync.wal, sizeof(vsync.wal), "%s-wal", f->path);
	ledger_vfs_test_sync(slow_sync);
	return bal(f, "AISS-2025-0001").n_liens;
}

/* Commits of 50 reserves each, until @n of them were refused or @batches
 * were made; returns how many committed. */
static int commit_batches(fixture *f, uint64_t *job, int batches, int n)
{
	aiss_error err;
	int ok = 0, bad = 0;

	for (int i = 0; i < batches && bad < n; i++) {
		assert_int_equal(aiss_ledger_batch_begin(f->l, &err), 0);
		for (int k = 0; k < 50; k++) {
			aiss_reserve_req r = rreq((*job)++, W0 + 86400, 1, 60);
			aiss_lien lien;

			assert_int_equal(
			    aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
		}
		if (aiss_ledger_batch_commit(f->l, &err) == 0) {
			ok++;
		} else {
			assert_int_equal(err.code, AISS_E_STORAGE);
			snprintf(vsync.last_err, sizeof(vsync.last_err), "%s",
				 err.text);
			bad++;
			if (aiss_ledger_in_batch(f->l))
				aiss_ledger_batch_rollback(f->l, &err);
		}
	}
	return ok;
}

static void test_checkpoint_sync_deferred(void **state)
{
	fixture *f = *state;
	uint64_t job = 100000;
	int64_t liens0 = slow_sync_start(f);

	/* ~60 pages a commit: a checkpoint every ~17 commits; without the
	 * declined restarts, each next commit restarts the WAL */
	ledger_vfs_test_decline(0);
	assert_int_equal(commit_batches(f, &job, 120, 1), 120);
	ledger_vfs_test_decline(1);
	aiss_ledger_close(f->l);
	f->l = NULL;
	assert_true(vsync.calls >= 3);
	assert_int_equal(vsync.restarted, 0);
	assert_int_equal(vsync.grew, 0); /* commits waited for each fsync */
	open_ledger(f);
	assert_int_equal(bal(f, "AISS-2025-0001").n_liens, liens0 + 120 * 50);
	assert_audit_ok(f);

	/* A failed one: the commit that would start the WAL again over the
	 * copied frames fails, and so does every later one; reopened, the
	 * WAL gives back every acknowledged commit. */
	memset(&vsync, 0, sizeof(vsync));
	snprintf(vsync.wal, sizeof(vsync.wal), "%s-wal", f->path);
	vsync.fail = 1;
	char why[400];
	assert_int_equal(aiss_ledger_writes_refused(f->l, why, sizeof(why)), 0);
	int ok = commit_batches(f, &job, 200, 5);
	assert_int_equal(aiss_ledger_writes_refused(f->l, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "restart aissd"));
	assert_true(vsync.calls >= 1);
	assert_true(ok < 200); /* refused from the failure on */
	assert_non_null(strstr(vsync.last_err, "after a checkpoint"));
	aiss_ledger_close(f->l);
	f->l = NULL;
	ledger_vfs_test_sync(NULL);
	open_ledger(f);
	assert_int_equal(bal(f, "AISS-2025-0001").n_liens,
			 liens0 + (120 + ok) * 50);
	assert_audit_ok(f);
	assert_int_equal(commit_batches(f, &job, 3, 1), 3); /* and goes on */
	assert_int_equal(aiss_ledger_writes_refused(f->l, why, sizeof(why)), 0);
}

/* While a checkpoint's fsync runs, commits go on without waiting for it:
 * the VFS declines the WAL's restart and SQLite appends after the copied
 * frames; the WAL restarts once it holds 8000 frames, after the fsync of
 * the checkpoint that found it so large, never during one. */
static long wal_file_frames(void)
{
	FILE *fp = fopen(vsync.wal, "rb");
	uint8_t hdr[32];
	struct stat sb;

	assert_non_null(fp);
	assert_int_equal(fread(hdr, 1, sizeof(hdr), fp), sizeof(hdr));
	assert_int_equal(fstat(fileno(fp), &sb), 0);
	fclose(fp);
	long page = (long)hdr[8] << 24 | hdr[9] << 16 | hdr[10] << 8 | hdr[11];
	return (long)(sb.st_size - 32) / (24 + page);
}

static void test_checkpoint_restart_declined(void **state)
{
	fixture *f = *state;
	uint64_t job = 300000;
	uint8_t salt[8], now[8];
	int64_t liens0 = slow_sync_start(f);
	int n = 0, restarts = 0;
	long most = 0;

	assert_int_equal(wal_salt(salt), 0);
	while (restarts < 1) {
		most = wal_file_frames();
		assert_int_equal(commit_batches(f, &job, 1, 1), 1);
		n++;
		assert_int_equal(wal_salt(now), 0);
		if (memcmp(now, salt, 8) != 0) {
			restarts++;
			memcpy(salt, now, 8);
		}
		assert_true(n < 600);
	}
	ledger_vfs_test_sync(NULL);
	assert_true(most >= 8000);            /* restarted only there */
	assert_true(vsync.calls >= 7);        /* a checkpoint per ~1000 */
	assert_int_equal(vsync.restarted, 0); /* never during an fsync */
	assert_true(vsync.grew >= 1);         /* commits did not wait */
	aiss_ledger_close(f->l);
	f->l = NULL;
	open_ledger(f);
	assert_int_equal(bal(f, "AISS-2025-0001").n_liens, liens0 + n * 50);
	assert_audit_ok(f);
}

/* The grant cache (ledger_cache.c): deltas of reserve and settle inside a
 * batch, a rolled-back batch, a savepoint rolled back by a refusal, a
 * change by another handle (data_version) and by this one (grant modify,
 * adjust) are all seen by the next admission. */
static int reserve_in_batch(fixture *f, uint64_t job, int64_t gpus,
			    aiss_error *err)
{
	aiss_reserve_req r = rreq(job, W0 + 86400, gpus, HOUR);
	aiss_lien lien;
	aiss_error e2;
	int rc;

	assert_int_equal(aiss_ledger_batch_begin(f->l, &e2), 0);
	rc = aiss_ledger_reserve(f->l, &r, "s", &lien, err);
	assert_int_equal(aiss_ledger_batch_commit(f->l, &e2), 0);
	return rc;
}

static void test_grant_cache(void **state)
{
	fixture *f = *state;
	aiss_time_t t = W0 + 86400;
	aiss_reserve_req r;
	aiss_settle_req s;
	aiss_charge_rec c;
	aiss_lien lien;
	aiss_error err;
	aiss_ledger *other;
	aiss_grant g = base_grant("AISS-2025-0001", "acct1");
	aiss_adjustment a;

	/* in one batch: 16 of 16 GPUs held, one more is refused */
	assert_int_equal(aiss_ledger_batch_begin(f->l, &err), 0);
	r = rreq(1, t, 16, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	r = rreq(2, t, 1, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_CONCURRENCY);
	assert_int_equal(aiss_ledger_batch_rollback(f->l, &err), 0);
	/* a batch rolled back after a hold (no refusal in it): nothing is
	 * held after it, 16 fit again */
	assert_int_equal(aiss_ledger_batch_begin(f->l, &err), 0);
	r = rreq(1, t, 16, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	assert_int_equal(aiss_ledger_batch_rollback(f->l, &err), 0);
	assert_int_equal(reserve_in_batch(f, 3, 16, &err), 0);
	assert_int_equal(reserve_in_batch(f, 4, 1, &err), -1);
	assert_int_equal(err.code, AISS_E_CONCURRENCY);
	/* a settle releases the lien for the next reserve of its batch */
	assert_int_equal(aiss_ledger_batch_begin(f->l, &err), 0);
	s = sreq(3, t, 16, t + 60, "COMPLETED");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	r = rreq(5, t, 16, HOUR);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	assert_int_equal(aiss_ledger_batch_commit(f->l, &err), 0);
	s = sreq(5, t, 16, t + 60, "COMPLETED");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	/* another handle suspends the grant: seen at the next batch */
	assert_int_equal(reserve_in_batch(f, 6, 1, &err), 0);
	other = aiss_ledger_open(f->path, &err);
	assert_non_null(other);
	assert_int_equal(aiss_ledger_grant_set_state(other, "AISS-2025-0001",
						     AISS_GRANT_SUSPENDED,
						     "audit", "admin", &err),
			 0);
	assert_int_equal(reserve_in_batch(f, 7, 1, &err), -1);
	assert_int_equal(err.code, AISS_E_GRANT_INACTIVE);
	assert_int_equal(aiss_ledger_grant_set_state(other, "AISS-2025-0001",
						     AISS_GRANT_ACTIVE, "done",
						     "admin", &err),
			 0);
	aiss_ledger_close(other);
	assert_int_equal(reserve_in_batch(f, 8, 1, &err), 0);
	/* this handle lowers the limit to 4 GPUs (2 held): 3 more refused */
	g.max_concurrent_gpus = 4;
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), 0);
	assert_int_equal(reserve_in_batch(f, 9, 3, &err), -1);
	assert_int_equal(err.code, AISS_E_CONCURRENCY);
	assert_int_equal(reserve_in_batch(f, 10, 2, &err), 0);
	/* an adjustment takes the grant's available subsidy to nothing */
	s = sreq(10, t, 2, t + 60, "COMPLETED");
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	assert_int_equal(reserve_in_batch(f, 11, 1, &err), 0); /* cached */
	memset(&a, 0, sizeof(a));
	snprintf(a.grant_id, sizeof(a.grant_id), "AISS-2025-0001");
	a.amount = -bal(f, "AISS-2025-0001").remaining;
	snprintf(a.reason, sizeof(a.reason), "clawback");
	assert_int_equal(aiss_ledger_adjust(f->l, &a, "fin", NULL, &err), 0);
	assert_int_equal(reserve_in_batch(f, 12, 1, &err), -1);
	assert_int_equal(err.code, AISS_E_INSUFFICIENT);
	assert_audit_ok(f);
}

static void test_reopen_keeps_everything(void **state)
{
	fixture *f = *state;
	aiss_time_t t = W0 + 86400;
	aiss_reserve_req r = rreq(100, t, 2, HOUR);
	aiss_settle_req s = sreq(101, t, 1, t + HOUR, "COMPLETED");
	aiss_charge_rec c, c2;
	aiss_lien lien;
	aiss_balance b1, b2;
	aiss_error err;
	aiss_scheme sc;
	int64_t n;

	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	assert_int_equal(aiss_ledger_batch_begin(f->l, &err), 0);
	assert_int_equal(aiss_ledger_settle(f->l, &s, "s", &c, &err), 0);
	assert_int_equal(aiss_ledger_batch_commit(f->l, &err), 0);
	b1 = bal(f, "AISS-2025-0001");
	n = journal_count(f);
	aiss_ledger_close(f->l);
	open_ledger(f);
	b2 = bal(f, "AISS-2025-0001");
	assert_memory_equal(&b1, &b2, sizeof(b1));
	assert_int_equal(journal_count(f), n);
	assert_int_equal(aiss_ledger_charge_get(f->l, &s.key, &c2, &err), 0);
	assert_memory_equal(&c, &c2, sizeof(c));
	assert_int_equal(aiss_ledger_lien_get(f->l, &r.key, &lien, &err), 0);
	assert_int_equal(lien.state, AISS_LIEN_HELD);
	assert_int_equal(aiss_ledger_scheme_get(f->l, &sc, &err), 0);
	assert_int_equal(sc.commitment, 300000000000LL);
	assert_int_equal(sc.held_total, lien.held_subsidy);
	assert_int_equal(sc.charged_total, c.charge.subsidy);
}

static int count_grants(const aiss_grant *g, void *arg)
{
	(void)g;
	(*(int *)arg)++;
	return 0;
}

static void test_member_views(void **state)
{
	fixture *f = *state;
	aiss_grant g = base_grant("AISS-2025-0005", "acct5");
	aiss_error err;
	int n = 0;

	snprintf(g.members, sizeof(g.members), "carol");
	assert_int_equal(aiss_ledger_grant_add(f->l, &g, "admin", &err), 0);
	assert_int_equal(
	    aiss_ledger_grant_list(f->l, NULL, count_grants, &n, &err), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(
	    aiss_ledger_grant_list(f->l, "carol", count_grants, &n, &err), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(
	    aiss_ledger_grant_list(f->l, "mallory", count_grants, &n, &err), 0);
	assert_int_equal(n, 0);
	/* modify replaces the member list */
	snprintf(g.members, sizeof(g.members), "dave");
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), 0);
	assert_int_equal(aiss_ledger_grant_is_member(f->l, g.id, "carol"), 0);
	assert_int_equal(aiss_ledger_grant_is_member(f->l, g.id, "dave"), 1);
}

static void assert_audit_ok(fixture *f)
{
	aiss_verify_result v;
	aiss_error err;

	assert_int_equal(aiss_ledger_audit_totals(f->l, &v, &err), 0);
	if (!v.ok)
		fail_msg("audit: %s", v.reason);
	assert_int_equal(aiss_ledger_journal_verify(f->l, &v, &err), 0);
	if (!v.ok)
		fail_msg("journal: %s", v.reason);
}

static int count_corrections(const aiss_journal_entry *e, void *arg)
{
	if (strcmp(e->kind, "charge.correct") == 0)
		(*(int *)arg)++;
	return 0;
}

/* ---- crash safety: kill -9 in the middle of batches ---- */

#define CRASH_BATCH 10

/* The child: batches of CRASH_BATCH runs from job @first; even jobs are
 * reserved and settled, odd ones only reserved (their liens stay held).
 * After each durable commit it reports the batch number on @fd. */
static void crash_child(const char *path, uint64_t first, int fd)
{
	aiss_error err;
	aiss_ledger *l = aiss_ledger_open(path, &err);
	aiss_time_t t = W0 + 86400;

	if (!l)
		_exit(3);
	for (uint32_t b = 0;; b++) {
		if (aiss_ledger_batch_begin(l, &err))
			_exit(4);
		for (int i = 0; i < CRASH_BATCH; i++) {
			uint64_t job = first + (uint64_t)b * CRASH_BATCH + i;
			aiss_reserve_req r = rreq(job, t, 1, 60);
			aiss_settle_req s =
			    sreq(job, t, 1, t + 30, "COMPLETED");
			aiss_lien lien;
			aiss_charge_rec c;

			if (aiss_ledger_reserve(l, &r, "slurm", &lien, &err))
				_exit(5);
			if (job % 2 == 0 &&
			    aiss_ledger_settle(l, &s, "slurm", &c, &err))
				_exit(6);
		}
		if (aiss_ledger_batch_commit(l, &err))
			_exit(7);
		if (write(fd, &b, sizeof(b)) != sizeof(b))
			_exit(8);
	}
}

static void test_crash_kill9(void **state)
{
	fixture *f = *state;
	aiss_grant g;
	aiss_error err;
	uint64_t first = 1000;

	/* room for thousands of one-GPU runs at once */
	assert_int_equal(
	    aiss_ledger_grant_get(f->l, "AISS-2025-0001", &g, &err), 0);
	g.max_concurrent_gpus = 0;
	assert_int_equal(aiss_ledger_grant_modify(f->l, &g, "admin", &err), 0);
	srand(12345);
	for (int round = 0; round < 6; round++) {
		int fds[2], status, acks = 0, want = 2 + rand() % 20;
		uint32_t b, last = UINT32_MAX;
		pid_t pid;

		aiss_ledger_close(f->l);
		f->l = NULL;
		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			crash_child(f->path, first, fds[1]);
		}
		close(fds[1]);
		while (acks < want &&
		       read(fds[0], &b, sizeof(b)) == sizeof(b)) {
			last = b;
			acks++;
		}
		/* somewhere inside a later batch (or between two) */
		usleep((useconds_t)(rand() % 3000));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		while (read(fds[0], &b, sizeof(b)) == sizeof(b))
			last = b; /* acknowledged before it died */
		close(fds[0]);
		assert_int_equal(acks >= want ? 1 : 0, 1);
		open_ledger(f);
		/* every acknowledged run is there, exactly once */
		for (uint64_t job = first;
		     job < first + (uint64_t)(last + 1) * CRASH_BATCH; job++) {
			aiss_reserve_req r = rreq(job, W0 + 86400, 1, 60);
			aiss_lien lien;
			aiss_charge_rec c;

			assert_int_equal(
			    aiss_ledger_lien_get(f->l, &r.key, &lien, &err), 0);
			if (job % 2 == 0) {
				assert_int_equal(lien.state, AISS_LIEN_SETTLED);
				assert_int_equal(aiss_ledger_charge_get(
						     f->l, &r.key, &c, &err),
						 0);
			} else {
				assert_int_equal(lien.state, AISS_LIEN_HELD);
			}
		}
		assert_audit_ok(f);
		/* the next round starts after anything the child may have
		 * committed without acknowledging */
		first += (uint64_t)(last + 100) * CRASH_BATCH;
	}
}

/* ---- smaller administrative paths ---- */

#define COUNTER(name, type)                                                    \
	static int name(const type *x, void *arg)                              \
	{                                                                      \
		(void)x;                                                       \
		(*(int *)arg)++;                                               \
		return 0;                                                      \
	}
COUNTER(count_cap, aiss_capacity)
COUNTER(count_earmark, aiss_earmark)
COUNTER(count_price, aiss_price)
COUNTER(count_entry, aiss_journal_entry)

static void test_admin_paths(void **state)
{
	fixture *f = *state;
	aiss_capacity cap = {.node = "gpu-a01",
			     .pass = 1,
			     .n_gpus = 8,
			     .bf16_gflops = 7000000,
			     .summary = "ok"};
	aiss_institution inst = {.name = "HKU", .type = AISS_INST_UNIVERSITY};
	aiss_earmark e = {.name = "phase 2", .amount = 100};
	aiss_adjustment a = {.grant_id = "AISS-2025-0001",
			     .amount = -9999900,
			     .reason = "debit: duplicate import"};
	aiss_reserve_req r = rreq(200, W0 + 86400, 1, HOUR);
	aiss_lien lien;
	aiss_error err;
	int n = 0;

	assert_int_equal(aiss_ledger_capacity_put(f->l, &cap, "op", &err), 0);
	cap.pass = 0;
	assert_int_equal(aiss_ledger_capacity_put(f->l, &cap, "op", &err), 0);
	assert_int_equal(aiss_ledger_capacity_list(f->l, count_cap, &n, &err),
			 0);
	assert_int_equal(n, 1);
	cap.pass = 7;
	assert_int_equal(aiss_ledger_capacity_put(f->l, &cap, "op", &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	/* same institution again: fine; another type: refused */
	assert_int_equal(aiss_ledger_institution_add(f->l, &inst, "a", &err),
			 0);
	inst.type = AISS_INST_ENTERPRISE;
	assert_int_equal(aiss_ledger_institution_add(f->l, &inst, "a", &err),
			 -1);
	assert_int_equal(err.code, AISS_E_EXISTS);
	assert_int_equal(aiss_ledger_earmark_set(f->l, &e, "a", &err), 0);
	n = 0;
	assert_int_equal(
	    aiss_ledger_earmark_list(f->l, count_earmark, &n, &err), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(aiss_ledger_price_list(f->l, count_price, &n, &err),
			 0);
	assert_int_equal(n, 2);
	/* a debit leaves HK$1.00: a 1-GPU-hour lien (HK$21.00) is refused */
	assert_int_equal(aiss_ledger_adjust(f->l, &a, "admin", NULL, &err), 0);
	assert_int_equal(bal(f, "AISS-2025-0001").remaining, 100);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_INSUFFICIENT);
	/* a credit brings it back */
	a.amount = 2000;
	assert_int_equal(aiss_ledger_adjust(f->l, &a, "admin", NULL, &err), 0);
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), 0);
	/* closed grants refuse; the state change is in the statement */
	assert_int_equal(aiss_ledger_grant_set_state(f->l, "AISS-2025-0001",
						     AISS_GRANT_CLOSED, "",
						     "admin", &err),
			 -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	assert_int_equal(aiss_ledger_grant_set_state(
			     f->l, "AISS-2025-0001", AISS_GRANT_CLOSED,
			     "project finished", "admin", &err),
			 0);
	r.key.job_id = 201;
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "s", &lien, &err), -1);
	assert_int_equal(err.code, AISS_E_GRANT_INACTIVE);
	assert_non_null(strstr(err.text, "closed"));
	n = 0;
	assert_int_equal(aiss_ledger_statement(f->l, "AISS-2025-0001",
					       count_entry, &n, &err),
			 0);
	/* grant.add, adjust, adjust, lien, grant.state (the refused state
	 * change left nothing) */
	assert_int_equal(n, 5);
	assert_int_equal(aiss_ledger_statement(f->l, "NOPE", NULL, NULL, &err),
			 -1);
	assert_int_equal(err.code, AISS_E_NOT_FOUND);
	assert_int_equal(aiss_ledger_grant_set_state(f->l, "NOPE",
						     AISS_GRANT_ACTIVE, "x",
						     "admin", &err),
			 -1);
	assert_int_equal(err.code, AISS_E_NOT_FOUND);
	assert_audit_ok(f);
}

static void test_scheme_required(void **state)
{
	fixture *f = *state;
	char path[128];
	aiss_ledger *l;
	aiss_scheme s;
	aiss_error err;
	aiss_institution inst = {.name = "CUHK", .type = AISS_INST_UNIVERSITY};
	aiss_grant g = base_grant("AISS-2025-0009", "acct9");

	snprintf(path, sizeof(path), "%s/fresh.db", f->dir);
	l = aiss_ledger_open(path, &err);
	assert_non_null(l);
	assert_int_equal(aiss_ledger_scheme_get(l, &s, &err), -1);
	assert_int_equal(err.code, AISS_E_NOT_FOUND);
	assert_int_equal(aiss_ledger_institution_add(l, &inst, "a", &err), 0);
	snprintf(g.institution, sizeof(g.institution), "CUHK");
	assert_int_equal(aiss_ledger_grant_add(l, &g, "a", &err), -1);
	assert_int_equal(err.code, AISS_E_NOT_FOUND);
	assert_non_null(strstr(err.text, "scheme init"));
	aiss_ledger_close(l);
	aiss_ledger_close(NULL);
	unlink(path);
	snprintf(path, sizeof(path), "%s/fresh.db-wal", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/fresh.db-shm", f->dir);
	unlink(path);
}

/* Policy item 8: the cap binds the same way whether runs are settled in
 * the order they end (live) or imported later in any order. */
static void test_charge_order(void **state)
{
	fixture *f = *state;
	aiss_grant ga = base_grant("AISS-2025-0006", "ordered");
	aiss_grant gb = base_grant("AISS-2025-0007", "reversed");
	aiss_time_t t = W0 + 86400;
	aiss_charge_rec c, ca, cb;
	aiss_settle_req s;
	aiss_error err;
	int corrections = 0;
	const aiss_cents_t expect[6] = {2100, 2100, 2100, 2100, 1600, 0};

	ga.approved_subsidy = gb.approved_subsidy = 10000;
	assert_int_equal(aiss_ledger_grant_add(f->l, &ga, "admin", &err), 0);
	assert_int_equal(aiss_ledger_grant_add(f->l, &gb, "admin", &err), 0);
	/* six one-GPU-hour runs (HK$21 subsidy each) ending an hour apart */
	for (int i = 0; i < 6; i++) {
		s = sreq(300 + i, t + i * HOUR, 1, t + (i + 1) * HOUR,
			 "COMPLETED");
		snprintf(s.account, sizeof(s.account), "ordered");
		assert_int_equal(aiss_ledger_settle(f->l, &s, "i", &c, &err),
				 0);
		assert_int_equal(c.charge.subsidy, expect[i]);
	}
	/* the same runs imported latest-ending first */
	for (int i = 5; i >= 0; i--) {
		s = sreq(400 + i, t + i * HOUR, 1, t + (i + 1) * HOUR,
			 "COMPLETED");
		snprintf(s.account, sizeof(s.account), "reversed");
		assert_int_equal(aiss_ledger_settle(f->l, &s, "i", &c, &err),
				 0);
	}
	for (int i = 0; i < 6; i++) {
		aiss_run_key ka = sreq(300 + i, t + i * HOUR, 1, 0, "").key;
		aiss_run_key kb = sreq(400 + i, t + i * HOUR, 1, 0, "").key;

		assert_int_equal(aiss_ledger_charge_get(f->l, &ka, &ca, &err),
				 0);
		assert_int_equal(aiss_ledger_charge_get(f->l, &kb, &cb, &err),
				 0);
		assert_int_equal(cb.charge.subsidy, expect[i]);
		assert_int_equal(cb.charge.subsidy, ca.charge.subsidy);
		assert_int_equal(cb.charge.copay, ca.charge.copay);
		assert_int_equal(cb.charge.capped, ca.charge.capped);
	}
	assert_int_equal(bal(f, "AISS-2025-0007").charged_subsidy, 10000);
	assert_int_equal(bal(f, "AISS-2025-0007").copay,
			 bal(f, "AISS-2025-0006").copay);
	assert_int_equal(aiss_ledger_statement(f->l, "AISS-2025-0007",
					       count_corrections, &corrections,
					       &err),
			 0);
	assert_true(corrections >= 2);
	assert_audit_ok(f);
}

/* ledger_fmt (ledger_int.h) writes what snprintf writes: its own formatter
 * covers the conversions the ledger uses, anything else falls back to
 * vsnprintf; at every buffer length, bytes past the NUL untouched. */
void ledger_fmt(char *buf, size_t len, const char *fmt, ...);

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void test_fmt_matches_printf(void **state)
{
	char want[200], got[200];
	(void)state;
	struct {
		const char *fmt;
		long long a;
		int b;
		const char *s;
	} cases[] = {
	    {"gpus=%lld rate_bp=%d run=%s", 42, -7, "hk/1@2"},
	    {"%02lld:%02d:%s", 5, 9, "x"},
	    {"%5lld|%-5d|%s%%", -3, 12, ""},
	    {"%08lld %d %s", -123, 0, "tail"},
	    {"%lld%d%s", INT64_MIN, INT32_MIN, "(min)"},
	    {"%-8lld|%3d|%.2s", 1, 100000, "prec falls back"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t len = 0; len <= sizeof(want); len++) {
			memset(want, 'x', sizeof(want));
			memset(got, 'x', sizeof(got));
			snprintf(want, len, cases[i].fmt, cases[i].a,
				 cases[i].b, cases[i].s);
			ledger_fmt(got, len, cases[i].fmt, cases[i].a,
				   cases[i].b, cases[i].s);
			assert_memory_equal(got, want, sizeof(want));
		}
	}
	uint64_t r = 88172645463325252ULL;
	for (int i = 0; i < 5000; i++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		long long v = (long long)r >> (i % 64);
		unsigned long u = (unsigned long)(r * 2654435761u);
		size_t len = (size_t)(r % 64);
		memset(want, 'x', sizeof(want));
		memset(got, 'x', sizeof(got));
		snprintf(want, len, "a=%lld b=%02lu c=%ld %c%s.", v, u % 1000,
			 (long)(v >> 3), 'x', i % 2 ? "odd" : "even");
		ledger_fmt(got, len, "a=%lld b=%02lu c=%ld %c%s.", v, u % 1000,
			   (long)(v >> 3), 'x', i % 2 ? "odd" : "even");
		assert_memory_equal(got, want, sizeof(want));
	}
}
#pragma GCC diagnostic pop

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fmt_matches_printf),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_schema_and_pragmas),
	    T(test_grant_validation),
	    T(test_commitment),
	    T(test_modify_below_used),
	    T(test_reserve_settle),
	    T(test_rounding_ties),
	    T(test_window_edges),
	    T(test_cap_binds),
	    T(test_node_fail_and_requeue),
	    T(test_idempotency),
	    T(test_refusals),
	    T(test_quote),
	    T(test_price_at_run_start),
	    T(test_adjust_and_export),
	    T(test_journal_tamper),
	    T(test_journal_delete_detected),
	    T(test_charge_edit_detected),
	    T(test_newer_schema_refused),
	    T(test_batch_rollback_of_one),
	    T(test_batch_failure_after_journal),
	    T(test_idle_checkpoint),
	    T(test_cache_size),
	    T(test_large_commit),
	    T(test_checkpoint_sync_deferred),
	    T(test_checkpoint_restart_declined),
	    T(test_grant_cache),
	    T(test_reopen_keeps_everything),
	    T(test_member_views),
	    T(test_admin_paths),
	    T(test_scheme_required),
	    T(test_crash_kill9),
	    T(test_charge_order),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
