/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ledger_run.c: quote, reserve (lien), settle (charge), release, balances and
 * the charge export: the run lifecycle of policy items 3-9. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_int.h"

static const char *money(aiss_cents_t c, char *buf)
{
	return aiss_money_format(c, true, buf, AISS_MONEY_BUFSZ);
}

/* "1d 02:03:04" / "02:03:04" for a duration in seconds. */
static const char *duration(int64_t s, char *buf, size_t len)
{
	int64_t d = s / 86400;

	s %= 86400;
	if (d)
		ledger_fmt(buf, len,
			   "%" PRId64 "-%02" PRId64 ":%02" PRId64 ":%02" PRId64,
			   d, s / 3600, s / 60 % 60, s % 60);
	else
		ledger_fmt(buf, len, "%02" PRId64 ":%02" PRId64 ":%02" PRId64,
			   s / 3600, s / 60 % 60, s % 60);
	return buf;
}

static aiss_cents_t grant_available(const ledger_grant *g)
{
	return g->g.approved_subsidy - g->charged - g->held + g->adjustments;
}

static int check_key(const aiss_run_key *k, aiss_error *err)
{
	if (ledger_check_id(k->cluster, "cluster name", err))
		return -1;
	if (k->job_id == 0 || k->job_id > INT64_MAX)
		return aiss_error_set(err, AISS_E_INVALID,
				      "job id %" PRIu64 " is out of range",
				      k->job_id);
	if (k->run_start <= 0)
		return aiss_error_set(err, AISS_E_INVALID,
				      "run start %" PRId64 " of job %" PRIu64
				      " is not a valid instant",
				      (int64_t)k->run_start, k->job_id);
	return 0;
}

static int check_shape(const aiss_job_shape *s, aiss_error *err)
{
	if (ledger_check_id(s->account, "Slurm account", err) ||
	    ledger_check_id(s->user, "user", err))
		return -1;
	if (s->gpu_type[0] && ledger_check_id(s->gpu_type, "GPU type", err))
		return -1;
	if (s->gpus <= 0 || s->gpus > AISS_GPUS_LIMIT)
		return aiss_error_set(err, AISS_E_INVALID,
				      "a job asks for %" PRId64 " GPUs; give 1 "
				      "to %d",
				      s->gpus, AISS_GPUS_LIMIT);
	if (s->time_limit <= 0 || s->time_limit > AISS_DURATION_LIMIT)
		return aiss_error_set(err, AISS_E_INVALID,
				      "time limit of %" PRId64 " seconds is "
				      "out of range; give 1 s to 10 years",
				      s->time_limit);
	if (s->count < 0 || s->count > AISS_GPUS_LIMIT)
		return aiss_error_set(err, AISS_E_INVALID,
				      "job-array count %" PRId64 " is out of "
				      "range",
				      s->count);
	if (s->start < 0)
		return aiss_error_set(err, AISS_E_INVALID,
				      "start instant %" PRId64 " is negative",
				      (int64_t)s->start);
	return 0;
}

/* First element of comma list @list into @out. */
static void first_item(const char *list, char *out, size_t len)
{
	size_t n = strcspn(list, ",");

	if (n >= len)
		n = len - 1;
	memcpy(out, list, n);
	out[n] = '\0';
}

static aiss_grant_terms grant_terms(const ledger_grant *g, aiss_cents_t rem)
{
	aiss_grant_terms t = {
	    .rate_bp = g->g.rate_bp,
	    .window_start = g->g.window_start,
	    .window_end = g->g.window_end,
	    .remaining_subsidy = rem,
	};
	return t;
}

