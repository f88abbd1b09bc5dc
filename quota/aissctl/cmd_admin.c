/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_admin.c: aissctl's administration commands: scheme, earmarks,
 * institutions, grants and list prices. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ctl_arg_money(ctl_ctx *x, const char *what, const char *s,
		  aiss_cents_t *out, bool allow_negative)
{
	if (aiss_money_parse(s, out) < 0)
		return ctl_usage_error(x,
				       "%s '%s' is not an amount (write "
				       "HK$ like 1,234.56)",
				       what, s);
	if (!allow_negative && *out < 0)
		return ctl_usage_error(x, "%s must not be negative (got %s)",
				       what, s);
	return 0;
}

int ctl_arg_when(ctl_ctx *x, const char *what, const char *s, aiss_time_t *out)
{
	if (ctl_parse_when(s, out) < 0)
		return ctl_usage_error(x,
				       "%s '%s' is not an instant (write "
				       "2025-04-01, \"2025-04-01 09:00\" "
				       "(HKT), @EPOCH or now)",
				       what, s);
	return 0;
}

int ctl_arg_count(ctl_ctx *x, const char *what, const char *s, int64_t *out)
{
	if (ctl_parse_count(s, out) < 0)
		return ctl_usage_error(x, "%s '%s' is not a whole number", what,
				       s);
	return 0;
}

/* ---- scheme ---- */

int cmd_scheme_init(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {
	    "commitment=", "name=", "start=", "end=", NULL};
	ctl_opts o;
	aiss_scheme s;
	aiss_error err;
	const char *v;

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos)
		return ctl_usage_error(x, "unexpected argument '%s'", o.pos[0]);
	memset(&s, 0, sizeof(s));
	if (!(v = ctl_opt(&o, "commitment")))
		return ctl_usage_error(x, "--commitment is required (the "
					  "scheme's approved commitment, e.g. "
					  "3000000000.00)");
	if (ctl_arg_money(x, "--commitment", v, &s.commitment, false))
		return CTL_EXIT_USAGE;
	COPY_FIELD(x, s.name,
		   ctl_opt(&o, "name") ? ctl_opt(&o, "name")
				       : "AI Subsidy Scheme",
		   "--name");
	if ((v = ctl_opt(&o, "start")) &&
	    ctl_arg_when(x, "--start", v, &s.start))
		return CTL_EXIT_USAGE;
	if ((v = ctl_opt(&o, "end")) && ctl_arg_when(x, "--end", v, &s.end))
		return CTL_EXIT_USAGE;
	/* Defaults: the scheme runs three years from the centre's opening,
	 * 2024-12-01 00:00 HKT, or from --start. */
	if (!s.start)
		s.start = 1732982400;
	if (!s.end) {
		int64_t y;
		unsigned m, d;
		aiss_time_t hk = s.start + AISS_HKT_OFFSET;

		aiss_civil_from_days(hk / 86400, &y, &m, &d);
		s.end =
		    aiss_days_from_civil(y + 3, m, m == 2 && d == 29 ? 28 : d) *
			86400 +
		    hk % 86400 - AISS_HKT_OFFSET;
	}
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	if (aiss_client_scheme_init(x->client, &s, &err) < 0)
		return ctl_fail(x, "scheme init", &err);
	{
		char m[AISS_MONEY_BUFSZ];

		printf("scheme '%s' initialised: commitment HK$%s\n", s.name,
		       ctl_money(s.commitment, m));
	}
	return 0;
}

static int earmark_collect(const aiss_earmark *e, void *arg)
{
	ctl_json *j = arg;
	char m[AISS_MONEY_BUFSZ];

	if (j->f) {
		ctl_json_obj(j, NULL);
		ctl_json_str(j, "name", e->name);
		ctl_json_money(j, "amount", e->amount);
		ctl_json_obj_end(j);
	} else {
		printf("  earmark %-30s HK$%s\n", e->name,
		       ctl_money(e->amount, m));
	}
	return 0;
}

