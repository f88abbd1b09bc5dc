/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_json: a small streaming JSON writer into a growing buffer. */
#ifndef GPUCHECK_JSON_H
#define GPUCHECK_JSON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A JSON document being written; commas and nesting are tracked for you. */
typedef struct gpucheck_json gpucheck_json;

/* Returns a new empty writer, or NULL with errno ENOMEM. Free with
 * gpucheck_json_destroy(). */
gpucheck_json *gpucheck_json_create(void);

/* Frees @j and its text. @j may be NULL. */
void gpucheck_json_destroy(gpucheck_json *j);

/*
 * Writers. In an object each value is preceded by gpucheck_json_key().
 * Non-finite numbers are written as null (JSON has no NaN). @fmt_digits is
 * the number of significant digits (%.*g). Nesting is limited to 16 levels.
 * Errors (no memory, bad nesting) are sticky: see gpucheck_json_text().
 */
void gpucheck_json_begin_object(gpucheck_json *j);
void gpucheck_json_end_object(gpucheck_json *j);
void gpucheck_json_begin_array(gpucheck_json *j);
void gpucheck_json_end_array(gpucheck_json *j);
void gpucheck_json_key(gpucheck_json *j, const char *key);
void gpucheck_json_string(gpucheck_json *j, const char *s);
void gpucheck_json_number(gpucheck_json *j, double v, int fmt_digits);
void gpucheck_json_int(gpucheck_json *j, long long v);
void gpucheck_json_bool(gpucheck_json *j, int v);
void gpucheck_json_null(gpucheck_json *j);

/*
 * The document so far, NUL-terminated; owned by @j. Returns NULL with
 * errno ENOMEM or EINVAL when a write failed or nesting was unbalanced
 * (@j must then be complete: every begin matched by an end).
 */
const char *gpucheck_json_text(gpucheck_json *j);

#ifdef __cplusplus
}
#endif
#endif
