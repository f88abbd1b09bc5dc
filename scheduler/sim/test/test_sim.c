/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the trace loader and the replay (small hand-made traces). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiss_sim.h"
#include "hgx_model.h"

static const char header[] = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,"
			     "gpu_spec,qos,pod_phase,creation_time,"
			     "deletion_time,scheduled_time\n";

static char *write_trace(const char *body)
{
	static char path[] = "/tmp/aiss-sim-test-XXXXXX";
	char *p = strdup(path);
	int fd = mkstemp(p);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(header, f);
	fputs(body, f);
	fclose(f);
	return p;
}

static void test_load(void **state)
{
	char *path = write_trace("p0,1000,1,1,460,,LS,Running,50,100,60\n"
				 "p1,1000,1,0,0,,LS,Running,10,20,10\n"
				 "p2,1000,1,2,1000,,LS,Pending,5,,\n"
				 "p3,1000,1,4,1000,,LS,Failed,7,9,7\n"
				 "p4,1000,1,1,1000,,LS,Succeeded,8,8,8\n");
	struct aiss_sim_job *jobs;
	struct aiss_sim_trace_stats st;
	size_t n;

	(void)state;
	assert_int_equal(aiss_sim_load_trace(path, &jobs, &n, &st), 0);
	assert_int_equal(n, 3);
	assert_int_equal(st.rows, 5);
	assert_int_equal(st.cpu_only, 1);
	assert_int_equal(st.never_ran, 1);
	assert_int_equal(st.shared_gpu, 1);
	assert_int_equal(st.multi, 1);
	/* Sorted by submit; duration from scheduled to deletion. */
	assert_int_equal(jobs[0].submit, 7);
	assert_int_equal(jobs[0].gpus, 4);
	assert_int_equal(jobs[0].duration, 2);
	assert_int_equal(jobs[1].duration, 1); /* zero-length -> 1 s */
	assert_int_equal(jobs[2].submit, 50);
	assert_int_equal(jobs[2].duration, 40);
	free(jobs);
	unlink(path);
	free(path);

	path = write_trace("p0,1000,1,x,460,,LS,Running,50,100,60\n");
	assert_int_equal(aiss_sim_load_trace(path, &jobs, &n, &st), -1);
	assert_int_equal(errno, EINVAL);
	unlink(path);
	free(path);
	path = write_trace("p0,1000,1,1,460,,LS,Running,50,"
			   "9223372036854775807,-60\n");
	assert_int_equal(aiss_sim_load_trace(path, &jobs, &n, &st), -1);
	assert_int_equal(errno, EINVAL);
	unlink(path);
	free(path);
	assert_int_equal(
	    aiss_sim_load_trace("/nonexistent.csv", &jobs, &n, &st), -1);
}

/* One node. A 2-GPU job takes switch 0 and ends; a long 1-GPU job sits on
 * GPU 2; then a 1-GPU job and a 2-GPU job arrive. First-fit puts the
 * 1-GPU job on GPU 0 and must split the 2-GPU job across switches; topo
 * puts it on GPU 3 and keeps switch 0 whole. */
static void test_locality(void **state)
{
	const struct aiss_sim_job jobs[] = {
	    {0, 10, 2}, {1, 1000, 1}, {11, 1000, 1}, {12, 1000, 2}};
	aiss_node *n = test_hgx_node();
	struct aiss_sim_result ff, pw, topo;

	(void)state;
	assert_int_equal(aiss_sim_run(n, 1, jobs, 4, AISS_PLACE_FIRST_FIT,
				      AISS_SIM_NODE_DEFAULT, &ff),
			 0);
	assert_int_equal(aiss_sim_run(n, 1, jobs, 4, AISS_PLACE_PAIRWISE,
				      AISS_SIM_NODE_DEFAULT, &pw),
			 0);
	assert_int_equal(aiss_sim_run(n, 1, jobs, 4, AISS_PLACE_TOPO,
				      AISS_SIM_NODE_DEFAULT, &topo),
			 0);
	assert_int_equal(ff.jobs, 4);
	assert_int_equal(ff.multi, 2);
	assert_int_equal(ff.multi_switch, 1);
	assert_int_equal(ff.multi_numa, 2);
	assert_int_equal(topo.multi_switch, 2);
	assert_int_equal(topo.by_size_switch[2], 2);
	/* Pairwise finds a whole switch for the 2-GPU job too (4,5). */
	assert_int_equal(pw.multi_switch, 2);
	assert_int_equal(ff.waited, 0);
	assert_int_equal(ff.makespan_s, 1012);
	aiss_node_destroy(n);
}

/* Two nodes with 6 GPUs busy each: a 4-GPU job waits although 4 GPUs
 * are free in total, until a node drains at t=100. */