int cmd_scheme_show(ctl_ctx *x, int argc, char **argv)
{
	aiss_scheme s;
	aiss_error err;
	aiss_cents_t uncommitted, balance;
	int rc = ctl_bare_command(x, argc, argv);

	if (rc)
		return rc;
	aiss_error_clear(&err);
	if (aiss_client_scheme_get(x->client, &s, &err) < 0)
		return ctl_fail(x, "scheme show", &err);
	uncommitted = s.commitment - s.earmarked - s.approved_total;
	balance = s.commitment - s.charged_total;
	if (x->json) {
		ctl_json j;

		ctl_json_init(&j, stdout);
		ctl_json_obj(&j, NULL);
		ctl_json_str(&j, "name", s.name);
		ctl_json_money(&j, "commitment", s.commitment);
		ctl_json_time(&j, "start", s.start);
		ctl_json_time(&j, "end", s.end);
		ctl_json_money(&j, "earmarked", s.earmarked);
		ctl_json_money(&j, "approved", s.approved_total);
		ctl_json_money(&j, "uncommitted", uncommitted);
		ctl_json_money(&j, "charged", s.charged_total);
		ctl_json_money(&j, "held", s.held_total);
		ctl_json_money(&j, "balance", balance);
		ctl_json_int(&j, "grants", s.n_grants);
		ctl_json_arr(&j, "earmarks");
		aiss_client_earmark_list(x->client, earmark_collect, &j, &err);
		ctl_json_arr_end(&j);
		ctl_json_obj_end(&j);
		ctl_json_done(&j);
	} else {
		char m[AISS_MONEY_BUFSZ], t1[AISS_TIME_BUFSZ],
		    t2[AISS_TIME_BUFSZ];
		ctl_json none = {0};

		printf("scheme       %s\n", s.name);
		printf("window       %s .. %s (HKT)\n", ctl_when(s.start, t1),
		       ctl_when(s.end, t2));
		printf("commitment   HK$%20s\n", ctl_money(s.commitment, m));
		printf("earmarked    HK$%20s\n", ctl_money(s.earmarked, m));
		printf("approved     HK$%20s  (%" PRId64 " grants)\n",
		       ctl_money(s.approved_total, m), s.n_grants);
		printf("uncommitted  HK$%20s  (commitment - earmarked - "
		       "approved)\n",
		       ctl_money(uncommitted, m));
		printf("charged      HK$%20s  (expenditure: subsidy charged, "
		       "net of adjustments)\n",
		       ctl_money(s.charged_total, m));
		printf("held         HK$%20s  (open liens)\n",
		       ctl_money(s.held_total, m));
		printf("balance      HK$%20s  (commitment - charged)\n",
		       ctl_money(balance, m));
		aiss_client_earmark_list(x->client, earmark_collect, &none,
					 &err);
	}
	return 0;
}

int cmd_earmark_set(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {NULL};
	ctl_opts o;
	aiss_earmark e;
	aiss_error err;
	char m[AISS_MONEY_BUFSZ];

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos != 2)
		return ctl_usage_error(x, "earmark set wants a NAME and an "
					  "AMOUNT");
	memset(&e, 0, sizeof(e));
	COPY_FIELD(x, e.name, o.pos[0], "the earmark name");
	if (ctl_arg_money(x, "AMOUNT", o.pos[1], &e.amount, false))
		return CTL_EXIT_USAGE;
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	if (aiss_client_earmark_set(x->client, &e, &err) < 0)
		return ctl_fail(x, "earmark set", &err);
	printf("earmark '%s' set to HK$%s\n", e.name, ctl_money(e.amount, m));
	return 0;
}

int cmd_earmark_list(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {NULL};
	ctl_opts o;
	aiss_error err;
	ctl_json j = {0};

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	if (x->json) {
		ctl_json_init(&j, stdout);
		ctl_json_arr(&j, NULL);
	}
	if (aiss_client_earmark_list(x->client, earmark_collect, &j, &err) < 0)
		return ctl_fail(x, "earmark list", &err);
	if (x->json) {
		ctl_json_arr_end(&j);
		ctl_json_done(&j);
	}
	return 0;
}

