/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_place: choosing k GPUs on a node (first-fit, pairwise, topology). */
#include "place_internal.h"

#include <errno.h>
#include <string.h>

static const char *const policy_names[] = {"first-fit", "pairwise", "topo"};

const char *aiss_place_policy_name(enum aiss_place_policy p)
{
	if ((int)p < 0 ||
	    (size_t)p >= sizeof(policy_names) / sizeof(*policy_names))
		return "?";
	return policy_names[p];
}

int aiss_place_pair_score(const aiss_node *node, int a, int b)
{
	if (!node || !node->finalized || a < 0 || b < 0 || a >= node->ngpus ||
	    b >= node->ngpus)
		return 0;
	return node->score[a][b];
}

/* True when set @a comes before set @b in index order (the set holding the
 * lowest index where they differ). */
static int lex_before(uint32_t a, uint32_t b)
{
	uint32_t x = a ^ b;

	return x && (a & (x & -x));
}

/* Enumerates the @k-subsets of @mask: each call of next_subset() gives the
 * next one (Gosper's hack over the compressed bit positions). */
struct subset_iter {
	int pos[AISS_MAX_GPUS];
	int n;
	uint64_t c, end;
};

static void subset_init(struct subset_iter *it, uint32_t mask, int k)
{
	it->n = 0;
	for (uint32_t m = mask; m; m &= m - 1)
		it->pos[it->n++] = __builtin_ctz(m);
	it->c = (1ULL << k) - 1;
	it->end = 1ULL << it->n;
}

static int subset_next(struct subset_iter *it, uint32_t *out)
{
	uint64_t c = it->c, t;
	uint32_t s = 0;

	if (c >= it->end)
		return 0;
	if (!c) { /* k = 0: the empty set, once */
		*out = 0;
		it->c = it->end;
		return 1;
	}
	for (uint64_t m = c; m; m &= m - 1)
		s |= 1U << it->pos[__builtin_ctzll(m)];
	*out = s;
	/* Gosper's hack: the next larger number with as many bits. */
	t = c & -c;
	{
		uint64_t r = c + t;

		it->c = (((r ^ c) >> 2) / t) | r;
	}
	return 1;
}

static enum aiss_level span_of(const aiss_node *node, uint32_t s)
{
	int g;

	if (!s)
		return AISS_LVL_SWITCH;
	g = __builtin_ctz(s);
	for (int l = 0; l < AISS_LVL_NODE; l++)
		if (!(s & ~node->dom_mask[l][node->gpu_dom[l][g]]))
			return (enum aiss_level)l;
	return AISS_LVL_NODE;
}

struct topo_key {
	uint64_t k1, k2;
};

/* The cost of taking @s out of @free (lower is better), see aiss_place(). */
static struct topo_key topo_cost(const aiss_node *node, uint32_t s,
				 uint32_t free_mask, int span)
{
	uint32_t touched[4] = {0, 0, 0, 0};
	uint32_t rest = free_mask & ~s, nvmin = 0;
	uint64_t nvsum = 0;
	int whole[4];
	struct topo_key key;

	for (uint32_t m = s; m; m &= m - 1) {
		int g = __builtin_ctz(m);

		for (int l = 0; l < 4; l++)
			touched[l] |= 1U << node->gpu_dom[l][g];
	}
	if (!node->nv_uniform && (s & (s - 1))) {
		nvmin = UINT32_MAX;
		for (uint32_t m = s; m; m &= m - 1) {
			int a = __builtin_ctz(m);

			for (uint32_t m2 = m & (m - 1); m2; m2 &= m2 - 1) {
				uint32_t bw =
				    node->nvlink[a][__builtin_ctz(m2)];

				nvsum += bw;
				if (bw < nvmin)
					nvmin = bw;
			}
		}
	}
	for (int l = 0; l < 4; l++) {
		whole[l] = 0;
		for (int d = 0; d < node->ndom[l]; d++)
			if (!(node->dom_mask[l][d] & ~rest))
				whole[l]++;
	}
	key.k1 = (uint64_t)span << 60 |
		 (uint64_t)__builtin_popcount(touched[3]) << 54 |
		 (uint64_t)__builtin_popcount(touched[2]) << 48 |
		 (uint64_t)__builtin_popcount(touched[1]) << 42 |
		 (uint64_t)__builtin_popcount(touched[0]) << 36 |
		 (uint64_t)(UINT32_MAX - nvmin);
	key.k2 =
	    (uint64_t)(32 - whole[3]) << 58 | (uint64_t)(32 - whole[2]) << 52 |
	    (uint64_t)(32 - whole[1]) << 46 | (uint64_t)(32 - whole[0]) << 40 |
	    ((1ULL << 40) - 1 - (nvsum & ((1ULL << 40) - 1)));
	return key;
}

