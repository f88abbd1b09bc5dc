/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_jobs.c: aissctl's job lifecycle and accounting commands: quote,
 * reserve, settle, release, balance, statement, adjust, journal verify,
 * capacity and the charge export. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The centre's expansion target (domain brief): 3,000 PFLOPS. */
#define CTL_TARGET_PFLOPS 3000

/* Fills @sh from the job-shape options of @o. Returns 0 or 2 (usage). */
static int shape_from_opts(ctl_ctx *x, const ctl_opts *o, aiss_job_shape *sh,
			   bool allow_array)
{
	const char *v;

	memset(sh, 0, sizeof(*sh));
	if (!(v = ctl_opt(o, "account")))
		return ctl_usage_error(x, "--account is required (the Slurm "
					  "account the job runs under)");
	COPY_FIELD(x, sh->account, v, "--account");
	if (!(v = ctl_opt(o, "user")))
		return ctl_usage_error(x, "--user is required");
	COPY_FIELD(x, sh->user, v, "--user");
	if ((v = ctl_opt(o, "gpu-type")))
		COPY_FIELD(x, sh->gpu_type, v, "--gpu-type");
	if (!(v = ctl_opt(o, "gpus")))
		return ctl_usage_error(x, "--gpus is required (GPUs across "
					  "all the job's nodes)");
	if (ctl_arg_count(x, "--gpus", v, &sh->gpus))
		return CTL_EXIT_USAGE;
	if (sh->gpus <= 0 || sh->gpus > AISS_GPUS_LIMIT)
		return ctl_usage_error(x, "--gpus must be 1..%d, not %s",
				       AISS_GPUS_LIMIT, v);
	if (!(v = ctl_opt(o, "time")))
		return ctl_usage_error(x, "--time is required (a Slurm time "
					  "limit: MINUTES, H:MM:SS or "
					  "D-HH:MM:SS)");
	if (ctl_parse_duration(v, &sh->time_limit) < 0)
		return ctl_usage_error(x,
				       "--time '%s' is not a time limit "
				       "(write MINUTES, H:MM:SS or "
				       "D-HH:MM:SS)",
				       v);
	sh->count = 1;
	if (allow_array && (v = ctl_opt(o, "array"))) {
		if (ctl_arg_count(x, "--array", v, &sh->count))
			return CTL_EXIT_USAGE;
		if (sh->count <= 0 || sh->count > 1000000)
			return ctl_usage_error(x, "--array must be "
						  "1..1000000 elements");
	}
	if ((v = ctl_opt(o, "start")) &&
	    ctl_arg_when(x, "--start", v, &sh->start))
		return CTL_EXIT_USAGE;
	return 0;
}

/* Fills @k from --cluster, --job, --start. Returns 0 or 2. */
static int key_from_opts(ctl_ctx *x, const ctl_opts *o, aiss_run_key *k)
{
	const char *v;
	int64_t job;

	memset(k, 0, sizeof(*k));
	if (!(v = ctl_opt(o, "cluster")))
		return ctl_usage_error(x, "--cluster is required (part of the "
					  "run key cluster/job/start)");
	COPY_FIELD(x, k->cluster, v, "--cluster");
	if (!(v = ctl_opt(o, "job")))
		return ctl_usage_error(x, "--job is required (the Slurm job "
					  "id)");
	if (ctl_arg_count(x, "--job", v, &job))
		return CTL_EXIT_USAGE;
	k->job_id = (uint64_t)job;
	if (!(v = ctl_opt(o, "start")))
		return ctl_usage_error(x, "--start is required (the run's "
					  "start; with --cluster and --job "
					  "it names the run)");
	return ctl_arg_when(x, "--start", v, &k->run_start);
}

static void key_json(ctl_json *j, const aiss_run_key *k)
{
	char buf[AISS_ID_MAX + 48];

	ctl_json_str(j, "run", aiss_run_key_format(k, buf, sizeof(buf)));
	ctl_json_str(j, "cluster", k->cluster);
	ctl_json_int(j, "job_id", (int64_t)k->job_id);
	ctl_json_time(j, "run_start", k->run_start);
}

static void charge_json(ctl_json *j, const aiss_charge *c)
{
	ctl_json_int(j, "gpu_seconds", c->gpu_seconds);
	ctl_json_int(j, "run_seconds", c->run_seconds);
	ctl_json_int(j, "in_window_seconds", c->in_window_seconds);
	ctl_json_money(j, "list_cost", c->list_cost);
	ctl_json_money(j, "in_window_cost", c->in_window_cost);
	ctl_json_money(j, "subsidy", c->subsidy);
	ctl_json_money(j, "copay", c->copay);
	ctl_json_bool(j, "capped", c->capped);
}

/* ---- quote ---- */

