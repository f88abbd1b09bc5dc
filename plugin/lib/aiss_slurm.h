/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_slurm: what the Slurm plugins decide, without Slurm: the worst-case GPU
 * count of a job request, array sizes, allocated TRES, the plugin config,
 * the messages users see and latency statistics. Unit-tested in test/. */
#ifndef AISS_SLURM_H
#define AISS_SLURM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aiss_model.h"

/* Sockets per node assumed for --gpus-per-socket when the job leaves
 * --sockets-per-node unset (the centre's nodes have two CPU sockets). */
#define AISS_DEFAULT_SOCKETS_PER_NODE 2

/* A job's GPU request as Slurm 22.05 carries it in job_desc_msg_t /
 * job_record_t. Strings are Slurm's tres_per_* lists ("gres:gpu:h100:2",
 * "gpu:2", "gres/gpu=4", comma or semicolon separated; NULL = none).
 * Numbers are 0 when unset (the plugin maps NO_VAL to 0). */
typedef struct aiss_gpu_request {
	const char *tres_per_job;    /* --gpus */
	const char *tres_per_node;   /* --gpus-per-node, --gres */
	const char *tres_per_socket; /* --gpus-per-socket */
	const char *tres_per_task;   /* --gpus-per-task */
	uint32_t min_nodes, max_nodes;
	uint32_t num_tasks;
	uint32_t ntasks_per_node;
	uint32_t sockets_per_node;
} aiss_gpu_request;

/* The worst case of a request: most GPUs the job may be allocated. */
typedef struct aiss_gpu_need {
	int64_t gpus;               /* all nodes */
	int64_t nodes;              /* node count used for the worst case */
	char gpu_type[AISS_ID_MAX]; /* "" when no type was named */
} aiss_gpu_need;

/*
 * Worst-case GPUs of @r: the largest of --gpus, per-node x nodes (max_nodes
 * when given), per-task x tasks (num_tasks, else ntasks_per_node x nodes,
 * else one per node), per-socket x sockets x nodes. Returns 0, or -1 with
 * @err AISS_E_INVALID (two GPU types in one job, malformed count).
 */
int aiss_gpu_request_worst(const aiss_gpu_request *r, aiss_gpu_need *out,
			   aiss_error *err);

/*
 * Parses one tres_per_* list; adds up its GPU counts into *count and copies
 * a named type into @type (room AISS_ID_MAX; left alone when untyped).
 * Returns 0, or -1 with @err (AISS_E_INVALID: malformed, two types).
 */
int aiss_tres_gpus(const char *list, int64_t *count, char *type,
		   aiss_error *err);

/* Number of elements of a Slurm --array spec ("0-9%2", "1,3,5-7",
 * "0-15:4"); 1 for NULL or "". -1 with errno EINVAL when malformed. */
int64_t aiss_array_count(const char *spec);

/* GPUs allocated, from Slurm's formatted TRES string
 * ("cpu=2,mem=2G,node=1,gres/gpu=8,gres/gpu:h100=8"): the gres/gpu count
 * (else the sum of typed counts), and the type with the most GPUs into
 * @type (room @len; "" when untyped). Returns the count (0 when none). */
int64_t aiss_tres_alloc_gpus(const char *tres_fmt, char *type, size_t len);

/* Slurm's --time text of @seconds: "D-HH:MM:SS" or "HH:MM:SS" into @buf. */
char *aiss_fmt_duration(int64_t seconds, char *buf, size_t len);

/* The plugins' configuration (docs/admin-guide.md). */
typedef struct aiss_plugin_conf {
	char socket[256];      /* aissd's Unix socket ("" = library default) */
	int timeout_ms;        /* per call made under slurmctld's locks */
	int settle_timeout_ms; /* per call made from the plugins' threads */
	bool fail_open;        /* admit when aissd cannot be reached */
	char cluster[AISS_ID_MAX]; /* run-key cluster ("" = ClusterName) */
	char spool_dir[256];       /* durable settle spool */
	int poll_interval_s;       /* held-job release and spool replay */
	int stats_every;           /* log latency percentiles every N calls */
} aiss_plugin_conf;

#define AISS_PLUGIN_CONF_DEFAULT "/etc/slurm/aiss-plugins.conf"
#define AISS_SPOOL_DIR_DEFAULT "/var/spool/slurmctld/aiss"

/* Defaults: timeout 200 ms, settle timeout 2000 ms, fail-closed, spool
 * AISS_SPOOL_DIR_DEFAULT, poll every 10 s, stats every 1000 calls. */
void aiss_plugin_conf_defaults(aiss_plugin_conf *c);

/*
 * Reads "key = value" lines ('#' comments) from @path (NULL:
 * $AISS_PLUGIN_CONF, else AISS_PLUGIN_CONF_DEFAULT) over the defaults;
 * a missing file keeps the defaults. Keys: AissdSocket, TimeoutMs,
 * SettleTimeoutMs, FailOpen (yes/no), Cluster, SpoolDir, PollInterval,
 * StatsEvery. Then $AISS_FAIL_OPEN and $AISS_SOCKET override. Returns 0,
 * or -1 with @err (AISS_E_INVALID: unknown key or bad value, naming the
 * line).
 */
int aiss_plugin_conf_load(const char *path, aiss_plugin_conf *c,
			  aiss_error *err);

/*
 * The submit-time refusal sentence for @q (verdict != AISS_OK) of @shape
 * into @buf: names the grant, the numbers and what would fit. Always starts
 * with "aiss: ". Returns @buf.
 */
char *aiss_msg_refusal(const aiss_quote *q, const aiss_job_shape *shape,
		       char *buf, size_t len);

/* The sentence for a GPU job submitted without --account. Returns @buf. */
char *aiss_msg_no_account(char *buf, size_t len);

/* The sentence for a GPU job with no time limit anywhere (no --time and an
 * unlimited partition). Returns @buf. */
char *aiss_msg_no_time(const char *partition, char *buf, size_t len);

/* The sentence for an unreachable aissd at submit ("aiss: quota service
 * unavailable, retry ..."). Returns @buf. */
char *aiss_msg_unavailable(const aiss_error *e, char *buf, size_t len);

/*
 * The squeue reason of a job held at start because its lien was refused:
 * "aiss: AISS-2025-0007 has HK$1,204.50 left; needs HK$... (8 GPUs x
 * 01:00:00)". @err is the reserve's error; @q, when not NULL, a quote with
 * the numbers. Returns @buf.
 */
char *aiss_msg_hold(const aiss_error *err, const aiss_quote *q,
		    const aiss_job_shape *shape, char *buf, size_t len);

/* Prefix of every hold reason the plugin sets (how it recognises its own
 * holds after a restart). */
#define AISS_HOLD_PREFIX "aiss: "

/* Latency samples (microseconds) and their percentiles. Not thread-safe. */
#define AISS_LAT_MAX 8192
typedef struct aiss_lat {
	uint32_t samples[AISS_LAT_MAX];
	size_t n;       /* samples kept (<= AISS_LAT_MAX, the latest) */
	uint64_t total; /* calls recorded since the last reset */
} aiss_lat;

void aiss_lat_add(aiss_lat *l, uint32_t usec);
/* Percentile @permille (0..1000; 990 = p99) of the kept samples; 0 when
 * none. */
uint32_t aiss_lat_pct(const aiss_lat *l, int permille);
void aiss_lat_reset(aiss_lat *l);

#endif
