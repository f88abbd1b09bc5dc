/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ledger.c: opening and migrating the ledger database, prepared statements,
 * transactions and group commit, the hash-chained journal. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aiss_sha256.h"
#include "ledger_int.h"

/* Pragmas, set explicitly on every open. cache_size bounds the page cache
 * (negative: KiB): 8 MiB (4,096 pages of 2 KiB). A larger cache costs
 * every commit more: SQLite's page cache walks its hash table at the end
 * of each transaction (pcache1 truncation to the database size, ~12% of
 * aissd's CPU with 32 MiB on a 370 MB ledger), so with 32 MiB throughput
 * fell as the ledger grew (8 clients, 7 x 8 s on one growing ledger:
 * 8,495 -> 6,846 pairs/s) while with 8 MiB it stayed flat (8,331 ->
 * 8,044); on a generated ledger of 10,000 grants and 1,000,000 entries
 * with 500 grants in use, 8,631 and 8,978 vs 8,320 and 7,595 pairs/s;
 * peak RSS 23 vs 51 MiB; journal verify (the worker's own handle) the
 * same.
 * page_size applies to a new database only (an existing one keeps its
 * own): 2 KiB, since each commit rewrites the partly filled tail pages of
 * several tables and indexes, so a smaller page halves the bytes written
 * to the WAL and synced per commit (+5-7% pairs/s in 4 of 4 paired runs of
 * 8 clients). A charge row (the largest in an index b-tree) of ordinary
 * names, about 200 bytes, stays under that tree's 488-byte local limit;
 * one with names near their maximum lengths spills to an overflow page,
 * which is correct, only slower (with 1 KiB pages every charge would). */
static const char SQL_PRAGMAS[] = "PRAGMA page_size = 2048;"
				  "PRAGMA journal_mode = WAL;"
				  "PRAGMA synchronous = FULL;"
				  "PRAGMA foreign_keys = ON;"
				  "PRAGMA cache_size = -8192;"
				  "PRAGMA temp_store = MEMORY;"
				  "PRAGMA mmap_size = 0;"
				  "PRAGMA journal_size_limit = 67108864;";

#define LEDGER_BUSY_TIMEOUT_MS 5000
/* WAL frames (= pages) not yet copied at which a commit checkpoints by
 * itself, and from which aiss_ledger_idle() checkpoints between requests;
 * the WAL's size from which a commit's checkpoint waits for its database
 * fsync, so that the next commit starts the WAL again (below it, the VFS
 * lets the WAL grow instead of waiting: ledger_vfs.c, 3). */
#define LEDGER_WAL_HARD_FRAMES 1000
#define LEDGER_WAL_IDLE_FRAMES 64
#define LEDGER_WAL_RESTART_FRAMES 8000