static void verdict(aiss_quote *q, aiss_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void verdict(aiss_quote *q, aiss_status code, const char *fmt, ...)
{
	va_list ap;

	q->verdict = code;
	va_start(ap, fmt);
	vsnprintf(q->reason, sizeof(q->reason), fmt, ap);
	va_end(ap);
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Fills q->fit_time_limit, fit_gpus and fit_count: what would fit now. */
static void compute_fits(const ledger_grant *g, const aiss_job_shape *s,
			 aiss_time_t start, aiss_quote *q)
{
	const aiss_grant *gr = &g->g;
	aiss_cents_t avail = q->available;
	aiss_grant_terms terms = grant_terms(g, avail);
	int64_t count = s->count > 1 ? s->count : 1;
	int64_t gpu_room = AISS_GPUS_LIMIT, gs_room = INT64_MAX;
	int64_t need_gs = s->gpus * s->time_limit;
	int64_t max_limit;

	if (gr->max_concurrent_gpus > 0)
		gpu_room = gr->max_concurrent_gpus - g->held_gpus;
	if (gpu_room < 0)
		gpu_room = 0;
	if (gr->approved_gpu_seconds > 0) {
		gs_room = gr->approved_gpu_seconds - g->used_gpu_seconds -
			  g->held_gpu_seconds;
		if (gs_room < 0)
			gs_room = 0;
	}
	max_limit = gr->window_end - start;
	if (max_limit < s->time_limit)
		max_limit = s->time_limit;
	max_limit = min64(max_limit, AISS_DURATION_LIMIT);
	q->fit_time_limit = avail > 0
				? aiss_policy_max_time(s->gpus, start, q->price,
						       &terms, avail, max_limit)
				: 0;
	if (gs_room != INT64_MAX)
		q->fit_time_limit = min64(q->fit_time_limit, gs_room / s->gpus);
	if (s->gpus > gpu_room)
		q->fit_time_limit = 0;
	if (q->fit_time_limit >= 60)
		q->fit_time_limit -= q->fit_time_limit % 60;
	q->fit_gpus = avail > 0
			  ? aiss_policy_max_gpus(s->time_limit, start, q->price,
						 &terms, avail, gpu_room)
			  : 0;
	if (gs_room != INT64_MAX)
		q->fit_gpus = min64(q->fit_gpus, gs_room / s->time_limit);
	if (q->worst.subsidy > 0)
		q->fit_count =
		    avail > 0 ? min64(count, avail / q->worst.subsidy) : 0;
	else
		q->fit_count = count;
	if (gs_room != INT64_MAX)
		q->fit_count = min64(q->fit_count, gs_room / need_gs);
	if (s->gpus > gpu_room)
		q->fit_count = 0;
}

/*
 * The admission rules: prices shape @s (start @start, @count elements)
 * against grant @g and fills @q (verdict, reason, worst case; the fits when
 * @want_fits or refused). Returns -1 only on a hard error (storage, invalid
 * arithmetic).
 */
static int admit(aiss_ledger *l, const ledger_grant *g, const aiss_job_shape *s,
		 aiss_time_t start, int want_fits, aiss_quote *q,
		 aiss_error *err)
{
	const aiss_grant *gr = &g->g;
	aiss_grant_terms terms;
	aiss_cents_t avail = grant_available(g);
	int64_t count = s->count > 1 ? s->count : 1;
	int64_t gpu_room = AISS_GPUS_LIMIT, gs_room = INT64_MAX;
	int64_t need_gs;
	char a[AISS_MONEY_BUFSZ], b[AISS_MONEY_BUFSZ], c[AISS_MONEY_BUFSZ];
	char d[AISS_MONEY_BUFSZ], e[AISS_MONEY_BUFSZ], f[AISS_MONEY_BUFSZ];
	char t1[AISS_TIME_BUFSZ], t2[AISS_TIME_BUFSZ], du[32];
	int member;

	memset(q, 0, sizeof(*q));
	ledger_fmt(q->grant_id, sizeof(q->grant_id), "%s", gr->id);
	q->rate_bp = gr->rate_bp;
	q->available = avail;
	q->verdict = AISS_OK;
	if (s->gpu_type[0])
		ledger_fmt(q->gpu_type, sizeof(q->gpu_type), "%s", s->gpu_type);
	else
		first_item(gr->gpu_types, q->gpu_type, sizeof(q->gpu_type));

	if (gr->max_concurrent_gpus > 0)
		gpu_room = gr->max_concurrent_gpus - g->held_gpus;
	if (gpu_room < 0)
		gpu_room = 0;
	if (gr->approved_gpu_seconds > 0) {
		gs_room = gr->approved_gpu_seconds - g->used_gpu_seconds -
			  g->held_gpu_seconds;
		if (gs_room < 0)
			gs_room = 0;
	}

	member = aiss_ledger_grant_is_member(l, gr->id, s->user);
	if (member < 0)
		return aiss_error_set(err, AISS_E_STORAGE,
				      "ledger: reading grant members failed");
	if (!member) {
		verdict(q, AISS_E_NOT_MEMBER,
			"user %s is not a member of grant %s (Slurm account "
			"%s); ask the grant's principal investigator to have "
			"the scheme administrator add you",
			s->user, gr->id, s->account);
		return 0;
	}
	if (gr->state != AISS_GRANT_ACTIVE) {
		verdict(q, AISS_E_GRANT_INACTIVE,
			"grant %s is %s; no new jobs may start until the "
			"scheme administrator resumes it "
			"(`aissctl grant resume %s`)",
			gr->id, aiss_grant_state_name(gr->state), gr->id);
		return 0;
	}
	if (start < gr->window_start || start >= gr->window_end) {
		int early = start < gr->window_start;

		verdict(q, AISS_E_OUTSIDE_WINDOW,
			"grant %s %s: its window is %s to %s and the job would "
			"start at %s; %s",
			gr->id, early ? "has not started yet" : "has expired",
			aiss_time_format_hkt(gr->window_start, t1, sizeof(t1)),
			aiss_time_format_hkt(gr->window_end, t2, sizeof(t2)),
			aiss_time_format_hkt(start, a, sizeof(a)),
			early ? "submit again once the window opens"
			      : "ask the scheme administrator to extend the "
				"window (`aissctl grant modify`)");
		return 0;
	}
	if (!aiss_list_contains(gr->gpu_types, q->gpu_type)) {
		verdict(q, AISS_E_GPU_TYPE,
			"GPU type %s is not approved for grant %s (approved: "
			"%s); request one of those types",
			q->gpu_type, gr->id, gr->gpu_types);
		return 0;
	}
	if (aiss_ledger_price_at(l, q->gpu_type, start, &q->price, err)) {
		if (err && err->code == AISS_E_NO_PRICE) {
			verdict(q, AISS_E_NO_PRICE, "grant %s: %s", gr->id,
				err->text);
			aiss_error_clear(err);
			return 0;
		}
		return -1;
	}
	terms = grant_terms(g, avail);
	if (aiss_policy_worst_case(s->gpus, s->time_limit, start, q->price,
				   &terms, &q->worst, err))
		return -1;
	if (__builtin_mul_overflow(q->worst.subsidy, count,
				   &q->worst_subsidy_total))
		q->worst_subsidy_total = INT64_MAX;

	need_gs = s->gpus * s->time_limit; /* both bounded: no overflow */
	/* The fits are searches: only for quotes and refusals. */
	if (want_fits ||
	    (gr->max_concurrent_gpus > 0 &&
	     g->held_gpus + s->gpus > gr->max_concurrent_gpus) ||
	    q->worst_subsidy_total > avail ||
	    (gs_room != INT64_MAX && need_gs > gs_room / count))
		compute_fits(g, s, start, q);

	if (gr->max_concurrent_gpus > 0 &&
	    g->held_gpus + s->gpus > gr->max_concurrent_gpus) {
		verdict(
		    q, AISS_E_CONCURRENCY,
		    "grant %s may run at most %d GPUs at once; %" PRId64
		    " are held by running jobs and this job asks for %" PRId64
		    "; wait for running jobs to finish or ask for at most "
		    "%" PRId64 " GPUs",
		    gr->id, gr->max_concurrent_gpus, g->held_gpus, s->gpus,
		    gpu_room);
		return 0;
	}
	if (q->worst_subsidy_total > avail) {
		verdict(
		    q, AISS_E_INSUFFICIENT,
		    "grant %s cannot cover this job: its worst case "
		    "(%" PRId64 " x %" PRId64 " %s GPUs for %s at HK$%s "
		    "per GPU-hour, %d.%02d%% subsidy) is HK$%s of subsidy "
		    "but only HK$%s is available (approved HK$%s - charged "
		    "HK$%s - held HK$%s + adjustments HK$%s); a time limit "
		    "of %s or %" PRId64 " GPUs would fit, or ask the scheme "
		    "administrator to top up the grant",
		    gr->id, count, s->gpus, q->gpu_type,
		    duration(s->time_limit, du, sizeof(du)), money(q->price, a),
		    gr->rate_bp / 100, gr->rate_bp % 100,
		    money(q->worst_subsidy_total, b), money(avail, c),
		    money(gr->approved_subsidy, d), money(g->charged, e),
		    money(g->held, f), money(g->adjustments, t1),
		    duration(q->fit_time_limit, t2, sizeof(t2)), q->fit_gpus);
		return 0;
	}
	if (gs_room != INT64_MAX && need_gs > gs_room / count) {
		verdict(
		    q, AISS_E_GPU_HOURS,
		    "grant %s: this job's %" PRId64 " GPU-hours (%" PRId64
		    " GPUs x %s%s) exceed the %" PRId64 " GPU-hours left of "
		    "the %" PRId64 " approved (%" PRId64 " used, %" PRId64
		    " held); shorten the time limit to %s or ask the scheme "
		    "administrator for more GPU-hours",
		    gr->id, (need_gs * count + 3599) / 3600, s->gpus,
		    duration(s->time_limit, du, sizeof(du)),
		    count > 1 ? " per element" : "", gs_room / 3600,
		    gr->approved_gpu_seconds / 3600, g->used_gpu_seconds / 3600,
		    g->held_gpu_seconds / 3600,
		    duration(q->fit_time_limit, t2, sizeof(t2)));
		return 0;
	}
	return 0;
}

static int grant_for_account(aiss_ledger *l, const char *account,
			     ledger_grant *g, aiss_error *err)
{
	int found = ledger_grant_read(l, S_GRANT_BY_ACCOUNT, account, g, err);

	if (found < 0)
		return -1;
	if (!found)
		return aiss_error_set(
		    err, AISS_E_UNKNOWN_ACCOUNT,
		    "no AISS grant pays for Slurm account %s; "
		    "submit with your project's account "
		    "(`aissctl balance` lists yours) or ask "
		    "the scheme administrator to add it to "
		    "the grant",
		    account);
	return 0;
}

int aiss_ledger_quote(aiss_ledger *l, const aiss_job_shape *shape,
		      aiss_quote *out, aiss_error *err)
{
	ledger_grant g;
	aiss_time_t start;

	if (check_shape(shape, err))
		return -1;
	start = shape->start ? shape->start : ledger_now(l);
	if (grant_for_account(l, shape->account, &g, err))
		return -1;
	return admit(l, &g, shape, start, 1, out, err);
}

/* ---- liens ---- */

static void bind_key(sqlite3_stmt *st, const aiss_run_key *k)
{
	sqlite3_bind_text(st, 1, k->cluster, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)k->job_id);
	sqlite3_bind_int64(st, 3, k->run_start);
}

void ledger_lien_cols(sqlite3_stmt *st, aiss_lien *n, char *account,
		      size_t account_len, char *user, size_t user_len)
{
	ledger_col_text(st, 0, n->key.cluster, sizeof(n->key.cluster));
	n->key.job_id = (uint64_t)sqlite3_column_int64(st, 1);
	n->key.run_start = sqlite3_column_int64(st, 2);
	ledger_col_text(st, 3, n->grant_id, sizeof(n->grant_id));
	ledger_col_text(st, 4, account, account_len);
	ledger_col_text(st, 5, user, user_len);
	ledger_col_text(st, 6, n->gpu_type, sizeof(n->gpu_type));
	n->gpus = sqlite3_column_int64(st, 7);
	n->time_limit = sqlite3_column_int64(st, 8);
	n->price = sqlite3_column_int64(st, 9);
	n->held_subsidy = sqlite3_column_int64(st, 10);
	n->state = (aiss_lien_state)sqlite3_column_int(st, 11);
}

typedef struct lien_row {
	aiss_lien lien;
	char account[AISS_ID_MAX];
	char user[AISS_ID_MAX];
} lien_row;

/* 1 found, 0 not, -1 error. */
static int lien_read(aiss_ledger *l, const aiss_run_key *k, lien_row *out,
		     aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_LIEN_GET, err);
	aiss_lien *n = &out->lien;
	int rc;

	if (!st)
		return -1;
	bind_key(st, k);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		ledger_lien_cols(st, n, out->account, sizeof(out->account),
				 out->user, sizeof(out->user));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return ledger_sql_error(l, rc, "reading the lien", err);
}

