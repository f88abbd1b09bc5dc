/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_ledger: the durable subsidy ledger (SQLite, WAL, versioned schema):
 * scheme, institutions, grants, prices, quote/reserve/settle/release,
 * adjustments and the hash-chained journal. No sockets; aissd calls this. */
#ifndef AISS_LEDGER_H
#define AISS_LEDGER_H

#include "aiss_model.h"

typedef struct aiss_ledger aiss_ledger;

/* The schema version this build writes (PRAGMA user_version). */
#define AISS_LEDGER_SCHEMA_VERSION 2

/*
 * Opens (creating if needed) the ledger database at @path and migrates its
 * schema to AISS_LEDGER_SCHEMA_VERSION. Pragmas: journal_mode=WAL,
 * synchronous=FULL, foreign_keys=ON, busy_timeout, cache_size 8 MiB;
 * the WAL is checkpointed by aiss_ledger_idle() or, every 1000 pages added,
 * by the committing call (no background checkpointer: measured slower),
 * and starts again from 8000 pages (ledger_vfs.c).
 * Returns a handle the caller frees with aiss_ledger_close(), or NULL with
 * @err (AISS_E_STORAGE: cannot open, newer schema, corrupt file). One handle
 * is used by one thread at a time; one process should own the database
 * (aissd). Its only thread is the VFS's, for a checkpoint's database fsync.
 */
aiss_ledger *aiss_ledger_open(const char *path, aiss_error *err);

/* Closes @l (rolling back an open batch) and frees it. NULL is accepted. */
void aiss_ledger_close(aiss_ledger *l);

/* Replaces the clock (default: time(NULL)) used for "now": journal times,
 * quote start when shape.start == 0, window checks. For tests. @now NULL
 * restores the default. */
void aiss_ledger_set_clock(aiss_ledger *l, aiss_time_t (*now)(void *),
			   void *arg);

/*
 * Group commit. aiss_ledger_batch_begin() opens one transaction; every
 * operation until aiss_ledger_batch_commit() runs inside it, each mutating
 * operation in its own SAVEPOINT, so a refused or failed operation rolls back
 * only itself. Commit makes the whole batch durable with one fsync; nothing
 * done in a batch is durable (and no reply may be sent) before it returns 0.
 * Rollback undoes the whole batch. Outside a batch each mutating operation
 * is its own durable transaction.
 * All return 0, or -1 with @err (AISS_E_INVALID: begin inside a batch,
 * commit/rollback outside one; AISS_E_STORAGE). A failed commit leaves no
 * batch open and nothing of it applied.
 */
int aiss_ledger_batch_begin(aiss_ledger *l, aiss_error *err);
int aiss_ledger_batch_commit(aiss_ledger *l, aiss_error *err);
int aiss_ledger_batch_rollback(aiss_ledger *l, aiss_error *err);
/*
 * A batch whose operations run without a SAVEPOINT each (a savepoint and
 * the copies of the pages it protects are about 12% of a reserve's or a
 * settle's instructions). An operation refused before it changed anything
 * (every policy refusal) costs nothing to undo; one that fails after
 * changing rows (a storage error, a check after a write) spoils the
 * batch: aiss_ledger_batch_spoiled() turns 1, later operations fail, and
 * commit refuses (rolling back). The caller then rolls the batch back and
 * runs its requests again in an ordinary batch. spoiled: 1 or 0.
 */
int aiss_ledger_batch_begin_optimistic(aiss_ledger *l, aiss_error *err);
int aiss_ledger_batch_spoiled(const aiss_ledger *l);
/*
 * Call when the caller has nothing to do (aissd: no request waiting): if
 * the WAL has grown, copies it into the database now (a PASSIVE checkpoint,
 * about one fsync), so that commits rarely pay for one. Commits still
 * checkpoint by themselves every 1000 pages added. Returns 1 when
 * it checkpointed, 0 when nothing was due or inside a batch. Never fails
 * visibly (a failed checkpoint is retried later).
 */
int aiss_ledger_idle(aiss_ledger *l);

/*
 * Sets the page cache of @l to @kib KiB (the default is 8 MiB). For a
 * second handle that only runs long reads (aissd's worker), whose scans
 * gain little from a large cache: its cache comes on top of the main
 * handle's. Returns 0, or -1 with @err (AISS_E_INVALID for kib < 64).
 */
int aiss_ledger_set_cache_kib(aiss_ledger *l, int kib, aiss_error *err);

/* The database file's path (as SQLite resolved it). */
const char *aiss_ledger_path(aiss_ledger *l);
/* 1 when no change can be committed any more because a checkpoint's
 * deferred database fsync failed (the WAL is kept; a restart recovers
 * it), with the reason and the fix in @why; else 0. */