/* ---- institutions ---- */

int cmd_institution_add(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {"type=", NULL};
	ctl_opts o;
	aiss_institution in;
	aiss_error err;
	const char *t;

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos != 1)
		return ctl_usage_error(x, "institution add wants one NAME "
					  "(quote names with spaces)");
	memset(&in, 0, sizeof(in));
	COPY_FIELD(x, in.name, o.pos[0], "the institution name");
	if (!(t = ctl_opt(&o, "type")))
		return ctl_usage_error(x, "--type is required");
	if (aiss_inst_type_parse(t, &in.type) < 0)
		return ctl_usage_error(x,
				       "--type '%s' is not one of "
				       "university, rd-centre, enterprise, "
				       "government",
				       t);
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	if (aiss_client_institution_add(x->client, &in, &err) < 0)
		return ctl_fail(x, "institution add", &err);
	printf("institution '%s' added (%s)\n", in.name,
	       aiss_inst_type_name(in.type));
	return 0;
}

static int inst_cb(const aiss_institution *in, void *arg)
{
	ctl_list *ls = arg;

	ls->n++;
	if (ls->j.f) {
		ctl_json_obj(&ls->j, NULL);
		ctl_json_str(&ls->j, "name", in->name);
		ctl_json_str(&ls->j, "type", aiss_inst_type_name(in->type));
		ctl_json_obj_end(&ls->j);
	} else {
		const char *row[2] = {in->name, aiss_inst_type_name(in->type)};

		ctl_table_row(ls->t, row);
	}
	return 0;
}

int cmd_institution_list(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {NULL};
	static const char *const heads[] = {"INSTITUTION", "TYPE"};
	ctl_opts o;
	aiss_error err;
	ctl_list ls = {0};

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	ctl_list_begin(&ls, x->json, 2, heads, NULL);
	aiss_error_clear(&err);
	if (aiss_client_institution_list(x->client, inst_cb, &ls, &err) < 0) {
		ctl_list_abort(&ls);
		return ctl_fail(x, "institution list", &err);
	}
	ctl_list_end(&ls, NULL);
	return 0;
}

/* ---- grants ---- */

static const char *const grant_spec[] = {
    "institution=", "account=", "accounts=", "members=",   "gpu-types=",
    "gpu-type=",    "rate=",    "rate-bp=",  "gpu-hours=", "subsidy=",
    "start=",       "end=",     "max-gpus=", NULL};

