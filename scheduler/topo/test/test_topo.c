/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of aiss_topo on recorded topologies (HGX H100, DGX-2, POWER8). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiss_topo.h"

static char shared_path[1024];

/* Path of a file under $AISS_SHARED_DIR/data/topologies, or NULL (the test
 * is then skipped) when that is absent. */
static const char *shared_topology(const char *name)
{
	const char *dir = getenv("AISS_SHARED_DIR");
	FILE *f;

	if (!dir || !*dir)
		return NULL;
	snprintf(shared_path, sizeof(shared_path), "%s/data/topologies/%s", dir,
		 name);
	f = fopen(shared_path, "r");
	if (!f)
		return NULL;
	fclose(f);
	return shared_path;
}

static char *gres_text(const aiss_node *n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(aiss_topo_write_gres(n, NULL, NULL, NULL, f), 0);
	fclose(f);
	return buf;
}

static void test_hgx(void **state)
{
	char err[256], cpus[256];
	aiss_node *n =
	    aiss_topo_load(AISS_DATA_DIR "/hgx-h100.xml", err, sizeof(err));
	struct aiss_placement pl;
	char *g;

	(void)state;
	if (!n)
		fail_msg("load: %s", err);
	assert_string_equal(aiss_node_name(n), "hgx-h100");
	assert_int_equal(aiss_node_gpu_count(n), 8);
	assert_int_equal(aiss_node_nic_count(n), 8);
	assert_int_equal(aiss_node_package_count(n), 2);
	assert_string_equal(aiss_node_gpu(n, 0)->name, "nvml0");
	assert_string_equal(aiss_node_gpu(n, 0)->busid, "0000:13:00.0");
	assert_string_equal(aiss_node_gpu(n, 0)->model,
			    "NVIDIA H100 80GB HBM3");
	assert_string_equal(aiss_node_nic(n, 3)->name, "mlx5_3");
	assert_string_equal(aiss_node_nic(n, 3)->netdev, "ibp54s0");
	/* Structure: 2 GPUs per switch, 4 per NUMA node/socket. */
	assert_int_equal(aiss_node_pair_level(n, 0, 1), AISS_LVL_SWITCH);
	assert_int_equal(aiss_node_pair_level(n, 1, 2), AISS_LVL_NUMA);
	assert_int_equal(aiss_node_pair_level(n, 3, 4), AISS_LVL_NODE);
	assert_int_equal(aiss_node_nic_level(n, 2, 2), AISS_LVL_SWITCH);
	assert_int_equal(aiss_node_nic_level(n, 2, 0), AISS_LVL_NUMA);
	assert_int_equal(aiss_node_gpu(n, 5)->dom[AISS_LVL_NUMA], 1);
	aiss_cpuset_format(&aiss_node_gpu(n, 5)->cpus, cpus, sizeof(cpus));
	assert_string_equal(cpus, "56-111,168-223");
	assert_int_equal(aiss_node_package(n, 1)->core_first, 56);
	assert_int_equal(aiss_node_package(n, 1)->ncores, 56);
	/* 18 NVLinks through the NVSwitches between every pair. */
	assert_int_equal(aiss_node_nvlink(n, 0, 7), 18 * 25000);
	assert_int_equal(aiss_node_nvlink(n, 3, 4), 18 * 25000);
	/* Placement on the loaded model. */
	assert_int_equal(aiss_place(n, 0xfe, 2, AISS_PLACE_TOPO, &pl), 0);
	assert_int_equal(pl.gpus, 0x0c);
	assert_int_equal(pl.nnics, 2);
	assert_string_equal(aiss_node_nic(n, pl.nic_order[0])->name, "mlx5_2");
	g = gres_text(n);
	assert_non_null(strstr(g,
			       "Name=gpu Type=h100 File=/dev/nvidia0 "
			       "Cores=0-55 Links=-1,18,18,18,18,18,18,18\n"));
	assert_non_null(strstr(g, "Name=gpu Type=h100 File=/dev/nvidia4 "
				  "Cores=56-111 Links=18,18,18,18,-1,18,18,"
				  "18\n"));
	free(g);
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		assert_int_equal(
		    aiss_topo_write_gres(n, "h100x", "gn1", "/tmp/d/nvidia", f),
		    0);
		fclose(f);
		assert_non_null(strstr(buf, "\nNodeName=gn1 Name=gpu "
					    "Type=h100x File=/tmp/d/nvidia3 "
					    "Cores=0-55 "));
		free(buf);
	}
	aiss_node_destroy(n);
}

