/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_usage.c: the sacct parser's tricky cases and every reconciliation
 * category. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aiss_usage.h"

static aiss_time_t utc(const char *s)
{
	aiss_time_t t = 0;
	assert_int_equal(aiss_time_parse_zone(s, 0, &t), 0);
	return t;
}

/* Columns in an unusual order, with extras the parser must ignore. */
static const char *const SACCT =
    "JobID|JobIDRaw|Cluster|Partition|Account|User|State|Start|End|"
    "AllocTRES|Elapsed\n"
    /* 2: a plain 8-GPU run, typed and untyped entries both present */
    "100|100|aisc|gpu|proj-a|alice|COMPLETED|2025-07-01T00:30:00|"
    "2025-07-01T01:30:00|billing=64,cpu=64,gres/gpu:h100=8,gres/gpu=8,"
    "mem=512G,node=1|01:00:00\n"
    /* 3, 4: its steps */
    "100.batch|100.batch|aisc|gpu|proj-a|alice|COMPLETED|"
    "2025-07-01T00:30:00|2025-07-01T01:30:00|cpu=64,gres/gpu=8|01:00:00\n"
    "100.0|100.0|aisc|gpu|proj-a|alice|COMPLETED|2025-07-01T00:30:00|"
    "2025-07-01T01:30:00|cpu=64,gres/gpu=8|01:00:00\n"
    /* 5, 6: requeued: the same job id, two runs (sacct --duplicates) */
    "200|200|aisc|gpu|proj-a|bob|REQUEUED|2025-07-02T10:00:00|"
    "2025-07-02T10:10:00|gres/gpu=2,node=1|00:10:00\n"
    "200|200|aisc|gpu|proj-a|bob|COMPLETED|2025-07-02T10:20:00|"
    "2025-07-02T11:20:00|gres/gpu=2,node=1|01:00:00\n"
    /* 7: multi-node, untyped only, gpumem must not count */
    "300|300|aisc|gpu|proj-b|carol|NODE_FAIL|2025-07-03T00:00:00|"
    "2025-07-03T02:00:00|cpu=256,gres/gpu=32,gres/gpumem=2560G,node=4|"
    "02:00:00\n"
    /* 8: pending, never started */
    "400|400|aisc|gpu|proj-b|carol|PENDING|Unknown|Unknown|"
    "billing=8|00:00:00\n"
    /* 9: still running */
    "401|401|aisc|gpu|proj-b|carol|RUNNING|2025-07-04T00:00:00|Unknown|"
    "gres/gpu=1|00:10:00\n"
    /* 10: cancelled before start */
    "402|402|aisc|gpu|proj-b|carol|CANCELLED by 1001|None|"
    "2025-07-04T00:00:00|billing=1|00:00:00\n"
    /* 11: job id reused after wrap-around: 100 again, a year later */
    "100|100|aisc|gpu|proj-c|dave|CANCELLED by 1001|2026-07-01T00:30:00|"
    "2026-07-01T00:40:00|gres/gpu:h800=4,node=1|00:10:00\n"
    /* 12: bad: a field missing */
    "500|500|aisc|gpu|proj-a|alice|COMPLETED|2025-07-01T00:30:00|"
    "gres/gpu=1|00:01:00\n"
    /* 13: bad: not a time */
    "501|501|aisc|gpu|proj-a|alice|COMPLETED|yesterday|"
    "2025-07-01T00:30:00|gres/gpu=1|00:01:00\n"
    /* 14: bad: GPU count */
    "502|502|aisc|gpu|proj-a|alice|COMPLETED|2025-07-01T00:30:00|"
    "2025-07-01T00:40:00|gres/gpu=lots|00:10:00\n"
    "\n"
    /* 16: an exact duplicate of line 6 */
    "200|200|aisc|gpu|proj-a|bob|COMPLETED|2025-07-02T10:20:00|"
    "2025-07-02T11:20:00|gres/gpu=2,node=1|01:00:00\r\n"
    /* 17: CPU-only job */
    "600|600|aisc|cpu|proj-a|alice|COMPLETED|2025-07-01T00:30:00|"
    "2025-07-01T00:40:00|cpu=4,mem=8G,node=1|00:10:00\n"
    /* 18: bad: ends before it starts */
    "601|601|aisc|gpu|proj-a|alice|COMPLETED|2025-07-01T00:30:00|"
    "2025-07-01T00:20:00|gres/gpu=1|00:10:00\n"
    /* 19: bad: longer than ten years */
    "602|602|aisc|gpu|proj-a|alice|COMPLETED|2001-07-01T00:30:00|"
    "2025-07-01T00:20:00|gres/gpu=1|00:10:00\n";

