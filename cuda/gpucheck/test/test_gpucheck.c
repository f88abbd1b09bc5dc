/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_gpucheck: models, floors, verdicts, drain/resume, JSON, verifier. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "gpucheck_driver.h"
#include "gpucheck_json.h"
#include "gpucheck_numa.h"
#include "gpucheck_slurm.h"
#include "gpucheck_verify.h"

/* ---- helpers ---------------------------------------------------------- */

static char tmpdir[256];

static int json_valid(const char *text);

static void make_tmpdir(void)
{
	if (tmpdir[0])
		return;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_gpucheck.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Figures of a healthy H100 SXM5 (about 90% of its datasheet). */
static void healthy_h100(gpucheck_measure *m)
{
	static const double v[GPUCHECK_METRIC__COUNT] = {
	    [GPUCHECK_HBM_READ] = 3.05,   [GPUCHECK_HBM_WRITE] = 2.95,
	    [GPUCHECK_HBM_COPY] = 2.98,   [GPUCHECK_HBM_TRIAD] = 3.0,
	    [GPUCHECK_D2D_MEMCPY] = 3.02, [GPUCHECK_GEMM_BF16] = 610,
	    [GPUCHECK_GEMM_FP16] = 615,   [GPUCHECK_CUBLAS_BF16] = 760,
	    [GPUCHECK_CUBLAS_FP16] = 765, [GPUCHECK_FMA_FP32] = 60.5,
	    [GPUCHECK_FMA_FP64] = 30.2,   [GPUCHECK_H2D] = 53.0,
	    [GPUCHECK_D2H] = 54.5,
	};
	memset(m, 0, sizeof(*m));
	for (int k = 0; k < GPUCHECK_METRIC__COUNT; k++) {
		m->measured[k] = 1;
		m->value[k] = v[k];
		m->checked[k] = 4096;
	}
}

static gpucheck_device_info h100_info(void)
{
	gpucheck_device_info info;

	memset(&info, 0, sizeof(info));
	snprintf(info.name, sizeof(info.name), "NVIDIA H100 80GB HBM3");
	info.pci_id = 0x2330;
	info.cc_major = 9;
	info.sm_count = 132;
	return info;
}

/* A report of @n healthy H100 SXM5 GPUs with all peer pairs at 380 GB/s. */
static gpucheck_report *healthy_node(int n)
{
	gpucheck_report *r = gpucheck_report_create("gpu-a01", "quick", n);
	gpucheck_device_info info = h100_info();
	gpucheck_measure m;

	assert_non_null(r);
	healthy_h100(&m);
	for (int g = 0; g < n; g++) {
		assert_int_equal(gpucheck_report_set_device(r, g, &info, NULL),
				 0);
		assert_int_equal(gpucheck_report_set_measure(r, g, &m), 0);
	}
	for (int s = 0; s < n; s++)
		for (int d = 0; d < n; d++) {
			gpucheck_p2p p = {.src = s,
					  .dst = d,
					  .peer_access = 1,
					  .gbs = 380,
					  .checked = 4096};
			if (s != d)
				assert_int_equal(gpucheck_report_add_p2p(r, &p),
						 0);
		}
	return r;
}

/* ---- models ----------------------------------------------------------- */

static void test_model_by_name(void **state)
{
	static const struct {
		const char *cuda_name, *model;
	} cases[] = {
	    {"NVIDIA H100 80GB HBM3", "H100 SXM5"},
	    {"NVIDIA H100 PCIe", "H100 PCIe"},
	    {"NVIDIA H800", "H800"},
	    {"NVIDIA H800 PCIe", "H800 PCIe"},
	    {"NVIDIA H200", "H200"},
	    {"NVIDIA H200 NVL", "H200 NVL"},
	    {"NVIDIA A100-SXM4-80GB", "A100 SXM 80GB"},
	    {"NVIDIA A100-SXM4-40GB", "A100 SXM 40GB"},
	    {"NVIDIA A100 80GB PCIe", "A100 PCIe 80GB"},
	    {"NVIDIA A100-PCIE-40GB", "A100 PCIe 40GB"},
	    {"nvidia h100 80gb hbm3", "H100 SXM5"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const gpucheck_model *m =
		    gpucheck_model_match(cases[i].cuda_name, 0);
		assert_non_null(m);
		assert_string_equal(m->name, cases[i].model);
	}
	/* Not in the table: no floors rather than the wrong ones. */
	errno = 0;
	assert_null(gpucheck_model_match("NVIDIA H100 NVL", 0));
	assert_int_equal(errno, ENOENT);
	assert_null(gpucheck_model_match("Tesla V100-SXM2-32GB", 0));
	assert_null(gpucheck_model_match("NVIDIA GH100X", 0)); /* not "h100" */
	assert_null(gpucheck_model_match("", 0));
	assert_null(gpucheck_model_match(NULL, 0));
}

static void test_model_by_pci_id(void **state)
{
	/* The PCI id wins over a misleading name. */
	const gpucheck_model *m =
	    gpucheck_model_match("NVIDIA A100-PCIE-40GB", 0x2330);
	assert_non_null(m);
	assert_string_equal(m->name, "H100 SXM5");
	assert_string_equal(gpucheck_model_match(NULL, 0x2335)->name, "H200");
	assert_string_equal(gpucheck_model_match(NULL, 0x2324)->name, "H800");
	assert_string_equal(gpucheck_model_match(NULL, 0x2331)->name,
			    "H100 PCIe");
	assert_string_equal(gpucheck_model_match(NULL, 0x20b2)->name,
			    "A100 SXM 80GB");
	assert_string_equal(gpucheck_model_match(NULL, 0x20f1)->name,
			    "A100 PCIe 40GB");
	/* An unknown id falls back to the name. */
	assert_string_equal(gpucheck_model_match("NVIDIA H200", 0x1234)->name,
			    "H200");
	assert_null(gpucheck_model_match(NULL, 0x1234));
	/* Every model's figures are sane: tensor > FP32 > 0, HBM in TB/s. */
	int n;
	const gpucheck_model *t = gpucheck_models(&n);
	assert_true(n >= 6);
	for (int i = 0; i < n; i++) {
		assert_true(t[i].hbm_tbs > 1.0 && t[i].hbm_tbs < 6.0);
		assert_true(t[i].bf16_tflops > t[i].fp32_tflops);
		assert_true(t[i].fp32_tflops > t[i].fp64_tflops);
		assert_true(t[i].pcie_gbs == 32 || t[i].pcie_gbs == 64);
		assert_ptr_equal(gpucheck_model_match(NULL, t[i].pci_ids[0]),
				 &t[i]);
		assert_ptr_equal(gpucheck_model_by_name(t[i].name), &t[i]);
	}
}

static void test_pci_sysfs(void **state)
{
	char dir[512], path[600];

	make_tmpdir();
	snprintf(dir, sizeof(dir), "%s/sys/bus/pci/devices/0000:1b:00.0",
		 tmpdir);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/vendor", dir);
	write_text(path, "0x10de\n");
	snprintf(path, sizeof(path), "%s/device", dir);
	write_text(path, "0x2335\n");
	snprintf(path, sizeof(path), "%s/sys", tmpdir);
	assert_int_equal(gpucheck_pci_device_id(path, 0, 0x1b, 0), 0x2335);
	/* Missing device: 0. */
	assert_int_equal(gpucheck_pci_device_id(path, 0, 0x1c, 0), 0);
	/* Another vendor: 0 with ENODEV. */
	snprintf(path, sizeof(path), "%s/vendor", dir);
	write_text(path, "0x8086\n");
	snprintf(path, sizeof(path), "%s/sys", tmpdir);
	errno = 0;
	assert_int_equal(gpucheck_pci_device_id(path, 0, 0x1b, 0), 0);
	assert_int_equal(errno, ENODEV);
}

static void test_cpulist_and_binding(void **state)
{
	cpu_set_t set, allowed, now, old;
	char dir[512], path[600], cmd[700], list[32];
	int first = -1;

	assert_int_equal(gpucheck_parse_cpulist("0-3,8,10-11\n", &set), 7);
	assert_true(CPU_ISSET(2, &set) && CPU_ISSET(8, &set) &&
		    CPU_ISSET(11, &set));
	assert_false(CPU_ISSET(4, &set) || CPU_ISSET(9, &set));
	assert_int_equal(gpucheck_parse_cpulist("5", &set), 1);
	assert_int_equal(gpucheck_parse_cpulist("", &set), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(gpucheck_parse_cpulist("3-1", &set), -1);
	assert_int_equal(gpucheck_parse_cpulist("0-3,x", &set), -1);
	assert_int_equal(gpucheck_parse_cpulist("99999", &set), -1);

	/* Bind to the first CPU we may use, listed as the GPU's local CPU. */
	assert_int_equal(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
		if (CPU_ISSET(c, &allowed))
			first = c;
	assert_true(first >= 0);
	make_tmpdir();
	snprintf(dir, sizeof(dir), "%s/sys/bus/pci/devices/0000:3a:00.0",
		 tmpdir);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/local_cpulist", dir);
	snprintf(list, sizeof(list), "%d\n", first);
	write_text(path, list);
	snprintf(path, sizeof(path), "%s/sys", tmpdir);
	assert_int_equal(gpucheck_bind_near_pci(path, 0, 0x3a, 0, &old), 0);
	assert_int_equal(sched_getaffinity(0, sizeof(now), &now), 0);
	assert_int_equal(CPU_COUNT(&now), 1);
	assert_true(CPU_ISSET(first, &now));
	gpucheck_unbind(&old);
	assert_int_equal(sched_getaffinity(0, sizeof(now), &now), 0);
	assert_true(CPU_EQUAL(&now, &allowed));
	/* No such device: nothing changes. */
	assert_int_equal(gpucheck_bind_near_pci(path, 0, 0x3b, 0, &old), -1);
	assert_int_equal(sched_getaffinity(0, sizeof(now), &now), 0);
	assert_true(CPU_EQUAL(&now, &allowed));
}

/* ---- floors ----------------------------------------------------------- */

static void test_floors_set(void **state)
{
	gpucheck_floors f, before;
	char err[256];

	gpucheck_floors_default(&f);
	assert_true(f.hbm == 0.80 && f.gemm == 0.50 && f.pcie == 0.60);
	assert_int_equal(gpucheck_floors_set(&f, "gpucheck.hbm_floor", "0.85",
					     err, sizeof(err)),
			 0);
	assert_true(f.hbm == 0.85);
	assert_int_equal(gpucheck_floors_set(&f, "gpucheck.expect_gpus", "8",
					     err, sizeof(err)),
			 0);
	assert_int_equal(f.expect_gpus, 8);
	before = f;
	assert_int_equal(gpucheck_floors_set(&f, "gpucheck.hbm_floor", "1.5",
					     err, sizeof(err)),
			 -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "gpucheck.hbm_floor"));
	assert_int_equal(gpucheck_floors_set(&f, "gpucheck.fp64_floor", "-0.1",
					     err, sizeof(err)),
			 -1);
	assert_int_equal(gpucheck_floors_set(&f, "gpucheck.p2p_floor", "half",
					     err, sizeof(err)),
			 -1);
	assert_int_equal(gpucheck_floors_set(&f, "gpucheck.p2p_floor", "0.5x",
					     err, sizeof(err)),
			 -1);
	assert_int_equal(gpucheck_floors_set(&f, "gpucheck.expect_gpus", "2.5",
					     err, sizeof(err)),
			 -1);
	assert_int_equal(gpucheck_floors_set(&f, "gpucheck.hbm_flor", "0.8",
					     err, sizeof(err)),
			 -1);
	assert_int_equal(errno, ENOENT);
	assert_memory_equal(&f, &before, sizeof(f));
}

static void test_floors_load(void **state)
{
	char path[512], err[600];
	gpucheck_floors f;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/aiss.conf", tmpdir);
	write_text(path, "# aiss.conf\n[aissd]\nsocket = /run/aiss/aissd.sock\n"
			 "gpucheck.hbm_floor = 0.90   # stricter\n"
			 "  gpucheck.gemm_floor=0.6\n\n"
			 "ledger.path = /var/lib/aiss/ledger.db\n");
	gpucheck_floors_default(&f);
	assert_int_equal(gpucheck_floors_load(&f, path, err, sizeof(err)), 0);
	assert_true(f.hbm == 0.90);
	assert_true(f.gemm == 0.6);
	assert_true(f.fp32 == 0.70); /* untouched default */

	write_text(path,
		   "gpucheck.hbm_floor = 0.9\ngpucheck.pcie_floor = lots\n");
	assert_int_equal(gpucheck_floors_load(&f, path, err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, ":2:"));
	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	assert_int_equal(gpucheck_floors_load(&f, path, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
}

/* ---- verdicts --------------------------------------------------------- */

static void test_healthy_passes(void **state)
{
	gpucheck_floors f;
	gpucheck_report *r = healthy_node(8);

	gpucheck_floors_default(&f);
	f.expect_gpus = 8;
	assert_int_equal(gpucheck_report_evaluate(r, &f), 1);
	assert_string_equal(gpucheck_report_reason(r), "");
	assert_int_equal(gpucheck_report_failure_count(r), 0);
	assert_true(fabs(gpucheck_report_bf16_tflops(r) - 8 * 760) < 1e-6);
	f.expect_gpus = 9;
	assert_int_equal(gpucheck_report_evaluate(r, &f), 0);
	assert_string_equal(gpucheck_report_reason(r),
			    "aiss-gpucheck: 8 of 9 GPUs visible");
	gpucheck_report_destroy(r);
}

static void test_degraded_hbm_reason(void **state)
{
	gpucheck_floors f;
	gpucheck_report *r = healthy_node(4);
	gpucheck_measure m;

	healthy_h100(&m);
	m.value[GPUCHECK_HBM_COPY] = 1.9; /* 57% of 3.35: a degraded stack */
	m.value[GPUCHECK_HBM_TRIAD] = 2.5;
	gpucheck_report_set_measure(r, 3, &m);
	gpucheck_floors_default(&f);
	assert_int_equal(gpucheck_report_evaluate(r, &f), 0);
	assert_string_equal(gpucheck_report_reason(r),
			    "aiss-gpucheck: GPU3 HBM 1.9 TB/s < 2.7; +1 more");
	m.value[GPUCHECK_HBM_TRIAD] = 3.0;
	gpucheck_report_set_measure(r, 3, &m);
	assert_int_equal(gpucheck_report_evaluate(r, &f), 0);
	assert_string_equal(gpucheck_report_reason(r),
			    "aiss-gpucheck: GPU3 HBM 1.9 TB/s < 2.7");
	/* A laxer floor from aiss.conf passes the same figures. */
	f.hbm = 0.5;
	assert_int_equal(gpucheck_report_evaluate(r, &f), 1);
	gpucheck_report_destroy(r);
}

static void test_wrong_result_ranks_first(void **state)
{
	gpucheck_floors f;
	gpucheck_report *r = healthy_node(8);
	gpucheck_measure m;

	healthy_h100(&m);
	m.value[GPUCHECK_H2D] = 12.0; /* a link trained at x4 */
	gpucheck_report_set_measure(r, 1, &m);
	healthy_h100(&m);
	m.mismatches[GPUCHECK_GEMM_BF16] = 1;
	gpucheck_report_set_measure(r, 6, &m);
	gpucheck_floors_default(&f);
	assert_int_equal(gpucheck_report_evaluate(r, &f), 0);
	assert_string_equal(gpucheck_report_reason(r),
			    "aiss-gpucheck: GPU6 BF16 GEMM wrong result (1 of "
			    "4096 checked); +1 more");
	assert_int_equal(gpucheck_report_failure_count(r), 2);
	gpucheck_report_destroy(r);
}

static void test_gemm_floor_best_of(void **state)
{
	gpucheck_floors f;
	gpucheck_report *r = healthy_node(2);
	gpucheck_measure m;

	gpucheck_floors_default(&f);
	/* The project's kernel alone is under the floor, cuBLAS is not: the
	 * GPU's tensor cores are fine. */
	healthy_h100(&m);
	m.value[GPUCHECK_GEMM_BF16] = 300;
	gpucheck_report_set_measure(r, 0, &m);
	assert_int_equal(gpucheck_report_evaluate(r, &f), 1);
	/* Both under: fails once, with the better figure. */
	m.value[GPUCHECK_CUBLAS_BF16] = 400;
	gpucheck_report_set_measure(r, 0, &m);
	assert_int_equal(gpucheck_report_evaluate(r, &f), 0);
	assert_string_equal(gpucheck_report_reason(r),
			    "aiss-gpucheck: GPU0 BF16 GEMM 400 TFLOPS < 495");
	assert_int_equal(gpucheck_report_failure_count(r), 1);
	gpucheck_report_destroy(r);
}

static void test_unknown_model_and_errors(void **state)
{
	gpucheck_floors f;
	gpucheck_report *r = gpucheck_report_create("n1", "full", 2);
	gpucheck_device_info info = h100_info();
	gpucheck_measure m;

	gpucheck_floors_default(&f);
	snprintf(info.name, sizeof(info.name), "NVIDIA B200");
	info.pci_id = 0x2901;
	gpucheck_report_set_device(r, 0, &info, NULL);
	gpucheck_report_set_device(r, 1, &info, NULL);
	assert_null(gpucheck_report_model(r, 0));
	healthy_h100(&m);
	m.value[GPUCHECK_HBM_COPY] = 0.1; /* no floor for an unknown model */
	gpucheck_report_set_measure(r, 0, &m);
	gpucheck_report_set_measure(r, 1, &m);
	assert_int_equal(gpucheck_report_evaluate(r, &f), 1);
	/* ...but verification still applies, and so do run errors. */
	snprintf(m.error, sizeof(m.error), "cudaMalloc: out of memory");
	gpucheck_report_set_measure(r, 1, &m);
	assert_int_equal(gpucheck_report_evaluate(r, &f), 0);
	assert_string_equal(
	    gpucheck_report_reason(r),
	    "aiss-gpucheck: GPU1 check error: cudaMalloc: out of memory");
	/* A model override applies that model's floors. */
	assert_int_equal(gpucheck_report_set_device(r, 0, &info, "H200"), 0);
	assert_string_equal(gpucheck_report_model(r, 0)->name, "H200");
	assert_int_equal(gpucheck_report_set_device(r, 0, &info, "B300"), -1);
	gpucheck_report_destroy(r);
}

static void test_p2p_floor(void **state)
{
	gpucheck_floors f;
	gpucheck_report *r = healthy_node(2);
	gpucheck_p2p p = {
	    .src = 1, .dst = 0, .peer_access = 0, .gbs = 24.0, .checked = 10};

	gpucheck_floors_default(&f);
	assert_int_equal(gpucheck_report_add_p2p(r, &p), 0);
	assert_int_equal(gpucheck_report_evaluate(r, &f), 0);
	assert_string_equal(gpucheck_report_reason(r),
			    "aiss-gpucheck: GPU1->GPU0 P2P 24 GB/s < 225");
	p.src = p.dst = 0;
	assert_int_equal(gpucheck_report_add_p2p(r, &p), -1);
	gpucheck_report_destroy(r);
}

static void test_report_table(void **state)
{
	gpucheck_floors f;
	gpucheck_report *r = healthy_node(2);
	gpucheck_measure m;
	char path[512], *text;
	FILE *out;

	healthy_h100(&m);
	m.value[GPUCHECK_FMA_FP64] = 12.0;
	m.mismatches[GPUCHECK_HBM_TRIAD] = 3;
	gpucheck_report_set_measure(r, 1, &m);
	gpucheck_floors_default(&f);
	gpucheck_report_evaluate(r, &f);
	make_tmpdir();
	snprintf(path, sizeof(path), "%s/table.txt", tmpdir);
	out = fopen(path, "w");
	assert_non_null(out);
	assert_int_equal(gpucheck_report_print(r, out), 0);
	fclose(out);
	text = read_text(path);
	assert_non_null(strstr(text, "quick check of gpu-a01: FAIL"));
	assert_non_null(strstr(text,
			       "reason: aiss-gpucheck: GPU1 HBM triad wrong "
			       "result (3 of 4096 checked); +1 more"));
	assert_non_null(strstr(text, "GPU0  NVIDIA H100 80GB HBM3  model H100 "
				     "SXM5  pass"));
	assert_non_null(strstr(text, "GPU1  NVIDIA H100 80GB HBM3  model H100 "
				     "SXM5  FAIL"));
	assert_non_null(strstr(text, "WRONG (3/4096)  <-- FAIL"));
	/* The FP64 line shows its floor (0.7 x 33.5) and fails. */
	assert_non_null(strstr(text, "23.45"));
	assert_non_null(strstr(text, "node BF16 capacity: 1520.0 TFLOPS"));
	gpucheck_report_destroy(r);
}

static void test_format_shortfall(void **state)
{
	char buf[64];

	assert_string_equal(
	    gpucheck_format_shortfall(buf, sizeof(buf), 1.9, "TB/s", 2.68),
	    "1.9 TB/s < 2.7");
	/* Rounding would print "2.7 < 2.7": more digits. */
	assert_string_equal(
	    gpucheck_format_shortfall(buf, sizeof(buf), 2.66, "TB/s", 2.68),
	    "2.66 TB/s < 2.68");
	assert_string_equal(
	    gpucheck_format_shortfall(buf, sizeof(buf), 412.3, "TFLOPS", 494.7),
	    "412 TFLOPS < 495");
}

/* ---- drain / resume --------------------------------------------------- */

static void test_node_state_parse(void **state)
{
	gpucheck_node_state st;
	const char *multi =
	    "NodeName=gpu-a01 Arch=x86_64 CoresPerSocket=48\n"
	    "   CPUAlloc=0 CPUEfctv=192 CPUTot=192 CPULoad=0.03\n"
	    "   State=IDLE+DRAIN ThreadsPerCore=2 TmpDisk=0 Weight=1\n"
	    "   Reason=aiss-gpucheck: GPU3 HBM 1.9 TB/s < 2.7 "
	    "[root@2026-11-23T01:02:03]\n";
	const char *oneline =
	    "NodeName=gpu-a02 Arch=x86_64 CPUState=x State=MIXED "
	    "Reason=(null) Comment=(null)\n";

	assert_int_equal(gpucheck_node_state_parse(multi, &st), 0);
	assert_true(st.found && st.drained);
	assert_string_equal(st.state, "IDLE+DRAIN");
	assert_string_equal(st.reason,
			    "aiss-gpucheck: GPU3 HBM 1.9 TB/s < 2.7");
	assert_int_equal(gpucheck_node_state_parse(oneline, &st), 0);
	assert_false(st.drained);
	assert_string_equal(st.state, "MIXED");
	assert_int_equal(
	    gpucheck_node_state_parse("Node gpu-a03 not found\n", &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_decide(void **state)
{
	gpucheck_node_state idle = {.found = 1, .drained = 0};
	gpucheck_node_state ours = {
	    .found = 1,
	    .drained = 1,
	    .reason = "aiss-gpucheck: GPU3 HBM 1.9 TB/s < 2.7"};
	gpucheck_node_state operator_ = {
	    .found = 1, .drained = 1, .reason = "replacing NIC, ticket 4411"};
	const char *same = "aiss-gpucheck: GPU3 HBM 1.9 TB/s < 2.7";
	const char *other = "aiss-gpucheck: GPU5 FP64 FMA 12.0 TFLOPS < 23.5";

	assert_int_equal(gpucheck_decide(0, &idle, same),
			 GPUCHECK_ACTION_DRAIN);
	assert_int_equal(gpucheck_decide(1, &idle, ""), GPUCHECK_ACTION_NONE);
	assert_int_equal(gpucheck_decide(1, &ours, ""), GPUCHECK_ACTION_RESUME);
	assert_int_equal(gpucheck_decide(0, &ours, same), GPUCHECK_ACTION_NONE);
	assert_int_equal(gpucheck_decide(0, &ours, other),
			 GPUCHECK_ACTION_DRAIN);
	/* Never resume or relabel a node an operator drained. */
	assert_int_equal(gpucheck_decide(1, &operator_, ""),
			 GPUCHECK_ACTION_NONE);
	assert_int_equal(gpucheck_decide(0, &operator_, same),
			 GPUCHECK_ACTION_NONE);
	assert_string_equal(gpucheck_action_name(GPUCHECK_ACTION_RESUME),
			    "resume");
}

/* ---- the command over a fake backend and a fake scontrol --------------- */

struct fake {
	int ngpus;    /* -1: no driver */
	int hang_gpu; /* >= 0: this GPU's kernels never finish */
	gpucheck_measure m[8];
	int runs;
	char plant_seen[32];
};

static int fake_count(void *ctx, int *n, char *err, size_t errlen)
{
	struct fake *f = ctx;

	if (f->ngpus < 0) {
		snprintf(err, errlen, "CUDA driver not loaded");
		errno = ENODEV;
		return -1;
	}
	*n = f->ngpus;
	return 0;
}

static int fake_info(void *ctx, int gpu, gpucheck_device_info *info)
{
	*info = h100_info();
	info->pci_bus = 0x18 + gpu;
	return 0;
}

static int fake_run_device(void *ctx, int gpu, const gpucheck_plan *plan,
			   const gpucheck_model *model, gpucheck_measure *m)
{
	struct fake *f = ctx;

	if (f->hang_gpu == gpu)
		for (;;)
			pause();
	*m = f->m[gpu];
	m->measured[GPUCHECK_H2D] = m->measured[GPUCHECK_D2H] = 0;
	if (plan->plant_fault[0] && plan->plant_gpu == gpu) {
		snprintf(f->plant_seen, sizeof(f->plant_seen), "%s",
			 plan->plant_fault);
		if (strcmp(plan->plant_fault, "hbm_copy") == 0)
			m->mismatches[GPUCHECK_HBM_COPY] = 1;
	}
	__atomic_add_fetch(&f->runs, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int fake_run_host_link(void *ctx, int gpu, const gpucheck_plan *plan,
			      gpucheck_measure *m)
{
	struct fake *f = ctx;

	m->measured[GPUCHECK_H2D] = m->measured[GPUCHECK_D2H] = 1;
	m->value[GPUCHECK_H2D] = f->m[gpu].value[GPUCHECK_H2D];
	m->value[GPUCHECK_D2H] = f->m[gpu].value[GPUCHECK_D2H];
	return 0;
}

static int fake_run_p2p(void *ctx, int src, int dst, const gpucheck_plan *plan,
			gpucheck_p2p *p)
{
	p->peer_access = 1;
	p->gbs = 390;
	p->checked = 1000;
	return 0;
}

static struct fake fake;
static const gpucheck_backend fake_be = {"fake",          &fake,
					 fake_count,      fake_info,
					 fake_run_device, fake_run_host_link,
					 fake_run_p2p};

static char log_path[512], state_path[512], json_path[512];

/* Runs gpucheck_main with the fake scontrol reporting @node_state. */
static int run_cmd(const char *node_state, const char *a1, const char *a2)
{
	char script[512], conf[512];
	char *argv[10];
	int argc = 0;

	make_tmpdir();
	snprintf(script, sizeof(script), "%s/scontrol", tmpdir);
	snprintf(log_path, sizeof(log_path), "%s/scontrol.log", tmpdir);
	snprintf(state_path, sizeof(state_path), "%s/node.txt", tmpdir);
	snprintf(json_path, sizeof(json_path), "%s/out.json", tmpdir);
	snprintf(conf, sizeof(conf), "%s/empty.conf", tmpdir);
	write_text(
	    script,
	    "#!/bin/sh\n"
	    "if [ \"$1\" = show ]; then cat \"$FAKE_STATE\"; exit 0; fi\n"
	    "for a in \"$@\"; do printf '[%s]' \"$a\" >> \"$FAKE_LOG\"; done\n"
	    "echo >> \"$FAKE_LOG\"\n");
	assert_int_equal(chmod(script, 0755), 0);
	write_text(conf, "# nothing\n");
	write_text(log_path, "");
	write_text(state_path, node_state);
	unlink(json_path);
	setenv("AISS_SCONTROL", script, 1);
	setenv("FAKE_STATE", state_path, 1);
	setenv("FAKE_LOG", log_path, 1);
	setenv("AISS_CONF", conf, 1);
	argv[argc++] = "aiss-gpucheck";
	argv[argc++] = "--node";
	argv[argc++] = "gpu-a01";
	argv[argc++] = "--json";
	argv[argc++] = "-o";
	argv[argc++] = json_path;
	if (a1)
		argv[argc++] = (char *)a1;
	if (a2)
		argv[argc++] = (char *)a2;
	argv[argc] = NULL;
	return gpucheck_main(argc, argv, &fake_be, NULL);
}

#define IDLE_NODE                                                              \
	"NodeName=gpu-a01 Arch=x86_64\n   State=IDLE ThreadsPerCore=2\n"
#define OUR_DRAIN                                                              \
	"NodeName=gpu-a01 Arch=x86_64\n   State=IDLE+DRAIN\n"                  \
	"   Reason=aiss-gpucheck: GPU3 HBM 1.9 TB/s < 2.7 "                    \
	"[root@2026-11-23T01:00:00]\n"
#define OPS_DRAIN                                                              \
	"NodeName=gpu-a01 Arch=x86_64\n   State=IDLE+DRAIN\n"                  \
	"   Reason=PSU swap [ops@2026-11-23T01:00:00]\n"

static void fake_reset(int n)
{
	memset(&fake, 0, sizeof(fake));
	fake.ngpus = n;
	fake.hang_gpu = -1;
	for (int g = 0; g < 8; g++)
		healthy_h100(&fake.m[g]);
}

static void test_main_drains_degraded(void **state)
{
	fake_reset(8);
	fake.m[3].value[GPUCHECK_HBM_READ] = 1.9;
	assert_int_equal(run_cmd(IDLE_NODE, "--quick", NULL),
			 GPUCHECK_EXIT_FAIL);
	assert_int_equal(fake.runs, 8);
	assert_string_equal(
	    read_text(log_path),
	    "[update][nodename=gpu-a01][state=drain]"
	    "[reason=aiss-gpucheck: GPU3 HBM 1.9 TB/s < 2.7]\n");
	const char *json = read_text(json_path);
	assert_non_null(json);
	assert_true(json_valid(json));
	assert_non_null(strstr(json, "\"verdict\":\"fail\""));
	assert_non_null(strstr(
	    json, "\"reason\":\"aiss-gpucheck: GPU3 HBM 1.9 TB/s < 2.7\""));
	assert_non_null(strstr(json, "\"model\":\"H100 SXM5\""));
	assert_non_null(strstr(json, "\"pci_id\":\"10de:2330\""));
	/* 8 GPUs -> 56 ordered peer pairs. */
	int pairs = 0;
	for (const char *p = json; (p = strstr(p, "\"src\":")); p++)
		pairs++;
	assert_int_equal(pairs, 56);
	/* Still failing next time, same figures: nothing to do. */
	assert_int_equal(run_cmd(OUR_DRAIN, NULL, NULL), GPUCHECK_EXIT_FAIL);
	assert_string_equal(read_text(log_path), "");
}

static void test_main_resumes_only_own_drain(void **state)
{
	fake_reset(8);
	assert_int_equal(run_cmd(OUR_DRAIN, "--quick", NULL),
			 GPUCHECK_EXIT_PASS);
	assert_string_equal(read_text(log_path),
			    "[update][nodename=gpu-a01][state=resume]\n");
	assert_int_equal(run_cmd(OPS_DRAIN, "--quick", NULL),
			 GPUCHECK_EXIT_PASS);
	assert_string_equal(read_text(log_path), "");
	assert_int_equal(run_cmd(IDLE_NODE, "--quick", NULL),
			 GPUCHECK_EXIT_PASS);
	assert_string_equal(read_text(log_path), "");
	assert_non_null(strstr(read_text(json_path), "\"verdict\":\"pass\""));
	/* --full does not touch Slurm unless asked. */
	fake.m[0].value[GPUCHECK_FMA_FP64] = 3.0;
	assert_int_equal(run_cmd(IDLE_NODE, "--full", NULL),
			 GPUCHECK_EXIT_FAIL);
	assert_string_equal(read_text(log_path), "");
	assert_int_equal(run_cmd(IDLE_NODE, "--full", "--drain"),
			 GPUCHECK_EXIT_FAIL);
	assert_string_equal(
	    read_text(log_path),
	    "[update][nodename=gpu-a01][state=drain]"
	    "[reason=aiss-gpucheck: GPU0 FP64 FMA 3.0 TFLOPS < 23.4]\n");
}

static void test_main_no_gpu_and_usage(void **state)
{
	fake_reset(-1);
	assert_int_equal(run_cmd(IDLE_NODE, "--quick", NULL),
			 GPUCHECK_EXIT_NO_GPU);
	assert_string_equal(read_text(log_path), "");
	fake_reset(0);
	assert_int_equal(run_cmd(IDLE_NODE, NULL, NULL), GPUCHECK_EXIT_NO_GPU);
	assert_int_equal(run_cmd(IDLE_NODE, "--bogus", NULL),
			 GPUCHECK_EXIT_USAGE);
	assert_int_equal(run_cmd(IDLE_NODE, "--quick", "--full"),
			 GPUCHECK_EXIT_USAGE);
	assert_int_equal(run_cmd(IDLE_NODE, "--plant-fault", "gemm_int4"),
			 GPUCHECK_EXIT_USAGE);
	assert_int_equal(
	    run_cmd(IDLE_NODE, "--report-to", "/run/aiss/aissd.sock"),
	    GPUCHECK_EXIT_USAGE);
}

static void test_main_expected_gpus_missing(void **state)
{
	char conf[512];

	fake_reset(-1);
	make_tmpdir();
	snprintf(conf, sizeof(conf), "%s/eight.conf", tmpdir);
	write_text(conf, "gpucheck.expect_gpus = 8\n");
	assert_int_equal(run_cmd(IDLE_NODE, "-c", conf), GPUCHECK_EXIT_FAIL);
	assert_string_equal(
	    read_text(log_path),
	    "[update][nodename=gpu-a01][state=drain]"
	    "[reason=aiss-gpucheck: no GPU visible (8 expected): "
	    "CUDA driver not loaded]\n");
}

static void test_main_plant_fault(void **state)
{
	fake_reset(2);
	assert_int_equal(run_cmd(IDLE_NODE, "--plant-fault", "hbm_copy:1"),
			 GPUCHECK_EXIT_FAIL);
	assert_string_equal(fake.plant_seen, "hbm_copy");
	/* Planting a fault never drains unless --drain is given. */
	assert_string_equal(read_text(log_path), "");
	assert_non_null(
	    strstr(read_text(json_path),
		   "GPU1 HBM copy wrong result (1 of 4096 checked)"));
}

static void test_main_watchdog_drains_hung_gpu(void **state)
{
	int status;
	pid_t pid;

	fake_reset(4);
	fake.hang_gpu = 2;
	/* The watchdog ends the process: run the command in a child. */
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(run_cmd(IDLE_NODE, "--timeout", "1"));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), GPUCHECK_EXIT_FAIL);
	assert_string_equal(
	    read_text(log_path),
	    "[update][nodename=gpu-a01][state=drain]"
	    "[reason=aiss-gpucheck: GPU2 check timed out after 1 s]\n");
	/* A usable limit is required. */
	fake_reset(1);
	assert_int_equal(run_cmd(IDLE_NODE, "--timeout", "soon"),
			 GPUCHECK_EXIT_USAGE);
	/* A check that finishes in time is not cut short. */
	assert_int_equal(run_cmd(IDLE_NODE, "--timeout", "30"),
			 GPUCHECK_EXIT_PASS);
}

/* ---- a minimal JSON syntax checker (RFC 8259 grammar, no semantics) ---- */

static const char *jv_value(const char *p);

static const char *jv_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *jv_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return NULL;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p) || !*p) {
				return NULL;
			}
		}
		p++;
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *jv_number(const char *p)
{
	const char *start = p;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (isdigit((unsigned char)*p))
		while (isdigit((unsigned char)*p))
			p++;
	else
		return NULL;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return p > start ? p : NULL;
}

static const char *jv_value(const char *p)
{
	p = jv_ws(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		int obj = *p == '{';
		p = jv_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				p = jv_string(jv_ws(p));
				if (!p || *(p = jv_ws(p)) != ':')
					return NULL;
				p++;
			}
			p = jv_value(p);
			if (!p)
				return NULL;
			p = jv_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (*p == '"')
		return jv_string(p);
	if (!strncmp(p, "true", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (!strncmp(p, "null", 4))
		return p + 4;
	return jv_number(p);
}

/* 1 when @text is exactly one JSON value. */
static int json_valid(const char *text)
{
	const char *end = text ? jv_value(text) : NULL;
	return end && *jv_ws(end) == '\0';
}

/* ---- JSON writer ------------------------------------------------------ */

static void test_json_writer(void **state)
{
	gpucheck_json *j = gpucheck_json_create();

	gpucheck_json_begin_object(j);
	gpucheck_json_key(j, "s");
	gpucheck_json_string(j, "a\"b\\c\n\x01");
	gpucheck_json_key(j, "n");
	gpucheck_json_number(j, NAN, 6);
	gpucheck_json_key(j, "a");
	gpucheck_json_begin_array(j);
	gpucheck_json_int(j, -3);
	gpucheck_json_number(j, 2.5, 6);
	gpucheck_json_bool(j, 1);
	gpucheck_json_null(j);
	gpucheck_json_end_array(j);
	gpucheck_json_end_object(j);
	assert_string_equal(gpucheck_json_text(j),
			    "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":null,"
			    "\"a\":[-3,2.5,true,null]}");
	assert_true(json_valid(gpucheck_json_text(j)));
	/* The checker itself rejects what it should. */
	assert_false(json_valid("{"));
	assert_false(json_valid("{\"a\":}"));
	assert_false(json_valid("[1,]"));
	assert_false(json_valid("nan"));
	assert_false(json_valid("\"tab\there\""));
	assert_false(json_valid("{} {}"));
	gpucheck_json_destroy(j);

	j = gpucheck_json_create();
	gpucheck_json_begin_object(j);
	assert_null(gpucheck_json_text(j)); /* unbalanced */
	gpucheck_json_end_array(j);
	gpucheck_json_end_object(j);
	assert_null(gpucheck_json_text(j)); /* sticky */
	gpucheck_json_destroy(j);
	gpucheck_json_destroy(NULL);
}

static void test_report_json_fields(void **state)
{
	gpucheck_floors f;
	gpucheck_report *r = healthy_node(1);
	char *json;

	gpucheck_floors_default(&f);
	json = gpucheck_report_json(r);
	assert_non_null(strstr(json, "\"verdict\":\"unevaluated\""));
	free(json);
	gpucheck_report_set_time(r, 1795395723); /* 2026-11-23T01:02:03Z */
	gpucheck_report_evaluate(r, &f);
	json = gpucheck_report_json(r);
	assert_true(json_valid(json));
	assert_non_null(strstr(json, "\"time\":\"2026-11-23T01:02:03Z\""));
	assert_non_null(
	    strstr(json, "\"hbm_copy\":{\"value\":2.98,\"unit\":\"TB/s\","
			 "\"nominal\":3.35,\"fraction_of_nominal\":0.8896,"
			 "\"floor\":2.68,\"baseline\":\"d2d_memcpy\","
			 "\"ratio_to_baseline\":0.9868,\"checked\":4096,"
			 "\"mismatches\":0,\"pass\":true}"));
	assert_non_null(strstr(json, "\"gemm_bf16\":{\"value\":610,"));
	assert_non_null(strstr(
	    json, "\"baseline\":\"cublas_bf16\",\"ratio_to_baseline\":0.8026"));
	assert_non_null(strstr(json, "\"bf16_tflops\":760"));
	free(json);
	gpucheck_report_destroy(r);
}

/* ---- CPU references vs the verifier ----------------------------------- */

static void test_verify_words_and_copy(void **state)
{
	enum { N = 1 << 16 };
	uint32_t *src = malloc(N * sizeof(*src)),
		 *dst = malloc(N * sizeof(*dst));
	uint64_t idx[257];
	uint32_t samples[257];
	size_t first = 0;

	for (size_t i = 0; i < N; i++)
		src[i] = gpucheck_pattern_word(i, 0x5eed);
	gpucheck_ref_copy(dst, src, N);
	assert_int_equal(gpucheck_verify_words(dst, NULL, 0, N, 0x5eed, NULL),
			 0);
	/* The planted fault: one bit of one element. */
	dst[40001] ^= 0x100;
	assert_int_equal(gpucheck_verify_words(dst, NULL, 0, N, 0x5eed, &first),
			 1);
	assert_int_equal(first, 40001);
	/* Another seed is another pattern: nothing passes by accident. */
	assert_int_equal(gpucheck_verify_words(src, NULL, 0, N, 0x5eee, NULL),
			 N);
	/* Sampled, as the GPU path does; the samples include both ends. */
	gpucheck_sample_indices(idx, 257, N, 42);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[256], N - 1);
	for (int s = 0; s < 257; s++) {
		assert_true(idx[s] < N);
		samples[s] = dst[idx[s]];
	}
	assert_int_equal(
	    gpucheck_verify_words(samples, idx, 0, 257, 0x5eed, NULL), 0);
	samples[100] ^= 1;
	assert_int_equal(
	    gpucheck_verify_words(samples, idx, 0, 257, 0x5eed, &first), 1);
	assert_int_equal(first, 100);
	/* The read kernel's XOR: the CPU reference matches the buffer, and a
	 * flipped bit in any word changes it. */
	uint32_t x = 0;
	for (size_t i = 0; i < N; i++)
		x ^= src[i];
	assert_int_equal(gpucheck_ref_pattern_xor(N, 0x5eed), x);
	assert_int_not_equal(gpucheck_ref_pattern_xor(N - 1, 0x5eed), x);
	assert_int_not_equal(x ^ dst[40001] ^ src[40001], x);
	/* Offsets: a chunk verified at its base. */
	assert_int_equal(
	    gpucheck_verify_words(src + 1000, NULL, 1000, 500, 0x5eed, NULL),
	    0);
	free(src);
	free(dst);
}

static void test_verify_triad(void **state)
{
	enum { N = 1 << 15 };
	float *a = malloc(N * sizeof(*a));
	size_t first;

	gpucheck_ref_triad(a, 0, N);
	assert_int_equal(gpucheck_verify_triad(a, NULL, 0, N, NULL), 0);
	/* The reference is the fused a = b + 3c: within one rounding of the
	 * exact value, and in range. */
	for (size_t i = 0; i < N; i += 997) {
		double b = gpucheck_pattern_float(i, GPUCHECK_TRIAD_SEED_B);
		double c = gpucheck_pattern_float(i, GPUCHECK_TRIAD_SEED_C);
		assert_true(fabs(a[i] - (b + 3.0 * c)) <= ldexp(1.0, -21));
		assert_true(a[i] >= 4.0f && a[i] < 8.0f);
	}
	/* One unit in the last place of one element is caught. */
	uint32_t bits;
	memcpy(&bits, &a[N / 2], 4);
	bits ^= 1;
	memcpy(&a[N / 2], &bits, 4);
	assert_int_equal(gpucheck_verify_triad(a, NULL, 0, N, &first), 1);
	assert_int_equal(first, N / 2);
	free(a);
}

/* The FMA kernel's per-thread arithmetic, written out independently. */
static float kernel_fma32_thread(uint64_t t, long iters)
{
	float x[GPUCHECK_FMA_CHAINS], s = 0;
	for (int c = 0; c < GPUCHECK_FMA_CHAINS; c++)
		x[c] = 1.0f + (float)((t % 4) * 8 + (uint64_t)c) / 32.0f;
	for (long i = 0; i < iters; i++)
		for (int c = 0; c < GPUCHECK_FMA_CHAINS; c++)
			x[c] = fmaf(x[c], 1.0f - 0x1p-14f, 0x1p-14f);
	for (int c = 0; c < GPUCHECK_FMA_CHAINS; c++)
		s += x[c];
	return s;
}

static void test_verify_fma(void **state)
{
	enum { T = 64 };
	float o32[T];
	double o64[T];
	const long iters = 5000;
	size_t first;

	for (int t = 0; t < T; t++) {
		o32[t] = kernel_fma32_thread((uint64_t)t, iters);
		o64[t] = gpucheck_ref_fma64((unsigned)t % GPUCHECK_FMA_CLASSES,
					    iters);
	}
	assert_int_equal(gpucheck_verify_fma32(o32, NULL, T, iters, NULL), 0);
	assert_int_equal(gpucheck_verify_fma64(o64, NULL, T, iters, NULL), 0);
	/* Classes differ, so a thread computing another's chain is caught. */
	assert_true(o32[0] != o32[1] && o64[2] != o64[3]);
	/* Stays in range (8 chains in [1, 2)). */
	assert_true(o32[0] >= 8.0f && o32[0] < 16.0f);
	/* Iteration count matters: one step short is caught everywhere. */
	assert_int_equal(gpucheck_verify_fma32(o32, NULL, T, iters - 1, NULL),
			 T);
	o32[17] = nextafterf(o32[17], 100.0f);
	assert_int_equal(gpucheck_verify_fma32(o32, NULL, T, iters, &first), 1);
	assert_int_equal(first, 17);
	o64[63] = -o64[63];
	assert_int_equal(gpucheck_verify_fma64(o64, NULL, T, iters, &first), 1);
	assert_int_equal(first, 63);
}

static void test_verify_gemm_pattern(void **state)
{
	enum { M = 32, N = 48, K = 96, S = 64 };
	float *c = malloc(M * N * sizeof(*c));
	uint32_t rows[S], cols[S];
	float got[S];
	uint64_t pick[S];
	size_t first;

	/* The pattern GEMM in FP32 as a tensor core would accumulate it. */
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			float acc = 0;
			for (int k = 0; k < K; k++)
				acc += (float)gpucheck_gemm_input(
					   (uint64_t)i * K + k,
					   GPUCHECK_GEMM_SEED_A) *
				       (float)gpucheck_gemm_input(
					   (uint64_t)j * K + k,
					   GPUCHECK_GEMM_SEED_B);
			c[i * N + j] = acc;
		}
	/* Inputs are small integers, both signs, so the check is not vacuous.
	 */
	int seen[7] = {0};
	for (int k = 0; k < 700; k++)
		seen[gpucheck_gemm_input((uint64_t)k, GPUCHECK_GEMM_SEED_A) +
		     3]++;
	for (int v = 0; v < 7; v++)
		assert_true(seen[v] > 50);
	gpucheck_sample_indices(pick, S, M * N, 7);
	for (int s = 0; s < S; s++) {
		rows[s] = (uint32_t)(pick[s] / N);
		cols[s] = (uint32_t)(pick[s] % N);
		got[s] = c[pick[s]];
	}
	assert_int_equal(
	    gpucheck_verify_gemm(GPUCHECK_BF16, K, got, rows, cols, S, NULL),
	    0);
	/* Transposed operands are wrong answers. */
	for (int s = 0; s < S; s++)
		got[s] = c[cols[s] % M * N + rows[s] % N];
	assert_true(gpucheck_verify_gemm(GPUCHECK_BF16, K, got, rows, cols, S,
					 NULL) > S / 2);
	for (int s = 0; s < S; s++)
		got[s] = c[pick[s]];
	got[S / 3] += 1.0f; /* the planted fault */
	assert_int_equal(
	    gpucheck_verify_gemm(GPUCHECK_FP16, K, got, rows, cols, S, &first),
	    1);
	assert_int_equal(first, S / 3);
	free(c);
}

static void test_gemm_tolerance_by_type(void **state)
{
	enum { M = 24, N = 16, K = 256 };
	float *a = malloc(M * K * sizeof(float)),
	      *bt = malloc(N * K * sizeof(float));
	float *c = malloc(M * N * sizeof(float)),
	      *craw = malloc(M * N * sizeof(float));
	double ref[M * N], absum[M * N];
	uint64_t x = 88172645463325252ull;

	for (int i = 0; i < M * K + N * K; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		float v =
		    (float)((double)(x >> 11) / 9007199254740992.0 - 0.5) *
		    4.0f;
		if (i < M * K)
			a[i] = v;
		else
			bt[i - M * K] = v;
	}
	for (int t = GPUCHECK_BF16; t <= GPUCHECK_FP16; t++) {
		float (*rnd)(float) = t == GPUCHECK_BF16 ? gpucheck_round_bf16
							 : gpucheck_round_fp16;
		gpucheck_ref_gemm_tc((gpucheck_dtype)t, a, bt, c, M, N, K);
		gpucheck_ref_gemm_tc(GPUCHECK_FP32, a, bt, craw, M, N, K);
		for (int i = 0; i < M; i++)
			for (int j = 0; j < N; j++) {
				double s = 0, as = 0;
				for (int k = 0; k < K; k++) {
					double p = (double)rnd(a[i * K + k]) *
						   rnd(bt[j * K + k]);
					s += p;
					as += fabs(p);
				}
				ref[i * N + j] = s;
				absum[i * N + j] = as;
			}
		/* The emulated tensor core is within tolerance of the exact
		 * product of the rounded inputs... */
		assert_int_equal(gpucheck_verify_gemm_samples((gpucheck_dtype)t,
							      K, c, ref, absum,
							      M * N, NULL),
				 0);
		/* ...a GEMM that skipped the rounding to BF16/FP16 is not... */
		assert_true(gpucheck_verify_gemm_samples(
				(gpucheck_dtype)t, K, craw, ref, absum, M * N,
				NULL) > M * N / 2);
		/* ...and neither is one element off by 0.1%. */
		c[77] *= 1.001f;
		size_t first;
		assert_int_equal(gpucheck_verify_gemm_samples((gpucheck_dtype)t,
							      K, c, ref, absum,
							      M * N, &first),
				 1);
		assert_int_equal(first, 77);
	}
	/* FP64 is held to FP64 accuracy. */
	assert_true(gpucheck_gemm_tolerance(GPUCHECK_FP64, 1024, 10, 100) <
		    gpucheck_gemm_tolerance(GPUCHECK_FP32, 1024, 10, 100) *
			1e-8);
	free(a);
	free(bt);
	free(c);
	free(craw);
}

static void test_rounding(void **state)
{
	assert_true(gpucheck_round_bf16(1.0f + 0x1p-8f) ==
		    1.0f); /* tie: even */
	assert_true(gpucheck_round_bf16(1.0f + 0x1p-8f + 0x1p-12f) ==
		    1.0f + 0x1p-7f);
	assert_true(gpucheck_round_bf16(3.0f) == 3.0f);
	assert_true(gpucheck_round_fp16(1.0f + 0x1p-11f) ==
		    1.0f); /* tie: even */
	assert_true(gpucheck_round_fp16(1.0f + 3 * 0x1p-11f) == 1.0f + 0x1p-9f);
	assert_true(gpucheck_round_fp16(65504.0f) == 65504.0f);
	assert_true(isinf(gpucheck_round_fp16(65520.0f)));
	assert_true(gpucheck_round_fp16(0x1p-25f) ==
		    0.0f); /* below half the least subnormal */
	assert_true(gpucheck_round_fp16(-0x1p-24f) == -0x1p-24f);
	assert_true(gpucheck_round_bf16(-2.5e-3f) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_model_by_name),
	    cmocka_unit_test(test_model_by_pci_id),
	    cmocka_unit_test(test_pci_sysfs),
	    cmocka_unit_test(test_cpulist_and_binding),
	    cmocka_unit_test(test_floors_set),
	    cmocka_unit_test(test_floors_load),
	    cmocka_unit_test(test_healthy_passes),
	    cmocka_unit_test(test_degraded_hbm_reason),
	    cmocka_unit_test(test_wrong_result_ranks_first),
	    cmocka_unit_test(test_gemm_floor_best_of),
	    cmocka_unit_test(test_unknown_model_and_errors),
	    cmocka_unit_test(test_p2p_floor),
	    cmocka_unit_test(test_report_table),
	    cmocka_unit_test(test_format_shortfall),
	    cmocka_unit_test(test_node_state_parse),
	    cmocka_unit_test(test_decide),
	    cmocka_unit_test(test_main_drains_degraded),
	    cmocka_unit_test(test_main_resumes_only_own_drain),
	    cmocka_unit_test(test_main_no_gpu_and_usage),
	    cmocka_unit_test(test_main_expected_gpus_missing),
	    cmocka_unit_test(test_main_plant_fault),
	    cmocka_unit_test(test_main_watchdog_drains_hung_gpu),
	    cmocka_unit_test(test_json_writer),
	    cmocka_unit_test(test_report_json_fields),
	    cmocka_unit_test(test_verify_words_and_copy),
	    cmocka_unit_test(test_verify_triad),
	    cmocka_unit_test(test_verify_fma),
	    cmocka_unit_test(test_verify_gemm_pattern),
	    cmocka_unit_test(test_gemm_tolerance_by_type),
	    cmocka_unit_test(test_rounding),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[300];
	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return rc;
}
