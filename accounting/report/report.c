/* SPDX-License-Identifier: GPL-2.0-or-later */
/* report.c: computes the fiscal-year report and forecast from charges,
 * adjustments and grants (policy items 10-13). */
#include "aiss_report.h"
#include "report_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TRAILING_S (182LL * 86400)
#define UNDERSPEND_PCT 25 /* warn when more than this % would be unspent */

/* ---- grant index: open addressing on the grant id ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int grants_rehash(aiss_report *r, size_t cap)
{
	int32_t *t = malloc(cap * sizeof(*t));
	if (!t)
		return -1;
	for (size_t i = 0; i < cap; i++)
		t[i] = -1;
	for (size_t g = 0; g < r->n_grants; g++) {
		size_t j = hash_str(r->grants[g].id) & (cap - 1);
		while (t[j] >= 0)
			j = (j + 1) & (cap - 1);
		t[j] = (int32_t)g;
	}
	free(r->gmap);
	r->gmap = t;
	r->gmap_cap = cap;
	return 0;
}

/* Index of grant @id, appended (with @inst and @type) when unknown; -1 on
 * allocation failure. */
static long grant_index(aiss_report *r, const char *id, const char *inst,
			aiss_inst_type type)
{
	size_t j = hash_str(id) & (r->gmap_cap - 1);
	while (r->gmap[j] >= 0) {
		if (strcmp(r->grants[r->gmap[j]].id, id) == 0)
			return r->gmap[j];
		j = (j + 1) & (r->gmap_cap - 1);
	}
	if (r->n_grants == r->grants_cap) {
		size_t nc = r->grants_cap ? r->grants_cap * 2 : 16;
		aiss_report_grant *ng = realloc(r->grants, nc * sizeof(*ng));
		if (!ng)
			return -1;
		r->grants = ng;
		grant_meta *nm = realloc(r->gmeta, nc * sizeof(*nm));
		if (!nm)
			return -1;
		r->gmeta = nm;
		r->grants_cap = nc;
	}
	aiss_report_grant *g = &r->grants[r->n_grants];
	memset(g, 0, sizeof(*g));
	snprintf(g->id, sizeof(g->id), "%s", id);
	snprintf(g->institution, sizeof(g->institution), "%s",
		 inst ? inst : "");
	g->inst_type = type;
	memset(&r->gmeta[r->n_grants], 0, sizeof(*r->gmeta));
	r->gmap[j] = (int32_t)r->n_grants;
	r->n_grants++;
	if (r->n_grants * 2 > r->gmap_cap &&
	    grants_rehash(r, r->gmap_cap * 2) < 0)
		return -1;
	return (long)r->n_grants - 1;
}

/* ---- accumulation ---- */

static void totals_add_share(aiss_report_totals *t, const aiss_period_share *s,
			     int node_fail)
{
	t->subsidy += s->subsidy;
	t->expenditure += s->subsidy;
	t->list_cost += s->list_cost;
	t->copay += s->copay;
	if (!node_fail)
		t->gpu_seconds += s->gpu_seconds;
	t->runs++;
	if (node_fail)
		t->node_fail_runs++;
}

static void totals_add_adj(aiss_report_totals *t, aiss_cents_t amount)
{
	t->adjustments += amount;
	t->expenditure -= amount;
}

static int is_node_fail(const aiss_charge_rec *c)
{
	return strncmp(c->end_state, "NODE_FAIL", 9) == 0;
}

/* Part of @amount falling in [lo, hi) of a run [start, end) by seconds
 * (round half up); the whole amount when start == end lies inside. */
static aiss_cents_t prorate(aiss_cents_t amount, aiss_time_t start,
			    aiss_time_t end, aiss_time_t lo, aiss_time_t hi)
{
	if (end <= start)
		return (start >= lo && start < hi) ? amount : 0;
	aiss_time_t a = start > lo ? start : lo;
	aiss_time_t b = end < hi ? end : hi;
	if (b <= a)
		return 0;
	if (a == start && b == end)
		return amount;
	int64_t out = 0;
	int neg = amount < 0;
	if (aiss_muldiv_round(neg ? -amount : amount, b - a, end - start,
			      &out) < 0)
		return 0;
	return neg ? -out : out;
}