static aiss_sacct *parse(const char *doc, int zone, const char *cluster)
{
	aiss_sacct_opts o = {.zone_offset = zone, .cluster = cluster};
	aiss_sacct *s = aiss_sacct_create(&o);
	aiss_error err;
	assert_non_null(s);
	if (aiss_sacct_parse(s, doc, strlen(doc), &err) < 0)
		fail_msg("parse: %s", err.text);
	return s;
}

static const aiss_usage_run *find(aiss_sacct *s, uint64_t job,
				  aiss_time_t start)
{
	size_t n;
	aiss_usage_run *r = aiss_sacct_runs(s, &n);
	for (size_t i = 0; i < n; i++)
		if (r[i].job_id == job && r[i].start == start)
			return &r[i];
	return NULL;
}

static void test_sacct_rows(void **state)
{
	aiss_sacct *s = parse(SACCT, AISS_HKT_OFFSET, NULL);
	const aiss_sacct_stats *st = aiss_sacct_stats_get(s);
	size_t n;
	aiss_sacct_runs(s, &n);
	assert_int_equal(n, 5);
	assert_int_equal(st->runs, 5);
	assert_int_equal(st->steps, 2);
	assert_int_equal(st->pending, 2); /* PENDING and cancelled-at-None */
	assert_int_equal(st->running, 1);
	assert_int_equal(st->no_gpu, 1);
	assert_int_equal(st->duplicates, 1);
	assert_int_equal(st->bad, 5);
	assert_int_equal(st->rows, 17);

	/* Hong Kong time: 00:30 HKT on 1 July is 16:30 UTC on 30 June */
	const aiss_usage_run *r = find(s, 100, utc("2025-06-30T16:30:00"));
	assert_non_null(r);
	assert_int_equal(r->end, utc("2025-06-30T17:30:00"));
	assert_int_equal(r->gpus, 8); /* not 16: typed and untyped both */
	assert_string_equal(r->gpu_type, "h100");
	assert_string_equal(r->cluster, "aisc");
	assert_string_equal(r->account, "proj-a");
	assert_string_equal(r->user, "alice");
	assert_int_equal(r->line, 2);

	/* requeue: two runs of job 200 */
	assert_non_null(find(s, 200, utc("2025-07-02T02:00:00")));
	r = find(s, 200, utc("2025-07-02T02:20:00"));
	assert_non_null(r);
	assert_int_equal(r->line, 6);
	assert_string_equal(r->gpu_type, "");

	/* multi-node totals, gres/gpumem ignored, state kept */
	r = find(s, 300, utc("2025-07-02T16:00:00"));
	assert_non_null(r);
	assert_int_equal(r->gpus, 32);
	assert_string_equal(r->state, "NODE_FAIL");

	/* the reused job id is a different run; "CANCELLED by N" -> state */
	r = find(s, 100, utc("2026-06-30T16:30:00"));
	assert_non_null(r);
	assert_int_equal(r->gpus, 4);
	assert_string_equal(r->gpu_type, "h800");
	assert_string_equal(r->state, "CANCELLED");

	/* bad rows named by line, in order */
	const aiss_usage_bad *b = aiss_sacct_bad(s, &n);
	assert_int_equal(n, 5);
	assert_int_equal(b[0].line, 12);
	assert_non_null(strstr(b[0].reason, "fields"));
	assert_int_equal(b[1].line, 13);
	assert_non_null(strstr(b[1].reason, "yesterday"));
	assert_int_equal(b[2].line, 14);
	assert_non_null(strstr(b[2].reason, "GPU"));
	assert_int_equal(b[3].line, 18);
	assert_non_null(strstr(b[3].reason, "before"));
	assert_int_equal(b[4].line, 19);
	assert_non_null(strstr(b[4].reason, "ten years"));
	aiss_sacct_destroy(s);
}

