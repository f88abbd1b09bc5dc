/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ledger_admin.c: the scheme, earmarks, institutions, grants, prices,
 * adjustments and capacity records, with validation and the commitment
 * rule (policy item 11). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ledger_int.h"

static int bad_char(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == ',';
}

int ledger_check_id(const char *s, const char *what, aiss_error *err)
{
	size_t n;

	if (!s || !*s)
		return aiss_error_set(err, AISS_E_INVALID, "%s is empty", what);
	n = strnlen(s, AISS_ID_MAX);
	if (n >= AISS_ID_MAX)
		return aiss_error_set(err, AISS_E_INVALID,
				      "%s is longer than %d characters", what,
				      AISS_ID_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if (bad_char((unsigned char)s[i]) || s[i] == ' ')
			return aiss_error_set(
			    err, AISS_E_INVALID,
			    "%s \"%s\" contains a space, comma "
			    "or control character",
			    what, s);
	return 0;
}

static int check_name(const char *s, size_t max, const char *what,
		      aiss_error *err)
{
	size_t n;

	if (!s || !*s)
		return aiss_error_set(err, AISS_E_INVALID, "%s is empty", what);
	n = strnlen(s, max);
	if (n >= max)
		return aiss_error_set(err, AISS_E_INVALID,
				      "%s is longer than %zu characters", what,
				      max - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return aiss_error_set(err, AISS_E_INVALID,
					      "%s contains a control character",
					      what);
	return 0;
}

/* Every element of comma-separated @s is a valid id; at least one. */
int ledger_check_list(const char *s, size_t max, const char *what,
		      aiss_error *err)
{
	char item[AISS_ID_MAX];

	if (!s || !*s)
		return aiss_error_set(err, AISS_E_INVALID, "%s is empty", what);
	if (strnlen(s, max) >= max)
		return aiss_error_set(err, AISS_E_INVALID,
				      "%s is longer than %zu characters", what,
				      max - 1);
	for (const char *p = s;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == 0)
			return aiss_error_set(err, AISS_E_INVALID,
					      "%s \"%s\" has an empty element",
					      what, s);
		if (len >= sizeof(item))
			return aiss_error_set(err, AISS_E_INVALID,
					      "an element of %s is longer than "
					      "%d characters",
					      what, AISS_ID_MAX - 1);
		memcpy(item, p, len);
		item[len] = '\0';
		if (ledger_check_id(item, what, err))
			return -1;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

static int check_amount(aiss_cents_t c, const char *what, aiss_error *err)
{
	char buf[AISS_MONEY_BUFSZ];

	if (c < 0)
		return aiss_error_set(
		    err, AISS_E_INVALID, "%s HK$%s is negative", what,
		    aiss_money_format(c, true, buf, sizeof(buf)));
	if (c > AISS_CENTS_LIMIT)
		return aiss_error_set(
		    err, AISS_E_INVALID, "%s HK$%s is absurd (limit HK$%s)",
		    what, aiss_money_format(c, true, buf, sizeof(buf)),
		    "1,000,000,000,000,000.00");
	return 0;
}

static const char *fmt_money(aiss_cents_t c, char *buf)
{
	return aiss_money_format(c, true, buf, AISS_MONEY_BUFSZ);
}

/* ---- scheme and commitment ---- */

static int scheme_read(aiss_ledger *l, aiss_scheme *s, aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_SCHEME_GET, err);
	int rc;

	if (!st)
		return -1;
	memset(s, 0, sizeof(*s));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ledger_col_text(st, 0, s->name, sizeof(s->name));
		s->commitment = sqlite3_column_int64(st, 1);
		s->start = sqlite3_column_int64(st, 2);
		s->end = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return aiss_error_set(err, AISS_E_NOT_FOUND,
				      "the scheme is not initialised; run "
				      "`aissctl scheme init --commitment "
				      "3000000000.00` first");
	if (rc != SQLITE_ROW)
		return ledger_sql_error(l, rc, "reading the scheme", err);
	return 0;
}

static int scheme_totals(aiss_ledger *l, aiss_scheme *s, aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_SCHEME_TOTALS, err);
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		s->approved_total = sqlite3_column_int64(st, 0);
		s->charged_total = sqlite3_column_int64(st, 1);
		s->held_total = sqlite3_column_int64(st, 2);
		s->n_grants = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return ledger_sql_error(l, rc, "summing the grants", err);
	st = ledger_stmt(l, S_EARMARK_SUM, err);
	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		s->earmarked = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return ledger_sql_error(l, rc, "summing the earmarks", err);
	return 0;
}

int aiss_ledger_scheme_get(aiss_ledger *l, aiss_scheme *out, aiss_error *err)
{
	if (scheme_read(l, out, err) || scheme_totals(l, out, err))
		return -1;
	return 0;
}

/*
 * Policy item 11: approved total (with @grant_id's approval replaced by
 * @new_approved, NULL: none) plus earmarks (with @earmark set to
 * @earmark_amount, NULL: none) must not exceed the commitment @commitment
 * (< 0: the stored one). @what names the change for the sentence.
 */
static int commitment_check(aiss_ledger *l, aiss_cents_t approved_delta,
			    aiss_cents_t earmark_delta, aiss_cents_t commitment,
			    const char *what, aiss_error *err)
{
	aiss_scheme s;
	char a[AISS_MONEY_BUFSZ], b[AISS_MONEY_BUFSZ], c[AISS_MONEY_BUFSZ];
	char d[AISS_MONEY_BUFSZ], e[AISS_MONEY_BUFSZ];
	aiss_cents_t approved, earmarked, room;

	if (aiss_ledger_scheme_get(l, &s, err))
		return -1;
	if (commitment >= 0)
		s.commitment = commitment;
	approved = s.approved_total + approved_delta;
	earmarked = s.earmarked + earmark_delta;
	if (approved + earmarked <= s.commitment)
		return 0;
	room = s.commitment - s.earmarked - s.approved_total;
	return aiss_error_set(
	    err, AISS_E_COMMITMENT,
	    "%s refused: approved subsidy would total HK$%s but the "
	    "commitment HK$%s less earmarks HK$%s allows HK$%s (room left "
	    "before this change: HK$%s); lower the amount or release an "
	    "earmark",
	    what, fmt_money(approved, a), fmt_money(s.commitment, b),
	    fmt_money(earmarked, c), fmt_money(s.commitment - earmarked, d),
	    fmt_money(room < 0 ? 0 : room, e));
}

int aiss_ledger_scheme_init(aiss_ledger *l, const aiss_scheme *s,
			    const char *actor, aiss_error *err)
{
	sqlite3_stmt *st;
	char detail[AISS_TEXT_MAX], m[AISS_MONEY_BUFSZ];
	aiss_scheme cur;
	int have;

	if (check_name(s->name, sizeof(s->name), "scheme name", err) ||
	    check_amount(s->commitment, "the commitment", err))
		return -1;
	if (s->end <= s->start)
		return aiss_error_set(err, AISS_E_INVALID,
				      "the scheme's end (%" PRId64 ") must be "
				      "after its start (%" PRId64 ")",
				      (int64_t)s->end, (int64_t)s->start);
	if (ledger_op_begin(l, err))
		return -1;
	have = scheme_read(l, &cur, NULL) == 0;
	if (have && commitment_check(l, 0, 0, s->commitment,
				     "changing the commitment", err))
		goto fail;
	st = ledger_stmt(l, S_SCHEME_PUT, err);
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, s->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, s->commitment);
	sqlite3_bind_int64(st, 3, s->start);
	sqlite3_bind_int64(st, 4, s->end);
	if (ledger_step_done(l, st, "storing the scheme", err))
		goto fail;
	ledger_fmt(detail, sizeof(detail),
		   "name=%s commitment=%s start=%" PRId64 " end=%" PRId64,
		   s->name,
		   aiss_money_format(s->commitment, false, m, sizeof(m)),
		   (int64_t)s->start, (int64_t)s->end);
	if (ledger_journal_append(l, actor, "scheme.init", "", 0, detail, NULL,
				  err))
		goto fail;
	return ledger_op_end(l, 1, err);
fail:
	return ledger_op_end(l, 0, err);
}

