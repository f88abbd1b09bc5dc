/* SPDX-License-Identifier: GPL-2.0-or-later */
/* policy.c: the accounting policy of ../shared/domain/README.md, items 5-10. */
#include "aiss_policy.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

int aiss_policy_rate_valid(int64_t bp)
{
	return bp >= 0 && bp <= AISS_RATE_MAX_BP;
}

static int check_terms(int64_t price, const aiss_grant_terms *g,
		       aiss_error *err)
{
	if (!g)
		return aiss_error_set(err, AISS_E_INVALID, "no grant terms");
	if (price < 0 || price > AISS_PRICE_LIMIT)
		return aiss_error_set(err, AISS_E_INVALID,
				      "price %" PRId64
				      " cents per GPU-hour is out of range "
				      "(0 to %d)",
				      price, AISS_PRICE_LIMIT);
	if (!aiss_policy_rate_valid(g->rate_bp))
		return aiss_error_set(err, AISS_E_INVALID,
				      "subsidy rate %d bp is not allowed: "
				      "rates are 0 to %d bp (0%% to 90%%)",
				      g->rate_bp, AISS_RATE_MAX_BP);
	if (g->window_end < g->window_start)
		return aiss_error_set(err, AISS_E_INVALID,
				      "grant window ends before it starts");
	return 0;
}

/* The policy with an explicit cap (INT64_MAX for none). */
static int charge_capped(const aiss_run_usage *run, int64_t price,
			 const aiss_grant_terms *g, aiss_cents_t cap,
			 aiss_charge *out, aiss_error *err)
{
	aiss_charge c;
	aiss_time_t lo, hi;
	int64_t uncapped;

	if (!run || !out)
		return aiss_error_set(err, AISS_E_INVALID, "no run to price");
	if (check_terms(price, g, err))
		return -1;
	if (run->gpus < 0 || run->gpus > AISS_GPUS_LIMIT)
		return aiss_error_set(err, AISS_E_INVALID,
				      "GPU count %" PRId64
				      " is out of range (0 to %d)",
				      run->gpus, AISS_GPUS_LIMIT);
	if (run->end < run->start)
		return aiss_error_set(err, AISS_E_INVALID,
				      "run ends (%" PRId64
				      ") before it starts (%" PRId64 ")",
				      run->end, run->start);
	if (run->end - run->start > AISS_DURATION_LIMIT)
		return aiss_error_set(err, AISS_E_INVALID,
				      "run of %" PRId64
				      " s is longer than ten years",
				      run->end - run->start);
	memset(&c, 0, sizeof(c));
	c.run_seconds = run->end - run->start;
	c.gpu_seconds = run->gpus * c.run_seconds;
	lo = run->start > g->window_start ? run->start : g->window_start;
	hi = run->end < g->window_end ? run->end : g->window_end;
	c.in_window_seconds = hi > lo ? hi - lo : 0;
	if (run->node_fail) {
		*out = c;
		return 0;
	}
	if (aiss_muldiv_round(c.gpu_seconds, price, 3600, &c.list_cost))
		goto range;
	if (c.run_seconds > 0 &&
	    aiss_muldiv_round(c.list_cost, c.in_window_seconds, c.run_seconds,
			      &c.in_window_cost))
		goto range;
	if (aiss_muldiv_round(c.in_window_cost, g->rate_bp, 10000, &uncapped))
		goto range;
	if (cap < 0)
		cap = 0;
	c.subsidy = uncapped < cap ? uncapped : cap;
	c.capped = uncapped > cap;
	c.copay = c.list_cost - c.subsidy;
	*out = c;
	return 0;
range:
	return aiss_error_set(err, AISS_E_INVALID, "run cost overflows");
}

int aiss_policy_charge(const aiss_run_usage *run, int64_t price,
		       const aiss_grant_terms *g, aiss_charge *out,
		       aiss_error *err)
{
	if (!g)
		return aiss_error_set(err, AISS_E_INVALID, "no grant terms");
	return charge_capped(run, price, g, g->remaining_subsidy, out, err);
}

int aiss_policy_worst_case(int64_t gpus, int64_t time_limit, aiss_time_t start,
			   int64_t price, const aiss_grant_terms *g,
			   aiss_charge *out, aiss_error *err)
{
	aiss_run_usage run = {.gpus = gpus, .start = start, .node_fail = false};

	if (time_limit < 0 || time_limit > AISS_DURATION_LIMIT)
		return aiss_error_set(err, AISS_E_INVALID,
				      "time limit %" PRId64
				      " s is out of range",
				      time_limit);
	run.end = start + time_limit;
	return charge_capped(&run, price, g, INT64_MAX, out, err);
}

/* 1 when the worst case of (gpus, t) fits in @available. */
static int fits(int64_t gpus, int64_t t, aiss_time_t start, int64_t price,
		const aiss_grant_terms *g, aiss_cents_t available)
{
	aiss_charge c = {0};

	if (aiss_policy_worst_case(gpus, t, start, price, g, &c, NULL))
		return 0;
	return c.subsidy <= available;
}

