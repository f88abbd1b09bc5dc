/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_report.c: every report figure against hand-computed values, and the
 * JSON, CSV and HTML renderers read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aiss_report.h"

#define COMMITMENT 300000000000LL /* HK$3,000,000,000.00 */

static aiss_time_t hkt(const char *s)
{
	aiss_time_t t = 0;
	assert_int_equal(aiss_time_parse(s, &t), 0);
	return t;
}

/* A settled run priced by the policy, as the ledger would export it. */
static aiss_charge_rec mk(const char *grant, aiss_inst_type type, uint64_t job,
			  int64_t gpus, const char *start, const char *end,
			  int64_t price, int32_t rate, const char *win_start,
			  const char *win_end, int nf)
{
	aiss_charge_rec c;
	aiss_error err;
	memset(&c, 0, sizeof(c));
	snprintf(c.key.cluster, sizeof(c.key.cluster), "aisc");
	c.key.job_id = job;
	c.start = c.key.run_start = hkt(start);
	c.end = hkt(end);
	c.gpus = gpus;
	c.price = price;
	c.rate_bp = rate;
	c.inst_type = type;
	snprintf(c.grant_id, sizeof(c.grant_id), "%s", grant);
	snprintf(c.end_state, sizeof(c.end_state), "%s",
		 nf ? "NODE_FAIL" : "COMPLETED");
	aiss_run_usage u = {
	    .gpus = gpus, .start = c.start, .end = c.end, .node_fail = nf != 0};
	aiss_grant_terms g = {.rate_bp = rate,
			      .window_start = hkt(win_start),
			      .window_end = hkt(win_end),
			      .remaining_subsidy = COMMITMENT};
	assert_int_equal(aiss_policy_charge(&u, price, &g, &c.charge, &err), 0);
	return c;
}

typedef struct fixture {
	aiss_scheme scheme;
	aiss_grant grants[2];
	aiss_charge_rec ch[16];
	size_t n;
	aiss_adjustment adj[2];
	size_t n_adj;
} fixture;

#define GU_WIN "2025-04-01 00:00", "2027-04-01 00:00"
#define GE_WIN "2025-04-01 00:00", "2025-11-01 00:00"

/*
 * The runs of the hand computation (prices in cents per GPU-hour, HKT):
 *  R0 GU 1 GPU 2025-03-31 23:00..04-01 01:00 @10000, grant window opens at
 *     04-01 00:00: list 20000, in-window 10000, subsidy 7000, copay 13000;
 *     halves: 3500 to 2024-25 Q4, 3500 to 2025-26 Q1.
 *  R1 GU 8 GPUs 2025-06-30 22:00..07-01 02:00 @10000: list 320000, subsidy
 *     224000, copay 96000, half in Q1 and half in Q2 (Hong Kong midnight:
 *     in UTC the whole run lies in June).
 *  R2 GU 1 GPU 2025-09-30 23:00..10-01 00:20 @10001: list 13335, subsidy
 *     9335 (9334.5 rounds up), copay 4000; split 3:1 -> Q2 10001/7001/3000,
 *     Q3 3334/2334/1000 (the leftover cent to the larger remainder).
 *  R3 GU 1 GPU 2026-03-31 23:00..04-01 01:00 @12000 (the new price):
 *     list 24000, subsidy 16800, copay 7200; Q4 gets 12000/8400/3600.
 *  R4 GE rate 9000, 2 GPUs 2025-10-31 23:00..11-01 01:00 @10000, window
 *     closes 11-01 00:00: list 40000, in-window 20000, subsidy 18000,
 *     copay 22000, all Q3.
 *  R5 GE NODE_FAIL 4 GPUs 2025-08-01 10:00..12:00: charged zero.
 *  R6 GU job 777 requeued: two runs 2025-05-01 10-11 and 12-13, 1 GPU
 *     @10000: each list 10000, subsidy 7000, copay 3000.
 *  Adjustment: GU credit 5000 on 2025-08-15 (Q2).
 */
