/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_client: the client library of aissd, used by aissctl, the Slurm
 * plugins and aiss-gpucheck. Blocking calls, each bounded by a timeout. */
#ifndef AISS_CLIENT_H
#define AISS_CLIENT_H

#include "aiss_model.h"

/* Where aissd listens when neither a path nor $AISS_SOCKET is given. */
#define AISS_DEFAULT_SOCKET "/run/aiss/aissd.sock"
#define AISS_DEFAULT_TIMEOUT_MS 5000

typedef struct aiss_client aiss_client;

/*
 * Connects to aissd's Unix socket @path (NULL: $AISS_SOCKET, else
 * AISS_DEFAULT_SOCKET). Every later call on the handle is bounded by
 * @timeout_ms (<= 0: AISS_DEFAULT_TIMEOUT_MS) and fails with
 * AISS_E_UNAVAILABLE when it runs out. Returns a handle the caller frees
 * with aiss_client_close(), or NULL with @err (AISS_E_UNAVAILABLE).
 */
aiss_client *aiss_client_connect(const char *path, int timeout_ms,
				 aiss_error *err);

/* Connects over TCP to @host:@port; each request carries a MUNGE credential.
 * Returns as aiss_client_connect(). */
aiss_client *aiss_client_connect_tcp(const char *host, int port,
				     int timeout_ms, aiss_error *err);

/* Closes and frees @c. NULL is accepted. */
void aiss_client_close(aiss_client *c);

/*
 * All calls below return 0 on success, or -1 with @err filled: err->code is
 * the service's status (a policy refusal, AISS_E_INVALID, AISS_E_PERMISSION,
 * ...) or AISS_E_UNAVAILABLE / AISS_E_PROTOCOL for transport faults, and
 * err->text the sentence to show a person. Out-structs are caller-owned.
 * List calls invoke @cb once per item; a non-zero return from @cb stops
 * the listing (the call then returns 0).
 */

/* Lifecycle (policy items 4-9). Quote changes nothing: a refusal is not an
 * error, it is out->verdict != AISS_OK with out->reason. */
int aiss_client_quote(aiss_client *c, const aiss_job_shape *shape,
		      aiss_quote *out, aiss_error *err);
/* Lien at run start; idempotent on the run key (a repeat returns the first
 * answer). A refusal returns -1 with the refusal's status and sentence. */
int aiss_client_reserve(aiss_client *c, const aiss_reserve_req *req,
			aiss_lien *out, aiss_error *err);
/* Charge at run end (releases the lien); idempotent on the run key. */
int aiss_client_settle(aiss_client *c, const aiss_settle_req *req,
		       aiss_charge_rec *out, aiss_error *err);
/* Cancelled before start: drop the lien if any; idempotent. */
int aiss_client_release(aiss_client *c, const aiss_run_key *key,
			aiss_error *err);

/*
 * Pipelining (load generators): send reserves and settles without waiting
 * and read the replies later, in the order the requests were sent (aissd
 * answers each connection in order). The send calls return 0 and the
 * request's id in *@id (may be NULL), or -1 with @err. aiss_client_recv()
 * reads the next reply: 0 with its id in *@id when the request succeeded,
 * -1 with @err (the service's refusal, or a transport fault, after which
 * every request in flight is lost). No other call may be made on @c while
 * a pipelined request awaits its reply (they fail with AISS_E_INVALID).
 * Each call is bounded by the handle's timeout; there is no reconnection
 * while requests are in flight.
 */
int aiss_client_send_reserve(aiss_client *c, const aiss_reserve_req *req,
			     uint64_t *id, aiss_error *err);
int aiss_client_send_settle(aiss_client *c, const aiss_settle_req *req,
			    uint64_t *id, aiss_error *err);
int aiss_client_recv(aiss_client *c, uint64_t *id, aiss_error *err);
/* As aiss_client_recv() for a reply to aiss_client_send_settle(): on
 * success *@out (may be NULL) gets the charge record; a reply to another
 * operation is AISS_E_PROTOCOL. */
int aiss_client_recv_settle(aiss_client *c, uint64_t *id, aiss_charge_rec *out,
			    aiss_error *err);

/* Balances and statements. Users see only grants they are members of. */
int aiss_client_balance(aiss_client *c, const char *grant_id,
			aiss_balance *out, aiss_error *err);