int cmd_quote(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {
	    "account=",  "user=",  "gpus=",  "time=",
	    "gpu-type=", "array=", "start=", NULL};
	ctl_opts o;
	aiss_job_shape sh;
	aiss_quote q;
	aiss_error err;
	char m[AISS_MONEY_BUFSZ], r[16], d[32];

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos)
		return ctl_usage_error(x, "unexpected argument '%s'", o.pos[0]);
	if (shape_from_opts(x, &o, &sh, true))
		return CTL_EXIT_USAGE;
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	memset(&q, 0, sizeof(q));
	if (aiss_client_quote(x->client, &sh, &q, &err) < 0)
		return ctl_fail(x, "quote", &err);
	if (x->json) {
		ctl_json j;

		ctl_json_init(&j, stdout);
		ctl_json_obj(&j, NULL);
		ctl_json_bool(&j, "admitted", q.verdict == AISS_OK);
		ctl_json_str(&j, "verdict", aiss_status_name(q.verdict));
		ctl_json_str(&j, "reason", q.reason);
		ctl_json_str(&j, "grant", q.grant_id);
		ctl_json_str(&j, "account", sh.account);
		ctl_json_str(&j, "user", sh.user);
		ctl_json_str(&j, "gpu_type", q.gpu_type);
		ctl_json_int(&j, "gpus", sh.gpus);
		ctl_json_int(&j, "time_limit", sh.time_limit);
		ctl_json_int(&j, "count", sh.count);
		ctl_json_money(&j, "price_per_gpu_hour", q.price);
		ctl_json_int(&j, "rate_bp", q.rate_bp);
		ctl_json_obj(&j, "worst");
		charge_json(&j, &q.worst);
		ctl_json_obj_end(&j);
		ctl_json_money(&j, "worst_subsidy_total",
			       q.worst_subsidy_total);
		ctl_json_money(&j, "available", q.available);
		ctl_json_int(&j, "fit_time_limit", q.fit_time_limit);
		ctl_json_int(&j, "fit_gpus", q.fit_gpus);
		ctl_json_int(&j, "fit_count", q.fit_count);
		ctl_json_obj_end(&j);
		ctl_json_done(&j);
	} else {
		printf("quote: %" PRId64 " x %s GPU(s) for %s", sh.gpus,
		       q.gpu_type[0] ? q.gpu_type : "?",
		       ctl_format_duration(sh.time_limit, d, sizeof(d)));
		if (sh.count > 1)
			printf(" x %" PRId64 " array elements", sh.count);
		printf(" on account %s (grant %s)\n", sh.account,
		       q.grant_id[0] ? q.grant_id : "-");
		/* A refusal made before pricing (membership, GPU type,
		 * state) has no costs to show. */
		if (q.price > 0 || q.verdict == AISS_OK) {
			printf("  price        HK$%14s per GPU-hour\n",
			       ctl_money(q.price, m));
			printf("  list cost    HK$%14s\n",
			       ctl_money(q.worst.list_cost, m));
			printf("  subsidy      HK$%14s  (%s",
			       ctl_money(q.worst.subsidy, m),
			       ctl_rate(q.rate_bp, r, sizeof(r)));
			if (q.worst.in_window_seconds < q.worst.run_seconds)
				printf(", in grant window for %s only",
				       ctl_format_duration(
					   q.worst.in_window_seconds, d,
					   sizeof(d)));
			printf(")\n");
			printf("  co-payment   HK$%14s\n",
			       ctl_money(q.worst.copay, m));
			if (sh.count > 1)
				printf("  subsidy, all HK$%14s\n",
				       ctl_money(q.worst_subsidy_total, m));
		}
		printf("  available    HK$%14s  (grant's remaining subsidy)\n",
		       ctl_money(q.available, m));
		if (q.verdict == AISS_OK) {
			printf("  verdict      admitted\n");
		} else {
			printf("  verdict      refused (%s): %s\n",
			       aiss_status_name(q.verdict), q.reason);
			if (q.fit_time_limit > 0 || q.fit_gpus > 0 ||
			    (sh.count > 1 && q.fit_count > 0)) {
				printf("  would fit   ");
				if (q.fit_time_limit > 0)
					printf(
					    " --time %s with %" PRId64 " GPUs;",
					    ctl_format_duration(
						q.fit_time_limit, d, sizeof(d)),
					    sh.gpus);
				if (q.fit_gpus > 0)
					printf(
					    " --gpus %" PRId64 " at --time "
					    "%s;",
					    q.fit_gpus,
					    ctl_format_duration(sh.time_limit,
								d, sizeof(d)));
				if (sh.count > 1 && q.fit_count > 0)
					printf(" --array %" PRId64 " elements;",
					       q.fit_count);
				printf("\n");
			}
		}
	}
	return q.verdict == AISS_OK ? 0 : aiss_status_exit_code(q.verdict);
}

/* ---- reserve / settle / release ---- */

