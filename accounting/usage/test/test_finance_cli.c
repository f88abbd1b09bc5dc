/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_finance_cli.c: aissctl report / usage import / reconcile end to end
 * over an in-memory fake of the client library (a tiny ledger). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aiss_report.h"
#include "aiss_usage.h"
#include "finance.h"

/* ---- the fake service ---- */

#define PRICE 10000 /* HK$100.00 per GPU-hour */
#define MAXC 64

struct aiss_client {
	int unused;
};

static aiss_charge_rec ledger[MAXC];
static size_t n_ledger;
static int n_settle_calls;
static aiss_time_t settle_order[MAXC];

int aiss_client_scheme_get(aiss_client *c, aiss_scheme *out, aiss_error *err)
{
	memset(out, 0, sizeof(*out));
	out->commitment = 300000000000LL;
	aiss_time_parse("2024-04-01", &out->start);
	aiss_time_parse("2027-04-01", &out->end);
	return 0;
}

int aiss_client_grant_list(aiss_client *c,
			   int (*cb)(const aiss_grant *, void *), void *arg,
			   aiss_error *err)
{
	aiss_grant g;
	memset(&g, 0, sizeof(g));
	snprintf(g.id, sizeof(g.id), "G-A");
	snprintf(g.institution, sizeof(g.institution), "HKU 香港大學");
	snprintf(g.accounts, sizeof(g.accounts), "proj-a");
	g.inst_type = AISS_INST_UNIVERSITY;
	g.rate_bp = 7000;
	g.approved_subsidy = 100000000;
	aiss_time_parse("2025-04-01", &g.window_start);
	aiss_time_parse("2027-04-01", &g.window_end);
	g.state = AISS_GRANT_ACTIVE;
	cb(&g, arg);
	return 0;
}

int aiss_client_charge_export(aiss_client *c, aiss_time_t from, aiss_time_t to,
			      int (*cb)(const aiss_charge_rec *, void *),
			      void *arg, aiss_error *err)
{
	for (size_t i = 0; i < n_ledger; i++)
		if (ledger[i].end >= from && (!to || ledger[i].end < to))
			if (cb(&ledger[i], arg))
				break;
	return 0;
}

int aiss_client_adjustment_export(aiss_client *c, aiss_time_t from,
				  aiss_time_t to,
				  int (*cb)(const aiss_adjustment *, void *),
				  void *arg, aiss_error *err)
{
	return 0;
}

int aiss_client_settle(aiss_client *c, const aiss_settle_req *req,
		       aiss_charge_rec *out, aiss_error *err)
{
	n_settle_calls++;
	for (size_t i = 0; i < n_ledger; i++) {
		if (!strcmp(ledger[i].key.cluster, req->key.cluster) &&
		    ledger[i].key.job_id == req->key.job_id &&
		    ledger[i].key.run_start == req->key.run_start) {
			*out = ledger[i]; /* idempotent */
			return 0;
		}
	}
	if (strcmp(req->account, "proj-a"))
		return aiss_error_set(err, AISS_E_UNKNOWN_ACCOUNT,
				      "no grant pays for account %s",
				      req->account);
	assert_true(n_ledger < MAXC);
	aiss_charge_rec *r = &ledger[n_ledger];
	memset(r, 0, sizeof(*r));
	r->key = req->key;
	r->start = req->key.run_start;
	r->end = req->end;
	r->gpus = req->gpus;
	r->price = PRICE;
	r->rate_bp = 7000;
	r->inst_type = AISS_INST_UNIVERSITY;
	snprintf(r->grant_id, sizeof(r->grant_id), "G-A");
	snprintf(r->account, sizeof(r->account), "%s", req->account);
	snprintf(r->end_state, sizeof(r->end_state), "%s", req->end_state);
	aiss_run_usage u = {req->gpus, r->start, r->end,
			    !strcmp(req->end_state, "NODE_FAIL")};
	aiss_grant_terms g = {7000, 0, INT64_MAX / 2, 100000000};
	if (aiss_policy_charge(&u, PRICE, &g, &r->charge, err) < 0)
		return -1;
	settle_order[n_ledger] = r->end;
	n_ledger++;
	*out = *r;
	return 0;
}

/* Pipelining: settles are queued as sent and run when their reply is
 * read, in order, as aissd does for one connection. */