int aiss_ledger_earmark_set(aiss_ledger *l, const aiss_earmark *e,
			    const char *actor, aiss_error *err)
{
	sqlite3_stmt *st;
	aiss_cents_t old = 0;
	char detail[AISS_TEXT_MAX], m[AISS_MONEY_BUFSZ];
	int rc;

	if (check_name(e->name, sizeof(e->name), "earmark name", err) ||
	    check_amount(e->amount, "the earmark", err))
		return -1;
	if (ledger_op_begin(l, err))
		return -1;
	st = ledger_stmt(l, S_EARMARK_GET, err);
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, e->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		old = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ledger_sql_error(l, rc, "reading the earmark", err);
		goto fail;
	}
	if (e->amount > old &&
	    commitment_check(l, 0, e->amount - old, -1, "the earmark", err))
		goto fail;
	st = ledger_stmt(l, e->amount ? S_EARMARK_PUT : S_EARMARK_DEL, err);
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, e->name, -1, SQLITE_STATIC);
	if (e->amount)
		sqlite3_bind_int64(st, 2, e->amount);
	if (ledger_step_done(l, st, "storing the earmark", err))
		goto fail;
	ledger_fmt(detail, sizeof(detail), "name=%s amount=%s", e->name,
		   aiss_money_format(e->amount, false, m, sizeof(m)));
	if (ledger_journal_append(l, actor, "earmark.set", "", 0, detail, NULL,
				  err))
		goto fail;
	return ledger_op_end(l, 1, err);
fail:
	return ledger_op_end(l, 0, err);
}

int aiss_ledger_earmark_list(aiss_ledger *l,
			     int (*cb)(const aiss_earmark *, void *), void *arg,
			     aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_EARMARK_LIST, err);
	aiss_earmark e;
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ledger_col_text(st, 0, e.name, sizeof(e.name));
		e.amount = sqlite3_column_int64(st, 1);
		if (cb(&e, arg)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ledger_sql_error(l, rc, "listing earmarks", err);
	return 0;
}

