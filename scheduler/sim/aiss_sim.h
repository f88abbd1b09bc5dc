/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_sim: replays a GPU job trace on a cluster of identical nodes. */
#ifndef AISS_SIM_H
#define AISS_SIM_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "aiss_place.h"

/* One job of the trace: whole GPUs on one node for a fixed time. */
struct aiss_sim_job {
	int64_t submit;   /* seconds from trace start */
	int64_t duration; /* seconds (at least 1) */
	int gpus;         /* 1..8 */
};

/* What loading a trace kept and dropped. */
struct aiss_sim_trace_stats {
	size_t rows;       /* data rows read */
	size_t kept;       /* GPU jobs kept */
	size_t cpu_only;   /* num_gpu == 0: dropped */
	size_t never_ran;  /* no scheduled_time (Pending): dropped */
	size_t shared_gpu; /* gpu_milli < 1000: kept as one whole GPU */
	size_t multi;      /* kept jobs with more than one GPU */
};

/*
 * Reads the Alibaba 2023 GPU trace CSV (openb_pod_list_*.csv: name,
 * cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec, qos, pod_phase,
 * creation_time, deletion_time, scheduled_time). submit = creation_time,
 * duration = deletion_time - scheduled_time; rows without GPUs or without
 * scheduled_time are dropped. On success returns 0 and a malloc'd array in
 * *@jobs (caller frees) sorted by submit time; -1 with errno (ENOENT,
 * EINVAL for a malformed row, ENOMEM) otherwise.
 */
int aiss_sim_load_trace(const char *path, struct aiss_sim_job **jobs,
			size_t *njobs, struct aiss_sim_trace_stats *stats);

/* The same from an open stream @f (not closed). */
int aiss_sim_read_trace(FILE *f, struct aiss_sim_job **jobs, size_t *njobs,
			struct aiss_sim_trace_stats *stats);

/* Results of one replay. */
struct aiss_sim_result {
	size_t jobs;         /* jobs run */
	size_t multi;        /* jobs with > 1 GPU */
	size_t multi_switch; /* ... all GPUs under one PCIe switch */
	size_t multi_numa;   /* ... all GPUs in one NUMA node */
	size_t by_size[AISS_MAX_GPUS + 1];        /* jobs per GPU count */
	size_t by_size_switch[AISS_MAX_GPUS + 1]; /* ... in one switch */
	size_t by_size_numa[AISS_MAX_GPUS + 1];   /* ... in one NUMA node */
	size_t waited;              /* jobs that did not start at submit */
	size_t frag_waited;         /* jobs that waited while the cluster had
				       enough free GPUs in total, but no node */
	double frag_wait_gpu_hours; /* GPU-hours of that waiting */
	double mean_wait_s;         /* mean submit-to-start time */
	double wait_by_size_s[AISS_MAX_GPUS + 1]; /* mean wait per GPU count */
	int64_t makespan_s;                       /* last job end */
	size_t decisions;                         /* aiss_place() calls */
	size_t too_big; /* jobs wanting more GPUs than a node has */
};

/* How a node is chosen for a job. */
enum aiss_sim_node_choice {
	AISS_SIM_NODE_DEFAULT = 0,   /* first fit, but best fit for topo */
	AISS_SIM_NODE_FIRST_FIT = 1, /* first node in index order that fits */
	AISS_SIM_NODE_BEST_FIT = 2,  /* nearest span, then fewest GPUs left */
};

/* How queued jobs may pass a blocked one. */
enum aiss_sim_backfill {
	AISS_SIM_BACKFILL_GREEDY = 0, /* any queued job that fits starts */
	AISS_SIM_BACKFILL_EASY = 1,   /* EASY backfill, like Slurm's: the
					 first blocked job gets a reservation
					 (known run times) no job may delay */
};

struct aiss_sim_options {
	enum aiss_place_policy policy;   /* GPUs inside a node */
	enum aiss_sim_node_choice nodes; /* which node */
	enum aiss_sim_backfill backfill;
};

/*
 * Replays @jobs (sorted by submit) on @nnodes copies of @model with
 * @policy choosing the GPUs inside a node: FIFO queue with greedy backfill
 * (every queued job that fits starts, in order; see aiss_sim_run_opts()
 * for EASY backfill). With
 * AISS_SIM_NODE_DEFAULT, first-fit and pairwise take the first node in
 * index order with enough free GPUs (what Slurm does without hints); topo
 * takes the node where aiss_place() finds the nearest span, then the node
 * left with the fewest free GPUs (best fit), then the lowest index.
 * Returns 0, or -1 with errno EINVAL/ENOMEM.
 */
int aiss_sim_run(const aiss_node *model, int nnodes,
		 const struct aiss_sim_job *jobs, size_t njobs,
		 enum aiss_place_policy policy, enum aiss_sim_node_choice nodes,
		 struct aiss_sim_result *res);

/* The same with all options (@opt: policy, node choice, backfill;
 * aiss_sim_run() is greedy backfill). A job counts as frag-waited when it
 * waited while the cluster had enough free GPUs in total but no node had
 * enough. Returns 0, or -1 with errno EINVAL/ENOMEM. */
int aiss_sim_run_opts(const aiss_node *model, int nnodes,
		      const struct aiss_sim_job *jobs, size_t njobs,
		      const struct aiss_sim_options *opt,
		      struct aiss_sim_result *res);

#endif