/* Fills @r from a row of CHARGE_COLS, with its corrections applied (the
 * charge as it stands); *full (may be NULL) gets the uncapped subsidy. */
static void charge_from_row(sqlite3_stmt *st, aiss_charge_rec *r,
			    aiss_cents_t *full)
{
	aiss_cents_t uncapped, corr;

	memset(r, 0, sizeof(*r));
	ledger_col_text(st, 0, r->key.cluster, sizeof(r->key.cluster));
	r->key.job_id = (uint64_t)sqlite3_column_int64(st, 1);
	r->key.run_start = sqlite3_column_int64(st, 2);
	ledger_col_text(st, 3, r->grant_id, sizeof(r->grant_id));
	ledger_col_text(st, 4, r->account, sizeof(r->account));
	ledger_col_text(st, 5, r->user, sizeof(r->user));
	ledger_col_text(st, 6, r->gpu_type, sizeof(r->gpu_type));
	ledger_col_text(st, 7, r->institution, sizeof(r->institution));
	r->inst_type = (aiss_inst_type)sqlite3_column_int(st, 8);
	r->gpus = sqlite3_column_int64(st, 9);
	r->start = r->key.run_start;
	r->end = sqlite3_column_int64(st, 10);
	ledger_col_text(st, 11, r->end_state, sizeof(r->end_state));
	r->price = sqlite3_column_int64(st, 12);
	r->rate_bp = sqlite3_column_int(st, 13);
	r->charge.gpu_seconds = sqlite3_column_int64(st, 14);
	r->charge.run_seconds = sqlite3_column_int64(st, 15);
	r->charge.in_window_seconds = sqlite3_column_int64(st, 16);
	r->charge.list_cost = sqlite3_column_int64(st, 17);
	r->charge.in_window_cost = sqlite3_column_int64(st, 18);
	r->charge.subsidy = sqlite3_column_int64(st, 19);
	r->charge.copay = sqlite3_column_int64(st, 20);
	r->charge.capped = sqlite3_column_int(st, 21) != 0;
	r->settled_at = sqlite3_column_int64(st, 22);
	r->journal_seq = sqlite3_column_int64(st, 23);
	uncapped = sqlite3_column_int64(st, 24);
	corr = sqlite3_column_int64(st, 25);
	if (corr) {
		r->charge.subsidy += corr;
		r->charge.copay -= corr;
		r->charge.capped = r->charge.subsidy < uncapped;
	}
	if (full)
		*full = uncapped;
}