static void lien_print(const aiss_lien *l, bool json)
{
	char key[AISS_ID_MAX + 48], m[AISS_MONEY_BUFSZ], d[32];

	if (json) {
		ctl_json j;

		ctl_json_init(&j, stdout);
		ctl_json_obj(&j, NULL);
		key_json(&j, &l->key);
		ctl_json_str(&j, "grant", l->grant_id);
		ctl_json_str(&j, "gpu_type", l->gpu_type);
		ctl_json_int(&j, "gpus", l->gpus);
		ctl_json_int(&j, "time_limit", l->time_limit);
		ctl_json_money(&j, "price_per_gpu_hour", l->price);
		ctl_json_money(&j, "held_subsidy", l->held_subsidy);
		ctl_json_str(&j, "state",
			     l->state == AISS_LIEN_HELD       ? "held"
			     : l->state == AISS_LIEN_SETTLED  ? "settled"
			     : l->state == AISS_LIEN_RELEASED ? "released"
			     : l->state == AISS_LIEN_EXPIRED  ? "expired"
							      : "unknown");
		ctl_json_obj_end(&j);
		ctl_json_done(&j);
		return;
	}
	printf("lien on %s: grant %s holds HK$%s subsidy for %" PRId64
	       " x %s for %s (%s)\n",
	       aiss_run_key_format(&l->key, key, sizeof(key)), l->grant_id,
	       ctl_money(l->held_subsidy, m), l->gpus, l->gpu_type,
	       ctl_format_duration(l->time_limit, d, sizeof(d)),
	       l->state == AISS_LIEN_HELD      ? "held"
	       : l->state == AISS_LIEN_SETTLED ? "already settled"
	       : l->state == AISS_LIEN_EXPIRED ? "expired as stale"
					       : "released");
}

int cmd_reserve(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {
	    "cluster=", "job=",  "start=",    "account=", "user=",
	    "gpus=",    "time=", "gpu-type=", NULL};
	ctl_opts o;
	aiss_reserve_req rq;
	aiss_lien l;
	aiss_error err;

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos)
		return ctl_usage_error(x, "unexpected argument '%s'", o.pos[0]);
	memset(&rq, 0, sizeof(rq));
	if (key_from_opts(x, &o, &rq.key) ||
	    shape_from_opts(x, &o, &rq.shape, false))
		return CTL_EXIT_USAGE;
	rq.shape.start = rq.key.run_start;
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	memset(&l, 0, sizeof(l));
	if (aiss_client_reserve(x->client, &rq, &l, &err) < 0)
		return ctl_fail(x, "reserve", &err);
	lien_print(&l, x->json);
	return 0;
}

static void charge_rec_json(ctl_json *j, const aiss_charge_rec *c)
{
	key_json(j, &c->key);
	ctl_json_str(j, "grant", c->grant_id);
	ctl_json_str(j, "account", c->account);
	ctl_json_str(j, "user", c->user);
	ctl_json_str(j, "gpu_type", c->gpu_type);
	ctl_json_str(j, "institution", c->institution);
	ctl_json_str(j, "institution_type", aiss_inst_type_name(c->inst_type));
	ctl_json_int(j, "gpus", c->gpus);
	ctl_json_time(j, "start", c->start);
	ctl_json_time(j, "end", c->end);
	ctl_json_str(j, "end_state", c->end_state);
	ctl_json_money(j, "price_per_gpu_hour", c->price);
	ctl_json_int(j, "rate_bp", c->rate_bp);
	charge_json(j, &c->charge);
	ctl_json_time(j, "settled_at", c->settled_at);
	ctl_json_int(j, "journal_seq", c->journal_seq);
}

int cmd_settle(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {
	    "cluster=", "job=",     "start=", "end=",      "gpus=",
	    "state=",   "account=", "user=",  "gpu-type=", NULL};
	ctl_opts o;
	aiss_settle_req rq;
	aiss_charge_rec c;
	aiss_error err;
	const char *v;
	char key[AISS_ID_MAX + 48], m1[AISS_MONEY_BUFSZ], m2[AISS_MONEY_BUFSZ],
	    m3[AISS_MONEY_BUFSZ], h[AISS_MONEY_BUFSZ];

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos)
		return ctl_usage_error(x, "unexpected argument '%s'", o.pos[0]);
	memset(&rq, 0, sizeof(rq));
	if (key_from_opts(x, &o, &rq.key))
		return CTL_EXIT_USAGE;
	if (!(v = ctl_opt(&o, "end")))
		return ctl_usage_error(x, "--end is required (when the run "
					  "ended)");
	if (ctl_arg_when(x, "--end", v, &rq.end))
		return CTL_EXIT_USAGE;
	if (rq.end < rq.key.run_start)
		return ctl_usage_error(x, "--end is before --start");
	if (!(v = ctl_opt(&o, "gpus")))
		return ctl_usage_error(x, "--gpus is required (GPUs the run "
					  "was allocated, all nodes)");
	if (ctl_arg_count(x, "--gpus", v, &rq.gpus))
		return CTL_EXIT_USAGE;
	COPY_FIELD(x, rq.end_state,
		   ctl_opt(&o, "state") ? ctl_opt(&o, "state") : "COMPLETED",
		   "--state");
	if ((v = ctl_opt(&o, "account")))
		COPY_FIELD(x, rq.account, v, "--account");
	if ((v = ctl_opt(&o, "user")))
		COPY_FIELD(x, rq.user, v, "--user");
	if ((v = ctl_opt(&o, "gpu-type")))
		COPY_FIELD(x, rq.gpu_type, v, "--gpu-type");
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	memset(&c, 0, sizeof(c));
	if (aiss_client_settle(x->client, &rq, &c, &err) < 0)
		return ctl_fail(x, "settle", &err);
	if (x->json) {
		ctl_json j;

		ctl_json_init(&j, stdout);
		ctl_json_obj(&j, NULL);
		charge_rec_json(&j, &c);
		ctl_json_obj_end(&j);
		ctl_json_done(&j);
		return 0;
	}
	printf("charged %s to grant %s: %s GPU-hours, list HK$%s, subsidy "
	       "HK$%s, co-payment HK$%s%s%s\n",
	       aiss_run_key_format(&c.key, key, sizeof(key)), c.grant_id,
	       ctl_format_gpu_hours(c.charge.gpu_seconds, h, sizeof(h)),
	       ctl_money(c.charge.list_cost, m1),
	       ctl_money(c.charge.subsidy, m2), ctl_money(c.charge.copay, m3),
	       c.charge.capped ? " (subsidy capped by the grant's remaining "
				 "amount)"
			       : "",
	       strcmp(c.end_state, "NODE_FAIL") == 0
		   ? " (NODE_FAIL: charged zero)"
		   : "");
	return 0;
}

