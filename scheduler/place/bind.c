/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_bind: task binding decisions (CPUs, memory, NICs, GPU order). */
#include "aiss_bind.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int aiss_bind_parse_option(const char *optarg, int *enabled)
{
	if (!enabled) {
		errno = EINVAL;
		return -1;
	}
	if (!optarg || !*optarg || !strcmp(optarg, "auto") ||
	    !strcmp(optarg, "local")) {
		*enabled = 1;
		return 0;
	}
	if (!strcmp(optarg, "none")) {
		*enabled = 0;
		return 0;
	}
	errno = EINVAL;
	return -1;
}

/* Parses "4,5,7" (or "4-5,7") into @out; returns the count or -1. */
static int parse_list(const char *text, int *out, int max)
{
	int n = 0;
	const char *p = text;

	/* Keep the given order: parse items one by one. */
	while (*p) {
		char *end;
		long a, b;

		errno = 0;
		a = strtol(p, &end, 10);
		if (end == p || errno || a < 0 || a >= AISS_MAX_CPUS)
			return -1;
		b = a;
		p = end;
		if (*p == '-') {
			b = strtol(++p, &end, 10);
			if (end == p || b < a || b >= AISS_MAX_CPUS)
				return -1;
			p = end;
		}
		for (long v = a; v <= b; v++) {
			if (n >= max)
				return -1;
			out[n++] = (int)v;
		}
		if (*p == ',')
			p++;
		else if (*p)
			return -1;
	}
	return n;
}

static void append(char *buf, size_t len, const char *sep, const char *item)
{
	size_t used = strlen(buf);

	if (used < len)
		snprintf(buf + used, len - used, "%s%s", used ? sep : "", item);
}

int aiss_bind_plan_make(const aiss_node *node, const char *step_gpus,
			const char *cuda_visible, struct aiss_bind_plan *plan)
{
	int gids[AISS_MAX_GPUS], cvd[AISS_MAX_GPUS], ng, nc = -1, keep_cvd = 0;
	uint32_t mask = 0;
	struct aiss_placement pl;
	char item[64];

	if (!node || !step_gpus || !plan) {
		errno = EINVAL;
		return -1;
	}
	memset(plan, 0, sizeof(*plan));
	ng = parse_list(step_gpus, gids, AISS_MAX_GPUS);
	if (ng < 0) {
		errno = EINVAL;
		return -1;
	}
	if (ng == 0) {
		errno = ENOENT;
		return -1;
	}
	for (int i = 0; i < ng; i++) {
		if (gids[i] >= aiss_node_gpu_count(node) ||
		    (mask & (1U << gids[i]))) {
			errno = EINVAL;
			return -1;
		}
		mask |= 1U << gids[i];
	}
	if (cuda_visible && *cuda_visible)
		nc = parse_list(cuda_visible, cvd, AISS_MAX_GPUS);
	if (nc > 0 && nc != ng) {
		/* The task sees a subset of the step's GPUs (--gpu-bind,
		 * --gpus-per-task). When its entries are step GPU indices,
		 * those are the task's GPUs; else they cannot be mapped and
		 * CUDA_VISIBLE_DEVICES is left alone. */
		uint32_t sub = 0;

		for (int j = 0; j < nc; j++)
			if (cvd[j] < AISS_MAX_GPUS && (mask & (1U << cvd[j])))
				sub |= 1U << cvd[j];
		if (__builtin_popcount(sub) == nc) {
			mask = sub;
			ng = nc;
			memcpy(gids, cvd, sizeof(int) * (size_t)nc);
		} else {
			keep_cvd = 1;
		}
	}
	if (aiss_place_describe(node, mask, &pl) < 0)
		return -1;
	plan->gpus = mask;
	plan->cpus = pl.cpus;
	for (int i = 0; i < pl.ngpus; i++) {
		int g = pl.order[i], shown = g;
		int numa = aiss_node_gpu(node, g)->dom[AISS_LVL_NUMA];

		if (nc == ng) {
			/* CUDA_VISIBLE_DEVICES entry at the position where
			 * Slurm listed this GPU. */
			for (int j = 0; j < ng; j++)
				if (gids[j] == g)
					shown = cvd[j];
		}
		snprintf(item, sizeof(item), "%d", shown);
		if (!keep_cvd)
			append(plan->cuda_visible, sizeof(plan->cuda_visible),
			       ",", item);
		if (numa >= 0 && numa < 64)
			plan->mems |= 1ULL << numa;
	}
	for (int i = 0; i < pl.nnics; i++) {
		const struct aiss_device_desc *nic =
		    aiss_node_nic(node, pl.nic_order[i]);

		/* "=" asks NCCL for exact names (mlx5_1 must not match
		 * mlx5_10). */
		append(plan->nccl_ib_hca, sizeof(plan->nccl_ib_hca),
		       i ? "," : "", i ? nic->name : "=");
		if (!i)
			append(plan->nccl_ib_hca, sizeof(plan->nccl_ib_hca), "",
			       nic->name);
		snprintf(item, sizeof(item), "%s:1", nic->name);
		append(plan->ucx_net_devices, sizeof(plan->ucx_net_devices),
		       ",", item);
	}
	return 0;
}
