/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dispatch.c: one request -> roles check, argument checks, ledger call,
 * paged listings. Pure of sockets: the event loop and tests call it. */
#include "aissd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- roles ---- */

#define R_ALL                                                                  \
	(AISSD_ROLE_USER | AISSD_ROLE_SLURM | AISSD_ROLE_ADMIN |               \
	 AISSD_ROLE_FINANCE)
#define R_PRIV (AISSD_ROLE_SLURM | AISSD_ROLE_ADMIN | AISSD_ROLE_FINANCE)

/* Who may run each op. Users' reads are further narrowed to their grants. */
static unsigned op_roles(aiss_op op)
{
	switch (op) {
	case AISS_OP_QUOTE:
	case AISS_OP_BALANCE:
	case AISS_OP_BALANCE_LIST:
	case AISS_OP_STATEMENT:
	case AISS_OP_SCHEME_GET:
	case AISS_OP_EARMARK_LIST:
	case AISS_OP_INSTITUTION_LIST:
	case AISS_OP_GRANT_GET:
	case AISS_OP_GRANT_LIST:
	case AISS_OP_PRICE_LIST:
	case AISS_OP_CAPACITY_LIST:
	case AISS_OP_LIEN_LIST:
		return R_ALL;
	case AISS_OP_RESERVE:
	case AISS_OP_SETTLE:
	case AISS_OP_RELEASE:
		return AISSD_ROLE_SLURM | AISSD_ROLE_ADMIN;
	case AISS_OP_CAPACITY_PUT:
		return AISSD_ROLE_SLURM | AISSD_ROLE_ADMIN;
	case AISS_OP_JOURNAL_VERIFY:
	case AISS_OP_CHARGE_EXPORT:
	case AISS_OP_ADJUSTMENT_EXPORT:
		return AISSD_ROLE_ADMIN | AISSD_ROLE_FINANCE;
	case AISS_OP_SERVER_STATUS:
		return R_PRIV;
	case AISS_OP_SCHEME_INIT:
	case AISS_OP_EARMARK_SET:
	case AISS_OP_INSTITUTION_ADD:
	case AISS_OP_GRANT_ADD:
	case AISS_OP_GRANT_MODIFY:
	case AISS_OP_GRANT_SET_STATE:
	case AISS_OP_PRICE_SET:
	case AISS_OP_ADJUST:
	case AISS_OP_LIEN_EXPIRE:
		return AISSD_ROLE_ADMIN;
	default:
		return 0;
	}
}

static const char *needed_role(aiss_op op)
{
	unsigned r = op_roles(op);
	if (r == AISSD_ROLE_ADMIN)
		return "an administrator (admin_users in aiss.conf)";
	if (r == (AISSD_ROLE_ADMIN | AISSD_ROLE_FINANCE))
		return "finance staff or an administrator (finance_users or "
		       "admin_users in aiss.conf)";
	if (r == R_PRIV)
		return "Slurm, finance staff or an administrator (slurm_user, "
		       "finance_users or admin_users in aiss.conf)";
	return "Slurm (root or slurm_user in aiss.conf) or an administrator";
}

/* A caller with only the user role: reads narrowed to member grants. */
static int plain_user(const aissd_caller *who)
{
	return !(who->roles & R_PRIV);
}