/* Schema migrations: entry i takes user_version i to i + 1. Append only. */
static const char SQL_SCHEMA_V1[] =
    "CREATE TABLE scheme ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " name TEXT NOT NULL, commitment INTEGER NOT NULL,"
    " start INTEGER NOT NULL, end INTEGER NOT NULL);"
    "CREATE TABLE earmark ("
    " name TEXT PRIMARY KEY, amount INTEGER NOT NULL CHECK (amount > 0));"
    "CREATE TABLE institution ("
    " name TEXT PRIMARY KEY, type INTEGER NOT NULL);"
    "CREATE TABLE grants ("
    " id TEXT PRIMARY KEY,"
    " institution TEXT NOT NULL REFERENCES institution(name),"
    " accounts TEXT NOT NULL, members TEXT NOT NULL,"
    " gpu_types TEXT NOT NULL,"
    " rate_bp INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 9000),"
    " approved_gpu_seconds INTEGER NOT NULL,"
    " approved_subsidy INTEGER NOT NULL CHECK (approved_subsidy >= 0),"
    " window_start INTEGER NOT NULL, window_end INTEGER NOT NULL,"
    " max_concurrent_gpus INTEGER NOT NULL,"
    " state INTEGER NOT NULL,"
    " charged INTEGER NOT NULL DEFAULT 0,"
    " held INTEGER NOT NULL DEFAULT 0,"
    " adjustments INTEGER NOT NULL DEFAULT 0,"
    " list_cost INTEGER NOT NULL DEFAULT 0,"
    " copay INTEGER NOT NULL DEFAULT 0,"
    " used_gpu_seconds INTEGER NOT NULL DEFAULT 0,"
    " held_gpus INTEGER NOT NULL DEFAULT 0,"
    " held_gpu_seconds INTEGER NOT NULL DEFAULT 0,"
    " n_runs INTEGER NOT NULL DEFAULT 0,"
    " n_liens INTEGER NOT NULL DEFAULT 0,"
    " last_end INTEGER NOT NULL DEFAULT 0,"
    " CHECK (window_end > window_start));"
    "CREATE TABLE account ("
    " name TEXT PRIMARY KEY,"
    " grant_id TEXT NOT NULL REFERENCES grants(id));"
    "CREATE INDEX account_grant ON account(grant_id);"
    "CREATE TABLE member ("
    " grant_id TEXT NOT NULL REFERENCES grants(id), user TEXT NOT NULL,"
    " PRIMARY KEY (grant_id, user)) WITHOUT ROWID;"
    "CREATE INDEX member_user ON member(user, grant_id);"
    "CREATE TABLE price ("
    " gpu_type TEXT NOT NULL, effective_from INTEGER NOT NULL,"
    " cents INTEGER NOT NULL CHECK (cents > 0),"
    " PRIMARY KEY (gpu_type, effective_from)) WITHOUT ROWID;"
    "CREATE TABLE lien ("
    " cluster TEXT NOT NULL, job_id INTEGER NOT NULL,"
    " run_start INTEGER NOT NULL,"
    " grant_id TEXT NOT NULL REFERENCES grants(id),"
    " account TEXT NOT NULL, user TEXT NOT NULL, gpu_type TEXT NOT NULL,"
    " gpus INTEGER NOT NULL, time_limit INTEGER NOT NULL,"
    " price INTEGER NOT NULL, held INTEGER NOT NULL,"
    " state INTEGER NOT NULL, created_at INTEGER NOT NULL,"
    " PRIMARY KEY (cluster, job_id, run_start)) WITHOUT ROWID;"
    "CREATE TABLE charge ("
    " cluster TEXT NOT NULL, job_id INTEGER NOT NULL,"
    " run_start INTEGER NOT NULL,"
    " grant_id TEXT NOT NULL REFERENCES grants(id),"
    " account TEXT NOT NULL, user TEXT NOT NULL, gpu_type TEXT NOT NULL,"
    " institution TEXT NOT NULL, inst_type INTEGER NOT NULL,"
    " gpus INTEGER NOT NULL, end INTEGER NOT NULL, end_state TEXT NOT NULL,"
    " price INTEGER NOT NULL, rate_bp INTEGER NOT NULL,"
    " gpu_seconds INTEGER NOT NULL, run_seconds INTEGER NOT NULL,"
    " in_window_seconds INTEGER NOT NULL, list_cost INTEGER NOT NULL,"
    " in_window_cost INTEGER NOT NULL, subsidy INTEGER NOT NULL,"
    " copay INTEGER NOT NULL, capped INTEGER NOT NULL,"
    " settled_at INTEGER NOT NULL, journal_seq INTEGER NOT NULL,"
    " full_subsidy INTEGER NOT NULL,"
    " PRIMARY KEY (cluster, job_id, run_start)) WITHOUT ROWID;"
    "CREATE INDEX charge_order ON charge(end, cluster, job_id, run_start);"
    /* Corrections of a charge's subsidy when a run that ends earlier is
     * settled later and the grant's cap binds (policy item 8's charge
     * order); delta is added to the charge's subsidy. */
    "CREATE TABLE charge_correction ("
    " cluster TEXT NOT NULL, job_id INTEGER NOT NULL,"
    " run_start INTEGER NOT NULL, journal_seq INTEGER NOT NULL,"
    " delta INTEGER NOT NULL,"
    " PRIMARY KEY (cluster, job_id, run_start, journal_seq)) WITHOUT ROWID;"
    "CREATE TABLE adjustment ("
    " journal_seq INTEGER PRIMARY KEY,"
    " grant_id TEXT NOT NULL REFERENCES grants(id),"
    " amount INTEGER NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL,"
    " at INTEGER NOT NULL);"
    "CREATE TABLE journal ("
    " seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL,"
    " kind TEXT NOT NULL, grant_id TEXT NOT NULL, amount INTEGER NOT NULL,"
    " detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX journal_grant ON journal(grant_id, seq);"
    "CREATE TABLE capacity ("
    " node TEXT PRIMARY KEY, at INTEGER NOT NULL, pass INTEGER NOT NULL,"
    " n_gpus INTEGER NOT NULL, bf16_gflops INTEGER NOT NULL,"
    " summary TEXT NOT NULL);"
    /* Append-only tables (policy item 14): the service never edits them. */
    "CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal"
    " BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;"
    "CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal"
    " BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;"
    "CREATE TRIGGER charge_no_update BEFORE UPDATE ON charge"
    " BEGIN SELECT RAISE(ABORT, 'charges are append-only'); END;"
    "CREATE TRIGGER charge_no_delete BEFORE DELETE ON charge"
    " BEGIN SELECT RAISE(ABORT, 'charges are append-only'); END;"
    "CREATE TRIGGER correction_no_update BEFORE UPDATE ON charge_correction"
    " BEGIN SELECT RAISE(ABORT, 'corrections are append-only'); END;"
    "CREATE TRIGGER correction_no_delete BEFORE DELETE ON charge_correction"
    " BEGIN SELECT RAISE(ABORT, 'corrections are append-only'); END;"
    "CREATE TRIGGER adjustment_no_update BEFORE UPDATE ON adjustment"
    " BEGIN SELECT RAISE(ABORT, 'adjustments are append-only'); END;"
    "CREATE TRIGGER adjustment_no_delete BEFORE DELETE ON adjustment"
    " BEGIN SELECT RAISE(ABORT, 'adjustments are append-only'); END;";