int aiss_ledger_writes_refused(aiss_ledger *l, char *why, size_t n);

/* 1 while a batch is open. */
int aiss_ledger_in_batch(const aiss_ledger *l);

/*
 * Conventions for everything below: return 0 on success, or -1 with @err
 * (code from aiss_error.h and a sentence naming the grant, the numbers and
 * the fix). Out-structs are caller-owned and fully overwritten on success.
 * @actor (mutations) is who asked, recorded in the journal ("" or NULL:
 * "unknown"). List calls invoke @cb once per item; a non-zero return from
 * @cb stops the listing and the call returns 0. @cb must not call back into
 * the ledger. Failed operations change nothing.
 */

/* ---- lifecycle (policy items 3-9) ---- */

/*
 * Prices @shape (start 0: now) against the grant paying for shape->account
 * without changing anything. A refusal is not an error: out->verdict is the
 * status reserve would return and out->reason its sentence; fit_time_limit,
 * fit_gpus and fit_count say what would fit now (no price in force is the
 * verdict AISS_E_NO_PRICE). Returns -1 only for malformed input
 * (AISS_E_INVALID), an unknown account (AISS_E_UNKNOWN_ACCOUNT) or
 * AISS_E_STORAGE.
 */
int aiss_ledger_quote(aiss_ledger *l, const aiss_job_shape *shape,
		      aiss_quote *out, aiss_error *err);

/*
 * Places a lien for run @req->key holding the worst-case subsidy of
 * req->shape (GPUs x time limit at the price in force at key.run_start).
 * Refusals: AISS_E_UNKNOWN_ACCOUNT, AISS_E_NOT_MEMBER, AISS_E_GRANT_INACTIVE,
 * AISS_E_OUTSIDE_WINDOW, AISS_E_GPU_TYPE, AISS_E_NO_PRICE,
 * AISS_E_CONCURRENCY, AISS_E_INSUFFICIENT, AISS_E_GPU_HOURS; AISS_E_INVALID
 * for malformed input. Idempotent on the run key: a repeat returns the first
 * lien (whatever its state now) and changes nothing; a repeat with another
 * shape is AISS_E_CONFLICT.
 */
int aiss_ledger_reserve(aiss_ledger *l, const aiss_reserve_req *req,
			const char *actor, aiss_lien *out, aiss_error *err);

/*
 * Charges run @req->key per policy items 5-9 at the price in force at its
 * start, with the grant's remaining subsidy as cap, and releases its lien in
 * the same transaction. Without a lien (usage import) the grant is found by
 * req->account (AISS_E_UNKNOWN_ACCOUNT if none); a suspended or closed grant
 * is still charged (the run happened). NODE_FAIL (end_state prefix) is
 * charged zero with the reason recorded. Settling after release is allowed.
 * Runs are charged in the order they end (policy item 8): when this run
 * ends before runs of the grant already charged and the cap binds, it gets
 * the cap it would have had in that order and the later runs' subsidies are
 * reduced by "charge.correct" journal entries (charges are never edited).
 * Idempotent: a repeat returns the charge record (as corrected since, if
 * it was) and changes nothing. Errors: AISS_E_INVALID (end < start, bad
 * GPUs), AISS_E_NO_PRICE, AISS_E_UNKNOWN_ACCOUNT, AISS_E_STORAGE.
 */
int aiss_ledger_settle(aiss_ledger *l, const aiss_settle_req *req,
		       const char *actor, aiss_charge_rec *out,
		       aiss_error *err);

/* Drops the lien of run @key (job cancelled before start). Idempotent (a
 * released or settled lien: 0, no change); a key with no lien at all is
 * AISS_E_NOT_FOUND. */
int aiss_ledger_release(aiss_ledger *l, const aiss_run_key *key,
			const char *actor, aiss_error *err);

/* Reads the lien of @key (any state). AISS_E_NOT_FOUND if none. */
int aiss_ledger_lien_get(aiss_ledger *l, const aiss_run_key *key,
			 aiss_lien *out, aiss_error *err);

/* Reads the charge of @key, corrections applied. AISS_E_NOT_FOUND if it was
 * never settled. */
int aiss_ledger_charge_get(aiss_ledger *l, const aiss_run_key *key,
			   aiss_charge_rec *out, aiss_error *err);

/* ---- open and stale liens (ledger_lien.c) ---- */

/* Default lien grace: a lien is stale once its run started more than its
 * time limit plus this many seconds ago (aiss.conf lien_grace). */
#define AISS_LIEN_GRACE_DEFAULT 3600
/* Largest lien grace accepted: 366 days. */
#define AISS_LIEN_GRACE_MAX (366LL * 86400)

/* Sets the grace used by the lien calls below (0..AISS_LIEN_GRACE_MAX
 * seconds). Returns 0, or -1 with @err (AISS_E_INVALID). */
