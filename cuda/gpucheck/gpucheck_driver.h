/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_driver: the aiss-gpucheck command over a kernel backend. */
#ifndef GPUCHECK_DRIVER_H
#define GPUCHECK_DRIVER_H

#include <stddef.h>

#include "gpucheck_report.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exit statuses of aiss-gpucheck (documented in aiss-gpucheck(8)). */
enum {
	GPUCHECK_EXIT_PASS = 0, /* every GPU passed */
	GPUCHECK_EXIT_FAIL =
	    1, /* a GPU failed a floor or gave a wrong result */
	GPUCHECK_EXIT_USAGE = 2,  /* bad option or configuration */
	GPUCHECK_EXIT_NO_GPU = 3, /* no GPU or no driver on this machine */
	GPUCHECK_EXIT_ERROR = 4   /* the check could not complete (scontrol,
				     output, aissd) */
};

/* How much work each kernel does. */
typedef struct gpucheck_plan {
	int full;                     /* 0: --quick, 1: --full */
	unsigned long long hbm_bytes; /* per HBM buffer (>> L2) */
	int hbm_reps;                 /* timed repetitions (best taken) */
	int gemm_n;                   /* M = N = K, a multiple of 128 */
	int gemm_reps;
	double fma_seconds;            /* target length of one FMA kernel */
	unsigned long long pcie_bytes; /* pinned host buffer */
	int pcie_reps;
	unsigned long long p2p_bytes;
	int p2p_reps;
	int samples;          /* elements verified on the host */
	char plant_fault[32]; /* "" or the metric key to corrupt */
	int plant_gpu;        /* the GPU to plant it on */
	int wgmma;            /* 1 (default): wgmma + TMA GEMM on Hopper;
	                         0: mma.sync everywhere (--mma-sync) */
} gpucheck_plan;

/* Fills @p with the defaults of --quick (@full 0) or --full (@full 1). */
void gpucheck_plan_default(gpucheck_plan *p, int full);

/* Kernels that --plant-fault accepts (metric keys), NULL-terminated. */
extern const char *const gpucheck_plant_targets[];

/*
 * What runs the kernels: the CUDA backend in aiss-gpucheck, a fake in the
 * tests. Every function returns 0, or -1 with errno; per-GPU failures that
 * are the GPU's fault go into the measure's error text instead (the GPU
 * then fails the check).
 */
typedef struct gpucheck_backend {
	const char *name;
	void *ctx;
	/* Number of GPUs; -1 with errno ENODEV and a sentence in @err when
	 * there is no GPU or no usable driver. */
	int (*count)(void *ctx, int *n, char *err, size_t errlen);
	/* Describes GPU @gpu (name, PCI address and id, SMs, memory). */
	int (*info)(void *ctx, int gpu, gpucheck_device_info *info);
	/* On-device kernels: HBM, D2D baseline, GEMMs, FMA. Called for all
	 * GPUs at once from separate threads. @model may be NULL. */
	int (*run_device)(void *ctx, int gpu, const gpucheck_plan *plan,
			  const gpucheck_model *model, gpucheck_measure *m);
	/* Pinned host<->device copies; called for one GPU at a time so GPUs
	 * behind a shared PCIe switch do not slow each other. */
	int (*run_host_link)(void *ctx, int gpu, const gpucheck_plan *plan,
			     gpucheck_measure *m);
	/* One peer copy @src -> @dst, verified on @dst; one pair at a time. */
	int (*run_p2p)(void *ctx, int src, int dst, const gpucheck_plan *plan,
		       gpucheck_p2p *p);
} gpucheck_backend;

/*
 * Where --report-to sends an evaluated report (aissd's capacity store in
 * aiss-gpucheck). Returns 0, or -1 with a sentence in @err.
 */
typedef int (*gpucheck_report_sink)(const char *where, const gpucheck_report *r,
				    char *err, size_t errlen);

/*
 * The whole command: parses @argv (see aiss-gpucheck(8)), loads the floors,
 * runs @be on every GPU, prints the table or JSON, drains or resumes the
 * node through scontrol when asked, sends the report to @sink (may be
 * NULL: --report-to is then refused) and returns the exit status.
 */
int gpucheck_main(int argc, char **argv, const gpucheck_backend *be,
		  gpucheck_report_sink sink);

#ifdef __cplusplus
}
#endif
#endif
