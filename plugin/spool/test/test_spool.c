/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_spool.c: unit tests of the durable settle spool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aiss_spool.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/aiss-spool-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static aiss_settle_req rec(uint64_t job)
{
	aiss_settle_req r;

	memset(&r, 0, sizeof(r));
	strcpy(r.key.cluster, "aisc");
	r.key.job_id = job;
	r.key.run_start = 1750000000 + (int64_t)job;
	strcpy(r.account, "proj-a");
	strcpy(r.user, "alice");
	strcpy(r.gpu_type, "h100");
	r.gpus = 8;
	r.end = r.key.run_start + 3600;
	strcpy(r.end_state, "COMPLETED");
	return r;
}

static void test_format_parse_roundtrip(void **state)
{
	char buf[2048];
	aiss_settle_req a = rec(42), b;

	(void)state;
	assert_true(aiss_spool_format(&a, buf, sizeof(buf)) > 0);
	assert_int_equal(aiss_spool_parse(buf, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	/* truncated record (no "end.") is refused */
	buf[strlen(buf) - 3] = '\0';
	assert_int_equal(aiss_spool_parse(buf, &b), -1);
	assert_int_equal(aiss_spool_parse("garbage\n", &b), -1);
	/* a key given twice is refused */
	assert_true(aiss_spool_format(&a, buf, sizeof(buf)) > 0);
	{
		char dup[2200];

		snprintf(dup, sizeof(dup), "aiss-spool 1\nuser=x\n%s",
			 buf + strlen("aiss-spool 1\n"));
		assert_int_equal(aiss_spool_parse(dup, &b), -1);
	}
	assert_int_equal(
	    aiss_spool_parse("aiss-spool 1\ncluster=x\nend.\n", &b), -1);
	strcpy(a.user, "bad\nuser");
	assert_int_equal(aiss_spool_format(&a, buf, sizeof(buf)), -1);
}

struct sink {
	uint64_t seen[16];
	size_t n;
	size_t fail_at;  /* RETRY when n reaches this (0: never) */
	uint64_t reject; /* job id to REJECT */
};

static aiss_spool_verdict sink_cb(const aiss_settle_req *r, void *arg)
{
	struct sink *s = arg;

	if (s->fail_at && s->n + 1 == s->fail_at)
		return AISS_SPOOL_RETRY;
	if (r->key.job_id == s->reject)
		return AISS_SPOOL_REJECT;
	s->seen[s->n++] = r->key.job_id;
	return AISS_SPOOL_DONE;
}

static void test_append_replay_order(void **state)
{
	aiss_error e;
	aiss_spool *s = aiss_spool_open(dir, &e);
	struct sink k = {.fail_at = 3};
	size_t done;

	(void)state;
	assert_non_null(s);
	for (uint64_t j = 1; j <= 5; j++) {
		aiss_settle_req r = rec(j);

		assert_int_equal(aiss_spool_append(s, &r, &e), 0);
	}
	assert_int_equal(aiss_spool_pending(s), 5);
	/* the third record hits an outage: the replay stops, in order */
	assert_int_equal(aiss_spool_replay(s, sink_cb, &k, &done, &e), 0);
	assert_int_equal(done, 2);
	assert_int_equal(k.n, 2);
	assert_int_equal(aiss_spool_pending(s), 3);
	aiss_spool_close(s);

	/* reopened (a restart): the rest comes back in order, after new ones
	 * get later sequence numbers */
	s = aiss_spool_open(dir, &e);
	assert_non_null(s);
	{
		aiss_settle_req r = rec(6);

		assert_int_equal(aiss_spool_append(s, &r, &e), 0);
	}
	k.fail_at = 0;
	k.reject = 4;
	assert_int_equal(aiss_spool_replay(s, sink_cb, &k, &done, &e), 0);
	assert_int_equal(done, 4);
	assert_int_equal(k.n, 5);
	assert_int_equal(k.seen[0], 1);
	assert_int_equal(k.seen[1], 2);
	assert_int_equal(k.seen[2], 3);
	assert_int_equal(k.seen[3], 5);
	assert_int_equal(k.seen[4], 6);
	assert_int_equal(aiss_spool_pending(s), 0);
	/* the rejected record is kept in failed/ for an operator */
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/failed/%020d.rec", dir, 4);
		assert_int_equal(access(p, F_OK), 0);
	}
	aiss_spool_close(s);
	aiss_spool_close(NULL);
}

static void test_corrupt_and_tmp(void **state)
{
	char p[128];
	aiss_error e;
	aiss_spool *s;
	struct sink k = {0};
	size_t done;
	FILE *f;

	(void)state;
	snprintf(p, sizeof(p), "%s/%020d.rec", dir, 7);
	f = fopen(p, "w");
	fputs("aiss-spool 1\ncluster=x\n", f); /* torn */
	fclose(f);
	snprintf(p, sizeof(p), "%s/.tmp.%020d", dir, 8);
	f = fopen(p, "w");
	fputs("partial", f);
	fclose(f);
	s = aiss_spool_open(dir, &e);
	assert_non_null(s);
	assert_int_equal(access(p, F_OK), -1); /* tmp removed on open */
	{
		aiss_settle_req r = rec(9);

		assert_int_equal(aiss_spool_append(s, &r, &e), 0);
	}
	assert_int_equal(aiss_spool_replay(s, sink_cb, &k, &done, &e), 0);
	assert_int_equal(done, 2);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.seen[0], 9); /* seq 8 > 7: after the corrupt one */
	aiss_spool_close(s);

	assert_null(aiss_spool_open("/proc/no/such/spool", &e));
	assert_int_equal(e.code, AISS_E_STORAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_parse_roundtrip),
	    cmocka_unit_test_setup_teardown(test_append_replay_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_and_tmp, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
