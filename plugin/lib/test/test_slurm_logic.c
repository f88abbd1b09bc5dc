/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_slurm_logic.c: unit tests of the plugins' Slurm-free logic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aiss_slurm.h"

static int64_t worst(const aiss_gpu_request *r, char *type)
{
	aiss_gpu_need n;
	aiss_error e;

	if (aiss_gpu_request_worst(r, &n, &e) < 0)
		return -1;
	if (type)
		strcpy(type, n.gpu_type);
	return n.gpus;
}

static void test_gres_per_node(void **state)
{
	char type[AISS_ID_MAX];
	aiss_gpu_request r = {.tres_per_node = "gpu:h100:4", .min_nodes = 2};

	(void)state;
	assert_int_equal(worst(&r, type), 8);
	assert_string_equal(type, "h100");
	r.tres_per_node = "gres:gpu:2";
	r.min_nodes = 1;
	r.max_nodes = 3; /* --nodes=1-3: worst case is 3 nodes */
	assert_int_equal(worst(&r, type), 6);
	assert_string_equal(type, "");
	r.tres_per_node = "gpu";
	r.max_nodes = 0;
	assert_int_equal(worst(&r, NULL), 1);
	r.tres_per_node = "gpu:h800";
	assert_int_equal(worst(&r, type), 1);
	assert_string_equal(type, "h800");
	r.tres_per_node = "gres/gpu:h800=3";
	assert_int_equal(worst(&r, type), 3);
	r.tres_per_node = "shard:2,gres:gpu:1";
	assert_int_equal(worst(&r, NULL), 1);
	r.tres_per_node = "gpumem:4"; /* not a GPU request */
	assert_int_equal(worst(&r, NULL), 0);
	r.tres_per_node = NULL;
	assert_int_equal(worst(&r, NULL), 0);
}

static void test_gpus_per_job_task_socket(void **state)
{
	aiss_gpu_request r = {.tres_per_job = "gres:gpu:h100:6",
			      .min_nodes = 1};

	(void)state;
	assert_int_equal(worst(&r, NULL), 6);
	/* --gpus-per-task=2 -n 5 */
	r = (aiss_gpu_request){.tres_per_task = "gres:gpu:2", .num_tasks = 5};
	assert_int_equal(worst(&r, NULL), 10);
	/* --gpus-per-task=1 --ntasks-per-node=4 -N 2 */
	r = (aiss_gpu_request){.tres_per_task = "gres:gpu:1",
			       .ntasks_per_node = 4,
			       .min_nodes = 2};
	assert_int_equal(worst(&r, NULL), 8);
	/* --gpus-per-task=1, nothing else: one task per node */
	r = (aiss_gpu_request){.tres_per_task = "gres:gpu:1", .min_nodes = 3};
	assert_int_equal(worst(&r, NULL), 3);
	/* --gpus-per-socket=2, two sockets assumed, 2 nodes */
	r = (aiss_gpu_request){.tres_per_socket = "gres:gpu:2", .min_nodes = 2};
	assert_int_equal(worst(&r, NULL), 8);
	/* the largest of the ways wins */
	r = (aiss_gpu_request){.tres_per_job = "gres:gpu:3",
			       .tres_per_node = "gres:gpu:2",
			       .min_nodes = 2};
	assert_int_equal(worst(&r, NULL), 4);
}

static void test_gpu_request_errors(void **state)
{
	aiss_gpu_need n;
	aiss_error e;
	aiss_gpu_request r = {.tres_per_job = "gres:gpu:h100:2",
			      .tres_per_node = "gpu:h800:1"};

	(void)state;
	assert_int_equal(aiss_gpu_request_worst(&r, &n, &e), -1);
	assert_int_equal(e.code, AISS_E_INVALID);
	assert_non_null(strstr(e.text, "h100"));
	assert_non_null(strstr(e.text, "h800"));
	r = (aiss_gpu_request){.tres_per_node = "gpu:h100:x2"};
	assert_int_equal(aiss_gpu_request_worst(&r, &n, &e), -1);
	r = (aiss_gpu_request){.tres_per_node = "gpu:9999999999"};
	assert_int_equal(aiss_gpu_request_worst(&r, &n, &e), -1);
}

