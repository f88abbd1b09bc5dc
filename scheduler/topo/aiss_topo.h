/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_topo: builds the plain-C node model from hwloc (live or XML). */
#ifndef AISS_TOPO_H
#define AISS_TOPO_H

#include <stddef.h>
#include <stdio.h>

#include "aiss_place.h"

/*
 * The only part of aiss that includes hwloc. It finds the NVIDIA GPUs (PCI
 * vendor 0x10de, display/3D class), the NICs (Mellanox 0x15b3, network
 * class), each one's PCIe switch, host bridge, NUMA node, package and near
 * CPUs, and the NVLink bandwidth between GPUs from hwloc's "NVLinkBandwidth"
 * distance matrix (direct links plus links through NVSwitches), and hands
 * back an aiss_node (scheduler/place) that has no hwloc in it.
 */

/*
 * Loads the topology of @xml_path (an hwloc XML file), or when @xml_path is
 * NULL of the machine hwloc sees (the live one, or HWLOC_XMLFILE when that
 * is set). Returns a finalized node (free with aiss_node_destroy()), or
 * NULL with errno set (ENOENT/EINVAL: unreadable or bad XML; ENODEV: no
 * NVIDIA GPU) and a sentence in @err (may be NULL) of @errlen bytes.
 */
aiss_node *aiss_topo_load(const char *xml_path, char *err, size_t errlen);

/*
 * Sets the node's NVLink bandwidths from the text of `nvidia-smi topo -m`
 * (entries "NV<n>" between GPU<i> and GPU<j> mean n links of
 * @link_mbps MB/s each; 0 picks 25000), then re-finalizes @node. Pairs the
 * text shows without NVLink are set to 0. Returns the number of GPU rows
 * read, or -1 with errno EINVAL (no matrix, or more GPUs than @node has).
 * Pure C: usable without hwloc.
 */
int aiss_topo_apply_nvsmi(aiss_node *node, const char *text,
			  unsigned link_mbps);

/* Writes Slurm's GPU type name for @model into @buf: the first word that
 * looks like a GPU (letter + digits: "H100", "V100") in lower case, else
 * "gpu". */
void aiss_topo_gpu_type(const char *model, char *buf, size_t len);

/*
 * Writes gres.conf lines for @node to @out, one per GPU in /dev/nvidiaN
 * order: "Name=gpu Type=<type> File=/dev/nvidiaN Cores=<the GPU's whole
 * socket, as a logical core range> Links=<NVLinks to each GPU, -1 for
 * itself>". Cores= is left out when the GPU's socket is unknown, Links=
 * when the node has no NVLink. @type NULL derives it from the GPU model;
 * @nodename non-NULL prefixes "NodeName=<nodename> "; @dev_prefix
 * replaces "/dev/nvidia" in File= (NULL: the default). Returns 0, or -1
 * with errno (EINVAL, or the stream's error).
 */
int aiss_topo_write_gres(const aiss_node *node, const char *type,
			 const char *nodename, const char *dev_prefix,
			 FILE *out);

/* Writes the readable GPU/NIC/NUMA/core map of @node to @out. Returns 0,
 * or -1 with errno. */
int aiss_topo_write_show(const aiss_node *node, FILE *out);

#endif