#define MAXQ 300
static aiss_settle_req queued[MAXQ];
static uint64_t queued_id[MAXQ];
static size_t q_head, q_len, max_in_flight;
static uint64_t next_id;
static int replies_before_fault = -1; /* >= 0: then the service vanishes */

int aiss_client_send_settle(aiss_client *c, const aiss_settle_req *req,
			    uint64_t *id, aiss_error *err)
{
	if (replies_before_fault == 0)
		return aiss_error_set(err, AISS_E_UNAVAILABLE,
				      "connection closed");
	assert_true(q_len < MAXQ);
	queued[(q_head + q_len) % MAXQ] = *req;
	queued_id[(q_head + q_len) % MAXQ] = ++next_id;
	q_len++;
	if (q_len > max_in_flight)
		max_in_flight = q_len;
	if (id)
		*id = next_id;
	return 0;
}

int aiss_client_recv_settle(aiss_client *c, uint64_t *id, aiss_charge_rec *out,
			    aiss_error *err)
{
	assert_true(q_len > 0);
	if (replies_before_fault == 0) {
		q_len = 0;
		return aiss_error_set(err, AISS_E_UNAVAILABLE,
				      "connection closed");
	}
	if (replies_before_fault > 0)
		replies_before_fault--;
	aiss_settle_req req = queued[q_head];
	*id = queued_id[q_head];
	q_head = (q_head + 1) % MAXQ;
	q_len--;
	return aiss_client_settle(c, &req, out, err);
}

/* ---- helpers ---- */

static char tmpdir[] = "/tmp/aiss-fin-XXXXXX";

/* @name inside the test's temporary directory (caller frees). */
static char *path_in_tmp(const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
	return p;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return b;
}

