/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_dispatch: aissd's handlers and event loop over socketpair(), with no
 * daemon running: roles, lifecycle, bad input, group commit, config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aissd.h"

#define W0 ((aiss_time_t)1743436800) /* 2025-04-01 00:00 HKT */
#define W1 (W0 + 365 * 86400)
#define GRANT "AISS-2025-0007"

typedef struct fx {
	char dir[64];
	char db[128];
	aiss_ledger *l;
	aissd_server *srv;
	int admin, slurm, alice, mallory, fin; /* client ends */
	uint64_t id;
} fx;

static fx *F;

static int add_client(const char *name, uid_t uid, unsigned roles)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	aissd_caller who = {.uid = uid, .roles = roles};
	snprintf(who.user, sizeof(who.user), "%s", name);
	assert_int_equal(aissd_server_add_conn(F->srv, sv[0], &who, 0), 0);
	return sv[1];
}

/* Reads exactly @len bytes from @fd, turning the server loop meanwhile.
 * Returns 0, or -1 when the server closed the connection. */
static int read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t have = 0;
	for (int turn = 0; have < len && turn < 4000; turn++) {
		aissd_server_step(F->srv, 0);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 5) <= 0)
			continue;
		ssize_t n = recv(fd, buf + have, len - have, 0);
		if (n == 0)
			return -1;
		if (n > 0)
			have += (size_t)n;
	}
	if (have < len)
		fail_msg("no reply");
	return 0;
}

/* Reads one reply frame (exactly) from @fd. 0, or -1 when closed. */
static int read_reply(int fd, aiss_reply *rep)
{
	uint8_t hdr[4];
	if (read_exact(fd, hdr, 4))
		return -1;
	size_t plen = ((size_t)hdr[0] << 24) | ((size_t)hdr[1] << 16) |
		      ((size_t)hdr[2] << 8) | hdr[3];
	assert_true(plen > 0 && plen <= AISS_FRAME_MAX);
	uint8_t *buf = malloc(plen);
	assert_int_equal(read_exact(fd, buf, plen), 0);
	aiss_error e;
	assert_int_equal(aiss_reply_decode(buf, plen, rep, &e), 0);
	free(buf);
	return 0;
}

static void send_req(int fd, aiss_request *r)
{
	uint8_t *f;
	size_t n;
	aiss_error e;
	if (!r->version)
		r->version = AISS_PROTO_VERSION;
	r->id = ++F->id;
	assert_int_equal(aiss_request_encode(r, &f, &n, &e), 0);
	assert_int_equal(send(fd, f, n, 0), (ssize_t)n);
	free(f);
}

/* One request, one reply; returns the reply's status. */
static aiss_status rpc(int fd, aiss_request *r, aiss_reply *rep)
{
	send_req(fd, r);
	aiss_reply tmp;
	aiss_reply *out = rep ? rep : &tmp;
	assert_int_equal(read_reply(fd, out), 0);
	assert_int_equal(out->id, r->id);
	aiss_status s = out->status;
	if (!rep)
		aiss_reply_clear(&tmp);
	return s;
}

static aiss_request *req(aiss_op op)
{
	static aiss_request r;
	memset(&r, 0, sizeof(r));
	r.op = op;
	return &r;
}

static aiss_grant base_grant(const char *id, const char *account)
{
	aiss_grant g;
	memset(&g, 0, sizeof(g));
	snprintf(g.id, sizeof(g.id), "%s", id);
	snprintf(g.institution, sizeof(g.institution), "HKU");
	snprintf(g.accounts, sizeof(g.accounts), "%s", account);
	snprintf(g.members, sizeof(g.members), "alice,bob");
	snprintf(g.gpu_types, sizeof(g.gpu_types), "h100");
	g.rate_bp = 7000;
	g.approved_gpu_seconds = 100000LL * 3600;
	g.approved_subsidy = 10000000; /* HK$100,000.00 */
	g.window_start = W0;
	g.window_end = W1;
	g.max_concurrent_gpus = 64;
	return g;
}

