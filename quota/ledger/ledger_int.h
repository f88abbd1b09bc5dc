/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ledger_int.h: private to aiss_ledger: the handle, prepared statements,
 * transactions, the journal and SQLite error translation. */
#ifndef AISS_LEDGER_INT_H
#define AISS_LEDGER_INT_H

#include <sqlite3.h>

#include "aiss_ledger.h"
#include "aiss_sha256.h"

/* Every SQL statement the ledger runs, prepared once on first use. */
#define LEDGER_STMTS(X)                                                        \
	X(S_BEGIN, "BEGIN IMMEDIATE")                                          \
	X(S_DATA_VERSION, "PRAGMA data_version")                               \
	X(S_COMMIT, "COMMIT")                                                  \
	X(S_ROLLBACK, "ROLLBACK")                                              \
	X(S_SAVEPOINT, "SAVEPOINT ledger_op")                                  \
	X(S_RELEASE_SP, "RELEASE ledger_op")                                   \
	X(S_ROLLBACK_SP, "ROLLBACK TO ledger_op")                              \
	X(S_JOURNAL_TIP,                                                       \
	  "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")           \
	X(S_JOURNAL_INSERT,                                                    \
	  "INSERT INTO journal(seq, at, actor, kind, grant_id, amount, "       \
	  "detail,"                                                            \
	  " prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")     \
	X(S_JOURNAL_ALL, "SELECT " JOURNAL_COLS " FROM journal ORDER BY seq")  \
	X(S_JOURNAL_GRANT, "SELECT " JOURNAL_COLS                              \
			   " FROM journal WHERE grant_id = ?1 ORDER BY seq")   \
	X(S_SCHEME_GET,                                                        \
	  "SELECT name, commitment, start, end FROM scheme WHERE id = 1")      \
	X(S_SCHEME_PUT,                                                        \
	  "INSERT INTO scheme(id, name, commitment, start, end)"               \
	  " VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT(id) DO UPDATE SET"          \
	  " name = excluded.name, commitment = excluded.commitment,"           \
	  " start = excluded.start, end = excluded.end")                       \
	X(S_SCHEME_TOTALS,                                                     \
	  "SELECT coalesce(sum(approved_subsidy), 0),"                         \
	  " coalesce(sum(charged - adjustments), 0), coalesce(sum(held), 0),"  \
	  " count(*) FROM grants")                                             \
	X(S_EARMARK_SUM, "SELECT coalesce(sum(amount), 0) FROM earmark")       \
	X(S_EARMARK_GET, "SELECT amount FROM earmark WHERE name = ?1")         \
	X(S_EARMARK_PUT,                                                       \
	  "INSERT INTO earmark(name, amount) VALUES (?1, ?2)"                  \
	  " ON CONFLICT(name) DO UPDATE SET amount = excluded.amount")         \
	X(S_EARMARK_DEL, "DELETE FROM earmark WHERE name = ?1")                \
	X(S_EARMARK_LIST, "SELECT name, amount FROM earmark ORDER BY name")    \
	X(S_INST_GET, "SELECT type FROM institution WHERE name = ?1")          \
	X(S_INST_INSERT,                                                       \
	  "INSERT INTO institution(name, type) VALUES (?1, ?2)")               \
	X(S_INST_LIST, "SELECT name, type FROM institution ORDER BY name")     \
	X(S_GRANT_GET,                                                         \
	  "SELECT " GRANT_COLS " FROM " GRANT_FROM " WHERE g.id = ?1")         \
	X(S_GRANT_BY_ACCOUNT,                                                  \
	  "SELECT " GRANT_COLS " FROM account a JOIN grants g"                 \
	  " ON g.id = a.grant_id" GRANT_INST " WHERE a.name = ?1")             \
	X(S_GRANT_LIST,                                                        \
	  "SELECT " GRANT_COLS " FROM " GRANT_FROM " ORDER BY g.id")           \
	X(S_GRANT_LIST_MEMBER,                                                 \
	  "SELECT " GRANT_COLS " FROM member m JOIN grants g"                  \
	  " ON g.id = m.grant_id" GRANT_INST " WHERE m.user = ?1"              \
	  " ORDER BY g.id")                                                    \
	X(S_GRANT_INSERT,                                                      \
	  "INSERT INTO grants(id, institution, accounts, members, gpu_types,"  \
	  " rate_bp, approved_gpu_seconds, approved_subsidy, window_start,"    \
	  " window_end, max_concurrent_gpus, state) VALUES"                    \
	  " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)")              \
	X(S_GRANT_UPDATE,                                                      \
	  "UPDATE grants SET institution = ?2, accounts = ?3, members = ?4,"   \
	  " gpu_types = ?5, rate_bp = ?6, approved_gpu_seconds = ?7,"          \
	  " approved_subsidy = ?8, window_start = ?9, window_end = ?10,"       \
	  " max_concurrent_gpus = ?11, state = ?12 WHERE id = ?1")             \
	X(S_GRANT_SET_STATE, "UPDATE grants SET state = ?2 WHERE id = ?1")     \
	X(S_GRANT_HOLD,                                                        \
	  "UPDATE grants SET held = held + ?2, held_gpus = held_gpus + ?3,"    \
	  " held_gpu_seconds = held_gpu_seconds + ?4, n_liens = n_liens + ?5"  \
	  " WHERE id = ?1")                                                    \
	X(S_GRANT_CHARGE,                                                      \
	  "UPDATE grants SET charged = charged + ?2, list_cost = list_cost + " \
	  "?3,"                                                                \
	  " copay = copay + ?4, used_gpu_seconds = used_gpu_seconds + ?5,"     \
	  " n_runs = n_runs + 1, last_end = max(last_end, ?6),"                \
	  " held = held - ?7, held_gpus = held_gpus - ?8,"                     \
	  " held_gpu_seconds = held_gpu_seconds - ?9, n_liens = n_liens - ?10" \
	  " WHERE id = ?1")                                                    \
	X(S_GRANT_CORRECT,                                                     \
	  "UPDATE grants SET charged = charged + ?2, copay = copay - ?2"       \
	  " WHERE id = ?1")                                                    \
	X(S_CORRECTION_INSERT,                                                 \
	  "INSERT INTO charge_correction(cluster, job_id, run_start,"          \
	  " journal_seq, delta) VALUES (?1, ?2, ?3, ?4, ?5)")                  \
	X(S_CHARGE_LATER,                                                      \
	  "SELECT " CHARGE_COLS " FROM charge WHERE end >= ?5 AND"             \
	  " (end, cluster, job_id, run_start) > (?5, ?1, ?2, ?3)"              \
	  " AND grant_id = ?4"                                                 \
	  " ORDER BY end, cluster, job_id, run_start")                         \
	X(S_GRANT_ADJUST,                                                      \
	  "UPDATE grants SET adjustments = adjustments + ?2 WHERE id = ?1")    \
	X(S_ACCOUNT_OWNER, "SELECT grant_id FROM account WHERE name = ?1")     \
	X(S_ACCOUNT_INSERT,                                                    \
	  "INSERT INTO account(name, grant_id) VALUES (?1, ?2)")               \
	X(S_ACCOUNT_DEL_GRANT, "DELETE FROM account WHERE grant_id = ?1")      \
	X(S_MEMBER_INSERT,                                                     \
	  "INSERT OR IGNORE INTO member(grant_id, user) VALUES (?1, ?2)")      \
	X(S_MEMBER_DEL_GRANT, "DELETE FROM member WHERE grant_id = ?1")        \
	X(S_MEMBER_IS,                                                         \
	  "SELECT 1 FROM member WHERE grant_id = ?1 AND user = ?2")            \
	X(S_PRICE_PUT, "INSERT INTO price(gpu_type, effective_from, cents) "   \
		       "VALUES (?1, ?2, ?3)"                                   \
		       " ON CONFLICT(gpu_type, effective_from) DO UPDATE SET"  \
		       " cents = excluded.cents")                              \
	X(S_PRICE_AT, "SELECT cents FROM price WHERE gpu_type = ?1 AND "       \
		      "effective_from <= ?2"                                   \
		      " ORDER BY effective_from DESC LIMIT 1")                 \
	X(S_PRICE_LIST, "SELECT gpu_type, effective_from, cents FROM price"    \
			" ORDER BY gpu_type, effective_from")                  \
	X(S_LIEN_GET,                                                          \
	  "SELECT " LIEN_COLS " FROM lien WHERE cluster = ?1 AND job_id = ?2"  \
	  " AND run_start = ?3")                                               \
	X(S_LIEN_INSERT,                                                       \
	  "INSERT INTO lien(cluster, job_id, run_start, grant_id, account,"    \
	  " user, gpu_type, gpus, time_limit, price, held, state, created_at)" \
	  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")  \
	X(S_LIEN_SET_STATE,                                                    \
	  "UPDATE lien SET state = ?4 WHERE cluster = ?1 AND job_id = ?2"      \
	  " AND run_start = ?3")                                               \
	LEDGER_LIEN_STMTS(X)                                                   \
	X(S_CHARGE_GET, "SELECT " CHARGE_COLS                                  \
			" FROM charge WHERE cluster = ?1 AND job_id = ?2"      \
			" AND run_start = ?3")                                 \
	X(S_CHARGE_INSERT,                                                     \
	  "INSERT INTO charge(cluster, job_id, run_start, grant_id, account,"  \
	  " user, gpu_type, institution, inst_type, gpus, end, end_state,"     \
	  " price, rate_bp, gpu_seconds, run_seconds, in_window_seconds,"      \
	  " list_cost, in_window_cost, subsidy, copay, capped, settled_at,"    \
	  " journal_seq, full_subsidy) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "   \
	  "?8,"                                                                \
	  " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,"   \
	  " ?22, ?23, ?24, ?25)")                                              \
	X(S_CHARGE_EXPORT,                                                     \
	  "SELECT " CHARGE_COLS " FROM charge WHERE end >= ?1 AND end < ?2"    \
	  " ORDER BY end, cluster, job_id, run_start")                         \
	X(S_ADJ_INSERT, "INSERT INTO adjustment(journal_seq, grant_id, "       \
			"amount, reason, actor,"                               \
			" at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                \
	X(S_ADJ_EXPORT,                                                        \
	  "SELECT journal_seq, grant_id, amount, reason, actor, at"            \
	  " FROM adjustment WHERE at >= ?1 AND at < ?2 ORDER BY journal_seq")  \
	X(S_CAP_PUT,                                                           \
	  "INSERT INTO capacity(node, at, pass, n_gpus, bf16_gflops, summary)" \
	  " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(node) DO UPDATE SET"   \
	  " at = excluded.at, pass = excluded.pass, n_gpus = excluded.n_gpus," \
	  " bf16_gflops = excluded.bf16_gflops, summary = excluded.summary")   \
	X(S_AUDIT_GRANTS,                                                      \
	  "SELECT coalesce(sum(charged), 0), coalesce(sum(list_cost), 0),"     \
	  " coalesce(sum(copay), 0), coalesce(sum(used_gpu_seconds), 0),"      \
	  " coalesce(sum(n_runs), 0), coalesce(sum(held), 0),"                 \
	  " coalesce(sum(held_gpus), 0), coalesce(sum(n_liens), 0),"           \
	  " coalesce(sum(adjustments), 0) FROM grants")                        \
	X(S_AUDIT_POSTINGS,                                                    \
	  "SELECT (SELECT coalesce(sum(subsidy), 0) FROM charge)"              \
	  " + (SELECT coalesce(sum(delta), 0) FROM charge_correction),"        \
	  " (SELECT coalesce(sum(list_cost), 0) FROM charge),"                 \
	  " (SELECT coalesce(sum(copay), 0) FROM charge)"                      \
	  " - (SELECT coalesce(sum(delta), 0) FROM charge_correction),"        \
	  " (SELECT coalesce(sum(gpu_seconds), 0) FROM charge),"               \
	  " (SELECT count(*) FROM charge),"                                    \
	  " (SELECT coalesce(sum(held), 0) FROM lien WHERE state = 1),"        \
	  " (SELECT coalesce(sum(gpus), 0) FROM lien WHERE state = 1),"        \
	  " (SELECT count(*) FROM lien WHERE state = 1),"                      \
	  " (SELECT coalesce(sum(amount), 0) FROM adjustment)")                \
	X(S_AUDIT_CHARGE_JOURNAL,                                              \
	  "SELECT c.journal_seq FROM charge c LEFT JOIN journal j"             \
	  " ON j.seq = c.journal_seq WHERE j.seq IS NULL OR j.kind != "        \
	  "'charge'"                                                           \
	  " OR j.grant_id != c.grant_id OR j.amount != -c.subsidy"             \
	  " ORDER BY c.journal_seq LIMIT 1")                                   \
	X(S_AUDIT_ADJ_JOURNAL,                                                 \
	  "SELECT a.journal_seq FROM adjustment a LEFT JOIN journal j"         \
	  " ON j.seq = a.journal_seq WHERE j.seq IS NULL OR j.kind != "        \
	  "'adjust'"                                                           \
	  " OR j.grant_id != a.grant_id OR j.amount != a.amount"               \
	  " ORDER BY a.journal_seq LIMIT 1")                                   \
	X(S_AUDIT_CORR_JOURNAL,                                                \
	  "SELECT x.journal_seq FROM charge_correction x LEFT JOIN journal j"  \
	  " ON j.seq = x.journal_seq WHERE j.seq IS NULL"                      \
	  " OR j.kind != 'charge.correct' OR j.amount != -x.delta"             \
	  " ORDER BY x.journal_seq LIMIT 1")                                   \
	X(S_CAP_LIST,                                                          \
	  "SELECT node, at, pass, n_gpus, bf16_gflops, summary FROM capacity"  \
	  " ORDER BY node")

/* Open liens (ledger_lien.c): ?1 grant ("" any), ?2 member ("" any),
 * ?3 stale only (0/1), ?4 now, ?5 grace; in run-start order. state = 1
 * lets SQLite use the partial index lien_open (schema version 2). */
#define LEDGER_LIEN_STMTS(X)                                                   \
	X(S_LIEN_OPEN,                                                         \
	  "SELECT " LIEN_COLS ", created_at FROM lien WHERE state = 1"         \
	  " AND (?1 = '' OR grant_id = ?1) AND (?2 = '' OR grant_id IN"        \
	  " (SELECT m.grant_id FROM member m WHERE m.user = ?2))"              \
	  " AND (?3 = 0 OR run_start + time_limit + ?5 < ?4)"                  \
	  " ORDER BY run_start, cluster, job_id")

#define JOURNAL_COLS                                                           \
	"seq, at, actor, kind, grant_id, amount, detail, prev_hash, hash"
#define GRANT_COLS                                                             \
	"g.id, g.institution, g.accounts, g.members, g.gpu_types, g.rate_bp,"  \
	" g.approved_gpu_seconds, g.approved_subsidy, g.window_start,"         \
	" g.window_end, g.max_concurrent_gpus, g.state, g.charged, g.held,"    \
	" g.adjustments, g.list_cost, g.copay, g.used_gpu_seconds,"            \
	" g.held_gpus, g.held_gpu_seconds, g.n_runs, g.n_liens, i.type,"       \
	" g.last_end"
#define GRANT_INST " JOIN institution i ON i.name = g.institution"
#define GRANT_FROM "grants g" GRANT_INST
#define LIEN_COLS                                                              \
	"cluster, job_id, run_start, grant_id, account, user, gpu_type, gpus," \
	" time_limit, price, held, state"
#define CHARGE_COLS                                                            \
	"cluster, job_id, run_start, grant_id, account, user, gpu_type,"       \
	" institution, inst_type, gpus, end, end_state, price, rate_bp,"       \
	" gpu_seconds, run_seconds, in_window_seconds, list_cost,"             \
	" in_window_cost, subsidy, copay, capped, settled_at, journal_seq,"    \
	" full_subsidy, (SELECT coalesce(sum(x.delta), 0)"                     \
	" FROM charge_correction x WHERE x.cluster = charge.cluster"           \
	" AND x.job_id = charge.job_id AND x.run_start = charge.run_start)"

#define LEDGER_STMT_ENUM(name, sql) name,
enum ledger_stmt_id { LEDGER_STMTS(LEDGER_STMT_ENUM) S__COUNT };

typedef struct ledger_cache ledger_cache;

struct aiss_ledger {
	sqlite3 *db;
	ledger_cache *cache; /* grants between requests (ledger_cache.c) */
	int cache_ok;        /* the cache may be used in this transaction */
	int cache_expect;    /* our own running-total update is running */
	sqlite3_stmt *stmt[S__COUNT];
	int in_batch;
	/* A batch without a SAVEPOINT per operation (batch_begin_optimistic):
	 * an operation that fails after changing rows spoils it. */
	int optimistic, spoiled;
	sqlite3_int64 op_changes; /* total changes when the operation began */
	aiss_time_t (*now)(void *);
	void *now_arg;
	/* The journal's last entry, cached only inside a batch and dropped on
	 * every rollback, commit and failure. */
	int tip_valid;
	int wal_frames;  /* frames in the WAL not copied by a checkpoint */
	int wal_ckpt_at; /* the WAL's size at the last checkpoint */
	int64_t tip_seq;
	char tip_hash[AISS_SHA256_HEXLEN];
	int64_t lien_grace; /* seconds past a lien's time limit: stale */
};

/* A lien's state by run key (S_LIEN_SET_STATE), and a change of a grant's
 * holds (S_GRANT_HOLD, kept in the grant cache): what reserve, release and
 * lien expiry post (ledger_run.c). */
int ledger_lien_set_state(aiss_ledger *l, const aiss_run_key *k,
			  aiss_lien_state state, aiss_error *err);
int ledger_grant_hold(aiss_ledger *l, const char *grant_id, aiss_cents_t held,
		      int64_t gpus, int64_t gpu_seconds, int64_t n,
		      aiss_error *err);

/* A lien's columns 0..11 (cluster, job, start, grant, account, user, GPU
 * type, GPUs, time limit, price, held subsidy, state), as S_LIEN_GET and
 * the lien listings select them (ledger_run.c). */
void ledger_lien_cols(sqlite3_stmt *st, aiss_lien *n, char *account,
		      size_t account_len, char *user, size_t user_len);

/* A grant with its running totals (maintained in the same transaction as
 * every posting; no in-memory cache). */
typedef struct ledger_grant {
	aiss_grant g;
	aiss_cents_t charged, held, adjustments, list_cost, copay;
	int64_t used_gpu_seconds, held_gpus, held_gpu_seconds, n_runs, n_liens;
	aiss_time_t last_end; /* latest end of a charged run */
} ledger_grant;

/* The deltas of one S_GRANT_CHARGE (settle): the charge and the run's
 * released lien. */
typedef struct ledger_charge_delta {
	aiss_cents_t subsidy, list_cost, copay, held;
	int64_t gpu_seconds, held_gpus, held_gpu_seconds, n_liens;
	aiss_time_t end;
} ledger_charge_delta;

/* The grant cache (ledger_cache.c; its rules are there). init: after the
 * schema is in place (no cache when out of memory); free: before close.
 * begin: right after this handle's BEGIN IMMEDIATE (checks data_version);
 * end: at the transaction's end, @rolled_back drops everything. drop:
 * forget everything (every rollback of a savepoint too). get: 1 and *@out
 * when S_GRANT_GET/S_GRANT_BY_ACCOUNT of @key is known, else 0. put:
 * remember a row just read by that statement. expect: around this
 * handle's own S_GRANT_HOLD/S_GRANT_CHARGE, whose deltas hold/charge then
 * apply to the cached row. */
void ledger_cache_init(aiss_ledger *l);
void ledger_cache_free(aiss_ledger *l);
void ledger_cache_begin(aiss_ledger *l);
void ledger_cache_end(aiss_ledger *l, int rolled_back);
void ledger_cache_drop(aiss_ledger *l);
int ledger_cache_get(aiss_ledger *l, enum ledger_stmt_id id, const char *key,
		     ledger_grant *out);
void ledger_cache_put(aiss_ledger *l, enum ledger_stmt_id id, const char *key,
		      const ledger_grant *g);
void ledger_cache_expect(aiss_ledger *l, int on);
void ledger_cache_hold(aiss_ledger *l, const char *grant_id, int64_t held,
		       int64_t gpus, int64_t gpu_seconds, int64_t n);
void ledger_cache_charge(aiss_ledger *l, const char *grant_id,
			 const ledger_charge_delta *d);

/* The VFS the ledger opens its database with (ledger_vfs.c): the default
 * one, but the frames one commit writes to the WAL go out as one write just
 * before its fsync, and a checkpoint's database fsync is made by a thread
 * of the database, before anything can drop the WAL frames it copied.
 * Registered on first call; NULL if that failed (then the default VFS is
 * used). Requires synchronous=FULL. */
#define LEDGER_VFS_NAME "aiss-wal-gather"
const char *ledger_vfs(void);
/* Waits for the deferred checkpoint fsync of database @db_path, if one
 * runs, so that the next commit can start the WAL again: SQLITE_OK, or the
 * sticky error of a failed one. */
int ledger_vfs_wait_sync(const char *db_path);
/* The errno of a failed deferred checkpoint fsync of database @db_path
 * (after which its WAL is never started again), or 0. */
int ledger_vfs_sync_failed(const char *db_path);
/* Tests: the deferred checkpoint fsync calls @fn(fd) instead of
 * fdatasync(fd) (0 done, else failed); NULL restores it. */
void ledger_vfs_test_sync(int (*fn)(int fd));
/* Tests: 0 turns the declined WAL restarts off (restarts then wait at the
 * header write), 1 back on. */
void ledger_vfs_test_decline(int on);

/* The translation of SQLite result codes into aiss_status (the only one). */
int ledger_sql_error(aiss_ledger *l, int rc, const char *what, aiss_error *err);

/* The cached, reset statement @id, or NULL with @err. */
sqlite3_stmt *ledger_stmt(aiss_ledger *l, enum ledger_stmt_id id,
			  aiss_error *err);

/* Runs statement @id (no parameters, no rows) to completion. */
int ledger_exec_stmt(aiss_ledger *l, enum ledger_stmt_id id, aiss_error *err);

/* Steps a bound write statement expecting SQLITE_DONE; resets it. */
int ledger_step_done(aiss_ledger *l, sqlite3_stmt *st, const char *what,
		     aiss_error *err);

/* Opens the operation's transaction (or savepoint inside a batch). */
int ledger_op_begin(aiss_ledger *l, aiss_error *err);
/* Ends it: @ok commits/releases, else rolls back. Returns 0 when @ok and the
 * commit succeeded, else -1 (err is kept when !ok; filled on commit fail). */
int ledger_op_end(aiss_ledger *l, int ok, aiss_error *err);

aiss_time_t ledger_now(aiss_ledger *l);

/* Appends a journal entry in the open transaction. *seq_out gets its seq. */
int ledger_journal_append(aiss_ledger *l, const char *actor, const char *kind,
			  const char *grant_id, aiss_cents_t amount,
			  const char *detail, int64_t *seq_out,
			  aiss_error *err);

/* Hash of one entry: SHA-256 over prev_hash and the canonical content. */
void ledger_journal_hash(const char *prev_hash, int64_t seq, aiss_time_t at,
			 const char *actor, const char *kind,
			 const char *grant_id, aiss_cents_t amount,
			 const char *detail, char hex[AISS_SHA256_HEXLEN]);

/* Reads grant @id with totals: 1 found, 0 not found, -1 error. */
int ledger_grant_read(aiss_ledger *l, enum ledger_stmt_id id, const char *key,
		      ledger_grant *out, aiss_error *err);
/* Reads grant @grant_id: 0, or -1 with @err (AISS_E_NOT_FOUND naming the
 * grant and `aissctl grant list` when there is none). */
int ledger_grant_need(aiss_ledger *l, const char *grant_id, ledger_grant *out,
		      aiss_error *err);
/* Fills a ledger_grant from a row of GRANT_COLS. */
void ledger_grant_from_row(sqlite3_stmt *st, ledger_grant *out);
/* Calls @cb for every grant (or every grant @member belongs to), in id
 * order, until it returns non-zero. Returns 0, or -1 with @err naming
 * @what ("listing grants") when the statement fails. */
int ledger_grant_each(aiss_ledger *l, const char *member,
		      int (*cb)(const ledger_grant *, void *), void *arg,
		      const char *what, aiss_error *err);

/* Copies column @col of @st into @dst (size @n), "" for NULL. */
void ledger_col_text(sqlite3_stmt *st, int col, char *dst, size_t n);

/* Validation helpers: 0 valid, -1 with AISS_E_INVALID naming @what. */
int ledger_check_id(const char *s, const char *what, aiss_error *err);
int ledger_check_list(const char *s, size_t max, const char *what,
		      aiss_error *err);

/* snprintf that truncates on purpose (journal details, copies of ids). */
void ledger_fmt(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "unknown" for NULL/"" actors. */
const char *ledger_actor(const char *actor);

#endif
