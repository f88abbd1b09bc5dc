/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ledger_vfs.c: a SQLite VFS over the default one that gathers the WAL
 * frames of one commit into one write, issued just before the commit's
 * fsync; every other file goes straight to the default VFS. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_int.h"

/*
 * SQLite writes each WAL frame as two writes (24-byte header, then the
 * page), so a commit of N pages costs 2N pwrite() calls, each straddling a
 * page-cache folio boundary. Here, writes to the WAL that continue the
 * previous one are appended to a buffer instead; the buffer is written
 * (one pwrite) before anything that could observe the file: xSync, xRead,
 * xTruncate, xFileSize, a non-contiguous write, xClose, and file controls.
 *
 * Durability is unchanged: with synchronous=FULL (the ledger's pragma)
 * SQLite syncs the WAL before it publishes a commit in the wal-index, so
 * the frames are in the file before the fsync that makes the commit
 * durable, and before any reader (the worker thread's own connection) can
 * see them. A failed flush is returned by that xSync, so the commit fails.
 * A crash loses only unsynced frames, which SQLite's recovery ignores as
 * it always has. The ledger refuses to run with another synchronous mode
 * (ledger.c checks it on open).
 */

#define WBUF_MAX (4 << 20) /* a larger write goes out first */

typedef struct wbuf_file {
	sqlite3_file base; /* pMethods = &wbuf_io */
	sqlite3_file *real;
	unsigned char *buf;
	size_t len, cap;
	sqlite3_int64 off; /* file offset of buf[0] */
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

static int wbuf_close(sqlite3_file *p)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = wbuf_flush(f), rc2;

	rc2 = f->real->pMethods->xClose(f->real);
	free(f->buf);
	f->buf = NULL;
	f->cap = 0;
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

static int wbuf_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = wbuf_flush(f);

	if (rc != SQLITE_OK)
		return rc;
	return f->real->pMethods->xTruncate(f->real, size);
}

static int wbuf_sync(sqlite3_file *p, int flags)
{
	wbuf_file *f = (wbuf_file *)p;
	int rc = wbuf_flush(f);

	if (rc != SQLITE_OK)
		return rc;
	return f->real->pMethods->xSync(f->real, flags);
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

static int wbuf_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *p,
		     int flags, int *out_flags)
{
	sqlite3_vfs *r = root_vfs(v);
	wbuf_file *f = (wbuf_file *)p;
	int rc;

	/* Everything but the WAL is the default VFS's own file. */
	if (!(flags & SQLITE_OPEN_WAL))
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
	f->base.pMethods = &wbuf_io;
	return SQLITE_OK;
}

static int wbuf_delete(sqlite3_vfs *v, const char *name, int sync)
{
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