int cmd_release(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {"cluster=", "job=", "start=", NULL};
	ctl_opts o;
	aiss_run_key k;
	aiss_error err;
	char key[AISS_ID_MAX + 48];

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos)
		return ctl_usage_error(x, "unexpected argument '%s'", o.pos[0]);
	if (key_from_opts(x, &o, &k))
		return CTL_EXIT_USAGE;
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	if (aiss_client_release(x->client, &k, &err) < 0)
		return ctl_fail(x, "release", &err);
	printf("released %s\n", aiss_run_key_format(&k, key, sizeof(key)));
	return 0;
}

/* ---- balance / statement ---- */

static void balance_json_fields(ctl_json *j, const aiss_balance *b)
{
	ctl_json_str(j, "grant", b->grant_id);
	ctl_json_str(j, "state", aiss_grant_state_name(b->state));
	ctl_json_money(j, "approved_subsidy", b->approved_subsidy);
	ctl_json_money(j, "charged_subsidy", b->charged_subsidy);
	ctl_json_money(j, "held_subsidy", b->held_subsidy);
	ctl_json_money(j, "adjustments", b->adjustments);
	ctl_json_money(j, "remaining", b->remaining);
	ctl_json_money(j, "list_cost", b->list_cost);
	ctl_json_money(j, "copay", b->copay);
	ctl_json_int(j, "approved_gpu_seconds", b->approved_gpu_seconds);
	ctl_json_int(j, "used_gpu_seconds", b->used_gpu_seconds);
	ctl_json_int(j, "held_gpus", b->held_gpus);
	ctl_json_int(j, "max_concurrent_gpus", b->max_concurrent_gpus);
	ctl_json_int(j, "runs", b->n_runs);
	ctl_json_int(j, "liens", b->n_liens);
	ctl_json_time(j, "window_start", b->window_start);
	ctl_json_time(j, "window_end", b->window_end);
}

struct bal_state {
	ctl_json j;
	ctl_table *t;
	int64_t n;
};

static int balance_cb(const aiss_balance *b, void *arg)
{
	struct bal_state *bs = arg;

	bs->n++;
	if (bs->j.f) {
		ctl_json_obj(&bs->j, NULL);
		balance_json_fields(&bs->j, b);
		ctl_json_obj_end(&bs->j);
	} else {
		char a[AISS_MONEY_BUFSZ], c[AISS_MONEY_BUFSZ],
		    h[AISS_MONEY_BUFSZ], ad[AISS_MONEY_BUFSZ],
		    r[AISS_MONEY_BUFSZ], gu[AISS_MONEY_BUFSZ],
		    ga[AISS_MONEY_BUFSZ], runs[24], liens[24];
		const char *row[10];

		snprintf(runs, sizeof(runs), "%" PRId64, b->n_runs);
		snprintf(liens, sizeof(liens), "%" PRId64, b->n_liens);
		row[0] = b->grant_id;
		row[1] = aiss_grant_state_name(b->state);
		row[2] = ctl_money(b->approved_subsidy, a);
		row[3] = ctl_money(b->charged_subsidy, c);
		row[4] = ctl_money(b->held_subsidy, h);
		row[5] = ctl_money(b->adjustments, ad);
		row[6] = ctl_money(b->remaining, r);
		{
			char gh[2 * AISS_MONEY_BUFSZ + 4];

			snprintf(gh, sizeof(gh), "%s / %s",
				 ctl_format_gpu_hours(b->used_gpu_seconds, gu,
						      sizeof(gu)),
				 ctl_format_gpu_hours(b->approved_gpu_seconds,
						      ga, sizeof(ga)));
			row[7] = gh;
			row[8] = runs;
			row[9] = liens;
			ctl_table_row(bs->t, row);
		}
	}
	return 0;
}