int aiss_ledger_set_lien_grace(aiss_ledger *l, int64_t seconds,
			       aiss_error *err);
int64_t aiss_ledger_lien_grace(const aiss_ledger *l);

/* Which open liens a lien call concerns. NULL or "" fields match all. */
typedef struct aiss_lien_filter {
	const char *grant_id; /* only this grant's */
	const char *member;   /* only grants this user is a member of */
	int stale_only;       /* only stale ones */
} aiss_lien_filter;

/*
 * Calls @cb for each open (held) lien matching @f (NULL: all), in order of
 * run start, then cluster and job id. Staleness is judged at the ledger's
 * now: stale when now > run_start + time_limit + grace (one second past
 * that instant, not at it). Changes nothing.
 */
int aiss_ledger_lien_list(aiss_ledger *l, const aiss_lien_filter *f,
			  int (*cb)(const aiss_lien_info *, void *), void *arg,
			  aiss_error *err);

/*
 * Releases up to @max (1..4096) stale open liens matching @f (stale_only is
 * implied), oldest run start first, in one transaction (one savepoint in a
 * batch): each lien's state becomes AISS_LIEN_EXPIRED, its hold leaves the
 * grant's held subsidy, GPUs and open liens, and a "lien.expire" journal
 * entry (amount +held, the run, the hold and why) records it. @cb (may be
 * NULL) gets each expired lien as it was before. *@more (may be NULL) is 1
 * when stale liens matching @f remain after @max. A settle that arrives
 * later still charges the run once, at the price the lien fixed, against
 * the grant's remaining subsidy then (aiss_ledger_settle: "settling after
 * release is allowed"); a release after expiry changes nothing.
 */
int aiss_ledger_lien_expire(aiss_ledger *l, const aiss_lien_filter *f, int max,
			    const char *actor,
			    int (*cb)(const aiss_lien_info *, void *),
			    void *arg, int *more, aiss_error *err);

/* ---- balances and statements ---- */

/* Balance of @grant_id (AISS_E_NOT_FOUND if unknown). */
int aiss_ledger_balance(aiss_ledger *l, const char *grant_id, aiss_balance *out,
			aiss_error *err);

/* Balances of every grant in id order; @member non-NULL: only grants whose
 * member list contains that user. */
int aiss_ledger_balance_list(aiss_ledger *l, const char *member,
			     int (*cb)(const aiss_balance *, void *), void *arg,
			     aiss_error *err);

/* Journal entries that concern @grant_id, in sequence order. */
int aiss_ledger_statement(aiss_ledger *l, const char *grant_id,
			  int (*cb)(const aiss_journal_entry *, void *),
			  void *arg, aiss_error *err);

/* ---- scheme, earmarks, institutions ---- */

/* Sets the scheme's name, commitment and start/end (the totals in @s are
 * ignored). May be repeated to change them; lowering the commitment below
 * approved + earmarked is AISS_E_COMMITMENT. */
int aiss_ledger_scheme_init(aiss_ledger *l, const aiss_scheme *s,
			    const char *actor, aiss_error *err);
/* The scheme with its totals. AISS_E_NOT_FOUND before scheme_init. */
int aiss_ledger_scheme_get(aiss_ledger *l, aiss_scheme *out, aiss_error *err);

/* Sets earmark e->name to e->amount (0 removes it); checked against the
 * commitment (AISS_E_COMMITMENT). */
int aiss_ledger_earmark_set(aiss_ledger *l, const aiss_earmark *e,
			    const char *actor, aiss_error *err);
int aiss_ledger_earmark_list(aiss_ledger *l,
			     int (*cb)(const aiss_earmark *, void *), void *arg,
			     aiss_error *err);

/* Adds an institution; AISS_E_EXISTS when the name is taken with another
 * type (same name and type: no-op, 0). */
int aiss_ledger_institution_add(aiss_ledger *l, const aiss_institution *i,
				const char *actor, aiss_error *err);
int aiss_ledger_institution_list(aiss_ledger *l,
				 int (*cb)(const aiss_institution *, void *),
				 void *arg, aiss_error *err);

/* ---- grants ---- */

/*
 * Approves grant @g (state forced to active when 0). Validated: id, known
 * institution (AISS_E_NOT_FOUND), rate 0..9000, amounts >= 0 and below
 * AISS_CENTS_LIMIT, window end > start, accounts not paid for by another
 * grant, at least one GPU type. AISS_E_EXISTS for a duplicate id;
 * AISS_E_COMMITMENT when approved totals would exceed commitment less
 * earmarks (AISS_E_NOT_FOUND before scheme_init).
 */
int aiss_ledger_grant_add(aiss_ledger *l, const aiss_grant *g,
			  const char *actor, aiss_error *err);