/* 1 found, 0 not, -1 error. */
static int charge_read(aiss_ledger *l, const aiss_run_key *k,
		       aiss_charge_rec *out, aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_CHARGE_GET, err);
	int rc;

	if (!st)
		return -1;
	bind_key(st, k);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		charge_from_row(st, out, NULL);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return ledger_sql_error(l, rc, "reading the charge", err);
}

int ledger_grant_hold(aiss_ledger *l, const char *grant_id, aiss_cents_t held,
		      int64_t gpus, int64_t gpu_seconds, int64_t n,
		      aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_GRANT_HOLD, err);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, grant_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, held);
	sqlite3_bind_int64(st, 3, gpus);
	sqlite3_bind_int64(st, 4, gpu_seconds);
	sqlite3_bind_int64(st, 5, n);
	ledger_cache_expect(l, 1);
	if (ledger_step_done(l, st, "updating the grant's holds", err)) {
		ledger_cache_expect(l, 0);
		return -1;
	}
	ledger_cache_expect(l, 0);
	ledger_cache_hold(l, grant_id, held, gpus, gpu_seconds, n);
	return 0;
}

int ledger_lien_set_state(aiss_ledger *l, const aiss_run_key *k,
			  aiss_lien_state state, aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_LIEN_SET_STATE, err);

	if (!st)
		return -1;
	bind_key(st, k);
	sqlite3_bind_int(st, 4, state);
	return ledger_step_done(l, st, "updating the lien", err);
}

