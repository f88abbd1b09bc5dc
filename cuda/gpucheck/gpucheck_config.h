/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_config: the floors a GPU must reach, and their aiss.conf keys. */
#ifndef GPUCHECK_CONFIG_H
#define GPUCHECK_CONFIG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Floors as fractions of the model's nominal figure; 0 disables a floor.
 * The defaults pass a healthy GPU with margin (a healthy H100 SXM5 copies
 * at about 90% of its nominal HBM bandwidth) and fail a degraded one.
 */
typedef struct gpucheck_floors {
	double hbm;      /* gpucheck.hbm_floor: each HBM kernel (0.80) */
	double gemm;     /* gpucheck.gemm_floor: best BF16/FP16 GEMM (0.50) */
	double fp32;     /* gpucheck.fp32_floor: FP32 FMA (0.70) */
	double fp64;     /* gpucheck.fp64_floor: FP64 FMA (0.70) */
	double pcie;     /* gpucheck.pcie_floor: H2D and D2H each (0.60) */
	double p2p;      /* gpucheck.p2p_floor: each GPU pair (0.50) */
	int expect_gpus; /* gpucheck.expect_gpus: GPUs a node must show (0: any)
			  */
} gpucheck_floors;

/* The default configuration file. */
#define GPUCHECK_DEFAULT_CONF "/etc/aiss/aiss.conf"

/* Fills @f with the defaults above. */
void gpucheck_floors_default(gpucheck_floors *f);

/*
 * Sets the key @key (with its "gpucheck." prefix) to the text @value.
 * Returns 0, or -1 with errno ENOENT (unknown key) or EINVAL (not a number,
 * or out of range: floors lie in [0, 1], expect_gpus in [0, 64]); @err
 * (may be NULL) receives a sentence for the operator. @f is unchanged on
 * failure.
 */
int gpucheck_floors_set(gpucheck_floors *f, const char *key, const char *value,
			char *err, size_t errlen);

/*
 * Reads the gpucheck.* keys of the aiss.conf-style file @path ("key =
 * value" lines, '#' comments, "[section]" lines and other keys ignored)
 * into @f. Returns 0, or -1 with errno (ENOENT when the file is missing,
 * or as gpucheck_floors_set()) and a sentence naming the file and line in
 * @err. Keys read before a bad line stay applied.
 */
int gpucheck_floors_load(gpucheck_floors *f, const char *path, char *err,
			 size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