/* ---- institutions ---- */

/* 1 with *type when institution @name exists, 0 when not, -1 error. */
static int inst_lookup(aiss_ledger *l, const char *name, aiss_inst_type *type,
		       aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_INST_GET, err);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && type)
		*type = (aiss_inst_type)sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return ledger_sql_error(l, rc, "reading the institution", err);
}

int aiss_ledger_institution_add(aiss_ledger *l, const aiss_institution *i,
				const char *actor, aiss_error *err)
{
	sqlite3_stmt *st;
	aiss_inst_type cur;
	char detail[AISS_TEXT_MAX];
	int found;

	if (check_name(i->name, sizeof(i->name), "institution name", err))
		return -1;
	if (i->type <= AISS_INST_UNKNOWN || i->type >= AISS_INST__COUNT)
		return aiss_error_set(
		    err, AISS_E_INVALID,
		    "institution %s: type must be university, "
		    "rd-centre, enterprise or government",
		    i->name);
	if (ledger_op_begin(l, err))
		return -1;
	found = inst_lookup(l, i->name, &cur, err);
	if (found < 0)
		goto fail;
	if (found) {
		if (cur == i->type) /* same again: nothing to do */
			return ledger_op_end(l, 1, err);
		aiss_error_set(err, AISS_E_EXISTS,
			       "institution %s already exists as %s", i->name,
			       aiss_inst_type_name(cur));
		goto fail;
	}
	st = ledger_stmt(l, S_INST_INSERT, err);
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, i->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, i->type);
	if (ledger_step_done(l, st, "storing the institution", err))
		goto fail;
	ledger_fmt(detail, sizeof(detail), "name=%s type=%s", i->name,
		   aiss_inst_type_name(i->type));
	if (ledger_journal_append(l, actor, "institution.add", "", 0, detail,
				  NULL, err))
		goto fail;
	return ledger_op_end(l, 1, err);
fail:
	return ledger_op_end(l, 0, err);
}

int aiss_ledger_institution_list(aiss_ledger *l,
				 int (*cb)(const aiss_institution *, void *),
				 void *arg, aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_INST_LIST, err);
	aiss_institution i;
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ledger_col_text(st, 0, i.name, sizeof(i.name));
		i.type = (aiss_inst_type)sqlite3_column_int(st, 1);
		if (cb(&i, arg)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ledger_sql_error(l, rc, "listing institutions", err);
	return 0;
}

/* ---- grants ---- */

void ledger_grant_from_row(sqlite3_stmt *st, ledger_grant *out)
{
	aiss_grant *g = &out->g;

	ledger_col_text(st, 0, g->id, sizeof(g->id));
	ledger_col_text(st, 1, g->institution, sizeof(g->institution));
	ledger_col_text(st, 2, g->accounts, sizeof(g->accounts));
	ledger_col_text(st, 3, g->members, sizeof(g->members));
	ledger_col_text(st, 4, g->gpu_types, sizeof(g->gpu_types));
	g->rate_bp = sqlite3_column_int(st, 5);
	g->approved_gpu_seconds = sqlite3_column_int64(st, 6);
	g->approved_subsidy = sqlite3_column_int64(st, 7);
	g->window_start = sqlite3_column_int64(st, 8);
	g->window_end = sqlite3_column_int64(st, 9);
	g->max_concurrent_gpus = sqlite3_column_int(st, 10);
	g->state = (aiss_grant_state)sqlite3_column_int(st, 11);
	out->charged = sqlite3_column_int64(st, 12);
	out->held = sqlite3_column_int64(st, 13);
	out->adjustments = sqlite3_column_int64(st, 14);
	out->list_cost = sqlite3_column_int64(st, 15);
	out->copay = sqlite3_column_int64(st, 16);
	out->used_gpu_seconds = sqlite3_column_int64(st, 17);
	out->held_gpus = sqlite3_column_int64(st, 18);
	out->held_gpu_seconds = sqlite3_column_int64(st, 19);
	out->n_runs = sqlite3_column_int64(st, 20);
	out->n_liens = sqlite3_column_int64(st, 21);
	g->inst_type = (aiss_inst_type)sqlite3_column_int(st, 22);
	out->last_end = sqlite3_column_int64(st, 23);
}

int ledger_grant_read(aiss_ledger *l, enum ledger_stmt_id id, const char *key,
		      ledger_grant *out, aiss_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (ledger_cache_get(l, id, key, out))
		return 1;
	st = ledger_stmt(l, id, err);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ledger_grant_from_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW) {
		ledger_cache_put(l, id, key, out);
		return 1;
	}
	if (rc == SQLITE_DONE)
		return 0;
	return ledger_sql_error(l, rc, "reading the grant", err);
}