int aiss_ledger_reserve(aiss_ledger *l, const aiss_reserve_req *req,
			const char *actor, aiss_lien *out, aiss_error *err)
{
	const aiss_run_key *k = &req->key;
	aiss_job_shape shape = req->shape;
	char keybuf[AISS_ID_MAX + 48], detail[AISS_TEXT_MAX];
	char m[AISS_MONEY_BUFSZ];
	ledger_grant g;
	lien_row prev;
	aiss_charge_rec *chg = NULL;
	aiss_quote q;
	aiss_lien n;
	sqlite3_stmt *st;
	int found;

	shape.start = k->run_start;
	shape.count = 1;
	if (check_key(k, err) || check_shape(&shape, err))
		return -1;
	aiss_run_key_format(k, keybuf, sizeof(keybuf));
	if (ledger_op_begin(l, err))
		return -1;
	found = lien_read(l, k, &prev, err);
	if (found < 0)
		goto fail;
	if (found) {
		if (strcmp(prev.account, shape.account) != 0 ||
		    prev.lien.gpus != shape.gpus ||
		    prev.lien.time_limit != shape.time_limit ||
		    (shape.gpu_type[0] &&
		     strcmp(prev.lien.gpu_type, shape.gpu_type) != 0)) {
			aiss_error_set(err, AISS_E_CONFLICT,
				       "run %s already has a lien on grant %s "
				       "for %" PRId64 " %s GPUs x %" PRId64
				       " s under account %s; a run key may not "
				       "be reused with another shape",
				       keybuf, prev.lien.grant_id,
				       prev.lien.gpus, prev.lien.gpu_type,
				       prev.lien.time_limit, prev.account);
			goto fail;
		}
		*out = prev.lien; /* repeat: the first answer, no change */
		return ledger_op_end(l, 1, err);
	}
	{
		aiss_charge_rec tmp;

		found = charge_read(l, k, &tmp, err);
		if (found < 0)
			goto fail;
		if (found) {
			chg = &tmp;
			aiss_error_set(err, AISS_E_CONFLICT,
				       "run %s was already settled (grant %s, "
				       "ended %" PRId64 "); it cannot be "
				       "reserved again",
				       keybuf, chg->grant_id,
				       (int64_t)chg->end);
			goto fail;
		}
	}
	if (grant_for_account(l, shape.account, &g, err))
		goto fail;
	if (admit(l, &g, &shape, k->run_start, 0, &q, err))
		goto fail;
	if (q.verdict != AISS_OK) {
		aiss_error_set(err, q.verdict, "%s", q.reason);
		goto fail;
	}
	memset(&n, 0, sizeof(n));
	n.key = *k;
	ledger_fmt(n.grant_id, sizeof(n.grant_id), "%s", g.g.id);
	ledger_fmt(n.gpu_type, sizeof(n.gpu_type), "%s", q.gpu_type);
	n.gpus = shape.gpus;
	n.time_limit = shape.time_limit;
	n.price = q.price;
	n.held_subsidy = q.worst.subsidy;
	n.state = AISS_LIEN_HELD;
	st = ledger_stmt(l, S_LIEN_INSERT, err);
	if (!st)
		goto fail;
	bind_key(st, k);
	sqlite3_bind_text(st, 4, n.grant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, shape.account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, shape.user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, n.gpu_type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, n.gpus);
	sqlite3_bind_int64(st, 9, n.time_limit);
	sqlite3_bind_int64(st, 10, n.price);
	sqlite3_bind_int64(st, 11, n.held_subsidy);
	sqlite3_bind_int(st, 12, n.state);
	sqlite3_bind_int64(st, 13, ledger_now(l));
	if (ledger_step_done(l, st, "storing the lien", err))
		goto fail;
	if (ledger_grant_hold(l, n.grant_id, n.held_subsidy, n.gpus,
		       n.gpus * n.time_limit, 1, err))
		goto fail;
	ledger_fmt(detail, sizeof(detail),
		   "run=%s account=%s user=%s gpu_type=%s gpus=%" PRId64
		   " time_limit=%" PRId64 " price=%" PRId64 " held=%s",
		   keybuf, shape.account, shape.user, n.gpu_type, n.gpus,
		   n.time_limit, n.price,
		   aiss_money_format(n.held_subsidy, false, m, sizeof(m)));
	if (ledger_journal_append(l, actor, "lien", n.grant_id, -n.held_subsidy,
				  detail, NULL, err))
		goto fail;
	if (ledger_op_end(l, 1, err))
		return -1;
	*out = n;
	return 0;
fail:
	return ledger_op_end(l, 0, err);
}

int aiss_ledger_release(aiss_ledger *l, const aiss_run_key *key,
			const char *actor, aiss_error *err)
{
	char keybuf[AISS_ID_MAX + 48], detail[AISS_TEXT_MAX];
	char m[AISS_MONEY_BUFSZ];
	lien_row n;
	int found;

	if (check_key(key, err))
		return -1;
	aiss_run_key_format(key, keybuf, sizeof(keybuf));
	if (ledger_op_begin(l, err))
		return -1;
	found = lien_read(l, key, &n, err);
	if (found < 0)
		goto fail;
	if (!found) {
		aiss_error_set(err, AISS_E_NOT_FOUND,
			       "run %s holds no lien; nothing to release",
			       keybuf);
		goto fail;
	}
	if (n.lien.state != AISS_LIEN_HELD) /* repeat: nothing changes */
		return ledger_op_end(l, 1, err);
	if (ledger_lien_set_state(l, key, AISS_LIEN_RELEASED, err) ||
	    ledger_grant_hold(l, n.lien.grant_id, -n.lien.held_subsidy, -n.lien.gpus,
		       -n.lien.gpus * n.lien.time_limit, -1, err))
		goto fail;
	ledger_fmt(detail, sizeof(detail), "run=%s released=%s", keybuf,
		   aiss_money_format(n.lien.held_subsidy, false, m, sizeof(m)));
	if (ledger_journal_append(l, actor, "release", n.lien.grant_id,
				  n.lien.held_subsidy, detail, NULL, err))
		goto fail;
	return ledger_op_end(l, 1, err);
fail:
	return ledger_op_end(l, 0, err);
}

int aiss_ledger_lien_get(aiss_ledger *l, const aiss_run_key *key,
			 aiss_lien *out, aiss_error *err)
{
	char keybuf[AISS_ID_MAX + 48];
	lien_row n;
	int found;

	if (check_key(key, err))
		return -1;
	found = lien_read(l, key, &n, err);
	if (found < 0)
		return -1;
	if (!found)
		return aiss_error_set(
		    err, AISS_E_NOT_FOUND, "run %s holds no lien",
		    aiss_run_key_format(key, keybuf, sizeof(keybuf)));
	*out = n.lien;
	return 0;
}

int aiss_ledger_charge_get(aiss_ledger *l, const aiss_run_key *key,
			   aiss_charge_rec *out, aiss_error *err)
{
	char keybuf[AISS_ID_MAX + 48];
	int found;

	if (check_key(key, err))
		return -1;
	found = charge_read(l, key, out, err);
	if (found < 0)
		return -1;
	if (!found)
		return aiss_error_set(
		    err, AISS_E_NOT_FOUND, "run %s has not been settled",
		    aiss_run_key_format(key, keybuf, sizeof(keybuf)));
	return 0;
}

/* ---- settle ---- */