/* Runs a finance command with stdout captured into *out (caller frees). */
static int run(char **out, int json, const char *a0, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;
	argv[argc++] = (char *)a0;
	va_start(ap, a0);
	const char *a;
	while ((a = va_arg(ap, const char *)) && argc < 15)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;

	char *cap = path_in_tmp("stdout");
	fflush(stdout);
	int saved = dup(1);
	int fd = open(cap, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, 1);
	close(fd);
	struct aiss_client fake = {0};
	int rc = aissctl_finance_run(&fake, json, argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	*out = read_file(cap);
	free(cap);
	return rc;
}

static const char *const SACCT =
    "Cluster|JobIDRaw|Account|User|Start|End|State|AllocTRES\n"
    /* 2: 2 h over Hong Kong midnight into Q2 */
    "aisc|11|proj-a|alice|2025-06-30T23:00:00|2025-07-01T01:00:00|"
    "COMPLETED|gres/gpu:h100=8,gres/gpu=8\n"
    /* 3: requeued job: two runs */
    "aisc|12|proj-a|alice|2025-07-02T10:00:00|2025-07-02T10:30:00|"
    "REQUEUED|gres/gpu=1\n"
    "aisc|12|proj-a|alice|2025-07-02T11:00:00|2025-07-02T12:00:00|"
    "COMPLETED|gres/gpu=1\n"
    /* 5: NODE_FAIL: charged zero */
    "aisc|13|proj-a|bob|2025-07-03T00:00:00|2025-07-03T01:00:00|"
    "NODE_FAIL|gres/gpu=4\n"
    /* 6: ends first: must be charged first */
    "aisc|14|proj-a|bob|2025-06-01T00:00:00|2025-06-01T00:30:00|"
    "COMPLETED|gres/gpu=2\n"
    /* 7: an account no grant pays for: refused, the rest go in */
    "aisc|15|nobody|eve|2025-06-01T00:00:00|2025-06-01T00:30:00|"
    "COMPLETED|gres/gpu=2\n";

static const char *const SACCT_BAD_ROW =
    "aisc|16|proj-a|bob|2025-06-01T00:00:00|soon|COMPLETED|gres/gpu=2\n";

static int setup(void **state)
{
	strcpy(tmpdir, "/tmp/aiss-fin-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	n_ledger = 0;
	n_settle_calls = 0;
	q_head = q_len = max_in_flight = 0;
	replies_before_fault = -1;
	return 0;
}

static int teardown(void **state)
{
	const char *names[] = {"sacct.txt", "bad.txt", "stdout", "exc.csv",
			       "report.html"};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		char *p = path_in_tmp(names[i]);
		unlink(p);
		free(p);
	}
	rmdir(tmpdir);
	return 0;
}

static void test_import_reconcile_report(void **state)
{
	char *out;
	char *good = path_in_tmp("sacct.txt");
	write_file(good, SACCT);

	/* import: five runs charged in end order, one refused -> exit 1 */
	assert_int_equal(run(&out, 1, "usage", "import", good, NULL), 1);
	assert_int_equal(n_ledger, 5);
	for (size_t i = 1; i < n_ledger; i++)
		assert_true(settle_order[i - 1] <= settle_order[i]);
	assert_int_equal(ledger[0].key.job_id, 14);
	assert_non_null(strstr(out, "\"imported\":5,"));
	assert_non_null(strstr(out, "\"refused\":1,"));
	assert_non_null(strstr(out, "\"already_charged\":0,"));
	free(out);

	/* again: nothing new is charged, nothing double counted */
	int calls = n_settle_calls;
	assert_int_equal(run(&out, 1, "usage", "import", good, NULL), 1);
	assert_non_null(strstr(out, "\"imported\":0"));
	assert_non_null(strstr(out, "\"already_charged\":5"));
	assert_int_equal(n_ledger, 5);
	assert_int_equal(n_settle_calls, calls + 1); /* only the refused one */
	free(out);

	/* reconcile: the refused run has no charge -> one exception, exit 1,
	 * exceptions CSV written */
	char *csv = path_in_tmp("exc.csv");
	assert_int_equal(run(&out, 0, "reconcile", good, "--csv", csv, NULL),
			 1);
	assert_non_null(strstr(out, "matched"));
	free(out);
	char *c = read_file(csv);
	assert_non_null(strstr(c, "\r\nno-charge,aisc,15,"));
	free(c);

	/* a clean file: everything matched, exit 0 */
	char *clean = strdup(SACCT);
	*strstr(clean, "aisc|15|") = 0;
	write_file(good, clean);
	free(clean);
	assert_int_equal(run(&out, 1, "reconcile", good, NULL), 0);
	assert_non_null(strstr(out, "\"matched\":5"));
	assert_non_null(strstr(out, "\"exceptions\":0"));
	free(out);

	/* report: 2025-26, expenditure as the ledger charged it.
	 * job 11: 8 GPUs x 2 h x HK$100 = 1600.00 list, 1120.00 subsidy,
	 * split 1 h / 1 h over Q1/Q2; job 12: 0.5 h + 1 h at 1 GPU = 150.00
	 * list, 105.00 subsidy in Q2; job 14: 2 x 0.5 h = 100.00, 70.00 in
	 * Q1; job 13 NODE_FAIL zero. */
	assert_int_equal(run(&out, 1, "report", "fy", "2025-26", NULL), 0);
	assert_non_null(strstr(out, "\"fy_expenditure_cents\":129500"));
	assert_non_null(strstr(out, "\"cumulative_before_cents\":0"));
	assert_non_null(strstr(out, "\"balance_cents\":299999870500"));
	assert_non_null(strstr(out, "{\"quarter\":\"Q1\",\"expenditure_cents\":"
				    "63000"));
	assert_non_null(strstr(out, "{\"quarter\":\"Q2\",\"expenditure_cents\":"
				    "66500"));
	free(out);

	assert_int_equal(run(&out, 0, "report", "fy", "2025-26", "--quarter",
			     "Q2", "--by", "grant", NULL),
			 0);
	assert_non_null(strstr(out, "G-A"));
	assert_non_null(strstr(out, "665.00"));
	free(out);

	char *html = path_in_tmp("report.html");
	assert_int_equal(
	    run(&out, 0, "report", "fy", "2025-26", "--html", html, NULL), 0);
	free(out);
	c = read_file(html);
	assert_non_null(strstr(c, "data-cents=\"129500\">1,295.00"));
	free(c);

	assert_int_equal(run(&out, 0, "report", "fy", "2025-26", "--csv", NULL),
			 0);
	assert_memory_equal(out, "\xEF\xBB\xBF", 3);
	assert_non_null(strstr(out, "summary,fy_expenditure,"));
	free(out);
	free(good);
	free(csv);
	free(html);
}

/* Pipelined import: any window charges the same runs in the same (end)
 * order, keeps at most the window in flight, and attributes the refusal
 * to its own run. */
static void test_import_windows(void **state)
{
	static const char *const windows[] = {"1", "2", "3", "64"};
	char *out;
	char *good = path_in_tmp("sacct.txt");
	aiss_charge_rec first[MAXC];
	write_file(good, SACCT);

	for (size_t w = 0; w < sizeof(windows) / sizeof(*windows); w++) {
		n_ledger = 0;
		max_in_flight = 0;
		assert_int_equal(run(&out, 1, "usage", "import", good,
				     "--window", windows[w], NULL),
				 1);
		assert_non_null(strstr(out, "\"imported\":5,"));
		assert_non_null(strstr(out, "\"refused\":1,"));
		free(out);
		assert_int_equal(n_ledger, 5);
		assert_int_equal(q_len, 0);
		/* 6 runs to do: the window, or all six */
		long wn = atol(windows[w]);
		assert_int_equal(max_in_flight, wn < 6 ? (size_t)wn : 6);
		if (w == 0)
			memcpy(first, ledger, sizeof(first));
		for (size_t i = 0; i < n_ledger; i++) {
			assert_int_equal(ledger[i].key.job_id,
					 first[i].key.job_id);
			assert_int_equal(ledger[i].key.run_start,
					 first[i].key.run_start);
			assert_int_equal(ledger[i].charge.subsidy,
					 first[i].charge.subsidy);
			if (i)
				assert_true(settle_order[i - 1] <=
					    settle_order[i]);
		}
	}
	/* usage errors */
	assert_int_equal(
	    run(&out, 1, "usage", "import", good, "--window", "0", NULL), 2);
	free(out);
	assert_int_equal(
	    run(&out, 1, "usage", "import", good, "--window", "257", NULL), 2);
	free(out);
	assert_int_equal(
	    run(&out, 1, "usage", "import", good, "--window", "8x", NULL), 2);
	free(out);
	free(good);
}

/* The service vanishes mid-import with settles in flight: exit 3; the
 * same import again charges the rest, nothing twice. */
static void test_import_transport_fault(void **state)
{
	char *out;
	char *good = path_in_tmp("sacct.txt");
	char *clean = strdup(SACCT);
	*strstr(clean, "aisc|15|") = 0; /* no refusal: exit 0 when done */
	write_file(good, clean);
	free(clean);

	replies_before_fault = 2;
	assert_int_equal(
	    run(&out, 1, "usage", "import", good, "--window", "4", NULL), 3);
	assert_non_null(strstr(out, "\"imported\":2,"));
	free(out);
	assert_int_equal(n_ledger, 2);
	replies_before_fault = -1;
	assert_int_equal(run(&out, 1, "usage", "import", good, NULL), 0);
	assert_non_null(strstr(out, "\"imported\":3,"));
	assert_non_null(strstr(out, "\"already_charged\":2,"));
	free(out);
	assert_int_equal(n_ledger, 5);
	free(good);
}

static void test_bad_rows_and_usage(void **state)
{
	char *out;
	char *bad = path_in_tmp("bad.txt");
	char doc[1024];
	snprintf(doc, sizeof(doc), "%s%s", SACCT, SACCT_BAD_ROW);
	write_file(bad, doc);
	/* good rows still go in; the bad one is reported (stderr) -> exit 1 */
	assert_int_equal(run(&out, 1, "usage", "import", bad, NULL), 1);
	assert_non_null(strstr(out, "\"bad\":1"));
	assert_non_null(strstr(out, "\"imported\":5"));
	free(out);

	assert_int_equal(run(&out, 0, "report", NULL), 2);
	free(out);
	assert_int_equal(
	    run(&out, 0, "report", "fy", "2025", "--quarter", "Q5", NULL), 2);
	free(out);
	assert_int_equal(
	    run(&out, 0, "report", "fy", "2025", "--json", "--csv", NULL), 2);
	free(out);
	assert_int_equal(
	    run(&out, 0, "usage", "import", bad, "--zone", "Mars", NULL), 2);
	free(out);
	assert_int_equal(run(&out, 0, "reconcile", "/nonexistent/x", NULL), 2);
	free(out);
	assert_int_equal(run(&out, 0, "frobnicate", NULL), 2);
	free(out);
	free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_import_reconcile_report, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_import_windows, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_import_transport_fault, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_rows_and_usage, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