int aiss_client_balance_list(aiss_client *c,
			     int (*cb)(const aiss_balance *, void *),
			     void *arg, aiss_error *err);
int aiss_client_statement(aiss_client *c, const char *grant_id,
			  int (*cb)(const aiss_journal_entry *, void *),
			  void *arg, aiss_error *err);

/* Scheme, institutions, grants, prices (admin; reads for finance too). */
int aiss_client_scheme_init(aiss_client *c, const aiss_scheme *s,
			    aiss_error *err);
int aiss_client_scheme_get(aiss_client *c, aiss_scheme *out, aiss_error *err);
int aiss_client_earmark_set(aiss_client *c, const aiss_earmark *e,
			    aiss_error *err);
int aiss_client_earmark_list(aiss_client *c,
			     int (*cb)(const aiss_earmark *, void *),
			     void *arg, aiss_error *err);
int aiss_client_institution_add(aiss_client *c, const aiss_institution *i,
				aiss_error *err);
int aiss_client_institution_list(aiss_client *c,
				 int (*cb)(const aiss_institution *, void *),
				 void *arg, aiss_error *err);
int aiss_client_grant_add(aiss_client *c, const aiss_grant *g,
			  aiss_error *err);
/* Replaces the grant with id g->id by @g (read it with grant_get first);
 * a rise of approved_subsidy is a top-up, checked against the commitment. */
int aiss_client_grant_modify(aiss_client *c, const aiss_grant *g,
			     aiss_error *err);
int aiss_client_grant_set_state(aiss_client *c, const char *grant_id,
				aiss_grant_state state, const char *reason,
				aiss_error *err);
int aiss_client_grant_get(aiss_client *c, const char *grant_id,
			  aiss_grant *out, aiss_error *err);
int aiss_client_grant_list(aiss_client *c,
			   int (*cb)(const aiss_grant *, void *), void *arg,
			   aiss_error *err);
int aiss_client_price_set(aiss_client *c, const aiss_price *p,
			  aiss_error *err);
int aiss_client_price_list(aiss_client *c,
			   int (*cb)(const aiss_price *, void *), void *arg,
			   aiss_error *err);

/* Corrections (policy item 14) and audit. */
int aiss_client_adjust(aiss_client *c, const aiss_adjustment *a,
		       aiss_adjustment *out, aiss_error *err);
int aiss_client_journal_verify(aiss_client *c, aiss_verify_result *out,
			       aiss_error *err);
/* aissd's own state (pid, uptime, ledger, whether it accepts changes,
 * request and commit counters): Slurm, admin and finance callers. */
int aiss_client_server_status(aiss_client *c, aiss_server_status *out,
			      aiss_error *err);

/* Finance: every charge whose run ended in [from, to) (to == 0: no bound),
 * in charge order, paged internally; and every adjustment likewise. */
int aiss_client_charge_export(aiss_client *c, aiss_time_t from, aiss_time_t to,
			      int (*cb)(const aiss_charge_rec *, void *),
			      void *arg, aiss_error *err);
int aiss_client_adjustment_export(aiss_client *c, aiss_time_t from,
				  aiss_time_t to,
				  int (*cb)(const aiss_adjustment *, void *),
				  void *arg, aiss_error *err);

/* Operators: GPU capacity check results (aiss-gpucheck). */
int aiss_client_capacity_put(aiss_client *c, const aiss_capacity *cap,
			     aiss_error *err);
int aiss_client_capacity_list(aiss_client *c,
			      int (*cb)(const aiss_capacity *, void *),
			      void *arg, aiss_error *err);

/* Operators: open liens (admin, finance; a user sees only the liens of
 * grants they are a member of). @grant_id NULL or "": every grant. Stale:
 * the run started more than its time limit plus aissd's lien_grace ago. */
int aiss_client_lien_list(aiss_client *c, const char *grant_id, int stale_only,
			  int (*cb)(const aiss_lien_info *, void *), void *arg,
			  aiss_error *err);
/* Admin: releases every stale lien (of @grant_id, or all), each journalled
 * as "lien.expire", and hands each to @cb; @dry_run: only reports what
 * would expire. A settle that arrives later is still charged, once. */
int aiss_client_lien_expire(aiss_client *c, const char *grant_id, int dry_run,
			    int (*cb)(const aiss_lien_info *, void *),
			    void *arg, aiss_error *err);

#endif
