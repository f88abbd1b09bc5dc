/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ledger_vfs.c: a SQLite VFS over the default one that gathers the WAL
 * frames of one commit into one write, issued just before the commit's
 * fsync, and takes a checkpoint's database fsync off the committing
 * thread; every other file goes straight to the default VFS. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger_int.h"

/*
 * 1. Gathered WAL writes. SQLite writes each WAL frame as two writes
 * (24-byte header, then the page), so a commit of N pages costs 2N
 * pwrite() calls, each straddling a page-cache folio boundary. Here,
 * writes to the WAL that continue the previous one are appended to a
 * buffer instead; the buffer is written (one pwrite) before anything that
 * could observe the file: xSync, xRead, xTruncate, xFileSize, a
 * non-contiguous write, xClose, and file controls. A checkpoint's page
 * writes to the database are gathered the same way (runs of adjacent
 * pages, written before the checkpoint's end).
 *
 * Durability is unchanged: with synchronous=FULL (the ledger's pragma)
 * SQLite syncs the WAL before it publishes a commit in the wal-index, so
 * the frames are in the file before the fsync that makes the commit
 * durable, and before any reader (the worker thread's own connection) can
 * see them. A failed flush is returned by that xSync, so the commit fails.
 * A crash loses only unsynced frames, which SQLite's recovery ignores as
 * it always has. The ledger refuses to run with another synchronous mode
 * (ledger.c checks it on open).
 *
 * 2. Deferred checkpoint syncs. A checkpoint copies pages from the WAL
 * into the database file and then fsyncs the database (~1 ms here), all
 * inside the commit that crossed the WAL's size limit, so every request
 * of that commit and of the turns queued behind it waited for it. Here
 * the database's fsync that ends a checkpoint is handed to a thread of
 * this database (its own descriptor, fdatasync) and the checkpoint
 * returns. That fsync only has to come before the WAL frames it copied
 * can be overwritten or removed; until then a crash recovers them from
 * the WAL, as after a crash in the middle of any checkpoint. So every
 * way this process can drop WAL frames waits for it first: the write of
 * a WAL header (SQLite restarting the WAL from its start), truncating or
 * deleting the WAL, closing the database, any other database fsync, and
 * the next checkpoint's start. A failed deferred fsync is sticky: those
 * calls then fail with SQLITE_IOERR_FSYNC, so the WAL is never restarted
 * over frames whose copy may not be on disk; reopening the ledger
 * recovers them. This covers the connections of this process (aissd's
 * loop and its worker); the ledger's only writer is one aissd.
 *
 * 3. Declined WAL restarts. The first commit after a complete checkpoint
 * starts the WAL again from its start, and so would wait for that
 * checkpoint's deferred fsync (~1 ms here) at its header write. While
 * that fsync runs, the exclusive lock SQLite takes on the WAL's reader
 * slots to restart (walRestartLog: read locks 1..4, offsets 4-7 of the
 * shared-memory locks) is answered SQLITE_BUSY, as if a reader still used
 * the WAL: SQLite then appends the commit after the copied frames, which
 * stay as they are, and restarts after a later checkpoint. The ledger
 * waits for the fsync of the checkpoint that leaves the WAL at its size
 * limit (ledger_vfs_wait_sync), so the WAL restarts there. The wait at a
 * header write stays: no restart is ever made over an unsynced copy.
 * After a failed deferred fsync the WAL takes no new commit at all.
 *
 * The checkpoint's first step, an fsync of the WAL, is skipped when this
 * connection's WAL handle synced once already and wrote nothing since:
 * with synchronous=FULL every frame a commit published was synced by that
 * commit (a writer with another synchronous mode would break this; the
 * ledger opens its handles only with FULL).
 */

#define WBUF_MAX (4 << 20) /* a larger write goes out first */

/* One per database file open through this VFS in this process, shared by
 * its connections and their WAL files. */
typedef struct db_state {
	struct db_state *next;
	char *path; /* the database's full path, as SQLite gave it */
	int refs;
	int fd; /* own descriptor for deferred fsyncs; -1: none deferred */
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	pthread_t thread;
	int thread_on, quit;
	int queued;  /* an fsync is asked for */
	int pending; /* an fsync is asked for or running */
	int err;     /* sticky: SQLITE_IOERR_FSYNC once one failed */
	int err_no;  /* and its errno */
} db_state;

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static db_state *reg;
static int (*test_sync)(int fd);
static int test_no_decline;