static int setup(void **state)
{
	F = calloc(1, sizeof(*F));
	snprintf(F->dir, sizeof(F->dir), "/tmp/test_aissd.XXXXXX");
	assert_non_null(mkdtemp(F->dir));
	snprintf(F->db, sizeof(F->db), "%s/ledger.db", F->dir);
	aiss_error e;
	F->l = aiss_ledger_open(F->db, &e);
	assert_non_null(F->l);
	aissd_config cfg;
	aissd_config_defaults(&cfg);
	cfg.batch_max = 64;
	F->srv = aissd_server_create(&cfg, F->l, &e);
	assert_non_null(F->srv);
	F->admin = add_client(
	    "root", 0, AISSD_ROLE_USER | AISSD_ROLE_ADMIN | AISSD_ROLE_SLURM);
	F->slurm =
	    add_client("slurm", 64030, AISSD_ROLE_USER | AISSD_ROLE_SLURM);
	F->alice = add_client("alice", 1001, AISSD_ROLE_USER);
	F->mallory = add_client("mallory", 1002, AISSD_ROLE_USER);
	F->fin = add_client("fin", 1003, AISSD_ROLE_USER | AISSD_ROLE_FINANCE);

	aiss_request *r = req(AISS_OP_SCHEME_INIT);
	snprintf(r->u.scheme.name, AISS_NAME_MAX, "AI Subsidy Scheme");
	r->u.scheme.commitment = 300000000000LL;
	r->u.scheme.start = W0;
	r->u.scheme.end = W0 + 3 * 365 * 86400;
	assert_int_equal(rpc(F->admin, r, NULL), AISS_OK);
	r = req(AISS_OP_INSTITUTION_ADD);
	snprintf(r->u.institution.name, AISS_NAME_MAX, "HKU");
	r->u.institution.type = AISS_INST_UNIVERSITY;
	assert_int_equal(rpc(F->admin, r, NULL), AISS_OK);
	r = req(AISS_OP_PRICE_SET);
	snprintf(r->u.price.gpu_type, AISS_ID_MAX, "h100");
	r->u.price.cents_per_gpu_hour = 3000;
	assert_int_equal(rpc(F->admin, r, NULL), AISS_OK);
	r = req(AISS_OP_GRANT_ADD);
	r->u.grant = base_grant(GRANT, "hku-nlp");
	assert_int_equal(rpc(F->admin, r, NULL), AISS_OK);
	*state = F;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(F->admin);
	close(F->slurm);
	close(F->alice);
	close(F->mallory);
	close(F->fin);
	aissd_server_destroy(F->srv);
	aiss_ledger_close(F->l);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", F->dir);
	assert_int_equal(system(cmd), 0);
	free(F);
	return 0;
}

static void fill_reserve(aiss_request *r, uint64_t job, int64_t gpus)
{
	snprintf(r->u.reserve.key.cluster, AISS_ID_MAX, "aisc");
	r->u.reserve.key.job_id = job;
	r->u.reserve.key.run_start = W0 + 86400;
	snprintf(r->u.reserve.shape.account, AISS_ID_MAX, "hku-nlp");
	snprintf(r->u.reserve.shape.user, AISS_ID_MAX, "alice");
	snprintf(r->u.reserve.shape.gpu_type, AISS_ID_MAX, "h100");
	r->u.reserve.shape.gpus = gpus;
	r->u.reserve.shape.time_limit = 3600;
}

/* A settle of fill_reserve's run @job on @gpus GPUs, ended after 30 min. */
static void fill_settle(aiss_request *r, uint64_t job, int64_t gpus)
{
	snprintf(r->u.settle.key.cluster, AISS_ID_MAX, "aisc");
	r->u.settle.key.job_id = job;
	r->u.settle.key.run_start = W0 + 86400;
	r->u.settle.gpus = gpus;
	r->u.settle.end = W0 + 86400 + 1800;
	snprintf(r->u.settle.end_state, AISS_STATE_MAX, "COMPLETED");
}

static void test_lifecycle(void **state)
{
	(void)state;
	aiss_reply rep;
	aiss_request *r = req(AISS_OP_QUOTE);
	snprintf(r->u.quote.account, AISS_ID_MAX, "hku-nlp");
	snprintf(r->u.quote.user, AISS_ID_MAX, "alice");
	r->u.quote.gpus = 8;
	r->u.quote.time_limit = 3600;
	r->u.quote.start = W0 + 86400;
	assert_int_equal(rpc(F->alice, r, &rep), AISS_OK);
	assert_int_equal(rep.u.quote.verdict, AISS_OK);
	/* 8 GPU-hours at HK$30 = HK$240, 70% subsidy = HK$168 */
	assert_int_equal(rep.u.quote.worst.list_cost, 24000);
	assert_int_equal(rep.u.quote.worst.subsidy, 16800);

	r = req(AISS_OP_RESERVE);
	fill_reserve(r, 100, 8);
	assert_int_equal(rpc(F->slurm, r, &rep), AISS_OK);
	assert_int_equal(rep.u.lien.held_subsidy, 16800);
	assert_string_equal(rep.u.lien.grant_id, GRANT);

	r = req(AISS_OP_SETTLE);
	fill_settle(r, 100, 8);
	aiss_request settle = *r;
	if (rpc(F->slurm, r, &rep) != AISS_OK)
		fail_msg("settle: %s", rep.message);
	assert_int_equal(rep.u.charge.charge.subsidy, 8400);
	int64_t seq = rep.u.charge.journal_seq;
	/* idempotent: the same answer again */
	*r = settle;
	assert_int_equal(rpc(F->slurm, r, &rep), AISS_OK);
	assert_int_equal(rep.u.charge.charge.subsidy, 8400);
	assert_int_equal(rep.u.charge.journal_seq, seq);

	r = req(AISS_OP_BALANCE);
	snprintf(r->u.grant_id, AISS_ID_MAX, GRANT);
	assert_int_equal(rpc(F->alice, r, &rep), AISS_OK);
	assert_int_equal(rep.u.balance.charged_subsidy, 8400);
	assert_int_equal(rep.u.balance.held_subsidy, 0);

	r = req(AISS_OP_STATEMENT);
	snprintf(r->u.page.grant_id, AISS_ID_MAX, GRANT);
	r->u.page.limit = 1; /* paging by journal seq */
	assert_int_equal(rpc(F->alice, r, &rep), AISS_OK);
	assert_int_equal(rep.n_items, 1);
	assert_int_equal(rep.more, 1);
	int64_t after = rep.next_after_seq;
	aiss_reply_clear(&rep);
	r = req(AISS_OP_STATEMENT);
	snprintf(r->u.page.grant_id, AISS_ID_MAX, GRANT);
	r->u.page.after_seq = after;
	assert_int_equal(rpc(F->alice, r, &rep), AISS_OK);
	assert_true(rep.n_items >= 1);
	assert_true(((aiss_journal_entry *)rep.items)[0].seq > after);
	aiss_reply_clear(&rep);

	r = req(AISS_OP_JOURNAL_VERIFY);
	assert_int_equal(rpc(F->fin, r, &rep), AISS_OK);
	assert_int_equal(rep.u.verify.ok, 1);
}