static void fixture_fill(fixture *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->scheme.name, sizeof(f->scheme.name), "AISS");
	f->scheme.commitment = COMMITMENT;
	f->scheme.start = hkt("2024-04-01 00:00");
	f->scheme.end = hkt("2027-04-01 00:00");

	aiss_grant *gu = &f->grants[0], *ge = &f->grants[1];
	snprintf(gu->id, sizeof(gu->id), "GU");
	snprintf(gu->institution, sizeof(gu->institution),
		 "Chan, \"Big\" Lab 香港大學");
	gu->inst_type = AISS_INST_UNIVERSITY;
	gu->rate_bp = 7000;
	gu->approved_subsidy = 100000000; /* HK$1,000,000.00 */
	gu->window_start = hkt("2025-04-01 00:00");
	gu->window_end = hkt("2027-04-01 00:00");
	gu->state = AISS_GRANT_ACTIVE;
	snprintf(ge->id, sizeof(ge->id), "GE");
	snprintf(ge->institution, sizeof(ge->institution), "Startup Ltd");
	ge->inst_type = AISS_INST_ENTERPRISE;
	ge->rate_bp = 9000;
	ge->approved_subsidy = 50000000;
	ge->window_start = hkt("2025-04-01 00:00");
	ge->window_end = hkt("2025-11-01 00:00");
	ge->state = AISS_GRANT_ACTIVE;

	size_t n = 0;
	f->ch[n++] = mk("GU", AISS_INST_UNIVERSITY, 100, 1, "2025-03-31 23:00",
			"2025-04-01 01:00", 10000, 7000, GU_WIN, 0);
	f->ch[n++] = mk("GU", AISS_INST_UNIVERSITY, 101, 8, "2025-06-30 22:00",
			"2025-07-01 02:00", 10000, 7000, GU_WIN, 0);
	f->ch[n++] = mk("GU", AISS_INST_UNIVERSITY, 102, 1, "2025-09-30 23:00",
			"2025-10-01 00:20", 10001, 7000, GU_WIN, 0);
	f->ch[n++] = mk("GU", AISS_INST_UNIVERSITY, 103, 1, "2026-03-31 23:00",
			"2026-04-01 01:00", 12000, 7000, GU_WIN, 0);
	f->ch[n++] = mk("GE", AISS_INST_ENTERPRISE, 104, 2, "2025-10-31 23:00",
			"2025-11-01 01:00", 10000, 9000, GE_WIN, 0);
	f->ch[n++] = mk("GE", AISS_INST_ENTERPRISE, 105, 4, "2025-08-01 10:00",
			"2025-08-01 12:00", 10000, 9000, GE_WIN, 1);
	f->ch[n++] = mk("GU", AISS_INST_UNIVERSITY, 777, 1, "2025-05-01 10:00",
			"2025-05-01 11:00", 10000, 7000, GU_WIN, 0);
	f->ch[n++] = mk("GU", AISS_INST_UNIVERSITY, 777, 1, "2025-05-01 12:00",
			"2025-05-01 13:00", 10000, 7000, GU_WIN, 0);
	f->n = n;
	snprintf(f->adj[0].grant_id, sizeof(f->adj[0].grant_id), "GU");
	f->adj[0].amount = 5000;
	f->adj[0].at = hkt("2025-08-15 12:00");
	snprintf(f->adj[0].reason, sizeof(f->adj[0].reason), "refund");
	f->n_adj = 1;
}

static aiss_report *compute(const fixture *f, int fy, int q)
{
	aiss_report_input in = {.scheme = &f->scheme,
				.grants = f->grants,
				.n_grants = 2,
				.charges = f->ch,
				.n_charges = f->n,
				.adjustments = f->adj,
				.n_adjustments = f->n_adj};
	aiss_report_opts o = {.fy = fy, .quarter = q};
	aiss_error err;
	aiss_report *r = aiss_report_compute(&in, &o, &err);
	if (!r)
		fail_msg("report: %s", err.text);
	return r;
}

static void test_charges_as_hand_computed(void **state)
{
	fixture f;
	fixture_fill(&f);
	/* R0: window edge */
	assert_int_equal(f.ch[0].charge.list_cost, 20000);
	assert_int_equal(f.ch[0].charge.subsidy, 7000);
	assert_int_equal(f.ch[0].charge.copay, 13000);
	/* R2: round half up */
	assert_int_equal(f.ch[2].charge.list_cost, 13335);
	assert_int_equal(f.ch[2].charge.subsidy, 9335);
	/* R4: window edge at 90% */
	assert_int_equal(f.ch[4].charge.subsidy, 18000);
	assert_int_equal(f.ch[4].charge.copay, 22000);
	/* R5: NODE_FAIL */
	assert_int_equal(f.ch[5].charge.list_cost, 0);
	assert_int_equal(f.ch[5].charge.subsidy, 0);
}

