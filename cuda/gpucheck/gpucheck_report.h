/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_report: a node's figures, the verdict and its JSON. */
#ifndef GPUCHECK_REPORT_H
#define GPUCHECK_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gpucheck_config.h"
#include "gpucheck_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The figures measured on each GPU. Never renumber: JSON keys follow. */
typedef enum gpucheck_metric {
	GPUCHECK_HBM_READ,    /* read+verify kernel, TB/s */
	GPUCHECK_HBM_WRITE,   /* pattern write kernel, TB/s */
	GPUCHECK_HBM_COPY,    /* copy kernel (2 bytes moved per byte), TB/s */
	GPUCHECK_HBM_TRIAD,   /* a = b + s*c (3 bytes per byte), TB/s */
	GPUCHECK_D2D_MEMCPY,  /* cudaMemcpy D2D baseline, TB/s */
	GPUCHECK_GEMM_BF16,   /* own tensor-core GEMM, TFLOPS */
	GPUCHECK_GEMM_FP16,   /* own tensor-core GEMM, TFLOPS */
	GPUCHECK_CUBLAS_BF16, /* cublasGemmEx baseline, TFLOPS */
	GPUCHECK_CUBLAS_FP16, /* cublasGemmEx baseline, TFLOPS */
	GPUCHECK_FMA_FP32,    /* FP32 FMA chains, TFLOPS */
	GPUCHECK_FMA_FP64,    /* FP64 FMA chains, TFLOPS */
	GPUCHECK_H2D,         /* pinned host to device, GB/s */
	GPUCHECK_D2H,         /* device to pinned host, GB/s */
	GPUCHECK_METRIC__COUNT
} gpucheck_metric;

/* JSON key of @m ("hbm_copy"), or NULL when out of range. */
const char *gpucheck_metric_key(gpucheck_metric m);
/* Label of @m for people ("HBM copy"), or NULL. */
const char *gpucheck_metric_label(gpucheck_metric m);
/* Unit of @m ("TB/s", "TFLOPS", "GB/s"), or NULL. */
const char *gpucheck_metric_unit(gpucheck_metric m);
/* The baseline @m is reported as a ratio of (D2D memcpy, cuBLAS), or -1. */
int gpucheck_metric_baseline(gpucheck_metric m);

/* What a backend measured on one GPU. Zero it, then fill what was run. */
typedef struct gpucheck_measure {
	int measured[GPUCHECK_METRIC__COUNT];         /* 1: value is valid */
	double value[GPUCHECK_METRIC__COUNT];         /* in the metric's unit */
	long long checked[GPUCHECK_METRIC__COUNT];    /* elements verified */
	long long mismatches[GPUCHECK_METRIC__COUNT]; /* wrong elements */
	char error[256]; /* non-empty: the check could not run (CUDA error) */
	char gemm_kernel[24]; /* which own GEMM ran: "mma.sync", "wgmma+tma" */
} gpucheck_measure;

/* What the backend knows about one GPU before measuring it. */
typedef struct gpucheck_device_info {
	char name[128]; /* CUDA device name */
	int pci_domain, pci_bus, pci_dev;
	uint16_t pci_id; /* PCI device id (0: unknown) */
	int cc_major, cc_minor;
	int sm_count;
	unsigned long long mem_bytes;
} gpucheck_device_info;

/* One measured copy between two GPUs. */
typedef struct gpucheck_p2p {
	int src, dst;
	int peer_access; /* 1: direct peer access, 0: staged copy */
	double gbs;      /* GB/s, src to dst */
	long long checked, mismatches;
	char error[128];
} gpucheck_p2p;

/* A node's check: devices, figures, verdict. */
typedef struct gpucheck_report gpucheck_report;

/*
 * Returns a report for @ngpus GPUs (0..64) of node @node (copied; may be
 * NULL) checked in mode @mode ("quick" or "full", copied), or NULL with
 * errno EINVAL/ENOMEM. Free with gpucheck_report_destroy().
 */