static int hist_index(const aiss_report *r, int qi)
{
	if (qi < r->hist_lo || qi >= r->hist_lo + (int)r->n_hist)
		return -1;
	return qi - r->hist_lo;
}

static int cmp_grant(const void *a, const void *b)
{
	const aiss_report_grant *x = a, *y = b;
	if (x->period.expenditure != y->period.expenditure)
		return x->period.expenditure > y->period.expenditure ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* ---- forecast ---- */

static void forecast(aiss_report *r, const aiss_report_input *in)
{
	aiss_report_forecast *f = &r->fc;
	aiss_time_t now = f->as_of;
	aiss_time_t end = f->scheme_end;
	int64_t left = end > now ? end - now : 0;
	int64_t t = f->trailing_s;
	aiss_cents_t more = 0, grant_more_total = 0;

	if (f->trailing_spend > 0 && left > 0 &&
	    aiss_muldiv_round(f->trailing_spend, left, t, &more) < 0)
		more = 0;
	f->burn_projection = f->spent_to_date + more;

	for (size_t g = 0; g < r->n_grants; g++) {
		aiss_report_grant *rg = &r->grants[g];
		grant_meta *m = &r->gmeta[g];
		aiss_cents_t rem = rg->approved_subsidy - m->spent_as_of;
		aiss_time_t ws = m->window_start > now ? m->window_start : now;
		aiss_time_t we =
		    m->window_end && m->window_end < end ? m->window_end : end;
		aiss_cents_t g_more = 0;
		if (m->closed || rem <= 0 || we <= ws) {
			rg->forecast_more = 0;
			continue;
		}
		if (m->trailing > 0) {
			if (aiss_muldiv_round(m->trailing, we - ws, t,
					      &g_more) < 0)
				g_more = rem;
		} else if (m->window_start > now - t &&
			   m->window_end > m->window_start) {
			/* A new grant with no history yet: its remaining
			 * approval spread evenly over the rest of its window */
			aiss_time_t span =
			    m->window_end -
			    (m->window_start > now ? m->window_start : now);
			if (span > 0 &&
			    aiss_muldiv_round(rem, we - ws, span, &g_more) < 0)
				g_more = rem;
		}
		if (g_more > rem)
			g_more = rem;
		rg->forecast_more = g_more;
		grant_more_total += g_more;
	}
	f->grant_projection = f->spent_to_date + grant_more_total;
	f->available = r->sum.commitment - r->sum.earmarked;
	f->approved_total = r->sum.approved_total;

	char a[AISS_MONEY_BUFSZ], b[AISS_MONEY_BUFSZ], d[AISS_TIME_BUFSZ];
	f->warning[0] = 0;
	if (f->burn_projection > f->available ||
	    f->grant_projection > f->available) {
		f->exceeds = 1;
		aiss_time_t out_at = 0;
		aiss_cents_t room = f->available - f->spent_to_date;
		int64_t secs = 0;
		if (room <= 0)
			out_at = now;
		else if (f->trailing_spend > 0 &&
			 aiss_muldiv_round(room, t, f->trailing_spend, &secs) ==
			     0)
			out_at = now + secs;
		aiss_money_format(f->burn_projection > f->grant_projection
				      ? f->burn_projection
				      : f->grant_projection,
				  true, a, sizeof(a));
		aiss_money_format(f->available, true, b, sizeof(b));
		if (out_at)
			aiss_time_format_short(out_at, d, sizeof(d));
		snprintf(f->warning, sizeof(f->warning),
			 "projected expenditure HK$%s would exceed the "
			 "commitment available (HK$%s)%s%s: review approvals "
			 "or earmarks",
			 a, b,
			 out_at ? "; at the trailing rate it runs out "
				  "around "
				: "",
			 out_at ? d : "");
	} else if (f->available > 0) {
		aiss_cents_t unspent = f->available - f->grant_projection;
		int64_t pct = 0;
		aiss_muldiv_round(unspent > 0 ? unspent : 0, 100, f->available,
				  &pct);
		if (pct > UNDERSPEND_PCT) {
			f->underspend = 1;
			aiss_money_format(unspent, true, a, sizeof(a));
			snprintf(f->warning, sizeof(f->warning),
				 "HK$%s (%" PRId64
				 "%%) of the commitment would "
				 "be left unspent at the scheme's end at the "
				 "trailing rate: consider new approvals",
				 a, pct);
		}
	}
	(void)in;
}

/* ---- compute ---- */

aiss_report *aiss_report_compute(const aiss_report_input *in,
				 const aiss_report_opts *opts, aiss_error *err)
{
	aiss_report *r = NULL;
	aiss_period_share sh[AISS_SPLIT_MAX];

	if (!in || !in->scheme || !opts || opts->fy < 1970 || opts->fy > 9000 ||
	    opts->quarter < 0 || opts->quarter > 4) {
		aiss_error_set(err, AISS_E_INVALID,
			       "report: a fiscal year (e.g. 2025-26) and a "
			       "quarter Q1..Q4 (or none) are needed");
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		goto nomem;
	aiss_report_summary *s = &r->sum;
	s->fy = opts->fy;
	s->quarter = opts->quarter;
	s->period_start = opts->quarter
			      ? aiss_quarter_start(opts->fy, opts->quarter)
			      : aiss_fy_start(opts->fy);
	s->period_end = opts->quarter
			    ? aiss_quarter_start(opts->fy, opts->quarter + 1)
			    : aiss_quarter_start(opts->fy, 5);
	s->commitment = in->scheme->commitment;
	s->earmarked = in->scheme->earmarked;
	r->by = opts->by;
	snprintf(r->scheme_name, sizeof(r->scheme_name), "%s",
		 in->scheme->name);

	const int fy_q0 = aiss_quarter_index(opts->fy, 1);
	const int p_lo = opts->quarter ? fy_q0 + opts->quarter - 1 : fy_q0;
	const int p_hi = opts->quarter ? p_lo : fy_q0 + 3;

	/* The scheme's life, for the burn-down; three years from April 2024
	 * when the scheme carries no dates. */
	aiss_time_t sch_start = in->scheme->start, sch_end = in->scheme->end;
	if (sch_end <= sch_start) {
		sch_start = aiss_fy_start(2024);
		sch_end = aiss_fy_start(2027);
	}
	int fyq, qq;
	aiss_quarter_of(sch_start, &fyq, &qq);
	r->hist_lo = aiss_quarter_index(fyq, qq);
	aiss_quarter_of(sch_end - 1, &fyq, &qq);
	int hist_hi = aiss_quarter_index(fyq, qq);
	if (hist_hi < r->hist_lo || hist_hi - r->hist_lo > 400)
		hist_hi = r->hist_lo;
	r->n_hist = (size_t)(hist_hi - r->hist_lo + 1);
	r->hist = calloc(r->n_hist, sizeof(*r->hist));
	if (!r->hist)
		goto nomem;
	for (size_t i = 0; i < r->n_hist; i++) {
		int qi = r->hist_lo + (int)i;
		r->hist[i].fy = qi / 4;
		r->hist[i].quarter = qi % 4 + 1;
	}

	aiss_report_forecast *f = &r->fc;
	f->as_of = opts->as_of && opts->as_of < s->period_end ? opts->as_of
							      : s->period_end;
	f->trailing_s =
	    opts->trailing_s > 0 ? opts->trailing_s : DEFAULT_TRAILING_S;
	f->scheme_end = sch_end;
	const aiss_time_t tr_lo = f->as_of - f->trailing_s;
	const int asof_at_end = f->as_of == s->period_end;

	/* Grants first, so unknown ids in charges still get a line. */
	if (grants_rehash(r, 64) < 0)
		goto nomem;
	for (size_t i = 0; i < in->n_grants; i++) {
		const aiss_grant *g = &in->grants[i];
		long gi = grant_index(r, g->id, g->institution, g->inst_type);
		if (gi < 0)
			goto nomem;
		r->grants[gi].approved_subsidy += g->approved_subsidy;
		r->gmeta[gi].window_start = g->window_start;
		r->gmeta[gi].window_end = g->window_end;
		r->gmeta[gi].closed = g->state == AISS_GRANT_CLOSED;
		s->approved_total += g->approved_subsidy;
	}

	aiss_cents_t hist_before = 0; /* spend before the scheme's first qtr */
	for (size_t i = 0; i < in->n_charges; i++) {
		const aiss_charge_rec *c = &in->charges[i];
		size_t n = 0;
		int nf = is_node_fail(c);
		long gi =
		    grant_index(r, c->grant_id, c->institution, c->inst_type);
		if (gi < 0)
			goto nomem;
		aiss_report_grant *rg = &r->grants[gi];
		aiss_inst_type type =
		    rg->inst_type ? rg->inst_type : c->inst_type;
		if ((int)type < 0 || (int)type >= AISS_INST__COUNT)
			type = AISS_INST_UNKNOWN;
		if (aiss_policy_split(c->start, c->end, c->gpus, &c->charge, sh,
				      AISS_SPLIT_MAX, &n, err) < 0) {
			char k[AISS_ID_MAX + 48];
			aiss_run_key_format(&c->key, k, sizeof(k));
			aiss_error_set(err, AISS_E_INVALID,
				       "report: charge of run %s cannot be "
				       "split into quarters: %s",
				       k, err ? err->text : "");
			goto error;
		}
		for (size_t j = 0; j < n; j++) {
			int qi = aiss_quarter_index(sh[j].fy, sh[j].quarter);
			if (qi > p_hi)
				continue;
			if (qi < fy_q0) {
				s->cumulative_before += sh[j].subsidy;
			} else {
				totals_add_share(&s->fy_total, &sh[j], nf);
				totals_add_share(&r->quarters[qi - fy_q0],
						 &sh[j], nf);
				r->q_type[qi - fy_q0][type] += sh[j].subsidy;
			}
			if (qi >= p_lo) {
				totals_add_share(&s->period, &sh[j], nf);
				totals_add_share(&r->types[type], &sh[j], nf);
				totals_add_share(&rg->period, &sh[j], nf);
			}
			rg->spent_to_date += sh[j].subsidy;
			int h = hist_index(r, qi);
			if (h >= 0)
				r->hist[h].expenditure += sh[j].subsidy;
			else if (qi < r->hist_lo)
				hist_before += sh[j].subsidy;
		}
		/* The forecast's view: spend to as_of and in the trailing
		 * window (pro rata by seconds). */
		aiss_cents_t tr = prorate(c->charge.subsidy, c->start, c->end,
					  tr_lo, f->as_of);
		f->trailing_spend += tr;
		r->gmeta[gi].trailing += tr;
		if (!asof_at_end) {
			aiss_cents_t sp =
			    prorate(c->charge.subsidy, c->start, c->end,
				    INT64_MIN / 2, f->as_of);
			f->spent_to_date += sp;
			r->gmeta[gi].spent_as_of += sp;
		}
	}

	for (size_t i = 0; i < in->n_adjustments; i++) {
		const aiss_adjustment *a = &in->adjustments[i];
		long gi = grant_index(r, a->grant_id, NULL, AISS_INST_UNKNOWN);
		if (gi < 0)
			goto nomem;
		aiss_report_grant *rg = &r->grants[gi];
		aiss_inst_type type = rg->inst_type;
		if ((int)type < 0 || (int)type >= AISS_INST__COUNT)
			type = AISS_INST_UNKNOWN;
		int afy, aq;
		aiss_quarter_of(a->at, &afy, &aq);
		int qi = aiss_quarter_index(afy, aq);
		if (!asof_at_end && a->at < f->as_of) {
			f->spent_to_date -= a->amount;
			r->gmeta[gi].spent_as_of -= a->amount;
		}
		if (qi > p_hi)
			continue;
		if (qi < fy_q0) {
			s->cumulative_before -= a->amount;
		} else {
			totals_add_adj(&s->fy_total, a->amount);
			totals_add_adj(&r->quarters[qi - fy_q0], a->amount);
			r->q_type[qi - fy_q0][type] -= a->amount;
		}
		if (qi >= p_lo) {
			totals_add_adj(&s->period, a->amount);
			totals_add_adj(&r->types[type], a->amount);
			totals_add_adj(&rg->period, a->amount);
		}
		rg->spent_to_date -= a->amount;
		int h = hist_index(r, qi);
		if (h >= 0)
			r->hist[h].expenditure -= a->amount;
		else if (qi < r->hist_lo)
			hist_before -= a->amount;
	}

	s->fy_expenditure = s->fy_total.expenditure;
	s->balance = s->commitment - s->cumulative_before - s->fy_expenditure;

	aiss_cents_t run = hist_before;
	for (size_t i = 0; i < r->n_hist; i++) {
		int qi = r->hist_lo + (int)i;
		run += r->hist[i].expenditure;
		r->hist[i].remaining_after = s->commitment - run;
		r->hist[i].actual =
		    qi <= p_hi &&
		    aiss_quarter_start(qi / 4, qi % 4 + 1) < f->as_of;
	}

	for (size_t g = 0; g < r->n_grants; g++) {
		aiss_report_grant *rg = &r->grants[g];
		rg->remaining = rg->approved_subsidy - rg->spent_to_date;
		if (asof_at_end)
			r->gmeta[g].spent_as_of = rg->spent_to_date;
	}
	if (asof_at_end)
		f->spent_to_date = s->cumulative_before + s->fy_expenditure;
	forecast(r, in);

	/* Sort grants (their metadata travels with them no further). */
	if (r->n_grants)
		qsort(r->grants, r->n_grants, sizeof(*r->grants), cmp_grant);
	free(r->gmap);
	r->gmap = NULL;
	free(r->gmeta);
	r->gmeta = NULL;
	return r;

nomem:
	aiss_error_set(err, AISS_E_INTERNAL, "report: out of memory");
error:
	aiss_report_destroy(r);
	return NULL;
}

void aiss_report_destroy(aiss_report *r)
{
	if (!r)
		return;
	free(r->grants);
	free(r->gmap);
	free(r->gmeta);
	free(r->hist);
	free(r);
}

const aiss_report_summary *aiss_report_summary_get(const aiss_report *r)
{
	return &r->sum;
}

const aiss_report_totals *aiss_report_quarter(const aiss_report *r, int q)
{
	if (q < 1 || q > 4)
		return NULL;
	return &r->quarters[q - 1];
}

const aiss_report_totals *aiss_report_by_type(const aiss_report *r,
					      aiss_inst_type t)
{
	if ((int)t < 0 || (int)t >= AISS_INST__COUNT)
		return NULL;
	return &r->types[t];
}

aiss_cents_t aiss_report_quarter_type(const aiss_report *r, int q,
				      aiss_inst_type t)
{
	if (q < 1 || q > 4 || (int)t < 0 || (int)t >= AISS_INST__COUNT)
		return 0;
	return r->q_type[q - 1][t];
}

const aiss_report_grant *aiss_report_grants(const aiss_report *r, size_t *n)
{
	*n = r->n_grants;
	return r->grants;
}

const aiss_report_forecast *aiss_report_forecast_get(const aiss_report *r)
{
	return &r->fc;
}

const aiss_report_history *aiss_report_history_get(const aiss_report *r,
						   size_t *n)
{
	*n = r->n_hist;
	return r->hist;
}

char *aiss_report_gpu_hours(int64_t gpu_seconds, char *buf, size_t len)
{
	int64_t h = 0;
	int neg = gpu_seconds < 0;
	aiss_muldiv_round(neg ? -gpu_seconds : gpu_seconds, 1, 36, &h);
	snprintf(buf, len, "%s%" PRId64 ".%02" PRId64, neg ? "-" : "", h / 100,
		 h % 100);
	return buf;
}

char *aiss_report_thousands(aiss_cents_t c, char *buf, size_t len)
{
	int64_t k = 0;
	char m[AISS_MONEY_BUFSZ];
	int neg = c < 0;
	if (aiss_muldiv_round(neg ? -c : c, 1, 100000, &k) < 0)
		k = 0;
	if (k == 0) {
		snprintf(buf, len, "nil");
		return buf;
	}
	/* group the whole number via the money formatter (k dollars) */
	aiss_money_format(k * 100, true, m, sizeof(m));
	m[strcspn(m, ".")] = 0;
	snprintf(buf, len, "%s%s", neg ? "-" : "", m);
	return buf;
}