static void test_roles(void **state)
{
	(void)state;
	aiss_reply rep;
	aiss_request *r = req(AISS_OP_RESERVE);
	fill_reserve(r, 200, 1);
	assert_int_equal(rpc(F->alice, r, &rep), AISS_E_PERMISSION);
	assert_non_null(strstr(rep.message, "reserve"));
	r = req(AISS_OP_RESERVE);
	fill_reserve(r, 200, 1);
	assert_int_equal(rpc(F->fin, r, NULL), AISS_E_PERMISSION);

	/* users see only their grants */
	r = req(AISS_OP_BALANCE);
	snprintf(r->u.grant_id, AISS_ID_MAX, GRANT);
	assert_int_equal(rpc(F->mallory, r, &rep), AISS_E_PERMISSION);
	assert_non_null(strstr(rep.message, "not a member"));
	r = req(AISS_OP_STATEMENT);
	snprintf(r->u.page.grant_id, AISS_ID_MAX, GRANT);
	assert_int_equal(rpc(F->mallory, r, NULL), AISS_E_PERMISSION);
	r = req(AISS_OP_GRANT_LIST);
	assert_int_equal(rpc(F->mallory, r, &rep), AISS_OK);
	assert_int_equal(rep.n_items, 0);
	aiss_reply_clear(&rep);
	r = req(AISS_OP_GRANT_LIST);
	assert_int_equal(rpc(F->alice, r, &rep), AISS_OK);
	assert_int_equal(rep.n_items, 1);
	aiss_reply_clear(&rep);
	r = req(AISS_OP_BALANCE_LIST);
	assert_int_equal(rpc(F->mallory, r, &rep), AISS_OK);
	assert_int_equal(rep.n_items, 0);
	aiss_reply_clear(&rep);
	/* a user quotes only for themselves */
	r = req(AISS_OP_QUOTE);
	snprintf(r->u.quote.account, AISS_ID_MAX, "hku-nlp");
	snprintf(r->u.quote.user, AISS_ID_MAX, "alice");
	r->u.quote.gpus = 1;
	r->u.quote.time_limit = 60;
	assert_int_equal(rpc(F->mallory, r, NULL), AISS_E_PERMISSION);

	/* finance is read-only but reads everything */
	r = req(AISS_OP_ADJUST);
	snprintf(r->u.adjust.grant_id, AISS_ID_MAX, GRANT);
	r->u.adjust.amount = 100;
	snprintf(r->u.adjust.reason, AISS_TEXT_MAX, "test");
	assert_int_equal(rpc(F->fin, r, NULL), AISS_E_PERMISSION);
	r = req(AISS_OP_GRANT_ADD);
	r->u.grant = base_grant("AISS-2025-0099", "x");
	assert_int_equal(rpc(F->fin, r, NULL), AISS_E_PERMISSION);
	r = req(AISS_OP_BALANCE);
	snprintf(r->u.grant_id, AISS_ID_MAX, GRANT);
	assert_int_equal(rpc(F->fin, r, NULL), AISS_OK);
	r = req(AISS_OP_CHARGE_EXPORT);
	assert_int_equal(rpc(F->fin, r, NULL), AISS_OK);
	r = req(AISS_OP_CHARGE_EXPORT);
	assert_int_equal(rpc(F->alice, r, NULL), AISS_E_PERMISSION);
	r = req(AISS_OP_JOURNAL_VERIFY);
	assert_int_equal(rpc(F->alice, r, NULL), AISS_E_PERMISSION);
	/* slurm may not administer */
	r = req(AISS_OP_PRICE_SET);
	snprintf(r->u.price.gpu_type, AISS_ID_MAX, "h100");
	r->u.price.cents_per_gpu_hour = 1;
	assert_int_equal(rpc(F->slurm, r, NULL), AISS_E_PERMISSION);
}

