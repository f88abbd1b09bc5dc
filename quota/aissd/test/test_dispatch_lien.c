/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_dispatch_lien: lien_list and lien_expire through aissd_dispatch:
 * roles and member narrowing, paging, dry runs, the wire round trip, the
 * lien_grace / lien_expire settings and the periodic sweep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aissd.h"
/* the ledger tests' fixture: ledger, clock, scheme, HKU, h100 price */
#include "../../ledger/test/ledger_fixture.h"

#define G1 "AISS-2025-0001"
#define G2 "AISS-2025-0002"

typedef struct fx {
	fixture *lf;
	aissd_caller admin, slurm, alice, carol, mallory, fin;
} fx;

static aissd_caller caller(const char *name, unsigned roles)
{
	aissd_caller c = {.uid = 1000, .roles = roles};
	snprintf(c.user, sizeof(c.user), "%s", name);
	return c;
}

/* Runs @r as @who; the reply's status. @rep may be NULL. */
static aiss_status call(fx *f, const aissd_caller *who, const aiss_request *r,
			aiss_reply *rep)
{
	aiss_reply tmp;
	aiss_reply *out = rep ? rep : &tmp;
	aiss_reply_init(out, r->op, 1);
	aissd_dispatch(f->lf->l, who, r, out);
	aiss_status s = out->status;
	if (!rep)
		aiss_reply_clear(&tmp);
	return s;
}

static void reserve(fx *f, uint64_t job, const char *account, const char *user,
		    aiss_time_t start, int64_t limit)
{
	aiss_request r;
	memset(&r, 0, sizeof(r));
	r.op = AISS_OP_RESERVE;
	snprintf(r.u.reserve.key.cluster, AISS_ID_MAX, "aisc");
	r.u.reserve.key.job_id = job;
	r.u.reserve.key.run_start = start;
	snprintf(r.u.reserve.shape.account, AISS_ID_MAX, "%s", account);
	snprintf(r.u.reserve.shape.user, AISS_ID_MAX, "%s", user);
	r.u.reserve.shape.gpus = 2;
	r.u.reserve.shape.time_limit = limit;
	assert_int_equal(call(f, &f->slurm, &r, NULL), AISS_OK);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	aiss_error e;
	assert_non_null(f);
	f->lf = fixture_new("test_aissd_lien");
	f->admin = caller("root", AISSD_ROLE_USER | AISSD_ROLE_ADMIN |
				      AISSD_ROLE_SLURM);
	f->slurm = caller("slurm", AISSD_ROLE_USER | AISSD_ROLE_SLURM);
	f->alice = caller("alice", AISSD_ROLE_USER);
	f->carol = caller("carol", AISSD_ROLE_USER);
	f->mallory = caller("mallory", AISSD_ROLE_USER);
	f->fin = caller("fin", AISSD_ROLE_USER | AISSD_ROLE_FINANCE);

	aiss_grant g1 = fixture_grant(G1, "acct1", "alice,bob");
	aiss_grant g2 = fixture_grant(G2, "acct2", "carol");
	assert_int_equal(aiss_ledger_grant_add(f->lf->l, &g1, "root", &e), 0);
	assert_int_equal(aiss_ledger_grant_add(f->lf->l, &g2, "root", &e), 0);
	/* job 1 (G1) and 2 (G2) ran an hour; job 3 (G1) has a day */
	reserve(f, 1, "acct1", "alice", f->lf->now - 3 * HOUR, HOUR);
	reserve(f, 2, "acct2", "carol", f->lf->now - 3 * HOUR + 1, HOUR);
	reserve(f, 3, "acct1", "bob", f->lf->now - HOUR, 24 * HOUR);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	fixture_free(f->lf);
	free(f);
	return 0;
}

