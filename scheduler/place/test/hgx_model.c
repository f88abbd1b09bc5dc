/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Hand-built node models for the placement tests (no hwloc). */
#include "hgx_model.h"

#include <stdio.h>
#include <string.h>

static void dev(struct aiss_device_desc *d, const char *name, int sw, int hb,
		int numa, int pkg, int cpu0, int ncpu)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->dom[0] = sw;
	d->dom[1] = hb;
	d->dom[2] = numa;
	d->dom[3] = pkg;
	for (int c = cpu0; c < cpu0 + ncpu; c++)
		aiss_cpuset_set(&d->cpus, c);
}

aiss_node *test_hgx_node(void)
{
	aiss_node *node = aiss_node_create("hgx-test");
	struct aiss_device_desc d;
	char name[32];

	for (int p = 0; p < 2; p++) {
		struct aiss_package_desc pkg = {
		    .id = p, .core_first = 56 * p, .ncores = 56};

		for (int c = 56 * p; c < 56 * p + 56; c++)
			aiss_cpuset_set(&pkg.cpus, c);
		aiss_node_add_package(node, &pkg);
	}
	for (int g = 0; g < 8; g++) {
		snprintf(name, sizeof(name), "nvml%d", g);
		dev(&d, name, g / 2, g / 2, g / 4, g / 4, 56 * (g / 4), 56);
		aiss_node_add_gpu(node, &d);
	}
	for (int n = 0; n < 8; n++) {
		snprintf(name, sizeof(name), "mlx5_%d", n);
		dev(&d, name, n / 2, n / 2, n / 4, n / 4, 56 * (n / 4), 56);
		aiss_node_add_nic(node, &d);
	}
	for (int a = 0; a < 8; a++)
		for (int b = a + 1; b < 8; b++)
			aiss_node_set_nvlink(node, a, b, 18 * 25000);
	aiss_node_finalize(node);
	return node;
}

aiss_node *test_power8_node(void)
{
	aiss_node *node = aiss_node_create("power8-test");
	struct aiss_device_desc d;
	char name[32];

	for (int g = 0; g < 4; g++) {
		snprintf(name, sizeof(name), "cuda%d", g);
		dev(&d, name, -1, g, g / 2, g / 2, 80 * (g / 2), 80);
		aiss_node_add_gpu(node, &d);
	}
	aiss_node_set_nvlink(node, 0, 1, 40000);
	aiss_node_set_nvlink(node, 2, 3, 40000);
	aiss_node_finalize(node);
	return node;
}

aiss_node *test_dgx2_node(void)
{
	aiss_node *node = aiss_node_create("dgx2-test");
	struct aiss_device_desc d;
	char name[32];

	for (int g = 0; g < 16; g++) {
		snprintf(name, sizeof(name), "nvml%d", g);
		dev(&d, name, g / 2, g / 4, g / 8, g / 8, 24 * (g / 8), 24);
		aiss_node_add_gpu(node, &d);
	}
	for (int a = 0; a < 16; a++)
		for (int b = a + 1; b < 16; b++)
			aiss_node_set_nvlink(node, a, b, 150000);
	aiss_node_finalize(node);
	return node;
}