int64_t aiss_policy_max_time(int64_t gpus, aiss_time_t start, int64_t price,
			     const aiss_grant_terms *g, aiss_cents_t available,
			     int64_t max_limit)
{
	int64_t lo = 0, hi;

	if (available < 0 || max_limit <= 0)
		return 0;
	if (max_limit > AISS_DURATION_LIMIT)
		max_limit = AISS_DURATION_LIMIT;
	hi = max_limit;
	if (!fits(gpus, hi, start, price, g, available)) {
		/* invariant: lo fits (or is 0), hi does not */
		while (hi - lo > 1) {
			int64_t mid = lo + (hi - lo) / 2;

			if (fits(gpus, mid, start, price, g, available))
				lo = mid;
			else
				hi = mid;
		}
	} else {
		lo = hi;
	}
	if (lo >= 60)
		lo = lo / 60 * 60;
	/* rounding in the cost is not strictly monotonic: step down until
	 * the answer really fits */
	while (lo > 0 && !fits(gpus, lo, start, price, g, available))
		lo -= lo > 60 ? 60 : 1;
	return lo;
}

int64_t aiss_policy_max_gpus(int64_t time_limit, aiss_time_t start,
			     int64_t price, const aiss_grant_terms *g,
			     aiss_cents_t available, int64_t max_gpus)
{
	int64_t lo = 0, hi;

	if (available < 0 || max_gpus <= 0)
		return 0;
	if (max_gpus > AISS_GPUS_LIMIT)
		max_gpus = AISS_GPUS_LIMIT;
	hi = max_gpus;
	if (fits(hi, time_limit, start, price, g, available))
		return hi;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if (fits(mid, time_limit, start, price, g, available))
			lo = mid;
		else
			hi = mid;
	}
	while (lo > 0 && !fits(lo, time_limit, start, price, g, available))
		lo--;
	return lo;
}

int aiss_apportion(aiss_cents_t total, const int64_t *weights, size_t n,
		   aiss_cents_t *out)
{
	unsigned __int128 sum = 0, mag;
	unsigned __int128 rem[AISS_SPLIT_MAX];
	bool extra[AISS_SPLIT_MAX];
	int64_t given = 0, leftover;

	if (n == 0 || n > AISS_SPLIT_MAX || !weights || !out) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (weights[i] < 0) {
			errno = EINVAL;
			return -1;
		}
		sum += (unsigned __int128)weights[i];
	}
	mag = total < 0 ? (unsigned __int128)(-(__int128)total)
			: (unsigned __int128)total;
	if (sum == 0) {
		out[0] = total;
		for (size_t i = 1; i < n; i++)
			out[i] = 0;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned __int128 num = mag * (unsigned __int128)weights[i];

		out[i] = (aiss_cents_t)(num / sum);
		rem[i] = num % sum;
		extra[i] = false;
		given += out[i];
	}
	leftover = (int64_t)mag - given; /* < n */
	while (leftover-- > 0) {
		size_t best = n;

		for (size_t i = 0; i < n; i++) {
			if (extra[i])
				continue;
			if (best == n || rem[i] > rem[best])
				best = i;
		}
		extra[best] = true;
		out[best]++;
	}
	if (total < 0)
		for (size_t i = 0; i < n; i++)
			out[i] = -out[i];
	return 0;
}

int aiss_policy_split(aiss_time_t start, aiss_time_t end, int64_t gpus,
		      const aiss_charge *c, aiss_period_share *out, size_t max,
		      size_t *n, aiss_error *err)
{
	int64_t w[AISS_SPLIT_MAX];
	aiss_cents_t part[AISS_SPLIT_MAX];
	size_t k = 0;
	int fy, q;

	if (!c || !out || !n)
		return aiss_error_set(err, AISS_E_INVALID, "nothing to split");
	if (end < start || end - start > AISS_DURATION_LIMIT)
		return aiss_error_set(err, AISS_E_INVALID,
				      "run interval is invalid");
	aiss_quarter_of(start, &fy, &q);
	for (;;) {
		aiss_time_t qs = aiss_quarter_start(fy, q);
		aiss_time_t qe = aiss_quarter_start(fy, q + 1);
		aiss_time_t lo = start > qs ? start : qs;
		aiss_time_t hi = end < qe ? end : qe;

		if (k >= max || k >= AISS_SPLIT_MAX)
			return aiss_error_set(err, AISS_E_INVALID,
					      "run spans more than %zu "
					      "quarters",
					      max);
		memset(&out[k], 0, sizeof(out[k]));
		out[k].fy = fy;
		out[k].quarter = q;
		out[k].seconds = hi > lo ? hi - lo : 0;
		out[k].gpu_seconds = gpus * out[k].seconds;
		w[k] = out[k].seconds;
		k++;
		if (qe >= end)
			break;
		if (q == 4) {
			fy++;
			q = 1;
		} else {
			q++;
		}
	}
	if (aiss_apportion(c->list_cost, w, k, part))
		goto range;
	for (size_t i = 0; i < k; i++)
		out[i].list_cost = part[i];
	if (aiss_apportion(c->subsidy, w, k, part))
		goto range;
	for (size_t i = 0; i < k; i++)
		out[i].subsidy = part[i];
	if (aiss_apportion(c->copay, w, k, part))
		goto range;
	for (size_t i = 0; i < k; i++)
		out[i].copay = part[i];
	*n = k;
	return 0;
range:
	return aiss_error_set(err, AISS_E_INVALID, "cannot apportion amounts");
}