static aiss_request page_req(aiss_op op, const char *grant_id, int stale,
			     int dry_run)
{
	aiss_request r;
	memset(&r, 0, sizeof(r));
	r.op = op;
	if (grant_id)
		snprintf(r.u.page.grant_id, AISS_ID_MAX, "%s", grant_id);
	r.u.page.stale = stale;
	r.u.page.dry_run = dry_run;
	return r;
}

static size_t count(fx *f, const aissd_caller *who, const char *grant_id,
		    int stale)
{
	aiss_request r = page_req(AISS_OP_LIEN_LIST, grant_id, stale, 0);
	aiss_reply rep;
	if (call(f, who, &r, &rep) != AISS_OK)
		fail_msg("lien_list as %s: %s", who->user, rep.message);
	size_t n = rep.n_items;
	aiss_reply_clear(&rep);
	return n;
}

static void test_list_roles(void **state)
{
	fx *f = *state;
	aiss_request r;
	aiss_reply rep;

	assert_int_equal(count(f, &f->admin, NULL, 0), 3);
	assert_int_equal(count(f, &f->fin, NULL, 0), 3);
	assert_int_equal(count(f, &f->slurm, NULL, 0), 3);
	assert_int_equal(count(f, &f->alice, NULL, 0), 2); /* G1's only */
	assert_int_equal(count(f, &f->carol, NULL, 0), 1);
	assert_int_equal(count(f, &f->mallory, NULL, 0), 0);
	assert_int_equal(count(f, &f->alice, G1, 0), 2);
	assert_int_equal(count(f, &f->fin, G2, 0), 1);
	assert_int_equal(count(f, &f->admin, NULL, 1), 2);
	assert_int_equal(count(f, &f->alice, NULL, 1), 1);

	/* another grant's liens: refused, naming the fix */
	r = page_req(AISS_OP_LIEN_LIST, G2, 0, 0);
	assert_int_equal(call(f, &f->alice, &r, &rep), AISS_E_PERMISSION);
	assert_non_null(strstr(rep.message, "not a member of grant"));
	assert_int_equal(rep.n_items, 0);
	aiss_reply_clear(&rep);
	r = page_req(AISS_OP_LIEN_LIST, "NO-SUCH", 0, 0);
	assert_int_equal(call(f, &f->admin, &r, &rep), AISS_E_NOT_FOUND);
	aiss_reply_clear(&rep);
	assert_int_equal(call(f, &f->mallory, &r, NULL), AISS_E_PERMISSION);
	r = page_req(AISS_OP_LIEN_LIST, NULL, 0, 0);
	r.u.page.offset = -1;
	assert_int_equal(call(f, &f->admin, &r, NULL), AISS_E_INVALID);

	/* content of an item */
	r = page_req(AISS_OP_LIEN_LIST, NULL, 0, 0);
	assert_int_equal(call(f, &f->fin, &r, &rep), AISS_OK);
	const aiss_lien_info *it = rep.items;
	assert_int_equal(it[0].lien.key.job_id, 1);
	assert_string_equal(it[0].lien.grant_id, G1);
	assert_string_equal(it[0].account, "acct1");
	assert_string_equal(it[0].user, "alice");
	assert_int_equal(it[0].stale, 1);
	assert_int_equal(it[0].stale_at, f->lf->now - 3 * HOUR + HOUR + 3600);
	assert_int_equal(it[2].stale, 0);
	assert_int_equal(rep.more, 0);
	aiss_reply_clear(&rep);
}

static void test_list_paging(void **state)
{
	fx *f = *state;
	aiss_request r = page_req(AISS_OP_LIEN_LIST, NULL, 0, 0);
	aiss_reply rep;

	r.u.page.limit = 2;
	assert_int_equal(call(f, &f->admin, &r, &rep), AISS_OK);
	assert_int_equal(rep.n_items, 2);
	assert_int_equal(rep.more, 1);
	assert_int_equal(rep.next_offset, 2);
	aiss_reply_clear(&rep);
	r.u.page.offset = 2;
	assert_int_equal(call(f, &f->admin, &r, &rep), AISS_OK);
	assert_int_equal(rep.n_items, 1);
	assert_int_equal(rep.more, 0);
	assert_int_equal(((aiss_lien_info *)rep.items)[0].lien.key.job_id, 3);
	aiss_reply_clear(&rep);
}

