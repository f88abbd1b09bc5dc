/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_policy: the scheme's accounting policy (../shared/domain/README.md)
 * as pure functions: cost, window, subsidy, co-payment, period split, quotes. */
#ifndef AISS_POLICY_H
#define AISS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aiss_error.h"
#include "aiss_money.h"
#include "aiss_time.h"

#define AISS_RATE_DEFAULT_BP 7000 /* policy item 7 */
#define AISS_RATE_MAX_BP 9000
#define AISS_GPUS_LIMIT 1000000	  /* sanity bound on GPUs in one run */
#define AISS_PRICE_LIMIT 100000000 /* HK$1,000,000 per GPU-hour, in cents */
#define AISS_DURATION_LIMIT (10LL * 366 * 86400) /* ten years */

/* One run's usage (policy items 4, 5, 9). */
typedef struct aiss_run_usage {
	int64_t gpus;	   /* GPUs allocated across all the run's nodes */
	aiss_time_t start; /* UTC seconds */
	aiss_time_t end;   /* UTC seconds, >= start */
	bool node_fail;	   /* ended in NODE_FAIL: charged zero */
} aiss_run_usage;

/* The grant terms that price a run. */
typedef struct aiss_grant_terms {
	int32_t rate_bp;		/* 0..9000 */
	aiss_time_t window_start;	/* [window_start, window_end) */
	aiss_time_t window_end;
	aiss_cents_t remaining_subsidy; /* cap; negative counts as 0 */
} aiss_grant_terms;

/* What one run costs (policy items 5, 6, 8). */
typedef struct aiss_charge {
	int64_t gpu_seconds;
	int64_t run_seconds;
	int64_t in_window_seconds;
	aiss_cents_t list_cost;
	aiss_cents_t in_window_cost;
	aiss_cents_t subsidy;
	aiss_cents_t copay;
	bool capped; /* subsidy limited by the grant's remaining subsidy */
} aiss_charge;

/* 1 when @bp is an approvable subsidy rate (0..9000), else 0. */
int aiss_policy_rate_valid(int64_t bp);

/*
 * Prices @run at @price (cents per GPU-hour, the price in force at the run's
 * start) under grant terms @g:
 *   list_cost      = round_half_up(gpu_seconds * price / 3600)
 *   in_window_cost = round_half_up(list_cost * in_window_s / run_s)
 *   subsidy        = min(round_half_up(in_window_cost * rate / 10000),
 *                        max(remaining, 0))
 *   copay          = list_cost - subsidy
 * A NODE_FAIL run is charged zero (gpu/run seconds still filled in).
 * Returns 0, or -1 with @err (AISS_E_INVALID: negative GPUs, end < start,
 * bad rate or price, overflow).
 */
int aiss_policy_charge(const aiss_run_usage *run, int64_t price,
		       const aiss_grant_terms *g, aiss_charge *out,
		       aiss_error *err);

/*
 * Worst case of a job shape (admission rules): @gpus for @time_limit seconds
 * starting at @start, priced as aiss_policy_charge() but with no cap
 * (g->remaining_subsidy ignored). Returns 0 or -1 with @err.
 */
int aiss_policy_worst_case(int64_t gpus, int64_t time_limit, aiss_time_t start,
			   int64_t price, const aiss_grant_terms *g,
			   aiss_charge *out, aiss_error *err);

/*
 * The largest time limit in seconds (at most @max_limit) for which the worst
 * case subsidy of @gpus GPUs starting at @start is <= @available; 0 when not
 * even one second fits. Rounded down to whole minutes when >= 60 s (Slurm's
 * --time granularity).
 */
int64_t aiss_policy_max_time(int64_t gpus, aiss_time_t start, int64_t price,
			     const aiss_grant_terms *g, aiss_cents_t available,
			     int64_t max_limit);

/* The largest GPU count (at most @max_gpus) whose worst case at @time_limit
 * fits in @available; 0 when none. */
int64_t aiss_policy_max_gpus(int64_t time_limit, aiss_time_t start,
			     int64_t price, const aiss_grant_terms *g,
			     aiss_cents_t available, int64_t max_gpus);

/*
 * Apportions @total over @n parts in proportion to @weights (policy item 10):
 * floor each share, then hand the leftover cents one by one to the largest
 * fractional remainders, ties to the earlier part. Parts sum to @total
 * exactly. Negative @total is apportioned by magnitude and negated. All
 * weights zero: everything to part 0. Returns 0, or -1 with errno EINVAL
 * (n == 0, negative weight) / ERANGE.
 */
int aiss_apportion(aiss_cents_t total, const int64_t *weights, size_t n,
		   aiss_cents_t *out);

/* One fiscal quarter's share of a run. */
typedef struct aiss_period_share {
	int fy;		     /* fiscal year, e.g. 2025 for "2025-26" */
	int quarter;	     /* 1..4 */
	int64_t seconds;     /* the run's seconds inside this quarter */
	int64_t gpu_seconds; /* gpus * seconds (exact) */
	aiss_cents_t list_cost;
	aiss_cents_t subsidy;
	aiss_cents_t copay;
} aiss_period_share;

/* Most quarters one run may span (AISS_DURATION_LIMIT / 3 months, rounded up). */
#define AISS_SPLIT_MAX 44

/*
 * Splits charge @c of a run [start, end) with @gpus GPUs into fiscal
 * quarters (Hong Kong time). Each of list cost, subsidy and co-payment is
 * apportioned by aiss_apportion() on the seconds in each quarter. A run with
 * start == end lies wholly in the quarter of @start. Writes *n shares in
 * time order into @out (room for @max). Returns 0, or -1 with @err.
 */
int aiss_policy_split(aiss_time_t start, aiss_time_t end, int64_t gpus,
		      const aiss_charge *c, aiss_period_share *out, size_t max,
		      size_t *n, aiss_error *err);

#endif