/* Overlays the grant options in @o onto @g. Returns 0 or 2 (usage). */
static int grant_apply_opts(ctl_ctx *x, const ctl_opts *o, aiss_grant *g)
{
	const char *v;
	int64_t n;

	if ((v = ctl_opt(o, "institution")))
		COPY_FIELD(x, g->institution, v, "--institution");
	if ((v = ctl_opt(o, "account")) || (v = ctl_opt(o, "accounts")))
		COPY_FIELD(x, g->accounts, v, "--account");
	if ((v = ctl_opt(o, "members")))
		COPY_FIELD(x, g->members, v, "--members");
	if ((v = ctl_opt(o, "gpu-types")) || (v = ctl_opt(o, "gpu-type")))
		COPY_FIELD(x, g->gpu_types, v, "--gpu-types");
	if (ctl_opt(o, "rate") && ctl_opt(o, "rate-bp"))
		return ctl_usage_error(x, "give --rate or --rate-bp, not both");
	if ((v = ctl_opt(o, "rate"))) {
		if (ctl_parse_rate_percent(v, &n) < 0)
			return ctl_usage_error(x,
					       "--rate '%s' is not a "
					       "percentage like 70%%",
					       v);
		g->rate_bp = n > INT32_MAX ? INT32_MAX : (int32_t)n;
	}
	if ((v = ctl_opt(o, "rate-bp"))) {
		if (ctl_parse_count(v, &n) < 0)
			return ctl_usage_error(x,
					       "--rate-bp '%s' is not a "
					       "whole number of basis "
					       "points (7000 = 70%%)",
					       v);
		g->rate_bp = n > INT32_MAX ? INT32_MAX : (int32_t)n;
	}
	if ((v = ctl_opt(o, "gpu-hours")) &&
	    ctl_parse_gpu_hours(v, &g->approved_gpu_seconds) < 0)
		return ctl_usage_error(x,
				       "--gpu-hours '%s' is not a number "
				       "of GPU-hours",
				       v);
	if ((v = ctl_opt(o, "subsidy")) &&
	    ctl_arg_money(x, "--subsidy", v, &g->approved_subsidy, false))
		return CTL_EXIT_USAGE;
	if ((v = ctl_opt(o, "start")) &&
	    ctl_arg_when(x, "--start", v, &g->window_start))
		return CTL_EXIT_USAGE;
	if ((v = ctl_opt(o, "end")) &&
	    ctl_arg_when(x, "--end", v, &g->window_end))
		return CTL_EXIT_USAGE;
	if ((v = ctl_opt(o, "max-gpus"))) {
		if (ctl_arg_count(x, "--max-gpus", v, &n))
			return CTL_EXIT_USAGE;
		if (n > AISS_GPUS_LIMIT)
			return ctl_usage_error(x,
					       "--max-gpus %s is absurd "
					       "(at most %d)",
					       v, AISS_GPUS_LIMIT);
		g->max_concurrent_gpus = (int32_t)n;
	}
	return 0;
}

int cmd_grant_add(ctl_ctx *x, int argc, char **argv)
{
	static const char *const required[] = {
	    "institution", "gpu-hours", "subsidy", "start", "end", NULL};
	ctl_opts o;
	aiss_grant g;
	aiss_error err;
	char m[AISS_MONEY_BUFSZ], r[16];

	PARSE_OPTS(x, &o, argc, argv, grant_spec);
	if (o.npos != 1)
		return ctl_usage_error(x, "grant add wants one grant ID, e.g. "
					  "AISS-2025-0007");
	for (int i = 0; required[i]; i++)
		if (!ctl_opt(&o, required[i]))
			return ctl_usage_error(x, "--%s is required",
					       required[i]);
	if (!ctl_opt(&o, "account") && !ctl_opt(&o, "accounts"))
		return ctl_usage_error(x, "--account is required (the Slurm "
					  "account(s) the grant pays for)");
	if (!ctl_opt(&o, "gpu-types") && !ctl_opt(&o, "gpu-type"))
		return ctl_usage_error(x, "--gpu-types is required (e.g. "
					  "h100,h800)");
	memset(&g, 0, sizeof(g));
	COPY_FIELD(x, g.id, o.pos[0], "the grant ID");
	g.rate_bp = AISS_RATE_DEFAULT_BP;
	g.state = AISS_GRANT_ACTIVE;
	if (grant_apply_opts(x, &o, &g))
		return CTL_EXIT_USAGE;
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	if (aiss_client_grant_add(x->client, &g, &err) < 0)
		return ctl_fail(x, "grant add", &err);
	printf("grant %s approved: subsidy HK$%s at %s for %s\n", g.id,
	       ctl_money(g.approved_subsidy, m), ctl_rate(g.rate_bp, r, 16),
	       g.institution);
	return 0;
}