static void test_expire_roles_and_dry_run(void **state)
{
	fx *f = *state;
	aiss_request r = page_req(AISS_OP_LIEN_EXPIRE, NULL, 1, 0);
	aiss_reply rep;
	aiss_balance b;
	aiss_error e;

	assert_int_equal(call(f, &f->alice, &r, &rep), AISS_E_PERMISSION);
	assert_non_null(strstr(rep.message, "administrator"));
	aiss_reply_clear(&rep);
	assert_int_equal(call(f, &f->fin, &r, NULL), AISS_E_PERMISSION);
	assert_int_equal(call(f, &f->slurm, &r, NULL), AISS_E_PERMISSION);

	r.u.page.dry_run = 1;
	assert_int_equal(call(f, &f->admin, &r, &rep), AISS_OK);
	assert_int_equal(rep.n_items, 2);
	aiss_reply_clear(&rep);
	assert_int_equal(count(f, &f->admin, NULL, 1), 2); /* unchanged */

	/* one page at a time: more, and the offset stays */
	r.u.page.dry_run = 0;
	r.u.page.limit = 1;
	assert_int_equal(call(f, &f->admin, &r, &rep), AISS_OK);
	assert_int_equal(rep.n_items, 1);
	assert_int_equal(rep.more, 1);
	assert_int_equal(rep.next_offset, 0);
	aiss_reply_clear(&rep);
	assert_int_equal(call(f, &f->admin, &r, &rep), AISS_OK);
	assert_int_equal(rep.n_items, 1);
	assert_int_equal(rep.more, 0);
	aiss_reply_clear(&rep);
	assert_int_equal(call(f, &f->admin, &r, &rep), AISS_OK);
	assert_int_equal(rep.n_items, 0);
	aiss_reply_clear(&rep);
	assert_int_equal(count(f, &f->admin, NULL, 0), 1);
	assert_int_equal(aiss_ledger_balance(f->lf->l, G2, &b, &e), 0);
	assert_int_equal(b.held_subsidy, 0);
	assert_int_equal(b.n_liens, 0);

	/* one grant only */
	f->lf->now += 30 * HOUR;
	r = page_req(AISS_OP_LIEN_EXPIRE, G2, 1, 0);
	assert_int_equal(call(f, &f->admin, &r, &rep), AISS_OK);
	assert_int_equal(rep.n_items, 0);
	aiss_reply_clear(&rep);
	r = page_req(AISS_OP_LIEN_EXPIRE, G1, 1, 0);
	assert_int_equal(call(f, &f->admin, &r, &rep), AISS_OK);
	assert_int_equal(rep.n_items, 1);
	aiss_reply_clear(&rep);
	r.op = AISS_OP_JOURNAL_VERIFY;
	assert_int_equal(call(f, &f->fin, &r, &rep), AISS_OK);
	assert_int_equal(rep.u.verify.ok, 1);
	aiss_reply_clear(&rep);
}

