/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_wire: framing limits, golden-byte fixtures and round trips of the
 * aiss.proto envelopes. AISS_PROTO_REGEN=1 rewrites the fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiss_wire.h"

/* ---- fixtures ---- */

static void fixture_reserve(aiss_request *r)
{
	memset(r, 0, sizeof(*r));
	r->version = AISS_PROTO_VERSION;
	r->id = 7;
	r->op = AISS_OP_RESERVE;
	snprintf(r->u.reserve.key.cluster, AISS_ID_MAX, "aisc");
	r->u.reserve.key.job_id = 12345;
	r->u.reserve.key.run_start = 1743465600; /* 2025-04-01 08:00 HKT */
	snprintf(r->u.reserve.shape.account, AISS_ID_MAX, "hku-nlp");
	snprintf(r->u.reserve.shape.user, AISS_ID_MAX, "alice");
	snprintf(r->u.reserve.shape.gpu_type, AISS_ID_MAX, "h100");
	r->u.reserve.shape.gpus = 16;
	r->u.reserve.shape.time_limit = 7200;
}

static void fixture_settle_reply(aiss_reply *r)
{
	aiss_reply_init(r, AISS_OP_SETTLE, 8);
	aiss_charge_rec *c = &r->u.charge;
	snprintf(c->key.cluster, AISS_ID_MAX, "aisc");
	c->key.job_id = 12345;
	c->key.run_start = 1743465600;
	snprintf(c->grant_id, AISS_ID_MAX, "AISS-2025-0007");
	snprintf(c->account, AISS_ID_MAX, "hku-nlp");
	snprintf(c->user, AISS_ID_MAX, "alice");
	snprintf(c->gpu_type, AISS_ID_MAX, "h100");
	snprintf(c->institution, AISS_NAME_MAX, "HKU");
	c->inst_type = AISS_INST_UNIVERSITY;
	c->gpus = 16;
	c->start = 1743465600;
	c->end = 1743469200;
	snprintf(c->end_state, AISS_STATE_MAX, "COMPLETED");
	c->price = 2500;
	c->rate_bp = 7000;
	c->charge.gpu_seconds = 57600;
	c->charge.run_seconds = 3600;
	c->charge.in_window_seconds = 3600;
	c->charge.list_cost = 40000;
	c->charge.in_window_cost = 40000;
	c->charge.subsidy = 28000;
	c->charge.copay = 12000;
	c->settled_at = 1743469201;
	c->journal_seq = 42;
}

static void fixture_refusal(aiss_reply *r)
{
	aiss_reply_init(r, AISS_OP_RESERVE, 9);
	r->status = AISS_E_INSUFFICIENT;
	snprintf(r->message, sizeof(r->message),
		 "grant AISS-2025-0007: worst case HK$280.00 over remaining "
		 "HK$100.00; top up the grant or shorten the job");
}

static void fixture_grant_list(aiss_reply *r)
{
	aiss_reply_init(r, AISS_OP_GRANT_LIST, 10);
	for (int i = 0; i < 2; i++) {
		aiss_grant *g = aiss_reply_add_item(r);
		assert_non_null(g);
		snprintf(g->id, AISS_ID_MAX, "AISS-2025-000%d", i + 1);
		snprintf(g->institution, AISS_NAME_MAX, "HKUST");
		g->inst_type = AISS_INST_UNIVERSITY;
		snprintf(g->accounts, AISS_LIST_MAX, "acct%d", i + 1);
		snprintf(g->members, AISS_MEMBERS_MAX, "alice,bob");
		snprintf(g->gpu_types, AISS_LIST_MAX, "h100,h800");
		g->rate_bp = 7000 + 1000 * i;
		g->approved_gpu_seconds = 3600LL * 1000;
		g->approved_subsidy = 100000000;
		g->window_start = 1743436800;
		g->window_end = 1774972800;
		g->max_concurrent_gpus = 64;
		g->state = AISS_GRANT_ACTIVE;
	}
	r->more = 1;
	r->next_offset = 2;
}