void ledger_vfs_test_sync(int (*fn)(int fd))
{
	test_sync = fn;
}

void ledger_vfs_test_decline(int on)
{
	test_no_decline = !on;
}

/* The state of database @path (of its WAL when @wal: @path less "-wal"),
 * with a reference; created for a database when @create. NULL if none. */
static db_state *st_get(const char *path, int wal, int create)
{
	size_t n;
	db_state *st;

	if (!path)
		return NULL;
	n = strlen(path);
	if (wal) {
		if (n < 4 || strcmp(path + n - 4, "-wal") != 0)
			return NULL;
		n -= 4;
	}
	pthread_mutex_lock(&reg_mu);
	for (st = reg; st; st = st->next)
		if (strlen(st->path) == n && memcmp(st->path, path, n) == 0)
			break;
	if (!st && create) {
		st = calloc(1, sizeof(*st));
		if (st && !(st->path = strndup(path, n))) {
			free(st);
			st = NULL;
		}
		if (st) {
			st->fd = open(st->path, O_RDWR | O_CLOEXEC);
			pthread_mutex_init(&st->mu, NULL);
			pthread_cond_init(&st->work, NULL);
			pthread_cond_init(&st->done, NULL);
			st->next = reg;
			reg = st;
		}
	}
	if (st)
		st->refs++;
	pthread_mutex_unlock(&reg_mu);
	return st;
}