static int check_settle(const aiss_settle_req *r, aiss_error *err)
{
	if (check_key(&r->key, err))
		return -1;
	if (r->gpus < 0 || r->gpus > AISS_GPUS_LIMIT)
		return aiss_error_set(err, AISS_E_INVALID,
				      "settle of job %" PRIu64 ": %" PRId64
				      " GPUs is out of range",
				      r->key.job_id, r->gpus);
	if (r->end < r->key.run_start ||
	    r->end - r->key.run_start > AISS_DURATION_LIMIT)
		return aiss_error_set(
		    err, AISS_E_INVALID,
		    "settle of job %" PRIu64 ": end %" PRId64
		    " is before its start %" PRId64 " or absurdly late",
		    r->key.job_id, (int64_t)r->end, (int64_t)r->key.run_start);
	if (r->gpu_type[0] && ledger_check_id(r->gpu_type, "GPU type", err))
		return -1;
	if (r->account[0] && ledger_check_id(r->account, "Slurm account", err))
		return -1;
	if (r->user[0] && ledger_check_id(r->user, "user", err))
		return -1;
	if (strnlen(r->end_state, sizeof(r->end_state)) >= sizeof(r->end_state))
		return aiss_error_set(err, AISS_E_INVALID,
				      "settle of job %" PRIu64 ": end state is "
				      "too long",
				      r->key.job_id);
	return 0;
}

static int charge_insert(aiss_ledger *l, const aiss_charge_rec *r,
			 aiss_cents_t full, aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_CHARGE_INSERT, err);

	if (!st)
		return -1;
	bind_key(st, &r->key);
	sqlite3_bind_text(st, 4, r->grant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->gpu_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, r->institution, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, r->inst_type);
	sqlite3_bind_int64(st, 10, r->gpus);
	sqlite3_bind_int64(st, 11, r->end);
	sqlite3_bind_text(st, 12, r->end_state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 13, r->price);
	sqlite3_bind_int(st, 14, r->rate_bp);
	sqlite3_bind_int64(st, 15, r->charge.gpu_seconds);
	sqlite3_bind_int64(st, 16, r->charge.run_seconds);
	sqlite3_bind_int64(st, 17, r->charge.in_window_seconds);
	sqlite3_bind_int64(st, 18, r->charge.list_cost);
	sqlite3_bind_int64(st, 19, r->charge.in_window_cost);
	sqlite3_bind_int64(st, 20, r->charge.subsidy);
	sqlite3_bind_int64(st, 21, r->charge.copay);
	sqlite3_bind_int(st, 22, r->charge.capped ? 1 : 0);
	sqlite3_bind_int64(st, 23, r->settled_at);
	sqlite3_bind_int64(st, 24, r->journal_seq);
	sqlite3_bind_int64(st, 25, full);
	return ledger_step_done(l, st, "storing the charge", err);
}

/* A charge of the same grant that comes after the run being settled in
 * charge order (end, then run key). */
typedef struct later_run {
	aiss_run_key key;
	aiss_cents_t subsidy; /* as it stands */
} later_run;

typedef struct later_list {
	later_run *v;
	size_t n, cap;
	aiss_cents_t sum;
} later_list;

/* Collects the charges of @grant_id after (@end, @key) in charge order. */
static int later_collect(aiss_ledger *l, const char *grant_id,
			 const aiss_run_key *key, aiss_time_t end,
			 later_list *out, aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_CHARGE_LATER, err);
	aiss_charge_rec r;
	int rc;

	if (!st)
		return -1;
	bind_key(st, key);
	sqlite3_bind_text(st, 4, grant_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, end);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 64;
			later_run *v = realloc(out->v, cap * sizeof(*v));

			if (!v) {
				sqlite3_reset(st);
				return aiss_error_set(err, AISS_E_INTERNAL,
						      "ledger: out of memory");
			}
			out->v = v;
			out->cap = cap;
		}
		charge_from_row(st, &r, NULL);
		out->v[out->n].key = r.key;
		out->v[out->n].subsidy = r.charge.subsidy;
		out->sum += r.charge.subsidy;
		out->n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ledger_sql_error(l, rc, "reading later charges", err);
	return 0;
}

/*
 * Policy item 8: runs are charged in the order they end. Run @r (just
 * charged with cap @before, what was left before it in that order) ended
 * before the runs in @later that were charged first; what they received
 * beyond what is left after @r is taken back, in order, each as a
 * correction (a journal entry and a charge_correction row; the charge rows
 * themselves are never edited).
 */
static int later_correct(aiss_ledger *l, const aiss_charge_rec *r,
			 aiss_cents_t before, const later_list *later,
			 const char *actor, aiss_error *err)
{
	aiss_cents_t running = before - r->charge.subsidy;
	char keybuf[AISS_ID_MAX + 48], rkey[AISS_ID_MAX + 48];
	char detail[AISS_TEXT_MAX], m1[AISS_MONEY_BUFSZ], m2[AISS_MONEY_BUFSZ];
	sqlite3_stmt *st;
	int64_t seq;

	aiss_run_key_format(&r->key, rkey, sizeof(rkey));
	for (size_t i = 0; i < later->n; i++) {
		const later_run *lr = &later->v[i];
		aiss_cents_t allowed = running > 0 ? running : 0;
		aiss_cents_t now =
		    lr->subsidy < allowed ? lr->subsidy : allowed;
		aiss_cents_t delta = now - lr->subsidy;

		running -= now;
		if (delta == 0)
			continue;
		aiss_run_key_format(&lr->key, keybuf, sizeof(keybuf));
		ledger_fmt(
		    detail, sizeof(detail),
		    "run=%s subsidy=%s->%s reason=run %s ended earlier "
		    "and was settled later; the grant's cap binds in "
		    "charge order (policy item 8)",
		    keybuf,
		    aiss_money_format(lr->subsidy, false, m1, sizeof(m1)),
		    aiss_money_format(now, false, m2, sizeof(m2)), rkey);
		if (ledger_journal_append(l, actor, "charge.correct",
					  r->grant_id, -delta, detail, &seq,
					  err))
			return -1;
		st = ledger_stmt(l, S_CORRECTION_INSERT, err);
		if (!st)
			return -1;
		bind_key(st, &lr->key);
		sqlite3_bind_int64(st, 4, seq);
		sqlite3_bind_int64(st, 5, delta);
		if (ledger_step_done(l, st, "storing a correction", err))
			return -1;
		st = ledger_stmt(l, S_GRANT_CORRECT, err);
		if (!st)
			return -1;
		sqlite3_bind_text(st, 1, r->grant_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, delta);
		if (ledger_step_done(l, st, "updating the grant", err))
			return -1;
	}
	return 0;
}