/* An open, stale lien as lien_list and lien_expire return it. */
static void fixture_lien_list(aiss_reply *r)
{
	aiss_reply_init(r, AISS_OP_LIEN_LIST, 11);
	aiss_lien_info *it = aiss_reply_add_item(r);
	assert_non_null(it);
	snprintf(it->lien.key.cluster, AISS_ID_MAX, "aisc");
	it->lien.key.job_id = 4242;
	it->lien.key.run_start = 1743469200;
	snprintf(it->lien.grant_id, AISS_ID_MAX, "AISS-2025-0007");
	snprintf(it->lien.gpu_type, AISS_ID_MAX, "h100");
	it->lien.gpus = 16;
	it->lien.time_limit = 7200;
	it->lien.price = 3000;
	it->lien.held_subsidy = 67200;
	it->lien.state = AISS_LIEN_HELD;
	snprintf(it->account, AISS_ID_MAX, "hku-nlp");
	snprintf(it->user, AISS_ID_MAX, "alice");
	it->created_at = 1743469201;
	it->stale_at = 1743469200 + 7200 + 3600;
	it->as_of = 1743480001;
	it->stale = 1;
}

/* ---- fixture files ---- */

static char *hex_of(const uint8_t *b, size_t n)
{
	char *s = malloc(2 * n + 2);
	for (size_t i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	s[2 * n] = '\n';
	s[2 * n + 1] = '\0';
	return s;
}

static void check_golden(const char *name, const uint8_t *frame, size_t n)
{
	const char *dir = getenv("AISS_PROTO_FIXTURES");
	if (!dir)
		dir = "quota/proto/test";
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s.hex", dir, name);
	char *hex = hex_of(frame, n);
	if (getenv("AISS_PROTO_REGEN")) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(hex, f);
		fclose(f);
	}
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("missing fixture %s (AISS_PROTO_REGEN=1 writes it)",
			 path);
	char *want = calloc(1, 2 * n + 64);
	size_t got = fread(want, 1, 2 * n + 63, f);
	fclose(f);
	want[got] = '\0';
	assert_string_equal(hex, want);
	free(want);
	free(hex);
}

/* ---- tests ---- */

static void test_frame_check(void **state)
{
	(void)state;
	uint8_t b[8] = {0};
	size_t n = 0;
	assert_int_equal(aiss_frame_check(b, 3, &n), 0);  /* short header */
	assert_int_equal(aiss_frame_check(b, 4, &n), -1); /* zero length */
	aiss_frame_put_header(b, AISS_FRAME_MAX + 1);
	errno = 0;
	assert_int_equal(aiss_frame_check(b, 4, &n), -1); /* oversized */
	assert_int_equal(errno, EMSGSIZE);
	b[0] = b[1] = b[2] = b[3] = 0xff;
	assert_int_equal(aiss_frame_check(b, 8, &n), -1);
	aiss_frame_put_header(b, AISS_FRAME_MAX);
	assert_int_equal(aiss_frame_check(b, 8, &n), 0); /* needs more */
	aiss_frame_put_header(b, 4);
	assert_int_equal(aiss_frame_check(b, 7, &n), 0);
	assert_int_equal(aiss_frame_check(b, 8, &n), 1);
	assert_int_equal(n, 4);
}

static void test_status_table(void **state)
{
	(void)state;
	for (int s = 0; s < AISS_E__COUNT; s++) {
		uint32_t w = aiss_status_to_wire((aiss_status)s);
		assert_int_equal(aiss_status_from_wire(w), s);
	}
	assert_int_equal(aiss_status_from_wire(9999), AISS_E_PROTOCOL);
}

static void test_golden_reserve(void **state)
{
	(void)state;
	aiss_request r, back;
	fixture_reserve(&r);
	uint8_t *f;
	size_t n;
	aiss_error err = {0};
	assert_int_equal(aiss_request_encode(&r, &f, &n, &err), 0);
	check_golden("reserve_request", f, n);
	size_t plen;
	assert_int_equal(aiss_frame_check(f, n, &plen), 1);
	assert_int_equal(plen + AISS_FRAME_HDR, n);
	assert_int_equal(aiss_request_decode(f + 4, plen, &back, &err), 0);
	assert_int_equal(back.op, AISS_OP_RESERVE);
	assert_int_equal(back.id, 7);
	assert_int_equal(back.version, AISS_PROTO_VERSION);
	assert_memory_equal(&back.u.reserve, &r.u.reserve, sizeof(r.u.reserve));
	free(f);
}