/* Waits for the deferred fsync, if any: SQLITE_OK, or the sticky error. */
static int st_wait(db_state *st)
{
	int rc;

	if (!st)
		return SQLITE_OK;
	pthread_mutex_lock(&st->mu);
	while (st->pending)
		pthread_cond_wait(&st->done, &st->mu);
	rc = st->err;
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* The sticky error, without waiting; *@pending: 1 while a deferred fsync
 * is asked for or running. */
static int st_peek(db_state *st, int *pending)
{
	int rc;

	*pending = 0;
	if (!st)
		return SQLITE_OK;
	pthread_mutex_lock(&st->mu);
	rc = st->err;
	*pending = st->pending;
	pthread_mutex_unlock(&st->mu);
	return rc;
}

static void st_put(db_state *st)
{
	db_state **pp;

	if (!st)
		return;
	pthread_mutex_lock(&reg_mu);
	if (--st->refs > 0) {
		pthread_mutex_unlock(&reg_mu);
		return;
	}
	for (pp = &reg; *pp != st; pp = &(*pp)->next)
		;
	*pp = st->next;
	pthread_mutex_unlock(&reg_mu);
	pthread_mutex_lock(&st->mu);
	st->quit = 1;
	pthread_cond_signal(&st->work);
	pthread_mutex_unlock(&st->mu);
	if (st->thread_on)
		pthread_join(st->thread, NULL);
	if (st->fd >= 0)
		close(st->fd);
	pthread_cond_destroy(&st->work);
	pthread_cond_destroy(&st->done);
	pthread_mutex_destroy(&st->mu);
	free(st->path);
	free(st);
}

int ledger_vfs_wait_sync(const char *db_path)
{
	db_state *st = st_get(db_path, 0, 0);
	int rc = st_wait(st);

	st_put(st);
	return rc;
}

int ledger_vfs_sync_failed(const char *db_path)
{
	db_state *st = st_get(db_path, 0, 0);
	int e = 0;

	if (st) {
		pthread_mutex_lock(&st->mu);
		e = st->err ? st->err_no : 0;
		pthread_mutex_unlock(&st->mu);
		st_put(st);
	}
	return e;
}

static void *st_main(void *arg)
{
	db_state *st = arg;

	pthread_mutex_lock(&st->mu);
	for (;;) {
		while (!st->queued && !st->quit)
			pthread_cond_wait(&st->work, &st->mu);
		if (!st->queued)
			break; /* quit, nothing left */
		st->queued = 0;
		pthread_mutex_unlock(&st->mu);
		int rc;
		errno = 0;
		if (test_sync)
			rc = test_sync(st->fd);
		else
			while ((rc = fdatasync(st->fd)) != 0 && errno == EINTR)
				;
		pthread_mutex_lock(&st->mu);
		if (rc != 0) {
			st->err = SQLITE_IOERR_FSYNC;
			st->err_no = errno ? errno : EIO;
		}
		st->pending = 0;
		pthread_cond_broadcast(&st->done);
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/* Hands the database's fsync to its thread: 0, or -1 when it cannot be
 * deferred (no descriptor, no thread, an earlier one failed): then the
 * caller syncs itself. */
static int st_defer(db_state *st)
{
	if (!st || st->fd < 0)
		return -1;
	pthread_mutex_lock(&st->mu);
	if (st->err || st->pending) {
		pthread_mutex_unlock(&st->mu);
		return -1;
	}
	if (!st->thread_on) {
		if (pthread_create(&st->thread, NULL, st_main, st) != 0) {
			pthread_mutex_unlock(&st->mu);
			return -1;
		}
		st->thread_on = 1;
	}
	st->queued = st->pending = 1;
	pthread_cond_signal(&st->work);
	pthread_mutex_unlock(&st->mu);
	return 0;
}

typedef struct wbuf_file {
	sqlite3_file base; /* pMethods = &wbuf_io or &db_io */
	sqlite3_file *real;
	db_state *st;
	unsigned char *buf;
	size_t len, cap;
	sqlite3_int64 off; /* file offset of buf[0] */
	int dirty;         /* WAL: written since its last fsync */
	int ckpt;          /* database: in a checkpoint's copy (gathering) */
	int defer; /* database: the checkpoint's fsync may be deferred */
	int werr;  /* database: a gathered write failed */
} wbuf_file;

static sqlite3_vfs *root_vfs(sqlite3_vfs *v)
{
	return v->pAppData;
}

/* The unix VFS writes at most 128 KiB - 1 per call (it masks the count
 * to 17 bits), so the buffer goes out in pieces below that. */
#define WBUF_CHUNK (124 * 1024)

static int wbuf_flush(wbuf_file *f)
{
	int rc = SQLITE_OK;

	for (size_t done = 0; done < f->len && rc == SQLITE_OK;) {
		size_t n = f->len - done;

		if (n > WBUF_CHUNK)
			n = WBUF_CHUNK;
		rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
					       f->off + (sqlite3_int64)done);
		done += n;
	}
	f->len = 0;
	return rc;
}

/* Appends a write that continues the buffer (or starts it); anything
 * else flushes first. A write too big for the buffer goes straight out. */
static int wbuf_gather(wbuf_file *f, const void *src, int n, sqlite3_int64 off)
{
	size_t need;
	int rc;

	if (n <= 0)
		return f->real->pMethods->xWrite(f->real, src, n, off);
	if (f->len && off != f->off + (sqlite3_int64)f->len) {
		rc = wbuf_flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (f->len + (size_t)n > WBUF_MAX) {
		rc = wbuf_flush(f);
		if (rc != SQLITE_OK)
			return rc;
		if ((size_t)n > WBUF_CHUNK)
			return f->real->pMethods->xWrite(f->real, src, n, off);
	}
	need = f->len + (size_t)n;
	if (need > f->cap) {
		size_t cap = f->cap ? f->cap : 64 * 1024;
		unsigned char *b;

		while (cap < need)
			cap *= 2;
		b = realloc(f->buf, cap);
		if (!b) { /* no buffer: write through */
			rc = wbuf_flush(f);
			if (rc != SQLITE_OK)
				return rc;
			return f->real->pMethods->xWrite(f->real, src, n, off);
		}
		f->buf = b;
		f->cap = cap;
	}
	if (!f->len)
		f->off = off;
	memcpy(f->buf + f->len, src, (size_t)n);
	f->len += (size_t)n;
	return SQLITE_OK;
}

/* ---- the WAL ---- */

static int wbuf_close(sqlite3_file *p)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = wbuf_flush(f), rc2;

	rc2 = f->real->pMethods->xClose(f->real);
	free(f->buf);
	f->buf = NULL;
	f->cap = 0;
	st_put(f->st);
	f->st = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int wbuf_read(sqlite3_file *p, void *dst, int n, sqlite3_int64 off)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = wbuf_flush(f);

	if (rc != SQLITE_OK)
		return rc;
	return f->real->pMethods->xRead(f->real, dst, n, off);
}

static int wbuf_write(sqlite3_file *p, const void *src, int n,
		      sqlite3_int64 off)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = SQLITE_OK, pending;

	/* A header: SQLite starts the WAL again over frames that the last
	 * checkpoint copied, so that copy's fsync must be done. A commit's
	 * first write: none after a failed one (see 3 above). */
	if (off == 0)
		rc = st_wait(f->st);
	else if (!f->dirty)
		rc = st_peek(f->st, &pending);
	if (rc != SQLITE_OK)
		return rc;
	f->dirty = 1;
	return wbuf_gather(f, src, n, off);
}

static int wbuf_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = wbuf_flush(f);

	if (rc == SQLITE_OK)
		rc = st_wait(f->st);
	if (rc != SQLITE_OK)
		return rc;
	f->dirty = 1;
	return f->real->pMethods->xTruncate(f->real, size);
}