int cmd_balance(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {NULL};
	static const char *const heads[] = {
	    "GRANT",          "STATE",
	    "APPROVED (HK$)", "CHARGED",
	    "HELD",           "ADJUSTMENTS",
	    "REMAINING",      "GPU-HOURS USED / APPROVED",
	    "RUNS",           "LIENS"};
	static const bool right[] = {false, false, true, true, true,
				     true,  true,  true, true, true};
	ctl_opts o;
	aiss_error err;
	struct bal_state bs = {0};

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos > 1)
		return ctl_usage_error(x, "balance takes at most one GRANT");
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	if (x->json)
		ctl_json_init(&bs.j, stdout);
	else
		bs.t = ctl_table_new(10, heads, right);
	if (o.npos == 1) {
		aiss_balance b;

		if (aiss_client_balance(x->client, o.pos[0], &b, &err) < 0) {
			ctl_table_free(bs.t);
			return ctl_fail(x, "balance", &err);
		}
		if (x->json) {
			ctl_json_obj(&bs.j, NULL);
			balance_json_fields(&bs.j, &b);
			ctl_json_obj_end(&bs.j);
			ctl_json_done(&bs.j);
			return 0;
		}
		balance_cb(&b, &bs);
		ctl_table_print(bs.t, stdout);
		return 0;
	}
	if (x->json)
		ctl_json_arr(&bs.j, NULL);
	if (aiss_client_balance_list(x->client, balance_cb, &bs, &err) < 0) {
		ctl_table_free(bs.t);
		return ctl_fail(x, "balance", &err);
	}
	if (x->json) {
		ctl_json_arr_end(&bs.j);
		ctl_json_done(&bs.j);
	} else if (bs.n == 0) {
		ctl_table_free(bs.t);
		printf("no grants that you may see (users see the grants they "
		       "are members of)\n");
	} else {
		ctl_table_print(bs.t, stdout);
	}
	return 0;
}

static int entry_cb(const aiss_journal_entry *e, void *arg)
{
	struct bal_state *bs = arg;

	if (bs->j.f) {
		ctl_json_obj(&bs->j, NULL);
		ctl_json_int(&bs->j, "seq", e->seq);
		ctl_json_time(&bs->j, "at", e->at);
		ctl_json_str(&bs->j, "actor", e->actor);
		ctl_json_str(&bs->j, "kind", e->kind);
		ctl_json_str(&bs->j, "grant", e->grant_id);
		ctl_json_money(&bs->j, "amount", e->amount);
		ctl_json_str(&bs->j, "detail", e->detail);
		ctl_json_str(&bs->j, "prev_hash", e->prev_hash);
		ctl_json_str(&bs->j, "hash", e->hash);
		ctl_json_obj_end(&bs->j);
	} else {
		char seq[24], at[AISS_TIME_BUFSZ], m[AISS_MONEY_BUFSZ], h[16];
		const char *row[7];

		snprintf(seq, sizeof(seq), "%" PRId64, e->seq);
		snprintf(h, sizeof(h), "%.12s", e->hash);
		row[0] = seq;
		row[1] = ctl_when(e->at, at);
		row[2] = e->kind;
		row[3] = ctl_money(e->amount, m);
		row[4] = e->actor;
		row[5] = h;
		row[6] = e->detail;
		ctl_table_row(bs->t, row);
	}
	return 0;
}

int cmd_statement(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {NULL};
	static const char *const heads[] = {"SEQ",   "AT (HKT)", "KIND",  "HK$",
					    "ACTOR", "HASH",     "DETAIL"};
	static const bool right[] = {true,  false, false, true,
				     false, false, false};
	ctl_opts o;
	aiss_error err;
	aiss_balance b;
	struct bal_state bs = {0};

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos != 1)
		return ctl_usage_error(x, "statement wants one GRANT");
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	if (aiss_client_balance(x->client, o.pos[0], &b, &err) < 0)
		return ctl_fail(x, "statement", &err);
	if (x->json) {
		ctl_json_init(&bs.j, stdout);
		ctl_json_obj(&bs.j, NULL);
		ctl_json_obj(&bs.j, "balance");
		balance_json_fields(&bs.j, &b);
		ctl_json_obj_end(&bs.j);
		ctl_json_arr(&bs.j, "entries");
	} else {
		char a[AISS_MONEY_BUFSZ], c[AISS_MONEY_BUFSZ],
		    h[AISS_MONEY_BUFSZ], ad[AISS_MONEY_BUFSZ],
		    r[AISS_MONEY_BUFSZ];

		printf("statement of grant %s (%s)\n", b.grant_id,
		       aiss_grant_state_name(b.state));
		printf("  approved HK$%s - charged HK$%s - held HK$%s + "
		       "adjustments HK$%s = remaining HK$%s\n\n",
		       ctl_money(b.approved_subsidy, a),
		       ctl_money(b.charged_subsidy, c),
		       ctl_money(b.held_subsidy, h),
		       ctl_money(b.adjustments, ad), ctl_money(b.remaining, r));
		bs.t = ctl_table_new(7, heads, right);
	}
	if (aiss_client_statement(x->client, o.pos[0], entry_cb, &bs, &err) <
	    0) {
		ctl_table_free(bs.t);
		if (x->json)
			fputc('\n', stdout);
		return ctl_fail(x, "statement", &err);
	}
	if (x->json) {
		ctl_json_arr_end(&bs.j);
		ctl_json_obj_end(&bs.j);
		ctl_json_done(&bs.j);
	} else {
		ctl_table_print(bs.t, stdout);
	}
	return 0;
}

/* ---- adjust / journal ---- */