int aiss_ledger_settle(aiss_ledger *l, const aiss_settle_req *req,
		       const char *actor, aiss_charge_rec *out, aiss_error *err)
{
	char keybuf[AISS_ID_MAX + 48], detail[AISS_TEXT_MAX];
	char m1[AISS_MONEY_BUFSZ], m2[AISS_MONEY_BUFSZ], m3[AISS_MONEY_BUFSZ];
	char m4[AISS_MONEY_BUFSZ];
	aiss_charge_rec r;
	aiss_grant_terms terms;
	aiss_run_usage usage;
	aiss_charge uncapped;
	aiss_cents_t limit, before;
	later_list later = {0};
	ledger_charge_delta delta;
	ledger_grant g;
	lien_row n;
	sqlite3_stmt *st;
	int found, have_lien;

	if (check_settle(req, err))
		return -1;
	aiss_run_key_format(&req->key, keybuf, sizeof(keybuf));
	if (ledger_op_begin(l, err))
		return -1;
	found = charge_read(l, &req->key, &r, err);
	if (found < 0)
		goto fail;
	if (found) { /* repeat: the first answer, no change */
		if (ledger_op_end(l, 1, err))
			return -1;
		*out = r;
		return 0;
	}
	have_lien = lien_read(l, &req->key, &n, err);
	if (have_lien < 0)
		goto fail;
	memset(&r, 0, sizeof(r));
	r.key = req->key;
	if (have_lien) {
		found =
		    ledger_grant_read(l, S_GRANT_GET, n.lien.grant_id, &g, err);
		if (found <= 0) {
			if (!found)
				aiss_error_set(err, AISS_E_INTERNAL,
					       "lien of run %s names unknown "
					       "grant %s",
					       keybuf, n.lien.grant_id);
			goto fail;
		}
		ledger_fmt(r.account, sizeof(r.account), "%s", n.account);
		ledger_fmt(r.user, sizeof(r.user), "%s", n.user);
		ledger_fmt(r.gpu_type, sizeof(r.gpu_type), "%s",
			   n.lien.gpu_type);
		r.price = n.lien.price;
	} else {
		if (ledger_check_id(req->account, "Slurm account", err))
			goto fail;
		if (grant_for_account(l, req->account, &g, err))
			goto fail;
		ledger_fmt(r.account, sizeof(r.account), "%s", req->account);
		ledger_fmt(r.user, sizeof(r.user), "%s", req->user);
		if (req->gpu_type[0])
			ledger_fmt(r.gpu_type, sizeof(r.gpu_type), "%s",
				   req->gpu_type);
		else
			first_item(g.g.gpu_types, r.gpu_type,
				   sizeof(r.gpu_type));
		if (aiss_ledger_price_at(l, r.gpu_type, req->key.run_start,
					 &r.price, err))
			goto fail;
	}
	ledger_fmt(r.grant_id, sizeof(r.grant_id), "%s", g.g.id);
	ledger_fmt(r.institution, sizeof(r.institution), "%s", g.g.institution);
	r.inst_type = g.g.inst_type;
	r.gpus = req->gpus;
	r.start = req->key.run_start;
	r.end = req->end;
	ledger_fmt(r.end_state, sizeof(r.end_state), "%s",
		   req->end_state[0] ? req->end_state : "COMPLETED");
	r.rate_bp = g.g.rate_bp;
	r.settled_at = ledger_now(l);
	usage.gpus = req->gpus;
	usage.start = req->key.run_start;
	usage.end = req->end;
	usage.node_fail = strncmp(r.end_state, "NODE_FAIL", 9) == 0;
	/* The run's own lien is released in this transaction, so the cap is
	 * what is left after charges and adjustments only. */
	limit = g.g.approved_subsidy + g.adjustments;
	before = limit - g.charged;
	terms = grant_terms(&g, INT64_MAX);
	if (aiss_policy_charge(&usage, r.price, &terms, &uncapped, err))
		goto fail;
	/* Settled after runs that end later, with the cap binding: the cap
	 * is what was left before this run in charge order. */
	if (g.n_runs > 0 && r.end <= g.last_end && uncapped.subsidy > 0 &&
	    g.charged + uncapped.subsidy > limit) {
		if (later_collect(l, g.g.id, &r.key, r.end, &later, err))
			goto fail;
		before = limit - (g.charged - later.sum);
	}
	terms.remaining_subsidy = before;
	if (aiss_policy_charge(&usage, r.price, &terms, &r.charge, err))
		goto fail;
	ledger_fmt(
	    detail, sizeof(detail),
	    "run=%s account=%s user=%s gpu_type=%s gpus=%" PRId64
	    " end=%" PRId64 " end_state=%s price=%" PRId64 " rate_bp=%d"
	    " gpu_seconds=%" PRId64 " list=%s subsidy=%s copay=%s%s%s"
	    " lien_released=%s",
	    keybuf, r.account, r.user, r.gpu_type, r.gpus, (int64_t)r.end,
	    r.end_state, r.price, r.rate_bp, r.charge.gpu_seconds,
	    aiss_money_format(r.charge.list_cost, false, m1, sizeof(m1)),
	    aiss_money_format(r.charge.subsidy, false, m2, sizeof(m2)),
	    aiss_money_format(r.charge.copay, false, m3, sizeof(m3)),
	    r.charge.capped ? " capped" : "",
	    usage.node_fail ? " charged zero: run ended in NODE_FAIL" : "",
	    aiss_money_format(have_lien && n.lien.state == AISS_LIEN_HELD
				  ? n.lien.held_subsidy
				  : 0,
			      false, m4, sizeof(m4)));
	if (ledger_journal_append(l, actor, "charge", r.grant_id,
				  -r.charge.subsidy, detail, &r.journal_seq,
				  err))
		goto fail;
	if (charge_insert(l, &r, uncapped.subsidy, err))
		goto fail;
	if (later.n && later_correct(l, &r, before, &later, actor, err))
		goto fail;
	if (have_lien) {
		if (ledger_lien_set_state(l, &req->key, AISS_LIEN_SETTLED, err))
			goto fail;
	}
	st = ledger_stmt(l, S_GRANT_CHARGE, err);
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, r.grant_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r.charge.subsidy);
	sqlite3_bind_int64(st, 3, r.charge.list_cost);
	sqlite3_bind_int64(st, 4, r.charge.copay);
	sqlite3_bind_int64(st, 5, r.charge.gpu_seconds);
	sqlite3_bind_int64(st, 6, r.end);
	/* the run's own lien, released in the same statement */
	memset(&delta, 0, sizeof(delta));
	delta.subsidy = r.charge.subsidy;
	delta.list_cost = r.charge.list_cost;
	delta.copay = r.charge.copay;
	delta.gpu_seconds = r.charge.gpu_seconds;
	delta.end = r.end;
	if (have_lien && n.lien.state == AISS_LIEN_HELD) {
		delta.held = n.lien.held_subsidy;
		delta.held_gpus = n.lien.gpus;
		delta.held_gpu_seconds = n.lien.gpus * n.lien.time_limit;
		delta.n_liens = 1;
	}
	sqlite3_bind_int64(st, 7, delta.held);
	sqlite3_bind_int64(st, 8, delta.held_gpus);
	sqlite3_bind_int64(st, 9, delta.held_gpu_seconds);
	sqlite3_bind_int64(st, 10, delta.n_liens);
	ledger_cache_expect(l, 1);
	if (ledger_step_done(l, st, "updating the grant's charges", err)) {
		ledger_cache_expect(l, 0);
		goto fail;
	}
	ledger_cache_expect(l, 0);
	ledger_cache_charge(l, r.grant_id, &delta);
	free(later.v);
	if (ledger_op_end(l, 1, err))
		return -1;
	*out = r;
	return 0;