static void test_dgx2(void **state)
{
	const char *path = shared_topology("nvidia-dgx2.xml");
	char err[256];
	aiss_node *n;
	struct aiss_placement pl;
	char *g;

	(void)state;
	if (!path) {
		print_message("SKIP: ../shared/data/topologies absent "
			      "(AISS_SHARED_DIR)\n");
		skip();
	}
	n = aiss_topo_load(path, err, sizeof(err));
	if (!n)
		fail_msg("load: %s", err);
	assert_int_equal(aiss_node_gpu_count(n), 16);
	assert_int_equal(aiss_node_nic_count(n), 0);
	assert_string_equal(aiss_node_gpu(n, 0)->name, "nvml0");
	assert_string_equal(aiss_node_gpu(n, 15)->name, "nvml15");
	/* Second-level PLX switches hold GPU pairs; 4 GPUs per host
	 * bridge, 8 per socket. */
	assert_int_equal(aiss_node_pair_level(n, 0, 1), AISS_LVL_SWITCH);
	assert_int_equal(aiss_node_pair_level(n, 0, 2), AISS_LVL_HOSTBRIDGE);
	assert_int_equal(aiss_node_pair_level(n, 0, 4), AISS_LVL_NUMA);
	assert_int_equal(aiss_node_pair_level(n, 0, 8), AISS_LVL_NODE);
	/* 6 NVLinks into the NVSwitches per GPU, all pairs at 6 links. */
	assert_int_equal(aiss_node_nvlink(n, 0, 15), 6 * 25000);
	assert_int_equal(aiss_place(n, 0xffff & ~1U, 4, AISS_PLACE_TOPO, &pl),
			 0);
	assert_int_equal(pl.span, AISS_LVL_HOSTBRIDGE);
	assert_int_equal(pl.gpus, 0xf0);
	assert_int_equal(aiss_place(n, 0xffff, 8, AISS_PLACE_TOPO, &pl), 0);
	assert_int_equal(pl.span, AISS_LVL_NUMA);
	g = gres_text(n);
	assert_non_null(strstr(g, "Type=v100 File=/dev/nvidia9 Cores=2-3 "
				  "Links=6,6,6,6,6,6,6,6,6,-1,6,6,6,6,6,6\n"));
	free(g);
	aiss_node_destroy(n);
}

static void test_power8(void **state)
{
	const char *path = shared_topology("ibm-power8-4gpu.xml");
	char err[256];
	aiss_node *n;
	char *g;

	(void)state;
	if (!path) {
		print_message("SKIP: ../shared/data/topologies absent "
			      "(AISS_SHARED_DIR)\n");
		skip();
	}
	n = aiss_topo_load(path, err, sizeof(err));
	if (!n)
		fail_msg("load: %s", err);
	assert_int_equal(aiss_node_gpu_count(n), 4);
	/* nvml names preferred over cuda/opencl. */
	assert_string_equal(aiss_node_gpu(n, 2)->name, "nvml2");
	/* No PCIe switches: each GPU under its own host bridge. */
	assert_int_equal(aiss_node_gpu(n, 0)->dom[AISS_LVL_SWITCH], -1);
	assert_int_equal(aiss_node_pair_level(n, 0, 1), AISS_LVL_NUMA);
	assert_int_equal(aiss_node_pair_level(n, 1, 2), AISS_LVL_NODE);
	/* NVLink 1: two links of 20 GB/s within each pair. */
	assert_int_equal(aiss_node_nvlink(n, 0, 1), 40000);
	assert_int_equal(aiss_node_nvlink(n, 1, 2), 0);
	assert_int_equal(aiss_node_nvlink_unit(n), 20000);
	g = gres_text(n);
	assert_non_null(strstr(g, "Type=p100 File=/dev/nvidia3 Cores="));
	assert_non_null(strstr(g, "Links=0,0,2,-1\n"));
	free(g);
	aiss_node_destroy(n);
}

