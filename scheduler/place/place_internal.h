/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Private layout of aiss_node, shared by node.c and place.c. */
#ifndef AISS_PLACE_INTERNAL_H
#define AISS_PLACE_INTERNAL_H

#include "aiss_place.h"

#define AISS_MAX_PACKAGES 16

struct aiss_node {
	char name[64];
	int ngpus, nnics, npkgs;
	struct aiss_device_desc gpus[AISS_MAX_GPUS];
	struct aiss_device_desc nics[AISS_MAX_NICS];
	struct aiss_package_desc pkgs[AISS_MAX_PACKAGES];
	uint32_t nvlink[AISS_MAX_GPUS][AISS_MAX_GPUS];

	/* Tables built by aiss_node_finalize(). */
	int finalized;
	uint32_t all;              /* mask of all GPUs */
	int ndom[AISS_LVL__COUNT]; /* domains per level */
	uint32_t dom_mask[AISS_LVL__COUNT][AISS_MAX_GPUS]; /* GPUs per domain */
	uint8_t gpu_dom[AISS_LVL__COUNT][AISS_MAX_GPUS];   /* domain of GPU */
	uint8_t pair_level[AISS_MAX_GPUS][AISS_MAX_GPUS];
	uint8_t nic_level[AISS_MAX_GPUS][AISS_MAX_NICS];
	int gpu_nic[AISS_MAX_GPUS];                  /* nearest NIC, -1: none */
	int16_t score[AISS_MAX_GPUS][AISS_MAX_GPUS]; /* pairwise scores */
	uint32_t nv_unit;                            /* MB/s of one NVLink */
	int nv_uniform; /* all GPU pairs have the same bandwidth */
	/* Domain tree (switch < host bridge < NUMA < package < node) for
	 * the dynamic-programming search; valid when nested is set. */
	int nested;
	uint8_t nchild[AISS_LVL__COUNT][AISS_MAX_GPUS];
	uint8_t child[AISS_LVL__COUNT][AISS_MAX_GPUS][AISS_MAX_GPUS];
};

/* For tests: the topo choice by exhaustive enumeration of candidate sets
 * (what the dynamic programme must reproduce). 0 when nothing fits. */
uint32_t aiss_place_topo_enumerate(const aiss_node *node, uint32_t free_mask,
				   int k);

#endif