static void test_bad_values(void **state)
{
	(void)state;
	aiss_reply rep;
	/* a 95% rate */
	aiss_request *r = req(AISS_OP_GRANT_ADD);
	r->u.grant = base_grant("AISS-2025-0095", "acct95");
	r->u.grant.rate_bp = 9500;
	assert_int_equal(rpc(F->admin, r, &rep), AISS_E_INVALID);
	assert_non_null(strstr(rep.message, "9500"));
	assert_non_null(strstr(rep.message, "9000"));
	/* negative and absurd amounts */
	r = req(AISS_OP_GRANT_ADD);
	r->u.grant = base_grant("AISS-2025-0096", "acct96");
	r->u.grant.approved_subsidy = -5;
	assert_int_equal(rpc(F->admin, r, NULL), AISS_E_INVALID);
	r = req(AISS_OP_ADJUST);
	snprintf(r->u.adjust.grant_id, AISS_ID_MAX, GRANT);
	r->u.adjust.amount = INT64_MAX;
	snprintf(r->u.adjust.reason, AISS_TEXT_MAX, "absurd");
	assert_int_equal(rpc(F->admin, r, &rep), AISS_E_INVALID);
	assert_non_null(strstr(rep.message, "out of range"));
	r = req(AISS_OP_ADJUST);
	snprintf(r->u.adjust.grant_id, AISS_ID_MAX, GRANT);
	r->u.adjust.amount = INT64_MIN;
	snprintf(r->u.adjust.reason, AISS_TEXT_MAX, "absurd");
	assert_int_equal(rpc(F->admin, r, NULL), AISS_E_INVALID);
	r = req(AISS_OP_SCHEME_INIT);
	r->u.scheme.commitment = -300000000000LL;
	assert_int_equal(rpc(F->admin, r, NULL), AISS_E_INVALID);
	r = req(AISS_OP_PRICE_SET);
	snprintf(r->u.price.gpu_type, AISS_ID_MAX, "h100");
	r->u.price.cents_per_gpu_hour = -3000;
	assert_int_equal(rpc(F->admin, r, NULL), AISS_E_INVALID);
	r = req(AISS_OP_RESERVE);
	fill_reserve(r, 300, -8);
	assert_int_equal(rpc(F->slurm, r, NULL), AISS_E_INVALID);
	r = req(AISS_OP_RESERVE);
	fill_reserve(r, 301, 8);
	r->u.reserve.shape.time_limit = INT64_MAX;
	assert_int_equal(rpc(F->slurm, r, NULL), AISS_E_INVALID);
	r = req(AISS_OP_SETTLE);
	snprintf(r->u.settle.key.cluster, AISS_ID_MAX, "aisc");
	r->u.settle.key.job_id = 302;
	r->u.settle.key.run_start = W0 + 1000;
	r->u.settle.end = W0; /* before its start */
	snprintf(r->u.settle.account, AISS_ID_MAX, "hku-nlp");
	assert_int_equal(rpc(F->slurm, r, NULL), AISS_E_INVALID);
	/* nothing of the above changed the grant */
	r = req(AISS_OP_BALANCE);
	snprintf(r->u.grant_id, AISS_ID_MAX, GRANT);
	assert_int_equal(rpc(F->admin, r, &rep), AISS_OK);
	assert_int_equal(rep.u.balance.adjustments, 0);
	assert_int_equal(rep.u.balance.held_subsidy, 0);
}