static void test_wire_round_trip(void **state)
{
	fx *f = *state;
	aiss_request r = page_req(AISS_OP_LIEN_EXPIRE, G1, 1, 1), back;
	aiss_reply rep, got;
	aiss_error e;
	uint8_t *buf;
	size_t len;

	r.version = AISS_PROTO_VERSION;
	r.u.page.limit = 7;
	assert_int_equal(aiss_request_encode(&r, &buf, &len, &e), 0);
	assert_int_equal(aiss_request_decode(buf + AISS_FRAME_HDR,
					     len - AISS_FRAME_HDR, &back, &e),
			 0);
	free(buf);
	assert_int_equal(back.op, AISS_OP_LIEN_EXPIRE);
	assert_string_equal(back.u.page.grant_id, G1);
	assert_int_equal(back.u.page.stale, 1);
	assert_int_equal(back.u.page.dry_run, 1);
	assert_int_equal(back.u.page.limit, 7);

	r = page_req(AISS_OP_LIEN_LIST, NULL, 0, 0);
	assert_int_equal(call(f, &f->admin, &r, &rep), AISS_OK);
	assert_int_equal(aiss_reply_encode(&rep, &buf, &len, &e), 0);
	assert_int_equal(aiss_reply_decode(buf + AISS_FRAME_HDR,
					   len - AISS_FRAME_HDR, &got, &e),
			 0);
	free(buf);
	assert_int_equal(got.op, AISS_OP_LIEN_LIST);
	assert_int_equal(got.n_items, rep.n_items);
	assert_memory_equal(got.items, rep.items,
			    rep.n_items * sizeof(aiss_lien_info));
	aiss_reply_clear(&rep);
	aiss_reply_clear(&got);
}

static void test_config_and_sweep(void **state)
{
	fx *f = *state;
	aissd_config c;
	aiss_error e;
	int64_t next = 0;

	aissd_config_defaults(&c);
	assert_int_equal(c.lien_grace, 3600);
	assert_int_equal(c.lien_expire, 0);
	assert_int_equal(aissd_config_set(&c, "lien_grace", "90m", &e), 0);
	assert_int_equal(c.lien_grace, 5400);
	assert_int_equal(aissd_config_set(&c, "lien_grace", "2h", &e), 0);
	assert_int_equal(c.lien_grace, 7200);
	assert_int_equal(aissd_config_set(&c, "lien_grace", "1d", &e), 0);
	assert_int_equal(c.lien_grace, 86400);
	assert_int_equal(aissd_config_set(&c, "lien_grace", "0", &e), 0);
	assert_int_equal(c.lien_grace, 0);
	assert_int_equal(aissd_config_set(&c, "lien_grace", "600", &e), 0);
	assert_int_equal(c.lien_grace, 600);
	assert_int_equal(aissd_config_set(&c, "lien_grace", "1w", &e), -1);
	assert_non_null(strstr(e.text, "e.g. 1h"));
	assert_int_equal(aissd_config_set(&c, "lien_grace", "-1", &e), -1);
	assert_int_equal(aissd_config_set(&c, "lien_grace", "367d", &e), -1);
	assert_int_equal(aissd_config_set(&c, "lien_grace", "", &e), -1);
	assert_int_equal(
	    aissd_config_set(&c, "lien_grace", "99999999999999999999", &e), -1);
	assert_int_equal(aissd_config_set(&c, "lien_expire", "maybe", &e), -1);
	assert_int_equal(c.lien_grace, 600);

	/* off: the sweep does nothing */
	aissd_lien_sweep(f->lf->l, &c, &next);
	assert_int_equal(count(f, &f->admin, NULL, 1), 2);
	assert_int_equal(aissd_config_set(&c, "lien_expire", "on", &e), 0);
	/* inside a batch it waits for the batch's end */
	assert_int_equal(aiss_ledger_batch_begin(f->lf->l, &e), 0);
	aissd_lien_sweep(f->lf->l, &c, &next);
	assert_int_equal(aiss_ledger_batch_rollback(f->lf->l, &e), 0);
	assert_int_equal(count(f, &f->admin, NULL, 1), 2);
	aissd_lien_sweep(f->lf->l, &c, &next);
	assert_int_equal(count(f, &f->admin, NULL, 1), 0);
	assert_int_equal(count(f, &f->admin, NULL, 0), 1);
	assert_true(next > 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_list_roles),
	    T(test_list_paging),
	    T(test_expire_roles_and_dry_run),
	    T(test_wire_round_trip),
	    T(test_config_and_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