int ledger_grant_need(aiss_ledger *l, const char *grant_id, ledger_grant *out,
		      aiss_error *err)
{
	int found = ledger_grant_read(l, S_GRANT_GET, grant_id, out, err);

	if (found < 0)
		return -1;
	if (!found)
		return aiss_error_set(err, AISS_E_NOT_FOUND,
				      "no grant %s; `aissctl grant list` shows "
				      "the grants",
				      grant_id);
	return 0;
}

static int grant_validate(const aiss_grant *g, aiss_error *err)
{
	char a[AISS_MONEY_BUFSZ];

	if (ledger_check_id(g->id, "grant id", err) ||
	    check_name(g->institution, sizeof(g->institution),
		       "institution name", err) ||
	    ledger_check_list(g->accounts, sizeof(g->accounts),
			      "Slurm account list", err) ||
	    ledger_check_list(g->gpu_types, sizeof(g->gpu_types),
			      "GPU type list", err))
		return -1;
	if (g->members[0] && ledger_check_list(g->members, sizeof(g->members),
					       "member list", err))
		return -1;
	if (!aiss_policy_rate_valid(g->rate_bp))
		return aiss_error_set(
		    err, AISS_E_INVALID,
		    "grant %s: subsidy rate %d bp (%d.%02d%%) is not "
		    "allowed; the scheme approves 0 to 9000 bp (90%%), "
		    "default 7000 bp (70%%)",
		    g->id, g->rate_bp, g->rate_bp / 100,
		    (g->rate_bp < 0 ? -g->rate_bp : g->rate_bp) % 100);
	if (g->approved_subsidy < 0 || g->approved_subsidy > AISS_CENTS_LIMIT)
		return aiss_error_set(err, AISS_E_INVALID,
				      "grant %s: approved subsidy HK$%s is %s",
				      g->id, fmt_money(g->approved_subsidy, a),
				      g->approved_subsidy < 0 ? "negative"
							      : "absurd");
	if (g->approved_gpu_seconds < 0 ||
	    g->approved_gpu_seconds >
		(int64_t)AISS_GPUS_LIMIT * AISS_DURATION_LIMIT)
		return aiss_error_set(
		    err, AISS_E_INVALID,
		    "grant %s: approved GPU-hours %" PRId64 " is %s", g->id,
		    g->approved_gpu_seconds / 3600,
		    g->approved_gpu_seconds < 0 ? "negative" : "absurd");
	if (g->window_end <= g->window_start)
		return aiss_error_set(err, AISS_E_INVALID,
				      "grant %s: window end (%" PRId64 ") must "
				      "be after its start (%" PRId64 ")",
				      g->id, (int64_t)g->window_end,
				      (int64_t)g->window_start);
	if (g->max_concurrent_gpus < 0 ||
	    g->max_concurrent_gpus > AISS_GPUS_LIMIT)
		return aiss_error_set(err, AISS_E_INVALID,
				      "grant %s: maximum concurrent GPUs %d is "
				      "out of range (0 = no limit)",
				      g->id, g->max_concurrent_gpus);
	if (g->state != 0 &&
	    (g->state < AISS_GRANT_ACTIVE || g->state > AISS_GRANT_CLOSED))
		return aiss_error_set(err, AISS_E_INVALID,
				      "grant %s: state %d is not active, "
				      "suspended or closed",
				      g->id, (int)g->state);
	return 0;
}

/* Calls @fn for each element of comma list @list. */
static int list_each(const char *list,
		     int (*fn)(aiss_ledger *, const char *, const char *,
			       aiss_error *),
		     aiss_ledger *l, const char *grant_id, aiss_error *err)
{
	char item[AISS_ID_MAX];

	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len >= sizeof(item))
			len = sizeof(item) - 1;
		memcpy(item, p, len);
		item[len] = '\0';
		if (fn(l, grant_id, item, err))
			return -1;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

static int account_add(aiss_ledger *l, const char *grant_id,
		       const char *account, aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_ACCOUNT_OWNER, err);
	char owner[AISS_ID_MAX] = "";
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ledger_col_text(st, 0, owner, sizeof(owner));
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return aiss_error_set(err, AISS_E_EXISTS,
				      "grant %s: Slurm account %s is already "
				      "paid for by grant %s%s",
				      grant_id, account, owner,
				      strcmp(owner, grant_id) == 0
					  ? " (listed twice)"
					  : "; remove it there first");
	if (rc != SQLITE_DONE)
		return ledger_sql_error(l, rc, "reading accounts", err);
	st = ledger_stmt(l, S_ACCOUNT_INSERT, err);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, grant_id, -1, SQLITE_STATIC);
	return ledger_step_done(l, st, "storing the account", err);
}

static int member_add(aiss_ledger *l, const char *grant_id, const char *user,
		      aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_MEMBER_INSERT, err);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, grant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	return ledger_step_done(l, st, "storing a member", err);
}