/* Version 2: open liens (state 1) by run start, so listing and expiring
 * them reads only the open ones, not every run ever reserved. */
static const char SQL_SCHEMA_V2[] =
    "CREATE INDEX lien_open ON lien(run_start, cluster, job_id)"
    " WHERE state = 1;";

static const char *const ledger_migrations[] = {SQL_SCHEMA_V1, SQL_SCHEMA_V2};
_Static_assert(sizeof(ledger_migrations) / sizeof(ledger_migrations[0]) ==
		   AISS_LEDGER_SCHEMA_VERSION,
	       "one migration per schema version");

#define LEDGER_STMT_SQL(name, sql) sql,
static const char *const ledger_sql[S__COUNT] = {LEDGER_STMTS(LEDGER_STMT_SQL)};

static const char ZERO_HASH[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

int ledger_sql_error(aiss_ledger *l, int rc, const char *what, aiss_error *err)
{
	const char *msg =
	    l && l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		return aiss_error_set(err, AISS_E_EXISTS,
				      "ledger: %s refused by the database: %s",
				      what, msg);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return aiss_error_set(err, AISS_E_UNAVAILABLE,
				      "ledger: %s: database busy (%s); retry",
				      what, msg);
	case SQLITE_IOERR: {
		char why[400];

		if (aiss_ledger_writes_refused(l, why, sizeof(why)))
			return aiss_error_set(err, AISS_E_STORAGE,
					      "ledger: %s failed: %s", what,
					      why);
	}
		/* fall through */
	default:
		return aiss_error_set(err, AISS_E_STORAGE,
				      "ledger: %s failed: %s (SQLite %d)", what,
				      msg, rc);
	}
}

sqlite3_stmt *ledger_stmt(aiss_ledger *l, enum ledger_stmt_id id,
			  aiss_error *err)
{
	sqlite3_stmt *st = l->stmt[id];

	if (!st) {
		int rc =
		    sqlite3_prepare_v3(l->db, ledger_sql[id], -1,
				       SQLITE_PREPARE_PERSISTENT, &st, NULL);
		if (rc != SQLITE_OK) {
			ledger_sql_error(l, rc, "preparing a statement", err);
			return NULL;
		}
		l->stmt[id] = st;
		return st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int ledger_step_done(aiss_ledger *l, sqlite3_stmt *st, const char *what,
		     aiss_error *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ledger_sql_error(l, rc, what, err);
	return 0;
}

int ledger_exec_stmt(aiss_ledger *l, enum ledger_stmt_id id, aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, id, err);

	if (!st)
		return -1;
	return ledger_step_done(l, st, ledger_sql[id], err);
}

aiss_time_t ledger_now(aiss_ledger *l)
{
	if (l->now)
		return l->now(l->now_arg);
	return (aiss_time_t)time(NULL);
}

/* Appends @n bytes of @src at *@o, keeping room for the NUL. */
static void fmt_put(char *buf, size_t len, size_t *o, const char *src, size_t n)
{
	if (*o + 1 >= len)
		return;
	if (n > len - 1 - *o)
		n = len - 1 - *o;
	memcpy(buf + *o, src, n);
	*o += n;
}

/* The subset of printf the ledger's texts use (%s, %c, %%, and d/i/u with
 * flags 0 and -, a width, l/ll/z/j), written without stdio: journal
 * details are formatted for every request. 0, or -1 at any other
 * conversion (then the caller uses vsnprintf). Output as vsnprintf's. */
static int fmt_fast(char *buf, size_t len, const char *fmt, va_list ap)
{
	size_t o = 0;

	for (const char *f = fmt; *f;) {
		const char *lit = f;
		int zero = 0, left = 0, width = 0, lng = 0;
		char num[32], *p = num + sizeof(num);
		const char *src;
		size_t n, pad;
		uint64_t u;
		int neg = 0;

		while (*f && *f != '%')
			f++;
		fmt_put(buf, len, &o, lit, (size_t)(f - lit));
		if (!*f)
			break;
		f++;
		for (;; f++) {
			if (*f == '0')
				zero = 1;
			else if (*f == '-')
				left = 1;
			else
				break;
		}
		while (*f >= '0' && *f <= '9' && width < 1000)
			width = width * 10 + (*f++ - '0');
		if (*f == 'l') {
			lng = 1;
			if (*++f == 'l') {
				lng = 2;
				f++;
			}
		} else if (*f == 'z' || *f == 'j') {
			lng = *f == 'z' ? 3 : 2;
			f++;
		}
		switch (*f) {
		case '%':
			fmt_put(buf, len, &o, "%", 1);
			f++;
			continue;
		case 's':
			if (zero)
				return -1;
			src = va_arg(ap, const char *);
			if (!src)
				src = "(null)";
			n = strlen(src);
			break;
		case 'c':
			if (zero)
				return -1;
			num[0] = (char)va_arg(ap, int);
			src = num;
			n = 1;
			break;
		case 'd':
		case 'i': {
			long long v = lng == 0   ? va_arg(ap, int)
				      : lng == 1 ? va_arg(ap, long)
				      : lng == 3
					  ? (long long)va_arg(ap, ssize_t)
					  : va_arg(ap, long long);
			neg = v < 0;
			u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			goto digits;
		}
		case 'u':
			u = lng == 0   ? va_arg(ap, unsigned)
			    : lng == 1 ? va_arg(ap, unsigned long)
			    : lng == 3 ? va_arg(ap, size_t)
				       : va_arg(ap, unsigned long long);
		digits:
			do {
				*--p = (char)('0' + u % 10);
				u /= 10;
			} while (u);
			src = p;
			n = (size_t)(num + sizeof(num) - p);
			break;
		default:
			return -1;
		}
		f++;
		pad = (size_t)width > n + (size_t)neg
			  ? (size_t)width - n - (size_t)neg
			  : 0;
		if (neg && (zero && !left))
			fmt_put(buf, len, &o, "-", 1);
		for (size_t i = 0; !left && i < pad; i++)
			fmt_put(buf, len, &o, zero ? "0" : " ", 1);
		if (neg && !(zero && !left))
			fmt_put(buf, len, &o, "-", 1);
		fmt_put(buf, len, &o, src, n);
		for (size_t i = 0; left && i < pad; i++)
			fmt_put(buf, len, &o, " ", 1);
	}
	if (len)
		buf[o] = '\0';
	return 0;
}

void ledger_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap, ap2;

	va_start(ap, fmt);
	if (fmt[0] == '%' && fmt[1] == 's' && !fmt[2]) {
		/* A plain copy (most calls): what vsnprintf would write. */
		const char *src = va_arg(ap, const char *);
		size_t n;

		if (!src)
			src = "(null)";
		if (len) {
			n = strnlen(src, len - 1);
			memmove(buf, src, n);
			buf[n] = '\0';
		}
		va_end(ap);
		return;
	}
	va_copy(ap2, ap);
	if (fmt_fast(buf, len, fmt, ap))
		vsnprintf(buf, len, fmt, ap2);
	va_end(ap2);
	va_end(ap);
}

