/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_place: choosing k GPUs on a node (first-fit, pairwise score, topology). */
#include "place_internal.h"

#include <errno.h>
#include <string.h>

static const char *const policy_names[] = {"first-fit", "pairwise", "topo"};

const char *aiss_place_policy_name(enum aiss_place_policy p)
{
	if ((int)p < 0 || (size_t)p >= sizeof(policy_names) / sizeof(*policy_names))
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
				uint32_t bw = node->nvlink[a][__builtin_ctz(m2)];

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
	key.k2 = (uint64_t)(32 - whole[3]) << 58 |
		 (uint64_t)(32 - whole[2]) << 52 |
		 (uint64_t)(32 - whole[1]) << 46 |
		 (uint64_t)(32 - whole[0]) << 40 |
		 ((1ULL << 40) - 1 - (nvsum & ((1ULL << 40) - 1)));
	return key;
}

static int key_less(const struct topo_key *a, const struct topo_key *b)
{
	return a->k1 < b->k1 || (a->k1 == b->k1 && a->k2 < b->k2);
}

static uint32_t choose_topo(const aiss_node *node, uint32_t free_mask, int k)
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

static uint32_t choose_pairwise(const aiss_node *node, uint32_t free_mask,
				int k)
{
	struct subset_iter it;
	uint32_t s, best = 0;
	int best_score = -1;

	subset_init(&it, free_mask, k);
	while (subset_next(&it, &s)) {
		int score = 0;

		for (uint32_t m = s; m; m &= m - 1) {
			int a = __builtin_ctz(m);

			for (uint32_t m2 = m & (m - 1); m2; m2 &= m2 - 1)
				score += node->score[a][__builtin_ctz(m2)];
		}
		/* Subsets come in increasing numeric order, so on a tie the
		 * earlier one is kept only if it is lexicographically first. */
		if (score > best_score ||
		    (score == best_score && lex_before(s, best))) {
			best_score = score;
			best = s;
		}
	}
	return best;
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
	switch (policy) {
	case AISS_PLACE_FIRST_FIT:
		s = choose_first_fit(free_mask, k);
		break;
	case AISS_PLACE_PAIRWISE:
		s = choose_pairwise(node, free_mask, k);
		break;
	case AISS_PLACE_TOPO:
		s = choose_topo(node, free_mask, k);
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	return aiss_place_describe(node, s, out);
}