static void test_bad_frames(void **state)
{
	(void)state;
	aiss_reply rep;
	/* unknown version: a clear error, connection kept */
	aiss_request *r = req(AISS_OP_SCHEME_GET);
	r->version = 99;
	assert_int_equal(rpc(F->alice, r, &rep), AISS_E_PROTOCOL);
	assert_non_null(strstr(rep.message, "version 99"));
	r = req(AISS_OP_SCHEME_GET);
	assert_int_equal(rpc(F->alice, r, NULL), AISS_OK);

	/* a well-framed payload of junk: an error reply, connection kept */
	uint8_t junk[4 + 32];
	aiss_frame_put_header(junk, 32);
	memset(junk + 4, 0xff, 32);
	assert_int_equal(send(F->alice, junk, sizeof(junk), 0), sizeof(junk));
	assert_int_equal(read_reply(F->alice, &rep), 0);
	assert_int_equal(rep.status, AISS_E_PROTOCOL);
	r = req(AISS_OP_SCHEME_GET);
	assert_int_equal(rpc(F->alice, r, NULL), AISS_OK);

	/* an oversized length prefix: the connection is closed before any
	 * allocation, and others are still served */
	int bad = add_client("mallory", 1002, AISSD_ROLE_USER);
	uint8_t huge[4];
	aiss_frame_put_header(huge, 0x7fffffff);
	assert_int_equal(send(bad, huge, 4, 0), 4);
	assert_int_equal(read_reply(bad, &rep), -1);
	close(bad);
	aissd_stats st;
	aissd_server_stats(F->srv, &st);
	assert_true(st.closed_bad >= 1);
	r = req(AISS_OP_SCHEME_GET);
	assert_int_equal(rpc(F->mallory, r, NULL), AISS_OK);

	/* random bytes */
	bad = add_client("mallory", 1002, AISSD_ROLE_USER);
	unsigned seed = 42;
	uint8_t rnd[512];
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)(rand_r(&seed) >> 3);
	assert_int_equal(send(bad, rnd, sizeof(rnd), 0), sizeof(rnd));
	int rc = read_reply(bad, &rep);
	if (rc == 0)
		assert_int_not_equal(rep.status, AISS_OK);
	close(bad);
	r = req(AISS_OP_SCHEME_GET);
	assert_int_equal(rpc(F->mallory, r, NULL), AISS_OK);

	/* a truncated frame, then the peer goes away */
	bad = add_client("mallory", 1002, AISSD_ROLE_USER);
	uint8_t part[4 + 3];
	aiss_frame_put_header(part, 100);
	memset(part + 4, 0x08, 3);
	assert_int_equal(send(bad, part, sizeof(part), 0), sizeof(part));
	close(bad);
	size_t before = aissd_server_nconns(F->srv);
	for (int i = 0; i < 5; i++)
		aissd_server_step(F->srv, 0);
	assert_true(aissd_server_nconns(F->srv) < before);
	r = req(AISS_OP_SCHEME_GET);
	assert_int_equal(rpc(F->alice, r, NULL), AISS_OK);

	/* a zero-length frame is a framing violation */
	bad = add_client("mallory", 1002, AISSD_ROLE_USER);
	uint8_t zero[4] = {0};
	assert_int_equal(send(bad, zero, 4, 0), 4);
	assert_int_equal(read_reply(bad, &rep), -1);
	close(bad);
}

/* Many pipelined requests from several clients share one commit. */
static void test_group_commit(void **state)
{
	(void)state;
	aissd_stats a, b;
	aissd_server_stats(F->srv, &a);
	int n = 0;
	for (int i = 0; i < 20; i++) {
		aiss_request *r = req(AISS_OP_RESERVE);
		fill_reserve(r, 1000 + (uint64_t)i, 1);
		send_req(F->slurm, r);
		n++;
	}
	for (int i = 0; i < 20; i++) {
		aiss_request *r = req(AISS_OP_RESERVE);
		fill_reserve(r, 2000 + (uint64_t)i, 1);
		send_req(F->admin, r);
		n++;
	}
	/* one turn takes them all (batch_max 64 >= 40) */
	aissd_server_step(F->srv, 100);
	aissd_server_stats(F->srv, &b);
	assert_int_equal(b.batches - a.batches, 1);
	assert_int_equal(b.requests - a.requests, (uint64_t)n);
	aiss_reply rep;
	for (int i = 0; i < 20; i++) {
		assert_int_equal(read_reply(F->slurm, &rep), 0);
		assert_int_equal(rep.status, AISS_OK);
		assert_int_equal(read_reply(F->admin, &rep), 0);
		assert_int_equal(rep.status, AISS_OK);
	}
	/* and they are durable: a second handle on the file sees them */
	aiss_error e;
	aiss_ledger *l2 = aiss_ledger_open(F->db, &e);
	assert_non_null(l2);
	aiss_balance bal;
	assert_int_equal(aiss_ledger_balance(l2, GRANT, &bal, &e), 0);
	assert_true(bal.n_liens >= 40);
	aiss_ledger_close(l2);
}

/* A request that fails half done (here: a settle whose charge row a
 * trigger refuses after its lien and grant rows changed) spoils the
 * savepoint-free batch: the batch runs again with a savepoint each, so the
 * others of the turn still succeed, once, and only it fails. */
