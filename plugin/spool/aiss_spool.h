/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_spool: the durable settle spool of prep/aiss. One fsync'd file per
 * record in a directory, replayed in append order; exactly-once charging
 * follows from aissd's settle being idempotent on the run key. */
#ifndef AISS_SPOOL_H
#define AISS_SPOOL_H

#include <stddef.h>

#include "aiss_model.h"

typedef struct aiss_spool aiss_spool;

/*
 * Opens (creating, mode 0700) the spool directory @dir and its failed/
 * subdirectory, removes temporary files left by a crash, and finds the next
 * sequence number. Returns a handle the caller frees with
 * aiss_spool_close(), or NULL with @err (AISS_E_STORAGE).
 */
aiss_spool *aiss_spool_open(const char *dir, aiss_error *err);

/* Closes @s. NULL is accepted. */
void aiss_spool_close(aiss_spool *s);

/*
 * Appends @req durably: written to a temporary file, fsync'd, renamed to
 * "<seq>.rec" and the directory fsync'd, so once this returns 0 the record
 * survives a crash. Returns 0, or -1 with @err (AISS_E_INVALID: a string
 * with a newline; AISS_E_STORAGE: I/O). Thread-safe.
 */
int aiss_spool_append(aiss_spool *s, const aiss_settle_req *req,
		      aiss_error *err);

/* Records waiting. Thread-safe. */
size_t aiss_spool_pending(aiss_spool *s);

/* What a replay callback says about one record. */
typedef enum aiss_spool_verdict {
	AISS_SPOOL_DONE = 0,  /* settled (or already settled): remove it */
	AISS_SPOOL_RETRY = 1, /* transient failure: keep it, stop replaying */
	AISS_SPOOL_REJECT = 2 /* permanent refusal: move it to failed/ */
} aiss_spool_verdict;

/*
 * Replays waiting records oldest first through @cb until one returns
 * AISS_SPOOL_RETRY or none are left. *@done (may be NULL) gets the number
 * removed or moved. An unreadable record is moved to failed/. Returns 0, or
 * -1 with @err (AISS_E_STORAGE). One replay at a time (thread-safe);
 * appends may run concurrently.
 */
int aiss_spool_replay(aiss_spool *s,
		      aiss_spool_verdict (*cb)(const aiss_settle_req *, void *),
		      void *arg, size_t *done, aiss_error *err);

/* Serialises @req as the spool's text record into @buf; returns the length
 * (>= @len when truncated) or -1 (a string holds a newline). Exposed for
 * tests and fuzzing. */
int aiss_spool_format(const aiss_settle_req *req, char *buf, size_t len);

/* Parses a record made by aiss_spool_format(). 0, or -1 with errno EINVAL. */
int aiss_spool_parse(const char *text, aiss_settle_req *out);

#endif