static int grant_store(aiss_ledger *l, const aiss_grant *g, int insert,
		       aiss_error *err)
{
	sqlite3_stmt *st;

	st = ledger_stmt(l, insert ? S_GRANT_INSERT : S_GRANT_UPDATE, err);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, g->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, g->institution, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, g->accounts, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, g->members, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, g->gpu_types, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, g->rate_bp);
	sqlite3_bind_int64(st, 7, g->approved_gpu_seconds);
	sqlite3_bind_int64(st, 8, g->approved_subsidy);
	sqlite3_bind_int64(st, 9, g->window_start);
	sqlite3_bind_int64(st, 10, g->window_end);
	sqlite3_bind_int(st, 11, g->max_concurrent_gpus);
	sqlite3_bind_int(st, 12, g->state ? (int)g->state : AISS_GRANT_ACTIVE);
	if (ledger_step_done(l, st, "storing the grant", err))
		return -1;
	if (!insert) {
		st = ledger_stmt(l, S_ACCOUNT_DEL_GRANT, err);
		if (!st)
			return -1;
		sqlite3_bind_text(st, 1, g->id, -1, SQLITE_STATIC);
		if (ledger_step_done(l, st, "replacing accounts", err))
			return -1;
		st = ledger_stmt(l, S_MEMBER_DEL_GRANT, err);
		if (!st)
			return -1;
		sqlite3_bind_text(st, 1, g->id, -1, SQLITE_STATIC);
		if (ledger_step_done(l, st, "replacing members", err))
			return -1;
	}
	if (list_each(g->accounts, account_add, l, g->id, err))
		return -1;
	if (g->members[0] && list_each(g->members, member_add, l, g->id, err))
		return -1;
	return 0;
}

static void grant_detail(const aiss_grant *g, const char *what, char *buf,
			 size_t len)
{
	char m[AISS_MONEY_BUFSZ];

	ledger_fmt(
	    buf, len,
	    "%s institution=%s accounts=%s gpu_types=%s rate_bp=%d "
	    "approved_subsidy=%s gpu_hours=%" PRId64 " window=[%" PRId64
	    ",%" PRId64 ") max_gpus=%d state=%s members=%s",
	    what, g->institution, g->accounts, g->gpu_types, g->rate_bp,
	    aiss_money_format(g->approved_subsidy, false, m, sizeof(m)),
	    g->approved_gpu_seconds / 3600, (int64_t)g->window_start,
	    (int64_t)g->window_end, g->max_concurrent_gpus,
	    aiss_grant_state_name(g->state ? g->state : AISS_GRANT_ACTIVE),
	    g->members);
}

static int grant_put(aiss_ledger *l, const aiss_grant *g, int insert,
		     const char *actor, aiss_error *err)
{
	ledger_grant cur;
	char detail[AISS_TEXT_MAX], what[AISS_ID_MAX + 32];
	int found;

	memset(&cur, 0, sizeof(cur));
	if (grant_validate(g, err))
		return -1;
	if (ledger_op_begin(l, err))
		return -1;
	found = inst_lookup(l, g->institution, NULL, err);
	if (found < 0)
		goto fail;
	if (!found) {
		aiss_error_set(err, AISS_E_NOT_FOUND,
			       "grant %s: unknown institution \"%s\"; add it "
			       "with `aissctl institution add` first",
			       g->id, g->institution);
		goto fail;
	}
	found = ledger_grant_read(l, S_GRANT_GET, g->id, &cur, err);
	if (found < 0)
		goto fail;
	if (insert && found) {
		aiss_error_set(err, AISS_E_EXISTS,
			       "grant %s already exists; use `aissctl grant "
			       "modify` to change it",
			       g->id);
		goto fail;
	}
	if (!insert && !found) {
		aiss_error_set(err, AISS_E_NOT_FOUND,
			       "no grant %s to modify; `aissctl grant list` "
			       "shows the grants",
			       g->id);
		goto fail;
	}
	if (!insert && g->approved_subsidy < cur.g.approved_subsidy &&
	    g->approved_subsidy + cur.adjustments < cur.charged + cur.held) {
		/* What is charged and held must stay covered: available =
		 * approved - charged - held + adjustments may not go below 0
		 * by lowering the approval. */
		char a[AISS_MONEY_BUFSZ], b[AISS_MONEY_BUFSZ];
		char c[AISS_MONEY_BUFSZ], d[AISS_MONEY_BUFSZ];
		char e[AISS_MONEY_BUFSZ];

		aiss_error_set(
		    err, AISS_E_INVALID,
		    "grant %s: approved subsidy HK$%s would be below what the "
		    "grant has already used: charged HK$%s + held by running "
		    "jobs HK$%s - adjustments HK$%s = HK$%s; approve at least "
		    "HK$%s, or lower it once running jobs have settled",
		    g->id, fmt_money(g->approved_subsidy, a),
		    fmt_money(cur.charged, b), fmt_money(cur.held, c),
		    fmt_money(cur.adjustments, d),
		    fmt_money(cur.charged + cur.held - cur.adjustments, e), e);
		goto fail;
	}
	ledger_fmt(what, sizeof(what), "%s grant %s",
		   insert ? "approving" : "modifying", g->id);
	if (g->approved_subsidy > (insert ? 0 : cur.g.approved_subsidy) &&
	    commitment_check(
		l, g->approved_subsidy - (insert ? 0 : cur.g.approved_subsidy),
		0, -1, what, err))
		goto fail;
	if (!insert && !g->state) { /* state 0: keep the current one */
		aiss_grant keep = *g;

		keep.state = cur.g.state;
		if (grant_store(l, &keep, 0, err))
			goto fail;
		grant_detail(&keep, "modify", detail, sizeof(detail));
	} else {
		if (grant_store(l, g, insert, err))
			goto fail;
		grant_detail(g, insert ? "add" : "modify", detail,
			     sizeof(detail));
	}
	if (ledger_journal_append(l, actor,
				  insert ? "grant.add" : "grant.modify", g->id,
				  0, detail, NULL, err))
		goto fail;
	return ledger_op_end(l, 1, err);
fail:
	return ledger_op_end(l, 0, err);
}

