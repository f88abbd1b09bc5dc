/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Hand-built node models for the placement tests (no hwloc). */
#ifndef AISS_TEST_HGX_MODEL_H
#define AISS_TEST_HGX_MODEL_H

#include "aiss_place.h"

/* An HGX H100-like node: 2 packages x 56 cores (1 NUMA node each), 4 PCIe
 * switches (each under its own host bridge) with 2 GPUs and 2 NICs, all GPU
 * pairs at 18 NVLinks through NVSwitch. GPU g is on switch g/2, NUMA g/4.
 * Finalized; free with aiss_node_destroy(). */
aiss_node *test_hgx_node(void);

/* A POWER8-like node: 4 GPUs, no PCIe switches, each on its own host
 * bridge, 2 per socket; NVLink only within pairs (0,1) and (2,3). */
aiss_node *test_power8_node(void);

/* A DGX-2-like node: 16 GPUs, 2 per switch, 4 per host bridge, 8 per
 * socket (one NUMA node each), uniform NVLink (6 links via NVSwitch). */
aiss_node *test_dgx2_node(void);

#endif