static void test_array_count(void **state)
{
	(void)state;
	assert_int_equal(aiss_array_count(NULL), 1);
	assert_int_equal(aiss_array_count(""), 1);
	assert_int_equal(aiss_array_count("0-9"), 10);
	assert_int_equal(aiss_array_count("0-9%2"), 10);
	assert_int_equal(aiss_array_count("1,3,5-7"), 5);
	assert_int_equal(aiss_array_count("0-15:4"), 4);
	assert_int_equal(aiss_array_count("7"), 1);
	assert_int_equal(aiss_array_count("5-3"), -1);
	assert_int_equal(aiss_array_count("a"), -1);
	assert_int_equal(aiss_array_count("1,,2"), -1);
}

static void test_tres_alloc(void **state)
{
	char type[AISS_ID_MAX];

	(void)state;
	assert_int_equal(
	    aiss_tres_alloc_gpus("cpu=2,mem=2G,node=1,billing=2,gres/gpu=8,"
				 "gres/gpu:h100=8",
				 type, sizeof(type)),
	    8);
	assert_string_equal(type, "h100");
	assert_int_equal(aiss_tres_alloc_gpus("cpu=4,node=2,gres/gpu=16", type,
					      sizeof(type)),
			 16);
	assert_string_equal(type, "");
	assert_int_equal(
	    aiss_tres_alloc_gpus("cpu=1,gres/gpu:h800=3", type, sizeof(type)),
	    3);
	assert_string_equal(type, "h800");
	assert_int_equal(
	    aiss_tres_alloc_gpus("cpu=1,mem=1M,node=1", type, sizeof(type)), 0);
	assert_int_equal(aiss_tres_alloc_gpus(NULL, type, sizeof(type)), 0);
}

static void test_duration(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(aiss_fmt_duration(0, b, sizeof(b)), "00:00:00");
	assert_string_equal(aiss_fmt_duration(5400, b, sizeof(b)), "01:30:00");
	assert_string_equal(aiss_fmt_duration(86400 + 61, b, sizeof(b)),
			    "1-00:01:01");
}

static aiss_quote insufficient_quote(void)
{
	aiss_quote q;

	memset(&q, 0, sizeof(q));
	q.verdict = AISS_E_INSUFFICIENT;
	strcpy(q.grant_id, "AISS-2025-0007");
	strcpy(q.gpu_type, "h100");
	q.rate_bp = 7000;
	q.available = 120450;
	q.worst.subsidy = 4480000;
	q.worst_subsidy_total = 4480000;
	q.fit_time_limit = 5400;
	q.fit_gpus = 2;
	return q;
}

static void test_msg_refusal(void **state)
{
	char b[1024];
	aiss_quote q = insufficient_quote();
	aiss_job_shape s = {.gpus = 8, .time_limit = 86400, .count = 1};

	(void)state;
	aiss_msg_refusal(&q, &s, b, sizeof(b));
	assert_non_null(strstr(b, "aiss: grant AISS-2025-0007 has "
				  "HK$1,204.50 of subsidy left"));
	assert_non_null(strstr(b, "8 h100 GPUs x 1-00:00:00"));
	assert_non_null(strstr(b, "needs HK$44,800.00"));
	assert_non_null(strstr(b, "--time=01:30:00 at 8 GPUs"));
	assert_non_null(strstr(b, "2 GPUs at --time=1-00:00:00"));
	assert_non_null(strstr(b, "top-up"));

	s.count = 10;
	q.worst_subsidy_total = 44800000;
	q.fit_count = 3;
	aiss_msg_refusal(&q, &s, b, sizeof(b));
	assert_non_null(strstr(b, "per element"));
	assert_non_null(strstr(b, "HK$448,000.00 for 10 array elements; "
				  "3 elements fit"));

	q.fit_time_limit = q.fit_gpus = 0;
	q.fit_count = 0;
	s.count = 1;
	aiss_msg_refusal(&q, &s, b, sizeof(b));
	assert_non_null(strstr(b, "Nothing fits now"));

	memset(&q, 0, sizeof(q));
	q.verdict = AISS_E_NOT_MEMBER;
	strcpy(q.reason, "alice is not a member of AISS-2025-0007");
	aiss_msg_refusal(&q, &s, b, sizeof(b));
	assert_string_equal(b, "aiss: alice is not a member of AISS-2025-0007");
	/* truncation never overflows */
	q = insufficient_quote();
	aiss_msg_refusal(&q, &s, b, 20);
	assert_int_equal(strlen(b), 19);
}