int aiss_ledger_grant_add(aiss_ledger *l, const aiss_grant *g,
			  const char *actor, aiss_error *err)
{
	return grant_put(l, g, 1, actor, err);
}

int aiss_ledger_grant_modify(aiss_ledger *l, const aiss_grant *g,
			     const char *actor, aiss_error *err)
{
	return grant_put(l, g, 0, actor, err);
}

int aiss_ledger_grant_set_state(aiss_ledger *l, const char *grant_id,
				aiss_grant_state state, const char *reason,
				const char *actor, aiss_error *err)
{
	sqlite3_stmt *st;
	ledger_grant cur;
	char detail[AISS_TEXT_MAX];

	if (ledger_check_id(grant_id, "grant id", err))
		return -1;
	if (state < AISS_GRANT_ACTIVE || state > AISS_GRANT_CLOSED)
		return aiss_error_set(err, AISS_E_INVALID,
				      "grant %s: state %d is not active, "
				      "suspended or closed",
				      grant_id, (int)state);
	if (!reason || !*reason)
		return aiss_error_set(
		    err, AISS_E_INVALID,
		    "grant %s: give a reason for making it %s", grant_id,
		    aiss_grant_state_name(state));
	if (ledger_op_begin(l, err))
		return -1;
	if (ledger_grant_need(l, grant_id, &cur, err))
		goto fail;
	st = ledger_stmt(l, S_GRANT_SET_STATE, err);
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, grant_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, state);
	if (ledger_step_done(l, st, "changing the grant's state", err))
		goto fail;
	ledger_fmt(detail, sizeof(detail), "state=%s from=%s reason=%s",
		   aiss_grant_state_name(state),
		   aiss_grant_state_name(cur.g.state), reason);
	if (ledger_journal_append(l, actor, "grant.state", grant_id, 0, detail,
				  NULL, err))
		goto fail;
	return ledger_op_end(l, 1, err);
fail:
	return ledger_op_end(l, 0, err);
}

int aiss_ledger_grant_get(aiss_ledger *l, const char *grant_id, aiss_grant *out,
			  aiss_error *err)
{
	ledger_grant g;

	if (ledger_check_id(grant_id, "grant id", err) ||
	    ledger_grant_need(l, grant_id, &g, err))
		return -1;
	*out = g.g;
	return 0;
}

int aiss_ledger_grant_by_account(aiss_ledger *l, const char *account,
				 aiss_grant *out, aiss_error *err)
{
	ledger_grant g;
	int found;

	if (ledger_check_id(account, "Slurm account", err))
		return -1;
	found = ledger_grant_read(l, S_GRANT_BY_ACCOUNT, account, &g, err);
	if (found < 0)
		return -1;
	if (!found)
		return aiss_error_set(
		    err, AISS_E_UNKNOWN_ACCOUNT,
		    "no AISS grant pays for Slurm account %s; "
		    "submit with your project's account "
		    "(`aissctl balance` lists yours)",
		    account);
	*out = g.g;
	return 0;
}