/* Replaces grant g->id by @g (same checks; a higher approved_subsidy is a
 * top-up checked against the commitment). */
int aiss_ledger_grant_modify(aiss_ledger *l, const aiss_grant *g,
			     const char *actor, aiss_error *err);
/* Suspends, resumes or closes @grant_id, recording @reason. */
int aiss_ledger_grant_set_state(aiss_ledger *l, const char *grant_id,
				aiss_grant_state state, const char *reason,
				const char *actor, aiss_error *err);
int aiss_ledger_grant_get(aiss_ledger *l, const char *grant_id, aiss_grant *out,
			  aiss_error *err);
/* The grant paying for Slurm account @account (AISS_E_UNKNOWN_ACCOUNT). */
int aiss_ledger_grant_by_account(aiss_ledger *l, const char *account,
				 aiss_grant *out, aiss_error *err);
/* Grants in id order; @member non-NULL: only those @member belongs to. */
int aiss_ledger_grant_list(aiss_ledger *l, const char *member,
			   int (*cb)(const aiss_grant *, void *), void *arg,
			   aiss_error *err);
/* 1 when @user is a member of @grant_id, 0 when not or the grant is
 * unknown, -1 on storage failure. */
int aiss_ledger_grant_is_member(aiss_ledger *l, const char *grant_id,
				const char *user);

/* ---- prices ---- */

/* Sets the list price of p->gpu_type from p->effective_from on (cents per
 * GPU-hour, 1..AISS_PRICE_LIMIT). Same type and instant again replaces. */
int aiss_ledger_price_set(aiss_ledger *l, const aiss_price *p,
			  const char *actor, aiss_error *err);
/* Every price, by GPU type then effective_from. */
int aiss_ledger_price_list(aiss_ledger *l,
			   int (*cb)(const aiss_price *, void *), void *arg,
			   aiss_error *err);
/* The price of @gpu_type in force at @at (AISS_E_NO_PRICE). */
int aiss_ledger_price_at(aiss_ledger *l, const char *gpu_type, aiss_time_t at,
			 int64_t *cents_per_gpu_hour, aiss_error *err);

/* ---- corrections and audit (policy item 14) ---- */

/* Records adjustment @a (non-zero amount, non-empty reason; a->actor and
 * a->at are ignored: @actor and now are used). @out (may be NULL) gets the
 * stored adjustment with its journal seq. */
int aiss_ledger_adjust(aiss_ledger *l, const aiss_adjustment *a,
		       const char *actor, aiss_adjustment *out,
		       aiss_error *err);

/* Recomputes the whole hash chain, then runs aiss_ledger_audit_totals()
 * (stored charges, adjustments and corrections against their journal
 * entries; running totals against the postings). A broken chain or a
 * mismatch is not an error: out->ok is 0 and first_bad_seq (the journal
 * entry concerned; 0 for a totals mismatch) and reason say where.
 * n_entries is the number of journal entries. -1 only on storage failure. */
int aiss_ledger_journal_verify(aiss_ledger *l, aiss_verify_result *out,
			       aiss_error *err);

/* Checks that every stored charge, adjustment and charge correction agrees
 * with the journal entry that recorded it (first_bad_seq names that entry),
 * and that the grants' running totals (charged, list cost, co-payments,
 * GPU-seconds, runs, held subsidy and GPUs, open liens, adjustments),
 * summed over all grants, equal the sums of the postings (first_bad_seq 0).
 * out->ok 0 with out->reason on a mismatch; n_entries is the number of
 * charges. -1 only on storage failure. */
int aiss_ledger_audit_totals(aiss_ledger *l, aiss_verify_result *out,
			     aiss_error *err);

/* Every charge whose run ended in [from, to) (to == 0: no bound), in charge
 * order (end, then run key), corrections applied (subsidy, copay, capped
 * are the charge as it stands; journal_seq is the original entry's). */
int aiss_ledger_charge_export(aiss_ledger *l, aiss_time_t from, aiss_time_t to,
			      int (*cb)(const aiss_charge_rec *, void *),
			      void *arg, aiss_error *err);
/* Every adjustment made in [from, to) (to == 0: no bound), in journal order. */
int aiss_ledger_adjustment_export(aiss_ledger *l, aiss_time_t from,
				  aiss_time_t to,
				  int (*cb)(const aiss_adjustment *, void *),
				  void *arg, aiss_error *err);

/* ---- operators ---- */

/* Records node cap->node's latest capacity check (replaces the previous). */
int aiss_ledger_capacity_put(aiss_ledger *l, const aiss_capacity *cap,
			     const char *actor, aiss_error *err);
int aiss_ledger_capacity_list(aiss_ledger *l,
			      int (*cb)(const aiss_capacity *, void *),
			      void *arg, aiss_error *err);

#endif
