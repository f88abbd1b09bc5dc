/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aissd.h: the daemon's internal API (config, roles, dispatch, event loop),
 * split from main() so handlers are testable over socketpair(). */
#ifndef AISSD_H
#define AISSD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aiss_ledger.h"
#include "aiss_wire.h"

/* ---- logging ---- */

enum { AISSD_LOG_ERROR = 0, AISSD_LOG_INFO = 1, AISSD_LOG_DEBUG = 2 };
/* Current verbosity (default AISSD_LOG_INFO). */
extern int aissd_log_level;
/* Logs a line to stderr: "2026-01-01T00:00:00Z aissd[pid]: text". */
void aissd_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- configuration (aiss.conf(5)) ---- */

#define AISSD_PATH_MAX 1024
#define AISSD_USERS_MAX 1024

typedef struct aissd_config {
	char db[AISSD_PATH_MAX];
	char socket[AISSD_PATH_MAX];
	unsigned socket_mode; /* default 0666: every user may quote */
	char tcp_host[256];   /* "" = no TCP listener (the default) */
	int tcp_port;
	char munge_socket[AISSD_PATH_MAX];   /* "" = munged's default */
	char slurm_user[AISS_ID_MAX];        /* role slurm besides root */
	char admin_users[AISSD_USERS_MAX];   /* names or uids, comma/space */
	char finance_users[AISSD_USERS_MAX]; /* read-only finance staff */
	int max_connections;      /* plain users + TCP, default 1024 */
	int max_user_connections; /* per plain user, default 32 */
	int batch_max;            /* requests per group commit, default 256 */
	int coalesce_us;    /* wait for more of a short batch, default 200 */
	int64_t lien_grace; /* s past a lien's time limit: stale (3600) */
	int lien_expire;    /* 1: release stale liens every minute (off) */
	int log_level;
} aissd_config;

/* Fills @c with the defaults (no db, AISS_DEFAULT_SOCKET, no TCP). */
void aissd_config_defaults(aissd_config *c);
/* Reads "key = value" lines of @path into @c ('#' starts a comment).
 * Returns 0, or -1 with @err naming the file, line and key. */
int aissd_config_load(aissd_config *c, const char *path, aiss_error *err);
/* Applies one setting; the parser's unit. 0, or -1 with @err. */
int aissd_config_set(aissd_config *c, const char *key, const char *value,
		     aiss_error *err);
/* Parses "HOST:PORT" ("[v6]:PORT" too; a bare "PORT" means 127.0.0.1)
 * into @host/@port. 0 or -1. */
int aissd_parse_hostport(const char *s, char *host, size_t hostlen, int *port);

/* ---- callers and roles ---- */

enum {
	AISSD_ROLE_USER = 1,    /* quote; own grants' balance/statement */
	AISSD_ROLE_SLURM = 2,   /* reserve/settle/release/quote */
	AISSD_ROLE_ADMIN = 4,   /* everything */
	AISSD_ROLE_FINANCE = 8, /* every read, exports, journal verify */
};

typedef struct aissd_caller {
	uid_t uid;
	char user[AISS_ID_MAX]; /* login name, or "uid:N" when unknown */
	unsigned roles;         /* AISSD_ROLE_* bits */
} aissd_caller;

/* Resolves @uid's name and roles under @cfg: root is slurm and admin; the
 * slurm_user is slurm; admin_users/finance_users as listed; everyone is
 * user. Never fails. */
void aissd_caller_resolve(const aissd_config *cfg, uid_t uid,
			  aissd_caller *out);
/* "admin+slurm" etc. into @buf. Returns @buf. */
char *aissd_roles_format(unsigned roles, char *buf, size_t len);

/* ---- dispatch ---- */

/*
 * Runs @req for @who against @l and fills @rep (initialised by the caller
 * with aiss_reply_init(rep, req->op, req->id)). Checks the role, validates
 * arguments (amounts, rates, sizes) before the ledger sees them, and pages
 * listings (at most AISS_PAGE_MAX items per reply). Never fails: every
 * problem becomes rep->status and rep->message.
 */
void aissd_dispatch(aiss_ledger *l, const aissd_caller *who,
		    const aiss_request *req, aiss_reply *rep);

/* lien_list and lien_expire (dispatch_lien.c): paged; users see only the
 * liens of grants they are members of. Never fails (as aissd_dispatch). */
void aissd_dispatch_lien(aiss_ledger *l, const aissd_caller *who,
			 const aiss_request *req, aiss_reply *rep);
/* When cfg->lien_expire is on and *@next (CLOCK_MONOTONIC seconds) has come,
 * releases up to 256 stale liens in one transaction (outside any batch),
 * logs each, and sets *@next: now when more remain, else a minute on. */
void aissd_lien_sweep(aiss_ledger *l, const aissd_config *cfg, int64_t *next);

/* ---- the event loop ---- */

typedef struct aissd_server aissd_server;

/* Counters for logs and tests. */
typedef struct aissd_stats {
	uint64_t requests;
	uint64_t batches;         /* group commits */
	uint64_t protocol_errors; /* bad frames and messages */
	uint64_t connections;     /* accepted */
	uint64_t closed_bad;      /* connections closed for framing */
	uint64_t replays; /* batches run again: a request failed half done */
} aissd_stats;

/* Creates a server over ledger @l (borrowed; caller closes it after
 * aissd_server_destroy) with a copy of @cfg. No sockets yet. NULL + @err. */
aissd_server *aissd_server_create(const aissd_config *cfg, aiss_ledger *l,
				  aiss_error *err);
/* Closes every connection and listener (unlinking the Unix socket).
 * NULL is accepted. */
void aissd_server_destroy(aissd_server *s);

/* Binds the Unix socket cfg->socket (refusing when another aissd answers
 * there) and, when cfg->tcp_host is set, the TCP listener. 0 or -1/@err. */
int aissd_server_listen(aissd_server *s, aiss_error *err);
/* The TCP port actually bound (useful with port 0), or 0. */
int aissd_server_tcp_port(const aissd_server *s);

/* Adds connected socket @fd (made non-blocking; owned by the server now)
 * as a Unix-style client with identity @who, or, when @who is NULL and
 * @tcp is 1, as a TCP client whose requests must carry MUNGE credentials.
 * For tests over socketpair(). 0 or -1 with errno. */
int aissd_server_add_conn(aissd_server *s, int fd, const aissd_caller *who,
			  int tcp);

/* One turn of the loop: poll (at most @timeout_ms), accept, read, run every
 * complete request (bounded count) in one ledger batch, commit, then send
 * the replies. Returns 0, or -1 on a fatal error (err logged). */
int aissd_server_step(aissd_server *s, int timeout_ms);

/* Runs steps until *@stop becomes non-zero. 0, or -1 on a fatal error. */
int aissd_server_run(aissd_server *s, volatile sig_atomic_t *stop);

/* Current connection count and counters. */
size_t aissd_server_nconns(const aissd_server *s);
void aissd_server_stats(const aissd_server *s, aissd_stats *out);

#endif