static void test_fragmentation_wait(void **state)
{
	const struct aiss_sim_job jobs[] = {
	    {0, 100, 6}, {0, 200, 6}, {10, 50, 4}, {20, 5, 8}};
	aiss_node *n = test_hgx_node();
	struct aiss_sim_result r;

	(void)state;
	for (int p = AISS_PLACE_FIRST_FIT; p <= AISS_PLACE_TOPO; p++) {
		assert_int_equal(aiss_sim_run(n, 2, jobs, 4,
					      (enum aiss_place_policy)p,
					      AISS_SIM_NODE_DEFAULT, &r),
				 0);
		assert_int_equal(r.jobs, 4);
		assert_int_equal(r.waited, 2);
		/* The 4-GPU job (4 free in total from t=10), not the 8-GPU
		 * one (never 8 free in total while it waited). */
		assert_int_equal(r.frag_waited, 1);
		/* 4 GPUs x 90 s blocked. */
		assert_true(r.frag_wait_gpu_hours > 0.0999 &&
			    r.frag_wait_gpu_hours < 0.1001);
	}
	aiss_node_destroy(n);
}

static void test_too_big(void **state)
{
	const struct aiss_sim_job jobs[] = {{0, 10, 9}, {1, 10, 1}};
	aiss_node *n = test_hgx_node();
	struct aiss_sim_result r;

	(void)state;
	assert_int_equal(aiss_sim_run(n, 1, jobs, 2, AISS_PLACE_TOPO,
				      AISS_SIM_NODE_DEFAULT, &r),
			 0);
	assert_int_equal(r.too_big, 1);
	assert_int_equal(r.jobs, 1);
	assert_int_equal(aiss_sim_run(n, 0, jobs, 2, AISS_PLACE_TOPO,
				      AISS_SIM_NODE_DEFAULT, &r),
			 -1);
	aiss_node_destroy(n);
}

/* Two nodes: node 0 drains at t=10, node 1 keeps 6 GPUs busy. A 1-GPU
 * job at t=11 goes to idle node 0 under first fit, so the 8-GPU job at
 * t=12 waits with 9 GPUs free in total; best fit puts the 1-GPU job on
 * node 1 and the 8-GPU job starts at once. */
static void test_node_choice(void **state)
{
	const struct aiss_sim_job jobs[] = {
	    {0, 10, 8}, {0, 1000, 6}, {11, 1000, 1}, {12, 100, 8}};
	aiss_node *n = test_hgx_node();
	struct aiss_sim_result ff, bf;

	(void)state;
	assert_int_equal(aiss_sim_run(n, 2, jobs, 4, AISS_PLACE_TOPO,
				      AISS_SIM_NODE_FIRST_FIT, &ff),
			 0);
	assert_int_equal(aiss_sim_run(n, 2, jobs, 4, AISS_PLACE_TOPO,
				      AISS_SIM_NODE_BEST_FIT, &bf),
			 0);
	assert_int_equal(ff.jobs, 4);
	assert_int_equal(bf.jobs, 4);
	assert_int_equal(ff.waited, 1);
	assert_int_equal(ff.frag_waited, 1);
	assert_int_equal(bf.waited, 0);
	assert_int_equal(bf.frag_waited, 0);
	aiss_node_destroy(n);
}

/* One node: A holds 4 GPUs until t=100; the 8-GPU job B (t=1) is
 * blocked; C (2 GPUs, t=2, 1000 s) fits now. Greedy starts C and B waits
 * until C ends (t=1002); EASY reserves the node for B at t=100, so C
 * waits and B starts at t=100. */
static void test_easy_backfill(void **state)
{
	const struct aiss_sim_job jobs[] = {
	    {0, 100, 4}, {1, 10, 8}, {2, 1000, 2}, {3, 50, 2}};
	aiss_node *n = test_hgx_node();
	struct aiss_sim_options o = {AISS_PLACE_TOPO, AISS_SIM_NODE_DEFAULT,
				     AISS_SIM_BACKFILL_GREEDY};
	struct aiss_sim_result greedy, easy;

	(void)state;
	assert_int_equal(aiss_sim_run_opts(n, 1, jobs, 4, &o, &greedy), 0);
	o.backfill = AISS_SIM_BACKFILL_EASY;
	assert_int_equal(aiss_sim_run_opts(n, 1, jobs, 4, &o, &easy), 0);
	assert_int_equal(greedy.jobs, 4);
	assert_int_equal(easy.jobs, 4);
	/* 8-GPU job: greedy waits 1002 - 1 (C, then D ends earlier). */
	assert_true(greedy.wait_by_size_s[8] > 1000.0);
	assert_true(easy.wait_by_size_s[8] > 98.9 &&
		    easy.wait_by_size_s[8] < 99.1);
	/* D (50 s, t=3) ends before the reservation: EASY backfills it. */
	assert_int_equal(easy.by_size[2], 2);
	/* C waits 108 s (100 + B's 10 - 2), D none: mean 54 s. */
	assert_true(easy.wait_by_size_s[2] > 53.9 &&
		    easy.wait_by_size_s[2] < 54.1);
	assert_int_equal(aiss_sim_run_opts(n, 1, jobs, 4, NULL, &easy), -1);
	aiss_node_destroy(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load),
	    cmocka_unit_test(test_locality),
	    cmocka_unit_test(test_fragmentation_wait),
	    cmocka_unit_test(test_too_big),
	    cmocka_unit_test(test_node_choice),
	    cmocka_unit_test(test_easy_backfill),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