static void test_golden_settle_reply(void **state)
{
	(void)state;
	aiss_reply r, back;
	fixture_settle_reply(&r);
	uint8_t *f;
	size_t n;
	aiss_error err = {0};
	assert_int_equal(aiss_reply_encode(&r, &f, &n, &err), 0);
	check_golden("settle_reply", f, n);
	assert_int_equal(aiss_reply_decode(f + 4, n - 4, &back, &err), 0);
	assert_int_equal(back.op, AISS_OP_SETTLE);
	assert_int_equal(back.status, AISS_OK);
	assert_memory_equal(&back.u.charge, &r.u.charge, sizeof(r.u.charge));
	aiss_reply_clear(&back);
	free(f);
}

static void test_golden_refusal(void **state)
{
	(void)state;
	aiss_reply r, back;
	fixture_refusal(&r);
	uint8_t *f;
	size_t n;
	aiss_error err = {0};
	assert_int_equal(aiss_reply_encode(&r, &f, &n, &err), 0);
	check_golden("refusal_reply", f, n);
	assert_int_equal(aiss_reply_decode(f + 4, n - 4, &back, &err), 0);
	assert_int_equal(back.status, AISS_E_INSUFFICIENT);
	assert_string_equal(back.message, r.message);
	free(f);
}

static void test_golden_grant_list(void **state)
{
	(void)state;
	aiss_reply r, back;
	fixture_grant_list(&r);
	uint8_t *f;
	size_t n;
	aiss_error err = {0};
	assert_int_equal(aiss_reply_encode(&r, &f, &n, &err), 0);
	check_golden("grant_list_reply", f, n);
	assert_int_equal(aiss_reply_decode(f + 4, n - 4, &back, &err), 0);
	assert_int_equal(back.n_items, 2);
	assert_int_equal(back.more, 1);
	assert_int_equal(back.next_offset, 2);
	assert_memory_equal(back.items, r.items, 2 * sizeof(aiss_grant));
	aiss_reply_clear(&back);
	aiss_reply_clear(&r);
	free(f);
}

static void test_golden_lien_list(void **state)
{
	(void)state;
	aiss_reply r, back;
	aiss_request q, qb;
	uint8_t *f;
	size_t n;
	aiss_error err = {0};

	fixture_lien_list(&r);
	assert_int_equal(aiss_reply_encode(&r, &f, &n, &err), 0);
	check_golden("lien_list_reply", f, n);
	assert_int_equal(aiss_reply_decode(f + 4, n - 4, &back, &err), 0);
	assert_int_equal(back.n_items, 1);
	assert_memory_equal(back.items, r.items, sizeof(aiss_lien_info));
	aiss_reply_clear(&back);
	aiss_reply_clear(&r);
	free(f);

	/* Page.stale (7) and Page.dry_run (8) of a lien_expire (37) */
	memset(&q, 0, sizeof(q));
	q.version = AISS_PROTO_VERSION;
	q.id = 12;
	q.op = AISS_OP_LIEN_EXPIRE;
	snprintf(q.u.page.grant_id, AISS_ID_MAX, "AISS-2025-0007");
	q.u.page.stale = 1;
	q.u.page.dry_run = 1;
	assert_int_equal(aiss_request_encode(&q, &f, &n, &err), 0);
	check_golden("lien_expire_request", f, n);
	assert_int_equal(aiss_request_decode(f + 4, n - 4, &qb, &err), 0);
	assert_int_equal(qb.op, AISS_OP_LIEN_EXPIRE);
	assert_int_equal(qb.u.page.stale, 1);
	assert_int_equal(qb.u.page.dry_run, 1);
	free(f);
}

/* SERVER_STATUS's reply carries every field both ways, the refusal text
 * included. */
static void test_server_status_reply(void **state)
{
	(void)state;
	aiss_reply r, back;
	aiss_error err = {0};
	uint8_t *f;
	size_t n;

	aiss_reply_init(&r, AISS_OP_SERVER_STATUS, 9);
	aiss_server_status *st = &r.u.status; /* zeroed, padding too */
	st->pid = 4242;
	st->started_at = 1795420000;
	st->as_of = 1795421000;
	st->writes_ok = 0;
	st->requests = 5000000000ULL;
	st->group_commits = 1000000;
	st->replays = 3;
	st->connections_open = 7;
	st->connections = 70;
	st->protocol_errors = 2;
	snprintf(r.u.status.ledger, sizeof(r.u.status.ledger), "/l/x.db");
	snprintf(r.u.status.writes_error, sizeof(r.u.status.writes_error),
		 "restart aissd");
	assert_int_equal(aiss_reply_encode(&r, &f, &n, &err), 0);
	assert_int_equal(aiss_reply_decode(f + 4, n - 4, &back, &err), 0);
	assert_int_equal(back.op, AISS_OP_SERVER_STATUS);
	assert_memory_equal(&back.u.status, &r.u.status, sizeof(r.u.status));
	free(f);
	aiss_reply_clear(&back);
}