static int wbuf_sync(sqlite3_file *p, int flags)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = wbuf_flush(f);

	if (rc != SQLITE_OK)
		return rc;
	if (!f->dirty)
		return SQLITE_OK; /* synced since this handle's last write */
	rc = f->real->pMethods->xSync(f->real, flags);
	if (rc == SQLITE_OK)
		f->dirty = 0;
	return rc;
}

static int wbuf_file_size(sqlite3_file *p, sqlite3_int64 *size)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = wbuf_flush(f);

	if (rc != SQLITE_OK)
		return rc;
	return f->real->pMethods->xFileSize(f->real, size);
}

static int wbuf_lock(sqlite3_file *p, int lock)
{
	wbuf_file *f = (wbuf_file *)p;

	return f->real->pMethods->xLock(f->real, lock);
}

static int wbuf_unlock(sqlite3_file *p, int lock)
{
	wbuf_file *f = (wbuf_file *)p;

	return f->real->pMethods->xUnlock(f->real, lock);
}

static int wbuf_check_reserved(sqlite3_file *p, int *out)
{
	wbuf_file *f = (wbuf_file *)p;

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int wbuf_file_control(sqlite3_file *p, int op, void *arg)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = wbuf_flush(f);

	if (rc != SQLITE_OK)
		return rc;
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wbuf_sector_size(sqlite3_file *p)
{
	wbuf_file *f = (wbuf_file *)p;

	return f->real->pMethods->xSectorSize(f->real);
}

static int wbuf_device_chars(sqlite3_file *p)
{
	wbuf_file *f = (wbuf_file *)p;

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* Version 1: SQLite uses no shared memory or memory mapping on a WAL. */
static const sqlite3_io_methods wbuf_io = {
    .iVersion = 1,
    .xClose = wbuf_close,
    .xRead = wbuf_read,
    .xWrite = wbuf_write,
    .xTruncate = wbuf_truncate,
    .xSync = wbuf_sync,
    .xFileSize = wbuf_file_size,
    .xLock = wbuf_lock,
    .xUnlock = wbuf_unlock,
    .xCheckReservedLock = wbuf_check_reserved,
    .xFileControl = wbuf_file_control,
    .xSectorSize = wbuf_sector_size,
    .xDeviceCharacteristics = wbuf_device_chars,
};

/* ---- the database ---- */

/* Closing: the last checkpoint's fsync first, then as the WAL. */
static int db_close(sqlite3_file *p)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = st_wait(f->st), rc2 = wbuf_close(p);

	return rc != SQLITE_OK ? rc : rc2;
}

static int db_write(sqlite3_file *p, const void *src, int n, sqlite3_int64 off)
{
	wbuf_file *f = (wbuf_file *)p;

	if (f->ckpt)
		return wbuf_gather(f, src, n, off);
	return f->real->pMethods->xWrite(f->real, src, n, off);
}

static int db_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = wbuf_flush(f);

	if (rc != SQLITE_OK)
		return rc;
	if (f->werr)
		return f->werr;
	return f->real->pMethods->xTruncate(f->real, size);
}