static void assert_totals(const aiss_report_totals *t, int64_t exp,
			  int64_t list, int64_t copay, int64_t gs, int64_t runs)
{
	assert_non_null(t);
	assert_int_equal(t->expenditure, exp);
	assert_int_equal(t->list_cost, list);
	assert_int_equal(t->copay, copay);
	assert_int_equal(t->gpu_seconds, gs);
	assert_int_equal(t->runs, runs);
}

static void test_year_figures(void **state)
{
	fixture f;
	fixture_fill(&f);
	aiss_report *r = compute(&f, 2025, 0);
	const aiss_report_summary *s = aiss_report_summary_get(r);

	assert_int_equal(s->commitment, COMMITMENT);
	assert_int_equal(s->cumulative_before, 3500);
	assert_int_equal(s->fy_expenditure, 272235);
	assert_int_equal(s->balance, COMMITMENT - 3500 - 272235);
	assert_int_equal(s->approved_total, 150000000);
	/* Q1: R0 half, R1 half, R6 both runs */
	assert_totals(aiss_report_quarter(r, 1), 129500, 190000, 60500, 68400,
		      4);
	/* Q2: R1 half, R2 3/4, R5 NODE_FAIL (a run, no money, no billed
	 * GPU-hours), less the 5000 credit */
	assert_totals(aiss_report_quarter(r, 2), 114001, 170001, 51000, 61200,
		      3);
	assert_int_equal(aiss_report_quarter(r, 2)->subsidy, 119001);
	assert_int_equal(aiss_report_quarter(r, 2)->adjustments, 5000);
	assert_int_equal(aiss_report_quarter(r, 2)->node_fail_runs, 1);
	/* Q3: R2 1/4, R4 */
	assert_totals(aiss_report_quarter(r, 3), 20334, 43334, 23000, 15600, 2);
	/* Q4: R3 half (the other half is 2026-27) */
	assert_totals(aiss_report_quarter(r, 4), 8400, 12000, 3600, 3600, 1);
	assert_totals(&s->period, 272235, 415335, 138100, 148800, 10);
	/* co-payments beside expenditure, never in it */
	assert_true(s->period.copay > 0);
	assert_int_equal(s->period.expenditure,
			 s->period.subsidy - s->period.adjustments);

	/* by institution type */
	assert_int_equal(
	    aiss_report_by_type(r, AISS_INST_UNIVERSITY)->expenditure, 254235);
	assert_int_equal(
	    aiss_report_by_type(r, AISS_INST_ENTERPRISE)->expenditure, 18000);
	assert_int_equal(aiss_report_quarter_type(r, 3, AISS_INST_ENTERPRISE),
			 18000);
	assert_int_equal(aiss_report_quarter_type(r, 2, AISS_INST_UNIVERSITY),
			 114001);

	/* by grant: sorted by expenditure; spent to date includes 2024-25 */
	size_t n;
	const aiss_report_grant *g = aiss_report_grants(r, &n);
	assert_int_equal(n, 2);
	assert_string_equal(g[0].id, "GU");
	assert_int_equal(g[0].period.expenditure, 254235);
	assert_int_equal(g[0].spent_to_date, 257735);
	assert_int_equal(g[0].remaining, 100000000 - 257735);
	assert_string_equal(g[1].id, "GE");
	assert_int_equal(g[1].period.expenditure, 18000);
	assert_int_equal(g[1].period.node_fail_runs, 1);
	aiss_report_destroy(r);
}

