/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_e2e: starts aissd on a temporary socket and drives the client library
 * through the lifecycle, paging, bad input from other clients, TCP without
 * MUNGE, client timeouts and a graceful SIGTERM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aiss_client.h"
#include "aiss_wire.h"

#define W0 ((aiss_time_t)1743436800) /* 2025-04-01 00:00 HKT */
#define W1 (W0 + 365 * 86400)
#define GRANT "AISS-2025-0001"

static char dir[48], sock[80], db[80], conf[80];
static int tcp_port;
static pid_t pid, munged_pid;
static int have_munge; /* a private munged runs for this test */

/* Starts a private munged with its own key and socket in @dir when the
 * binary is there and we are root; sets AISS_MUNGE_SOCKET for aissd and
 * the client library. Without it the MUNGE-positive checks are skipped. */
static void start_munged(void)
{
	if (geteuid() != 0 || access("/usr/sbin/munged", X_OK) != 0) {
		fprintf(stderr, "# no munged (or not root): MUNGE success "
				"path not tested\n");
		return;
	}
	char key[96], msock[96], pidf[96], logf[96], seed[96];
	snprintf(key, sizeof(key), "%s/munge.key", dir);
	snprintf(msock, sizeof(msock), "%s/munge.sock", dir);
	snprintf(pidf, sizeof(pidf), "--pid-file=%s/munged.pid", dir);
	snprintf(logf, sizeof(logf), "--log-file=%s/munged.log", dir);
	snprintf(seed, sizeof(seed), "--seed-file=%s/munged.seed", dir);
	FILE *f = fopen(key, "w");
	assert_non_null(f);
	unsigned seedv = (unsigned)getpid();
	for (int i = 0; i < 1024; i++)
		fputc(rand_r(&seedv) & 0xff, f);
	fclose(f);
	chmod(key, 0600);
	char keyopt[128], sockopt[128];
	snprintf(keyopt, sizeof(keyopt), "--key-file=%s", key);
	snprintf(sockopt, sizeof(sockopt), "--socket=%s", msock);
	munged_pid = fork();
	assert_true(munged_pid >= 0);
	if (munged_pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execl("/usr/sbin/munged", "munged", "-F", "-f", keyopt, sockopt,
		      pidf, logf, seed, (char *)NULL);
		_exit(127);
	}
	struct stat sb;
	for (int i = 0; i < 500 && stat(msock, &sb) != 0; i++)
		poll(NULL, 0, 10);
	if (stat(msock, &sb) != 0) {
		fprintf(stderr, "# munged did not start: MUNGE success path "
				"not tested\n");
		kill(munged_pid, SIGKILL);
		waitpid(munged_pid, NULL, 0);
		munged_pid = 0;
		return;
	}
	setenv("AISS_MUNGE_SOCKET", msock, 1);
	have_munge = 1;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	close(fd);
	return ntohs(sa.sin_port);
}

static aiss_client *connect_retry(void)
{
	aiss_error e;
	for (int i = 0; i < 500; i++) {
		aiss_client *c = aiss_client_connect(sock, 10000, &e);
		if (c)
			return c;
		poll(NULL, 0, 10);
	}
	fail_msg("aissd did not come up: %s", e.text);
	return NULL;
}

static void spawn_aissd(void)
{
	const char *bin = getenv("AISSD_BIN");
	if (!bin)
		bin = "quota/aissd/aissd";
	char tcp[64];
	snprintf(tcp, sizeof(tcp), "127.0.0.1:%d", tcp_port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(bin, "aissd", "--db", db, "--socket", sock, "--tcp", tcp,
		      "--config", conf, "--foreground", (char *)NULL);
		perror("exec aissd");
		_exit(127);
	}
}

