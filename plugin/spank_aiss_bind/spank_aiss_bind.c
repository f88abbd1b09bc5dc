/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spank/aiss_bind: binds each task's CPUs, memory, NICs near its GPUs. */
/*
 * Thin: the decisions are aiss_bind_plan_make() (scheduler/place) on the
 * node model from aiss_topo_load() (scheduler/topo). plugstack.conf:
 *
 *   optional /usr/lib/slurm/aiss_bind.so [topology=/path/node.xml]
 *
 * Without topology= the plugin reads the machine as hwloc sees it
 * (HWLOC_XMLFILE in slurmd's environment is honoured). Users opt out with
 * `--aiss-bind=none`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slurm/spank.h>

#include "aiss_bind.h"
#include "aiss_topo.h"

SPANK_PLUGIN(aiss_bind, 1);

static int bind_enabled = 1;
static const char *topology_path; /* from plugstack.conf, or NULL */

static int opt_bind(int val, const char *optarg, int remote)
{
	(void)val;
	(void)remote;
	if (aiss_bind_parse_option(optarg, &bind_enabled) < 0) {
		slurm_error("aiss_bind: --aiss-bind=%s: use 'none' or 'auto'",
			    optarg ? optarg : "");
		return -1;
	}
	return 0;
}

struct spank_option spank_options[] = {
    {"aiss-bind", "none|auto",
     "Bind each task's CPUs, memory and NICs near its GPUs and order "
     "CUDA_VISIBLE_DEVICES by locality (aiss; default auto)",
     2, 0, opt_bind},
    SPANK_OPTIONS_TABLE_END};

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	for (int i = 0; i < ac; i++) {
		if (!strncmp(av[i], "topology=", 9)) {
			topology_path = av[i] + 9;
		} else {
			slurm_error("aiss_bind: unknown argument '%s'", av[i]);
			return -1;
		}
	}
	return 0;
}

/* Sets @var for the task; @overwrite 0 keeps a value the user chose. */
static void set_env(spank_t sp, const char *var, const char *val, int overwrite)
{
	if (!val || !*val)
		return;
	if (spank_setenv(sp, var, val, overwrite) != ESPANK_SUCCESS &&
	    overwrite)
		slurm_error("aiss_bind: cannot set %s", var);
}

/* The step's GPUs on this node (Slurm's gres indices), or 0 if none. */
static int step_gpus(spank_t sp, char *buf, int len)
{
	return spank_getenv(sp, "SLURM_STEP_GPUS", buf, len) ==
		   ESPANK_SUCCESS ||
	       spank_getenv(sp, "SLURM_JOB_GPUS", buf, len) == ESPANK_SUCCESS;
}

/* The node model, loaded once per step in slurmstepd (user_init, before
 * the tasks are forked) and inherited by every task. */
static aiss_node *step_node;

static aiss_node *load_node(void)
{
	char err[512];

	if (!step_node) {
		step_node = aiss_topo_load(topology_path, err, sizeof(err));
		if (!step_node)
			slurm_error("aiss_bind: %s; tasks not bound", err);
	}
	return step_node;
}

int slurm_spank_user_init(spank_t sp, int ac, char **av)
{
	char gpus[256];

	(void)ac;
	(void)av;
	if (spank_remote(sp) && bind_enabled &&
	    step_gpus(sp, gpus, sizeof(gpus)))
		load_node();
	return 0;
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	char gpus[256], cvd[256], cpus[1024], why[256];
	int have_cvd, rc;
	aiss_node *node;
	struct aiss_bind_plan plan;

	(void)ac;
	(void)av;
	if (!spank_remote(sp) || !bind_enabled)
		return 0;
	if (!step_gpus(sp, gpus, sizeof(gpus)))
		return 0; /* no GPUs: nothing to bind */
	have_cvd = spank_getenv(sp, "CUDA_VISIBLE_DEVICES", cvd, sizeof(cvd)) ==
		   ESPANK_SUCCESS;
	node = load_node();
	if (!node)
		return 0; /* never fail a job for a missing binding */
	if (aiss_bind_plan_make(node, gpus, have_cvd ? cvd : NULL, &plan) < 0) {
		slurm_error("aiss_bind: GPUs '%s' do not match node %s; task "
			    "not bound",
			    gpus, aiss_node_name(node));
		return 0;
	}
	set_env(sp, "CUDA_VISIBLE_DEVICES", plan.cuda_visible, 1);
	set_env(sp, "NCCL_IB_HCA", plan.nccl_ib_hca, 0);
	set_env(sp, "UCX_NET_DEVICES", plan.ucx_net_devices, 0);
	aiss_cpuset_format(&plan.cpus, cpus, sizeof(cpus));
	set_env(sp, "AISS_BIND_CPUS", cpus, 1);
	rc = aiss_bind_apply(&plan, why, sizeof(why));
	if (rc < 0)
		slurm_error("aiss_bind: binding failed: %s", strerror(errno));
	else if (why[0])
		slurm_verbose("aiss_bind: %s", why);
	slurm_verbose("aiss_bind: GPUs %s -> CUDA_VISIBLE_DEVICES=%s cpus=%s "
		      "NCCL_IB_HCA=%s",
		      gpus, plan.cuda_visible, cpus, plan.nccl_ib_hca);
	return 0;
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	(void)sp;
	(void)ac;
	(void)av;
	aiss_node_destroy(step_node);
	step_node = NULL;
	return 0;
}
