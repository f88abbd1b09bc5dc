/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_cli.c: unit tests of aissctl's parsing (time limits, rates,
 * GPU-hours, options) and output (tables, JSON) helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

static void test_duration(void **state)
{
	int64_t s;
	char buf[32];

	(void)state;
	assert_int_equal(ctl_parse_duration("240", &s), 0);
	assert_int_equal(s, 240 * 60);
	assert_int_equal(ctl_parse_duration("4:00:00", &s), 0);
	assert_int_equal(s, 4 * 3600);
	assert_int_equal(ctl_parse_duration("10:30", &s), 0); /* MM:SS */
	assert_int_equal(s, 630);
	assert_int_equal(ctl_parse_duration("2-12", &s), 0);
	assert_int_equal(s, 2 * 86400 + 12 * 3600);
	assert_int_equal(ctl_parse_duration("1-02:03", &s), 0);
	assert_int_equal(s, 86400 + 2 * 3600 + 3 * 60);
	assert_int_equal(ctl_parse_duration("1-02:03:04", &s), 0);
	assert_int_equal(s, 86400 + 2 * 3600 + 3 * 60 + 4);
	assert_int_equal(ctl_parse_duration("100:00:00", &s), 0);
	assert_int_equal(s, 100 * 3600);
	/* refusals */
	assert_int_equal(ctl_parse_duration("", &s), -1);
	assert_int_equal(ctl_parse_duration("0", &s), -1);
	assert_int_equal(ctl_parse_duration("1:60:00", &s), -1);
	assert_int_equal(ctl_parse_duration("1:2:3:4", &s), -1);
	assert_int_equal(ctl_parse_duration("-5", &s), -1);
	assert_int_equal(ctl_parse_duration("4h", &s), -1);
	assert_int_equal(ctl_parse_duration("1-", &s), -1);
	assert_int_equal(ctl_parse_duration("99999-00", &s), -1); /* > limit */
	assert_int_equal(ctl_parse_duration("999999999999999999999", &s), -1);

	assert_string_equal(ctl_format_duration(4 * 3600, buf, sizeof(buf)),
			    "04:00:00");
	assert_string_equal(ctl_format_duration(86400 + 3661, buf, sizeof(buf)),
			    "1-01:01:01");
	assert_string_equal(ctl_format_duration(59, buf, sizeof(buf)),
			    "00:00:59");
}

static void test_rate(void **state)
{
	int64_t bp;

	(void)state;
	assert_int_equal(ctl_parse_rate_percent("70%", &bp), 0);
	assert_int_equal(bp, 7000);
	assert_int_equal(ctl_parse_rate_percent("90", &bp), 0);
	assert_int_equal(bp, 9000);
	assert_int_equal(ctl_parse_rate_percent("70.5%", &bp), 0);
	assert_int_equal(bp, 7050);
	assert_int_equal(ctl_parse_rate_percent("0.01%", &bp), 0);
	assert_int_equal(bp, 1);
	/* 95% parses (the service refuses it with the policy's sentence) */
	assert_int_equal(ctl_parse_rate_percent("95%", &bp), 0);
	assert_int_equal(bp, 9500);
	assert_int_equal(ctl_parse_rate_percent("70.123%", &bp), -1);
	assert_int_equal(ctl_parse_rate_percent("-70%", &bp), -1);
	assert_int_equal(ctl_parse_rate_percent("%", &bp), -1);
	assert_int_equal(ctl_parse_rate_percent("seventy", &bp), -1);
	assert_int_equal(ctl_parse_rate_percent("1,000%", &bp), -1);
}

static void test_gpu_hours(void **state)
{
	int64_t gs;
	char buf[AISS_MONEY_BUFSZ];

	(void)state;
	assert_int_equal(ctl_parse_gpu_hours("1000", &gs), 0);
	assert_int_equal(gs, 3600000);
	assert_int_equal(ctl_parse_gpu_hours("1,000", &gs), 0);
	assert_int_equal(gs, 3600000);
	assert_int_equal(ctl_parse_gpu_hours("12.5", &gs), 0);
	assert_int_equal(gs, 45000);
	assert_int_equal(ctl_parse_gpu_hours("0.0001", &gs), 0);
	assert_int_equal(gs, 0); /* 0.36 s rounds to 0 */
	assert_int_equal(ctl_parse_gpu_hours("0.0002", &gs), 0);
	assert_int_equal(gs, 1); /* 0.72 s rounds to 1 */
	assert_int_equal(ctl_parse_gpu_hours("1,00", &gs), -1);
	assert_int_equal(ctl_parse_gpu_hours("1.", &gs), -1);
	assert_int_equal(ctl_parse_gpu_hours("-3", &gs), -1);
	assert_int_equal(ctl_parse_gpu_hours("1.00001", &gs), -1);

	assert_string_equal(ctl_format_gpu_hours(3600000, buf, sizeof(buf)),
			    "1,000.00");
	/* 18 s = 0.005 h rounds half up to 0.01 */
	assert_string_equal(ctl_format_gpu_hours(18, buf, sizeof(buf)), "0.01");
	assert_string_equal(ctl_format_gpu_hours(17, buf, sizeof(buf)), "0.00");
}