int cmd_grant_modify(ctl_ctx *x, int argc, char **argv)
{
	ctl_opts o;
	aiss_grant g;
	aiss_error err;
	aiss_cents_t before;
	char m[AISS_MONEY_BUFSZ], m2[AISS_MONEY_BUFSZ];

	PARSE_OPTS(x, &o, argc, argv, grant_spec);
	if (o.npos != 1)
		return ctl_usage_error(x, "grant modify wants one grant ID");
	if (o.n == 0)
		return ctl_usage_error(x, "nothing to change: give at least "
					  "one option");
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	if (aiss_client_grant_get(x->client, o.pos[0], &g, &err) < 0)
		return ctl_fail(x, "grant modify", &err);
	before = g.approved_subsidy;
	if (grant_apply_opts(x, &o, &g))
		return CTL_EXIT_USAGE;
	if (aiss_client_grant_modify(x->client, &g, &err) < 0)
		return ctl_fail(x, "grant modify", &err);
	if (g.approved_subsidy > before)
		printf("grant %s modified: topped up from HK$%s to HK$%s\n",
		       g.id, ctl_money(before, m),
		       ctl_money(g.approved_subsidy, m2));
	else
		printf("grant %s modified\n", g.id);
	return 0;
}

static int grant_state_cmd(ctl_ctx *x, int argc, char **argv,
			   aiss_grant_state st, bool need_reason)
{
	static const char *const spec[] = {"reason=", NULL};
	ctl_opts o;
	aiss_error err;
	const char *reason;

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos != 1)
		return ctl_usage_error(x, "wants one grant ID");
	reason = ctl_opt(&o, "reason");
	if (need_reason && (!reason || !*reason))
		return ctl_usage_error(x, "--reason is required (it goes into "
					  "the journal)");
	if (reason && strlen(reason) >= AISS_TEXT_MAX)
		return ctl_usage_error(x,
				       "--reason is too long (at most %d "
				       "characters)",
				       AISS_TEXT_MAX - 1);
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	/* The journal wants a reason for every change of state; suspending
	 * needs a person's words, resuming and closing have a default. */
	if (!reason || !*reason)
		reason = st == AISS_GRANT_ACTIVE ? "resumed by the scheme "
						   "administrator"
						 : "closed by the scheme "
						   "administrator";
	if (aiss_client_grant_set_state(x->client, o.pos[0], st, reason, &err) <
	    0)
		return ctl_fail(x, "grant state change", &err);
	printf("grant %s is now %s\n", o.pos[0], aiss_grant_state_name(st));
	return 0;
}

int cmd_grant_suspend(ctl_ctx *x, int argc, char **argv)
{
	return grant_state_cmd(x, argc, argv, AISS_GRANT_SUSPENDED, true);
}

int cmd_grant_resume(ctl_ctx *x, int argc, char **argv)
{
	return grant_state_cmd(x, argc, argv, AISS_GRANT_ACTIVE, false);
}

int cmd_grant_close(ctl_ctx *x, int argc, char **argv)
{
	return grant_state_cmd(x, argc, argv, AISS_GRANT_CLOSED, false);
}

static void grant_json(ctl_json *j, const aiss_grant *g)
{
	ctl_json_str(j, "id", g->id);
	ctl_json_str(j, "institution", g->institution);
	ctl_json_str(j, "institution_type", aiss_inst_type_name(g->inst_type));
	ctl_json_str(j, "accounts", g->accounts);
	ctl_json_str(j, "members", g->members);
	ctl_json_str(j, "gpu_types", g->gpu_types);
	ctl_json_int(j, "rate_bp", g->rate_bp);
	ctl_json_int(j, "approved_gpu_seconds", g->approved_gpu_seconds);
	ctl_json_money(j, "approved_subsidy", g->approved_subsidy);
	ctl_json_time(j, "window_start", g->window_start);
	ctl_json_time(j, "window_end", g->window_end);
	ctl_json_int(j, "max_concurrent_gpus", g->max_concurrent_gpus);
	ctl_json_str(j, "state", aiss_grant_state_name(g->state));
}

static void balance_json(ctl_json *j, const aiss_balance *b)
{
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
}