int cmd_adjust(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {"reason=", NULL};
	ctl_opts o;
	aiss_adjustment a, out;
	aiss_error err;
	const char *reason;
	char m[AISS_MONEY_BUFSZ];

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos != 2)
		return ctl_usage_error(x, "adjust wants a GRANT and an AMOUNT");
	memset(&a, 0, sizeof(a));
	COPY_FIELD(x, a.grant_id, o.pos[0], "the grant ID");
	if (ctl_arg_money(x, "AMOUNT", o.pos[1], &a.amount, true))
		return CTL_EXIT_USAGE;
	if (a.amount == 0)
		return ctl_usage_error(x, "an adjustment of zero changes "
					  "nothing");
	reason = ctl_opt(&o, "reason");
	if (!reason || !*reason)
		return ctl_usage_error(x, "--reason is required (it goes into "
					  "the journal)");
	COPY_FIELD(x, a.reason, reason, "--reason");
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	memset(&out, 0, sizeof(out));
	if (aiss_client_adjust(x->client, &a, &out, &err) < 0)
		return ctl_fail(x, "adjust", &err);
	if (x->json) {
		ctl_json j;

		ctl_json_init(&j, stdout);
		ctl_json_obj(&j, NULL);
		ctl_json_str(&j, "grant", out.grant_id);
		ctl_json_money(&j, "amount", out.amount);
		ctl_json_str(&j, "reason", out.reason);
		ctl_json_str(&j, "actor", out.actor);
		ctl_json_time(&j, "at", out.at);
		ctl_json_int(&j, "journal_seq", out.journal_seq);
		ctl_json_obj_end(&j);
		ctl_json_done(&j);
		return 0;
	}
	printf("grant %s %s HK$%s (journal entry %" PRId64 ", by %s)\n",
	       a.grant_id, a.amount > 0 ? "credited" : "debited",
	       ctl_money(a.amount > 0 ? a.amount : -a.amount, m),
	       out.journal_seq, out.actor[0] ? out.actor : "?");
	return 0;
}

int cmd_journal_verify(ctl_ctx *x, int argc, char **argv)
{
	aiss_verify_result v;
	aiss_error err;
	int rc = ctl_bare_command(x, argc, argv);

	if (rc)
		return rc;
	aiss_error_clear(&err);
	memset(&v, 0, sizeof(v));
	if (aiss_client_journal_verify(x->client, &v, &err) < 0)
		return ctl_fail(x, "journal verify", &err);
	if (x->json) {
		ctl_json j;

		ctl_json_init(&j, stdout);
		ctl_json_obj(&j, NULL);
		ctl_json_bool(&j, "ok", v.ok);
		ctl_json_int(&j, "entries", v.n_entries);
		ctl_json_int(&j, "first_bad_seq", v.first_bad_seq);
		ctl_json_str(&j, "reason", v.reason);
		ctl_json_obj_end(&j);
		ctl_json_done(&j);
	} else if (v.ok) {
		printf("journal verified: %" PRId64 " entries, hash chain "
		       "intact\n",
		       v.n_entries);
	} else {
		printf("journal BROKEN at entry %" PRId64 " of %" PRId64
		       ": %s\n",
		       v.first_bad_seq, v.n_entries, v.reason);
	}
	/* A broken chain is a finding, not a usage error: exit 1. */
	return v.ok ? 0 : CTL_EXIT_REFUSED;
}

/* ---- the daemon itself ---- */

int cmd_server_status(ctl_ctx *x, int argc, char **argv)
{
	aiss_server_status st;
	aiss_error err;
	int rc = ctl_bare_command(x, argc, argv);

	if (rc)
		return rc;
	aiss_error_clear(&err);
	memset(&st, 0, sizeof(st));
	if (aiss_client_server_status(x->client, &st, &err) < 0)
		return ctl_fail(x, "server status", &err);
	if (x->json) {
		ctl_json j;

		ctl_json_init(&j, stdout);
		ctl_json_obj(&j, NULL);
		ctl_json_int(&j, "pid", st.pid);
		ctl_json_time(&j, "started_at", st.started_at);
		ctl_json_time(&j, "as_of", st.as_of);
		ctl_json_int(&j, "uptime_s", st.as_of - st.started_at);
		ctl_json_str(&j, "ledger", st.ledger);
		ctl_json_bool(&j, "writes_ok", st.writes_ok);
		ctl_json_str(&j, "writes_error", st.writes_error);
		ctl_json_int(&j, "requests", (int64_t)st.requests);
		ctl_json_int(&j, "group_commits", (int64_t)st.group_commits);
		ctl_json_int(&j, "replays", (int64_t)st.replays);
		ctl_json_int(&j, "connections_open",
			     (int64_t)st.connections_open);
		ctl_json_int(&j, "connections", (int64_t)st.connections);
		ctl_json_int(&j, "protocol_errors",
			     (int64_t)st.protocol_errors);
		ctl_json_obj_end(&j);
		ctl_json_done(&j);
	} else {
		char t[AISS_TIME_BUFSZ], up[32];

		printf("aissd        pid %" PRId32 ", up %s (since %s HKT)\n",
		       st.pid,
		       ctl_format_duration(st.as_of - st.started_at, up,
					   sizeof(up)),
		       ctl_when(st.started_at, t));
		printf("ledger       %s\n", st.ledger);
		if (st.writes_ok)
			printf("changes      accepted\n");
		else
			printf("changes      REFUSED: %s\n", st.writes_error);
		printf("requests     %" PRIu64 " in %" PRIu64
		       " group commits (%.1f per commit), %" PRIu64
		       " run again\n",
		       st.requests, st.group_commits,
		       st.group_commits
			   ? (double)st.requests / (double)st.group_commits
			   : 0.0,
		       st.replays);
		printf("connections  %" PRIu64 " open, %" PRIu64
		       " accepted, %" PRIu64 " protocol errors\n",
		       st.connections_open, st.connections, st.protocol_errors);
	}
	/* Refusing changes is a finding for monitoring: exit 1. */
	return st.writes_ok ? 0 : CTL_EXIT_REFUSED;
}