static int start(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_e2e.XXXXXX");
	assert_non_null(mkdtemp(dir));
	chmod(dir, 0755); /* the MUNGE test runs a client as nobody */
	snprintf(sock, sizeof(sock), "%s/aissd.sock", dir);
	snprintf(db, sizeof(db), "%s/ledger.db", dir);
	/* Whoever runs the test administers this aissd (root would anyway). */
	snprintf(conf, sizeof(conf), "%s/aiss.conf", dir);
	FILE *f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "# test_e2e\nadmin_users = %u\nslurm_user = %u\n",
		(unsigned)geteuid(), (unsigned)geteuid());
	fclose(f);
	start_munged();
	tcp_port = free_port();
	spawn_aissd();
	aiss_client_close(connect_retry());
	return 0;
}

static int stop(void **state)
{
	(void)state;
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (munged_pid > 0) {
		kill(munged_pid, SIGTERM);
		waitpid(munged_pid, NULL, 0);
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static aiss_grant grant(const char *id, const char *account)
{
	aiss_grant g;
	memset(&g, 0, sizeof(g));
	snprintf(g.id, sizeof(g.id), "%s", id);
	snprintf(g.institution, sizeof(g.institution), "CUHK");
	snprintf(g.accounts, sizeof(g.accounts), "%s", account);
	snprintf(g.members, sizeof(g.members), "alice,root");
	snprintf(g.gpu_types, sizeof(g.gpu_types), "h100");
	g.rate_bp = 7000;
	g.approved_gpu_seconds = 1000000LL * 3600;
	g.approved_subsidy = 100000000; /* HK$1,000,000.00 */
	g.window_start = W0;
	g.window_end = W1;
	return g;
}

static int count_cb(const void *it, void *arg)
{
	(void)it;
	(*(int *)arg)++;
	return 0;
}
static int count_grant(const aiss_grant *g, void *a)
{
	return count_cb(g, a);
}
static int count_entry(const aiss_journal_entry *j, void *a)
{
	return count_cb(j, a);
}
static int count_adj(const aiss_adjustment *j, void *a)
{
	return count_cb(j, a);
}
static int count_cap(const aiss_capacity *j, void *a)
{
	return count_cb(j, a);
}
static int count_earmark(const aiss_earmark *j, void *a)
{
	return count_cb(j, a);
}

/* Marks each job id seen; a repeat is a paging bug. */
static int seen_charge(const aiss_charge_rec *c, void *arg)
{
	unsigned char *seen = arg;
	if (c->key.job_id >= 5000 && c->key.job_id < 5300) {
		assert_int_equal(seen[c->key.job_id - 5000], 0);
		seen[c->key.job_id - 5000] = 1;
	}
	return 0;
}

static void test_lifecycle(void **state)
{
	(void)state;
	aiss_error e;
	aiss_client *c = connect_retry();
	aiss_scheme s = {.commitment = 300000000000LL,
			 .start = W0,
			 .end = W0 + 3 * 365 * 86400};
	snprintf(s.name, sizeof(s.name), "AI Subsidy Scheme");
	assert_int_equal(aiss_client_scheme_init(c, &s, &e), 0);
	aiss_institution inst = {.type = AISS_INST_UNIVERSITY};
	snprintf(inst.name, sizeof(inst.name), "CUHK");
	assert_int_equal(aiss_client_institution_add(c, &inst, &e), 0);
	aiss_price p = {.cents_per_gpu_hour = 3000};
	snprintf(p.gpu_type, sizeof(p.gpu_type), "h100");
	assert_int_equal(aiss_client_price_set(c, &p, &e), 0);
	aiss_grant g = grant(GRANT, "cuhk-cv");
	assert_int_equal(aiss_client_grant_add(c, &g, &e), 0);
	aiss_grant got;
	assert_int_equal(aiss_client_grant_get(c, GRANT, &got, &e), 0);
	assert_string_equal(got.accounts, "cuhk-cv");
	assert_int_equal(got.state, AISS_GRANT_ACTIVE);

	/* a 95% grant is refused with a sentence */
	g = grant("AISS-2025-0002", "other");
	g.rate_bp = 9500;
	assert_int_equal(aiss_client_grant_add(c, &g, &e), -1);
	assert_int_equal(e.code, AISS_E_INVALID);
	assert_non_null(strstr(e.text, "9500"));

	aiss_job_shape sh = {
	    .gpus = 16, .time_limit = 7200, .start = W0 + 86400};
	snprintf(sh.account, sizeof(sh.account), "cuhk-cv");
	snprintf(sh.user, sizeof(sh.user), "alice");
	aiss_quote q;
	assert_int_equal(aiss_client_quote(c, &sh, &q, &e), 0);
	assert_int_equal(q.verdict, AISS_OK);
	assert_int_equal(q.worst.list_cost, 96000); /* 32 GPU-h x HK$30 */

	aiss_reserve_req rr = {.shape = sh};
	snprintf(rr.key.cluster, sizeof(rr.key.cluster), "aisc");
	rr.key.job_id = 1;
	rr.key.run_start = W0 + 86400;
	aiss_lien lien;
	assert_int_equal(aiss_client_reserve(c, &rr, &lien, &e), 0);
	assert_int_equal(lien.held_subsidy, 67200);
	/* idempotent */
	assert_int_equal(aiss_client_reserve(c, &rr, &lien, &e), 0);
	aiss_balance b;
	assert_int_equal(aiss_client_balance(c, GRANT, &b, &e), 0);
	assert_int_equal(b.held_subsidy, 67200);

	aiss_settle_req st = {
	    .key = rr.key, .gpus = 16, .end = W0 + 86400 + 3600};
	snprintf(st.end_state, sizeof(st.end_state), "COMPLETED");
	aiss_charge_rec ch, ch2;
	assert_int_equal(aiss_client_settle(c, &st, &ch, &e), 0);
	assert_int_equal(ch.charge.list_cost, 48000);
	assert_int_equal(ch.charge.subsidy, 33600);
	assert_int_equal(ch.charge.copay, 14400);
	assert_int_equal(aiss_client_settle(c, &st, &ch2, &e), 0);
	assert_int_equal(ch2.journal_seq, ch.journal_seq);

	/* reserve and release another run */
	rr.key.job_id = 2;
	assert_int_equal(aiss_client_reserve(c, &rr, &lien, &e), 0);
	assert_int_equal(aiss_client_release(c, &rr.key, &e), 0);
	assert_int_equal(aiss_client_release(c, &rr.key, &e), 0);
	assert_int_equal(aiss_client_balance(c, GRANT, &b, &e), 0);
	assert_int_equal(b.held_subsidy, 0);
	assert_int_equal(b.charged_subsidy, 33600);

	/* suspended grants refuse reserves with the grant's name */
	assert_int_equal(aiss_client_grant_set_state(
			     c, GRANT, AISS_GRANT_SUSPENDED, "audit", &e),
			 0);
	rr.key.job_id = 3;
	assert_int_equal(aiss_client_reserve(c, &rr, &lien, &e), -1);
	assert_int_equal(e.code, AISS_E_GRANT_INACTIVE);
	assert_non_null(strstr(e.text, GRANT));
	assert_int_equal(aiss_client_grant_set_state(
			     c, GRANT, AISS_GRANT_ACTIVE, "audit done", &e),
			 0);

	aiss_adjustment adj = {.amount = 1234};
	snprintf(adj.grant_id, sizeof(adj.grant_id), GRANT);
	snprintf(adj.reason, sizeof(adj.reason), "credit for NODE_FAIL");
	aiss_adjustment adj_out;
	assert_int_equal(aiss_client_adjust(c, &adj, &adj_out, &e), 0);
	assert_true(adj_out.journal_seq > 0);
	int n = 0;
	assert_int_equal(
	    aiss_client_adjustment_export(c, 0, 0, count_adj, &n, &e), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(aiss_client_statement(c, GRANT, count_entry, &n, &e),
			 0);
	assert_true(n >= 5);

	aiss_earmark em = {.amount = 100000};
	snprintf(em.name, sizeof(em.name), "reserve");
	assert_int_equal(aiss_client_earmark_set(c, &em, &e), 0);
	n = 0;
	assert_int_equal(aiss_client_earmark_list(c, count_earmark, &n, &e), 0);
	assert_int_equal(n, 1);
	aiss_capacity cap = {.pass = 1, .n_gpus = 8, .at = W0};
	snprintf(cap.node, sizeof(cap.node), "gpu001");
	assert_int_equal(aiss_client_capacity_put(c, &cap, &e), 0);
	n = 0;
	assert_int_equal(aiss_client_capacity_list(c, count_cap, &n, &e), 0);
	assert_int_equal(n, 1);

	aiss_verify_result v;
	assert_int_equal(aiss_client_journal_verify(c, &v, &e), 0);
	assert_int_equal(v.ok, 1);
	aiss_scheme sg;
	assert_int_equal(aiss_client_scheme_get(c, &sg, &e), 0);
	assert_int_equal(sg.commitment, 300000000000LL);
	aiss_client_close(c);
}

/* Listings longer than one page come back whole, each item once. */
static void test_paging(void **state)
{
	(void)state;
	aiss_error e;
	aiss_client *c = connect_retry();
	for (int i = 0; i < 300; i++) {
		char id[32], acct[32];
		snprintf(id, sizeof(id), "AISS-2025-1%03d", i);
		snprintf(acct, sizeof(acct), "page%03d", i);
		aiss_grant g = grant(id, acct);
		g.approved_subsidy = 1000;
		assert_int_equal(aiss_client_grant_add(c, &g, &e), 0);
	}
	int n = 0;
	assert_int_equal(aiss_client_grant_list(c, count_grant, &n, &e), 0);
	assert_int_equal(n, 301);

	/* 300 charges over three distinct end instants: pages of 256 cut
	 * through a run of equal ends */
	for (int i = 0; i < 300; i++) {
		aiss_settle_req st = {.gpus = 1};
		snprintf(st.key.cluster, sizeof(st.key.cluster), "aisc");
		st.key.job_id = 5000 + (uint64_t)i;
		st.key.run_start = W0 + 1000;
		st.end = W0 + 2000 + (i % 3);
		snprintf(st.account, sizeof(st.account), "cuhk-cv");
		snprintf(st.user, sizeof(st.user), "alice");
		snprintf(st.gpu_type, sizeof(st.gpu_type), "h100");
		snprintf(st.end_state, sizeof(st.end_state), "COMPLETED");
		assert_int_equal(aiss_client_settle(c, &st, NULL, &e), 0);
	}
	unsigned char seen[300] = {0};
	assert_int_equal(
	    aiss_client_charge_export(c, W0, 0, seen_charge, seen, &e), 0);
	for (int i = 0; i < 300; i++)
		assert_int_equal(seen[i], 1);
	aiss_client_close(c);
}

/* Pipelined reserves and settles on one connection: replies in order with
 * their ids, a refusal in the middle does not disturb the others, and no
 * blocking call is allowed while replies are pending. */
static void test_pipelined(void **state)
{
	(void)state;
	aiss_error e;
	aiss_client *c = connect_retry();
	aiss_grant g = grant("AISS-2025-0900", "pipe");
	uint64_t sent[12], got;
	aiss_balance b;

	assert_int_equal(aiss_client_grant_add(c, &g, &e), 0);
	for (int i = 0; i < 12; i++) {
		aiss_reserve_req rr = {.shape = {.gpus = 1, .time_limit = 600}};
		snprintf(rr.shape.account, sizeof(rr.shape.account), "%s",
			 i == 5 ? "no-such-account" : "pipe");
		snprintf(rr.shape.user, sizeof(rr.shape.user), "alice");
		snprintf(rr.key.cluster, sizeof(rr.key.cluster), "aisc");
		rr.key.job_id = 9000 + (uint64_t)i;
		rr.key.run_start = W0 + 5000;
		assert_int_equal(
		    aiss_client_send_reserve(c, &rr, &sent[i], &e), 0);
	}
	assert_int_equal(aiss_client_balance(c, "AISS-2025-0900", &b, &e), -1);
	assert_int_equal(e.code, AISS_E_INVALID);
	for (int i = 0; i < 12; i++) {
		int rc = aiss_client_recv(c, &got, &e);

		assert_int_equal(got, sent[i]);
		if (i == 5) {
			assert_int_equal(rc, -1);
			assert_int_equal(e.code, AISS_E_UNKNOWN_ACCOUNT);
			continue;
		}
		assert_int_equal(rc, 0);
	}
	assert_int_equal(aiss_client_recv(c, &got, &e), -1); /* none left */
	assert_int_equal(e.code, AISS_E_INVALID);
	for (int i = 0; i < 12; i++) {
		aiss_settle_req st = {.gpus = 1, .end = W0 + 5000 + 60};
		snprintf(st.key.cluster, sizeof(st.key.cluster), "aisc");
		st.key.job_id = 9000 + (uint64_t)i;
		st.key.run_start = W0 + 5000;
		snprintf(st.end_state, sizeof(st.end_state), "COMPLETED");
		if (i == 5)
			continue;
		assert_int_equal(aiss_client_send_settle(c, &st, &sent[i], &e),
				 0);
	}
	for (int i = 0; i < 12; i++) {
		if (i == 5)
			continue;
		assert_int_equal(aiss_client_recv(c, &got, &e), 0);
		assert_int_equal(got, sent[i]);
	}
	assert_int_equal(aiss_client_balance(c, "AISS-2025-0900", &b, &e), 0);
	assert_int_equal(b.n_runs, 11);
	assert_int_equal(b.n_liens, 0);
	assert_int_equal(b.held_subsidy, 0);
	aiss_client_close(c);
}

static int raw_connect(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* 1 when the server closed @fd (read returns 0 or an error). */
static int closed_by_server(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 10000) != 1)
		return 0;
	char b[64];
	return recv(fd, b, sizeof(b), 0) <= 0;
}

static void test_bad_input_others_served(void **state)
{
	(void)state;
	aiss_error e;
	aiss_client *good = connect_retry();
	aiss_scheme s;

	int fd = raw_connect();
	uint8_t huge[4];
	aiss_frame_put_header(huge, 0xfffffff0u);
	assert_int_equal(write(fd, huge, 4), 4);
	assert_true(closed_by_server(fd));
	close(fd);
	assert_int_equal(aiss_client_scheme_get(good, &s, &e), 0);

	fd = raw_connect();
	unsigned seed = 7;
	uint8_t rnd[4096];
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)(rand_r(&seed) >> 5);
	assert_int_equal(write(fd, rnd, sizeof(rnd)), (ssize_t)sizeof(rnd));
	assert_int_equal(aiss_client_scheme_get(good, &s, &e), 0);
	close(fd);

	fd = raw_connect();
	uint8_t part[4 + 10];
	aiss_frame_put_header(part, 500);
	memset(part + 4, 0x10, 10);
	assert_int_equal(write(fd, part, sizeof(part)), (ssize_t)sizeof(part));
	/* the half-sent frame holds nothing up */
	assert_int_equal(aiss_client_scheme_get(good, &s, &e), 0);
	close(fd);
	assert_int_equal(aiss_client_scheme_get(good, &s, &e), 0);

	/* an absurd amount through the client: a clear refusal */
	aiss_adjustment adj = {.amount = INT64_MAX};
	snprintf(adj.grant_id, sizeof(adj.grant_id), GRANT);
	snprintf(adj.reason, sizeof(adj.reason), "x");
	assert_int_equal(aiss_client_adjust(good, &adj, NULL, &e), -1);
	assert_int_equal(e.code, AISS_E_INVALID);
	aiss_client_close(good);
}

static void test_tcp_needs_munge(void **state)
{
	(void)state;
	/* a raw request without a credential is refused */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)tcp_port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	aiss_request r;
	memset(&r, 0, sizeof(r));
	r.version = AISS_PROTO_VERSION;
	r.id = 1;
	r.op = AISS_OP_SCHEME_GET;
	uint8_t *f;
	size_t n;
	aiss_error e;
	assert_int_equal(aiss_request_encode(&r, &f, &n, &e), 0);
	assert_int_equal(write(fd, f, n), (ssize_t)n);
	free(f);
	uint8_t buf[2048];
	size_t have = 0, plen = 0;
	while (aiss_frame_check(buf, have, &plen) != 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		assert_int_equal(poll(&p, 1, 10000), 1);
		ssize_t k = recv(fd, buf + have, sizeof(buf) - have, 0);
		assert_true(k > 0);
		have += (size_t)k;
	}
	aiss_reply rep;
	assert_int_equal(aiss_reply_decode(buf + 4, plen, &rep, &e), 0);
	assert_int_equal(rep.status, AISS_E_PERMISSION);
	assert_non_null(strstr(rep.message, "MUNGE"));
	close(fd);

	/* a forged credential is refused too */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(r.credential, sizeof(r.credential), "MUNGE:forged:");
	r.cred_len = strlen(r.credential);
	assert_int_equal(aiss_request_encode(&r, &f, &n, &e), 0);
	assert_int_equal(write(fd, f, n), (ssize_t)n);
	free(f);
	have = 0;
	while (aiss_frame_check(buf, have, &plen) != 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		assert_int_equal(poll(&p, 1, 10000), 1);
		ssize_t k = recv(fd, buf + have, sizeof(buf) - have, 0);
		assert_true(k > 0);
		have += (size_t)k;
	}
	assert_int_equal(aiss_reply_decode(buf + 4, plen, &rep, &e), 0);
	assert_int_equal(rep.status, AISS_E_PERMISSION);
	close(fd);

	/* the client library over TCP: works when munged runs, else says
	 * why it cannot get a credential */
	aiss_client *c =
	    aiss_client_connect_tcp("127.0.0.1", tcp_port, 5000, &e);
	assert_non_null(c);
	aiss_scheme s;
	int rc = aiss_client_scheme_get(c, &s, &e);
	if (!have_munge) {
		assert_int_equal(rc, -1);
		assert_non_null(strstr(e.text, "MUNGE"));
		aiss_client_close(c);
		return;
	}
	/* with munged: the credential's uid (root here) gets its roles */
	assert_int_equal(rc, 0);
	assert_int_equal(s.commitment, 300000000000LL);
	aiss_reserve_req rr = {.shape = {.gpus = 1, .time_limit = 60}};
	snprintf(rr.shape.account, sizeof(rr.shape.account), "cuhk-cv");
	snprintf(rr.shape.user, sizeof(rr.shape.user), "alice");
	snprintf(rr.key.cluster, sizeof(rr.key.cluster), "aisc");
	rr.key.job_id = 77;
	rr.key.run_start = W0 + 86400;
	aiss_lien lien;
	assert_int_equal(aiss_client_reserve(c, &rr, &lien, &e), 0);
	assert_string_equal(lien.grant_id, GRANT);
	assert_int_equal(aiss_client_release(c, &rr.key, &e), 0);
	aiss_client_close(c);

	/* nobody's credential maps to the user role: reserve is refused */
	pid_t kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(10);
		aiss_client *u =
		    aiss_client_connect_tcp("127.0.0.1", tcp_port, 5000, &e);
		if (!u)
			_exit(11);
		rr.key.job_id = 78;
		int r2 = aiss_client_reserve(u, &rr, &lien, &e);
		aiss_client_close(u);
		_exit(r2 == -1 && e.code == AISS_E_PERMISSION
			  ? 0
			  : 20 + (int)e.code);
	}
	int st;
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_client_faults(void **state)
{
	(void)state;
	aiss_error e;
	char path[80];
	snprintf(path, sizeof(path), "%s/nobody.sock", dir);
	assert_null(aiss_client_connect(path, 200, &e));
	assert_int_equal(e.code, AISS_E_UNAVAILABLE);

	/* a peer that accepts but never answers: the call times out */
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 4), 0);
	aiss_client *c = aiss_client_connect(path, 200, &e);
	assert_non_null(c);
	aiss_scheme s;
	assert_int_equal(aiss_client_scheme_get(c, &s, &e), -1);
	assert_int_equal(e.code, AISS_E_UNAVAILABLE);
	aiss_client_close(c);
	close(l);
}

