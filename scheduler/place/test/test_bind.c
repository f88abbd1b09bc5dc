/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the task binding decisions (what the SPANK plugin applies). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "aiss_bind.h"
#include "hgx_model.h"

static void test_option(void **state)
{
	int on = -1;

	(void)state;
	assert_int_equal(aiss_bind_parse_option(NULL, &on), 0);
	assert_int_equal(on, 1);
	assert_int_equal(aiss_bind_parse_option("none", &on), 0);
	assert_int_equal(on, 0);
	assert_int_equal(aiss_bind_parse_option("auto", &on), 0);
	assert_int_equal(on, 1);
	assert_int_equal(aiss_bind_parse_option("nonsense", &on), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_plan_socket1(void **state)
{
	aiss_node *n = test_hgx_node();
	struct aiss_bind_plan p;
	char buf[64];

	(void)state;
	/* Slurm listed 7 before 5 (renumbered 0,1 by device cgroups). */
	assert_int_equal(aiss_bind_plan_make(n, "7,5", "0,1", &p), 0);
	assert_string_equal(p.cuda_visible, "1,0");
	aiss_cpuset_format(&p.cpus, buf, sizeof(buf));
	assert_string_equal(buf, "56-111");
	assert_int_equal(p.mems, 1ULL << 1);
	assert_string_equal(p.nccl_ib_hca, "=mlx5_5,mlx5_7");
	assert_string_equal(p.ucx_net_devices, "mlx5_5:1,mlx5_7:1");
	aiss_node_destroy(n);
}

static void test_plan_cross_socket(void **state)
{
	aiss_node *n = test_hgx_node();
	struct aiss_bind_plan p;
	char buf[64];

	(void)state;
	/* No cgroup renumbering: CUDA_VISIBLE_DEVICES absent. */
	assert_int_equal(aiss_bind_plan_make(n, "6,1,0", NULL, &p), 0);
	assert_string_equal(p.cuda_visible, "0,1,6");
	aiss_cpuset_format(&p.cpus, buf, sizeof(buf));
	assert_string_equal(buf, "0-111");
	assert_int_equal(p.mems, 3);
	assert_string_equal(p.nccl_ib_hca, "=mlx5_0,mlx5_1,mlx5_6");
	aiss_node_destroy(n);
}

static void test_plan_errors(void **state)
{
	aiss_node *n = test_hgx_node(), *p8 = test_power8_node();
	struct aiss_bind_plan p;

	(void)state;
	assert_int_equal(aiss_bind_plan_make(n, "", NULL, &p), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(aiss_bind_plan_make(n, "8", NULL, &p), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(aiss_bind_plan_make(n, "1,1", NULL, &p), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(aiss_bind_plan_make(n, "a", NULL, &p), -1);
	assert_int_equal(errno, EINVAL);
	/* A node without NICs: no NIC variables. */
	assert_int_equal(aiss_bind_plan_make(p8, "2-3", NULL, &p), 0);
	assert_string_equal(p.nccl_ib_hca, "");
	assert_string_equal(p.cuda_visible, "2,3");
	aiss_node_destroy(p8);
	aiss_node_destroy(n);
}

/* Per-task GPU binding: the task sees a subset of the step's GPUs. */
static void test_plan_task_subset(void **state)
{
	aiss_node *n = test_hgx_node();
	struct aiss_bind_plan p;
	char buf[64];

	(void)state;
	/* Global indices: the task has GPU 5 of step GPUs 1,5. */
	assert_int_equal(aiss_bind_plan_make(n, "1,5", "5", &p), 0);
	assert_int_equal(p.gpus, 1U << 5);
	assert_string_equal(p.cuda_visible, "5");
	aiss_cpuset_format(&p.cpus, buf, sizeof(buf));
	assert_string_equal(buf, "56-111");
	assert_string_equal(p.nccl_ib_hca, "=mlx5_5");
	/* Renumbered (cgroup): "0" is not a step GPU index: bind to the
	 * step's GPUs, leave CUDA_VISIBLE_DEVICES alone. */
	assert_int_equal(aiss_bind_plan_make(n, "4,5", "0", &p), 0);
	assert_int_equal(p.gpus, 0x30U);
	assert_string_equal(p.cuda_visible, "");
	assert_string_equal(p.nccl_ib_hca, "=mlx5_4,mlx5_5");
	aiss_node_destroy(n);
}

/* Applies a plan to this very process: CPU affinity to one CPU we may use
 * now; the memory binding to NUMA node 0 when the machine has it. */
static void test_apply(void **state)
{
	struct aiss_bind_plan p;
	cpu_set_t orig, after;
	int cpu = -1, rc;
	char why[256];

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(orig), &orig), 0);
	for (int c = CPU_SETSIZE - 1; c >= 0; c--)
		if (CPU_ISSET(c, &orig)) {
			cpu = c;
			break;
		}
	assert_true(cpu >= 0);
	memset(&p, 0, sizeof(p));
	aiss_cpuset_set(&p.cpus, cpu);
	rc = aiss_bind_apply(&p, why, sizeof(why));
	assert_true(rc >= 0);
	assert_true(rc & AISS_BIND_APPLIED_CPUS);
	assert_int_equal(sched_getaffinity(0, sizeof(after), &after), 0);
	assert_int_equal(CPU_COUNT(&after), 1);
	assert_true(CPU_ISSET(cpu, &after));
	/* CPUs this machine lacks: nothing applied, and said why. */
	memset(&p, 0, sizeof(p));
	aiss_cpuset_set(&p.cpus, AISS_MAX_CPUS - 1);
	p.mems = 1ULL << 63;
	rc = aiss_bind_apply(&p, why, sizeof(why));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(why, "CPU affinity left"));
	assert_non_null(strstr(why, "NUMA"));
	assert_int_equal(sched_setaffinity(0, sizeof(orig), &orig), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_option),
	    cmocka_unit_test(test_plan_socket1),
	    cmocka_unit_test(test_plan_cross_socket),
	    cmocka_unit_test(test_plan_errors),
	    cmocka_unit_test(test_plan_task_subset),
	    cmocka_unit_test(test_apply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
