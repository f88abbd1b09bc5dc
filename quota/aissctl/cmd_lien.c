/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_lien.c: aissctl lien list and lien expire: open liens, which of them
 * are stale (the run should have ended long ago), and releasing those. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct lien_out {
	ctl_list ls;
	int64_t n_stale;
	aiss_cents_t held, stale_held;
	int expired; /* lien expire: the items were released */
} lien_out;

/* "3d 04:05:06"-style age; "-" when negative (a clock ahead of aissd). */
static char *lien_age(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else
		ctl_format_duration(s ? s : 1, buf, len);
	return buf;
}

static int lien_cb(const aiss_lien_info *it, void *arg)
{
	lien_out *o = arg;
	const aiss_lien *l = &it->lien;
	char key[AISS_ID_MAX + 48];

	o->ls.n++;
	o->held += l->held_subsidy;
	if (it->stale) {
		o->n_stale++;
		o->stale_held += l->held_subsidy;
	}
	aiss_run_key_format(&l->key, key, sizeof(key));
	if (o->ls.j.f) {
		ctl_json *j = &o->ls.j;

		ctl_json_obj(j, NULL);
		ctl_json_str(j, "run", key);
		ctl_json_str(j, "cluster", l->key.cluster);
		ctl_json_int(j, "job_id", (int64_t)l->key.job_id);
		ctl_json_time(j, "run_start", l->key.run_start);
		ctl_json_str(j, "grant", l->grant_id);
		ctl_json_str(j, "account", it->account);
		ctl_json_str(j, "user", it->user);
		ctl_json_str(j, "gpu_type", l->gpu_type);
		ctl_json_int(j, "gpus", l->gpus);
		ctl_json_int(j, "time_limit", l->time_limit);
		ctl_json_money(j, "price_per_gpu_hour", l->price);
		ctl_json_money(j, "held_subsidy", l->held_subsidy);
		ctl_json_time(j, "reserved_at", it->created_at);
		ctl_json_int(j, "age", it->as_of - l->key.run_start);
		ctl_json_time(j, "stale_at", it->stale_at);
		ctl_json_bool(j, "stale", it->stale != 0);
		if (o->expired)
			ctl_json_str(j, "state", "expired");
		ctl_json_obj_end(j);
	} else {
		char gpus[AISS_ID_MAX + 24], st[AISS_TIME_BUFSZ], tl[32],
		    m[AISS_MONEY_BUFSZ], age[32];
		const char *row[10];

		snprintf(gpus, sizeof(gpus), "%s x %" PRId64, l->gpu_type,
			 l->gpus);
		row[0] = key;
		row[1] = l->grant_id;
		row[2] = it->account;
		row[3] = it->user;
		row[4] = gpus;
		row[5] = ctl_when(l->key.run_start, st);
		row[6] = ctl_format_duration(l->time_limit, tl, sizeof(tl));
		row[7] = ctl_money(l->held_subsidy, m);
		row[8] =
		    lien_age(it->as_of - l->key.run_start, age, sizeof(age));
		row[9] = o->expired ? "expired" : it->stale ? "STALE" : "-";
		ctl_table_row(o->ls.t, row);
	}
	return 0;
}

static const char *const lien_heads[] = {
    "RUN",           "GRANT",      "ACCOUNT",    "USER", "GPUS",
    "STARTED (HKT)", "TIME LIMIT", "HELD (HK$)", "AGE",  "STALE"};
static const bool lien_right[] = {false, false, false, false, false,
				  false, true,  true,  true,  false};

/* The optional GRANT of lien list/expire into *@grant (NULL: all);
 * non-zero after a usage error. */
static int grant_arg(ctl_ctx *x, const ctl_opts *opts, const char *verb,
		     const char **grant)
{
	*grant = opts->npos ? opts->pos[0] : NULL;
	if (opts->npos > 1)
		return ctl_usage_error(x,
				       "lien %s takes at most one GRANT, "
				       "not '%s'",
				       verb, opts->pos[1]);
	if (*grant && strlen(*grant) >= AISS_ID_MAX)
		return ctl_usage_error(x,
				       "grant id is too long (at most %d "
				       "characters)",
				       AISS_ID_MAX - 1);
	return 0;
}

int cmd_lien_list(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {"stale", NULL};
	const char *grant;
	lien_out o = {0};
	ctl_opts opts;
	aiss_error err;
	char m1[AISS_MONEY_BUFSZ], m2[AISS_MONEY_BUFSZ];

	PARSE_OPTS(x, &opts, argc, argv, spec);
	if (grant_arg(x, &opts, "list", &grant))
		return CTL_EXIT_USAGE;
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	ctl_list_begin(&o.ls, x->json, 10, lien_heads, lien_right);
	aiss_error_clear(&err);
	if (aiss_client_lien_list(x->client, grant,
				  ctl_opt(&opts, "stale") != NULL, lien_cb, &o,
				  &err) < 0) {
		ctl_list_abort(&o.ls);
		return ctl_fail(x, "lien list", &err);
	}
	if (x->json) {
		ctl_list_end(&o.ls, NULL);
		return 0;
	}
	ctl_list_end(&o.ls, ctl_opt(&opts, "stale") ? "no stale liens"
						    : "no open liens");
	if (o.ls.n)
		printf("\n%" PRId64 " open %s HK$%s; %" PRId64
		       " stale (HK$%s)%s\n",
		       o.ls.n, o.ls.n == 1 ? "lien holds" : "liens hold",
		       ctl_money(o.held, m1), o.n_stale,
		       ctl_money(o.stale_held, m2),
		       o.n_stale ? ": release them with aissctl lien expire "
				   "(an administrator), or one with aissctl "
				   "release --cluster C --job ID --start @EPOCH"
				 : "");
	return 0;
}

int cmd_lien_expire(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {"dry-run", NULL};
	const char *grant;
	int dry;
	lien_out o = {0};
	ctl_opts opts;
	aiss_error err;
	char m[AISS_MONEY_BUFSZ];

	PARSE_OPTS(x, &opts, argc, argv, spec);
	if (grant_arg(x, &opts, "expire", &grant))
		return CTL_EXIT_USAGE;
	dry = ctl_opt(&opts, "dry-run") != NULL;
	o.expired = !dry;
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	ctl_list_begin(&o.ls, x->json, 10, lien_heads, lien_right);
	aiss_error_clear(&err);
	if (aiss_client_lien_expire(x->client, grant, dry, lien_cb, &o, &err) <
	    0) {
		/* Pages already answered were expired (and journalled). */
		ctl_list_abort(&o.ls);
		if (!dry && o.ls.n)
			fprintf(stderr,
				"aissctl: %" PRId64 " stale liens were "
				"released before the error below\n",
				o.ls.n);
		return ctl_fail(x, "lien expire", &err);
	}
	if (x->json) {
		ctl_list_end(&o.ls, NULL);
		return 0;
	}
	ctl_list_end(&o.ls, "no stale liens");
	if (o.ls.n)
		printf("\n%s %" PRId64 " stale liens, HK$%s held%s\n",
		       dry ? "would release" : "released", o.ls.n,
		       ctl_money(o.held, m),
		       dry ? " (nothing changed: run without --dry-run)"
			   : "; each is in the journal as lien.expire, and a "
			     "settle that arrives later is still charged "
			     "once");
	return 0;
}