static void test_replay_half_done(void **state)
{
	(void)state;
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(F->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(
	    sqlite3_exec(db,
			 "CREATE TRIGGER inject BEFORE INSERT ON charge "
			 "WHEN NEW.job_id = 702 "
			 "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	/* a lien for 702 first, in its own turn */
	aiss_request *r = req(AISS_OP_RESERVE);
	fill_reserve(r, 702, 1);
	assert_int_equal(rpc(F->slurm, r, NULL), AISS_OK);

	aissd_stats a, b;
	aissd_server_stats(F->srv, &a);
	r = req(AISS_OP_RESERVE);
	fill_reserve(r, 701, 1);
	send_req(F->slurm, r);
	r = req(AISS_OP_SETTLE);
	fill_settle(r, 702, 1);
	send_req(F->admin, r);
	r = req(AISS_OP_RESERVE);
	fill_reserve(r, 703, 1);
	send_req(F->admin, r);
	aissd_server_step(F->srv, 100);
	aissd_server_stats(F->srv, &b);
	assert_int_equal(b.batches - a.batches, 1);
	assert_int_equal(b.replays - a.replays, 1);
	assert_int_equal(b.requests - a.requests, 3);
	aiss_reply rep;
	assert_int_equal(read_reply(F->slurm, &rep), 0);
	assert_int_equal(rep.status, AISS_OK); /* 701 */
	assert_int_equal(read_reply(F->admin, &rep), 0);
	assert_int_not_equal(rep.status, AISS_OK); /* settle 702 */
	assert_non_null(strstr(rep.message, "injected"));
	assert_int_equal(read_reply(F->admin, &rep), 0);
	assert_int_equal(rep.status, AISS_OK); /* 703 */

	/* the reserves are there (once: the chain and totals verify), the
	 * failed settle left its lien held and no charge */
	aiss_error e;
	aiss_lien lien;
	aiss_charge_rec c;
	aiss_run_key k = {.run_start = W0 + 86400};
	snprintf(k.cluster, sizeof(k.cluster), "aisc");
	for (uint64_t job = 701; job <= 703; job++) {
		k.job_id = job;
		assert_int_equal(aiss_ledger_lien_get(F->l, &k, &lien, &e), 0);
		assert_int_equal(lien.state, AISS_LIEN_HELD);
	}
	k.job_id = 702;
	assert_int_equal(aiss_ledger_charge_get(F->l, &k, &c, &e), -1);
	aiss_verify_result v;
	assert_int_equal(aiss_ledger_journal_verify(F->l, &v, &e), 0);
	assert_int_equal(v.ok, 1);
}

/* One turn never takes more than batch_max requests; the rest wait for
 * the next turn and are all answered. */
static void test_turn_bounded(void **state)
{
	(void)state;
	aissd_stats a, b;
	aissd_server_stats(F->srv, &a);
	int conns[3] = {F->admin, F->alice, F->fin};
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 40; i++)
			send_req(conns[k], req(AISS_OP_SCHEME_GET));
	aissd_server_step(F->srv, 100);
	aissd_server_stats(F->srv, &b);
	assert_int_equal(b.requests - a.requests, 64); /* batch_max */
	aiss_reply rep;
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 40; i++) {
			assert_int_equal(read_reply(conns[k], &rep), 0);
			assert_int_equal(rep.status, AISS_OK);
		}
	aissd_server_stats(F->srv, &b);
	assert_int_equal(b.requests - a.requests, 120);
}

/* A TCP-style connection without a MUNGE credential is refused per
 * request, and the connection stays usable. */
static void test_tcp_without_credential(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(aissd_server_add_conn(F->srv, sv[0], NULL, 1), 0);
	aiss_reply rep;
	assert_int_equal(rpc(sv[1], req(AISS_OP_SCHEME_GET), &rep),
			 AISS_E_PERMISSION);
	assert_non_null(strstr(rep.message, "MUNGE"));
	aiss_request *r = req(AISS_OP_SCHEME_GET);
	snprintf(r->credential, sizeof(r->credential), "MUNGE:not-a-cred:");
	r->cred_len = strlen(r->credential);
	assert_int_equal(rpc(sv[1], r, &rep), AISS_E_PERMISSION);
	close(sv[1]);
}

/* With the ledger's file named, long reads go to the worker thread:
 * replies keep their order per connection, reads see the same client's
 * earlier writes, and a client leaving mid-read harms nobody. */
static void test_worker(void **state)
{
	(void)state;
	aissd_server_destroy(F->srv); /* closes the clients' server ends */
	close(F->admin);
	close(F->slurm);
	close(F->alice);
	close(F->mallory);
	close(F->fin);
	aissd_config cfg;
	aissd_config_defaults(&cfg);
	snprintf(cfg.db, sizeof(cfg.db), "%s", F->db);
	aiss_error e;
	F->srv = aissd_server_create(&cfg, F->l, &e);
	assert_non_null(F->srv);
	F->admin = add_client(
	    "root", 0, AISSD_ROLE_USER | AISSD_ROLE_ADMIN | AISSD_ROLE_SLURM);
	F->slurm =
	    add_client("slurm", 64030, AISSD_ROLE_USER | AISSD_ROLE_SLURM);
	F->alice = add_client("alice", 1001, AISSD_ROLE_USER);
	F->mallory = add_client("mallory", 1002, AISSD_ROLE_USER);
	F->fin = add_client("fin", 1003, AISSD_ROLE_USER | AISSD_ROLE_FINANCE);

	/* reserve, then (pipelined) statement, scheme, verify, scheme */
	aiss_request *r = req(AISS_OP_RESERVE);
	fill_reserve(r, 4242, 2);
	send_req(F->admin, r);
	uint64_t first = F->id;
	r = req(AISS_OP_STATEMENT);
	snprintf(r->u.page.grant_id, AISS_ID_MAX, GRANT);
	send_req(F->admin, r);
	send_req(F->admin, req(AISS_OP_SCHEME_GET));
	send_req(F->admin, req(AISS_OP_JOURNAL_VERIFY));
	send_req(F->admin, req(AISS_OP_SCHEME_GET));
	aiss_reply rep;
	for (uint64_t k = 0; k < 5; k++) {
		assert_int_equal(read_reply(F->admin, &rep), 0);
		assert_int_equal(rep.id, first + k); /* in order */
		assert_int_equal(rep.status, AISS_OK);
		if (rep.op == AISS_OP_STATEMENT) {
			/* the lien placed just before is in it */
			int found = 0;
			aiss_journal_entry *je = rep.items;
			for (size_t i = 0; i < rep.n_items; i++)
				if (strstr(je[i].detail, "4242"))
					found = 1;
			assert_true(found);
		}
		if (rep.op == AISS_OP_JOURNAL_VERIFY)
			assert_int_equal(rep.u.verify.ok, 1);
		aiss_reply_clear(&rep);
	}
	/* roles still apply on the worker */
	r = req(AISS_OP_STATEMENT);
	snprintf(r->u.page.grant_id, AISS_ID_MAX, GRANT);
	assert_int_equal(rpc(F->mallory, r, NULL), AISS_E_PERMISSION);
	r = req(AISS_OP_GRANT_LIST);
	assert_int_equal(rpc(F->mallory, r, &rep), AISS_OK);
	assert_int_equal(rep.n_items, 0);
	aiss_reply_clear(&rep);

	/* a long read refused before the worker (no MUNGE credential on a
	 * TCP connection) does not leave the connection waiting */
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(aissd_server_add_conn(F->srv, sv[0], NULL, 1), 0);
	assert_int_equal(rpc(sv[1], req(AISS_OP_JOURNAL_VERIFY), NULL),
			 AISS_E_PERMISSION);
	assert_int_equal(rpc(sv[1], req(AISS_OP_SCHEME_GET), NULL),
			 AISS_E_PERMISSION);
	close(sv[1]);

	/* a client that asks for a long read and half-closes still gets
	 * its answer */
	int half =
	    add_client("fin", 1003, AISSD_ROLE_USER | AISSD_ROLE_FINANCE);
	send_req(half, req(AISS_OP_JOURNAL_VERIFY));
	shutdown(half, SHUT_WR);
	assert_int_equal(read_reply(half, &rep), 0);
	assert_int_equal(rep.status, AISS_OK);
	assert_int_equal(rep.u.verify.ok, 1);
	close(half);

	/* a client that asks for a long read and leaves */
	int gone =
	    add_client("fin", 1003, AISSD_ROLE_USER | AISSD_ROLE_FINANCE);
	send_req(gone, req(AISS_OP_JOURNAL_VERIFY));
	close(gone);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rpc(F->alice, req(AISS_OP_SCHEME_GET), NULL),
				 AISS_OK);
	r = req(AISS_OP_BALANCE_LIST);
	assert_int_equal(rpc(F->fin, r, &rep), AISS_OK);
	assert_int_equal(rep.n_items, 1);
	aiss_reply_clear(&rep);
}