const char *ledger_actor(const char *actor)
{
	return actor && *actor ? actor : "unknown";
}

void ledger_col_text(sqlite3_stmt *st, int col, char *dst, size_t n)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	size_t len = s ? (size_t)sqlite3_column_bytes(st, col) : 0;

	if (len >= n)
		len = n - 1;
	if (len)
		memcpy(dst, s, len);
	dst[len] = '\0';
}

static int exec_sql(aiss_ledger *l, const char *sql, const char *what,
		    aiss_error *err)
{
	int rc = sqlite3_exec(l->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return ledger_sql_error(l, rc, what, err);
	return 0;
}

static int user_version(aiss_ledger *l, int *v, aiss_error *err)
{
	sqlite3_stmt *st;
	int rc =
	    sqlite3_prepare_v2(l->db, "PRAGMA user_version", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return ledger_sql_error(l, rc, "reading the schema version",
					err);
	rc = sqlite3_step(st);
	*v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return ledger_sql_error(l, rc, "reading the schema version",
					err);
	return 0;
}

static int migrate(aiss_ledger *l, aiss_error *err)
{
	int v;
	char sql[64];

	if (exec_sql(l, "BEGIN IMMEDIATE", "starting the migration", err))
		return -1;
	if (user_version(l, &v, err))
		goto fail;
	if (v > AISS_LEDGER_SCHEMA_VERSION) {
		aiss_error_set(err, AISS_E_STORAGE,
			       "ledger: database schema version %d is newer "
			       "than this aissd understands (%d); upgrade aiss",
			       v, AISS_LEDGER_SCHEMA_VERSION);
		goto fail;
	}
	for (; v < AISS_LEDGER_SCHEMA_VERSION; v++) {
		if (exec_sql(l, ledger_migrations[v], "migrating the schema",
			     err))
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (exec_sql(l, sql, "recording the schema version", err))
			goto fail;
	}
	return exec_sql(l, "COMMIT", "committing the migration", err);
fail:
	sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* A PASSIVE checkpoint of what the WAL holds past the last one; it waits
 * for the database's fsync when the WAL has reached its restart size. */
static int checkpoint(aiss_ledger *l, sqlite3 *db, const char *name)
{
	int log = 0, done = 0;

	if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log,
				      &done) != SQLITE_OK)
		return 0;
	l->wal_ckpt_at = done;
	l->wal_frames = log - done;
	if (log >= LEDGER_WAL_RESTART_FRAMES)
		ledger_vfs_wait_sync(sqlite3_db_filename(db, name));
	return 1;
}

/* After every commit: count what the WAL holds past the last checkpoint
 * (a WAL smaller than at that checkpoint was started again); from the
 * hard limit on, checkpoint now (what SQLite's autocheckpoint would do). */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	aiss_ledger *l = arg;

	if (frames < l->wal_ckpt_at)
		l->wal_ckpt_at = 0;
	l->wal_frames = frames - l->wal_ckpt_at;
	if (l->wal_frames >= LEDGER_WAL_HARD_FRAMES)
		checkpoint(l, db, name);
	return SQLITE_OK;
}