static void test_count_when(void **state)
{
	int64_t n;
	aiss_time_t t;

	(void)state;
	assert_int_equal(ctl_parse_count("42", &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(ctl_parse_count("4x", &n), -1);
	assert_int_equal(ctl_parse_count("-4", &n), -1);
	assert_int_equal(ctl_parse_count("", &n), -1);
	assert_int_equal(ctl_parse_when("2025-04-01", &t), 0);
	assert_int_equal(t, 1743436800); /* 2025-04-01 00:00 HKT */
	assert_int_equal(ctl_parse_when("now", &t), 0);
	assert_true(t > 1700000000);
	assert_int_equal(ctl_parse_when("yesterday", &t), -1);
}

static void test_opts(void **state)
{
	static const char *const spec[] = {"account=", "gpus=", "force", NULL};
	char a0[] = "G1", a1[] = "--account", a2[] = "acme", a3[] = "--gpus=8",
	     a4[] = "--force", a5[] = "--", a6[] = "--literal";
	char *argv[] = {a0, a1, a2, a3, a4, a5, a6};
	char b0[] = "--bogus", b1[] = "--account";
	char *bad1[] = {b0};
	char *bad2[] = {b1};
	char *bad3[] = {a1, a2, a1, a2};
	char c0[] = "--force=1";
	char *bad4[] = {c0};
	ctl_opts o;

	(void)state;
	assert_int_equal(ctl_opts_parse(&o, 7, argv, spec), 0);
	assert_int_equal(o.npos, 2);
	assert_string_equal(o.pos[0], "G1");
	assert_string_equal(o.pos[1], "--literal");
	assert_string_equal(ctl_opt(&o, "account"), "acme");
	assert_string_equal(ctl_opt(&o, "gpus"), "8");
	assert_string_equal(ctl_opt(&o, "force"), "");
	assert_null(ctl_opt(&o, "user"));
	assert_null(ctl_opt(&o, "acc"));

	assert_int_equal(ctl_opts_parse(&o, 1, bad1, spec), -1);
	assert_non_null(strstr(o.err, "--bogus"));
	assert_int_equal(ctl_opts_parse(&o, 1, bad2, spec), -1);
	assert_non_null(strstr(o.err, "needs a value"));
	assert_int_equal(ctl_opts_parse(&o, 4, bad3, spec), -1);
	assert_non_null(strstr(o.err, "twice"));
	assert_int_equal(ctl_opts_parse(&o, 1, bad4, spec), -1);
}

static void test_json_and_table(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ctl_json j;
	static const char *const heads[] = {"NAME", "HK$"};
	static const bool right[] = {false, true};
	ctl_table *t;
	const char *r1[] = {"alpha", "1,234.56"};
	const char *r2[] = {"b", "7.00"};

	(void)state;
	assert_non_null(f);
	ctl_json_init(&j, f);
	ctl_json_obj(&j, NULL);
	ctl_json_str(&j, "name", "a \"q\"\n\\");
	ctl_json_money(&j, "amount", -123456);
	ctl_json_arr(&j, "xs");
	ctl_json_int(&j, NULL, 1);
	ctl_json_int(&j, NULL, 2);
	ctl_json_arr_end(&j);
	ctl_json_bool(&j, "ok", true);
	ctl_json_obj_end(&j);
	ctl_json_done(&j);
	fclose(f);
	assert_string_equal(buf, "{\"name\":\"a \\\"q\\\"\\n\\\\\","
				 "\"amount_cents\":-123456,"
				 "\"amount\":\"-1,234.56\","
				 "\"xs\":[1,2],\"ok\":true}\n");
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	t = ctl_table_new(2, heads, right);
	assert_non_null(t);
	assert_int_equal(ctl_table_row(t, r1), 0);
	assert_int_equal(ctl_table_row(t, r2), 0);
	ctl_table_print(t, f);
	fclose(f);
	assert_string_equal(buf, "NAME        HK$\n"
				 "alpha  1,234.56\n"
				 "b          7.00\n");
	free(buf);
}

static void test_rate_format(void **state)
{
	char b[16];

	(void)state;
	assert_string_equal(ctl_rate(7000, b, sizeof(b)), "70.00%");
	assert_string_equal(ctl_rate(9000, b, sizeof(b)), "90.00%");
	assert_string_equal(ctl_rate(7050, b, sizeof(b)), "70.50%");
	assert_string_equal(ctl_rate(5, b, sizeof(b)), "0.05%");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_rate),
	    cmocka_unit_test(test_gpu_hours),
	    cmocka_unit_test(test_count_when),
	    cmocka_unit_test(test_opts),
	    cmocka_unit_test(test_json_and_table),
	    cmocka_unit_test(test_rate_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