gpucheck_report *gpucheck_report_create(const char *node, const char *mode,
					int ngpus);

/* Frees @r. @r may be NULL. */
void gpucheck_report_destroy(gpucheck_report *r);

/* Number of GPUs @r was created for. */
int gpucheck_report_gpu_count(const gpucheck_report *r);

/*
 * Records the device @info of GPU @gpu and looks its model up (by PCI id,
 * then name); @model_override (may be NULL) names a table model to use
 * instead. Returns 0, or -1 with errno EINVAL (bad index) or ENOENT (the
 * override names no model).
 */
int gpucheck_report_set_device(gpucheck_report *r, int gpu,
			       const gpucheck_device_info *info,
			       const char *model_override);

/* The device info recorded for @gpu, or NULL when none was. */
const gpucheck_device_info *gpucheck_report_device(const gpucheck_report *r,
						   int gpu);

/* The model matched for @gpu, or NULL when unknown. */
const gpucheck_model *gpucheck_report_model(const gpucheck_report *r, int gpu);

/* Copies @m as the figures of GPU @gpu. Returns 0, or -1/EINVAL. */
int gpucheck_report_set_measure(gpucheck_report *r, int gpu,
				const gpucheck_measure *m);

/* Appends one peer copy (copied). Returns 0, or -1/EINVAL/ENOMEM. */
int gpucheck_report_add_p2p(gpucheck_report *r, const gpucheck_p2p *p);

/* Records a node-wide problem (e.g. "no GPU visible"), copied. */
void gpucheck_report_set_node_error(gpucheck_report *r, const char *text);

/* Records the UTC time of the check (seconds since the epoch). */
void gpucheck_report_set_time(gpucheck_report *r, long long unix_seconds);

/*
 * Applies @floors to every figure: a GPU fails when any verified kernel
 * found a wrong element, when its check could not run, or when a figure
 * is under floor x nominal for its model (GPUs of unknown models get no
 * floors, only verification). Builds the drain reason, e.g.
 * "aiss-gpucheck: GPU3 HBM 1.9 TB/s < 2.7", from the worst failure
 * (wrong results first, then the lowest fraction of its floor), with
 * "; +N more" when there are others. Returns 1 when the node passes, 0
 * when it fails, -1/EINVAL on bad arguments.
 */
int gpucheck_report_evaluate(gpucheck_report *r, const gpucheck_floors *floors);

/* The node name, mode and check time (-1: unset) @r was given. */
const char *gpucheck_report_node(const gpucheck_report *r);
const char *gpucheck_report_mode(const gpucheck_report *r);
long long gpucheck_report_time(const gpucheck_report *r);

/* 1 when the last evaluation passed, 0 otherwise (or not evaluated). */
int gpucheck_report_passed(const gpucheck_report *r);

/* Number of failures found by the last evaluation. */
int gpucheck_report_failure_count(const gpucheck_report *r);

/* The drain reason of the last failing evaluation, or "" when it passed. */
const char *gpucheck_report_reason(const gpucheck_report *r);

/* Sum over GPUs of the best measured BF16 GEMM (own kernel or cuBLAS), in
 * TFLOPS: the node's capacity for the centre's PFLOPS total. */
double gpucheck_report_bf16_tflops(const gpucheck_report *r);

/*
 * Returns the report as a JSON document (schema in docs/gpucheck.md) in a
 * malloc'd string the caller frees, or NULL with errno ENOMEM. Evaluate
 * first; an unevaluated report has "verdict": "unevaluated".
 */
char *gpucheck_report_json(const gpucheck_report *r);

/* Writes a table for people to @out. Returns 0, or -1 with errno. */
int gpucheck_report_print(const gpucheck_report *r, FILE *out);

/*
 * Formats "@value @unit < @floor" with one decimal under 100 and none
 * above, adding decimals (up to 3) until the two numbers differ, into
 * @buf. Returns @buf.
 */
char *gpucheck_format_shortfall(char *buf, size_t len, double value,
				const char *unit, double floor);

#ifdef __cplusplus
}
#endif
#endif
