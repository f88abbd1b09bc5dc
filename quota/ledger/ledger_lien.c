/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ledger_lien.c: open liens for operators: listing, stale detection (time
 * limit plus a grace) and expiry of stale liens, each journalled. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_int.h"

int aiss_ledger_set_lien_grace(aiss_ledger *l, int64_t seconds, aiss_error *err)
{
	if (seconds < 0 || seconds > AISS_LIEN_GRACE_MAX)
		return aiss_error_set(err, AISS_E_INVALID,
				      "lien grace of %" PRId64 " s is out of "
				      "range (0 s to 366 days)",
				      seconds);
	l->lien_grace = seconds;
	return 0;
}

int64_t aiss_ledger_lien_grace(const aiss_ledger *l)
{
	return l->lien_grace;
}

static const char *filter_text(const char *s)
{
	return s ? s : "";
}

/* Binds the filter for S_LIEN_OPEN; stale_only forced by @stale. */
static sqlite3_stmt *open_liens(aiss_ledger *l, const aiss_lien_filter *f,
				int stale, aiss_time_t now, aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, S_LIEN_OPEN, err);

	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, filter_text(f ? f->grant_id : NULL), -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 2, filter_text(f ? f->member : NULL), -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(st, 3, stale || (f && f->stale_only));
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, l->lien_grace);
	return st;
}

static void info_from_row(sqlite3_stmt *st, aiss_time_t now, int64_t grace,
			  aiss_lien_info *out)
{
	aiss_lien *n = &out->lien;

	memset(out, 0, sizeof(*out));
	ledger_lien_cols(st, n, out->account, sizeof(out->account), out->user,
			 sizeof(out->user));
	out->created_at = sqlite3_column_int64(st, 12);
	out->stale_at = n->key.run_start + n->time_limit + grace;
	out->as_of = now;
	out->stale = now > out->stale_at;
}

int aiss_ledger_lien_list(aiss_ledger *l, const aiss_lien_filter *f,
			  int (*cb)(const aiss_lien_info *, void *), void *arg,
			  aiss_error *err)
{
	aiss_time_t now = ledger_now(l);
	sqlite3_stmt *st = open_liens(l, f, 0, now, err);
	aiss_lien_info it;
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		info_from_row(st, now, l->lien_grace, &it);
		if (cb(&it, arg))
			break;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ledger_sql_error(l, rc, "listing open liens", err);
	return 0;
}

/* Expires one lien @n (read as held in this transaction). */
static int expire_one(aiss_ledger *l, const aiss_lien_info *n,
		      const char *actor, aiss_error *err)
{
	const aiss_lien *k = &n->lien;
	char keybuf[AISS_ID_MAX + 48], detail[AISS_TEXT_MAX];
	char m[AISS_MONEY_BUFSZ];

	/* As a release does: the lien's state, then the grant's holds. */
	if (ledger_lien_set_state(l, &k->key, AISS_LIEN_EXPIRED, err) ||
	    ledger_grant_hold(l, k->grant_id, -k->held_subsidy, -k->gpus,
			      -k->gpus * k->time_limit, -1, err))
		return -1;
	aiss_run_key_format(&k->key, keybuf, sizeof(keybuf));
	ledger_fmt(detail, sizeof(detail),
		   "run=%s account=%s user=%s released=%s time_limit=%" PRId64
		   " grace=%" PRId64 " stale_since=%" PRId64
		   " reason=no settle or release arrived by the run's time "
		   "limit plus the lien grace; a late settle is still charged",
		   keybuf, n->account, n->user,
		   aiss_money_format(k->held_subsidy, false, m, sizeof(m)),
		   k->time_limit,
		   n->stale_at - k->key.run_start - k->time_limit,
		   (int64_t)n->stale_at);
	return ledger_journal_append(l, actor, "lien.expire", k->grant_id,
				     k->held_subsidy, detail, NULL, err);
}

int aiss_ledger_lien_expire(aiss_ledger *l, const aiss_lien_filter *f, int max,
			    const char *actor,
			    int (*cb)(const aiss_lien_info *, void *),
			    void *arg, int *more, aiss_error *err)
{
	aiss_time_t now = ledger_now(l);
	aiss_lien_info *v = NULL;
	sqlite3_stmt *st;
	int n = 0, rc, left = 0;

	if (more)
		*more = 0;
	if (max < 1 || max > 4096)
		return aiss_error_set(err, AISS_E_INVALID,
				      "lien expiry takes 1..4096 liens at a "
				      "time, not %d",
				      max);
	v = calloc((size_t)max, sizeof(*v));
	if (!v)
		return aiss_error_set(err, AISS_E_INTERNAL,
				      "ledger: out of memory");
	if (ledger_op_begin(l, err)) {
		free(v);
		return -1;
	}
	/* Read first, then write: the statement is done before any update. */
	st = open_liens(l, f, 1, now, err);
	if (!st)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == max) {
			left = 1;
			break;
		}
		info_from_row(st, now, l->lien_grace, &v[n++]);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ledger_sql_error(l, rc, "listing stale liens", err);
		goto fail;
	}
	for (int i = 0; i < n; i++)
		if (expire_one(l, &v[i], actor, err))
			goto fail;
	if (ledger_op_end(l, 1, err)) {
		free(v);
		return -1;
	}
	for (int i = 0; i < n && cb; i++)
		if (cb(&v[i], arg))
			break;
	if (more)
		*more = left;
	free(v);
	return 0;
fail:
	free(v);
	return ledger_op_end(l, 0, err);
}