static int db_sync(sqlite3_file *p, int flags)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = wbuf_flush(f);
	int defer = f->defer;

	f->defer = 0;
	if (rc != SQLITE_OK)
		return rc;
	if (f->werr)
		return f->werr;
	if (defer && st_defer(f->st) == 0)
		return SQLITE_OK; /* the checkpoint's: done by the thread */
	rc = st_wait(f->st);
	if (rc != SQLITE_OK)
		return rc;
	return f->real->pMethods->xSync(f->real, flags);
}

static int db_file_control(sqlite3_file *p, int op, void *arg)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = wbuf_flush(f);

	if (rc != SQLITE_OK && !f->werr)
		f->werr = rc;
	switch (op) {
	case SQLITE_FCNTL_CKPT_START:
		/* One deferred fsync at a time; a failed one fails this
		 * checkpoint's own (db_sync). */
		st_wait(f->st);
		f->ckpt = 1;
		f->defer = 0;
		f->werr = SQLITE_OK;
		break;
	case SQLITE_FCNTL_CKPT_DONE:
		f->ckpt = 0;
		f->defer = !f->werr;
		break;
	default:
		break;
	}
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int db_shm_map(sqlite3_file *p, int pg, int sz, int extend,
		      void volatile **out)
{
	wbuf_file *f = (wbuf_file *)p;

	return f->real->pMethods->xShmMap(f->real, pg, sz, extend, out);
}

/* walRestartLog's lock: WAL_READ_LOCK(1) for WAL_NREADER - 1 slots. */
#define WAL_RESTART_LOCK_OFFSET 4
#define WAL_RESTART_LOCK_N 4

static int db_shm_lock(sqlite3_file *p, int offset, int n, int flags)
{
	wbuf_file *f = (wbuf_file *)p;
	int pending;

	/* A WAL restart while the last checkpoint's fsync runs: declined
	 * (see 3 above); SQLite appends instead. */
	if (offset == WAL_RESTART_LOCK_OFFSET && n == WAL_RESTART_LOCK_N &&
	    flags == (SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE) &&
	    !test_no_decline && st_peek(f->st, &pending) == SQLITE_OK &&
	    pending)
		return SQLITE_BUSY;
	return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void db_shm_barrier(sqlite3_file *p)
{
	wbuf_file *f = (wbuf_file *)p;

	f->real->pMethods->xShmBarrier(f->real);
}

static int db_shm_unmap(sqlite3_file *p, int del)
{
	wbuf_file *f = (wbuf_file *)p;

	return f->real->pMethods->xShmUnmap(f->real, del);
}

static int db_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **out)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = wbuf_flush(f);

	if (rc != SQLITE_OK)
		return rc;
	return f->real->pMethods->xFetch(f->real, off, n, out);
}

static int db_unfetch(sqlite3_file *p, sqlite3_int64 off, void *ptr)
{
	wbuf_file *f = (wbuf_file *)p;

	return f->real->pMethods->xUnfetch(f->real, off, ptr);
}

/* Reads, sizes, locks and the rest as for the WAL (they flush first). */
static const sqlite3_io_methods db_io = {
    .iVersion = 3,
    .xClose = db_close,
    .xRead = wbuf_read,
    .xWrite = db_write,
    .xTruncate = db_truncate,
    .xSync = db_sync,
    .xFileSize = wbuf_file_size,
    .xLock = wbuf_lock,
    .xUnlock = wbuf_unlock,
    .xCheckReservedLock = wbuf_check_reserved,
    .xFileControl = db_file_control,
    .xSectorSize = wbuf_sector_size,
    .xDeviceCharacteristics = wbuf_device_chars,
    .xShmMap = db_shm_map,
    .xShmLock = db_shm_lock,
    .xShmBarrier = db_shm_barrier,
    .xShmUnmap = db_shm_unmap,
    .xFetch = db_fetch,
    .xUnfetch = db_unfetch,
};

