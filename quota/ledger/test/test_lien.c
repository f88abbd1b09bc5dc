/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_lien: open and stale liens: listing with filters, the stale boundary,
 * expiry (journalled), a late settle after expiry (charged once), expiry
 * across a restart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger_fixture.h"

#define G1 "AISS-2025-0001"
#define G2 "AISS-2025-0002"

static int setup(void **state)
{
	fixture *f = fixture_new("test_lien");
	aiss_grant g1 = fixture_grant(G1, "acct1", "alice,bob");
	aiss_grant g2 = fixture_grant(G2, "acct2", "carol");
	aiss_error err;

	assert_int_equal(aiss_ledger_grant_add(f->l, &g1, "admin", &err), 0);
	assert_int_equal(aiss_ledger_grant_add(f->l, &g2, "admin", &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static aiss_run_key rkey(uint64_t job, aiss_time_t start)
{
	aiss_run_key k;

	memset(&k, 0, sizeof(k));
	snprintf(k.cluster, sizeof(k.cluster), "aisc");
	k.job_id = job;
	k.run_start = start;
	return k;
}

static void reserve(fixture *f, uint64_t job, const char *account,
		    const char *user, aiss_time_t start, int64_t gpus,
		    int64_t limit)
{
	aiss_reserve_req r;
	aiss_lien n;
	aiss_error err;

	memset(&r, 0, sizeof(r));
	r.key = rkey(job, start);
	snprintf(r.shape.account, sizeof(r.shape.account), "%s", account);
	snprintf(r.shape.user, sizeof(r.shape.user), "%s", user);
	r.shape.gpus = gpus;
	r.shape.time_limit = limit;
	assert_int_equal(aiss_ledger_reserve(f->l, &r, "slurm", &n, &err), 0);
	assert_int_equal(n.state, AISS_LIEN_HELD);
}

static aiss_settle_req sreq(uint64_t job, aiss_time_t start, int64_t gpus,
			    aiss_time_t end)
{
	aiss_settle_req r;

	memset(&r, 0, sizeof(r));
	r.key = rkey(job, start);
	snprintf(r.account, sizeof(r.account), "acct1");
	snprintf(r.user, sizeof(r.user), "alice");
	r.gpus = gpus;
	r.end = end;
	snprintf(r.end_state, sizeof(r.end_state), "COMPLETED");
	return r;
}

typedef struct collected {
	aiss_lien_info v[16];
	int n;
} collected;

static int collect(const aiss_lien_info *it, void *arg)
{
	collected *c = arg;

	if (c->n < 16)
		c->v[c->n] = *it;
	c->n++;
	return 0;
}

static collected list(fixture *f, const char *grant, const char *member,
		      int stale_only)
{
	aiss_lien_filter flt = {
	    .grant_id = grant, .member = member, .stale_only = stale_only};
	collected c = {0};
	aiss_error err;

	assert_int_equal(aiss_ledger_lien_list(f->l, &flt, collect, &c, &err),
			 0);
	return c;
}

static collected expire(fixture *f, int max, int *more)
{
	collected c = {0};
	aiss_error err;

	assert_int_equal(aiss_ledger_lien_expire(f->l, NULL, max, "admin",
						 collect, &c, more, &err),
			 0);
	return c;
}

static aiss_balance bal(fixture *f, const char *id)
{
	aiss_balance b;
	aiss_error err;

	assert_int_equal(aiss_ledger_balance(f->l, id, &b, &err), 0);
	return b;
}

static void assert_verify_ok(fixture *f)
{
	aiss_verify_result v;
	aiss_error err;

	assert_int_equal(aiss_ledger_journal_verify(f->l, &v, &err), 0);
	if (!v.ok)
		fail_msg("journal verify: %s (seq %lld)", v.reason,
			 (long long)v.first_bad_seq);
}

/* ---- tests ---- */

static void test_grace_setting(void **state)
{
	fixture *f = *state;
	aiss_error err;

	assert_int_equal(aiss_ledger_lien_grace(f->l), AISS_LIEN_GRACE_DEFAULT);
	assert_int_equal(aiss_ledger_set_lien_grace(f->l, -1, &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	assert_int_equal(
	    aiss_ledger_set_lien_grace(f->l, AISS_LIEN_GRACE_MAX + 1, &err),
	    -1);
	assert_int_equal(aiss_ledger_set_lien_grace(f->l, 0, &err), 0);
	assert_int_equal(aiss_ledger_lien_grace(f->l), 0);
	assert_int_equal(aiss_ledger_lien_expire(f->l, NULL, 0, "admin", NULL,
						 NULL, NULL, &err),
			 -1);
	assert_int_equal(err.code, AISS_E_INVALID);
}

static void test_list_filters(void **state)
{
	fixture *f = *state;
	aiss_time_t t = f->now;
	aiss_settle_req s;
	aiss_charge_rec c;
	aiss_error err;
	collected got;

	reserve(f, 2, "acct2", "carol", t - 100, 4, 2 * HOUR);
	reserve(f, 1, "acct1", "alice", t - 200, 8, HOUR);
	reserve(f, 3, "acct1", "bob", t - 50, 1, HOUR);
	/* a settled and a released lien are not open */
	reserve(f, 4, "acct1", "alice", t - 40, 1, HOUR);
	reserve(f, 5, "acct1", "alice", t - 30, 1, HOUR);
	s = sreq(4, t - 40, 1, t - 10);
	assert_int_equal(aiss_ledger_settle(f->l, &s, "slurm", &c, &err), 0);
	aiss_run_key k5 = rkey(5, t - 30);
	assert_int_equal(aiss_ledger_release(f->l, &k5, "slurm", &err), 0);

	got = list(f, NULL, NULL, 0);
	assert_int_equal(got.n, 3);
	/* run-start order */
	assert_int_equal(got.v[0].lien.key.job_id, 1);
	assert_int_equal(got.v[1].lien.key.job_id, 2);
	assert_int_equal(got.v[2].lien.key.job_id, 3);
	assert_string_equal(got.v[0].lien.grant_id, G1);
	assert_string_equal(got.v[0].account, "acct1");
	assert_string_equal(got.v[0].user, "alice");
	assert_string_equal(got.v[0].lien.gpu_type, "h100");
	assert_int_equal(got.v[0].lien.gpus, 8);
	assert_int_equal(got.v[0].lien.time_limit, HOUR);
	/* 8 GPUs x 1 h x HK$30 x 70% */
	assert_int_equal(got.v[0].lien.held_subsidy, 16800);
	assert_int_equal(got.v[0].created_at, t);
	assert_int_equal(got.v[0].as_of, t);
	assert_int_equal(got.v[0].stale_at, t - 200 + HOUR + 3600);
	assert_int_equal(got.v[0].stale, 0);

	got = list(f, G2, NULL, 0);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.v[0].user, "carol");
	got = list(f, "", "carol", 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.v[0].lien.key.job_id, 2);
	got = list(f, NULL, "alice", 0); /* alice's grant: bob's run too */
	assert_int_equal(got.n, 2);
	got = list(f, G2, "alice", 0);
	assert_int_equal(got.n, 0);
	got = list(f, NULL, "nobody", 0);
	assert_int_equal(got.n, 0);
	got = list(f, NULL, NULL, 1);
	assert_int_equal(got.n, 0);

	/* later, with a grace of 0: the 1-hour runs are stale */
	f->now = t + HOUR + 100;
	assert_int_equal(aiss_ledger_set_lien_grace(f->l, 0, &err), 0);
	got = list(f, NULL, NULL, 1);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.v[0].lien.key.job_id, 1);
	assert_int_equal(got.v[1].lien.key.job_id, 3);
	assert_int_equal(got.v[0].stale, 1);
	got = list(f, NULL, NULL, 0);
	assert_int_equal(got.n, 3);
	assert_int_equal(got.v[1].stale, 0);
	got = list(f, G1, "bob", 1);
	assert_int_equal(got.n, 2);
}

static void test_stale_boundary(void **state)
{
	fixture *f = *state;
	aiss_time_t start = f->now;
	aiss_time_t edge = start + 2 * HOUR + 600; /* start + limit + grace */
	aiss_error err;
	collected got;
	int more = -1;

	assert_int_equal(aiss_ledger_set_lien_grace(f->l, 600, &err), 0);
	reserve(f, 7, "acct1", "alice", start, 2, 2 * HOUR);

	f->now = edge - 1;
	got = list(f, NULL, NULL, 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.v[0].stale_at, edge);
	assert_int_equal(got.v[0].stale, 0);
	assert_int_equal(list(f, NULL, NULL, 1).n, 0);
	assert_int_equal(expire(f, 10, &more).n, 0);
	assert_int_equal(more, 0);

	f->now = edge; /* at the instant: not yet */
	assert_int_equal(list(f, NULL, NULL, 0).v[0].stale, 0);
	assert_int_equal(list(f, NULL, NULL, 1).n, 0);
	assert_int_equal(expire(f, 10, NULL).n, 0);
	assert_int_equal(bal(f, G1).n_liens, 1);

	f->now = edge + 1; /* one second past: stale */
	got = list(f, NULL, NULL, 1);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.v[0].stale, 1);
	got = expire(f, 10, &more);
	assert_int_equal(got.n, 1);
	assert_int_equal(more, 0);
	assert_int_equal(list(f, NULL, NULL, 0).n, 0);
	assert_verify_ok(f);
}

typedef struct entries {
	int n_expire;
	aiss_cents_t amount;
	char detail[AISS_TEXT_MAX];
} entries;

static int find_expire(const aiss_journal_entry *e, void *arg)
{
	entries *x = arg;

	if (strcmp(e->kind, "lien.expire") == 0) {
		x->n_expire++;
		x->amount = e->amount;
		snprintf(x->detail, sizeof(x->detail), "%s", e->detail);
	}
	return 0;
}

static void test_expire_then_late_settle(void **state)
{
	fixture *f = *state;
	aiss_time_t start = f->now;
	aiss_run_key k = rkey(9, start);
	aiss_settle_req s = sreq(9, start, 8, start + 2 * HOUR);
	aiss_charge_rec c, c2;
	aiss_balance b0, b1, b2;
	aiss_lien n;
	aiss_error err;
	entries x = {0};
	collected got;
	int more = -1;

	b0 = bal(f, G1);
	reserve(f, 9, "acct1", "alice", start, 8, 10 * HOUR);
	b1 = bal(f, G1);
	/* 8 GPUs x 10 h x HK$30 x 70% = HK$1,680.00 held */
	assert_int_equal(b1.held_subsidy, 168000);
	assert_int_equal(b1.remaining, b0.remaining - 168000);
	assert_int_equal(b1.held_gpus, 8);

	f->now = start + 11 * HOUR + 1; /* default grace 1 h, plus 1 s */
	got = expire(f, 256, &more);
	assert_int_equal(got.n, 1);
	assert_int_equal(more, 0);
	assert_int_equal(got.v[0].lien.held_subsidy, 168000);
	b2 = bal(f, G1);
	assert_int_equal(b2.held_subsidy, 0);
	assert_int_equal(b2.held_gpus, 0);
	assert_int_equal(b2.n_liens, 0);
	assert_int_equal(b2.remaining, b0.remaining);
	assert_int_equal(aiss_ledger_lien_get(f->l, &k, &n, &err), 0);
	assert_int_equal(n.state, AISS_LIEN_EXPIRED);
	assert_int_equal(aiss_ledger_statement(f->l, G1, find_expire, &x, &err),
			 0);
	assert_int_equal(x.n_expire, 1);
	assert_int_equal(x.amount, 168000);
	assert_non_null(strstr(x.detail, "run=aisc/9@"));
	assert_non_null(strstr(x.detail, "reason="));
	assert_verify_ok(f);

	/* expiring again, a release, a repeated reserve change nothing */
	assert_int_equal(expire(f, 256, NULL).n, 0);
	assert_int_equal(aiss_ledger_release(f->l, &k, "slurm", &err), 0);
	{
		aiss_reserve_req r;
		memset(&r, 0, sizeof(r));
		r.key = k;
		snprintf(r.shape.account, sizeof(r.shape.account), "acct1");
		snprintf(r.shape.user, sizeof(r.shape.user), "alice");
		r.shape.gpus = 8;
		r.shape.time_limit = 10 * HOUR;
		assert_int_equal(
		    aiss_ledger_reserve(f->l, &r, "slurm", &n, &err), 0);
		assert_int_equal(n.state, AISS_LIEN_EXPIRED);
	}
	assert_int_equal(bal(f, G1).held_subsidy, 0);

	/* the settle arrives late: charged once, at the lien's price */
	assert_int_equal(aiss_ledger_settle(f->l, &s, "slurm", &c, &err), 0);
	/* 8 GPUs x 2 h x HK$30 = HK$480.00 list, 70% subsidy */
	assert_int_equal(c.charge.list_cost, 48000);
	assert_int_equal(c.charge.subsidy, 33600);
	assert_int_equal(c.charge.copay, 14400);
	assert_int_equal(c.price, 3000);
	b2 = bal(f, G1);
	assert_int_equal(b2.charged_subsidy, 33600);
	assert_int_equal(b2.held_subsidy, 0);
	assert_int_equal(b2.n_runs, 1);
	assert_int_equal(b2.remaining, b0.remaining - 33600);
	assert_int_equal(aiss_ledger_lien_get(f->l, &k, &n, &err), 0);
	assert_int_equal(n.state, AISS_LIEN_SETTLED);
	/* a repeat settle returns the first answer and changes nothing */
	f->now += HOUR;
	assert_int_equal(aiss_ledger_settle(f->l, &s, "slurm", &c2, &err), 0);
	assert_int_equal(c2.charge.subsidy, c.charge.subsidy);
	assert_int_equal(c2.journal_seq, c.journal_seq);
	assert_int_equal(c2.settled_at, c.settled_at);
	assert_int_equal(bal(f, G1).charged_subsidy, 33600);
	assert_int_equal(bal(f, G1).n_runs, 1);
	assert_verify_ok(f);
}

static void test_expire_bounded(void **state)
{
	fixture *f = *state;
	aiss_time_t t = f->now;
	collected got;
	int more = -1;

	reserve(f, 21, "acct1", "alice", t, 1, HOUR);
	reserve(f, 22, "acct2", "carol", t + 1, 1, HOUR);
	reserve(f, 23, "acct1", "bob", t + 2, 1, HOUR);
	reserve(f, 24, "acct1", "bob", t + 3, 1, 100 * HOUR); /* not stale */
	f->now = t + 3 * HOUR;
	got = expire(f, 2, &more);
	assert_int_equal(got.n, 2);
	assert_int_equal(more, 1);
	assert_int_equal(got.v[0].lien.key.job_id, 21);
	assert_int_equal(got.v[1].lien.key.job_id, 22);
	got = expire(f, 2, &more);
	assert_int_equal(got.n, 1);
	assert_int_equal(more, 0);
	assert_int_equal(got.v[0].lien.key.job_id, 23);
	got = list(f, NULL, NULL, 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.v[0].lien.key.job_id, 24);
	assert_int_equal(bal(f, G1).n_liens, 1);
	assert_int_equal(bal(f, G2).n_liens, 0);
	assert_verify_ok(f);
}

static void test_expire_in_batch_rolls_back(void **state)
{
	fixture *f = *state;
	aiss_time_t t = f->now;
	aiss_error err;

	reserve(f, 31, "acct1", "alice", t, 1, HOUR);
	f->now = t + 3 * HOUR;
	assert_int_equal(aiss_ledger_batch_begin(f->l, &err), 0);
	assert_int_equal(expire(f, 10, NULL).n, 1);
	assert_int_equal(aiss_ledger_batch_rollback(f->l, &err), 0);
	assert_int_equal(list(f, NULL, NULL, 1).n, 1);
	assert_int_equal(bal(f, G1).n_liens, 1);
	assert_verify_ok(f);
}

static void test_expire_survives_restart(void **state)
{
	fixture *f = *state;
	aiss_time_t start = f->now;
	aiss_run_key k = rkey(41, start);
	aiss_settle_req s = sreq(41, start, 4, start + HOUR);
	aiss_charge_rec c;
	aiss_lien n;
	aiss_error err;

	reserve(f, 41, "acct1", "alice", start, 4, 2 * HOUR);
	f->now = start + 4 * HOUR;
	assert_int_equal(expire(f, 10, NULL).n, 1);
	aiss_ledger_close(f->l);
	open_ledger(f);
	assert_int_equal(aiss_ledger_lien_get(f->l, &k, &n, &err), 0);
	assert_int_equal(n.state, AISS_LIEN_EXPIRED);
	assert_int_equal(bal(f, G1).held_subsidy, 0);
	assert_int_equal(bal(f, G1).n_liens, 0);
	assert_int_equal(list(f, NULL, NULL, 0).n, 0);
	assert_int_equal(expire(f, 10, NULL).n, 0);
	assert_verify_ok(f);
	/* the late settle after the restart: charged once */
	assert_int_equal(aiss_ledger_settle(f->l, &s, "slurm", &c, &err), 0);
	assert_int_equal(c.charge.list_cost, 12000);
	assert_int_equal(c.charge.subsidy, 8400);
	aiss_ledger_close(f->l);
	open_ledger(f);
	assert_int_equal(aiss_ledger_settle(f->l, &s, "slurm", &c, &err), 0);
	assert_int_equal(c.charge.subsidy, 8400);
	assert_int_equal(bal(f, G1).charged_subsidy, 8400);
	assert_int_equal(bal(f, G1).n_runs, 1);
	assert_verify_ok(f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_grace_setting),           T(test_list_filters),
	    T(test_stale_boundary),          T(test_expire_then_late_settle),
	    T(test_expire_bounded),          T(test_expire_in_batch_rolls_back),
	    T(test_expire_survives_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
