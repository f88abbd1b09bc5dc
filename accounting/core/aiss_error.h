/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_error: the project's status codes and the user-facing error struct. */
#ifndef AISS_ERROR_H
#define AISS_ERROR_H

#include <stddef.h>

/*
 * One status space for the whole project. Storage, the wire protocol and the
 * CLI translate to and from it once, at their boundary. The numbers are part
 * of the wire protocol: never renumber, only append.
 */
typedef enum aiss_status {
	AISS_OK = 0,
	AISS_E_INVALID = 1,	     /* malformed or out-of-range argument */
	AISS_E_NOT_FOUND = 2,	     /* no such grant/institution/run/... */
	AISS_E_EXISTS = 3,	     /* already exists (and differs) */
	AISS_E_PERMISSION = 4,	     /* caller's role may not do this */
	AISS_E_UNKNOWN_ACCOUNT = 5,  /* no grant pays for this account */
	AISS_E_NOT_MEMBER = 6,	     /* user not a member of the grant */
	AISS_E_GRANT_INACTIVE = 7,   /* grant suspended or closed */
	AISS_E_OUTSIDE_WINDOW = 8,   /* before start / after end of window */
	AISS_E_GPU_TYPE = 9,	     /* GPU type not approved for grant */
	AISS_E_CONCURRENCY = 10,     /* over the approved concurrent GPUs */
	AISS_E_INSUFFICIENT = 11,    /* worst case over remaining subsidy */
	AISS_E_COMMITMENT = 12,	     /* approval would breach commitment */
	AISS_E_NO_PRICE = 13,	     /* no list price in force */
	AISS_E_CONFLICT = 14,	     /* run key reused with other params */
	AISS_E_STORAGE = 15,	     /* ledger storage failed */
	AISS_E_INTERNAL = 16,	     /* bug */
	AISS_E_UNAVAILABLE = 17,     /* service unreachable / timed out */
	AISS_E_PROTOCOL = 18,	     /* malformed frame or message */
	AISS_E_GPU_HOURS = 19,	     /* over the approved GPU-hours */
	AISS_E__COUNT
} aiss_status;

/* A status and a sentence for a person: names the thing, the numbers, the fix. */
typedef struct aiss_error {
	aiss_status code;
	char text[512];
} aiss_error;

/* Fills @e (may be NULL) printf-style; returns -1 so callers can
 * `return aiss_error_set(...)`. */
int aiss_error_set(aiss_error *e, aiss_status code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Resets @e to AISS_OK with empty text. @e may be NULL. */
void aiss_error_clear(aiss_error *e);

/* Short stable name of @code, e.g. "insufficient". Never NULL. */
const char *aiss_status_name(aiss_status code);

/* True for the refusals that policy makes (CLI exit 1), as opposed to bad
 * usage (exit 2) or an unreachable service (exit 3). */
int aiss_status_is_refusal(aiss_status code);

/* CLI exit status for @code: 0 done, 1 refused by policy, 2 bad usage,
 * 3 service unreachable, 4 internal/storage. */
int aiss_status_exit_code(aiss_status code);

#endif
