/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_node: the node model and its precomputed placement tables. */
#include "place_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const level_names[AISS_LVL__COUNT] = {
    "switch", "hostbridge", "numa", "package", "node"};

const char *aiss_level_name(enum aiss_level lvl)
{
	if ((int)lvl < 0 || lvl >= AISS_LVL__COUNT)
		return "?";
	return level_names[lvl];
}

aiss_node *aiss_node_create(const char *name)
{
	aiss_node *node = calloc(1, sizeof(*node));

	if (!node)
		return NULL;
	if (name)
		snprintf(node->name, sizeof(node->name), "%s", name);
	return node;
}

void aiss_node_destroy(aiss_node *node)
{
	free(node);
}

static int valid_desc(const struct aiss_device_desc *d)
{
	return d && memchr(d->name, '\0', sizeof(d->name)) &&
	       memchr(d->busid, '\0', sizeof(d->busid)) &&
	       memchr(d->model, '\0', sizeof(d->model)) &&
	       memchr(d->netdev, '\0', sizeof(d->netdev));
}

int aiss_node_add_gpu(aiss_node *node, const struct aiss_device_desc *gpu)
{
	if (!node || !valid_desc(gpu)) {
		errno = EINVAL;
		return -1;
	}
	if (node->ngpus >= AISS_MAX_GPUS) {
		errno = ENOSPC;
		return -1;
	}
	node->gpus[node->ngpus] = *gpu;
	node->finalized = 0;
	return node->ngpus++;
}

int aiss_node_add_nic(aiss_node *node, const struct aiss_device_desc *nic)
{
	if (!node || !valid_desc(nic)) {
		errno = EINVAL;
		return -1;
	}
	if (node->nnics >= AISS_MAX_NICS) {
		errno = ENOSPC;
		return -1;
	}
	node->nics[node->nnics] = *nic;
	node->finalized = 0;
	return node->nnics++;
}

int aiss_node_add_package(aiss_node *node, const struct aiss_package_desc *pkg)
{
	if (!node || !pkg || pkg->ncores < 0) {
		errno = EINVAL;
		return -1;
	}
	if (node->npkgs >= AISS_MAX_PACKAGES) {
		errno = ENOSPC;
		return -1;
	}
	node->pkgs[node->npkgs] = *pkg;
	return node->npkgs++;
}

int aiss_node_set_nvlink(aiss_node *node, int a, int b, uint32_t mbps)
{
	if (!node || a < 0 || b < 0 || a >= AISS_MAX_GPUS ||
	    b >= AISS_MAX_GPUS || a == b) {
		errno = EINVAL;
		return -1;
	}
	node->nvlink[a][b] = node->nvlink[b][a] = mbps;
	node->finalized = 0;
	return 0;
}

/* Links each domain to its parent one level up; clears node->nested when
 * some domain's GPUs do not all share one parent (no tree). */
static void build_tree(aiss_node *node)
{
	node->nested = 1;
	memset(node->nchild, 0, sizeof(node->nchild));
	for (int l = 1; l < AISS_LVL__COUNT; l++) {
		for (int e = 0; e < node->ndom[l - 1]; e++) {
			uint32_t m = node->dom_mask[l - 1][e];
			int g = __builtin_ctz(m), parent = node->gpu_dom[l][g];

			for (; m; m &= m - 1)
				if (node->gpu_dom[l][__builtin_ctz(m)] !=
				    parent)
					node->nested = 0;
			node->child[l][parent][node->nchild[l][parent]++] =
			    (uint8_t)e;
		}
	}
}

/* Groups the devices' domain ids at each level into domain indices; a
 * device with an unknown id (-1) gets a domain of its own. */
static void build_domains(aiss_node *node)
{
	for (int l = 0; l < 4; l++) {
		int nd = 0;
		int ids[AISS_MAX_GPUS];

		for (int g = 0; g < node->ngpus; g++) {
			int id = node->gpus[g].dom[l], d;

			for (d = 0; d < nd; d++)
				if (id >= 0 && ids[d] == id)
					break;
			if (d == nd) {
				ids[nd] = id;
				node->dom_mask[l][nd] = 0;
				nd++;
			}
			node->dom_mask[l][d] |= 1U << g;
			node->gpu_dom[l][g] = (uint8_t)d;
		}
		node->ndom[l] = nd;
	}
	node->ndom[AISS_LVL_NODE] = 1;
	node->dom_mask[AISS_LVL_NODE][0] = node->all;
	for (int g = 0; g < node->ngpus; g++)
		node->gpu_dom[AISS_LVL_NODE][g] = 0;
}

static enum aiss_level dev_level(const struct aiss_device_desc *x,
				 const struct aiss_device_desc *y)
{
	for (int l = 0; l < 4; l++)
		if (x->dom[l] >= 0 && x->dom[l] == y->dom[l])
			return (enum aiss_level)l;
	return AISS_LVL_NODE;
}

/* go-gpuallocator's link-type scores (P2P link kinds mapped onto our
 * levels) plus 100 per NVLink. */
