/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dispatch_lien.c: lien_list and lien_expire requests (open and stale
 * liens), and the periodic expiry of stale liens (aiss.conf lien_expire). */
#include "aissd.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define R_PRIV (AISSD_ROLE_SLURM | AISSD_ROLE_ADMIN | AISSD_ROLE_FINANCE)

static void lien_fail(aiss_reply *rep, aiss_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void lien_fail(aiss_reply *rep, aiss_status code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rep->status = code;
	vsnprintf(rep->message, sizeof(rep->message), fmt, ap);
	va_end(ap);
}

typedef struct lien_pager {
	aiss_reply *rep;
	int64_t offset; /* items to skip */
	int64_t seen;
	int32_t limit;
	int oom;
} lien_pager;

static int lien_take(const aiss_lien_info *it, void *arg)
{
	lien_pager *pg = arg;
	if (pg->seen++ < pg->offset)
		return 0;
	if ((int64_t)pg->rep->n_items >= pg->limit) {
		pg->rep->more = 1;
		return 1;
	}
	aiss_lien_info *dst = aiss_reply_add_item(pg->rep);
	if (!dst) {
		pg->oom = 1;
		return 1;
	}
	*dst = *it;
	pg->rep->next_offset = pg->offset + (int64_t)pg->rep->n_items;
	return 0;
}

static void drop_items(aiss_reply *rep)
{
	free(rep->items);
	rep->items = NULL;
	rep->n_items = rep->cap_items = 0;
	rep->more = 0;
}

void aissd_dispatch_lien(aiss_ledger *l, const aissd_caller *who,
			 const aiss_request *req, aiss_reply *rep)
{
	const aiss_page *p = &req->u.page;
	int plain = !(who->roles & R_PRIV);
	aiss_lien_filter f = {.grant_id = p->grant_id,
			      .member = plain ? who->user : NULL,
			      .stale_only = p->stale};
	lien_pager pg = {.rep = rep, .offset = p->offset};
	aiss_error e = {0};
	int rc, more = 0;

	pg.limit = (p->limit <= 0 || p->limit > AISS_PAGE_MAX) ? AISS_PAGE_MAX
							       : p->limit;
	if (p->offset < 0)
		return lien_fail(rep, AISS_E_INVALID, "negative page offset");
	if (p->grant_id[0]) {
		int m = plain ? aiss_ledger_grant_is_member(l, p->grant_id,
							    who->user)
			      : 1;
		aiss_grant g;
		if (m < 0)
			return lien_fail(rep, AISS_E_STORAGE,
					 "cannot read grant %s's members",
					 p->grant_id);
		if (!m)
			return lien_fail(rep, AISS_E_PERMISSION,
					 "user %s is not a member of grant "
					 "%s; ask the grant's principal "
					 "investigator to add you",
					 who->user, p->grant_id);
		if (aiss_ledger_grant_get(l, p->grant_id, &g, &e)) {
			rep->status = e.code;
			snprintf(rep->message, sizeof(rep->message), "%s",
				 e.text);
			return;
		}
	}
	if (req->op == AISS_OP_LIEN_EXPIRE && !p->dry_run) {
		/* Each call expires one page's worth and reports every lien
		 * it expired (no offset: the expired ones are gone); the
		 * client asks again while more remain. */
		pg.offset = 0;
		rc = aiss_ledger_lien_expire(l, &f, pg.limit, who->user,
					     lien_take, &pg, &more, &e);
		rep->more = rc == 0 && more && !pg.oom;
		rep->next_offset = 0;
	} else {
		if (req->op == AISS_OP_LIEN_EXPIRE)
			f.stale_only = 1;
		rc = aiss_ledger_lien_list(l, &f, lien_take, &pg, &e);
	}
	if (rc) {
		drop_items(rep);
		rep->status = e.code == AISS_OK ? AISS_E_INTERNAL : e.code;
		snprintf(rep->message, sizeof(rep->message), "%s",
			 e.text[0] ? e.text : aiss_status_name(rep->status));
	} else if (pg.oom) {
		drop_items(rep);
		lien_fail(rep, AISS_E_INTERNAL, "aissd is out of memory");
	}
}

/* ---- periodic expiry ---- */

/* Seconds between sweeps when nothing is left to expire. */
#define SWEEP_INTERVAL 60
/* Liens one sweep expires (one transaction on the loop). */
#define SWEEP_MAX 256

static int64_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static int sweep_log(const aiss_lien_info *it, void *arg)
{
	char key[AISS_ID_MAX + 48], m[AISS_MONEY_BUFSZ];
	(*(int *)arg)++;
	aissd_log(AISSD_LOG_INFO,
		  "expired stale lien of run %s (grant %s, account %s, user "
		  "%s): HK$%s released; a late settle is still charged",
		  aiss_run_key_format(&it->lien.key, key, sizeof(key)),
		  it->lien.grant_id, it->account, it->user,
		  aiss_money_format(it->lien.held_subsidy, true, m, sizeof(m)));
	return 0;
}

void aissd_lien_sweep(aiss_ledger *l, const aissd_config *cfg, int64_t *next)
{
	aiss_error e = {0};
	int64_t now = mono_s();
	int more = 0, n = 0;

	if (!cfg->lien_expire || now < *next || aiss_ledger_in_batch(l))
		return;
	if (aiss_ledger_lien_expire(l, NULL, SWEEP_MAX, "aissd", sweep_log, &n,
				    &more, &e)) {
		aissd_log(AISSD_LOG_ERROR,
			  "lien expiry failed (retrying in %d s): %s",
			  SWEEP_INTERVAL, e.text);
		*next = now + SWEEP_INTERVAL;
		return;
	}
	if (n)
		aissd_log(AISSD_LOG_INFO,
			  "lien expiry: %d stale liens released", n);
	/* More left: the next turn sweeps again (one page per turn). */
	*next = more ? now : now + SWEEP_INTERVAL;
}
