/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_json: the JSON writer (escaping per RFC 8259). */
#include "gpucheck_json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 16

struct gpucheck_json {
	char *buf;
	size_t len, cap;
	int depth;
	int count[JSON_MAX_DEPTH + 1]; /* values written at each level */
	int after_key;                 /* a key was written, value pending */
	int error;                     /* sticky errno */
};

gpucheck_json *gpucheck_json_create(void)
{
	gpucheck_json *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->cap = 1024;
	j->buf = malloc(j->cap);
	if (!j->buf) {
		free(j);
		errno = ENOMEM;
		return NULL;
	}
	j->buf[0] = '\0';
	return j;
}

void gpucheck_json_destroy(gpucheck_json *j)
{
	if (!j)
		return;
	free(j->buf);
	free(j);
}

static void put(gpucheck_json *j, const char *s, size_t n)
{
	if (j->error)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap;
		char *nb;
		while (j->len + n + 1 > cap)
			cap *= 2;
		nb = realloc(j->buf, cap);
		if (!nb) {
			j->error = ENOMEM;
			return;
		}
		j->buf = nb;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void puts_(gpucheck_json *j, const char *s)
{
	put(j, s, strlen(s));
}

/* Writes the comma a new value at the current level needs. */
static void sep(gpucheck_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->count[j->depth]++ > 0)
		put(j, ",", 1);
}

static void escaped(gpucheck_json *j, const char *s)
{
	put(j, "\"", 1);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		switch (c) {
		case '"':
			puts_(j, "\\\"");
			break;
		case '\\':
			puts_(j, "\\\\");
			break;
		case '\n':
			puts_(j, "\\n");
			break;
		case '\r':
			puts_(j, "\\r");
			break;
		case '\t':
			puts_(j, "\\t");
			break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				puts_(j, esc);
			} else {
				put(j, (const char *)&c, 1);
			}
		}
	}
	put(j, "\"", 1);
}

static void begin(gpucheck_json *j, const char *open)
{
	sep(j);
	puts_(j, open);
	if (j->depth >= JSON_MAX_DEPTH) {
		j->error = EINVAL;
		return;
	}
	j->count[++j->depth] = 0;
}

static void end(gpucheck_json *j, const char *close)
{
	if (j->depth <= 0 || j->after_key) {
		j->error = EINVAL;
		return;
	}
	j->depth--;
	puts_(j, close);
}

void gpucheck_json_begin_object(gpucheck_json *j)
{
	begin(j, "{");
}

void gpucheck_json_end_object(gpucheck_json *j)
{
	end(j, "}");
}

void gpucheck_json_begin_array(gpucheck_json *j)
{
	begin(j, "[");
}

void gpucheck_json_end_array(gpucheck_json *j)
{
	end(j, "]");
}

void gpucheck_json_key(gpucheck_json *j, const char *key)
{
	sep(j);
	escaped(j, key);
	put(j, ":", 1);
	j->after_key = 1;
}

void gpucheck_json_string(gpucheck_json *j, const char *s)
{
	sep(j);
	if (s)
		escaped(j, s);
	else
		puts_(j, "null");
}

void gpucheck_json_number(gpucheck_json *j, double v, int fmt_digits)
{
	char num[64];

	sep(j);
	if (!isfinite(v)) {
		puts_(j, "null");
		return;
	}
	snprintf(num, sizeof(num), "%.*g", fmt_digits, v);
	puts_(j, num);
}

void gpucheck_json_int(gpucheck_json *j, long long v)
{
	char num[32];

	sep(j);
	snprintf(num, sizeof(num), "%lld", v);
	puts_(j, num);
}

void gpucheck_json_bool(gpucheck_json *j, int v)
{
	sep(j);
	puts_(j, v ? "true" : "false");
}

void gpucheck_json_null(gpucheck_json *j)
{
	sep(j);
	puts_(j, "null");
}

const char *gpucheck_json_text(gpucheck_json *j)
{
	if (!j) {
		errno = EINVAL;
		return NULL;
	}
	if (j->error || j->depth != 0 || j->after_key) {
		errno = j->error ? j->error : EINVAL;
		return NULL;
	}
	return j->buf;
}