static int fail(aiss_reply *rep, aiss_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(aiss_reply *rep, aiss_status code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rep->status = code;
	vsnprintf(rep->message, sizeof(rep->message), fmt, ap);
	va_end(ap);
	return -1;
}

static void from_err(aiss_reply *rep, int rc, const aiss_error *e)
{
	if (rc == 0)
		return;
	rep->status = e->code == AISS_OK ? AISS_E_INTERNAL : e->code;
	snprintf(rep->message, sizeof(rep->message), "%s",
		 e->text[0] ? e->text : aiss_status_name(rep->status));
}

/* ---- argument checks (the ledger checks again; these give the wire a
 * clear sentence before anything is touched) ---- */

static int amount_ok(aiss_reply *rep, const char *what, aiss_cents_t c,
		     int allow_negative)
{
	if (c > AISS_CENTS_LIMIT || c < -AISS_CENTS_LIMIT ||
	    (!allow_negative && c < 0)) {
		char b[AISS_MONEY_BUFSZ];
		return fail(rep, AISS_E_INVALID,
			    "%s HK$%s is out of range (0 to HK$%s)", what,
			    aiss_money_format(c, true, b, sizeof(b)),
			    "1,000,000,000,000,000.00");
	}
	return 0;
}

static int shape_ok(aiss_reply *rep, const aiss_job_shape *s)
{
	if (!s->account[0])
		return fail(rep, AISS_E_INVALID,
			    "no account given: name the Slurm account the "
			    "job runs under");
	if (s->gpus <= 0 || s->gpus > AISS_GPUS_LIMIT)
		return fail(rep, AISS_E_INVALID,
			    "%lld GPUs is out of range (1..%d)",
			    (long long)s->gpus, AISS_GPUS_LIMIT);
	if (s->time_limit <= 0 || s->time_limit > AISS_DURATION_LIMIT)
		return fail(rep, AISS_E_INVALID,
			    "time limit of %lld s is out of range (1 s to ten "
			    "years)",
			    (long long)s->time_limit);
	if (s->count < 0 || s->count > 1000000)
		return fail(rep, AISS_E_INVALID,
			    "job array of %lld elements is out of range "
			    "(0..1000000)",
			    (long long)s->count);
	return 0;
}

static int grant_ok(aiss_reply *rep, const aiss_grant *g)
{
	if (!g->id[0])
		return fail(rep, AISS_E_INVALID, "the grant needs an id");
	if (!aiss_policy_rate_valid(g->rate_bp))
		return fail(rep, AISS_E_INVALID,
			    "grant %s: subsidy rate %d bp (%d.%02d%%) is not "
			    "allowed; the scheme approves 0..9000 bp "
			    "(default 7000 = 70%%, at most 9000 = 90%%)",
			    g->id, g->rate_bp, g->rate_bp / 100,
			    (g->rate_bp < 0 ? -g->rate_bp : g->rate_bp) % 100);
	if (amount_ok(rep, "approved subsidy", g->approved_subsidy, 0))
		return -1;
	if (g->approved_gpu_seconds < 0)
		return fail(rep, AISS_E_INVALID,
			    "grant %s: approved GPU-hours may not be negative",
			    g->id);
	if (g->max_concurrent_gpus < 0)
		return fail(rep, AISS_E_INVALID,
			    "grant %s: maximum concurrent GPUs may not be "
			    "negative",
			    g->id);
	return 0;
}

/* ---- paged listings ---- */

typedef struct pager {
	aiss_reply *rep;
	const aiss_page *page;
	int32_t limit;
	int64_t seen; /* items offered by the ledger so far */
	int64_t last_end;
	int64_t same_end; /* collected items whose end == last_end */
	int oom;
} pager;

static int32_t page_limit(const aiss_page *p)
{
	return (p->limit <= 0 || p->limit > AISS_PAGE_MAX) ? AISS_PAGE_MAX
							   : p->limit;
}

/* Appends @item to the page, or marks the page as having more when it is
 * full. Returns 0 when taken, 1 to stop the listing (full, or out of
 * memory: pg->oom). */
static int take_item(pager *pg, const void *item, size_t sz)
{
	if ((int64_t)pg->rep->n_items >= pg->limit) {
		pg->rep->more = 1;
		return 1;
	}
	void *it = aiss_reply_add_item(pg->rep);
	if (!it) {
		pg->oom = 1;
		return 1;
	}
	memcpy(it, item, sz);
	return 0;
}

/* Offset paging: skip page->offset items, take limit, peek one more. */
static int take_offset(pager *pg, const void *item, size_t sz)
{
	if (pg->seen++ < pg->page->offset)
		return 0;
	if (take_item(pg, item, sz))
		return 1;
	pg->rep->next_offset = pg->page->offset + (int64_t)pg->rep->n_items;
	return 0;
}

/* Sequence paging: items with seq <= after_seq are skipped. */
static int take_seq(pager *pg, const void *item, size_t sz, int64_t seq)
{
	if (seq <= pg->page->after_seq)
		return 0;
	if (take_item(pg, item, sz))
		return 1;
	pg->rep->next_after_seq = seq;
	return 0;
}

#define OFFSET_CB(name, type)                                                  \
	static int name(const type *it, void *arg)                             \
	{                                                                      \
		return take_offset(arg, it, sizeof(*it));                      \
	}
OFFSET_CB(cb_balance, aiss_balance)
OFFSET_CB(cb_earmark, aiss_earmark)
OFFSET_CB(cb_institution, aiss_institution)
OFFSET_CB(cb_grant, aiss_grant)
OFFSET_CB(cb_price, aiss_price)
OFFSET_CB(cb_capacity, aiss_capacity)

static int cb_entry(const aiss_journal_entry *it, void *arg)
{
	return take_seq(arg, it, sizeof(*it), it->seq);
}

static int cb_adjustment(const aiss_adjustment *it, void *arg)
{
	return take_seq(arg, it, sizeof(*it), it->journal_seq);
}

/* Charges come ordered by (end, run key) from page->from on: the first
 * page->offset of those ending exactly at page->from were sent before. */
static int cb_charge(const aiss_charge_rec *it, void *arg)
{
	pager *pg = arg;
	if (it->end == pg->page->from && pg->seen < pg->page->offset) {
		pg->seen++;
		return 0;
	}
	if ((int64_t)pg->rep->n_items >= pg->limit) {
		pg->rep->more = 1;
		return 1;
	}
	aiss_charge_rec *c = aiss_reply_add_item(pg->rep);
	if (!c) {
		pg->oom = 1;
		return 1;
	}
	*c = *it;
	if (it->end != pg->last_end || pg->rep->n_items == 1) {
		pg->same_end = it->end == pg->page->from ? pg->seen : 0;
		pg->last_end = it->end;
	}
	pg->same_end++;
	pg->rep->next_from = pg->last_end;
	pg->rep->next_offset = pg->same_end;
	return 0;
}

/* ---- the dispatcher ---- */

static int user_may_see(aiss_ledger *l, const aissd_caller *who,
			const char *grant_id, aiss_reply *rep)
{
	if (!plain_user(who))
		return 0;
	int m = aiss_ledger_grant_is_member(l, grant_id, who->user);
	if (m == 1)
		return 0;
	if (m < 0)
		return fail(rep, AISS_E_STORAGE,
			    "cannot read grant %s's members", grant_id);
	return fail(rep, AISS_E_PERMISSION,
		    "user %s is not a member of grant %s; ask the grant's "
		    "principal investigator to add you",
		    who->user, grant_id);
}

static void run_list(aiss_ledger *l, const aissd_caller *who,
		     const aiss_request *req, aiss_reply *rep)
{
	aiss_error e = {0};
	pager pg = {.rep = rep,
		    .page = &req->u.page,
		    .limit = page_limit(&req->u.page)};
	const char *member = plain_user(who) ? who->user : NULL;
	const aiss_page *p = &req->u.page;
	int rc = 0;
	if (p->offset < 0 || p->after_seq < 0)
		return (void)fail(rep, AISS_E_INVALID, "negative page offset");
	switch (req->op) {
	case AISS_OP_BALANCE_LIST:
		rc = aiss_ledger_balance_list(l, member, cb_balance, &pg, &e);
		break;
	case AISS_OP_GRANT_LIST:
		rc = aiss_ledger_grant_list(l, member, cb_grant, &pg, &e);
		break;
	case AISS_OP_STATEMENT:
		if (user_may_see(l, who, p->grant_id, rep))
			return;
		rc = aiss_ledger_statement(l, p->grant_id, cb_entry, &pg, &e);
		break;
	case AISS_OP_EARMARK_LIST:
		rc = aiss_ledger_earmark_list(l, cb_earmark, &pg, &e);
		break;
	case AISS_OP_INSTITUTION_LIST:
		rc = aiss_ledger_institution_list(l, cb_institution, &pg, &e);
		break;
	case AISS_OP_PRICE_LIST:
		rc = aiss_ledger_price_list(l, cb_price, &pg, &e);
		break;
	case AISS_OP_CAPACITY_LIST:
		rc = aiss_ledger_capacity_list(l, cb_capacity, &pg, &e);
		break;
	case AISS_OP_CHARGE_EXPORT:
		rc = aiss_ledger_charge_export(l, p->from, p->to, cb_charge,
					       &pg, &e);
		break;
	case AISS_OP_ADJUSTMENT_EXPORT:
		rc = aiss_ledger_adjustment_export(l, p->from, p->to,
						   cb_adjustment, &pg, &e);
		break;
	default:
		fail(rep, AISS_E_INTERNAL, "not a listing");
		return;
	}
	if (rc) {
		free(rep->items);
		rep->items = NULL;
		rep->n_items = rep->cap_items = 0;
		rep->more = 0;
		from_err(rep, rc, &e);
	} else if (pg.oom) {
		free(rep->items);
		rep->items = NULL;
		rep->n_items = rep->cap_items = 0;
		rep->more = 0;
		fail(rep, AISS_E_INTERNAL, "aissd is out of memory");
	}
}

void aissd_dispatch(aiss_ledger *l, const aissd_caller *who,
		    const aiss_request *req, aiss_reply *rep)
{
	aiss_error e = {0};
	const char *actor = who->user;
	unsigned need = op_roles(req->op);
	if (!need) {
		fail(rep, AISS_E_PROTOCOL,
		     "unknown operation %d (client newer than aissd?)",
		     (int)req->op);
		return;
	}
	if (!(who->roles & need)) {
		char rb[64];
		fail(rep, AISS_E_PERMISSION,
		     "%s (%s) may not %s: that needs %s", who->user,
		     aissd_roles_format(who->roles, rb, sizeof(rb)),
		     aiss_op_name(req->op), needed_role(req->op));
		return;
	}

	int rc = 0;
	switch (req->op) {
	case AISS_OP_QUOTE: {
		aiss_job_shape s = req->u.quote;
		if (plain_user(who)) {
			if (!s.user[0])
				snprintf(s.user, sizeof(s.user), "%s",
					 who->user);
			else if (strcmp(s.user, who->user)) {
				fail(rep, AISS_E_PERMISSION,
				     "%s may only quote jobs of their own, "
				     "not of user %s",
				     who->user, s.user);
				return;
			}
		}
		if (shape_ok(rep, &s))
			return;
		rc = aiss_ledger_quote(l, &s, &rep->u.quote, &e);
		break;
	}
	case AISS_OP_RESERVE:
		if (shape_ok(rep, &req->u.reserve.shape))
			return;
		if (!req->u.reserve.key.cluster[0] ||
		    !req->u.reserve.key.job_id)
			return (void)fail(rep, AISS_E_INVALID,
					  "the run key needs a cluster and a "
					  "job id");
		rc = aiss_ledger_reserve(l, &req->u.reserve, actor,
					 &rep->u.lien, &e);
		break;
	case AISS_OP_SETTLE: {
		const aiss_settle_req *s = &req->u.settle;
		if (s->gpus < 0 || s->gpus > AISS_GPUS_LIMIT)
			return (void)fail(rep, AISS_E_INVALID,
					  "%lld GPUs is out of range (0..%d)",
					  (long long)s->gpus, AISS_GPUS_LIMIT);
		if (s->end < s->key.run_start ||
		    s->end - s->key.run_start > AISS_DURATION_LIMIT)
			return (void)fail(rep, AISS_E_INVALID,
					  "run end %lld is before its start "
					  "%lld or over ten years after it",
					  (long long)s->end,
					  (long long)s->key.run_start);
		rc = aiss_ledger_settle(l, s, actor, &rep->u.charge, &e);
		break;
	}
	case AISS_OP_RELEASE:
		rc = aiss_ledger_release(l, &req->u.release, actor, &e);
		break;
	case AISS_OP_BALANCE:
		if (user_may_see(l, who, req->u.grant_id, rep))
			return;
		rc = aiss_ledger_balance(l, req->u.grant_id, &rep->u.balance,
					 &e);
		break;
	case AISS_OP_GRANT_GET:
		if (user_may_see(l, who, req->u.grant_id, rep))
			return;
		rc = aiss_ledger_grant_get(l, req->u.grant_id, &rep->u.grant,
					   &e);
		break;
	case AISS_OP_SCHEME_INIT:
		if (amount_ok(rep, "commitment", req->u.scheme.commitment, 0))
			return;
		rc = aiss_ledger_scheme_init(l, &req->u.scheme, actor, &e);
		break;
	case AISS_OP_SCHEME_GET:
		rc = aiss_ledger_scheme_get(l, &rep->u.scheme, &e);
		break;
	case AISS_OP_EARMARK_SET:
		if (amount_ok(rep, "earmark", req->u.earmark.amount, 0))
			return;
		rc = aiss_ledger_earmark_set(l, &req->u.earmark, actor, &e);
		break;
	case AISS_OP_INSTITUTION_ADD:
		rc = aiss_ledger_institution_add(l, &req->u.institution, actor,
						 &e);
		break;
	case AISS_OP_GRANT_ADD:
		if (grant_ok(rep, &req->u.grant))
			return;
		rc = aiss_ledger_grant_add(l, &req->u.grant, actor, &e);
		break;
	case AISS_OP_GRANT_MODIFY:
		if (grant_ok(rep, &req->u.grant))
			return;
		rc = aiss_ledger_grant_modify(l, &req->u.grant, actor, &e);
		break;
	case AISS_OP_GRANT_SET_STATE:
		rc = aiss_ledger_grant_set_state(
		    l, req->u.set_state.grant_id, req->u.set_state.state,
		    req->u.set_state.reason, actor, &e);
		break;
	case AISS_OP_PRICE_SET:
		if (req->u.price.cents_per_gpu_hour <= 0 ||
		    req->u.price.cents_per_gpu_hour > AISS_PRICE_LIMIT)
			return (void)fail(
			    rep, AISS_E_INVALID,
			    "price of %lld cents per GPU-hour for %s is "
			    "out of range (1 cent to HK$1,000,000.00)",
			    (long long)req->u.price.cents_per_gpu_hour,
			    req->u.price.gpu_type);
		rc = aiss_ledger_price_set(l, &req->u.price, actor, &e);
		break;
	case AISS_OP_ADJUST:
		if (req->u.adjust.amount == 0)
			return (void)fail(rep, AISS_E_INVALID,
					  "an adjustment of zero changes "
					  "nothing; give a non-zero amount");
		if (amount_ok(rep, "adjustment", req->u.adjust.amount, 1))
			return;
		if (!req->u.adjust.reason[0])
			return (void)fail(rep, AISS_E_INVALID,
					  "an adjustment needs a reason "
					  "(policy item 14)");
		rc = aiss_ledger_adjust(l, &req->u.adjust, actor,
					&rep->u.adjustment, &e);
		break;
	case AISS_OP_JOURNAL_VERIFY:
		rc = aiss_ledger_journal_verify(l, &rep->u.verify, &e);
		break;
	case AISS_OP_SERVER_STATUS: /* the loop adds its own counters */
		snprintf(rep->u.status.ledger, sizeof(rep->u.status.ledger),
			 "%s", aiss_ledger_path(l));
		rep->u.status.writes_ok = !aiss_ledger_writes_refused(
		    l, rep->u.status.writes_error,
		    sizeof(rep->u.status.writes_error));
		break;
	case AISS_OP_CAPACITY_PUT:
		rc = aiss_ledger_capacity_put(l, &req->u.capacity, actor, &e);
		break;
	case AISS_OP_LIEN_LIST:
	case AISS_OP_LIEN_EXPIRE:
		aissd_dispatch_lien(l, who, req, rep);
		return;
	default:
		run_list(l, who, req, rep);
		return;
	}
	from_err(rep, rc, &e);
}