/* Every request op encodes and decodes to the same body. */
static void test_roundtrip_all_ops(void **state)
{
	(void)state;
	for (int op = 1; op < AISS_OP__MAX; op++) {
		if (!strcmp(aiss_op_name((aiss_op)op), "?"))
			continue;
		aiss_request r, back;
		memset(&r, 0, sizeof(r));
		r.version = AISS_PROTO_VERSION;
		r.id = (uint64_t)op;
		r.op = (aiss_op)op;
		/* a recognisable first string and number in every body */
		snprintf((char *)&r.u, 8, "x%d", op);
		uint8_t *f;
		size_t n;
		aiss_error err = {0};
		assert_int_equal(aiss_request_encode(&r, &f, &n, &err), 0);
		assert_int_equal(aiss_request_decode(f + 4, n - 4, &back, &err),
				 0);
		assert_int_equal(back.op, op);
		assert_int_equal(back.id, (uint64_t)op);
		free(f);
	}
}

static void test_decode_rejects(void **state)
{
	(void)state;
	aiss_request r;
	aiss_error err = {0};
	/* random junk */
	uint8_t junk[64];
	unsigned seed = 1;
	int rejected = 0;
	for (int k = 0; k < 200; k++) {
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)(rand_r(&seed) >> 7);
		if (aiss_request_decode(junk, sizeof(junk), &r, &err))
			rejected++;
	}
	assert_true(rejected > 150);
	/* no op */
	uint8_t only_version[] = {0x08, 0x01};
	assert_int_equal(
	    aiss_request_decode(only_version, sizeof(only_version), &r, &err),
	    -1);
	assert_int_equal(err.code, AISS_E_PROTOCOL);
	/* truncated frame payload */
	aiss_request ok;
	fixture_reserve(&ok);
	uint8_t *f;
	size_t n;
	assert_int_equal(aiss_request_encode(&ok, &f, &n, &err), 0);
	assert_int_equal(aiss_request_decode(f + 4, n - 4 - 3, &r, &err), -1);
	free(f);
	/* a string longer than the model field: grant_get{grant_id: 100 x a} */
	uint8_t longid[3 + 2 + 100];
	longid[0] = 0xd2; /* field 26, length-delimited */
	longid[1] = 0x01;
	longid[2] = 102;
	longid[3] = 0x0a; /* GrantRef.grant_id */
	longid[4] = 100;
	memset(longid + 5, 'a', 100);
	assert_int_equal(aiss_request_decode(longid, sizeof(longid), &r, &err),
			 -1);
	assert_int_equal(err.code, AISS_E_PROTOCOL);
	longid[2] = 2 + 60; /* and a 60-byte id fits */
	longid[4] = 60;
	assert_int_equal(aiss_request_decode(longid, 3 + 62, &r, &err), 0);
	assert_int_equal(strlen(r.u.grant_id), 60);
	/* the encoder reads a C string: build one with room to overflow */
	aiss_request huge;
	memset(&huge, 0, sizeof(huge));
	huge.version = 1;
	huge.op = AISS_OP_GRANT_ADD;
	memset(huge.u.grant.members, 'm', sizeof(huge.u.grant.members) - 1);
	assert_int_equal(aiss_request_encode(&huge, &f, &n, &err), 0);
	assert_int_equal(aiss_request_decode(f + 4, n - 4, &r, &err), 0);
	free(f);
	/* over-limit payload length is refused before unpacking */
	assert_int_equal(
	    aiss_request_decode(junk, AISS_FRAME_MAX + 1, &r, &err), -1);
	assert_int_equal(err.code, AISS_E_PROTOCOL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_check),
	    cmocka_unit_test(test_status_table),
	    cmocka_unit_test(test_golden_reserve),
	    cmocka_unit_test(test_golden_settle_reply),
	    cmocka_unit_test(test_golden_refusal),
	    cmocka_unit_test(test_golden_grant_list),
	    cmocka_unit_test(test_golden_lien_list),
	    cmocka_unit_test(test_roundtrip_all_ops),
	    cmocka_unit_test(test_server_status_reply),
	    cmocka_unit_test(test_decode_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