static void test_sacct_zone_and_cluster(void **state)
{
	const char *doc = "JobIDRaw|Account|User|Start|End|State|AllocTRES\n"
			  "7|p|u|2025-04-01T00:00:00|2025-04-01T01:00:00|"
			  "COMPLETED|gres/gpu=1\n";
	/* no Cluster column and no --cluster: a bad row, not a guess */
	aiss_sacct *s = parse(doc, AISS_HKT_OFFSET, NULL);
	size_t n;
	aiss_sacct_runs(s, &n);
	assert_int_equal(n, 0);
	assert_int_equal(aiss_sacct_stats_get(s)->bad, 1);
	aiss_sacct_destroy(s);

	int off = 0;
	assert_int_equal(aiss_zone_parse("+00:00", &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(aiss_zone_parse("Asia/Hong_Kong", &off), 0);
	assert_int_equal(off, 8 * 3600);
	assert_int_equal(aiss_zone_parse("-05:30", &off), 0);
	assert_int_equal(off, -(5 * 3600 + 1800));
	assert_int_equal(aiss_zone_parse("+8", &off), 0);
	assert_int_equal(off, 8 * 3600);
	assert_int_equal(aiss_zone_parse("Mars", &off), -1);
	assert_int_equal(aiss_zone_parse("+25:00", &off), -1);

	s = parse(doc, 0, "aisc2");
	aiss_usage_run *r = aiss_sacct_runs(s, &n);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].cluster, "aisc2");
	assert_int_equal(r[0].start, utc("2025-04-01T00:00:00"));
	aiss_sacct_destroy(s);

	/* a header without AllocTRES cannot be read at all */
	aiss_error err;
	s = aiss_sacct_create(NULL);
	const char *nohdr = "JobIDRaw|Account|User|Start|End|State\n";
	assert_int_equal(aiss_sacct_parse(s, nohdr, strlen(nohdr), &err), -1);
	assert_int_equal(err.code, AISS_E_INVALID);
	assert_non_null(strstr(err.text, "AllocTRES"));
	aiss_sacct_destroy(s);
}

static void test_tres(void **state)
{
	int64_t g;
	char t[16];
	const char *a = "cpu=16,gres/gpu:a100=2,gres/gpu:h100=8,gres/gpu=10";
	assert_int_equal(aiss_tres_gpus(a, strlen(a), &g, t, sizeof(t)), 0);
	assert_int_equal(g, 10);
	assert_string_equal(t, "a100");
	a = "gres/gpu=4";
	assert_int_equal(aiss_tres_gpus(a, strlen(a), &g, t, sizeof(t)), 0);
	assert_int_equal(g, 4);
	assert_string_equal(t, "");
	a = "cpu=4,gres/gpumem=40G,gres/gpuutil=90";
	assert_int_equal(aiss_tres_gpus(a, strlen(a), &g, t, sizeof(t)), 0);
	assert_int_equal(g, 0);
	a = "gres/gpu:h100=";
	assert_int_equal(aiss_tres_gpus(a, strlen(a), &g, t, sizeof(t)), -1);
}