static int wbuf_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *p,
		     int flags, int *out_flags)
{
	sqlite3_vfs *r = root_vfs(v);
	wbuf_file *f = (wbuf_file *)p;
	int wal = (flags & SQLITE_OPEN_WAL) != 0, rc;

	/* Everything but the database and its WAL is the default VFS's own
	 * file (a database needs a version-3 file: shared memory). */
	if ((!wal && !(flags & SQLITE_OPEN_MAIN_DB)) || !name)
		return r->xOpen(r, name, p, flags, out_flags);
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	rc = r->xOpen(r, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		if (f->real->pMethods)
			f->real->pMethods->xClose(f->real);
		f->base.pMethods = NULL;
		return rc;
	}
	if (!wal && f->real->pMethods->iVersion < 3) {
		/* Not the unix VFS's file: no deferral, no wrapper. */
		f->real->pMethods->xClose(f->real);
		return r->xOpen(r, name, p, flags, out_flags);
	}
	f->st = st_get(name, wal, !wal);
	/* A new handle's first fsync is real: a process that died may have
	 * left frames it wrote but never synced. */
	f->dirty = 1;
	f->base.pMethods = wal ? &wbuf_io : &db_io;
	return SQLITE_OK;
}

static int wbuf_delete(sqlite3_vfs *v, const char *name, int sync)
{
	/* Deleting a WAL: the last checkpoint's fsync first. */
	db_state *st = st_get(name, 1, 0);
	int rc = st_wait(st);

	st_put(st);
	if (rc != SQLITE_OK)
		return rc;
	return root_vfs(v)->xDelete(root_vfs(v), name, sync);
}

static int wbuf_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	return root_vfs(v)->xAccess(root_vfs(v), name, flags, out);
}

static int wbuf_full_path(sqlite3_vfs *v, const char *name, int n, char *out)
{
	return root_vfs(v)->xFullPathname(root_vfs(v), name, n, out);
}

static int wbuf_randomness(sqlite3_vfs *v, int n, char *out)
{
	return root_vfs(v)->xRandomness(root_vfs(v), n, out);
}

static int wbuf_sleep(sqlite3_vfs *v, int us)
{
	return root_vfs(v)->xSleep(root_vfs(v), us);
}

static int wbuf_current_time(sqlite3_vfs *v, double *out)
{
	return root_vfs(v)->xCurrentTime(root_vfs(v), out);
}

static int wbuf_last_error(sqlite3_vfs *v, int n, char *out)
{
	return root_vfs(v)->xGetLastError(root_vfs(v), n, out);
}

static int wbuf_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	sqlite3_vfs *r = root_vfs(v);

	if (r->iVersion >= 2 && r->xCurrentTimeInt64)
		return r->xCurrentTimeInt64(r, out);
	{
		double d;
		int rc = r->xCurrentTime(r, &d);

		*out = (sqlite3_int64)(d * 86400000.0);
		return rc;
	}
}

static sqlite3_vfs wbuf_vfs = {
    .iVersion = 2,
    .zName = LEDGER_VFS_NAME,
    .xOpen = wbuf_open,
    .xDelete = wbuf_delete,
    .xAccess = wbuf_access,
    .xFullPathname = wbuf_full_path,
    .xRandomness = wbuf_randomness,
    .xSleep = wbuf_sleep,
    .xCurrentTime = wbuf_current_time,
    .xGetLastError = wbuf_last_error,
    .xCurrentTimeInt64 = wbuf_current_time64,
};

static pthread_once_t wbuf_once = PTHREAD_ONCE_INIT;
static int wbuf_rc = SQLITE_ERROR;

static void wbuf_register(void)
{
	sqlite3_vfs *r;

	/* Before SQLite initialises (sqlite3_vfs_find does): no memory
	 * statistics, whose global mutex every allocation took (~90 lock
	 * pairs per request). Refused (harmless) if SQLite already runs. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	r = sqlite3_vfs_find(NULL);

	if (!r)
		return;
	wbuf_vfs.pAppData = r;
	wbuf_vfs.mxPathname = r->mxPathname;
	wbuf_vfs.szOsFile = (int)sizeof(wbuf_file) + r->szOsFile;
	wbuf_rc = sqlite3_vfs_register(&wbuf_vfs, 0);
}

const char *ledger_vfs(void)
{
	pthread_once(&wbuf_once, wbuf_register);
	return wbuf_rc == SQLITE_OK ? LEDGER_VFS_NAME : NULL;
}