int aiss_ledger_idle(aiss_ledger *l)
{
	if (l->in_batch || l->wal_frames < LEDGER_WAL_IDLE_FRAMES)
		return 0;
	return checkpoint(l, l->db, "main");
}

/* The pragmas took: WAL and synchronous=FULL (2), on which every reply's
 * durability and the WAL-gathering VFS rely. */
static int check_durable(aiss_ledger *l, aiss_error *err)
{
	sqlite3_stmt *st;
	int sync = -1;
	char mode[16] = "";

	if (sqlite3_prepare_v2(l->db, "PRAGMA synchronous", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			sync = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (sqlite3_prepare_v2(l->db, "PRAGMA journal_mode", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			ledger_col_text(st, 0, mode, sizeof(mode));
		sqlite3_finalize(st);
	}
	if (sync != 2 || strcmp(mode, "wal") != 0)
		return aiss_error_set(err, AISS_E_STORAGE,
				      "ledger: the database would not take "
				      "journal_mode=WAL with synchronous=FULL "
				      "(got %s, %d); a read-only directory or "
				      "file system?",
				      mode, sync);
	return 0;
}

const char *aiss_ledger_path(aiss_ledger *l)
{
	const char *p = l && l->db ? sqlite3_db_filename(l->db, "main") : NULL;

	return p ? p : "";
}

int aiss_ledger_writes_refused(aiss_ledger *l, char *why, size_t n)
{
	int e = ledger_vfs_sync_failed(aiss_ledger_path(l));

	if (e && why && n)
		snprintf(why, n,
			 "the database file could not be flushed to disk after "
			 "a checkpoint (fdatasync: %s), so no change is "
			 "accepted any more; nothing acknowledged is lost (the "
			 "WAL keeps it): check the disk, then restart aissd",
			 strerror(e));
	return e != 0;
}

int aiss_ledger_set_cache_kib(aiss_ledger *l, int kib, aiss_error *err)
{
	char sql[64];

	if (kib < 64)
		return aiss_error_set(err, AISS_E_INVALID,
				      "ledger: a page cache of %d KiB is too "
				      "small; give at least 64",
				      kib);
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", kib);
	return exec_sql(l, sql, "setting the cache size", err);
}

aiss_ledger *aiss_ledger_open(const char *path, aiss_error *err)
{
	aiss_ledger *l;
	int rc;

	if (!path || !*path) {
		aiss_error_set(err, AISS_E_INVALID,
			       "ledger: no database path given");
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		aiss_error_set(err, AISS_E_INTERNAL, "ledger: out of memory");
		return NULL;
	}
	l->lien_grace = AISS_LIEN_GRACE_DEFAULT;
	rc = sqlite3_open_v2(path, &l->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX,
			     ledger_vfs());
	if (rc != SQLITE_OK) {
		aiss_error_set(
		    err, AISS_E_STORAGE, "ledger: cannot open database %s: %s",
		    path, l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(l->db, 0);
	sqlite3_busy_timeout(l->db, LEDGER_BUSY_TIMEOUT_MS);
	if (exec_sql(l, SQL_PRAGMAS, "setting pragmas", err))
		goto fail;
	if (check_durable(l, err))
		goto fail;
	if (migrate(l, err))
		goto fail;
	sqlite3_wal_hook(l->db, wal_hook, l);
	ledger_cache_init(l);
	return l;
fail:
	aiss_ledger_close(l);
	return NULL;
}

void aiss_ledger_close(aiss_ledger *l)
{
	if (!l)
		return;
	if (l->in_batch && l->db)
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	for (int i = 0; i < S__COUNT; i++)
		sqlite3_finalize(l->stmt[i]);
	ledger_cache_free(l);
	sqlite3_close(l->db);
	free(l);
}

void aiss_ledger_set_clock(aiss_ledger *l, aiss_time_t (*now)(void *),
			   void *arg)
{
	l->now = now;
	l->now_arg = arg;
}

int aiss_ledger_in_batch(const aiss_ledger *l)
{
	return l->in_batch;
}

static int batch_begin(aiss_ledger *l, int optimistic, aiss_error *err)
{
	if (l->in_batch)
		return aiss_error_set(err, AISS_E_INVALID,
				      "ledger: a batch is already open");
	l->tip_valid = 0;
	if (ledger_exec_stmt(l, S_BEGIN, err))
		return -1;
	l->in_batch = 1;
	l->optimistic = optimistic;
	l->spoiled = 0;
	ledger_cache_begin(l);
	return 0;
}

int aiss_ledger_batch_begin(aiss_ledger *l, aiss_error *err)
{
	return batch_begin(l, 0, err);
}

int aiss_ledger_batch_begin_optimistic(aiss_ledger *l, aiss_error *err)
{
	return batch_begin(l, 1, err);
}

int aiss_ledger_batch_spoiled(const aiss_ledger *l)
{
	return l->in_batch && l->spoiled;
}

int aiss_ledger_batch_commit(aiss_ledger *l, aiss_error *err)
{
	if (!l->in_batch)
		return aiss_error_set(err, AISS_E_INVALID,
				      "ledger: no batch is open to commit");
	if (l->spoiled) {
		aiss_ledger_batch_rollback(l, NULL);
		return aiss_error_set(err, AISS_E_STORAGE,
				      "ledger: an operation of the batch "
				      "failed half done; the batch was rolled "
				      "back, run it again");
	}
	l->in_batch = 0;
	l->tip_valid = 0;
	if (ledger_exec_stmt(l, S_COMMIT, err)) {
		if (!sqlite3_get_autocommit(l->db))
			sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
		ledger_cache_end(l, 1);
		return -1;
	}
	ledger_cache_end(l, 0);
	return 0;
}

int aiss_ledger_batch_rollback(aiss_ledger *l, aiss_error *err)
{
	if (!l->in_batch)
		return aiss_error_set(err, AISS_E_INVALID,
				      "ledger: no batch is open to roll back");
	l->in_batch = 0;
	l->tip_valid = 0;
	ledger_cache_end(l, 1);
	if (!sqlite3_get_autocommit(l->db))
		return ledger_exec_stmt(l, S_ROLLBACK, err);
	return 0;
}

int ledger_op_begin(aiss_ledger *l, aiss_error *err)
{
	if (l->in_batch) {
		/* A failed COMMIT/IO error may have ended the transaction. */
		if (sqlite3_get_autocommit(l->db))
			return aiss_error_set(err, AISS_E_STORAGE,
					      "ledger: the batch transaction "
					      "was lost; roll the batch back");
		if (l->optimistic) {
			if (l->spoiled)
				return aiss_error_set(
				    err, AISS_E_STORAGE,
				    "ledger: the batch is spoiled; roll it "
				    "back");
			/* No savepoint: a failure without changes needs no
			 * undo, one after changes spoils the batch. */
			l->op_changes = sqlite3_total_changes64(l->db);
			return 0;
		}
		return ledger_exec_stmt(l, S_SAVEPOINT, err);
	}
	if (ledger_exec_stmt(l, S_BEGIN, err))
		return -1;
	ledger_cache_begin(l);
	return 0;
}

int ledger_op_end(aiss_ledger *l, int ok, aiss_error *err)
{
	if (l->in_batch && l->optimistic) {
		if (!ok && sqlite3_total_changes64(l->db) != l->op_changes) {
			l->spoiled = 1;
			l->tip_valid = 0;
			ledger_cache_drop(l);
		}
		return ok ? 0 : -1;
	}
	if (ok) {
		if (ledger_exec_stmt(l, l->in_batch ? S_RELEASE_SP : S_COMMIT,
				     err) == 0) {
			if (!l->in_batch)
				ledger_cache_end(l, 0);
			return 0;
		}
		/* fall through to roll back what could not be kept */
	}
	l->tip_valid = 0; /* the cached tip may be rolled back */
	/* so may the cached grants; outside a batch the transaction ends */
	if (l->in_batch)
		ledger_cache_drop(l);
	else
		ledger_cache_end(l, 1);
	if (sqlite3_get_autocommit(l->db))
		return -1;
	if (l->in_batch) {
		ledger_exec_stmt(l, S_ROLLBACK_SP, NULL);
		ledger_exec_stmt(l, S_RELEASE_SP, NULL);
	} else {
		ledger_exec_stmt(l, S_ROLLBACK, NULL);
	}
	return -1;
}

/* ---- the journal ---- */

/* The canonical text is gathered into one buffer and hashed with few
 * update calls; the bytes are exactly those of the "%zu:" TEXT "\n"
 * fields the chain has always used. */
typedef struct hash_buf {
	aiss_sha256_ctx c;
	size_t n;
	char b[1024];
} hash_buf;

static void hash_add(hash_buf *h, const void *p, size_t n)
{
	if (h->n + n > sizeof(h->b)) {
		aiss_sha256_update(&h->c, h->b, h->n);
		h->n = 0;
		if (n > sizeof(h->b)) {
			aiss_sha256_update(&h->c, p, n);
			return;
		}
	}
	memcpy(h->b + h->n, p, n);
	h->n += n;
}

/* Decimal digits of @v at the end of @buf[0..23]: returns the first. */
static char *fmt_u64(uint64_t v, char *buf)
{
	char *p = buf + 24;

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	return p;
}

static void hash_field_n(hash_buf *h, const char *s, size_t n)
{
	char num[25], *p = fmt_u64(n, num);

	num[24] = ':';
	hash_add(h, p, (size_t)(num + 25 - p));
	hash_add(h, s, n);
	hash_add(h, "\n", 1);
}

static void hash_field(hash_buf *h, const char *s)
{
	hash_field_n(h, s ? s : "", s ? strlen(s) : 0);
}

static void hash_field_i64(hash_buf *h, int64_t v)
{
	char num[25], *p;

	p = fmt_u64(v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, num);
	if (v < 0)
		*--p = '-';
	hash_field_n(h, p, (size_t)(num + 24 - p));
}

void ledger_journal_hash(const char *prev_hash, int64_t seq, aiss_time_t at,
			 const char *actor, const char *kind,
			 const char *grant_id, aiss_cents_t amount,
			 const char *detail, char hex[AISS_SHA256_HEXLEN])
{
	hash_buf h;
	uint8_t d[AISS_SHA256_LEN];

	aiss_sha256_init(&h.c);
	h.n = 0;
	hash_field(&h, "aiss-journal-v1");
	hash_field(&h, prev_hash);
	hash_field_i64(&h, seq);
	hash_field_i64(&h, (int64_t)at);
	hash_field(&h, actor);
	hash_field(&h, kind);
	hash_field(&h, grant_id);
	hash_field_i64(&h, (int64_t)amount);
	hash_field(&h, detail);
	aiss_sha256_update(&h.c, h.b, h.n);
	aiss_sha256_final(&h.c, d);
	aiss_sha256_hex(d, hex);
}

int ledger_journal_append(aiss_ledger *l, const char *actor, const char *kind,
			  const char *grant_id, aiss_cents_t amount,
			  const char *detail, int64_t *seq_out, aiss_error *err)
{
	sqlite3_stmt *st;
	char prev[AISS_SHA256_HEXLEN] = "";
	char hash[AISS_SHA256_HEXLEN];
	int64_t seq = 1;
	aiss_time_t at = ledger_now(l);
	int rc;

	actor = ledger_actor(actor);
	grant_id = grant_id ? grant_id : "";
	detail = detail ? detail : "";
	if (l->in_batch && l->tip_valid) {
		seq = l->tip_seq + 1;
		memcpy(prev, l->tip_hash, sizeof(prev));
	} else {
		st = ledger_stmt(l, S_JOURNAL_TIP, err);
		if (!st)
			return -1;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			seq = sqlite3_column_int64(st, 0) + 1;
			ledger_col_text(st, 1, prev, sizeof(prev));
		} else {
			memcpy(prev, ZERO_HASH, sizeof(ZERO_HASH));
		}
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return ledger_sql_error(l, rc,
						"reading the journal tip", err);
	}
	ledger_journal_hash(prev, seq, at, actor, kind, grant_id, amount,
			    detail, hash);
	st = ledger_stmt(l, S_JOURNAL_INSERT, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, grant_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, amount);
	sqlite3_bind_text(st, 7, detail, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, prev, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, hash, -1, SQLITE_STATIC);
	if (ledger_step_done(l, st, "appending to the journal", err)) {
		l->tip_valid = 0;
		return -1;
	}
	if (l->in_batch) {
		l->tip_seq = seq;
		memcpy(l->tip_hash, hash, sizeof(l->tip_hash));
		l->tip_valid = 1;
	}
	if (seq_out)
		*seq_out = seq;
	return 0;
}

static void journal_from_row(sqlite3_stmt *st, aiss_journal_entry *e)
{
	e->seq = sqlite3_column_int64(st, 0);
	e->at = sqlite3_column_int64(st, 1);
	ledger_col_text(st, 2, e->actor, sizeof(e->actor));
	ledger_col_text(st, 3, e->kind, sizeof(e->kind));
	ledger_col_text(st, 4, e->grant_id, sizeof(e->grant_id));
	e->amount = sqlite3_column_int64(st, 5);
	ledger_col_text(st, 6, e->detail, sizeof(e->detail));
	ledger_col_text(st, 7, e->prev_hash, sizeof(e->prev_hash));
	ledger_col_text(st, 8, e->hash, sizeof(e->hash));
}

int aiss_ledger_statement(aiss_ledger *l, const char *grant_id,
			  int (*cb)(const aiss_journal_entry *, void *),
			  void *arg, aiss_error *err)
{
	sqlite3_stmt *st;
	aiss_journal_entry e;
	ledger_grant g;
	int rc;

	if (ledger_check_id(grant_id, "grant id", err) ||
	    ledger_grant_need(l, grant_id, &g, err))
		return -1;
	st = ledger_stmt(l, S_JOURNAL_GRANT, err);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, grant_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		journal_from_row(st, &e);
		if (cb(&e, arg)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ledger_sql_error(l, rc, "reading the statement", err);
	return 0;
}

int aiss_ledger_journal_verify(aiss_ledger *l, aiss_verify_result *out,
			       aiss_error *err)
{
	sqlite3_stmt *st;
	char prev[AISS_SHA256_HEXLEN];
	char hash[AISS_SHA256_HEXLEN];
	aiss_journal_entry *e;
	int64_t expect = 1;
	int rc;

	memset(out, 0, sizeof(*out));
	out->ok = 1;
	memcpy(prev, ZERO_HASH, sizeof(ZERO_HASH));
	e = malloc(sizeof(*e));
	if (!e)
		return aiss_error_set(err, AISS_E_INTERNAL,
				      "ledger: out of memory");
	st = ledger_stmt(l, S_JOURNAL_ALL, err);
	if (!st) {
		free(e);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		journal_from_row(st, e);
		out->n_entries++;
		if (e->seq != expect) {
			snprintf(out->reason, sizeof(out->reason),
				 "journal entry %" PRId64 " is missing (next "
				 "entry found is %" PRId64 ")",
				 expect, e->seq);
			out->first_bad_seq = expect;
			break;
		}
		if (strcmp(e->prev_hash, prev) != 0) {
			snprintf(out->reason, sizeof(out->reason),
				 "journal entry %" PRId64 " does not chain to "
				 "entry %" PRId64 " (prev_hash differs)",
				 e->seq, e->seq - 1);
			out->first_bad_seq = e->seq;
			break;
		}
		ledger_journal_hash(prev, e->seq, e->at, e->actor, e->kind,
				    e->grant_id, e->amount, e->detail, hash);
		if (strcmp(hash, e->hash) != 0) {
			snprintf(out->reason, sizeof(out->reason),
				 "journal entry %" PRId64 " (%s) was altered: "
				 "its content does not match its hash",
				 e->seq, e->kind);
			out->first_bad_seq = e->seq;
			break;
		}
		memcpy(prev, e->hash, sizeof(prev));
		expect++;
	}
	sqlite3_reset(st);
	free(e);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ledger_sql_error(l, rc, "reading the journal", err);
	if (out->first_bad_seq) {
		out->ok = 0;
		return 0;
	}
	/* The chain holds: the stored postings and totals must agree too. */
	{
		aiss_verify_result a;

		if (aiss_ledger_audit_totals(l, &a, err))
			return -1;
		if (!a.ok) {
			out->ok = 0;
			out->first_bad_seq = a.first_bad_seq;
			memcpy(out->reason, a.reason, sizeof(out->reason));
		}
	}
	return 0;
}

/* Reads the nine sums of statement @id into @v. */
static int audit_row(aiss_ledger *l, enum ledger_stmt_id id, int64_t v[9],
		     aiss_error *err)
{
	sqlite3_stmt *st = ledger_stmt(l, id, err);
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		for (int i = 0; i < 9; i++)
			v[i] = sqlite3_column_int64(st, i);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return ledger_sql_error(l, rc, "auditing the totals", err);
	return 0;
}

int aiss_ledger_audit_totals(aiss_ledger *l, aiss_verify_result *out,
			     aiss_error *err)
{
	static const char *const names[9] = {
	    "subsidy charged",  "list cost",  "co-payments",
	    "GPU-seconds used", "runs",       "subsidy held",
	    "GPUs held",        "open liens", "adjustments",
	};
	static const struct {
		enum ledger_stmt_id id;
		const char *what;
	} cross[] = {
	    {S_AUDIT_CHARGE_JOURNAL, "charge"},
	    {S_AUDIT_ADJ_JOURNAL, "adjustment"},
	    {S_AUDIT_CORR_JOURNAL, "charge correction"},
	};
	int64_t kept[9], posted[9];

	memset(out, 0, sizeof(*out));
	out->ok = 1;
	/* every stored posting agrees with the journal entry that recorded it
	 */
	for (size_t i = 0; i < sizeof(cross) / sizeof(cross[0]); i++) {
		sqlite3_stmt *st = ledger_stmt(l, cross[i].id, err);
		int rc;

		if (!st)
			return -1;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			out->ok = 0;
			out->first_bad_seq = sqlite3_column_int64(st, 0);
			snprintf(out->reason, sizeof(out->reason),
				 "the %s recorded by journal entry %" PRId64
				 " differs from that entry (edited behind the "
				 "service's back?)",
				 cross[i].what, out->first_bad_seq);
		}
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return ledger_sql_error(l, rc, "auditing postings",
						err);
		if (!out->ok)
			return 0;
	}
	if (audit_row(l, S_AUDIT_GRANTS, kept, err) ||
	    audit_row(l, S_AUDIT_POSTINGS, posted, err))
		return -1;
	out->n_entries = posted[4];
	for (int i = 0; i < 9; i++) {
		if (kept[i] != posted[i]) {
			out->ok = 0;
			snprintf(
			    out->reason, sizeof(out->reason),
			    "the grants' running total of %s (%" PRId64
			    ") differs from the sum of the postings (%" PRId64
			    ")",
			    names[i], kept[i], posted[i]);
			break;
		}
	}
	return 0;
}