static int key_less(const struct topo_key *a, const struct topo_key *b)
{
	return a->k1 < b->k1 || (a->k1 == b->k1 && a->k2 < b->k2);
}

/*
 * The same order as topo_cost(), as one additive number when NVLink is
 * uniform: for every domain the set touches, W_TOUCH[level] plus, if the
 * domain was whole before, W_BREAK[level] (it is no longer whole after).
 * Digits of 6 bits: counts per level never reach 64.
 */
static const uint64_t W_TOUCH[AISS_LVL__COUNT] = {1ULL << 24, 1ULL << 30,
						  1ULL << 36, 1ULL << 42, 0};
static const uint64_t W_BREAK[AISS_LVL__COUNT] = {1ULL << 0, 1ULL << 6,
						  1ULL << 12, 1ULL << 18, 0};

struct dp {
	int max; /* largest count possible */
	uint64_t cost[AISS_MAX_GPUS + 1];
	uint32_t mask[AISS_MAX_GPUS + 1];
};

static uint64_t own_cost(const aiss_node *node, int l, int d,
			 uint32_t free_mask, int c)
{
	if (!c)
		return 0;
	return W_TOUCH[l] +
	       (!(node->dom_mask[l][d] & ~free_mask) ? W_BREAK[l] : 0);
}

/* Best set of each size 0..k inside domain (l, d): switches take their
 * lowest free GPUs (GPUs of one switch are alike when NVLink is uniform),
 * higher domains merge their children's tables. */
static void dp_solve(const aiss_node *node, int l, int d, uint32_t free_mask,
		     int k, struct dp *out)
{
	uint32_t fm = node->dom_mask[l][d] & free_mask;
	int f = __builtin_popcount(fm);

	if (l == 0) {
		uint32_t m = 0;

		out->max = f < k ? f : k;
		for (int c = 0; c <= out->max; c++) {
			out->cost[c] = own_cost(node, l, d, free_mask, c);
			out->mask[c] = m;
			m |= (fm & ~m) & -(fm & ~m);
		}
		return;
	}
	out->max = 0;
	out->cost[0] = 0;
	out->mask[0] = 0;
	for (int i = 0; i < node->nchild[l][d]; i++) {
		struct dp sub, acc = *out;
		int top;

		dp_solve(node, l - 1, node->child[l][d][i], free_mask, k, &sub);
		if (sub.max == 0)
			continue;
		top = acc.max + sub.max < k ? acc.max + sub.max : k;
		for (int c = 0; c <= top; c++)
			out->cost[c] = UINT64_MAX;
		for (int a = 0; a <= acc.max; a++)
			for (int b = 0; b <= sub.max && a + b <= top; b++) {
				uint64_t cost = acc.cost[a] + sub.cost[b];
				uint32_t m = acc.mask[a] | sub.mask[b];

				if (cost < out->cost[a + b] ||
				    (cost == out->cost[a + b] &&
				     lex_before(m, out->mask[a + b]))) {
					out->cost[a + b] = cost;
					out->mask[a + b] = m;
				}
			}
		out->max = top;
	}
	for (int c = 1; c <= out->max; c++)
		out->cost[c] += own_cost(node, l, d, free_mask, c);
}

static uint32_t choose_topo_dp(const aiss_node *node, uint32_t free_mask, int k)
{
	for (int l = 0; l < AISS_LVL__COUNT; l++) {
		uint64_t best_cost = UINT64_MAX;
		uint32_t best = 0;

		for (int d = 0; d < node->ndom[l]; d++) {
			struct dp t;
			uint64_t cost;
			int g;

			if (__builtin_popcount(node->dom_mask[l][d] &
					       free_mask) < k)
				continue;
			dp_solve(node, l, d, free_mask, k, &t);
			cost = t.cost[k];
			/* The domains above also get touched (and broken if
			 * they were whole). */
			g = __builtin_ctz(node->dom_mask[l][d]);
			for (int u = l + 1; u < AISS_LVL__COUNT; u++)
				cost += own_cost(node, u, node->gpu_dom[u][g],
						 free_mask, k);
			if (!best || cost < best_cost ||
			    (cost == best_cost &&
			     lex_before(t.mask[k], best))) {
				best_cost = cost;
				best = t.mask[k];
			}
		}
		if (best)
			return best;
	}
	return 0;
}