static void test_msg_hold_unavailable(void **state)
{
	char b[512];
	aiss_quote q = insufficient_quote();
	aiss_job_shape s = {.gpus = 8, .time_limit = 3600};
	aiss_error e = {.code = AISS_E_INSUFFICIENT};

	(void)state;
	aiss_msg_hold(&e, &q, &s, b, sizeof(b));
	assert_string_equal(b, "aiss: AISS-2025-0007 has HK$1,204.50 left; "
			       "needs HK$44,800.00 (8 h100 GPUs x 01:00:00)");
	assert_int_equal(strncmp(b, AISS_HOLD_PREFIX, strlen(AISS_HOLD_PREFIX)),
			 0);
	e.code = AISS_E_UNAVAILABLE;
	aiss_msg_hold(&e, NULL, &s, b, sizeof(b));
	assert_non_null(strstr(b, "unavailable"));
	e.code = AISS_E_GRANT_INACTIVE;
	strcpy(e.text, "AISS-2025-0007 is suspended");
	aiss_msg_hold(&e, NULL, &s, b, sizeof(b));
	assert_string_equal(b, "aiss: AISS-2025-0007 is suspended");
	aiss_msg_no_account(b, sizeof(b));
	assert_non_null(strstr(b, "--account="));
	aiss_msg_no_time("gpu", b, sizeof(b));
	assert_non_null(strstr(b, "partition gpu has no time limit"));
	strcpy(e.text, "connect: no such file");
	aiss_msg_unavailable(&e, b, sizeof(b));
	assert_non_null(strstr(b, "quota service unavailable, retry"));
}

static void test_conf(void **state)
{
	char path[] = "/tmp/aiss-conf-XXXXXX";
	aiss_plugin_conf c;
	aiss_error e;
	FILE *f;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	unsetenv("AISS_FAIL_OPEN");
	unsetenv("AISS_SOCKET");
	f = fdopen(fd, "w");
	fprintf(f, "# aiss plugins\nAissdSocket = /run/x.sock\n"
		   "TimeoutMs=150\nFailOpen=yes # admit when down\n"
		   "Cluster=aisc\nSpoolDir=/tmp/sp\nPollInterval=2\n");
	fclose(f);
	assert_int_equal(aiss_plugin_conf_load(path, &c, &e), 0);
	assert_string_equal(c.socket, "/run/x.sock");
	assert_int_equal(c.timeout_ms, 150);
	assert_true(c.fail_open);
	assert_string_equal(c.cluster, "aisc");
	assert_string_equal(c.spool_dir, "/tmp/sp");
	assert_int_equal(c.poll_interval_s, 2);
	assert_int_equal(c.settle_timeout_ms, 2000);
	setenv("AISS_FAIL_OPEN", "no", 1);
	assert_int_equal(aiss_plugin_conf_load(path, &c, &e), 0);
	assert_false(c.fail_open);
	unsetenv("AISS_FAIL_OPEN");

	f = fopen(path, "w");
	fprintf(f, "TimeoutMs=fast\n");
	fclose(f);
	assert_int_equal(aiss_plugin_conf_load(path, &c, &e), -1);
	assert_non_null(strstr(e.text, ":1: bad value for 'TimeoutMs'"));
	f = fopen(path, "w");
	fprintf(f, "\nBogus=1\n");
	fclose(f);
	assert_int_equal(aiss_plugin_conf_load(path, &c, &e), -1);
	assert_non_null(strstr(e.text, ":2: unknown key 'Bogus'"));
	unlink(path);
	/* missing file: defaults */
	assert_int_equal(aiss_plugin_conf_load(path, &c, &e), 0);
	assert_int_equal(c.timeout_ms, 200);
	assert_false(c.fail_open);
}

static void test_lat(void **state)
{
	static aiss_lat l;

	(void)state;
	assert_int_equal(aiss_lat_pct(&l, 990), 0);
	for (uint32_t i = 1; i <= 1000; i++)
		aiss_lat_add(&l, i);
	assert_int_equal(aiss_lat_pct(&l, 990), 990);
	assert_int_equal(aiss_lat_pct(&l, 500), 500);
	assert_int_equal(aiss_lat_pct(&l, 1000), 1000);
	for (uint32_t i = 0; i < AISS_LAT_MAX; i++)
		aiss_lat_add(&l, 7);
	assert_int_equal(l.n, AISS_LAT_MAX);
	assert_int_equal(aiss_lat_pct(&l, 990), 7);
	aiss_lat_reset(&l);
	assert_int_equal(l.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gres_per_node),
	    cmocka_unit_test(test_gpus_per_job_task_socket),
	    cmocka_unit_test(test_gpu_request_errors),
	    cmocka_unit_test(test_array_count),
	    cmocka_unit_test(test_tres_alloc),
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_msg_refusal),
	    cmocka_unit_test(test_msg_hold_unavailable),
	    cmocka_unit_test(test_conf),
	    cmocka_unit_test(test_lat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