static void test_import_order(void **state)
{
	aiss_sacct *s = parse(SACCT, AISS_HKT_OFFSET, NULL);
	size_t n;
	aiss_usage_run *r = aiss_sacct_runs(s, &n);
	aiss_usage_sort_for_import(r, n);
	for (size_t i = 1; i < n; i++)
		assert_true(r[i - 1].end <= r[i].end);
	assert_int_equal(r[0].job_id, 100);
	assert_int_equal(r[n - 1].job_id, 100);
	assert_int_equal(r[n - 1].gpus, 4);
	aiss_sacct_destroy(s);
}

/* A charge as the ledger would export it for @u at @price (no window, 70%). */
static aiss_charge_rec charge_for(const aiss_usage_run *u, int64_t price)
{
	aiss_charge_rec c;
	aiss_error err;
	memset(&c, 0, sizeof(c));
	snprintf(c.key.cluster, sizeof(c.key.cluster), "%s", u->cluster);
	c.key.job_id = u->job_id;
	c.key.run_start = c.start = u->start;
	c.end = u->end;
	c.gpus = u->gpus;
	c.price = price;
	snprintf(c.end_state, sizeof(c.end_state), "%s", u->state);
	snprintf(c.grant_id, sizeof(c.grant_id), "G1");
	aiss_run_usage ru = {u->gpus, u->start, u->end,
			     !strcmp(u->state, "NODE_FAIL")};
	aiss_grant_terms g = {7000, 0, INT64_MAX / 2, INT64_MAX / 4};
	assert_int_equal(aiss_policy_charge(&ru, price, &g, &c.charge, &err),
			 0);
	return c;
}

