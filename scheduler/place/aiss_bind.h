/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_bind: what a task should be bound to, given the GPUs Slurm gave it. */
#ifndef AISS_BIND_H
#define AISS_BIND_H

#include "aiss_place.h"

/* The binding of one task: CPUs, memory, NICs and GPU order. */
struct aiss_bind_plan {
	uint32_t gpus;          /* model GPU indices of the task */
	aiss_cpuset cpus;       /* CPUs to bind to */
	uint64_t mems;          /* NUMA nodes (OS indices) to bind memory to */
	char cuda_visible[256]; /* CUDA_VISIBLE_DEVICES, locality order */
	char nccl_ib_hca[256];  /* NCCL_IB_HCA ("=mlx5_0,mlx5_1"), or "" */
	char ucx_net_devices[256]; /* UCX_NET_DEVICES ("mlx5_0:1,..."), or "" */
};

/*
 * Parses the value of --aiss-bind: NULL, "", "auto" or "local" bind (sets
 * *@enabled to 1), "none" opts out (0). Returns 0, or -1 with errno EINVAL
 * for anything else.
 */
int aiss_bind_parse_option(const char *optarg, int *enabled);

/*
 * Makes the plan for a task on @node. @step_gpus is Slurm's list of the
 * step's GPU indices on this node (SLURM_STEP_GPUS or SLURM_JOB_GPUS: gres
 * indices, i.e. /dev/nvidiaN in aiss-topo gres order, which is the model's
 * GPU order), e.g. "4,5". @cuda_visible is the task's CUDA_VISIBLE_DEVICES
 * (may be NULL): when it lists as many entries as @step_gpus (in the same
 * order, possibly renumbered by device cgroups) the plan reorders those
 * entries; when it lists fewer, all of them step GPU indices (per-task
 * GPU binding), the plan is for those GPUs only; when it cannot be mapped
 * plan->cuda_visible is "" (leave the variable alone); when it is absent
 * the plan lists the @step_gpus indices in locality order.
 * Returns 0, or -1 with errno EINVAL (malformed list, GPU not in @node) or
 * ENOENT (no GPUs listed: nothing to bind).
 */
int aiss_bind_plan_make(const aiss_node *node, const char *step_gpus,
			const char *cuda_visible, struct aiss_bind_plan *plan);

/* What aiss_bind_apply() did (bits of its return value). */
enum {
	AISS_BIND_APPLIED_CPUS = 1, /* CPU affinity set */
	AISS_BIND_APPLIED_MEMS = 2, /* memory bound to the NUMA nodes */
};

/*
 * Binds the calling process (and so what it execs) to @plan: CPU affinity
 * to plan->cpus intersected with the CPUs it may use now (a recorded
 * topology can name CPUs this machine lacks: then nothing is bound), and
 * memory (MPOL_BIND) to plan->mems when all those NUMA nodes exist here.
 * Returns a mask of AISS_BIND_APPLIED_* (0: nothing applied, see @why),
 * or -1 with errno when a system call failed. @why (may be NULL) gets a
 * sentence about what was skipped.
 */
int aiss_bind_apply(const struct aiss_bind_plan *plan, char *why,
		    size_t whylen);

#endif