int cmd_grant_show(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {NULL};
	ctl_opts o;
	aiss_grant g;
	aiss_balance b;
	aiss_error err;
	bool have_bal;

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos != 1)
		return ctl_usage_error(x, "grant show wants one grant ID");
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	if (aiss_client_grant_get(x->client, o.pos[0], &g, &err) < 0)
		return ctl_fail(x, "grant show", &err);
	have_bal = aiss_client_balance(x->client, g.id, &b, &err) == 0;
	if (x->json) {
		ctl_json j;

		ctl_json_init(&j, stdout);
		ctl_json_obj(&j, NULL);
		grant_json(&j, &g);
		if (have_bal) {
			ctl_json_obj(&j, "balance");
			balance_json(&j, &b);
			ctl_json_obj_end(&j);
		}
		ctl_json_obj_end(&j);
		ctl_json_done(&j);
		return 0;
	}
	{
		char m[AISS_MONEY_BUFSZ], t1[AISS_TIME_BUFSZ],
		    t2[AISS_TIME_BUFSZ], r[16], h[AISS_MONEY_BUFSZ];

		printf("grant          %s\n", g.id);
		printf("state          %s\n", aiss_grant_state_name(g.state));
		printf("institution    %s (%s)\n", g.institution,
		       aiss_inst_type_name(g.inst_type));
		printf("accounts       %s\n", g.accounts);
		printf("members        %s\n", g.members[0] ? g.members : "-");
		printf("gpu types      %s\n", g.gpu_types);
		printf("subsidy rate   %s\n", ctl_rate(g.rate_bp, r, 16));
		printf(
		    "gpu-hours      %s approved\n",
		    ctl_format_gpu_hours(g.approved_gpu_seconds, h, sizeof(h)));
		printf("subsidy        HK$%s approved\n",
		       ctl_money(g.approved_subsidy, m));
		printf("window         %s .. %s (HKT)\n",
		       ctl_when(g.window_start, t1),
		       ctl_when(g.window_end, t2));
		if (g.max_concurrent_gpus)
			printf("max gpus       %" PRId32 " concurrent\n",
			       g.max_concurrent_gpus);
		else
			printf("max gpus       no limit\n");
		if (have_bal) {
			printf("charged        HK$%s\n",
			       ctl_money(b.charged_subsidy, m));
			printf("held           HK$%s (%" PRId64
			       " open liens, %" PRId64 " GPUs)\n",
			       ctl_money(b.held_subsidy, m), b.n_liens,
			       b.held_gpus);
			printf("adjustments    HK$%s\n",
			       ctl_money(b.adjustments, m));
			printf("remaining      HK$%s\n",
			       ctl_money(b.remaining, m));
			printf("gpu-hours used %s\n",
			       ctl_format_gpu_hours(b.used_gpu_seconds, h,
						    sizeof(h)));
		}
	}
	return 0;
}

static int grant_cb(const aiss_grant *g, void *arg)
{
	ctl_list *ls = arg;

	ls->n++;
	if (ls->j.f) {
		ctl_json_obj(&ls->j, NULL);
		grant_json(&ls->j, g);
		ctl_json_obj_end(&ls->j);
	} else {
		char m[AISS_MONEY_BUFSZ], r[16], h[AISS_MONEY_BUFSZ],
		    t1[AISS_TIME_BUFSZ], t2[AISS_TIME_BUFSZ], mg[24];
		const char *row[10];

		snprintf(mg, sizeof(mg), "%" PRId32, g->max_concurrent_gpus);
		row[0] = g->id;
		row[1] = aiss_grant_state_name(g->state);
		row[2] = g->institution;
		row[3] = g->accounts;
		row[4] = g->gpu_types;
		row[5] = ctl_rate(g->rate_bp, r, sizeof(r));
		row[6] =
		    ctl_format_gpu_hours(g->approved_gpu_seconds, h, sizeof(h));
		row[7] = ctl_money(g->approved_subsidy, m);
		row[8] = g->max_concurrent_gpus ? mg : "-";
		ctl_when(g->window_start, t1);
		ctl_when(g->window_end, t2);
		{
			char win[2 * AISS_TIME_BUFSZ + 8];

			snprintf(win, sizeof(win), "%.10s..%.10s", t1, t2);
			row[9] = win;
			ctl_table_row(ls->t, row);
		}
	}
	return 0;
}