/* A plain user gets at most max_user_connections; the rest are closed at
 * once, and privileged callers are never turned away. Needs root (the
 * client runs as nobody). */
static void test_user_connection_limit(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	aissd_server_destroy(F->srv);
	aissd_config cfg;
	aissd_config_defaults(&cfg);
	cfg.max_user_connections = 4;
	char spath[96];
	snprintf(spath, sizeof(spath), "%s/aissd.sock", F->dir);
	snprintf(cfg.socket, sizeof(cfg.socket), "%s", spath);
	aiss_error e;
	F->srv = aissd_server_create(&cfg, F->l, &e);
	assert_non_null(F->srv);
	assert_int_equal(aissd_server_listen(F->srv, &e), 0);
	chmod(F->dir, 0755);

	int go[2], ready[2];
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	pid_t kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {
		close(go[1]);
		close(ready[0]);
		if (setgid(65534) || setuid(65534))
			_exit(100);
		int fds[6];
		for (int i = 0; i < 6; i++) {
			fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
			struct sockaddr_un sa = {.sun_family = AF_UNIX};
			snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", spath);
			if (connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)))
				_exit(101);
		}
		char b = 'r';
		if (write(ready[1], &b, 1) != 1 || read(go[0], &b, 1) != 1)
			_exit(102);
		int closed = 0;
		for (int i = 0; i < 6; i++) {
			struct pollfd p = {.fd = fds[i], .events = POLLIN};
			char x;
			if (poll(&p, 1, 0) == 1 && recv(fds[i], &x, 1, 0) == 0)
				closed++;
		}
		_exit(closed);
	}
	close(go[0]);
	close(ready[1]);
	char b;
	assert_int_equal(read(ready[0], &b, 1), 1);
	/* turn the loop until every connection was accepted or refused */
	for (int i = 0; i < 20; i++)
		aissd_server_step(F->srv, 10);
	assert_int_equal(aissd_server_nconns(F->srv), 4);
	assert_int_equal(write(go[1], "g", 1), 1);
	int st;
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 2);
	/* root is still let in */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", spath);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(rpc(fd, req(AISS_OP_SCHEME_GET), NULL), AISS_OK);
	close(fd);
	close(go[1]);
	close(ready[0]);
}

