/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_gpucheck: models, floors, verdicts, drain/resume, JSON, CPU references vs the verifier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gpucheck_driver.h"

static void test_placeholder(void **state)
{
	assert_non_null(gpucheck_model_match("NVIDIA H100 80GB HBM3", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
