/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_core.c: unit tests of money, time, fiscal calendar, policy, SHA-256. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aiss_error.h"
#include "aiss_money.h"
#include "aiss_policy.h"
#include "aiss_sha256.h"
#include "aiss_time.h"

/* 2025-04-01 00:00 HKT = 2025-03-31 16:00 UTC */
#define FY2025 1743436800LL

static void test_muldiv_rounding(void **state)
{
	int64_t r;

	assert_int_equal(aiss_muldiv_round(5, 1, 10, &r), 0);
	assert_int_equal(r, 1); /* 0.5 -> 1 */
	assert_int_equal(aiss_muldiv_round(4, 1, 10, &r), 0);
	assert_int_equal(r, 0); /* 0.4 -> 0 */
	assert_int_equal(aiss_muldiv_round(15, 1, 10, &r), 0);
	assert_int_equal(r, 2); /* 1.5 -> 2 */
	assert_int_equal(aiss_muldiv_round(25, 1, 10, &r), 0);
	assert_int_equal(r, 3); /* 2.5 -> 3, not banker's 2 */
	assert_int_equal(aiss_muldiv_round(INT64_MAX, 4, 3, &r), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(aiss_muldiv_round(-1, 3, 4, &r), -1);
	assert_int_equal(aiss_muldiv_round(1, 3, 0, &r), -1);
	/* exact in 128 bits where 64 would overflow */
	assert_int_equal(aiss_muldiv_round(INT64_MAX, 1000, 1000, &r), 0);
	assert_true(r == INT64_MAX);
}

static void test_money_parse(void **state)
{
	aiss_cents_t c;
	static const char *bad[] = {"",	 "abc", "1.234", "12,34", "1,2345",
				    ",123", "1e5", "1..2", "--1", "1,234,56",
				    "1234,567", ".", "HK$", "1 2"};

	assert_int_equal(aiss_money_parse("1,234.56", &c), 0);
	assert_int_equal(c, 123456);
	assert_int_equal(aiss_money_parse("HK$3,000,000,000.00", &c), 0);
	assert_int_equal(c, 300000000000LL);
	assert_int_equal(aiss_money_parse("-12.5", &c), 0);
	assert_int_equal(c, -1250);
	assert_int_equal(aiss_money_parse("7", &c), 0);
	assert_int_equal(c, 700);
	assert_int_equal(aiss_money_parse(".05", &c), 0);
	assert_int_equal(c, 5);
	assert_int_equal(aiss_money_parse("-HK$1.00", &c), 0);
	assert_int_equal(c, -100);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(aiss_money_parse(bad[i], &c), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(aiss_money_parse("99999999999999999999999", &c), -1);
	assert_int_equal(errno, ERANGE);
}

static void test_money_format(void **state)
{
	char b[AISS_MONEY_BUFSZ];

	assert_string_equal(aiss_money_format(123456, true, b, sizeof(b)),
			    "1,234.56");
	assert_string_equal(aiss_money_format(123456, false, b, sizeof(b)),
			    "1234.56");
	assert_string_equal(aiss_money_format(-5, true, b, sizeof(b)),
			    "-0.05");
	assert_string_equal(aiss_money_format(0, true, b, sizeof(b)), "0.00");
	assert_string_equal(aiss_money_format(300000000000LL, true, b,
					      sizeof(b)),
			    "3,000,000,000.00");
	assert_string_equal(aiss_money_format(INT64_MIN, true, b, sizeof(b)),
			    "-92,233,720,368,547,758.08");
	/* the same text as the snprintf() version it replaced, at every
	 * buffer length (truncated as snprintf truncates) */
	uint64_t r = 88172645463325252ULL;
	for (int i = 0; i < 3000; i++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		int64_t v = i == 0   ? INT64_MIN
			    : i == 1 ? INT64_MAX
				     : (int64_t)r >> (i % 63);
		for (int g = 0; g < 2; g++) {
			char digits[32], tmp[AISS_MONEY_BUFSZ], want[64];
			uint64_t mag =
			    v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			size_t o = 0, n = (size_t)snprintf(
					  digits, sizeof(digits), "%llu",
					  (unsigned long long)(mag / 100));

			if (v < 0)
				tmp[o++] = '-';
			for (size_t k = 0; k < n; k++) {
				if (g && k > 0 && (n - k) % 3 == 0)
					tmp[o++] = ',';
				tmp[o++] = digits[k];
			}
			snprintf(tmp + o, sizeof(tmp) - o, ".%02u",
				 (unsigned)(mag % 100));
			for (size_t len = 1; len <= sizeof(b); len++) {
				snprintf(want, len, "%s", tmp);
				memset(b, 'x', sizeof(b));
				aiss_money_format(v, g, b, len);
				assert_string_equal(b, want);
			}
		}
	}
	/* round trip */
	for (int64_t v = -200000; v <= 200000; v += 997) {
		aiss_cents_t back;

		aiss_money_format(v, true, b, sizeof(b));
		assert_int_equal(aiss_money_parse(b, &back), 0);
		assert_int_equal(back, v);
	}
}

static void test_time_parse(void **state)
{
	aiss_time_t t;
	char b[AISS_TIME_BUFSZ];

	assert_int_equal(aiss_time_parse("2025-04-01", &t), 0);
	assert_int_equal(t, FY2025);
	assert_int_equal(aiss_time_parse("2025-04-01 00:00:00 HKT", &t), 0);
	assert_int_equal(t, FY2025);
	assert_int_equal(aiss_time_parse("2025-03-31T16:00:00Z", &t), 0);
	assert_int_equal(t, FY2025);
	assert_int_equal(aiss_time_parse("2025-03-31T16:00Z", &t), 0);
	assert_int_equal(t, FY2025);
	assert_int_equal(aiss_time_parse("2025-04-01T00:00+08:00", &t), 0);
	assert_int_equal(t, FY2025);
	assert_int_equal(aiss_time_parse("@1743436800", &t), 0);
	assert_int_equal(t, FY2025);
	assert_int_equal(aiss_time_parse("1743436800", &t), 0);
	assert_int_equal(t, FY2025);
	assert_int_equal(aiss_time_parse_zone("2025-03-31T16:00:00", 0, &t), 0);
	assert_int_equal(t, FY2025);
	assert_int_equal(aiss_time_parse("2024-02-29", &t), 0);
	assert_int_equal(aiss_time_parse("2025-02-29", &t), -1);
	assert_int_equal(aiss_time_parse("2025-13-01", &t), -1);
	assert_int_equal(aiss_time_parse("2025-04-01T24:00", &t), -1);
	assert_int_equal(aiss_time_parse("yesterday", &t), -1);
	assert_int_equal(aiss_time_parse("2025-04-01 junk", &t), -1);
	assert_string_equal(aiss_time_format_hkt(FY2025, b, sizeof(b)),
			    "2025-04-01T00:00:00+08:00");
	assert_string_equal(aiss_time_format_short(FY2025 - 60, b, sizeof(b)),
			    "2025-03-31 23:59");
	for (int64_t d = -400; d < 400; d += 7) {
		int64_t y;
		unsigned m, dd;

		aiss_civil_from_days(20000 + d, &y, &m, &dd);
		assert_int_equal(aiss_days_from_civil(y, m, dd), 20000 + d);
	}
}

static void test_fiscal_calendar(void **state)
{
	int fy, q;
	char b[16];
	aiss_time_t t;

	assert_int_equal(aiss_fy_parse("2025-26", &fy), 0);
	assert_int_equal(fy, 2025);
	assert_int_equal(aiss_fy_parse("2025-2026", &fy), 0);
	assert_int_equal(fy, 2025);
	assert_int_equal(aiss_fy_parse("2099-00", &fy), 0);
	assert_int_equal(fy, 2099);
	assert_int_equal(aiss_fy_parse("2025-27", &fy), -1);
	assert_int_equal(aiss_fy_parse("25-26", &fy), -1);
	assert_string_equal(aiss_fy_format(2024, b, sizeof(b)), "2024-25");
	assert_int_equal(aiss_fy_start(2025), FY2025);
	assert_int_equal(aiss_quarter_start(2024, 5), FY2025);
	aiss_quarter_of(FY2025, &fy, &q);
	assert_int_equal(fy, 2025);
	assert_int_equal(q, 1);
	aiss_quarter_of(FY2025 - 1, &fy, &q);
	assert_int_equal(fy, 2024);
	assert_int_equal(q, 4);
	/* Q2 begins 2025-07-01 00:00 HKT, i.e. 16:00 UTC on 30 June */
	assert_int_equal(aiss_time_parse("2025-07-01", &t), 0);
	assert_int_equal(aiss_quarter_start(2025, 2), t);
	aiss_quarter_of(t - 1, &fy, &q);
	assert_int_equal(q, 1);
	aiss_quarter_of(t, &fy, &q);
	assert_int_equal(q, 2);
	/* 2026-01-01 is Q4 of 2025-26 */
	assert_int_equal(aiss_time_parse("2026-01-01", &t), 0);
	assert_int_equal(aiss_quarter_start(2025, 4), t);
	aiss_quarter_of(t, &fy, &q);
	assert_int_equal(fy, 2025);
	assert_int_equal(q, 4);
	aiss_quarter_of(t - 1, &fy, &q);
	assert_int_equal(q, 3);
	assert_int_equal(aiss_quarter_index(2025, 1) - aiss_quarter_index(2024, 4),
			 1);
}

static aiss_grant_terms terms(int32_t bp, aiss_time_t ws, aiss_time_t we,
			      aiss_cents_t rem)
{
	aiss_grant_terms g = {.rate_bp = bp,
			      .window_start = ws,
			      .window_end = we,
			      .remaining_subsidy = rem};
	return g;
}

static void test_policy_charge(void **state)
{
	aiss_grant_terms g = terms(7000, 0, 4000000000LL, INT64_MAX);
	aiss_run_usage r = {.gpus = 8, .start = FY2025, .end = FY2025 + 3600};
	aiss_charge c;
	aiss_error e;

	/* 8 GPU-hours at HK$30.00 per GPU-hour, 70% */
	assert_int_equal(aiss_policy_charge(&r, 3000, &g, &c, &e), 0);
	assert_int_equal(c.gpu_seconds, 28800);
	assert_int_equal(c.list_cost, 24000);
	assert_int_equal(c.in_window_cost, 24000);
	assert_int_equal(c.subsidy, 16800);
	assert_int_equal(c.copay, 7200);
	assert_false(c.capped);

	/* list cost tie: 1 GPU-second at 1800 c/h = 0.5 cent -> 1 */
	r = (aiss_run_usage){.gpus = 1, .start = 100, .end = 101};
	assert_int_equal(aiss_policy_charge(&r, 1800, &g, &c, &e), 0);
	assert_int_equal(c.list_cost, 1);
	/* subsidy tie: 70% of 1 cent = 0.7 -> 1; 50% of 1 cent = 0.5 -> 1 */
	assert_int_equal(c.subsidy, 1);
	assert_int_equal(c.copay, 0);
	g.rate_bp = 5000;
	assert_int_equal(aiss_policy_charge(&r, 1800, &g, &c, &e), 0);
	assert_int_equal(c.subsidy, 1);
	g.rate_bp = 4999;
	assert_int_equal(aiss_policy_charge(&r, 1800, &g, &c, &e), 0);
	assert_int_equal(c.subsidy, 0);
	assert_int_equal(c.copay, 1);
	/* 1.5 cents -> 2 */
	assert_int_equal(aiss_policy_charge(&r, 5400, &g, &c, &e), 0);
	assert_int_equal(c.list_cost, 2);

	/* cap binds; negative remaining counts as zero */
	g = terms(7000, 0, 4000000000LL, 100);
	r = (aiss_run_usage){.gpus = 8, .start = FY2025, .end = FY2025 + 3600};
	assert_int_equal(aiss_policy_charge(&r, 3000, &g, &c, &e), 0);
	assert_int_equal(c.subsidy, 100);
	assert_true(c.capped);
	assert_int_equal(c.copay, 23900);
	g.remaining_subsidy = -500;
	assert_int_equal(aiss_policy_charge(&r, 3000, &g, &c, &e), 0);
	assert_int_equal(c.subsidy, 0);
	assert_int_equal(c.copay, 24000);

	/* NODE_FAIL: charged zero, usage still recorded */
	g.remaining_subsidy = INT64_MAX;
	r.node_fail = true;
	assert_int_equal(aiss_policy_charge(&r, 3000, &g, &c, &e), 0);
	assert_int_equal(c.gpu_seconds, 28800);
	assert_int_equal(c.list_cost, 0);
	assert_int_equal(c.subsidy, 0);
	assert_int_equal(c.copay, 0);

	/* a zero-length run costs nothing */
	r = (aiss_run_usage){.gpus = 8, .start = FY2025, .end = FY2025};
	assert_int_equal(aiss_policy_charge(&r, 3000, &g, &c, &e), 0);
	assert_int_equal(c.list_cost, 0);
}

static void test_policy_window_edges(void **state)
{
	const aiss_time_t ws = FY2025, we = FY2025 + 86400;
	aiss_grant_terms g = terms(7000, ws, we, INT64_MAX);
	aiss_run_usage r = {.gpus = 1, .start = ws - 3600, .end = ws + 3600};
	aiss_charge c;

	/* half the run inside: list 72.00, in-window 36.00, subsidy 25.20 */
	assert_int_equal(aiss_policy_charge(&r, 3600, &g, &c, NULL), 0);
	assert_int_equal(c.list_cost, 7200);
	assert_int_equal(c.in_window_seconds, 3600);
	assert_int_equal(c.in_window_cost, 3600);
	assert_int_equal(c.subsidy, 2520);
	assert_int_equal(c.copay, 4680);
	/* ends exactly at the window's start: nothing subsidised */
	r = (aiss_run_usage){.gpus = 1, .start = ws - 3600, .end = ws};
	assert_int_equal(aiss_policy_charge(&r, 3600, &g, &c, NULL), 0);
	assert_int_equal(c.in_window_seconds, 0);
	assert_int_equal(c.subsidy, 0);
	assert_int_equal(c.copay, 3600);
	/* starts exactly at the window's end ([start, end) is half-open) */
	r = (aiss_run_usage){.gpus = 1, .start = we, .end = we + 60};
	assert_int_equal(aiss_policy_charge(&r, 3600, &g, &c, NULL), 0);
	assert_int_equal(c.subsidy, 0);
	/* one second inside at each end */
	r = (aiss_run_usage){.gpus = 1, .start = we - 1, .end = we + 1};
	assert_int_equal(aiss_policy_charge(&r, 3600, &g, &c, NULL), 0);
	assert_int_equal(c.list_cost, 2);
	assert_int_equal(c.in_window_cost, 1);
	assert_int_equal(c.subsidy, 1); /* 0.7 -> 1 */
	/* in-window tie: list 1 cent, half inside -> 0.5 -> 1 */
	r = (aiss_run_usage){.gpus = 1, .start = ws - 1, .end = ws + 1};
	assert_int_equal(aiss_policy_charge(&r, 1800, &g, &c, NULL), 0);
	assert_int_equal(c.list_cost, 1);
	assert_int_equal(c.in_window_cost, 1);
}

static void test_policy_invalid(void **state)
{
	aiss_grant_terms g = terms(9500, 0, 10, INT64_MAX);
	aiss_run_usage r = {.gpus = 1, .start = 0, .end = 10};
	aiss_charge c;
	aiss_error e;

	assert_false(aiss_policy_rate_valid(9500));
	assert_false(aiss_policy_rate_valid(-1));
	assert_true(aiss_policy_rate_valid(0));
	assert_true(aiss_policy_rate_valid(9000));
	assert_int_equal(aiss_policy_charge(&r, 100, &g, &c, &e), -1);
	assert_int_equal(e.code, AISS_E_INVALID);
	assert_non_null(strstr(e.text, "9500"));
	g.rate_bp = 7000;
	r.gpus = -1;
	assert_int_equal(aiss_policy_charge(&r, 100, &g, &c, &e), -1);
	assert_non_null(strstr(e.text, "GPU count"));
	r.gpus = 1;
	r.end = -5;
	assert_int_equal(aiss_policy_charge(&r, 100, &g, &c, &e), -1);
	assert_int_equal(e.code, AISS_E_INVALID);
	r.end = 10;
	assert_int_equal(aiss_policy_charge(&r, -100, &g, &c, &e), -1);
	assert_int_equal(aiss_policy_charge(&r, AISS_PRICE_LIMIT + 1LL, &g, &c,
					    &e),
			 -1);
}

static void test_policy_fit(void **state)
{
	aiss_grant_terms g = terms(7000, 0, 4000000000LL, INT64_MAX);
	aiss_charge c;
	int64_t t, n;

	/* 8 GPUs at HK$30/h for 4 h: worst subsidy 672.00 */
	assert_int_equal(aiss_policy_worst_case(8, 4 * 3600, FY2025, 3000, &g,
						&c, NULL),
			 0);
	assert_int_equal(c.subsidy, 67200);
	t = aiss_policy_max_time(8, FY2025, 3000, &g, 67200, 86400);
	assert_int_equal(t, 4 * 3600);
	t = aiss_policy_max_time(8, FY2025, 3000, &g, 67199, 86400);
	assert_true(t < 4 * 3600 && t >= 4 * 3600 - 60);
	assert_int_equal(t % 60, 0);
	assert_int_equal(aiss_policy_worst_case(8, t, FY2025, 3000, &g, &c,
						NULL),
			 0);
	assert_true(c.subsidy <= 67199);
	assert_int_equal(aiss_policy_max_time(8, FY2025, 3000, &g, 0, 86400),
			 0);
	assert_int_equal(aiss_policy_max_time(8, FY2025, 3000, &g, 1LL << 40,
					      86400),
			 86400);
	n = aiss_policy_max_gpus(4 * 3600, FY2025, 3000, &g, 67200, 64);
	assert_int_equal(n, 8);
	n = aiss_policy_max_gpus(4 * 3600, FY2025, 3000, &g, 67199, 64);
	assert_int_equal(n, 7);
	/* outside the window the subsidy is zero, so anything fits */
	g = terms(7000, 0, 10, INT64_MAX);
	assert_int_equal(aiss_policy_max_gpus(3600, FY2025, 3000, &g, 0, 64),
			 64);
}

static void test_apportion(void **state)
{
	int64_t w3[] = {1, 1, 1}, w2[] = {1, 2}, w0[] = {0, 0};
	aiss_cents_t out[AISS_SPLIT_MAX];

	assert_int_equal(aiss_apportion(100, w3, 3, out), 0);
	assert_int_equal(out[0], 34); /* tie goes to the earlier part */
	assert_int_equal(out[1], 33);
	assert_int_equal(out[2], 33);
	assert_int_equal(aiss_apportion(10, w2, 2, out), 0);
	assert_int_equal(out[0], 3);
	assert_int_equal(out[1], 7); /* 6.67 has the larger remainder */
	assert_int_equal(aiss_apportion(-100, w3, 3, out), 0);
	assert_int_equal(out[0], -34);
	assert_int_equal(out[2], -33);
	assert_int_equal(aiss_apportion(5, w0, 2, out), 0);
	assert_int_equal(out[0], 5);
	assert_int_equal(out[1], 0);
	assert_int_equal(aiss_apportion(5, w0, 0, out), -1);
	w2[0] = -1;
	assert_int_equal(aiss_apportion(5, w2, 2, out), -1);

	/* parts always sum to the whole */
	srand(7);
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = 1 + (size_t)rand() % 8;
		int64_t w[8];
		aiss_cents_t total = (aiss_cents_t)rand() * rand() - 5000, s = 0;

		for (size_t i = 0; i < n; i++)
			w[i] = rand() % 10000000;
		assert_int_equal(aiss_apportion(total, w, n, out), 0);
		for (size_t i = 0; i < n; i++)
			s += out[i];
		assert_int_equal(s, total);
	}
}

static void test_split(void **state)
{
	aiss_charge c = {.list_cost = 1001, .subsidy = 701, .copay = 300};
	aiss_period_share sh[AISS_SPLIT_MAX];
	size_t n;
	aiss_time_t t;

	/* across the fiscal-year boundary at HK midnight: half and half */
	assert_int_equal(aiss_policy_split(FY2025 - 3600, FY2025 + 3600, 4, &c,
					   sh, AISS_SPLIT_MAX, &n, NULL),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(sh[0].fy, 2024);
	assert_int_equal(sh[0].quarter, 4);
	assert_int_equal(sh[1].fy, 2025);
	assert_int_equal(sh[1].quarter, 1);
	assert_int_equal(sh[0].seconds, 3600);
	assert_int_equal(sh[0].gpu_seconds, 14400);
	assert_int_equal(sh[0].list_cost, 501); /* 500.5 tie -> earlier */
	assert_int_equal(sh[1].list_cost, 500);
	assert_int_equal(sh[0].subsidy, 351);
	assert_int_equal(sh[1].subsidy, 350);
	assert_int_equal(sh[0].copay + sh[1].copay, 300);

	/* crosses UTC midnight of 1 July but not HK midnight: one quarter */
	assert_int_equal(aiss_time_parse("2025-06-30T23:00:00Z", &t), 0);
	assert_int_equal(aiss_policy_split(t, t + 7200, 1, &c, sh,
					   AISS_SPLIT_MAX, &n, NULL),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(sh[0].quarter, 2);
	assert_int_equal(sh[0].list_cost, 1001);
	/* crosses HK midnight of 1 July (16:00 UTC): two quarters */
	assert_int_equal(aiss_time_parse("2025-06-30T15:00:00Z", &t), 0);
	assert_int_equal(aiss_policy_split(t, t + 3 * 3600, 1, &c, sh,
					   AISS_SPLIT_MAX, &n, NULL),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(sh[0].seconds, 3600);
	assert_int_equal(sh[1].seconds, 7200);
	assert_int_equal(sh[0].list_cost, 334); /* 333.67 */
	assert_int_equal(sh[1].list_cost, 667); /* 667.33 */
	/* ends exactly on the boundary: no empty trailing quarter */
	assert_int_equal(aiss_policy_split(FY2025 - 60, FY2025, 1, &c, sh,
					   AISS_SPLIT_MAX, &n, NULL),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(sh[0].fy, 2024);
	/* zero-length run: all in the quarter of its start */
	assert_int_equal(aiss_policy_split(FY2025, FY2025, 1, &c, sh,
					   AISS_SPLIT_MAX, &n, NULL),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(sh[0].fy, 2025);
	assert_int_equal(sh[0].subsidy, 701);

	/* random runs over two years: each amount's parts sum to the whole */
	srand(11);
	for (int iter = 0; iter < 5000; iter++) {
		aiss_time_t s = FY2025 + (rand() % (400 * 86400));
		aiss_time_t e = s + (rand() % (300 * 86400));
		aiss_charge cc = {.list_cost = rand(), .subsidy = rand() / 2};
		aiss_cents_t l = 0, sb = 0, cp = 0;
		int64_t secs = 0;

		cc.copay = cc.list_cost - cc.subsidy;
		assert_int_equal(aiss_policy_split(s, e, 2, &cc, sh,
						   AISS_SPLIT_MAX, &n, NULL),
				 0);
		for (size_t i = 0; i < n; i++) {
			l += sh[i].list_cost;
			sb += sh[i].subsidy;
			cp += sh[i].copay;
			secs += sh[i].seconds;
		}
		assert_int_equal(l, cc.list_cost);
		assert_int_equal(sb, cc.subsidy);
		assert_int_equal(cp, cc.copay);
		assert_int_equal(secs, e - s);
	}
}

static void sha_hex(const char *msg, size_t len, char *hex)
{
	uint8_t d[AISS_SHA256_LEN];

	aiss_sha256(msg, len, d);
	aiss_sha256_hex(d, hex);
}

/* FIPS 180-4 / NIST CAVP examples; @repeat copies of @msg. */
static const struct sha_vector {
	const char *msg;
	size_t repeat;
	const char *hex;
} sha_vectors[] = {
	{"", 1,
	 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{"abc", 1,
	 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
	 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	 "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	 1, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
	{"a", 1000000,
	 "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
};

/* Every vector one-shot and incrementally, in 999-byte pieces, through
 * the implementation in use. */
static void check_sha_vectors(void)
{
	char hex[AISS_SHA256_HEXLEN];
	uint8_t d[AISS_SHA256_LEN];
	aiss_sha256_ctx c;

	for (size_t v = 0; v < sizeof(sha_vectors) / sizeof(sha_vectors[0]);
	     v++) {
		const struct sha_vector *t = &sha_vectors[v];
		size_t n = strlen(t->msg), len = n * t->repeat;
		char *m = malloc(len + 1);

		assert_non_null(m);
		for (size_t i = 0; i < t->repeat; i++)
			memcpy(m + i * n, t->msg, n);
		sha_hex(m, len, hex);
		assert_string_equal(hex, t->hex);
		aiss_sha256_init(&c);
		for (size_t off = 0; off < len; off += 999)
			aiss_sha256_update(&c, m + off,
					   len - off < 999 ? len - off : 999);
		aiss_sha256_final(&c, d);
		assert_string_equal(aiss_sha256_hex(d, hex), t->hex);
		free(m);
	}
}

static void test_sha256(void **state)
{
	assert_int_equal(aiss_sha256_set_impl(AISS_SHA256_IMPL_PORTABLE), 0);
	assert_int_equal(aiss_sha256_get_impl(), AISS_SHA256_IMPL_PORTABLE);
	check_sha_vectors();
	assert_int_equal(aiss_sha256_set_impl(AISS_SHA256_IMPL_AUTO), 0);
	assert_int_not_equal(aiss_sha256_get_impl(), AISS_SHA256_IMPL_AUTO);
	check_sha_vectors();
}

static void test_sha256_shani(void **state)
{
	if (aiss_sha256_set_impl(AISS_SHA256_IMPL_SHANI) != 0) {
		print_message("skipped: this CPU (or build) has no x86 SHA "
			      "extensions; only the portable SHA-256 ran\n");
		skip();
	}
	assert_int_equal(aiss_sha256_get_impl(), AISS_SHA256_IMPL_SHANI);
	check_sha_vectors();
	aiss_sha256_set_impl(AISS_SHA256_IMPL_AUTO);
}

static uint64_t sha_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Digest of @m[0..len) fed in pieces cut at @cuts (ascending, <= len). */
static void sha_pieces(const uint8_t *m, size_t len, const size_t *cuts,
		       int ncuts, uint8_t d[AISS_SHA256_LEN])
{
	aiss_sha256_ctx c;
	size_t at = 0;

	aiss_sha256_init(&c);
	for (int i = 0; i < ncuts; i++) {
		aiss_sha256_update(&c, m + at, cuts[i] - at);
		at = cuts[i];
	}
	aiss_sha256_update(&c, m + at, len - at);
	aiss_sha256_final(&c, d);
}

/* Random lengths 0..1000 and random split points: SHA-NI and the portable
 * code give the same digests, one-shot and incremental. */
static void test_sha256_paths_agree(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	uint8_t m[1000], ref[AISS_SHA256_LEN], d[AISS_SHA256_LEN];
	size_t cuts[4];

	if (aiss_sha256_set_impl(AISS_SHA256_IMPL_SHANI) != 0) {
		print_message("skipped: no x86 SHA extensions to compare "
			      "with the portable SHA-256\n");
		skip();
	}
	for (int iter = 0; iter < 3000; iter++) {
		size_t len = iter <= 1000 ? (size_t)iter
					  : (size_t)(sha_rand(&seed) % 1001);
		int ncuts = (int)(sha_rand(&seed) % 5);

		for (size_t i = 0; i < len; i++)
			m[i] = (uint8_t)sha_rand(&seed);
		for (int i = 0; i < ncuts; i++)
			cuts[i] = (size_t)(sha_rand(&seed) % (len + 1));
		for (int i = 1; i < ncuts; i++) /* insertion sort */
			for (int j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
				size_t t = cuts[j];

				cuts[j] = cuts[j - 1];
				cuts[j - 1] = t;
			}
		aiss_sha256_set_impl(AISS_SHA256_IMPL_PORTABLE);
		aiss_sha256(m, len, ref);
		sha_pieces(m, len, cuts, ncuts, d);
		assert_memory_equal(d, ref, sizeof(d));
		aiss_sha256_set_impl(AISS_SHA256_IMPL_SHANI);
		aiss_sha256(m, len, d);
		assert_memory_equal(d, ref, sizeof(d));
		sha_pieces(m, len, cuts, ncuts, d);
		assert_memory_equal(d, ref, sizeof(d));
	}
	aiss_sha256_set_impl(AISS_SHA256_IMPL_AUTO);
}

static void test_errors(void **state)
{
	aiss_error e;

	assert_int_equal(aiss_error_set(&e, AISS_E_INSUFFICIENT, "left %d", 5),
			 -1);
	assert_string_equal(e.text, "left 5");
	assert_int_equal(aiss_status_exit_code(AISS_OK), 0);
	assert_int_equal(aiss_status_exit_code(AISS_E_INSUFFICIENT), 1);
	assert_int_equal(aiss_status_exit_code(AISS_E_INVALID), 2);
	assert_int_equal(aiss_status_exit_code(AISS_E_UNAVAILABLE), 3);
	for (int s = 0; s < AISS_E__COUNT; s++)
		assert_string_not_equal(aiss_status_name((aiss_status)s),
					"unknown");
	aiss_error_clear(&e);
	assert_int_equal(e.code, AISS_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_muldiv_rounding),
		cmocka_unit_test(test_money_parse),
		cmocka_unit_test(test_money_format),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_fiscal_calendar),
		cmocka_unit_test(test_policy_charge),
		cmocka_unit_test(test_policy_window_edges),
		cmocka_unit_test(test_policy_invalid),
		cmocka_unit_test(test_policy_fit),
		cmocka_unit_test(test_apportion),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_sha256_shani),
		cmocka_unit_test(test_sha256_paths_agree),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