fail:
	free(later.v);
	return ledger_op_end(l, 0, err);
}

/* ---- balances and exports ---- */

static void balance_of(const ledger_grant *g, aiss_balance *b)
{
	memset(b, 0, sizeof(*b));
	ledger_fmt(b->grant_id, sizeof(b->grant_id), "%s", g->g.id);
	b->state = g->g.state;
	b->approved_subsidy = g->g.approved_subsidy;
	b->charged_subsidy = g->charged;
	b->held_subsidy = g->held;
	b->adjustments = g->adjustments;
	b->remaining = grant_available(g);
	b->list_cost = g->list_cost;
	b->copay = g->copay;
	b->approved_gpu_seconds = g->g.approved_gpu_seconds;
	b->used_gpu_seconds = g->used_gpu_seconds;
	b->held_gpus = g->held_gpus;
	b->max_concurrent_gpus = g->g.max_concurrent_gpus;
	b->n_runs = g->n_runs;
	b->n_liens = g->n_liens;
	b->window_start = g->g.window_start;
	b->window_end = g->g.window_end;
}

int aiss_ledger_balance(aiss_ledger *l, const char *grant_id, aiss_balance *out,
			aiss_error *err)
{
	ledger_grant g;

	if (ledger_check_id(grant_id, "grant id", err) ||
	    ledger_grant_need(l, grant_id, &g, err))
		return -1;
	balance_of(&g, out);
	return 0;
}

struct balance_list_arg {
	int (*cb)(const aiss_balance *, void *);
	void *arg;
};

static int balance_list_one(const ledger_grant *g, void *arg)
{
	struct balance_list_arg *a = arg;
	aiss_balance b;

	balance_of(g, &b);
	return a->cb(&b, a->arg);
}

int aiss_ledger_balance_list(aiss_ledger *l, const char *member,
			     int (*cb)(const aiss_balance *, void *), void *arg,
			     aiss_error *err)
{
	struct balance_list_arg a = {cb, arg};

	return ledger_grant_each(l, member, balance_list_one, &a,
				 "listing balances", err);
}

int aiss_ledger_charge_export(aiss_ledger *l, aiss_time_t from, aiss_time_t to,
			      int (*cb)(const aiss_charge_rec *, void *),
			      void *arg, aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_CHARGE_EXPORT, err);
	aiss_charge_rec r;
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to ? to : INT64_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		charge_from_row(st, &r, NULL);
		if (cb(&r, arg)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ledger_sql_error(l, rc, "exporting charges", err);
	return 0;
}
