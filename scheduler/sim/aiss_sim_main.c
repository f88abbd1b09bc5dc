/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss-sim: replay the Alibaba GPU trace on HGX nodes under 3 policies. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiss_sim.h"
#include "aiss_topo.h"

#define TRACE_REL "data/traces/alibaba-gpu-2023/openb_pod_list_default.csv"

static void usage(FILE *f)
{
	fputs("usage: aiss-sim [--trace CSV] [--topology XML] [--nodes "
	      "N[,N...]]\n"
	      "                [--backfill easy|greedy]\n"
	      "  Replays the trace on N copies of the node (default: the\n"
	      "  project's HGX H100 description; N default 6,7,8,10) with the\n"
	      "  first-fit, pairwise and topo policies, one table per size\n"
	      "  (topo/ff-nd: topo inside nodes, first-fit node choice).\n"
	      "  Queue: FIFO with EASY backfill (default; reservations from\n"
	      "  the known run times, like Slurm's backfill) or greedy.\n"
	      "  Default trace: $AISS_SHARED_DIR/" TRACE_REL "\n",
	      f);
}

static double pct(size_t a, size_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

static void print_size(const struct aiss_sim_result *r, int k, int numa)
{
	size_t hit = numa ? r->by_size_numa[k] : r->by_size_switch[k];

	if (r->by_size[k])
		printf(" %5.1f%% (%zu/%zu)", pct(hit, r->by_size[k]), hit,
		       r->by_size[k]);
	else
		printf(" %14s", "-");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"trace", required_argument, NULL, 't'},
	    {"topology", required_argument, NULL, 'x'},
	    {"nodes", required_argument, NULL, 'n'},
	    {"backfill", required_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *trace = NULL, *xml = AISS_DEFAULT_TOPOLOGY;
	const char *nodes_arg = "6,7,8,10";
	enum aiss_sim_backfill backfill = AISS_SIM_BACKFILL_EASY;
	char trace_buf[4096], err[512];
	struct aiss_sim_job *jobs;
	struct aiss_sim_trace_stats st;
	size_t njobs;
	aiss_node *model;
	int c;

	while ((c = getopt_long(argc, argv, "t:x:n:b:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			trace = optarg;
			break;
		case 'x':
			xml = optarg;
			break;
		case 'n':
			nodes_arg = optarg;
			break;
		case 'b':
			if (!strcmp(optarg, "easy"))
				backfill = AISS_SIM_BACKFILL_EASY;
			else if (!strcmp(optarg, "greedy"))
				backfill = AISS_SIM_BACKFILL_GREEDY;
			else {
				usage(stderr);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!trace) {
		const char *dir = getenv("AISS_SHARED_DIR");

		snprintf(trace_buf, sizeof(trace_buf), "%s/" TRACE_REL,
			 dir && *dir ? dir : AISS_DEFAULT_SHARED_DIR);
		trace = trace_buf;
	}
	model = aiss_topo_load(xml, err, sizeof(err));
	if (!model) {
		fprintf(stderr, "aiss-sim: %s\n", err);
		return 1;
	}
	if (aiss_sim_load_trace(trace, &jobs, &njobs, &st) < 0) {
		fprintf(stderr, "aiss-sim: cannot read trace %s: %s\n", trace,
			strerror(errno));
		aiss_node_destroy(model);
		return 1;
	}
	printf("trace %s\n  %zu rows: %zu GPU jobs replayed (%zu multi-GPU, "
	       "%zu GPU-sharing rows as 1 whole GPU); dropped %zu CPU-only, "
	       "%zu never scheduled\n",
	       trace, st.rows, st.kept, st.multi, st.shared_gpu, st.cpu_only,
	       st.never_ran);
	printf("node model %s: %d GPUs, %d NICs; %s backfill\n",
	       aiss_node_name(model), aiss_node_gpu_count(model),
	       aiss_node_nic_count(model),
	       backfill == AISS_SIM_BACKFILL_EASY ? "EASY" : "greedy");

	for (const char *p = nodes_arg; *p;) {
		char *end;
		long n = strtol(p, &end, 10);

		if (end == p || n < 1 || n > 100000) {
			fprintf(stderr, "aiss-sim: bad --nodes '%s'\n",
				nodes_arg);
			free(jobs);
			aiss_node_destroy(model);
			return 2;
		}
		p = *end == ',' ? end + 1 : end;
		printf("\n== %ld nodes (%ld GPUs)\n", n,
		       n * aiss_node_gpu_count(model));
		printf("%-10s %7s %8s %8s %15s %15s %7s %11s %12s %10s "
		       "%10s %10s %10s %10s\n",
		       "policy", "multi", "1-switch", "1-NUMA",
		       "2-GPU 1-switch", "4-GPU 1-NUMA", "waited",
		       "frag-waited", "frag GPU-h", "mean wait", "wait 1GPU",
		       "wait 2GPU", "wait 4GPU", "wait 8GPU");
		for (int row = 0; row < 4; row++) {
			struct aiss_sim_result r;
			int pol = row < 3 ? row : AISS_PLACE_TOPO;
			enum aiss_sim_node_choice nc =
			    row < 3 ? AISS_SIM_NODE_DEFAULT
				    : AISS_SIM_NODE_FIRST_FIT;

			struct aiss_sim_options o = {
			    (enum aiss_place_policy)pol, nc, backfill};

			if (aiss_sim_run_opts(model, (int)n, jobs, njobs, &o,
					      &r) < 0) {
				perror("aiss-sim");
				free(jobs);
				aiss_node_destroy(model);
				return 1;
			}
			printf("%-10s %7zu %7.1f%% %7.1f%%",
			       row < 3 ? aiss_place_policy_name(
					     (enum aiss_place_policy)pol)
				       : "topo/ff-nd",
			       r.multi, pct(r.multi_switch, r.multi),
			       pct(r.multi_numa, r.multi));
			print_size(&r, 2, 0);
			print_size(&r, 4, 1);
			printf(" %7zu %5zu %4.1f%% %12.1f %9.0fs %9.0fs %9.0fs "
			       "%9.0fs %9.0fs\n",
			       r.waited, r.frag_waited,
			       pct(r.frag_waited, r.jobs),
			       r.frag_wait_gpu_hours, r.mean_wait_s,
			       r.wait_by_size_s[1], r.wait_by_size_s[2],
			       r.wait_by_size_s[4], r.wait_by_size_s[8]);
		}
	}
	free(jobs);
	aiss_node_destroy(model);
	return 0;
}