static void test_reconcile_categories(void **state)
{
	aiss_sacct *s = parse(SACCT, AISS_HKT_OFFSET, NULL);
	size_t n;
	aiss_usage_run *r = aiss_sacct_runs(s, &n);
	assert_int_equal(n, 5);
	/* runs in input order: 100@2025 (8 GPUs), 200a, 200b, 300 (NODE_FAIL),
	 * 100@2026 */
	aiss_charge_rec ch[6];
	ch[0] = charge_for(&r[0], 10000); /* matched */
	ch[1] = charge_for(&r[1], 10000); /* requeue run 1: matched */
	/* r[2] (requeue run 2) not charged -> no-charge */
	ch[2] = charge_for(&r[3], 10000); /* NODE_FAIL, zero: matched */
	ch[3] = charge_for(&r[4], 10000); /* reused id: GPUs differ */
	ch[3].gpus = 8;
	/* a charge with no run (same job id as the requeue, other start) */
	ch[4] = charge_for(&r[2], 10000);
	ch[4].key.run_start = ch[4].start = r[2].start + 60;
	/* amount differs: charged to a later end */
	aiss_usage_run late = r[0];
	late.end += 600;
	late.start = r[0].start; /* same key as r[0]? no: use job 100 run 1 */
	ch[5] = charge_for(&late, 10000);
	ch[5].key.job_id = 999; /* no run: counted no-run */

	aiss_error err;
	aiss_recon *rc = aiss_reconcile(r, n, ch, 6, NULL, &err);
	assert_non_null(rc);
	const aiss_recon_totals *t = aiss_recon_totals_get(rc);
	assert_int_equal(t->runs, 5);
	assert_int_equal(t->charges, 6);
	assert_int_equal(t->count[AISS_RECON_MATCHED], 3);
	assert_int_equal(t->count[AISS_RECON_NO_CHARGE], 1);
	assert_int_equal(t->count[AISS_RECON_NO_RUN], 2);
	assert_int_equal(t->count[AISS_RECON_GPU_MISMATCH], 1);
	assert_int_equal(t->count[AISS_RECON_AMOUNT_MISMATCH], 0);
	assert_int_equal(t->exceptions, 4);
	/* GPU-seconds: 8 GPUs x 1h + 2 x 10m + 2 x 1h + 32 x 2h + 4 x 10m */
	assert_int_equal(t->run_gpu_seconds,
			 8 * 3600 + 2 * 600 + 2 * 3600 + 32 * 7200 + 4 * 600);
	size_t ni;
	const aiss_recon_item *it = aiss_recon_items(rc, &ni);
	assert_int_equal(ni, 4);
	assert_int_equal(it[0].kind, AISS_RECON_NO_CHARGE);
	assert_int_equal(it[0].run->line, 6);
	assert_int_equal(it[1].kind, AISS_RECON_GPU_MISMATCH);
	assert_int_equal(it[1].run->line, 11);
	assert_int_equal(it[2].kind, AISS_RECON_NO_RUN);
	assert_int_equal(it[3].kind, AISS_RECON_NO_RUN);
	assert_int_equal(it[3].charge->key.job_id, 999);
	aiss_recon_destroy(rc);

	/* amount mismatch: the ledger charged a longer run than Slurm saw,
	 * and a NODE_FAIL run charged as if it completed */
	aiss_charge_rec m[2];
	m[0] = charge_for(&late, 10000); /* key of r[0], 10 minutes longer */
	aiss_usage_run done = r[3];
	done.state = "COMPLETED";
	m[1] = charge_for(&done, 10000);
	rc = aiss_reconcile(r, n, m, 2, NULL, &err);
	t = aiss_recon_totals_get(rc);
	assert_int_equal(t->count[AISS_RECON_AMOUNT_MISMATCH], 2);
	it = aiss_recon_items(rc, &ni);
	assert_int_equal(it[0].kind, AISS_RECON_AMOUNT_MISMATCH);
	/* 8 GPUs x 1 h at HK$100 = HK$800.00 expected; charged 70 min */
	assert_int_equal(it[0].expected_list, 80000);
	assert_int_equal(it[0].charge->charge.list_cost, 93333);
	assert_int_equal(ni, 5); /* and three runs with no charge */
	assert_int_equal(it[1].kind, AISS_RECON_NO_CHARGE);
	assert_int_equal(it[3].kind, AISS_RECON_AMOUNT_MISMATCH);
	assert_int_equal(it[3].expected_list, 0);

	/* the exceptions CSV: BOM, header, one row per exception */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(aiss_recon_write_csv(rc, f), 0);
	fclose(f);
	assert_memory_equal(buf,
			    "\xEF\xBB\xBF"
			    "kind,cluster,job_id",
			    22);
	assert_non_null(strstr(buf, "\r\namount-mismatch,aisc,100,"
				    "2025-07-01T00:30:00+08:00,"));
	assert_non_null(strstr(buf, ",800.00,933.33,"));
	int rows = 0;
	for (char *p = buf; (p = strstr(p, "\r\n")); p += 2)
		rows++;
	assert_int_equal(rows, 6); /* header and five exceptions */
	free(buf);
	aiss_recon_destroy(rc);

	/* scope: charges outside [from, to) or of other clusters are left out
	 */
	aiss_charge_rec other = charge_for(&r[0], 10000);
	snprintf(other.key.cluster, sizeof(other.key.cluster), "elsewhere");
	aiss_recon_opts o = {.from = 0, .to = 0, .only_run_clusters = 1};
	rc = aiss_reconcile(r, n, &other, 1, &o, &err);
	t = aiss_recon_totals_get(rc);
	assert_int_equal(t->charges, 0);
	assert_int_equal(t->count[AISS_RECON_NO_RUN], 0);
	assert_int_equal(t->count[AISS_RECON_NO_CHARGE], 5);
	aiss_recon_destroy(rc);
	aiss_sacct_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sacct_rows),
	    cmocka_unit_test(test_sacct_zone_and_cluster),
	    cmocka_unit_test(test_tres),
	    cmocka_unit_test(test_import_order),
	    cmocka_unit_test(test_reconcile_categories),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