static void test_quarter_narrows(void **state)
{
	fixture f;
	fixture_fill(&f);
	aiss_report *r = compute(&f, 2025, 2);
	const aiss_report_summary *s = aiss_report_summary_get(r);
	assert_int_equal(s->period_start, hkt("2025-07-01 00:00"));
	assert_int_equal(s->period_end, hkt("2025-10-01 00:00"));
	assert_int_equal(s->cumulative_before, 3500);
	assert_int_equal(s->fy_expenditure, 129500 + 114001); /* to Q2 end */
	assert_int_equal(s->balance, COMMITMENT - 3500 - 243501);
	assert_totals(&s->period, 114001, 170001, 51000, 61200, 3);
	assert_int_equal(
	    aiss_report_by_type(r, AISS_INST_ENTERPRISE)->expenditure, 0);
	assert_int_equal(
	    aiss_report_by_type(r, AISS_INST_ENTERPRISE)->node_fail_runs, 1);
	aiss_report_destroy(r);

	/* the next fiscal year: 2025-26 all before it, R3's second half in */
	r = compute(&f, 2026, 0);
	s = aiss_report_summary_get(r);
	assert_int_equal(s->cumulative_before, 3500 + 272235);
	assert_totals(aiss_report_quarter(r, 1), 8400, 12000, 3600, 3600, 1);
	aiss_report_destroy(r);
}

/* Head 47 item 805: HK$905,000,000.00 spent in 2024-25. */
static void published_fixture(fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->scheme.commitment = COMMITMENT;
	f->scheme.start = hkt("2024-04-01 00:00");
	f->scheme.end = hkt("2027-04-01 00:00");
	snprintf(f->grants[0].id, sizeof(f->grants[0].id), "BIG");
	f->grants[0].inst_type = AISS_INST_RD_CENTRE;
	f->grants[0].approved_subsidy = 150000000000LL;
	f->grants[0].window_start = hkt("2024-04-01 00:00");
	f->grants[0].window_end = hkt("2027-04-01 00:00");
	f->grants[1] = f->grants[0];
	snprintf(f->grants[1].id, sizeof(f->grants[1].id), "BIG2");
	f->grants[1].inst_type = AISS_INST_UNIVERSITY;
	/* 700 GPUs for 92 days at HK$... : amounts set directly, as big
	 * settled runs would carry them */
	aiss_charge_rec *c = &f->ch[0];
	snprintf(c->grant_id, sizeof(c->grant_id), "BIG");
	c->gpus = 1000;
	c->start = hkt("2024-12-01 00:00");
	c->end = hkt("2025-03-31 23:00");
	c->charge.run_seconds = c->end - c->start;
	c->charge.gpu_seconds = c->gpus * c->charge.run_seconds;
	c->charge.list_cost = 70000000000LL;
	c->charge.subsidy = 49000000000LL;
	c->charge.copay = 21000000000LL;
	f->ch[1] = f->ch[0];
	c = &f->ch[1];
	snprintf(c->grant_id, sizeof(c->grant_id), "BIG2");
	c->start = hkt("2025-02-01 00:00");
	c->end = hkt("2025-03-31 23:59:59");
	c->charge.list_cost = 60000000000LL;
	c->charge.subsidy = 41500000000LL;
	c->charge.copay = 18500000000LL;
	f->n = 2;
}

static void test_published_figure(void **state)
{
	fixture f;
	published_fixture(&f);
	aiss_report *r = compute(&f, 2025, 0);
	const aiss_report_summary *s = aiss_report_summary_get(r);
	assert_int_equal(s->cumulative_before, 90500000000LL);
	assert_int_equal(s->fy_expenditure, 0);
	assert_int_equal(s->balance, 209500000000LL);

	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	assert_int_equal(aiss_report_write_table(r, AISS_REPORT_BY_NONE, m), 0);
	fclose(m);
	assert_non_null(strstr(buf, "3,000,000,000.00"));
	assert_non_null(strstr(buf, "905,000,000.00"));
	assert_non_null(strstr(buf, "2,095,000,000.00"));
	assert_non_null(strstr(buf, "累積開支"));
	/* as Head 47 item 805 prints it, in HK$'000 */
	assert_non_null(strstr(buf,
			       "(HK$'000): approved commitment 3,000,000; "
			       "cumulative expenditure to 31.3.2025 905,000; "
			       "2025-26 nil; balance 2,095,000"));
	free(buf);
	aiss_report_destroy(r);

	char k[AISS_MONEY_BUFSZ];
	assert_string_equal(aiss_report_thousands(0, k, sizeof(k)), "nil");
	assert_string_equal(aiss_report_thousands(49999, k, sizeof(k)), "nil");
	assert_string_equal(aiss_report_thousands(50000, k, sizeof(k)), "1");
	assert_string_equal(aiss_report_thousands(-123456789, k, sizeof(k)),
			    "-1,235");

	r = compute(&f, 2024, 0);
	s = aiss_report_summary_get(r);
	assert_int_equal(s->cumulative_before, 0);
	assert_int_equal(s->fy_expenditure, 90500000000LL);
	assert_int_equal(s->balance, 209500000000LL);
	assert_int_equal(aiss_report_quarter(r, 3)->expenditure +
			     aiss_report_quarter(r, 4)->expenditure,
			 90500000000LL);
	aiss_report_destroy(r);
}