uint32_t aiss_place_topo_enumerate(const aiss_node *node, uint32_t free_mask,
				   int k)
{
	for (int l = 0; l < AISS_LVL__COUNT; l++) {
		struct topo_key best_key = {UINT64_MAX, UINT64_MAX};
		uint32_t best = 0;

		for (int d = 0; d < node->ndom[l]; d++) {
			uint32_t cand = node->dom_mask[l][d] & free_mask, s;
			struct subset_iter it;

			if (__builtin_popcount(cand) < k)
				continue;
			subset_init(&it, cand, k);
			while (subset_next(&it, &s)) {
				struct topo_key key =
				    topo_cost(node, s, free_mask, l);

				if (!best || key_less(&key, &best_key) ||
				    (key.k1 == best_key.k1 &&
				     key.k2 == best_key.k2 &&
				     lex_before(s, best))) {
					best = s;
					best_key = key;
				}
			}
		}
		if (best)
			return best;
	}
	return 0;
}

static int set_score(const aiss_node *node, uint32_t s)
{
	int score = 0;

	for (uint32_t m = s; m; m &= m - 1) {
		int a = __builtin_ctz(m);

		for (uint32_t m2 = m & (m - 1); m2; m2 &= m2 - 1)
			score += node->score[a][__builtin_ctz(m2)];
	}
	return score;
}

/* The single set with the highest pair-score sum (lowest indices on ties):
 * the fallback when partitions are too many to enumerate. */
static uint32_t choose_max_set(const aiss_node *node, uint32_t free_mask, int k)
{
	struct subset_iter it;
	uint32_t s, best = 0;
	int best_score = -1;

	subset_init(&it, free_mask, k);
	while (subset_next(&it, &s)) {
		int score = set_score(node, s);

		if (score > best_score ||
		    (score == best_score && lex_before(s, best))) {
			best_score = score;
			best = s;
		}
	}
	return best;
}

/* go-gpuallocator's best effort: over every partition of the free GPUs
 * (padded with empty slots to a multiple of k) into sets of k, the one
 * with the highest total score; from it, its best full set. */
struct partition_search {
	const aiss_node *node;
	int k;
	int found, best_total;
	uint32_t best_set;
	uint32_t sets[AISS_MAX_GPUS];
	int scores[AISS_MAX_GPUS], full[AISS_MAX_GPUS], nsets;
};

static void partition_leaf(struct partition_search *ps, int total)
{
	int best = -1;

	/* Only partitions holding at least one full set can serve k. */
	for (int i = 0; i < ps->nsets; i++)
		if (ps->full[i] &&
		    (best < 0 || ps->scores[i] > ps->scores[best]))
			best = i;
	if (best < 0 || (ps->found && total <= ps->best_total))
		return;
	ps->found = 1;
	ps->best_total = total;
	ps->best_set = ps->sets[best];
}

static void partition_iterate(struct partition_search *ps, uint32_t rem,
			      int pads, int total)
{
	uint32_t rest;
	int first, nrest;

	if (!rem) {
		partition_leaf(ps, total); /* the pads left form empty sets */
		return;
	}
	first = __builtin_ctz(rem);
	rest = rem & (rem - 1);
	nrest = __builtin_popcount(rest);
	/* The lowest GPU left, with j more GPUs and k-1-j pads: more GPUs
	 * first, sets in index order (go-gpuallocator's order, pads last). */
	for (int j = ps->k - 1 < nrest ? ps->k - 1 : nrest;
	     j >= 0 && ps->k - 1 - j <= pads; j--) {
		struct subset_iter it;
		uint32_t t;

		subset_init(&it, rest, j);
		while (subset_next(&it, &t)) {
			uint32_t set = t | (1U << first);
			int sc = set_score(ps->node, set);

			ps->sets[ps->nsets] = set;
			ps->scores[ps->nsets] = sc;
			ps->full[ps->nsets] = j == ps->k - 1;
			ps->nsets++;
			partition_iterate(ps, rest & ~t, pads - (ps->k - 1 - j),
					  total + sc);
			ps->nsets--;
		}
	}
}