static void test_errors(void **state)
{
	char err[256];

	(void)state;
	assert_null(aiss_topo_load("/nonexistent/topo.xml", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/topo.xml"));
}

/* Recorded `nvidia-smi topo -m` output of a DGX H100 (shape of the real
 * thing, trimmed to the GPU and two NIC columns). */
static const char nvsmi_text[] =
    "\tGPU0\tGPU1\tGPU2\tGPU3\tGPU4\tGPU5\tGPU6\tGPU7\tNIC0\tNIC1\t"
    "CPU Affinity\tNUMA Affinity\tGPU NUMA ID\n"
    "GPU0\t X \tNV18\tNV18\tNV18\tNV18\tNV18\tNV18\tNV18\tPXB\tNODE\t"
    "0-55,112-167\t0\t\tN/A\n"
    "GPU1\tNV18\t X \tNV18\tNV18\tNV18\tNV18\tNV18\tNV18\tNODE\tNODE\t"
    "0-55,112-167\t0\t\tN/A\n"
    "GPU2\tNV18\tNV18\t X \tNV18\tNV18\tNV18\tNV18\tNV18\tNODE\tNODE\t"
    "0-55,112-167\t0\t\tN/A\n"
    "GPU3\tNV18\tNV18\tNV18\t X \tNV18\tNV18\tNV18\tNV18\tNODE\tPXB\t"
    "0-55,112-167\t0\t\tN/A\n"
    "GPU4\tNV18\tNV18\tNV18\tNV18\t X \tNV18\tNV18\tNV18\tSYS\tSYS\t"
    "56-111,168-223\t1\t\tN/A\n"
    "GPU5\tNV18\tNV18\tNV18\tNV18\tNV18\t X \tNV18\tNV18\tSYS\tSYS\t"
    "56-111,168-223\t1\t\tN/A\n"
    "GPU6\tNV18\tNV18\tNV18\tNV18\tNV18\tNV18\t X \tNV4\tSYS\tSYS\t"
    "56-111,168-223\t1\t\tN/A\n"
    "GPU7\tNV18\tNV18\tNV18\tNV18\tNV18\tNV18\tNV4\t X \tSYS\tSYS\t"
    "56-111,168-223\t1\t\tN/A\n"
    "\nLegend:\n\n  X    = Self\n  SYS  = Connection traversing PCIe\n"
    "  NV#  = Connection traversing a bonded set of # NVLinks\n";

static void test_nvsmi(void **state)
{
	const char *path = shared_topology("nvidia-dgx2.xml");
	char err[256];
	aiss_node *n;

	(void)state;
	n = aiss_topo_load(AISS_DATA_DIR "/hgx-h100.xml", err, sizeof(err));
	assert_non_null(n);
	assert_int_equal(aiss_topo_apply_nvsmi(n, nvsmi_text, 0), 8);
	assert_int_equal(aiss_node_nvlink(n, 0, 1), 18 * 25000);
	assert_int_equal(aiss_node_nvlink(n, 6, 7), 4 * 25000);
	assert_int_equal(aiss_node_nvlink(n, 7, 6), 4 * 25000);
	assert_int_equal(aiss_topo_apply_nvsmi(n, "no matrix here\n", 0), -1);
	assert_int_equal(errno, EINVAL);
	aiss_node_destroy(n);
	/* A 16-row matrix does not fit an 8-GPU node and vice versa: the
	 * 8-row text on a 16-GPU node is accepted (rows it has). */
	if (path) {
		n = aiss_topo_load(path, err, sizeof(err));
		assert_non_null(n);
		assert_int_equal(aiss_topo_apply_nvsmi(n, nvsmi_text, 0), 8);
		assert_int_equal(aiss_node_nvlink(n, 6, 7), 4 * 25000);
		aiss_node_destroy(n);
	}
}

static void test_gpu_type(void **state)
{
	char buf[32];

	(void)state;
	aiss_topo_gpu_type("Tesla V100-SXM3-32GB-H", buf, sizeof(buf));
	assert_string_equal(buf, "v100");
	aiss_topo_gpu_type("NVIDIA H100 80GB HBM3", buf, sizeof(buf));
	assert_string_equal(buf, "h100");
	aiss_topo_gpu_type("GH100 [H100 SXM5 80GB]", buf, sizeof(buf));
	assert_string_equal(buf, "h100");
	aiss_topo_gpu_type("Tesla P100-SXM2-16GB", buf, sizeof(buf));
	assert_string_equal(buf, "p100");
	aiss_topo_gpu_type("mystery", buf, sizeof(buf));
	assert_string_equal(buf, "gpu");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hgx),    cmocka_unit_test(test_dgx2),
	    cmocka_unit_test(test_power8), cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_nvsmi),  cmocka_unit_test(test_gpu_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