/* SERVER_STATUS: Slurm, finance and admin see the daemon's state and
 * counters; a plain user is refused. */
static void test_server_status(void **state)
{
	(void)state;
	aiss_reply rep;

	assert_int_equal(rpc(F->alice, req(AISS_OP_SERVER_STATUS), &rep),
			 AISS_E_PERMISSION);
	assert_non_null(strstr(rep.message, "finance staff"));
	aiss_reply_clear(&rep);
	assert_int_equal(rpc(F->fin, req(AISS_OP_SERVER_STATUS), NULL),
			 AISS_OK);
	assert_int_equal(rpc(F->slurm, req(AISS_OP_SERVER_STATUS), NULL),
			 AISS_OK);
	assert_int_equal(rpc(F->admin, req(AISS_OP_SERVER_STATUS), &rep),
			 AISS_OK);
	const aiss_server_status *st = &rep.u.status;
	assert_int_equal(st->pid, getpid());
	assert_true(st->started_at > 0 && st->as_of >= st->started_at);
	assert_non_null(strstr(st->ledger, "ledger.db"));
	assert_int_equal(st->writes_ok, 1);
	assert_string_equal(st->writes_error, "");
	/* setup's requests and the three above, each answered */
	assert_true(st->requests >= 4);
	assert_true(st->group_commits >= 1 &&
		    st->group_commits <= st->requests);
	assert_int_equal(st->connections_open, 5);
	assert_int_equal(st->protocol_errors, 0);
	uint64_t n = st->requests;
	aiss_reply_clear(&rep);
	assert_int_equal(rpc(F->admin, req(AISS_OP_SERVER_STATUS), &rep),
			 AISS_OK);
	assert_int_equal(rep.u.status.requests, n + 1);
	aiss_reply_clear(&rep);
}

static void test_config(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/aiss.conf", F->dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("# test\nsocket = /tmp/x.sock\nslurm_user = slurm\n"
	      "admin_users = 1500, carol\nfinance_users = dave 1600\n"
	      "tcp_listen = 127.0.0.1:6820\nbatch_max = 128\n",
	      f);
	fclose(f);
	aissd_config c;
	aissd_config_defaults(&c);
	aiss_error e;
	assert_int_equal(aissd_config_load(&c, path, &e), 0);
	assert_string_equal(c.socket, "/tmp/x.sock");
	assert_string_equal(c.tcp_host, "127.0.0.1");
	assert_int_equal(c.tcp_port, 6820);
	assert_int_equal(c.batch_max, 128);
	aissd_caller who;
	aissd_caller_resolve(&c, 0, &who);
	assert_true(who.roles & AISSD_ROLE_ADMIN);
	assert_true(who.roles & AISSD_ROLE_SLURM);
	aissd_caller_resolve(&c, 64030, &who); /* Debian's slurm uid */
	if (!strcmp(who.user, "slurm"))
		assert_true(who.roles & AISSD_ROLE_SLURM);
	aissd_caller_resolve(&c, 1500, &who);
	assert_true(who.roles & AISSD_ROLE_ADMIN);
	assert_false(who.roles & AISSD_ROLE_SLURM);
	aissd_caller_resolve(&c, 1600, &who);
	assert_true(who.roles & AISSD_ROLE_FINANCE);
	assert_false(who.roles & AISSD_ROLE_ADMIN);
	aissd_caller_resolve(&c, 1601, &who);
	assert_int_equal(who.roles, AISSD_ROLE_USER);

	f = fopen(path, "w");
	fputs("bogus_key = 1\n", f);
	fclose(f);
	assert_int_equal(aissd_config_load(&c, path, &e), -1);
	assert_non_null(strstr(e.text, ":1:"));
	char host[64];
	int port;
	assert_int_equal(
	    aissd_parse_hostport("[::1]:7", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(
	    aissd_parse_hostport("nohost", host, sizeof(host), &port), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_server_status, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_frames, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replay_half_done, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_turn_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_without_credential, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_worker, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_user_connection_limit, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