/* ---- read-back helpers ---- */

static int64_t json_int(const char *doc, const char *key)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(doc, pat);
	if (!p)
		fail_msg("JSON has no %s", key);
	return strtoll(p + strlen(pat), NULL, 10);
}

/* Checks braces/brackets balance outside strings and that strings close. */
static void json_well_formed(const char *s)
{
	int depth = 0, in_str = 0;
	for (; *s; s++) {
		if (in_str) {
			if (*s == '\\')
				s++;
			else if (*s == '"')
				in_str = 0;
			else
				assert_true((unsigned char)*s >= 0x20);
			continue;
		}
		if (*s == '"')
			in_str = 1;
		else if (*s == '{' || *s == '[')
			depth++;
		else if (*s == '}' || *s == ']')
			assert_true(--depth >= 0);
	}
	assert_int_equal(depth, 0);
	assert_int_equal(in_str, 0);
}

static void test_json(void **state)
{
	fixture f;
	fixture_fill(&f);
	aiss_report *r = compute(&f, 2025, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	assert_int_equal(aiss_report_write_json(r, m), 0);
	fclose(m);
	json_well_formed(buf);
	assert_non_null(strstr(buf, "\"fy\":\"2025-26\""));
	assert_int_equal(json_int(buf, "commitment_cents"), COMMITMENT);
	assert_int_equal(json_int(buf, "earmarked_cents"), 0);
	assert_int_equal(json_int(buf, "cumulative_before_cents"), 3500);
	assert_int_equal(json_int(buf, "fy_expenditure_cents"), 272235);
	assert_int_equal(json_int(buf, "balance_cents"),
			 COMMITMENT - 3500 - 272235);
	assert_int_equal(json_int(buf, "copay_cents"), 138100);
	assert_int_equal(json_int(buf, "list_cost_cents"), 415335);
	assert_int_equal(json_int(buf, "gpu_seconds"), 148800);
	const char *q3 = strstr(buf, "{\"quarter\":\"Q3\"");
	assert_non_null(q3);
	assert_int_equal(json_int(q3, "expenditure_cents"), 20334);
	assert_int_equal(json_int(q3, "copay_cents"), 23000);
	assert_int_equal(json_int(q3, "list_cost_cents"), 43334);
	assert_int_equal(json_int(q3, "gpu_seconds"), 15600);
	/* the institution name's quotes are escaped */
	assert_non_null(strstr(buf, "Chan, \\\"Big\\\" Lab"));
	free(buf);
	aiss_report_destroy(r);

	/* --quarter: only that quarter in quarters[] */
	r = compute(&f, 2025, 4);
	m = open_memstream(&buf, &len);
	assert_int_equal(aiss_report_write_json(r, m), 0);
	fclose(m);
	json_well_formed(buf);
	assert_null(strstr(buf, "{\"quarter\":\"Q3\""));
	assert_non_null(strstr(buf, "{\"quarter\":\"Q4\""));
	free(buf);
	aiss_report_destroy(r);
}

/* A tiny RFC 4180 reader: fields of record @rec (0-based) into @out. */
static int csv_record(const char *doc, int rec, char out[][256], int max)
{
	const char *p = doc;
	int r = 0, n = 0;
	char field[256];
	size_t fl = 0;
	while (*p) {
		int quoted = 0;
		fl = 0;
		if (*p == '"') {
			quoted = 1;
			p++;
		}
		for (;;) {
			if (quoted) {
				if (*p == '"' && p[1] == '"') {
					field[fl++] = '"';
					p += 2;
					continue;
				}
				if (*p == '"') {
					p++;
					quoted = 0;
					continue;
				}
				if (!*p)
					fail_msg("unterminated quote");
				field[fl++] = *p++;
				continue;
			}
			if (!*p || *p == ',' || *p == '\r' || *p == '\n')
				break;
			field[fl++] = *p++;
		}
		field[fl] = 0;
		if (r == rec && n < max)
			snprintf(out[n], 256, "%s", field);
		n++;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '\r')
			p++;
		if (*p == '\n')
			p++;
		if (r == rec)
			return n;
		r++;
		n = 0;
	}
	return -1;
}