/* ---- capacity ---- */

struct cap_state {
	ctl_json j;
	ctl_table *t;
	int64_t pass_gflops, all_gflops, nodes, pass_nodes, gpus;
};

static int cap_cb(const aiss_capacity *c, void *arg)
{
	struct cap_state *cs = arg;

	cs->nodes++;
	cs->all_gflops += c->bf16_gflops;
	if (c->pass) {
		cs->pass_nodes++;
		cs->pass_gflops += c->bf16_gflops;
		cs->gpus += c->n_gpus;
	}
	if (cs->j.f) {
		ctl_json_obj(&cs->j, NULL);
		ctl_json_str(&cs->j, "node", c->node);
		ctl_json_time(&cs->j, "at", c->at);
		ctl_json_bool(&cs->j, "pass", c->pass);
		ctl_json_int(&cs->j, "gpus", c->n_gpus);
		ctl_json_int(&cs->j, "bf16_gflops", c->bf16_gflops);
		ctl_json_str(&cs->j, "summary", c->summary);
		ctl_json_obj_end(&cs->j);
	} else {
		char at[AISS_TIME_BUFSZ], g[24], tf[32];
		const char *row[6];

		snprintf(g, sizeof(g), "%" PRId32, c->n_gpus);
		snprintf(tf, sizeof(tf), "%" PRId64 ".%01" PRId64,
			 c->bf16_gflops / 1000, c->bf16_gflops % 1000 / 100);
		row[0] = c->node;
		row[1] = c->pass ? "pass" : "FAIL";
		row[2] = g;
		row[3] = tf;
		row[4] = ctl_when(c->at, at);
		row[5] = c->summary;
		ctl_table_row(cs->t, row);
	}
	return 0;
}

int cmd_capacity(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {NULL};
	static const char *const heads[] = {"NODE",          "RESULT",
					    "GPUS",          "BF16 TFLOPS",
					    "CHECKED (HKT)", "SUMMARY"};
	static const bool right[] = {false, false, true, true, false, false};
	ctl_opts o;
	aiss_error err;
	struct cap_state cs = {0};
	/* PFLOPS with one decimal, from GFLOPS (10^6 GFLOPS per PFLOPS). */
	int64_t p10, p100, pct100;

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	if (x->json) {
		ctl_json_init(&cs.j, stdout);
		ctl_json_obj(&cs.j, NULL);
		ctl_json_arr(&cs.j, "nodes");
	} else {
		cs.t = ctl_table_new(6, heads, right);
	}
	aiss_error_clear(&err);
	if (aiss_client_capacity_list(x->client, cap_cb, &cs, &err) < 0) {
		ctl_table_free(cs.t);
		if (x->json)
			fputc('\n', stdout);
		return ctl_fail(x, "capacity", &err);
	}
	p10 = cs.pass_gflops / 100000;
	if (x->json) {
		ctl_json_arr_end(&cs.j);
		ctl_json_int(&cs.j, "nodes_checked", cs.nodes);
		ctl_json_int(&cs.j, "nodes_passed", cs.pass_nodes);
		ctl_json_int(&cs.j, "gpus_passed", cs.gpus);
		ctl_json_int(&cs.j, "measured_bf16_gflops", cs.pass_gflops);
		ctl_json_int(&cs.j, "measured_pflops_tenths", p10);
		ctl_json_int(&cs.j, "target_pflops", CTL_TARGET_PFLOPS);
		ctl_json_obj_end(&cs.j);
		ctl_json_done(&cs.j);
		return 0;
	}
	ctl_table_print(cs.t, stdout);
	/* Hundredths of a PFLOPS and of a per cent, so that one node of
	 * 8 GPUs (about 7 PFLOPS, 0.23%) does not print as 0.0%. */
	p100 = cs.pass_gflops / 10000;
	pct100 = cs.pass_gflops / (CTL_TARGET_PFLOPS * (int64_t)100);
	printf("\ncentre: %" PRId64 " of %" PRId64 " nodes pass (%" PRId64
	       " GPUs); measured %" PRId64 ".%02" PRId64
	       " PFLOPS (dense BF16, passing nodes) against the %d PFLOPS "
	       "target (%" PRId64 ".%02" PRId64 "%%)\n",
	       cs.pass_nodes, cs.nodes, cs.gpus, p100 / 100, p100 % 100,
	       CTL_TARGET_PFLOPS, pct100 / 100, pct100 % 100);
	return 0;
}