static int pair_score(const aiss_node *node, int a, int b)
{
	/* NVML's P2P kinds: single switch 50, multiple switches 40, host
	 * bridge 30, same CPU 20, across CPUs 10. */
	static const int link_score[AISS_LVL__COUNT] = {50, 30, 20, 20, 10};
	int s = link_score[node->pair_level[a][b]];

	/* Same host bridge through a tree of switches: "multiple switches". */
	if (node->pair_level[a][b] == AISS_LVL_HOSTBRIDGE &&
	    node->gpus[a].dom[AISS_LVL_SWITCH] >= 0 &&
	    node->gpus[b].dom[AISS_LVL_SWITCH] >= 0)
		s = 40;

	if (node->nv_unit)
		s += 100 * (int)(node->nvlink[a][b] / node->nv_unit);
	return s;
}

/* Each GPU's nearest NIC: among the NICs at the nearest level, the GPUs
 * sharing that domain take them in turn (GPU0 -> mlx5_0, GPU1 -> mlx5_1). */
static void assign_nics(aiss_node *node)
{
	for (int g = 0; g < node->ngpus; g++) {
		enum aiss_level best = AISS_LVL__COUNT;
		int cand[AISS_MAX_NICS], nc = 0, rank = 0;

		node->gpu_nic[g] = -1;
		for (int n = 0; n < node->nnics; n++) {
			enum aiss_level l = node->nic_level[g][n];

			if (l < best) {
				best = l;
				nc = 0;
			}
			if (l == best)
				cand[nc++] = n;
		}
		if (!nc)
			continue;
		for (int h = 0; h < g; h++)
			if (best == AISS_LVL_NODE ||
			    node->gpu_dom[best][h] == node->gpu_dom[best][g])
				rank++;
		node->gpu_nic[g] = cand[rank % nc];
	}
}

int aiss_node_finalize(aiss_node *node)
{
	uint32_t first_bw = 0, unit = 25000;
	int uniform = 1, any = 0, all20 = 1, nonzero = 0;

	if (!node || node->ngpus == 0) {
		errno = EINVAL;
		return -1;
	}
	node->all = node->ngpus == 32 ? 0xffffffffU : (1U << node->ngpus) - 1;
	build_domains(node);
	build_tree(node);
	for (int a = 0; a < node->ngpus; a++) {
		for (int b = 0; b < node->ngpus; b++) {
			uint32_t bw = node->nvlink[a][b];

			node->pair_level[a][b] =
			    a == b ? AISS_LVL_SWITCH
				   : dev_level(&node->gpus[a], &node->gpus[b]);
			if (a >= b)
				continue;
			if (!any) {
				first_bw = bw;
				any = 1;
			} else if (bw != first_bw) {
				uniform = 0;
			}
			if (bw)
				nonzero = 1;
			if (bw && (bw % 20000 || !(bw % 25000)))
				all20 = 0;
		}
		for (int n = 0; n < node->nnics; n++)
			node->nic_level[a][n] =
			    dev_level(&node->gpus[a], &node->nics[n]);
	}
	if (all20 && nonzero)
		unit = 20000;
	node->nv_unit = unit;
	node->nv_uniform = uniform;
	for (int a = 0; a < node->ngpus; a++)
		for (int b = 0; b < node->ngpus; b++)
			node->score[a][b] =
			    a == b ? 0 : (int16_t)pair_score(node, a, b);
	assign_nics(node);
	node->finalized = 1;
	return 0;
}

const char *aiss_node_name(const aiss_node *node)
{
	return node ? node->name : "";
}

int aiss_node_gpu_count(const aiss_node *node)
{
	return node ? node->ngpus : 0;
}

int aiss_node_nic_count(const aiss_node *node)
{
	return node ? node->nnics : 0;
}

int aiss_node_package_count(const aiss_node *node)
{
	return node ? node->npkgs : 0;
}

const struct aiss_device_desc *aiss_node_gpu(const aiss_node *node, int i)
{
	if (!node || i < 0 || i >= node->ngpus)
		return NULL;
	return &node->gpus[i];
}

const struct aiss_device_desc *aiss_node_nic(const aiss_node *node, int i)
{
	if (!node || i < 0 || i >= node->nnics)
		return NULL;
	return &node->nics[i];
}

const struct aiss_package_desc *aiss_node_package(const aiss_node *node, int i)
{
	if (!node || i < 0 || i >= node->npkgs)
		return NULL;
	return &node->pkgs[i];
}

uint32_t aiss_node_nvlink(const aiss_node *node, int a, int b)
{
	if (!node || a < 0 || b < 0 || a >= node->ngpus || b >= node->ngpus)
		return 0;
	return node->nvlink[a][b];
}

uint32_t aiss_node_nvlink_unit(const aiss_node *node)
{
	return node && node->nv_unit ? node->nv_unit : 25000;
}

enum aiss_level aiss_node_pair_level(const aiss_node *node, int a, int b)
{
	if (!node || a < 0 || b < 0 || a >= node->ngpus || b >= node->ngpus)
		return AISS_LVL_NODE;
	if (a == b)
		return AISS_LVL_SWITCH;
	return dev_level(&node->gpus[a], &node->gpus[b]);
}

enum aiss_level aiss_node_nic_level(const aiss_node *node, int g, int n)
{
	if (!node || g < 0 || n < 0 || g >= node->ngpus || n >= node->nnics)
		return AISS_LVL_NODE;
	return dev_level(&node->gpus[g], &node->nics[n]);
}

uint32_t aiss_node_all_gpus(const aiss_node *node)
{
	if (!node || !node->ngpus)
		return 0;
	return node->ngpus == 32 ? 0xffffffffU : (1U << node->ngpus) - 1;
}