static void test_csv(void **state)
{
	fixture f;
	fixture_fill(&f);
	aiss_report *r = compute(&f, 2025, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	assert_int_equal(aiss_report_write_csv(r, AISS_REPORT_BY_GRANT, m), 0);
	fclose(m);
	assert_memory_equal(buf, "\xEF\xBB\xBF", 3);
	const char *doc = buf + 3;
	char fld[10][256];
	int found = 0;
	assert_int_equal(csv_record(doc, 0, fld, 10), 8);
	assert_string_equal(fld[0], "section");
	assert_string_equal(fld[7], "runs");
	for (int i = 1;; i++) {
		int n = csv_record(doc, i, fld, 10);
		if (n < 0)
			break;
		assert_int_equal(n, 8); /* every record has every column */
		if (!strcmp(fld[0], "summary") &&
		    !strcmp(fld[1], "cumulative_before")) {
			assert_string_equal(fld[3], "35.00");
			found |= 1;
		}
		if (!strcmp(fld[0], "summary") && !strcmp(fld[1], "balance")) {
			assert_string_equal(fld[3], "2999997242.65");
			assert_non_null(strstr(fld[2], "結餘"));
			found |= 2;
		}
		if (!strcmp(fld[0], "quarter") && !strcmp(fld[1], "Q2")) {
			assert_string_equal(fld[3], "1140.01");
			assert_string_equal(fld[4], "1700.01");
			assert_string_equal(fld[5], "510.00");
			assert_string_equal(fld[6], "17.00"); /* 61200 s */
			assert_string_equal(fld[7], "3");
			found |= 4;
		}
		if (!strcmp(fld[0], "grant") && !strcmp(fld[1], "GU")) {
			/* comma, quotes and Chinese survive the round trip */
			assert_string_equal(fld[2],
					    "Chan, \"Big\" Lab 香港大學");
			assert_string_equal(fld[3], "2542.35");
			found |= 8;
		}
	}
	assert_int_equal(found, 15);
	free(buf);
	aiss_report_destroy(r);
}

static void test_html(void **state)
{
	fixture f;
	published_fixture(&f);
	aiss_report *r = compute(&f, 2025, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	assert_int_equal(aiss_report_write_html(r, m), 0);
	fclose(m);
	assert_non_null(strstr(buf, "<!DOCTYPE html>"));
	assert_non_null(strstr(buf, "核准承擔額"));
	assert_non_null(strstr(buf, "累積開支"));
	assert_non_null(strstr(buf, "結餘"));
	assert_non_null(strstr(buf, "id=\"burndown\""));
	assert_non_null(strstr(buf, "id=\"quarters\""));
	assert_non_null(strstr(buf, "id=\"grants\""));
	assert_non_null(
	    strstr(buf, "data-cents=\"90500000000\">905,000,000.00"));
	assert_non_null(
	    strstr(buf, "data-cents=\"209500000000\">2,095,000,000.00"));
	/* self-contained: nothing fetched from elsewhere */
	assert_null(strstr(buf, "src="));
	assert_null(strstr(buf, "href="));
	free(buf);
	aiss_report_destroy(r);
}

static void test_forecast(void **state)
{
	fixture f;
	published_fixture(&f);
	/* as of the end of 2024-25: 905m spent, 1,230m approved in all grants
	 * would be too little spend -> trailing rate decides */
	aiss_report *r = compute(&f, 2024, 0);
	const aiss_report_forecast *fc = aiss_report_forecast_get(r);
	assert_int_equal(fc->as_of, hkt("2025-04-01 00:00"));
	assert_int_equal(fc->spent_to_date, 90500000000LL);
	assert_int_equal(fc->available, COMMITMENT);
	/* the whole 905m falls in the trailing 182 days (Dec..Mar) */
	assert_int_equal(fc->trailing_spend, 90500000000LL);
	/* two more years at that rate: 905m * 730 days / 182 days more */
	int64_t more = 0;
	aiss_muldiv_round(90500000000LL, 730LL * 86400, 182LL * 86400, &more);
	assert_int_equal(fc->burn_projection, 90500000000LL + more);
	assert_true(fc->exceeds); /* ~4,540m > 3,000m */
	assert_non_null(strstr(fc->warning, "exceed"));
	/* grants cap it: at most their approvals */
	assert_true(fc->grant_projection <= 300000000000LL);
	aiss_report_destroy(r);

	/* a tiny spend leaves the commitment largely unspent */
	fixture g;
	fixture_fill(&g);
	r = compute(&g, 2025, 0);
	fc = aiss_report_forecast_get(r);
	assert_false(fc->exceeds);
	assert_true(fc->underspend);
	assert_non_null(strstr(fc->warning, "unspent"));
	aiss_report_destroy(r);
}

/* A settled run with its amounts given directly. */
static aiss_charge_rec raw_charge(const char *grant, const char *start,
				  const char *end, aiss_cents_t subsidy)
{
	aiss_charge_rec c;
	memset(&c, 0, sizeof(c));
	snprintf(c.grant_id, sizeof(c.grant_id), "%s", grant);
	c.gpus = 1;
	c.start = c.key.run_start = hkt(start);
	c.end = hkt(end);
	c.charge.run_seconds = c.end - c.start;
	c.charge.gpu_seconds = c.charge.run_seconds;
	c.charge.subsidy = subsidy;
	c.charge.list_cost = subsidy * 2;
	c.charge.copay = subsidy;
	return c;
}

static aiss_grant grant(const char *id, aiss_cents_t approved, const char *from,
			const char *to, aiss_grant_state state)
{
	aiss_grant g;
	memset(&g, 0, sizeof(g));
	snprintf(g.id, sizeof(g.id), "%s", id);
	g.approved_subsidy = approved;
	g.window_start = hkt(from);
	g.window_end = hkt(to);
	g.state = state;
	return g;
}

/*
 * Forecast by hand, as of 2025-04-01 (the end of 2024-25) with a 100-day
 * trailing window and 730 days left in the scheme:
 *  A: 10,000 spent in the window, 990,000 left -> 10,000 x 730/100 = 73,000
 *  B: 20,000 spent, window closes 2025-06-10 (70 days) -> 14,000
 *     (its 30,000 left would cap it)
 *  C: starts 2025-10-01, nothing spent: its 40,000 spread over its window,
 *     all of which is ahead -> 40,000
 *  D: closed -> 0;  E: open since 2024 but idle in the window -> 0
 * spent 30,000; grants: 30,000 + 127,000 = 157,000;
 * trailing rate: 30,000 + 30,000 x 730/100 = 249,000.
 */
static void test_forecast_by_grant(void **state)
{
	aiss_scheme sch = {.commitment = 200000};
	sch.start = hkt("2024-04-01");
	sch.end = hkt("2027-04-01");
	aiss_grant g[5] = {
	    grant("A", 1000000, "2024-04-01", "2027-04-01", AISS_GRANT_ACTIVE),
	    grant("B", 50000, "2024-04-01", "2025-06-10", AISS_GRANT_ACTIVE),
	    grant("C", 40000, "2025-10-01", "2026-04-01", AISS_GRANT_ACTIVE),
	    grant("D", 100000, "2024-04-01", "2027-04-01", AISS_GRANT_CLOSED),
	    grant("E", 100000, "2024-04-01", "2027-04-01", AISS_GRANT_ACTIVE),
	};
	aiss_charge_rec c[2] = {
	    raw_charge("A", "2025-02-01 00:00", "2025-02-02 00:00", 10000),
	    raw_charge("B", "2025-03-01 00:00", "2025-03-01 10:00", 20000),
	};
	aiss_report_input in = {.scheme = &sch,
				.grants = g,
				.n_grants = 5,
				.charges = c,
				.n_charges = 2};
	aiss_report_opts o = {.fy = 2024, .trailing_s = 100 * 86400};
	aiss_error err;
	aiss_report *r = aiss_report_compute(&in, &o, &err);
	assert_non_null(r);
	const aiss_report_forecast *f = aiss_report_forecast_get(r);
	assert_int_equal(f->as_of, hkt("2025-04-01"));
	assert_int_equal(f->spent_to_date, 30000);
	assert_int_equal(f->trailing_spend, 30000);
	assert_int_equal(f->burn_projection, 249000);
	assert_int_equal(f->grant_projection, 157000);
	size_t n;
	const aiss_report_grant *rg = aiss_report_grants(r, &n);
	assert_int_equal(n, 5);
	int64_t want[5] = {73000, 14000, 40000, 0, 0};
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rg[i].forecast_more, want[rg[i].id[0] - 'A']);
	/* 249,000 > 200,000: exhausted at the trailing rate after
	 * 170,000 x 100 / 30,000 = 566.67 days */
	assert_true(f->exceeds);
	assert_non_null(strstr(f->warning, "2026-10-19"));
	aiss_report_destroy(r);

	/* a commitment of 1,000,000: 843,000 (84%) would be left unspent */
	sch.commitment = 1000000;
	r = aiss_report_compute(&in, &o, &err);
	f = aiss_report_forecast_get(r);
	assert_false(f->exceeds);
	assert_true(f->underspend);
	assert_non_null(strstr(f->warning, "8,430.00 (84%)"));
	aiss_report_destroy(r);
}

/* --as-of inside a quarter: the forecast counts only what happened before
 * it (runs pro rata, adjustments by date). As of 2025-08-16 00:00 HKT:
 * R0 7000 + R1 224000 + R6 2 x 7000, less the 5000 credit of 08-15 =
 * 240000 spent; the trailing 182 days (from 2025-02-15) hold R0, R1 and R6:
 * 245000 (corrections are not burn). */
static void test_forecast_mid_quarter(void **state)
{
	fixture f;
	fixture_fill(&f);
	aiss_report_input in = {.scheme = &f.scheme,
				.grants = f.grants,
				.n_grants = 2,
				.charges = f.ch,
				.n_charges = f.n,
				.adjustments = f.adj,
				.n_adjustments = f.n_adj};
	aiss_report_opts o = {.fy = 2025, .as_of = hkt("2025-08-16 00:00")};
	aiss_error err;
	aiss_report *r = aiss_report_compute(&in, &o, &err);
	assert_non_null(r);
	const aiss_report_forecast *fc = aiss_report_forecast_get(r);
	assert_int_equal(fc->as_of, hkt("2025-08-16 00:00"));
	assert_int_equal(fc->spent_to_date, 240000);
	assert_int_equal(fc->trailing_spend, 245000);
	/* the year's figures do not depend on the forecast's date */
	assert_int_equal(aiss_report_summary_get(r)->fy_expenditure, 272235);
	size_t n;
	const aiss_report_history *h = aiss_report_history_get(r, &n);
	assert_int_equal(n, 12); /* 2024-25 Q1 .. 2026-27 Q4 */
	assert_int_equal(h[0].fy, 2024);
	assert_true(h[5].actual);  /* 2025-26 Q2: as_of falls in it */
	assert_false(h[6].actual); /* 2025-26 Q3: after as_of */
	assert_int_equal(h[3].remaining_after, COMMITMENT - 3500);
	aiss_report_destroy(r);
}

static void test_bad_input(void **state)
{
	fixture f;
	fixture_fill(&f);
	aiss_report_input in = {.scheme = &f.scheme};
	aiss_report_opts o = {.fy = 2025, .quarter = 5};
	aiss_error err;
	assert_null(aiss_report_compute(&in, &o, &err));
	assert_int_equal(err.code, AISS_E_INVALID);
	/* a charge ending before it starts is refused, naming the run */
	f.ch[0].end = f.ch[0].start - 1;
	in.charges = f.ch;
	in.n_charges = 1;
	o.quarter = 0;
	assert_null(aiss_report_compute(&in, &o, &err));
	assert_non_null(strstr(err.text, "aisc/100"));
	/* empty input: zero report, balance = commitment */
	in.n_charges = 0;
	aiss_report *r = aiss_report_compute(&in, &o, &err);
	assert_non_null(r);
	assert_int_equal(aiss_report_summary_get(r)->balance, COMMITMENT);
	aiss_report_destroy(r);
	aiss_report_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_charges_as_hand_computed),
	    cmocka_unit_test(test_year_figures),
	    cmocka_unit_test(test_quarter_narrows),
	    cmocka_unit_test(test_published_figure),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_csv),
	    cmocka_unit_test(test_html),
	    cmocka_unit_test(test_forecast),
	    cmocka_unit_test(test_forecast_by_grant),
	    cmocka_unit_test(test_forecast_mid_quarter),
	    cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