/* Number of partitions of n items (distinct) into sets of k, capped. */
static double partition_count(int n, int k)
{
	double c = 1;

	/* n! / ((k!)^(n/k) (n/k)!) = prod over sets of C(remaining-1, k-1) */
	for (int r = n; r > 0; r -= k) {
		for (int i = 1; i < k; i++)
			c = c * (r - i) / i;
		if (c > 1e12)
			break;
	}
	return c;
}

static uint32_t choose_pairwise(const aiss_node *node, uint32_t free_mask,
				int k)
{
	int n = __builtin_popcount(free_mask), pads = (k - n % k) % k;
	struct partition_search ps;

	if (k == 1) /* go-gpuallocator: the first available GPU */
		return free_mask & -free_mask;
	if (partition_count(n + pads, k) > 2e6)
		return choose_max_set(node, free_mask, k);
	memset(&ps, 0, sizeof(ps));
	ps.node = node;
	ps.k = k;
	partition_iterate(&ps, free_mask, pads, 0);
	return ps.best_set;
}

static uint32_t choose_first_fit(uint32_t free_mask, int k)
{
	uint32_t s = 0;

	for (uint32_t m = free_mask; m && k; m &= m - 1, k--)
		s |= m & -m;
	return s;
}

int aiss_place_describe(const aiss_node *node, uint32_t gpus,
			struct aiss_placement *out)
{
	int n = 0;

	if (!node || !node->finalized || !out || !gpus || (gpus & ~node->all)) {
		errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->gpus = gpus;
	for (uint32_t m = gpus; m; m &= m - 1)
		out->order[n++] = __builtin_ctz(m);
	out->ngpus = n;
	/* Locality order: by package, NUMA node, host bridge, switch, index
	 * (domain indices follow GPU order, so this is stable). */
	for (int i = 1; i < n; i++) {
		int g = out->order[i], j = i - 1;

		for (; j >= 0; j--) {
			int h = out->order[j], cmp = 0;

			for (int l = 3; l >= 0 && !cmp; l--)
				cmp = (int)node->gpu_dom[l][h] -
				      (int)node->gpu_dom[l][g];
			if (cmp <= 0)
				break;
			out->order[j + 1] = h;
		}
		out->order[j + 1] = g;
	}
	for (int i = 0; i < n; i++) {
		int g = out->order[i], nic = node->gpu_nic[g];

		aiss_cpuset_or(&out->cpus, &node->gpus[g].cpus);
		if (nic >= 0 && !(out->nics & (1U << nic))) {
			out->nics |= 1U << nic;
			out->nic_order[out->nnics++] = nic;
		}
	}
	out->span = span_of(node, gpus);
	return 0;
}

int aiss_place(const aiss_node *node, uint32_t free_mask, int k,
	       enum aiss_place_policy policy, struct aiss_placement *out)
{
	uint32_t s;

	if (!node || !node->finalized || !out || k <= 0 || k > AISS_MAX_GPUS) {
		errno = EINVAL;
		return -1;
	}
	free_mask &= node->all;
	if (__builtin_popcount(free_mask) < k) {
		errno = ENOSPC;
		return -1;
	}
	if (__builtin_popcount(free_mask) == k)
		return aiss_place_describe(node, free_mask,
					   out); /* no choice */
	switch (policy) {
	case AISS_PLACE_FIRST_FIT:
		s = choose_first_fit(free_mask, k);
		break;
	case AISS_PLACE_PAIRWISE:
		s = choose_pairwise(node, free_mask, k);
		break;
	case AISS_PLACE_TOPO:
		/* Exhaustive search where NVLink
		 * bandwidth differs between pairs (the DP needs GPUs of a
		 * switch to be alike); else the equivalent
		 * dynamic programme over the domain tree. */
		if (node->nv_uniform && node->nested)
			s = choose_topo_dp(node, free_mask, k);
		else
			s = aiss_place_topo_enumerate(node, free_mask, k);
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	return aiss_place_describe(node, s, out);
}