int ledger_grant_each(aiss_ledger *l, const char *member,
		      int (*cb)(const ledger_grant *, void *), void *arg,
		      const char *what, aiss_error *err)
{
	sqlite3_stmt *st;
	ledger_grant g;
	int rc;

	st = ledger_stmt(l, member ? S_GRANT_LIST_MEMBER : S_GRANT_LIST, err);
	if (!st)
		return -1;
	if (member)
		sqlite3_bind_text(st, 1, member, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ledger_grant_from_row(st, &g);
		if (cb(&g, arg)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ledger_sql_error(l, rc, what, err);
	return 0;
}

struct grant_list_arg {
	int (*cb)(const aiss_grant *, void *);
	void *arg;
};

static int grant_list_one(const ledger_grant *g, void *arg)
{
	struct grant_list_arg *a = arg;

	return a->cb(&g->g, a->arg);
}

int aiss_ledger_grant_list(aiss_ledger *l, const char *member,
			   int (*cb)(const aiss_grant *, void *), void *arg,
			   aiss_error *err)
{
	struct grant_list_arg a = {cb, arg};

	return ledger_grant_each(l, member, grant_list_one, &a,
				 "listing grants", err);
}

int aiss_ledger_grant_is_member(aiss_ledger *l, const char *grant_id,
				const char *user)
{
	sqlite3_stmt *st;
	int rc;

	if (!grant_id || !user || !*user)
		return 0;
	st = ledger_stmt(l, S_MEMBER_IS, NULL);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, grant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- prices ---- */

int aiss_ledger_price_set(aiss_ledger *l, const aiss_price *p,
			  const char *actor, aiss_error *err)
{
	sqlite3_stmt *st;
	char detail[AISS_TEXT_MAX];

	if (ledger_check_id(p->gpu_type, "GPU type", err))
		return -1;
	if (p->cents_per_gpu_hour <= 0 ||
	    p->cents_per_gpu_hour > AISS_PRICE_LIMIT)
		return aiss_error_set(err, AISS_E_INVALID,
				      "price of %s: %" PRId64 " cents per "
				      "GPU-hour is out of range (1 cent to "
				      "HK$1,000,000.00)",
				      p->gpu_type, p->cents_per_gpu_hour);
	if (p->effective_from < 0)
		return aiss_error_set(err, AISS_E_INVALID,
				      "price of %s: effective-from instant is "
				      "negative",
				      p->gpu_type);
	if (ledger_op_begin(l, err))
		return -1;
	st = ledger_stmt(l, S_PRICE_PUT, err);
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, p->gpu_type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, p->effective_from);
	sqlite3_bind_int64(st, 3, p->cents_per_gpu_hour);
	if (ledger_step_done(l, st, "storing the price", err))
		goto fail;
	ledger_fmt(detail, sizeof(detail),
		   "gpu_type=%s cents_per_gpu_hour=%" PRId64 " from=%" PRId64,
		   p->gpu_type, p->cents_per_gpu_hour,
		   (int64_t)p->effective_from);
	if (ledger_journal_append(l, actor, "price.set", "", 0, detail, NULL,
				  err))
		goto fail;
	return ledger_op_end(l, 1, err);
fail:
	return ledger_op_end(l, 0, err);
}

int aiss_ledger_price_list(aiss_ledger *l,
			   int (*cb)(const aiss_price *, void *), void *arg,
			   aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_PRICE_LIST, err);
	aiss_price p;
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ledger_col_text(st, 0, p.gpu_type, sizeof(p.gpu_type));
		p.effective_from = sqlite3_column_int64(st, 1);
		p.cents_per_gpu_hour = sqlite3_column_int64(st, 2);
		if (cb(&p, arg)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ledger_sql_error(l, rc, "listing prices", err);
	return 0;
}

int aiss_ledger_price_at(aiss_ledger *l, const char *gpu_type, aiss_time_t at,
			 int64_t *cents_per_gpu_hour, aiss_error *err)
{
	sqlite3_stmt *st;
	char when[AISS_TIME_BUFSZ];
	int rc;

	if (ledger_check_id(gpu_type, "GPU type", err))
		return -1;
	st = ledger_stmt(l, S_PRICE_AT, err);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, gpu_type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, at);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*cents_per_gpu_hour = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return ledger_sql_error(l, rc, "reading the price", err);
	return aiss_error_set(
	    err, AISS_E_NO_PRICE,
	    "no list price for GPU type %s is in force at %s; "
	    "an administrator must run `aissctl price set "
	    "%s HKD_PER_GPU_HOUR --from WHEN`",
	    gpu_type, aiss_time_format_hkt(at, when, sizeof(when)), gpu_type);
}

/* ---- adjustments ---- */

int aiss_ledger_adjust(aiss_ledger *l, const aiss_adjustment *a,
		       const char *actor, aiss_adjustment *out, aiss_error *err)
{
	sqlite3_stmt *st;
	ledger_grant g;
	aiss_adjustment rec;
	char detail[AISS_TEXT_MAX], m[AISS_MONEY_BUFSZ];
	int found;

	if (ledger_check_id(a->grant_id, "grant id", err))
		return -1;
	if (a->amount == 0)
		return aiss_error_set(err, AISS_E_INVALID,
				      "adjustment of grant %s: the amount is "
				      "zero; give a credit (positive) or debit "
				      "(negative)",
				      a->grant_id);
	if (a->amount > AISS_CENTS_LIMIT || a->amount < -AISS_CENTS_LIMIT)
		return aiss_error_set(err, AISS_E_INVALID,
				      "adjustment of grant %s: HK$%s is absurd",
				      a->grant_id, fmt_money(a->amount, m));
	if (check_name(a->reason, sizeof(a->reason), "adjustment reason", err))
		return -1;
	if (ledger_op_begin(l, err))
		return -1;
	found = ledger_grant_read(l, S_GRANT_GET, a->grant_id, &g, err);
	if (found < 0)
		goto fail;
	if (!found) {
		aiss_error_set(err, AISS_E_NOT_FOUND,
			       "no grant %s to adjust; `aissctl grant list` "
			       "shows the grants",
			       a->grant_id);
		goto fail;
	}
	memset(&rec, 0, sizeof(rec));
	ledger_fmt(rec.grant_id, sizeof(rec.grant_id), "%s", a->grant_id);
	rec.amount = a->amount;
	ledger_fmt(rec.reason, sizeof(rec.reason), "%s", a->reason);
	ledger_fmt(rec.actor, sizeof(rec.actor), "%s", ledger_actor(actor));
	rec.at = ledger_now(l);
	ledger_fmt(detail, sizeof(detail), "amount=%s reason=%s",
		   aiss_money_format(a->amount, false, m, sizeof(m)),
		   a->reason);
	if (ledger_journal_append(l, rec.actor, "adjust", a->grant_id,
				  a->amount, detail, &rec.journal_seq, err))
		goto fail;
	st = ledger_stmt(l, S_ADJ_INSERT, err);
	if (!st)
		goto fail;
	sqlite3_bind_int64(st, 1, rec.journal_seq);
	sqlite3_bind_text(st, 2, rec.grant_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, rec.amount);
	sqlite3_bind_text(st, 4, rec.reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, rec.actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, rec.at);
	if (ledger_step_done(l, st, "storing the adjustment", err))
		goto fail;
	st = ledger_stmt(l, S_GRANT_ADJUST, err);
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, rec.grant_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, rec.amount);
	if (ledger_step_done(l, st, "updating the grant", err))
		goto fail;
	if (ledger_op_end(l, 1, err))
		return -1;
	if (out)
		*out = rec;
	return 0;
fail:
	return ledger_op_end(l, 0, err);
}

