/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_model: the centre's GPU models and their datasheet figures. */
#ifndef GPUCHECK_MODEL_H
#define GPUCHECK_MODEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Nominal figures of one GPU model, from NVIDIA's public datasheets.
 * Tensor figures are dense (without structured sparsity), FP32 and FP64 are
 * the CUDA-core (non-tensor) figures that an FMA chain can reach, link
 * figures are per direction. A zero means "no nominal figure: report only".
 */
typedef struct gpucheck_model {
	const char *name;       /* "H100 SXM5" */
	const char *tokens;     /* name tokens that must all be present */
	const char *not_tokens; /* tokens that must all be absent */
	uint16_t pci_ids[4];    /* PCI device ids (vendor 0x10de); 0 ends */
	double hbm_tbs;         /* HBM bandwidth, TB/s (10^12 B/s) */
	double bf16_tflops;     /* BF16 tensor, dense */
	double fp16_tflops;     /* FP16 tensor (FP32 accumulate), dense */
	double fp32_tflops;     /* FP32 CUDA cores */
	double fp64_tflops;     /* FP64 CUDA cores */
	double pcie_gbs;        /* host link per direction, GB/s */
	double p2p_gbs;         /* NVLink per direction, GB/s; 0: none */
	const char *source;     /* the datasheet the figures come from */
} gpucheck_model;

/* PCI vendor id of NVIDIA. */
#define GPUCHECK_PCI_VENDOR_NVIDIA 0x10de

/* The built-in table; *@count receives its length. Never NULL. */
const gpucheck_model *gpucheck_models(int *count);

/*
 * Finds the model of a GPU. A known PCI device id @pci_id (vendor NVIDIA;
 * 0 when unknown) wins; otherwise the CUDA device name @name (may be NULL)
 * is matched by tokens, case-insensitively ("NVIDIA H100 80GB HBM3" is the
 * H100 SXM5). Returns the model, or NULL with errno ENOENT when neither
 * matches. The result points into the static table.
 */
const gpucheck_model *gpucheck_model_match(const char *name, uint16_t pci_id);

/* Finds a model by its table name (case-insensitive), or NULL/ENOENT. */
const gpucheck_model *gpucheck_model_by_name(const char *name);

/*
 * Reads the PCI device id of the device at @domain:@bus:@dev.0 from sysfs
 * below @sysfs_root ("/sys" normally; tests point it elsewhere). Returns
 * the id, or 0 (errno set) when it cannot be read or the vendor is not NVIDIA.
 */
uint16_t gpucheck_pci_device_id(const char *sysfs_root, int domain, int bus,
				int dev);

#ifdef __cplusplus
}
#endif
#endif
