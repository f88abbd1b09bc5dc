/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the node model and the three placement policies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aiss_place.h"
#include "place_internal.h"
#include "hgx_model.h"

#define M(...) mask_of((int[]){__VA_ARGS__, -1})

static uint32_t mask_of(const int *g)
{
	uint32_t m = 0;

	for (; *g >= 0; g++)
		m |= 1U << *g;
	return m;
}

static uint32_t place(const aiss_node *n, uint32_t free_mask, int k,
		      enum aiss_place_policy p)
{
	struct aiss_placement pl;

	assert_int_equal(aiss_place(n, free_mask, k, p, &pl), 0);
	assert_int_equal(pl.ngpus, k);
	assert_int_equal(pl.gpus & ~free_mask, 0);
	return pl.gpus;
}

static void test_cpuset(void **state)
{
	aiss_cpuset s;
	char buf[64];

	(void)state;
	assert_int_equal(aiss_cpuset_parse(&s, "0-3,8,10-11"), 0);
	assert_int_equal(aiss_cpuset_count(&s), 7);
	assert_int_equal(aiss_cpuset_first(&s), 0);
	assert_int_equal(aiss_cpuset_format(&s, buf, sizeof(buf)), 11);
	assert_string_equal(buf, "0-3,8,10-11");
	assert_int_equal(aiss_cpuset_parse(&s, "3-1"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(aiss_cpuset_parse(&s, "1,x"), -1);
	assert_int_equal(aiss_cpuset_set(&s, AISS_MAX_CPUS), -1);
	/* Truncation reports the length needed. */
	assert_int_equal(aiss_cpuset_parse(&s, "1,3,5,7"), 0);
	assert_int_equal(aiss_cpuset_format(&s, buf, 4), 7);
	assert_string_equal(buf, "1,3");
}

static void test_model(void **state)
{
	aiss_node *n = test_hgx_node();

	(void)state;
	assert_int_equal(aiss_node_gpu_count(n), 8);
	assert_int_equal(aiss_node_nic_count(n), 8);
	assert_int_equal(aiss_node_pair_level(n, 0, 1), AISS_LVL_SWITCH);
	assert_int_equal(aiss_node_pair_level(n, 0, 2), AISS_LVL_NUMA);
	assert_int_equal(aiss_node_pair_level(n, 3, 4), AISS_LVL_NODE);
	assert_int_equal(aiss_node_nic_level(n, 5, 5), AISS_LVL_SWITCH);
	assert_int_equal(aiss_node_nvlink(n, 2, 6), 450000);
	assert_int_equal(aiss_node_nvlink_unit(n), 25000);
	assert_true(aiss_place_pair_score(n, 0, 1) >
		    aiss_place_pair_score(n, 0, 2));
	assert_true(aiss_place_pair_score(n, 0, 2) >
		    aiss_place_pair_score(n, 0, 4));
	assert_string_equal(aiss_level_name(AISS_LVL_NUMA), "numa");
	aiss_node_destroy(n);
	aiss_node_destroy(NULL);
}

static void test_errors(void **state)
{
	aiss_node *n = test_hgx_node(), *empty = aiss_node_create("e");
	struct aiss_placement pl;

	(void)state;
	assert_int_equal(aiss_place(n, M(0, 1), 3, AISS_PLACE_TOPO, &pl), -1);
	assert_int_equal(errno, ENOSPC);
	/* Bits beyond the node's GPUs do not count as free. */
	assert_int_equal(aiss_place(n, 0xff00U | M(0), 2, AISS_PLACE_TOPO, &pl),
			 -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(aiss_place(n, 0xff, 0, AISS_PLACE_TOPO, &pl), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(aiss_place(n, 0xff, 1, (enum aiss_place_policy)9, &pl),
			 -1);
	assert_int_equal(errno, EINVAL);
	/* Not finalized. */
	assert_int_equal(aiss_place(empty, 1, 1, AISS_PLACE_TOPO, &pl), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(aiss_node_finalize(empty), -1);
	assert_int_equal(aiss_node_set_nvlink(n, 1, 1, 5), -1);
	aiss_node_destroy(empty);
	aiss_node_destroy(n);
}

static void test_first_fit(void **state)
{
	aiss_node *n = test_hgx_node();

	(void)state;
	assert_int_equal(place(n, 0xff, 2, AISS_PLACE_FIRST_FIT), M(0, 1));
	/* Index order straddles a switch. */
	assert_int_equal(place(n, 0xfe, 2, AISS_PLACE_FIRST_FIT), M(1, 2));
	assert_int_equal(place(n, M(3, 4, 5), 2, AISS_PLACE_FIRST_FIT),
			 M(3, 4));
	aiss_node_destroy(n);
}

static void test_topo_locality(void **state)
{
	aiss_node *n = test_hgx_node();
	struct aiss_placement pl;

	(void)state;
	assert_int_equal(aiss_place(n, 0xff, 2, AISS_PLACE_TOPO, &pl), 0);
	assert_int_equal(pl.gpus, M(0, 1));
	assert_int_equal(pl.span, AISS_LVL_SWITCH);
	/* GPU 0 busy: a whole switch beats 1+2 across switches, and the
	 * switch on the already-broken socket beats breaking socket 1. */
	assert_int_equal(place(n, 0xfe, 2, AISS_PLACE_TOPO), M(2, 3));
	/* From 3,4,5: 4,5 share a switch. */
	assert_int_equal(place(n, M(3, 4, 5), 2, AISS_PLACE_TOPO), M(4, 5));
	/* 4 GPUs: a whole NUMA node. */
	assert_int_equal(aiss_place(n, 0xff, 4, AISS_PLACE_TOPO, &pl), 0);
	assert_int_equal(pl.gpus, M(0, 1, 2, 3));
	assert_int_equal(pl.span, AISS_LVL_NUMA);
	/* Socket 0 has 3 free, socket 1 has 4: take socket 1. */
	assert_int_equal(place(n, 0xfe, 4, AISS_PLACE_TOPO), M(4, 5, 6, 7));
	/* No socket has 4 free: 2+2 as whole switches beats 3+1. */
	assert_int_equal(
	    aiss_place(n, M(0, 1, 2, 4, 5, 6), 4, AISS_PLACE_TOPO, &pl), 0);
	assert_int_equal(pl.span, AISS_LVL_NODE);
	assert_int_equal(__builtin_popcount(pl.gpus & 0x0f), 2);
	aiss_node_destroy(n);
}

static void test_topo_fragmentation(void **state)
{
	aiss_node *n = test_hgx_node();
	uint32_t free_mask = 0xff;

	(void)state;
	/* Single GPUs fill a broken switch before breaking a new one:
	 * after GPU 0, GPU 1, and whole switches stay free. */
	assert_int_equal(place(n, free_mask, 1, AISS_PLACE_TOPO), M(0));
	free_mask &= ~M(0);
	assert_int_equal(place(n, free_mask, 1, AISS_PLACE_TOPO), M(1));
	/* With switch 0 whole and GPU 3 alone on switch 1, a single GPU
	 * goes to GPU 3 (first-fit would break switch 0). */
	free_mask = M(0, 1, 3, 4, 5, 6, 7);
	assert_int_equal(place(n, free_mask, 1, AISS_PLACE_TOPO), M(3));
	assert_int_equal(place(n, free_mask, 1, AISS_PLACE_FIRST_FIT), M(0));
	/* A single GPU prefers the broken socket over a whole one. */
	free_mask = M(2, 3, 4, 5, 6, 7);
	assert_int_equal(place(n, free_mask, 1, AISS_PLACE_TOPO), M(2));
	aiss_node_destroy(n);
}

static void test_nvlink(void **state)
{
	aiss_node *n = test_power8_node();
	struct aiss_placement pl;

	(void)state;
	assert_int_equal(aiss_node_nvlink_unit(n), 20000);
	/* 1 and 2 share nothing but the node; 2,3 are NVLinked on one
	 * socket. */
	assert_int_equal(place(n, M(1, 2, 3), 2, AISS_PLACE_TOPO), M(2, 3));
	assert_int_equal(place(n, M(1, 2, 3), 2, AISS_PLACE_PAIRWISE), M(2, 3));
	assert_int_equal(place(n, M(1, 2, 3), 2, AISS_PLACE_FIRST_FIT),
			 M(1, 2));
	assert_int_equal(aiss_place(n, 0xf, 2, AISS_PLACE_TOPO, &pl), 0);
	assert_int_equal(pl.gpus, M(0, 1));
	assert_int_equal(pl.span, AISS_LVL_NUMA);
	aiss_node_destroy(n);
}

static void test_describe(void **state)
{
	aiss_node *n = test_hgx_node();
	struct aiss_placement pl;
	char buf[64];

	(void)state;
	assert_int_equal(aiss_place_describe(n, M(7, 0, 5), &pl), 0);
	assert_int_equal(pl.ngpus, 3);
	assert_int_equal(pl.order[0], 0);
	assert_int_equal(pl.order[1], 5);
	assert_int_equal(pl.order[2], 7);
	assert_int_equal(pl.span, AISS_LVL_NODE);
	/* GPU0 -> mlx5_0, GPU5 -> mlx5_5 (second on its switch), GPU7 ->
	 * mlx5_7. */
	assert_int_equal(pl.nnics, 3);
	assert_int_equal(pl.nic_order[0], 0);
	assert_int_equal(pl.nic_order[1], 5);
	assert_int_equal(pl.nic_order[2], 7);
	aiss_cpuset_format(&pl.cpus, buf, sizeof(buf));
	assert_string_equal(buf, "0-111");
	assert_int_equal(aiss_place_describe(n, M(6, 7), &pl), 0);
	aiss_cpuset_format(&pl.cpus, buf, sizeof(buf));
	assert_string_equal(buf, "56-111");
	assert_int_equal(aiss_place_describe(n, 1U << 9, &pl), -1);
	aiss_node_destroy(n);
}

/* Reference cost, computed from the public model by brute force: span,
 * then whole domains left (packages, NUMA, switches). The library must
 * reach the same optimum over every free set and size. */
static int ref_span(const aiss_node *n, uint32_t s)
{
	int span = 0;

	for (int a = 0; a < 8; a++)
		for (int b = a + 1; b < 8; b++)
			if ((s >> a & 1) && (s >> b & 1) &&
			    (int)aiss_node_pair_level(n, a, b) > span)
				span = (int)aiss_node_pair_level(n, a, b);
	return span;
}

static int ref_whole(const aiss_node *n, uint32_t rest, int lvl)
{
	int whole = 0;

	for (int id = 0; id < 8; id++) {
		uint32_t dom = 0;

		for (int g = 0; g < 8; g++)
			if (aiss_node_gpu(n, g)->dom[lvl] == id)
				dom |= 1U << g;
		if (dom && !(dom & ~rest))
			whole++;
	}
	return whole;
}

static void test_topo_optimal_exhaustive(void **state)
{
	aiss_node *n = test_hgx_node();

	(void)state;
	for (uint32_t free_mask = 1; free_mask < 256; free_mask++) {
		for (int k = 1; k <= __builtin_popcount(free_mask); k++) {
			uint32_t got = place(n, free_mask, k, AISS_PLACE_TOPO);
			int best_span = 99, got_span = ref_span(n, got);

			for (uint32_t s = 1; s < 256; s++) {
				if ((s & ~free_mask) ||
				    __builtin_popcount(s) != k)
					continue;
				if (ref_span(n, s) < best_span)
					best_span = ref_span(n, s);
			}
			assert_int_equal(got_span, best_span);
			/* Among sets of the best span, none leaves more
			 * whole sockets, or as many sockets and more whole
			 * switches. */
			for (uint32_t s = 1; s < 256; s++) {
				int wp, wg, ws, wgs;

				if ((s & ~free_mask) ||
				    __builtin_popcount(s) != k ||
				    ref_span(n, s) != best_span)
					continue;
				wp = ref_whole(n, free_mask & ~s, 3);
				wg = ref_whole(n, free_mask & ~got, 3);
				assert_true(wp <= wg);
				ws = ref_whole(n, free_mask & ~s, 0);
				wgs = ref_whole(n, free_mask & ~got, 0);
				if (wp == wg &&
				    __builtin_popcount(s & 0xf) ==
					__builtin_popcount(got & 0xf))
					assert_true(ws <= wgs);
			}
			/* Deterministic. */
			assert_int_equal(
			    place(n, free_mask, k, AISS_PLACE_TOPO), got);
		}
	}
	aiss_node_destroy(n);
}

static int ref_set_score(const aiss_node *n, uint32_t s)
{
	int sc = 0;

	for (int a = 0; a < 32; a++)
		for (int b = a + 1; b < 32; b++)
			if ((s >> a & 1) && (s >> b & 1))
				sc += aiss_place_pair_score(n, a, b);
	return sc;
}

/* Best total score over the partitions of GPUs @m plus @pads empty slots
 * into sets of @k (go-gpuallocator's search), by plain recursion. */
static int ref_best_partition(const aiss_node *n, uint32_t m, int pads, int k)
{
	uint32_t rest;
	int first, best = -1;

	if (!m)
		return 0;
	first = __builtin_ctz(m);
	rest = m & (m - 1);
	for (uint32_t t = rest;; t = (t - 1) & rest) {
		int j = __builtin_popcount(t);

		if (j <= k - 1 && k - 1 - j <= pads) {
			int sc = ref_set_score(n, t | (1U << first)) +
				 ref_best_partition(n, rest & ~t,
						    pads - (k - 1 - j), k);

			if (sc > best)
				best = sc;
		}
		if (!t)
			break;
	}
	return best;
}

/* Pairwise returns a full set of a best-scoring partition that has one:
 * score(S) + best partition of the rest == the best over all full sets T
 * of score(T) + best partition of the rest. */
static void test_pairwise_partition(void **state)
{
	aiss_node *n = test_hgx_node();

	(void)state;
	for (uint32_t free_mask = 1; free_mask < 256; free_mask++) {
		int nf = __builtin_popcount(free_mask);

		for (int k = 2; k < nf; k++) {
			int pads = (k - nf % k) % k, want = -1, got_total;
			uint32_t got =
			    place(n, free_mask, k, AISS_PLACE_PAIRWISE);

			for (uint32_t t = 1; t < 256; t++) {
				int sc;

				if ((t & ~free_mask) ||
				    __builtin_popcount(t) != k)
					continue;
				sc = ref_set_score(n, t) +
				     ref_best_partition(n, free_mask & ~t, pads,
							k);
				if (sc > want)
					want = sc;
			}
			got_total =
			    ref_set_score(n, got) +
			    ref_best_partition(n, free_mask & ~got, pads, k);
			assert_int_equal(got_total, want);
		}
	}
	/* k = 1 is go-gpuallocator's first available GPU. */
	assert_int_equal(place(n, 0xf6, 1, AISS_PLACE_PAIRWISE), 0x02);
	/* Partition awareness: from 0,1,2 with k = 2 the pair 0,1 (same
	 * switch) beats 1,2. */
	assert_int_equal(place(n, 0x07, 2, AISS_PLACE_PAIRWISE), 0x03);
	aiss_node_destroy(n);
}

/* The dynamic programme (used on uniform-NVLink nodes) must choose exactly
 * what the exhaustive search chooses: every free set of the HGX node, and
 * pseudo-random free sets of a 16-GPU node. */
static void test_dp_matches_enumeration(void **state)
{
	aiss_node *n = test_hgx_node(), *big = test_dgx2_node();
	uint64_t x = 12345;

	(void)state;
	for (uint32_t free_mask = 1; free_mask < 256; free_mask++)
		for (int k = 1; k <= __builtin_popcount(free_mask); k++)
			assert_int_equal(
			    place(n, free_mask, k, AISS_PLACE_TOPO),
			    aiss_place_topo_enumerate(n, free_mask, k));
	for (int i = 0; i < 3000; i++) {
		uint32_t free_mask;
		int k;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		free_mask = (uint32_t)(x >> 40) & 0xffff;
		if (!free_mask)
			continue;
		k = 1 +
		    (int)((x >> 20) % (uint64_t)__builtin_popcount(free_mask));
		assert_int_equal(place(big, free_mask, k, AISS_PLACE_TOPO),
				 aiss_place_topo_enumerate(big, free_mask, k));
	}
	/* The worst case of the enumeration: 8 of 14 free, split. */
	assert_int_equal(place(big, 0xfefe, 8, AISS_PLACE_TOPO),
			 aiss_place_topo_enumerate(big, 0xfefe, 8));
	aiss_node_destroy(big);
	aiss_node_destroy(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpuset),
	    cmocka_unit_test(test_model),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_first_fit),
	    cmocka_unit_test(test_topo_locality),
	    cmocka_unit_test(test_topo_fragmentation),
	    cmocka_unit_test(test_nvlink),
	    cmocka_unit_test(test_describe),
	    cmocka_unit_test(test_topo_optimal_exhaustive),
	    cmocka_unit_test(test_pairwise_partition),
	    cmocka_unit_test(test_dp_matches_enumeration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