int cmd_grant_list(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {NULL};
	static const char *const heads[] = {
	    "GRANT", "STATE",     "INSTITUTION",   "ACCOUNTS", "GPU TYPES",
	    "RATE",  "GPU-HOURS", "SUBSIDY (HK$)", "MAX GPUS", "WINDOW"};
	static const bool right[] = {false, false, false, false, false,
				     true,  true,  true,  true,  false};
	ctl_opts o;
	aiss_error err;
	ctl_list ls = {0};

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	ctl_list_begin(&ls, x->json, 10, heads, right);
	aiss_error_clear(&err);
	if (aiss_client_grant_list(x->client, grant_cb, &ls, &err) < 0) {
		ctl_list_abort(&ls);
		return ctl_fail(x, "grant list", &err);
	}
	ctl_list_end(&ls, "no grants (approve one with aissctl grant add)");
	return 0;
}

/* ---- prices ---- */

int cmd_price_set(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {"from=", NULL};
	ctl_opts o;
	aiss_price p;
	aiss_error err;
	aiss_cents_t cents;
	const char *v;
	char m[AISS_MONEY_BUFSZ], t[AISS_TIME_BUFSZ];

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos != 2)
		return ctl_usage_error(x, "price set wants a GPU_TYPE and "
					  "HK$ per GPU-hour");
	memset(&p, 0, sizeof(p));
	COPY_FIELD(x, p.gpu_type, o.pos[0], "the GPU type");
	if (ctl_arg_money(x, "the price", o.pos[1], &cents, false))
		return CTL_EXIT_USAGE;
	p.cents_per_gpu_hour = cents;
	if (!(v = ctl_opt(&o, "from")))
		return ctl_usage_error(x, "--from is required (when the price "
					  "takes effect; 'now' is accepted)");
	if (ctl_arg_when(x, "--from", v, &p.effective_from))
		return CTL_EXIT_USAGE;
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	aiss_error_clear(&err);
	if (aiss_client_price_set(x->client, &p, &err) < 0)
		return ctl_fail(x, "price set", &err);
	printf("price of %s set to HK$%s per GPU-hour from %s\n", p.gpu_type,
	       ctl_money(p.cents_per_gpu_hour, m),
	       aiss_time_format_hkt(p.effective_from, t, sizeof(t)));
	return 0;
}

static int price_cb(const aiss_price *p, void *arg)
{
	ctl_list *ls = arg;

	ls->n++;
	if (ls->j.f) {
		ctl_json_obj(&ls->j, NULL);
		ctl_json_str(&ls->j, "gpu_type", p->gpu_type);
		ctl_json_money(&ls->j, "per_gpu_hour", p->cents_per_gpu_hour);
		ctl_json_time(&ls->j, "effective_from", p->effective_from);
		ctl_json_obj_end(&ls->j);
	} else {
		char m[AISS_MONEY_BUFSZ], t[AISS_TIME_BUFSZ];
		const char *row[3] = {
		    p->gpu_type, ctl_money(p->cents_per_gpu_hour, m),
		    aiss_time_format_hkt(p->effective_from, t, sizeof(t))};

		ctl_table_row(ls->t, row);
	}
	return 0;
}

int cmd_price_list(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {NULL};
	static const char *const heads[] = {"GPU TYPE", "HK$/GPU-HOUR",
					    "EFFECTIVE FROM (HKT)"};
	static const bool right[] = {false, true, false};
	ctl_opts o;
	aiss_error err;
	ctl_list ls = {0};

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	ctl_list_begin(&ls, x->json, 3, heads, right);
	aiss_error_clear(&err);
	if (aiss_client_price_list(x->client, price_cb, &ls, &err) < 0) {
		ctl_list_abort(&ls);
		return ctl_fail(x, "price list", &err);
	}
	ctl_list_end(&ls, NULL);
	return 0;
}
