/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the task binding decisions (what the SPANK plugin applies). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_option),
		cmocka_unit_test(test_plan_socket1),
		cmocka_unit_test(test_plan_cross_socket),
		cmocka_unit_test(test_plan_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