int aiss_ledger_adjustment_export(aiss_ledger *l, aiss_time_t from,
				  aiss_time_t to,
				  int (*cb)(const aiss_adjustment *, void *),
				  void *arg, aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_ADJ_EXPORT, err);
	aiss_adjustment a;
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to ? to : INT64_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a.journal_seq = sqlite3_column_int64(st, 0);
		ledger_col_text(st, 1, a.grant_id, sizeof(a.grant_id));
		a.amount = sqlite3_column_int64(st, 2);
		ledger_col_text(st, 3, a.reason, sizeof(a.reason));
		ledger_col_text(st, 4, a.actor, sizeof(a.actor));
		a.at = sqlite3_column_int64(st, 5);
		if (cb(&a, arg)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ledger_sql_error(l, rc, "exporting adjustments", err);
	return 0;
}

/* ---- capacity ---- */

int aiss_ledger_capacity_put(aiss_ledger *l, const aiss_capacity *cap,
			     const char *actor, aiss_error *err)
{
	sqlite3_stmt *st;
	char detail[AISS_TEXT_MAX];

	if (ledger_check_id(cap->node, "node name", err))
		return -1;
	if (strnlen(cap->summary, sizeof(cap->summary)) >= sizeof(cap->summary))
		return aiss_error_set(
		    err, AISS_E_INVALID,
		    "capacity of node %s: summary is too long", cap->node);
	if (cap->n_gpus < 0 || cap->bf16_gflops < 0 ||
	    (cap->pass != 0 && cap->pass != 1))
		return aiss_error_set(err, AISS_E_INVALID,
				      "capacity of node %s: GPU count and "
				      "GFLOPS must be >= 0 and pass 0 or 1",
				      cap->node);
	if (ledger_op_begin(l, err))
		return -1;
	st = ledger_stmt(l, S_CAP_PUT, err);
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, cap->node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, cap->at ? cap->at : ledger_now(l));
	sqlite3_bind_int(st, 3, cap->pass);
	sqlite3_bind_int(st, 4, cap->n_gpus);
	sqlite3_bind_int64(st, 5, cap->bf16_gflops);
	sqlite3_bind_text(st, 6, cap->summary, -1, SQLITE_STATIC);
	if (ledger_step_done(l, st, "storing the capacity check", err))
		goto fail;
	ledger_fmt(detail, sizeof(detail),
		   "node=%s pass=%d gpus=%d bf16_gflops=%" PRId64 " summary=%s",
		   cap->node, cap->pass, cap->n_gpus, cap->bf16_gflops,
		   cap->summary);
	if (ledger_journal_append(l, actor, "capacity", "", 0, detail, NULL,
				  err))
		goto fail;
	return ledger_op_end(l, 1, err);
fail:
	return ledger_op_end(l, 0, err);
}

int aiss_ledger_capacity_list(aiss_ledger *l,
			      int (*cb)(const aiss_capacity *, void *),
			      void *arg, aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_CAP_LIST, err);
	aiss_capacity c;
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ledger_col_text(st, 0, c.node, sizeof(c.node));
		c.at = sqlite3_column_int64(st, 1);
		c.pass = sqlite3_column_int(st, 2);
		c.n_gpus = sqlite3_column_int(st, 3);
		c.bf16_gflops = sqlite3_column_int64(st, 4);
		ledger_col_text(st, 5, c.summary, sizeof(c.summary));
		if (cb(&c, arg)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ledger_sql_error(l, rc, "listing capacity checks", err);
	return 0;
}