/* aissd restarts under a connected client: the handle reconnects on its
 * next call, and everything acknowledged before is still there. */
static void test_restart_reconnect(void **state)
{
	(void)state;
	aiss_error e;
	aiss_client *c = connect_retry();
	aiss_balance before, after;
	assert_int_equal(aiss_client_balance(c, GRANT, &before, &e), 0);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	spawn_aissd();
	aiss_client_close(connect_retry()); /* wait until it is back */
	assert_int_equal(aiss_client_balance(c, GRANT, &after, &e), 0);
	assert_int_equal(after.charged_subsidy, before.charged_subsidy);
	assert_int_equal(after.adjustments, before.adjustments);
	assert_int_equal(after.n_runs, before.n_runs);
	aiss_client_close(c);
}

/* Runs aissd on @ldb and @lsock (--foreground when @fg), its log in @log,
 * until it exits (or detaches): its exit status. */
static int aissd_exit(const char *bin, const char *ldb, const char *lsock,
		      const char *log, int fg)
{
	int st;
	pid_t k = fork();

	assert_true(k >= 0);
	if (k == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		execl(bin, "aissd", "--db", ldb, "--socket", lsock,
		      fg ? "--foreground" : (char *)NULL, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(k, &st, 0), k);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Without --foreground, aissd detaches and the starting command returns
 * only once the socket accepts; a second aissd on the same socket, or on
 * the same ledger, is refused with exit status 1. */
static void test_daemon_mode(void **state)
{
	(void)state;
	const char *bin = getenv("AISSD_BIN");
	if (!bin)
		bin = "quota/aissd/aissd";
	char dsock[96], ddb[96], dlog[96];
	snprintf(dsock, sizeof(dsock), "%s/d.sock", dir);
	snprintf(ddb, sizeof(ddb), "%s/d.db", dir);
	snprintf(dlog, sizeof(dlog), "%s/d.log", dir);
	assert_int_equal(aissd_exit(bin, ddb, dsock, dlog, 0), 0);
	aiss_error e;
	aiss_client *c = aiss_client_connect(dsock, 5000, &e); /* no retry */
	assert_non_null(c);
	aiss_scheme sc;
	assert_int_equal(aiss_client_scheme_get(c, &sc, &e), -1);
	assert_int_equal(e.code, AISS_E_NOT_FOUND); /* fresh ledger */
	aiss_client_close(c);

	char olog[96];
	snprintf(olog, sizeof(olog), "%s/other.log", dir);
	assert_int_equal(aissd_exit(bin, ddb, dsock, olog, 1), 1);

	/* nor may another aissd use its ledger through another socket */
	char osock[96];
	snprintf(osock, sizeof(osock), "%s/other.sock", dir);
	assert_int_equal(aissd_exit(bin, ddb, osock, olog, 1), 1);
	struct stat sb;
	assert_int_equal(stat(osock, &sb), -1);
	char line[512];
	FILE *f = fopen(olog, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_non_null(strstr(line, "another aissd is using the ledger"));
	assert_non_null(strstr(line, ddb));

	/* stop the daemon by the pid in its first log line */
	f = fopen(dlog, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	char *p = strstr(line, "aissd[");
	assert_non_null(p);
	pid_t d = (pid_t)atoi(p + 6);
	assert_true(d > 1);
	assert_int_equal(kill(d, SIGTERM), 0);
	for (int i = 0; i < 500 && stat(dsock, &sb) == 0; i++)
		poll(NULL, 0, 10);
	assert_int_equal(stat(dsock, &sb), -1); /* gone on SIGTERM */
}

static void test_sigterm(void **state)
{
	(void)state;
	assert_int_equal(kill(pid, SIGTERM), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	pid = 0;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	struct stat sb;
	assert_int_equal(stat(sock, &sb), -1); /* socket removed */
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lifecycle),
	    cmocka_unit_test(test_paging),
	    cmocka_unit_test(test_pipelined),
	    cmocka_unit_test(test_bad_input_others_served),
	    cmocka_unit_test(test_tcp_needs_munge),
	    cmocka_unit_test(test_client_faults),
	    cmocka_unit_test(test_restart_reconnect),
	    cmocka_unit_test(test_daemon_mode),
	    cmocka_unit_test(test_sigterm),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
