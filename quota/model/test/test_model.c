/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_model.c: the run key's text form against the snprintf() it
 * replaced, at every buffer length (truncation included). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "aiss_model.h"

static void check_key(const char *cluster, uint64_t job, int64_t start)
{
	aiss_run_key k;
	char want[128], got[128];

	memset(&k, 0, sizeof(k));
	snprintf(k.cluster, sizeof(k.cluster), "%s", cluster);
	k.job_id = job;
	k.run_start = (aiss_time_t)start;
	for (size_t len = 1; len <= sizeof(want); len++) {
		snprintf(want, len, "%s/%" PRIu64 "@%" PRId64, k.cluster,
			 k.job_id, (int64_t)k.run_start);
		memset(got, 'x', sizeof(got));
		assert_ptr_equal(aiss_run_key_format(&k, got, len), got);
		assert_string_equal(got, want);
	}
}

static void test_run_key_format(void **state)
{
	(void)state;
	check_key("hk1", 123456, 1760000000);
	check_key("", 0, 0);
	check_key("c", UINT64_MAX, INT64_MAX);
	check_key("cluster-with-a-long-name", 1, -1);
	check_key("x", 42, INT64_MIN);
	uint64_t r = 88172645463325252ULL;
	for (int i = 0; i < 2000; i++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		check_key(i % 2 ? "gn" : "aiss-cluster", r >> (i % 64),
			  (int64_t)(r * 2654435761u) >> (i % 63));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_key_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
