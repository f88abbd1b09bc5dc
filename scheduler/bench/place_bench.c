/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss-place-bench: ns per placement decision, as ratios to first-fit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aiss_topo.h"

/* A fixed set of (free mask, k) inputs from a deterministic generator. */
struct input {
	uint32_t free_mask;
	int k;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile uint32_t sink;

/* Cost of one now_ns() pair, best of many. */
static double clock_overhead(void)
{
	double best = 1e300;

	for (int i = 0; i < 1000; i++) {
		double t0 = now_ns(), t1 = now_ns();

		if (t1 - t0 < best)
			best = t1 - t0;
	}
	return best;
}

/* Mean ns per decision over @reps passes of @in. */
static double run(const aiss_node *node, const struct input *in, size_t n,
		  int reps, enum aiss_place_policy pol)
{
	struct aiss_placement pl;
	double t0 = now_ns();

	for (int r = 0; r < reps; r++)
		for (size_t i = 0; i < n; i++) {
			if (aiss_place(node, in[i].free_mask, in[i].k, pol,
				       &pl) == 0)
				sink ^= pl.gpus;
		}
	return (now_ns() - t0) / ((double)reps * (double)n);
}

/* Best (lowest) of ROUNDS interleaved rounds per policy: on a shared
 * machine the minimum is the least disturbed measurement. */
#define ROUNDS 5
static int rounds = ROUNDS; /* 1 with --quick */

static void bench_case(const aiss_node *node, const char *label,
		       const struct input *in, size_t n, int reps)
{
	double ns[3] = {1e300, 1e300, 1e300};

	for (int round = 0; round < rounds; round++)
		for (int p = 0; p < 3; p++) {
			double t =
			    run(node, in, n, reps, (enum aiss_place_policy)p);

			if (t < ns[p])
				ns[p] = t;
		}
	printf("%-10s %-34s %10.0f %10.0f %10.0f %8.2fx %8.2fx\n",
	       aiss_node_name(node), label, ns[0], ns[1], ns[2], ns[1] / ns[0],
	       ns[2] / ns[0]);
}

/* Random free masks with at least k free, k drawn from @ks. */
static size_t random_inputs(const aiss_node *node, struct input *in, size_t n,
			    const int *ks, int nks)
{
	uint32_t all = aiss_node_all_gpus(node);

	for (size_t i = 0; i < n;) {
		int k = ks[rng() % (uint64_t)nks];
		uint32_t m = (uint32_t)rng() & all;

		if (__builtin_popcount(m) < k)
			continue;
		in[i].free_mask = m;
		in[i].k = k;
		i++;
	}
	return n;
}

static void bench_node(const aiss_node *node, int quick)
{
	enum { N = 4096 };
	static struct input in[N];
	int ng = aiss_node_gpu_count(node);
	int reps = quick ? 2 : 20;
	char label[64];
	const int mixed8[] = {1, 1, 1, 1, 2, 2, 4, 8};
	const int mixed16[] = {1, 1, 1, 1, 2, 2, 4, 8, 16};

	if (ng <= 8) {
		random_inputs(node, in, N, mixed8, 8);
	} else {
		random_inputs(node, in, N, mixed16, 9);
		reps = 1;
	}
	bench_case(node, "random free sets, mixed k", in, N, reps);
	for (int k = 1; k <= ng; k *= 2) {
		if (ng > 8 && k == 16)
			break;
		random_inputs(node, in, N, &k, 1);
		snprintf(label, sizeof(label), "random free sets, k=%d", k);
		bench_case(node, label, in, N, reps);
	}
	/* Worst case for topo: k = ng/2 with no package able to hold it
	 * (ng/2 - 1 free on each): every subset of the node is a
	 * candidate. */
	{
		uint32_t m = 0;
		int half = ng / 2;

		for (int g = 0; g < ng; g++)
			if ((g % half) != 0)
				m |= 1U << g;
		for (int i = 0; i < 64; i++) {
			in[i].free_mask = m;
			in[i].k = half;
		}
		snprintf(label, sizeof(label), "worst: k=%d of %d free, split",
			 half, __builtin_popcount(m));
		bench_case(node, label, in, 64, quick ? 1 : 4);
	}
}

/* The slowest single topo decision over every free set (and every k for
 * nodes up to 8 GPUs; k = 1, 2, 4, 8 above): each input timed alone, best
 * of ROUNDS, so the figure is a worst case over inputs, not a mean. */
static void worst_case_scan(const aiss_node *node, int quick)
{
	uint32_t all = aiss_node_all_gpus(node), worst_mask = 0;
	int ng = aiss_node_gpu_count(node), worst_k = 0;
	double worst = 0;
	size_t inputs = 0;
	const int ks16[] = {1, 2, 4, 8};
	uint32_t step = quick && ng > 8 ? 97 : 1;

	for (uint32_t m = 1; m <= all && m != 0; m += step) {
		int nk = ng > 8 ? 4 : __builtin_popcount(m);

		for (int i = 0; i < nk; i++) {
			int k = ng > 8 ? ks16[i] : i + 1;
			double best = 1e300;
			struct aiss_placement pl;

			if (k > __builtin_popcount(m))
				continue;
			for (int r = 0; r < rounds; r++) {
				double t0 = now_ns();

				aiss_place(node, m, k, AISS_PLACE_TOPO, &pl);
				t0 = now_ns() - t0;
				if (t0 < best)
					best = t0;
			}
			sink ^= pl.gpus;
			inputs++;
			if (best > worst) {
				worst = best;
				worst_mask = m;
				worst_k = k;
			}
		}
	}
	printf("%-10s slowest topo decision over %zu inputs: %.0f ns "
	       "(k=%d, free 0x%x; includes ~%.0f ns of clock reads)\n",
	       aiss_node_name(node), inputs, worst, worst_k, worst_mask,
	       clock_overhead());
}

int main(int argc, char **argv)
{
	const char *dir = getenv("AISS_SHARED_DIR");
	int quick = argc > 1 && !strcmp(argv[1], "--quick");

	if (quick)
		rounds = 1;
	char path[4096], err[512];
	aiss_node *node;

	printf("ns per decision (mean over the inputs, best of %d rounds); "
	       "ratios against first-fit in the same run\n%-10s %-34s %10s "
	       "%10s %10s %9s %9s\n",
	       rounds, "node", "case", "first-fit", "pairwise", "topo", "pw/ff",
	       "topo/ff");
	node = aiss_topo_load(AISS_DEFAULT_TOPOLOGY, err, sizeof(err));
	if (!node) {
		fprintf(stderr, "aiss-place-bench: %s\n", err);
		return 1;
	}
	bench_node(node, quick);
	worst_case_scan(node, quick);
	aiss_node_destroy(node);

	snprintf(path, sizeof(path), "%s/data/topologies/nvidia-dgx2.xml",
		 dir && *dir ? dir : AISS_DEFAULT_SHARED_DIR);
	node = aiss_topo_load(path, err, sizeof(err));
	if (!node) {
		printf("(DGX-2 skipped: %s)\n", err);
		return 0;
	}
	bench_node(node, quick);
	worst_case_scan(node, quick);
	aiss_node_destroy(node);
	return 0;
}