/* Records a node's capacity check by hand (aiss-gpucheck does it itself). */
int cmd_capacity_record(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {
	    "gpus=", "bf16-gflops=", "pass", "fail", "summary=", "at=", NULL};
	ctl_opts o;
	aiss_capacity cap;
	aiss_error err;
	const char *v;
	int64_t n;

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos != 1)
		return ctl_usage_error(x, "capacity record wants one NODE");
	memset(&cap, 0, sizeof(cap));
	COPY_FIELD(x, cap.node, o.pos[0], "the node name");
	if (!!ctl_opt(&o, "pass") == !!ctl_opt(&o, "fail"))
		return ctl_usage_error(x,
				       "give exactly one of --pass or --fail");
	cap.pass = ctl_opt(&o, "pass") ? 1 : 0;
	if (!(v = ctl_opt(&o, "gpus")))
		return ctl_usage_error(x, "--gpus is required");
	if (ctl_arg_count(x, "--gpus", v, &n))
		return CTL_EXIT_USAGE;
	if (n > 1024)
		return ctl_usage_error(x, "--gpus %s is absurd for one node",
				       v);
	cap.n_gpus = (int32_t)n;
	if (!(v = ctl_opt(&o, "bf16-gflops")))
		return ctl_usage_error(x, "--bf16-gflops is required (measured "
					  "dense BF16, whole node)");
	if (ctl_arg_count(x, "--bf16-gflops", v, &cap.bf16_gflops))
		return CTL_EXIT_USAGE;
	if ((v = ctl_opt(&o, "summary")))
		COPY_FIELD(x, cap.summary, v, "--summary");
	if (ctl_arg_when(x, "--at",
			 ctl_opt(&o, "at") ? ctl_opt(&o, "at") : "now",
			 &cap.at))
		return CTL_EXIT_USAGE;
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	if (aiss_client_capacity_put(x->client, &cap, &err) < 0)
		return ctl_fail(x, "capacity record", &err);
	printf("node %s: capacity check recorded (%s, %" PRId32 " GPUs)\n",
	       cap.node, cap.pass ? "pass" : "FAIL", cap.n_gpus);
	return 0;
}

/* ---- charges (finance export; used by the crash test too) ---- */

struct charge_state {
	ctl_json j;
	ctl_table *t;
	int64_t n;
	aiss_cents_t list, subsidy, copay;
};

static int charge_cb(const aiss_charge_rec *c, void *arg)
{
	struct charge_state *cs = arg;

	cs->n++;
	cs->list += c->charge.list_cost;
	cs->subsidy += c->charge.subsidy;
	cs->copay += c->charge.copay;
	if (cs->j.f) {
		ctl_json_obj(&cs->j, NULL);
		charge_rec_json(&cs->j, c);
		ctl_json_obj_end(&cs->j);
	} else {
		char key[AISS_ID_MAX + 48], gh[AISS_MONEY_BUFSZ],
		    l[AISS_MONEY_BUFSZ], s[AISS_MONEY_BUFSZ],
		    cp[AISS_MONEY_BUFSZ], e[AISS_TIME_BUFSZ];
		const char *row[8] = {
		    aiss_run_key_format(&c->key, key, sizeof(key)),
		    c->grant_id,
		    ctl_when(c->end, e),
		    c->end_state,
		    ctl_format_gpu_hours(c->charge.gpu_seconds, gh, sizeof(gh)),
		    ctl_money(c->charge.list_cost, l),
		    ctl_money(c->charge.subsidy, s),
		    ctl_money(c->charge.copay, cp)};

		ctl_table_row(cs->t, row);
	}
	return 0;
}

int cmd_charges(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {"from=", "to=", NULL};
	static const char *const heads[] = {
	    "RUN",       "GRANT",      "ENDED (HKT)", "STATE",
	    "GPU-HOURS", "LIST (HK$)", "SUBSIDY",     "CO-PAYMENT"};
	static const bool right[] = {false, false, false, false,
				     true,  true,  true,  true};
	ctl_opts o;
	aiss_error err;
	aiss_time_t from = 0, to = 0;
	const char *v;
	struct charge_state cs = {0};

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos)
		return ctl_usage_error(x, "unexpected argument '%s'", o.pos[0]);
	if ((v = ctl_opt(&o, "from")) && ctl_arg_when(x, "--from", v, &from))
		return CTL_EXIT_USAGE;
	if ((v = ctl_opt(&o, "to")) && ctl_arg_when(x, "--to", v, &to))
		return CTL_EXIT_USAGE;
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	if (x->json) {
		ctl_json_init(&cs.j, stdout);
		ctl_json_arr(&cs.j, NULL);
	} else {
		cs.t = ctl_table_new(8, heads, right);
	}
	aiss_error_clear(&err);
	if (aiss_client_charge_export(x->client, from, to, charge_cb, &cs,
				      &err) < 0) {
		ctl_table_free(cs.t);
		if (x->json)
			fputc('\n', stdout);
		return ctl_fail(x, "charges", &err);
	}
	if (x->json) {
		ctl_json_arr_end(&cs.j);
		ctl_json_done(&cs.j);
	} else {
		char l[AISS_MONEY_BUFSZ], s[AISS_MONEY_BUFSZ],
		    cp[AISS_MONEY_BUFSZ];

		ctl_table_print(cs.t, stdout);
		printf("\n%" PRId64 " runs: list HK$%s, subsidy HK$%s, "
		       "co-payment HK$%s\n",
		       cs.n, ctl_money(cs.list, l), ctl_money(cs.subsidy, s),
		       ctl_money(cs.copay, cp));
	}
	return 0;
}
