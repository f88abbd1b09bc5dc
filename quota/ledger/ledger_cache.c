/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ledger_cache.c: grants (with their running totals) and account -> grant
 * lookups remembered between requests, valid only inside the ledger's own
 * write transactions and dropped on anything it cannot follow. */
#include <stdlib.h>
#include <string.h>

#include "ledger_int.h"

/*
 * Reserve and settle read their grant row (a join of 24 columns) on every
 * call; here the row is kept. Rules that keep it right:
 *  - It is used only inside a transaction this handle opened with BEGIN
 *    IMMEDIATE (l->cache_ok, set by ledger_cache_begin()), so no other
 *    connection can write while it is read. At that BEGIN, PRAGMA
 *    data_version tells whether another connection committed since the
 *    last one: if so everything is dropped.
 *  - This connection's own changes: an update hook drops everything when a
 *    row of grants, account or institution changes, except the two
 *    updates of running totals that reserve, release and settle make while
 *    "expecting" (ledger_cache_expect()), which apply the same deltas to
 *    the cached row (ledger_cache_hold(), ledger_cache_charge()).
 *  - Every rollback (of an operation's savepoint, of a batch, a failed
 *    commit) drops everything, as the cached rows may hold what was undone.
 * Lookups that miss read SQLite as before and remember the row. Tables are
 * direct-mapped (a collision replaces the older entry).
 */

#define GC_SLOTS 256 /* power of two */

typedef struct gc_grant {
	int used;
	ledger_grant g;
} gc_grant;

typedef struct gc_account {
	int used;
	char account[AISS_ID_MAX];
	char grant_id[AISS_ID_MAX];
} gc_account;

struct ledger_cache {
	gc_grant grant[GC_SLOTS];
	gc_account account[GC_SLOTS];
	int64_t data_version;
	int have_version;
};

static unsigned slot_of(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h & (GC_SLOTS - 1);
}

static void update_hook(void *arg, int op, const char *dbname,
			const char *table, sqlite3_int64 rowid)
{
	aiss_ledger *l = arg;

	(void)op;
	(void)dbname;
	(void)rowid;
	if (!strcmp(table, "grants")) {
		if (!l->cache_expect)
			ledger_cache_drop(l);
	} else if (!strcmp(table, "account") || !strcmp(table, "institution")) {
		ledger_cache_drop(l);
	}
}

void ledger_cache_init(aiss_ledger *l)
{
	l->cache = calloc(1, sizeof(*l->cache));
	if (l->cache)
		sqlite3_update_hook(l->db, update_hook, l);
}

void ledger_cache_free(aiss_ledger *l)
{
	if (l->db)
		sqlite3_update_hook(l->db, NULL, NULL);
	free(l->cache);
	l->cache = NULL;
	l->cache_ok = 0;
}

void ledger_cache_drop(aiss_ledger *l)
{
	if (!l->cache)
		return;
	for (int i = 0; i < GC_SLOTS; i++) {
		l->cache->grant[i].used = 0;
		l->cache->account[i].used = 0;
	}
}

void ledger_cache_begin(aiss_ledger *l)
{
	sqlite3_stmt *st;
	int64_t v;

	l->cache_ok = 0;
	if (!l->cache)
		return;
	st = ledger_stmt(l, S_DATA_VERSION, NULL);
	if (!st) {
		ledger_cache_drop(l);
		return;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		ledger_cache_drop(l);
		return;
	}
	v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (!l->cache->have_version || v != l->cache->data_version)
		ledger_cache_drop(l);
	l->cache->data_version = v;
	l->cache->have_version = 1;
	l->cache_ok = 1;
}

void ledger_cache_end(aiss_ledger *l, int rolled_back)
{
	l->cache_ok = 0;
	if (rolled_back)
		ledger_cache_drop(l);
}

static int usable(const aiss_ledger *l)
{
	return l->cache && l->cache_ok && !sqlite3_get_autocommit(l->db);
}

static gc_grant *find_grant(aiss_ledger *l, const char *id)
{
	gc_grant *e = &l->cache->grant[slot_of(id)];

	return e->used && !strcmp(e->g.g.id, id) ? e : NULL;
}

int ledger_cache_get(aiss_ledger *l, enum ledger_stmt_id id, const char *key,
		     ledger_grant *out)
{
	gc_grant *e;

	if (!usable(l))
		return 0;
	if (id == S_GRANT_BY_ACCOUNT) {
		gc_account *a = &l->cache->account[slot_of(key)];

		if (!a->used || strcmp(a->account, key) != 0)
			return 0;
		key = a->grant_id;
	} else if (id != S_GRANT_GET) {
		return 0;
	}
	e = find_grant(l, key);
	if (!e)
		return 0;
	*out = e->g;
	return 1;
}

void ledger_cache_put(aiss_ledger *l, enum ledger_stmt_id id, const char *key,
		      const ledger_grant *g)
{
	gc_grant *e;

	if (!usable(l) || (id != S_GRANT_GET && id != S_GRANT_BY_ACCOUNT))
		return;
	if (strlen(g->g.id) >= sizeof(l->cache->account[0].grant_id))
		return;
	if (id == S_GRANT_BY_ACCOUNT) {
		gc_account *a = &l->cache->account[slot_of(key)];

		if (strlen(key) >= sizeof(a->account))
			return;
		strcpy(a->account, key);
		strcpy(a->grant_id, g->g.id);
		a->used = 1;
	}
	e = &l->cache->grant[slot_of(g->g.id)];
	e->g = *g;
	e->used = 1;
}

void ledger_cache_expect(aiss_ledger *l, int on)
{
	l->cache_expect = on;
}

void ledger_cache_hold(aiss_ledger *l, const char *grant_id, int64_t held,
		       int64_t gpus, int64_t gpu_seconds, int64_t n)
{
	gc_grant *e;

	if (!l->cache || !(e = find_grant(l, grant_id)))
		return;
	/* S_GRANT_HOLD */
	e->g.held += held;
	e->g.held_gpus += gpus;
	e->g.held_gpu_seconds += gpu_seconds;
	e->g.n_liens += n;
}

void ledger_cache_charge(aiss_ledger *l, const char *grant_id,
			 const ledger_charge_delta *d)
{
	gc_grant *e;

	if (!l->cache || !(e = find_grant(l, grant_id)))
		return;
	/* S_GRANT_CHARGE */
	e->g.charged += d->subsidy;
	e->g.list_cost += d->list_cost;
	e->g.copay += d->copay;
	e->g.used_gpu_seconds += d->gpu_seconds;
	e->g.n_runs += 1;
	if (d->end > e->g.last_end)
		e->g.last_end = d->end;
	e->g.held -= d->held;
	e->g.held_gpus -= d->held_gpus;
	e->g.held_gpu_seconds -= d->held_gpu_seconds;
	e->g.n_liens -= d->n_liens;
}
